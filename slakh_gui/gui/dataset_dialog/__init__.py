"""The Dataset dialog, in parts: :mod:`.dialog` (the dialog, running the build), :mod:`.options_form` (the build
options), :mod:`.build_progress` (the run: progress, ETA, cancel, failures) and :mod:`.window_glue` (opening it from
a main window); the result tabs are :mod:`slakh_gui.gui.dataset_results`."""

from slakh_gui.gui.dataset_dialog.dialog import DatasetDialog
from slakh_gui.gui.dataset_dialog.window_glue import dataset_dialog, open_dataset_folder, show_dataset_dialog

__all__ = ["DatasetDialog", "dataset_dialog", "open_dataset_folder", "show_dataset_dialog"]
