"""The Patches view and its parts: preset browser, bank tree, effect editor, validation, audition."""

from slakh_gui.gui.patches.view import PatchesView

__all__ = ["PatchesView"]
