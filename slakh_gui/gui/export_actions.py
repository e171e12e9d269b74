"""Export of the mix as the mixer makes it (and the gained stems), in the background; a mix that would clip is
asked about, never written clipped."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMessageBox

from slakh_gui.core.studio import mixer
from slakh_gui.core.studio.project import ProjectError
from slakh_gui.gui.job_runner import Job

if TYPE_CHECKING:
    from slakh_gui.gui.main_window import MainWindow


class ExportActions(QObject):
    """File ▸ Export; ``win.exportFinished`` says how each export went (its report, or None)."""

    def __init__(self, win: MainWindow):
        super().__init__(win)
        self.win = win
        self.project = win.project

    def export_dialog(self) -> None:
        if self.project.audio.empty:
            self.win.show_error("Nothing to export yet: render or open a track.")
            return
        start = self.win.documents.last_dir() / "mix.wav"
        path, _ = QFileDialog.getSaveFileName(self.win, "Export the current mix", str(start),
                                              "WAV (*.wav);;FLAC (*.flac)")
        if path:
            self.export_mix(Path(path))

    def export_stems_dialog(self) -> None:
        if not self.project.audio.stems:
            self.win.show_error("No stems to export yet: render or open a track.")
            return
        folder = QFileDialog.getExistingDirectory(self.win, "Export the mix and the gained stems to",
                                                  str(self.win.documents.last_dir()))
        if folder:
            self.export_mix(Path(folder) / "mix.wav", stems_dir=Path(folder) / "stems")

    def export_mix(self, path: Path, stems_dir: Path | None = None, on_clip: str = "refuse") -> Job | None:
        """Write the mix (and with ``stems_dir`` every sounding stem, gained) in the background."""
        win = self.win
        try:
            stems, state = self.project.export_sources()
        except ProjectError as exc:
            win.show_error(f"Export failed: {exc}")
            return None
        win.status_label.setText(f"Exporting {path} …")

        def done(report) -> None:
            win.status_label.setText(f"Exported {path} (peak {report.peak_dbfs:.1f} dBFS)")
            win.exportFinished.emit(report)

        def failed(exc: Exception) -> None:
            if isinstance(exc, mixer.ClippingError):
                if self.ask_clip(str(exc)):
                    self.export_mix(path, stems_dir, "normalize")
                    return
                win.status_label.setText("Export cancelled: the mix would clip")
            else:
                win.show_error(f"Export failed: {exc}")
            win.exportFinished.emit(None)

        return win.runner.start(mixer.export_mix, path, stems, state, self.project.sample_rate, hooks=False,
                                stems_dir=stems_dir, on_clip=on_clip, on_result=done, on_error=failed,
                                slot="export")

    def ask_clip(self, text: str) -> bool:
        """Normalize to −1 dBFS (True) or cancel (tests replace this method)."""
        box = QMessageBox(QMessageBox.Icon.Warning, "The mix would clip", text, QMessageBox.StandardButton.Cancel,
                          self.win)
        normalize = box.addButton("Normalize to −1 dBFS", QMessageBox.ButtonRole.AcceptRole)
        box.exec()
        return box.clickedButton() is normalize
