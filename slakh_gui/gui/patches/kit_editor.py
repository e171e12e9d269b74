"""The kit rule of the selected drum patch: "kit follows the track's program" (``kit: follow``, bank 128 only) and the
kit programs it suits (``kits:``, which narrows the drum draw). Each change is one undo step; hidden for melodic
patches. See ``docs/bank-format.md``.
"""

from __future__ import annotations

from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QLabel, QLineEdit, QVBoxLayout, QWidget

from slakh_gui.core.bank import bank_edit
from slakh_gui.core.bank.bank_tools import format_programs, parse_programs
from slakh_gui.core.bank.kits import KITS
from slakh_gui.core.bank.patches import BankError
from slakh_gui.gui.patches.document import BankDocument
from slakh_gui.gui.patches.widget_helpers import error_html, note_label, set_note

FOLLOW_TIP = ("The track's MIDI program picks the kit: bank 128, preset = the program (25 plays the TR-808 kit). "
              "A SoundFont without that kit plays its standard kit, with a warning. Bank 128 patches only.")
KITS_TIP = ("Kit programs this patch suits, e.g. 40 for a brush kit: a drum track on one of them draws among the "
            "patches that list it. Empty: any kit. GM/GS kits: " + ", ".join(f"{p} {n}" for p, n in KITS.items()))


class KitEditor(QWidget):
    """Edits the kit keys of one drum patch of the document's bank."""

    def __init__(self, doc: BankDocument, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.pid: str | None = None
        v = QVBoxLayout(self)
        v.setContentsMargins(4, 4, 4, 0)
        row = QHBoxLayout()
        self.follow_box = QCheckBox("Kit follows the track's program")
        self.follow_box.setAccessibleName("Kit follows the track's program")
        self.follow_box.setToolTip(FOLLOW_TIP)
        self.follow_box.clicked.connect(self._follow_clicked)
        self.kits_edit = QLineEdit()
        self.kits_edit.setAccessibleName("Kit programs this patch suits")
        self.kits_edit.setToolTip(KITS_TIP)
        self.kits_edit.setPlaceholderText("any")
        self.kits_edit.setMinimumWidth(60)
        self.kits_edit.editingFinished.connect(self._kits_edited)
        row.addWidget(self.follow_box)
        kits_label = QLabel("Suits kits:")
        kits_label.setToolTip(KITS_TIP)
        row.addWidget(kits_label)
        row.addWidget(self.kits_edit, 1)
        v.addLayout(row)
        self.note = note_label("Kit rule message")
        v.addWidget(self.note)
        doc.changed.connect(self._doc_changed)
        doc.replaced.connect(self._doc_changed)
        self.show_patch(None)

    def _doc_changed(self, _note: str = "") -> None:
        self.show_patch(self.pid)

    def show_patch(self, pid: str | None) -> None:
        """Show the kit rule of ``pid``; hidden unless it is a drum patch of the bank."""
        bank = self.doc.bank
        patch = bank.patches.get(pid) if bank is not None and pid else None
        self.pid = pid if patch is not None else None
        self.setVisible(patch is not None and patch.drum)
        if patch is None:
            return
        self.follow_box.setChecked(patch.kit_follows)
        self.follow_box.setEnabled(patch.kit_follows or patch.bank == 128)
        self.kits_edit.setText(format_programs(list(patch.kits)) if patch.kits else "")
        set_note(self.note, "")

    def set_follows(self, pid: str, follows: bool) -> bool:
        """Turn ``kit: follow`` on or off for ``pid`` (one undo step); False with a message when refused."""
        text = f"Kit of {pid}: {'follows the track' if follows else 'fixed'}"
        return self._apply(text, lambda bank: bank_edit.set_kit(bank, pid, follows=follows))

    def set_kits(self, pid: str, kits: list[int]) -> bool:
        """Set the kit programs ``pid`` suits (``[]``: any), one undo step."""
        text = f"Kits of {pid}: {format_programs(kits) if kits else 'any'}"
        return self._apply(text, lambda bank: bank_edit.set_kit(bank, pid, kits=kits))

    def _apply(self, text: str, edit) -> bool:
        try:
            self.doc.apply(text, edit)
        except BankError as exc:
            self.show_patch(self.pid)
            set_note(self.note, error_html(exc))
            return False
        return True

    def _follow_clicked(self, checked: bool) -> None:
        if self.pid is not None:
            self.set_follows(self.pid, checked)

    def _kits_edited(self) -> None:
        if self.pid is None:
            return
        text = self.kits_edit.text().strip()
        try:
            kits = sorted(set(parse_programs(text))) if text else []
        except BankError as exc:
            set_note(self.note, error_html(exc))
            return
        if tuple(kits) != self.doc.bank.patches[self.pid].kits:
            self.set_kits(self.pid, kits)
