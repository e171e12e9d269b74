"""Help ▸ Diagnostics: what a user pastes into a bug report (versions, SoundFonts, audio devices, GPU, paths, log)."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from slakh_gui import logs
from slakh_gui.core import diagnostics
from slakh_gui.gui.workers import Job


def _collect(progress=None, cancel=None) -> str:
    return diagnostics.as_text(diagnostics.collect())


class DiagnosticsDialog(QDialog):
    """The report, gathered in the background (listing audio devices starts a child process)."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
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
        note.setTextInteractionFlags(note.textInteractionFlags() | note.textInteractionFlags().TextSelectableByMouse)
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
        self.job = Job(_collect)
        self.job.signals.result.connect(self._show)
        self.job.signals.error.connect(lambda exc: self._show(f"Could not gather diagnostics: {exc}\n"))
        self.job.start()

    def _show(self, text: str) -> None:
        self.text.setPlainText(text)
        self.copy_button.setEnabled(True)

    def copy(self) -> None:
        QGuiApplication.clipboard().setText(self.text.toPlainText())
