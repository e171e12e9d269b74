"""Undo/redo of document edits (``QUndoStack``): patch choices, locks, re-rolls and mixer moves.

Each command stores the document's state before and after (``Project.patch_state()`` / ``mixer_copy()``), so
undo and redo are exact whatever the edit was. Consecutive moves of one fader merge into one step.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtGui import QUndoCommand, QUndoStack

from slakh_gui.core.studio.mixer import MixerState
from slakh_gui.core.studio.project import PatchState, Project

_FADER_ID = 1001


class PatchEdit(QUndoCommand):
    """A change of the patch draw (one patch, a lock, the seed, a re-roll)."""

    def __init__(self, project: Project, text: str, before: PatchState, after: PatchState):
        super().__init__(text)
        self.project, self.before, self.after = project, before, after

    def undo(self) -> None:
        self.project.restore_patch_state(self.before)

    def redo(self) -> None:
        if self.project.patch_state() != self.after:
            self.project.restore_patch_state(self.after)


class MixerEdit(QUndoCommand):
    """A change of the mixer; successive moves of the same fader merge."""

    def __init__(self, project: Project, text: str, before: MixerState, after: MixerState, fader: str = ""):
        super().__init__(text)
        self.project, self.before, self.after, self.fader = project, before, after, fader

    def id(self) -> int:  # Qt's name
        return _FADER_ID if self.fader else -1

    def mergeWith(self, other: QUndoCommand) -> bool:  # Qt override
        if not isinstance(other, MixerEdit) or other.fader != self.fader:
            return False
        self.after = other.after
        return True

    def undo(self) -> None:
        self.project.set_mixer(self.before)

    def redo(self) -> None:
        if self.project.mixer != self.after:
            self.project.set_mixer(self.after)


def record_patch_edit(stack: QUndoStack, project: Project, text: str, edit: Callable[[], object]) -> object:
    """Run ``edit`` (a Project operation) and push it as one undo step if it changed the draw."""
    before = project.patch_state()
    value = edit()
    after = project.patch_state()
    if after != before:
        stack.push(PatchEdit(project, text, before, after))
    return value


def record_mixer_edit(stack: QUndoStack, project: Project, text: str, edit: Callable[[], object],
                      fader: str = "") -> object:
    """Run ``edit`` and push it as one undo step if it changed the mixer (fader moves of one strip merge)."""
    before = project.mixer_copy()
    value = edit()
    after = project.mixer_copy()
    if after != before:
        stack.push(MixerEdit(project, text, before, after, fader))
    return value
