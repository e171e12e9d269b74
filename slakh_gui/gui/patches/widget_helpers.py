"""Colours and small widget factories shared by the parts of the Patches view. Its labels shrink instead of widening
the dock: the view must fit a 1280×720 laptop's dock of about 1000×300 px."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QColor
from PySide6.QtWidgets import QLabel, QMenu, QPushButton, QToolButton
from superqt import QElidingLabel

UNCOVERED_BG = QColor("#5a2a26")
ERROR_FG, WARNING_FG, OK_FG, HINT_FG = QColor("#ff8a7a"), QColor("#f0c75e"), QColor("#8fd18f"), QColor("#8a8d93")


def error_html(text: object) -> str:
    """``text`` in the error colour, for a rich-text label."""
    return f"<span style='color:{ERROR_FG.name()}'>{html.escape(str(text), quote=False)}</span>"


def eliding_label(text: str = "", name: str = "") -> QElidingLabel:
    """A one-line plain-text label that elides ("…") rather than asking for its full width; tooltip: the text."""
    label = QElidingLabel(text)
    label.setAccessibleName(name)
    return label


def clipped_label(text: str = "", name: str = "") -> QLabel:
    """A one-line rich-text label that may be narrower than its text (the rest is cut off)."""
    label = QLabel(text)
    label.setAccessibleName(name)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setMinimumWidth(1)
    return label


def note_label(name: str) -> QLabel:
    """A word-wrapped rich-text message line, hidden while empty."""
    label = QLabel("")
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.RichText)
    label.setAccessibleName(name)
    label.hide()
    return label


def set_note(label: QLabel, text: str) -> None:
    label.setText(text)
    label.setVisible(bool(text))



def push_button(text: str, name: str, slot: Callable) -> QPushButton:
    """A button with an accessible name that calls ``slot()`` when clicked (without ``clicked``'s argument)."""
    button = QPushButton(text)
    button.setAccessibleName(name)
    button.clicked.connect(lambda: slot())
    return button


def tool_button(text: str, name: str, slot: Callable | None = None, actions: list[QAction] | None = None) -> QToolButton:
    """A small button (tooltip = accessible name) that calls ``slot()``, or pops up a menu of ``actions``."""
    button = QToolButton()
    button.setText(text)
    button.setAccessibleName(name)
    button.setToolTip(name)
    if slot is not None:
        button.clicked.connect(lambda: slot())
    if actions:
        button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        menu = QMenu(button)
        menu.addActions(actions)
        button.setMenu(menu)
    return button


def action(parent: QObject, text: str, tip: str, slot: Callable) -> QAction:
    """A menu action that calls ``slot()``."""
    act = QAction(text, parent)
    act.setToolTip(tip)
    act.triggered.connect(lambda: slot())
    return act
