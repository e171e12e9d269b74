"""The bank as a tree of classes and their patches, with every structural edit: new, rename and delete classes,
their programs, and add, move, rename and remove patches. Also the 129-program coverage table and the class dialog.

Edits go through :meth:`BankDocument.apply` (one undo step each; a refused edit leaves the bank as it was and says
why in the note under the tree).
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QAction, QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLineEdit,
    QMenu,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from slakh_gui.core.bank import bank_edit
from slakh_gui.core.bank.bank_tools import chain_text, format_programs, parse_programs, patch_id_for
from slakh_gui.core.bank.patches import Bank, BankError
from slakh_gui.core.midi import gm
from slakh_gui.gui.patches.document import BankDocument
from slakh_gui.gui.patches.widget_helpers import (
    UNCOVERED_BG,
    WARNING_FG,
    action,
    eliding_label,
    error_html,
    note_label,
    push_button,
    set_note,
    tool_button,
)

ROLE = Qt.ItemDataRole.UserRole  # tree items hold ("class" | "patch", id, class name)


class ClassDialog(QDialog):
    """Name, GM family and programs of a new class."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("New class")
        form = QFormLayout(self)
        self.name_edit = QLineEdit()
        self.name_edit.setAccessibleName("Class name")
        self.family_combo = QComboBox()
        self.family_combo.addItems(gm.FAMILIES)
        self.family_combo.setAccessibleName("GM family (inst_class)")
        self.programs_edit = QLineEdit()
        self.programs_edit.setAccessibleName("Programs, e.g. 32-37, 39 (0-based, 128 = drums)")
        self.programs_edit.setPlaceholderText("e.g. 32-37, 39   (0-based; 128 = drums)")
        self.family_combo.currentTextChanged.connect(self._family_changed)
        form.addRow("Name", self.name_edit)
        form.addRow("GM family", self.family_combo)
        form.addRow("Programs", self.programs_edit)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)
        self._family_changed(self.family_combo.currentText())

    def _family_changed(self, family: str) -> None:
        self.programs_edit.setText(format_programs(gm.family_programs(family)))
        if not self.name_edit.text():
            self.name_edit.setPlaceholderText(family)


class CoverageTable(QTableWidget):
    """One row per program 0..128: its GM name, the classes covering it and how many patches its pool has."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__(gm.DRUMS + 1, 4, parent)
        self.setAccessibleName("Program coverage")
        self.setHorizontalHeaderLabels(["Prog", "GM program", "Class(es)", "Patches"])
        self.verticalHeader().hide()
        self.verticalHeader().setDefaultSectionSize(22)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        ch = self.horizontalHeader()
        ch.resizeSection(0, 44)
        ch.resizeSection(1, 150)
        ch.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        ch.resizeSection(3, 60)

    def update_from(self, bank: Bank) -> None:
        for program, names, count in bank_edit.coverage(bank):
            cells = [str(program), gm.program_name(program), ", ".join(names) or "— not covered —", str(count)]
            for col, text in enumerate(cells):
                item = self.item(program, col)
                if item is None:
                    item = QTableWidgetItem()
                    self.setItem(program, col, item)
                item.setText(text)
                item.setBackground(QBrush(UNCOVERED_BG) if count == 0 else QBrush())
                if col in (0, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.item(program, 1).setToolTip(gm.family(program))


def counts_text(bank: Bank) -> str:
    """"5 classes, 9 patches (9 unique) · 18/129 programs covered · 1 empty class"."""
    in_classes = {m for c in bank.classes.values() for m in c.patches}
    covered = sum(1 for p in range(gm.DRUMS + 1) if bank.covers(p))
    empty = sum(1 for c in bank.classes.values() if not c.patches)
    loose = len(set(bank.patches) - in_classes)
    text = (f"{bank.class_count()} classes, {bank.patch_count()} patches ({len(in_classes)} unique) · "
            f"{covered}/{gm.DRUMS + 1} programs covered")
    extras = [f"{empty} empty class{'es' if empty != 1 else ''}"] if empty else []
    extras += [f"{loose} patch{'es' if loose != 1 else ''} in no class"] if loose else []
    return text + (f" · {', '.join(extras)}" if extras else "")


def kit_text(patch) -> str:
    """The kit rule of a drum patch as the tree shows it: " · kit follows", " · kits 40-42"."""
    rule = " · kit follows" if patch.kit_follows else ""
    return rule + (f" · kits {format_programs(list(patch.kits))}" if patch.kits else "")


class BankTree(QWidget):
    """Classes and patches of the document's bank, and the edits of its structure."""

    patchChosen = Signal(object)  # the current patch id, or None (a class or nothing is current)
    patchActivated = Signal()  # Enter or double-click on a patch: audition it

    def __init__(self, doc: BankDocument, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        self.counts_label = eliding_label("", "Bank counts")
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Patch classes and their patches")
        self.tree.setHeaderLabels(["Class / patch", "GM family / SoundFont", "Programs / preset", "Effects"])
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        for col, width in enumerate((232, 112, 126)):
            self.tree.header().resizeSection(col, width)
        self.tree.currentItemChanged.connect(self._current_changed)
        self.tree.itemActivated.connect(self._activated)
        self.tree.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.tree.customContextMenuRequested.connect(self._context_menu)
        self.tree.installEventFilter(self)
        v.addWidget(self.tree, 1)
        v.addLayout(self._build_buttons())
        self.edit_note = note_label("Last edit message")
        v.addWidget(self.edit_note)
        doc.changed.connect(self._doc_changed)
        doc.replaced.connect(self._doc_replaced)
        self._update_actions(None)

    def _build_buttons(self) -> QHBoxLayout:
        def act(text: str, tip: str, slot) -> QAction:
            return action(self, text, tip, slot)

        self.new_class_action = act("New class…", "Add a new patch class", self._new_class_dialog)
        self.rename_class_action = act("Rename class…", "Rename the selected class", self._rename_class_dialog)
        self.edit_programs_action = act("Programs…", "Edit the programs the selected class covers",
                                        self._edit_programs_dialog)
        self.delete_class_action = act("Delete class", "Delete the selected class", self._delete_class_clicked)
        self.move_patch_action = act("Move to class…", "Move the selected patch to another class", self._move_dialog)
        self.rename_patch_action = act("Rename patch…", "Give the selected patch a new id", self._rename_dialog)
        self.remove_patch_action = act("Remove from class", "Remove the selected patch from its class (Del)",
                                       self._remove_clicked)
        self.class_actions = [self.rename_class_action, self.edit_programs_action, self.delete_class_action]
        self.patch_actions = [self.move_patch_action, self.rename_patch_action, self.remove_patch_action]
        row = QHBoxLayout()
        self.new_class_button = push_button("New class…", "Add a new patch class", self._new_class_dialog)
        self.class_button = tool_button("Class", "Edit the selected class", actions=self.class_actions)
        self.patch_button = tool_button("Patch", "Edit the selected patch", actions=self.patch_actions)
        for w in (self.new_class_button, self.class_button, self.patch_button):
            row.addWidget(w)
        row.addWidget(self.counts_label, 1)
        return row

    def _context_menu(self, pos) -> None:
        menu = QMenu(self)
        menu.addAction(self.new_class_action)
        for actions in (self.class_actions, self.patch_actions):
            menu.addSeparator()
            menu.addActions([a for a in actions if a.isEnabled()])
        menu.popup(self.tree.viewport().mapToGlobal(pos))

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # Qt override
        if obj is self.tree and event.type() == QEvent.Type.KeyPress:
            if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter) and self.selected_patch():
                self.patchActivated.emit()
                return True
            if event.key() == Qt.Key.Key_Delete and self.selected_patch():
                self._remove_clicked()
                return True
        return super().eventFilter(obj, event)

    # -------------------------------------------------------------------------------------------- showing
    def _doc_replaced(self) -> None:
        set_note(self.edit_note, "")
        self.refresh()
        self.tree.collapseAll()

    def _doc_changed(self, note: str) -> None:
        set_note(self.edit_note, note)
        self.refresh()

    def refresh(self) -> None:
        """Show the bank as it is now (expanded classes and the current item stay)."""
        bank = self.doc.bank
        if bank is None:
            return
        self.counts_label.setText(counts_text(bank))
        self.counts_label.setToolTip(counts_text(bank))
        tree = self.tree
        expanded = {tree.topLevelItem(i).data(0, ROLE)[1] for i in range(tree.topLevelItemCount())
                    if tree.topLevelItem(i).isExpanded()}
        current = self._tree_data()
        tree.blockSignals(True)
        tree.clear()
        select = None
        for cname, cls in bank.classes.items():
            top = QTreeWidgetItem([f"{cname}  ({len(cls.patches)})", cls.inst_class, format_programs(cls.programs), ""])
            top.setData(0, ROLE, ("class", cname, cname))
            top.setToolTip(2, ", ".join(f"{p} {gm.program_name(p)}" for p in cls.programs))
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            if not cls.patches:
                top.setForeground(0, QBrush(WARNING_FG))
                top.setToolTip(0, "class has no patches: tracks of its programs are not rendered")
            tree.addTopLevelItem(top)
            select = top if current == ("class", cname, cname) else select
            for pid in cls.patches:
                p = bank.patches[pid]
                child = QTreeWidgetItem([pid, Path(p.soundfont).name, f"{p.bank}:{p.preset} {p.name}".strip() + kit_text(p),
                                         chain_text(p.effects)])
                child.setData(0, ROLE, ("patch", pid, cname))
                child.setToolTip(0, pid)
                top.addChild(child)
                select = child if current == ("patch", pid, cname) else select
            top.setExpanded(cname in expanded)
        tree.blockSignals(False)
        if select is not None:
            tree.setCurrentItem(select)  # a new item: emits currentItemChanged
        else:
            self._update_actions(None)

    def _tree_data(self) -> tuple[str, str, str] | None:
        item = self.tree.currentItem()
        return item.data(0, ROLE) if item is not None else None

    def _current_changed(self, item, _prev) -> None:
        d = item.data(0, ROLE) if item is not None else None
        self._update_actions(d)
        self.patchChosen.emit(d[1] if d and d[0] == "patch" else None)

    def _update_actions(self, d: tuple[str, str, str] | None) -> None:
        is_patch, has_class = bool(d and d[0] == "patch"), d is not None
        for a in self.patch_actions:
            a.setEnabled(is_patch)
        for a in self.class_actions:
            a.setEnabled(has_class)
        self.patch_button.setEnabled(is_patch)
        self.class_button.setEnabled(has_class)
        self.new_class_button.setEnabled(self.doc.bank is not None)

    def _activated(self, item, _col) -> None:
        d = item.data(0, ROLE)
        if d and d[0] == "patch":
            self.patchActivated.emit()

    # -------------------------------------------------------------------------------------------- selection
    def selected_class(self) -> str | None:
        d = self._tree_data()
        return d[2] if d else None

    def selected_patch(self) -> str | None:
        d = self._tree_data()
        return d[1] if d and d[0] == "patch" else None

    def select_class(self, name: str) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, ROLE)[1] == name:
                self.tree.setCurrentItem(item)
                return True
        return False

    def select_patch(self, pid: str, class_name: str | None = None) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                d = top.child(j).data(0, ROLE)
                if d[1] == pid and (class_name is None or d[2] == class_name):
                    top.setExpanded(True)
                    self.tree.setCurrentItem(top.child(j))
                    self.tree.scrollToItem(top.child(j))
                    return True
        return False

    # -------------------------------------------------------------------------------------------- edits
    def _edit(self, note: str, edit) -> bool:
        """Apply one edit to the bank; a refused edit shows its reason and changes nothing."""
        try:
            self.doc.apply(note, edit)
        except BankError as exc:
            self.show_error(exc)
            return False
        return True

    def show_error(self, exc: Exception | str) -> None:
        set_note(self.edit_note, error_html(exc))

    def add_preset_to_class(self, preset, class_name: str) -> str | None:
        """Add ``preset`` as a new patch (id ``<sf-short>.<slug>``) to ``class_name``; the new id or None."""
        if self.doc.bank is None:
            return None
        pid = patch_id_for(preset, self.doc.bank.patches)
        path = Path(preset.soundfont)
        soundfont = path.name if self.doc.resolved(path.name) == str(path.resolve()) else str(path)
        drum = preset.family == gm.family(gm.DRUMS)

        def edit(bank: Bank) -> None:
            bank_edit.add_patch(bank, pid, soundfont, preset.bank, preset.preset, preset.name, drum=drum)
            bank_edit.assign(bank, pid, class_name)

        if not self._edit(f"Added {pid} to {class_name}", edit):
            return None
        self.select_patch(pid, class_name)
        return pid

    def remove_from_class(self, pid: str, class_name: str) -> bool:
        """Take the patch out of the class; a patch left in no class is removed from the bank too."""
        def edit(bank: Bank) -> None:
            bank_edit.unassign(bank, pid, class_name)
            if not any(pid in c.patches for c in bank.classes.values()):
                bank_edit.remove_patch(bank, pid)

        if not self._edit(f"Removed {pid} from {class_name}", edit):
            return False
        self.select_class(class_name)
        return True

    def move_patch(self, pid: str, from_class: str, to_class: str) -> bool:
        """Take the patch out of one class and put it into another (both or neither)."""
        def edit(bank: Bank) -> None:
            bank_edit.assign(bank, pid, to_class)
            bank_edit.unassign(bank, pid, from_class)

        if not self._edit(f"Moved {pid} from {from_class} to {to_class}", edit):
            return False
        self.select_patch(pid, to_class)
        return True

    def rename_patch(self, old: str, new: str) -> bool:
        new = new.strip()
        if not self._edit(f"Renamed {old} to {new}", lambda bank: bank_edit.rename_patch(bank, old, new)):
            return False
        self.select_patch(new)
        return True

    def add_class(self, name: str, inst_class: str, programs: str | list[int]) -> bool:
        name = name.strip()
        try:
            progs = parse_programs(programs) if isinstance(programs, str) else list(programs)
        except BankError as exc:
            self.show_error(exc)
            return False
        if not self._edit(f"Added class {name}", lambda bank: bank_edit.add_class(bank, name, inst_class, progs)):
            return False
        self.select_class(name)
        return True

    def rename_class(self, old: str, new: str) -> bool:
        new = new.strip()
        if not self._edit(f"Renamed class {old} to {new}", lambda bank: bank_edit.rename_class(bank, old, new)):
            return False
        self.select_class(new)
        return True

    def delete_class(self, name: str) -> bool:
        return self._edit(f"Deleted class {name} (its patches stay in the bank)",
                          lambda bank: bank_edit.remove_class(bank, name))

    def set_programs(self, class_name: str, programs: str | list[int]) -> bool:
        try:
            progs = parse_programs(programs) if isinstance(programs, str) else list(programs)
        except BankError as exc:
            self.show_error(exc)
            return False
        return self._edit(f"{class_name} now covers {format_programs(progs)}",
                          lambda bank: bank_edit.set_programs(bank, class_name, progs))

    # -------------------------------------------------------------------------------------------- dialogs
    def _remove_clicked(self) -> None:
        d = self._tree_data()
        if d and d[0] == "patch":
            self.remove_from_class(d[1], d[2])

    def _move_dialog(self) -> None:
        d = self._tree_data()
        if not d or d[0] != "patch":
            return
        names = [n for n in self.doc.bank.classes if n != d[2]]
        target, ok = QInputDialog.getItem(self, "Move patch", f"Move {d[1]} from {d[2]} to:", names, 0, False)
        if ok and target:
            self.move_patch(d[1], d[2], target)

    def _rename_dialog(self) -> None:
        pid = self.selected_patch()
        if pid is None:
            return
        new, ok = QInputDialog.getText(self, "Rename patch", "New patch id ([a-z0-9_.-]):", text=pid)
        if ok and new and new != pid:
            self.rename_patch(pid, new)

    def _new_class_dialog(self) -> None:
        if self.doc.bank is None:
            return
        dlg = ClassDialog(self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            name = dlg.name_edit.text().strip() or dlg.family_combo.currentText()
            self.add_class(name, dlg.family_combo.currentText(), dlg.programs_edit.text())

    def _rename_class_dialog(self) -> None:
        name = self.selected_class()
        if name is None:
            return
        new, ok = QInputDialog.getText(self, "Rename class", "New class name:", text=name)
        if ok and new.strip() and new.strip() != name:
            self.rename_class(name, new)

    def _delete_class_clicked(self) -> None:
        name = self.selected_class()
        if name is None:
            return
        n = len(self.doc.bank.classes[name].patches)
        if n and QMessageBox.question(self, "Delete class", f"Delete class {name!r} and its list of {n} patches?") \
                != QMessageBox.StandardButton.Yes:
            return
        self.delete_class(name)

    def _edit_programs_dialog(self) -> None:
        name = self.selected_class()
        if name is None:
            return
        text, ok = QInputDialog.getText(self, "Edit programs", f"Programs of {name} (0-based, 128 = drums):",
                                        text=format_programs(self.doc.bank.classes[name].programs))
        if ok:
            self.set_programs(name, text)
