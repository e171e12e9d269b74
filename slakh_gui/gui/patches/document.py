"""The bank being edited: one :class:`Bank` in memory, its file, an undo stack and the edit counter.

Every edit goes through :meth:`BankDocument.apply`, which runs a :mod:`slakh_gui.core.bank.bank_edit` function on the
bank, rolls it back whole when that raises :class:`BankError`, and records the bank before and after as one undo
step. The modified flag is the undo stack's clean state, so undoing back to the saved bank clears it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QUndoCommand, QUndoStack

from slakh_gui.core.bank import bank_edit
from slakh_gui.core.bank.bank_tools import restore, snapshot
from slakh_gui.core.bank.patches import Bank, BankError, SoundFontMissing, find_soundfont


class BankEdit(QUndoCommand):
    """One edit of the bank: its content before and after."""

    def __init__(self, doc: BankDocument, text: str, before: Bank, after: Bank):
        super().__init__(text)
        self.doc, self.before, self.after = doc, before, after
        self._pushed = False

    def undo(self) -> None:
        self.doc.restore(self.before, f"Undone: {self.text()}")

    def redo(self) -> None:
        if self._pushed:  # the first redo is the push: the edit is already made
            self.doc.restore(self.after, f"Redone: {self.text()}")
        self._pushed = True


class BankDocument(QObject):
    """The bank of the Patches view; nothing is written until :meth:`save`."""

    changed = Signal(str)  # an edit, undo or redo; the text says what changed
    replaced = Signal()  # another bank was loaded
    modifiedChanged = Signal(bool)
    saved = Signal(object)  # Path

    def __init__(self, extra_dirs: Callable[[], list[str]], parent: QObject | None = None):
        super().__init__(parent)
        self.extra_dirs = extra_dirs
        self.bank: Bank | None = None
        self.path: Path | None = None
        self.generation = 0  # bumped by every change: findings of older generations are stale
        self.undo_stack = QUndoStack(self)
        self.undo_stack.cleanChanged.connect(self._clean_changed)
        self._sf_cache: dict[str, str | None] = {}

    def _clean_changed(self, clean: bool) -> None:
        self.modifiedChanged.emit(not clean)

    @property
    def modified(self) -> bool:
        return self.bank is not None and not self.undo_stack.isClean()

    def display_name(self) -> str:
        """The bank's name, else its file's name."""
        if self.bank is not None and self.bank.name:
            return self.bank.name
        return self.path.name if self.path else "(unsaved bank)"

    def set_bank(self, bank: Bank) -> None:
        """Edit ``bank`` from now on (unsaved edits of the previous one are dropped: ask first)."""
        self.bank, self.path = bank, bank.path
        self._sf_cache.clear()
        self.undo_stack.clear()
        self.undo_stack.setClean()
        self.generation += 1
        self.replaced.emit()

    def apply(self, note: str, edit: Callable[[Bank], object]) -> object:
        """Run ``edit(bank)`` as one undoable step; on :class:`BankError` the bank is left as it was and it raises."""
        if self.bank is None:
            raise BankError("no bank is open")
        before = snapshot(self.bank)
        try:
            result = edit(self.bank)
        except BankError:
            restore(self.bank, before)
            raise
        if bank_edit.same_bank(before, self.bank):
            return result
        self.generation += 1
        self.undo_stack.push(BankEdit(self, note, before, snapshot(self.bank)))
        self.changed.emit(note)
        return result

    def restore(self, content: Bank, note: str) -> None:
        """Undo/redo: the bank gets ``content`` (its file stays)."""
        if self.bank is None:
            return
        restore(self.bank, content)
        self.generation += 1
        self.changed.emit(note)

    def save(self, target: Path) -> Path:
        """Write the bank to ``target`` (atomically); OSError when that fails."""
        if self.bank is None:
            raise BankError("no bank is open")
        bank_edit.save_bank(self.bank, target)
        self.bank.path = self.path = target
        self._sf_cache.clear()
        self.undo_stack.setClean()
        self.saved.emit(target)
        return target

    # -------------------------------------------------------------------------------------------- SoundFonts
    def forget_soundfonts(self) -> None:
        """Look SoundFonts up again (a folder was added)."""
        self._sf_cache.clear()

    def resolved(self, name: str) -> str | None:
        """The real path of a patch's SoundFont, or None when it is on no search folder (cached)."""
        if name not in self._sf_cache:
            dirs = [Path(d) for d in self.extra_dirs()]
            if self.bank is not None:
                dirs += list(self.bank.soundfont_dirs)
            try:
                self._sf_cache[name] = str(find_soundfont(name, dirs).resolve())
            except (SoundFontMissing, OSError):
                self._sf_cache[name] = None
        return self._sf_cache[name]

    def preset_users(self) -> dict[tuple[str, int, int], list[str]]:
        """(SoundFont path, bank, preset) -> the ids of the patches that play it."""
        users: dict[tuple[str, int, int], list[str]] = {}
        if self.bank is not None:
            for pid, p in self.bank.patches.items():
                real = self.resolved(p.soundfont)
                if real is not None:
                    users.setdefault((real, p.bank, p.preset), []).append(pid)
        return users
