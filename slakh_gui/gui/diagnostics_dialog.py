"""Help ▸ Diagnostics: what a user pastes into a bug report (versions, SoundFonts, audio devices, GPU, paths, log)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from slakh_gui import logs
from slakh_gui.core import diagnostics
from slakh_gui.gui.job_runner import JobRunner


def _collect() -> str:
    return diagnostics.as_text(diagnostics.collect())


class DiagnosticsDialog(QDialog):
    """The report, gathered in the background on ``runner`` (the window's; a private one when None): listing audio
    devices starts a child process."""

    def __init__(self, parent: QWidget | None = None, runner: JobRunner | None = None) -> None:
        super().__init__(parent)
        self.runner = runner if runner is not None else JobRunner(self)
        self.setWindowTitle("Slakh Studio diagnostics")
        self.resize(820, 560)
        self.text = QPlainTextEdit(readOnly=True)
        self.text.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.text.setAccessibleName("Diagnostics report")
        self.text.setPlainText("Gathering versions, SoundFonts, audio devices …")
        self.copy_button = QPushButton("&Copy to clipboard")
        self.copy_button.setEnabled(False)
        self.copy_button.clicked.connect(self.copy)
        note = QLabel(f"Log file: {logs.log_path()}")
        note.setWordWrap(True)  # a long path wraps instead of pushing the buttons off a small screen
        note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(note, 1)
        row.addWidget(self.copy_button)
        row.addWidget(buttons)
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel("Paste this into a bug report:"))
        lay.addWidget(self.text, 1)
        lay.addLayout(row)
        self.job = self.runner.start(_collect, hooks=False, slot=f"diagnostics-{id(self):x}", on_result=self._show,
                                     on_error=lambda exc: self._show(f"Could not gather diagnostics: {exc}\n"))

    def _show(self, text: str) -> None:
        self.text.setPlainText(text)
        self.copy_button.setEnabled(True)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())
