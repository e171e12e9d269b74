"""The Dataset dialog (see :mod:`slakh_gui.gui.dataset`): the names the main window and tests import from here.
Importing it never imports the main window."""

from slakh_gui.gui.dataset.dialog import DatasetDialog
from slakh_gui.gui.dataset.window_glue import dataset_dialog, open_dataset_folder, show_dataset_dialog

__all__ = ["DatasetDialog", "dataset_dialog", "open_dataset_folder", "show_dataset_dialog"]
