"""Compatibility module: the Patches view now lives in :mod:`slakh_gui.gui.patches`."""

from slakh_gui.core.bank_tools import (
           enumerate_presets,
           format_programs,
           parse_programs,
           patch_id_for,
           snapshot,
)
from slakh_gui.gui.patches.bank_tree import ClassDialog
from slakh_gui.gui.patches.effect_editor import EFFECT_PRESETS
from slakh_gui.gui.patches.preset_browser import PresetFilter, PresetModel
from slakh_gui.gui.patches.view import PatchesView

__all__ = ["EFFECT_PRESETS", "ClassDialog", "PatchesView", "PresetFilter", "PresetModel", "enumerate_presets",
           "format_programs", "parse_programs", "patch_id_for", "snapshot"]
