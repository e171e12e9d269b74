"""The Dataset dialog in a main window, through the window's public API only (``open_track_folder``, ``settings``,
``confirm_on_close``, ``runner``): one dialog per window, tracks opened in that window. This package never imports
the main window."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

from slakh_gui.gui.dataset_dialog.dialog import DatasetDialog
from slakh_gui.gui.job_runner import JobRunner


def dataset_dialog(window: QWidget) -> DatasetDialog:
    """The main window's Dataset dialog (one per window), opening tracks in that window.

    Uses the window's public API only: ``settings``, ``confirm_on_close``, ``runner`` (for the dialog's short
    reads) and ``open_track_folder(path, select_stem=...)``.
    """
    dialog = window.findChild(DatasetDialog)
    if dialog is None:
        runner = getattr(window, "runner", None)
        dialog = DatasetDialog(window, getattr(window, "settings", None),
                               confirm_on_close=getattr(window, "confirm_on_close", True),
                               runner=runner if isinstance(runner, JobRunner) else None)
        if hasattr(window, "open_track_folder"):  # it asks about unsaved work and selects the stem once loaded
            dialog.openTrackRequested.connect(
                lambda path, stem: window.open_track_folder(Path(path), select_stem=stem or None))
    return dialog


def show_dataset_dialog(window: QWidget) -> DatasetDialog:
    dialog = dataset_dialog(window)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog


def open_dataset_folder(window: QWidget, path: Path | None = None) -> DatasetDialog | None:
    """Ask for a dataset folder (ours, Slakh2100, BabySlakh) and show it in the Dataset dialog."""
    if path is None:
        chosen = QFileDialog.getExistingDirectory(window, "Open a dataset folder", str(Path.home()))
        if not chosen:
            return None
        path = Path(chosen)
    dialog = show_dataset_dialog(window)
    dialog.open_dataset(Path(path))
    return dialog
