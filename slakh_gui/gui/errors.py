"""Unexpected exceptions in the GUI: logged with their trace, shown once in a dialog naming the log file; the app
keeps running.

PySide6 hands an exception raised in a slot to ``sys.excepthook`` and carries on; without a hook of ours it went
to stderr only. :func:`install` sets the hook; while one dialog is open, further errors are logged, not shown.
"""

from __future__ import annotations

import sys
import traceback
from types import TracebackType

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from slakh_gui import logs

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
        text = "".join(traceback.format_exception(kind, exc, tb))
        log.error("unexpected error: %s", text.rstrip())
        summary = f"{kind.__name__}: {exc}".splitlines()[0][:300]
        self.raised.emit(summary, text)

    def _show(self, summary: str, text: str) -> None:
        self.last = (summary, text)
        if self.box is not None and self.box.isVisible():
            return  # one dialog at a time; the rest is in the log
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


def install(app: QApplication) -> ErrorReporter:
    """The app's one error reporter (installed once)."""
    global _reporter
    if _reporter is None:
        _reporter = ErrorReporter(app)
        _reporter.install()
    return _reporter
