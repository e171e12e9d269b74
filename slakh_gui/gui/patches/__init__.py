"""The Patches view and its parts: preset browser, bank tree, effect editor, validation, audition."""

from slakh_gui.core.bank.bank_tools import (
           enumerate_presets,
           format_programs,
           parse_programs,
           patch_id_for,
           snapshot,
)
from slakh_gui.gui.patches.bank_tree import ClassDialog
from slakh_gui.gui.patches.effect_editor import EFFECT_PRESETS
from slakh_gui.gui.patches.patches_view import PatchesView
from slakh_gui.gui.patches.preset_browser import PresetFilter, PresetModel

__all__ = ["EFFECT_PRESETS", "ClassDialog", "PatchesView", "PresetFilter", "PresetModel", "enumerate_presets",
           "format_programs", "parse_programs", "patch_id_for", "snapshot"]
