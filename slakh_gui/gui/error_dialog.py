"""Errors in the GUI. The user's (:func:`~slakh_gui.core.errors.is_user_error`: a
:class:`~slakh_gui.core.errors.SlakhError` or an ``OSError``) are one line in a message bar, no traceback
(:func:`user_message`); unexpected exceptions are logged with their trace and shown once in a dialog naming the log
file, and the app keeps running.

PySide6 hands an exception raised in a slot to ``sys.excepthook`` and carries on; without a hook of ours it went
to stderr only. :func:`install` sets the hook, :func:`report` hands the reporter an exception caught elsewhere (a
background job's); while one dialog is open, further errors are logged, not shown.
"""

from __future__ import annotations

import sys
import traceback
from types import TracebackType

import shiboken6
from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from slakh_gui import logs
from slakh_gui.core.errors import first_line, is_user_error

log = logs.get("gui")


class ErrorReporter(QObject):
    """Receives uncaught exceptions from any thread and shows them in the GUI thread."""

    raised = Signal(str, str)  # one-line summary, full traceback
    shown = Signal(object)  # the QMessageBox (tests close it)

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.last: tuple[str, str] | None = None
        self.box: QMessageBox | None = None
        self._previous = None
        self.raised.connect(self._show, Qt.ConnectionType.QueuedConnection)

    def install(self) -> None:
        self._previous = sys.excepthook
        sys.excepthook = self.excepthook

    def uninstall(self) -> None:
        if sys.excepthook == self.excepthook:
            sys.excepthook = self._previous or sys.__excepthook__

    def excepthook(self, kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            (self._previous or sys.__excepthook__)(kind, exc, tb)
            return
        self.report(exc, "".join(traceback.format_exception(kind, exc, tb)))

    def report(self, exc: BaseException, text: str) -> None:
        """Log ``exc`` with its traceback ``text`` and show it (from any thread)."""
        kind = type(exc)
        log.error("unexpected error: %s", text.rstrip())
        summary = f"{kind.__name__}: {exc}".splitlines()[0][:300]
        self.raised.emit(summary, text)

    def _show(self, summary: str, text: str) -> None:
        self.last = (summary, text)
        # one dialog at a time (the rest is in the log); the last one went with its window if that was deleted
        if self.box is not None and shiboken6.isValid(self.box) and self.box.isVisible():
            return
        path = logs.log_path()
        parent = QApplication.activeWindow() if isinstance(QApplication.activeWindow(), QWidget) else None
        box = QMessageBox(QMessageBox.Icon.Critical, "Unexpected error",
                          f"Slakh Studio hit an unexpected error and carried on:\n\n{summary}\n\n"
                          f"Your work is still open; saving it now is a good idea. The details are in the log "
                          f"file:\n{path}", QMessageBox.StandardButton.Ok, parent)
        box.setDetailedText(text)
        box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, False)
        self.box = box
        box.open()
        QTimer.singleShot(0, lambda: self.shown.emit(box))


_reporter: ErrorReporter | None = None


def user_message(exc: BaseException) -> str:
    """The one line a message bar shows for ``exc``: its message for the user's errors, with the type's name
    in front for anything else (a bug: :func:`report` it too)."""
    return first_line(exc) if is_user_error(exc) else f"{type(exc).__name__}: {first_line(exc)}"


def traceback_text(exc: BaseException) -> str:
    """The trace of ``exc``: the one a background job recorded (``exc.traceback_text``), else its own."""
    return getattr(exc, "traceback_text", "") or "".join(traceback.format_exception(exc))


def report(exc: BaseException) -> None:
    """An unexpected exception caught outside ``sys.excepthook``: to the app's reporter (log and dialog), or to the
    log alone when the app has none."""
    if _reporter is not None:
        _reporter.report(exc, traceback_text(exc))
    else:
        log.error("unexpected error: %s", traceback_text(exc).rstrip())


def install(app: QApplication) -> ErrorReporter:
    """The app's one error reporter (installed once)."""
    global _reporter
    if _reporter is None:
        _reporter = ErrorReporter(app)
        _reporter.install()
    return _reporter
