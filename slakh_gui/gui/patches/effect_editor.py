"""The effect-chain editor of the selected patch: effects in order (add, remove, move, change type), their
parameters (each row shows the value in use: the bank's, or pedalboard's default in grey italics), chain presets,
and the validation findings about the chain, numbered as the list shows them ("effect 2 (lowshelf)").
"""

from __future__ import annotations

import math
from functools import cache

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QListWidget,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from slakh_gui.core.bank import bank_edit
from slakh_gui.core.bank.bank_tools import chain_text
from slakh_gui.core.bank.bank_validate import PARAM_RANGES
from slakh_gui.core.bank.effects import EFFECT_TYPES
from slakh_gui.core.bank.patches import BankError
from slakh_gui.gui.patches.document import BankDocument
from slakh_gui.gui.patches.widget_helpers import (
    ERROR_FG,
    HINT_FG,
    eliding_label,
    error_html,
    note_label,
    set_note,
)

EFFECT_PRESETS: dict[str, list[dict]] = {
    "Small room": [{"type": "reverb", "room_size": 0.3, "wet_level": 0.15, "dry_level": 0.85}],
    "Glue": [{"type": "compressor", "threshold_db": -18.0, "ratio": 3.0}],
    "Warm": [{"type": "lowshelf", "cutoff_frequency_hz": 200.0, "gain_db": 3.0},
             {"type": "highshelf", "cutoff_frequency_hz": 6000.0, "gain_db": -2.0}],
}
NAME_ROLE = Qt.ItemDataRole.UserRole  # the parameter a value cell edits
DEFAULT_TIP = "pedalboard's default (not in the bank): type a value to set it; clear a value to use the default"


@cache
def param_default(kind: str, name: str) -> float | None:
    """Pedalboard's default value of an effect parameter (None when it cannot be read: only a hint)."""
    try:
        from slakh_gui.core.bank.effects import make_plugin

        return float(getattr(make_plugin(kind, {}), name))
    except Exception:
        return None


def param_range(kind: str, name: str) -> str:
    """"0..1", "1..Nyquist", "0..∞" or ""."""
    lo, hi = PARAM_RANGES.get(kind, {}).get(name, (None, None))
    if lo is None:
        return ""
    return f"{lo:g}..{'Nyquist' if hi == 'nyquist' else ('∞' if hi is None else f'{hi:g}')}"


class EffectEditor(QWidget):
    """Edits the effect chain of one patch of the document's bank (one undo step per change)."""

    def __init__(self, doc: BankDocument, parent: QWidget | None = None):
        super().__init__(parent)
        self.doc = doc
        self.pid: str | None = None
        self.chain: list[list] = []  # [[kind, {param: value}], ...]: the chain being edited
        self.findings: list = []
        v = QVBoxLayout(self)
        v.setContentsMargins(4, 4, 4, 4)
        top = QHBoxLayout()
        self.fx_title = eliding_label("Select a patch in the bank to edit its effect chain.", "Edited patch")
        self.fx_preset_combo = QComboBox()
        self.fx_preset_combo.addItems(["Chain preset…", *EFFECT_PRESETS, "No effects"])
        self.fx_preset_combo.setAccessibleName("Replace the chain with a preset")
        self.fx_preset_combo.activated.connect(self._preset_chosen)
        top.addWidget(self.fx_title, 1)
        top.addWidget(self.fx_preset_combo)
        v.addLayout(top)
        v.addLayout(self._build_buttons())
        self.fx_list = QListWidget()
        self.fx_list.setAccessibleName("Effect chain of the selected patch, in order")
        self.fx_list.setWordWrap(True)
        self.fx_list.setMinimumHeight(36)
        self.fx_list.currentRowChanged.connect(self._row_changed)
        self.fx_params = self._build_params()
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        split.addWidget(self.fx_list)
        split.addWidget(self.fx_params)
        split.setSizes([60, 140])
        v.addWidget(split, 1)
        self.fx_note = note_label("Effect chain message")
        v.addWidget(self.fx_note)
        doc.changed.connect(self._doc_changed)
        doc.replaced.connect(self._doc_changed)
        self._set_enabled()

    def _build_buttons(self) -> QHBoxLayout:
        row = QHBoxLayout()
        self.fx_add_button = QPushButton("+")
        self.fx_add_button.setAccessibleName("Add an effect")
        self.fx_remove_button = QPushButton("−")
        self.fx_remove_button.setAccessibleName("Remove the selected effect")
        self.fx_up_button = QPushButton("↑")
        self.fx_up_button.setAccessibleName("Move the selected effect up")
        self.fx_down_button = QPushButton("↓")
        self.fx_down_button.setAccessibleName("Move the selected effect down")
        for b, slot in ((self.fx_add_button, self._add), (self.fx_remove_button, self._remove),
                        (self.fx_up_button, lambda: self._move(-1)), (self.fx_down_button, lambda: self._move(1))):
            b.setToolTip(b.accessibleName())
            b.setFixedWidth(30)
            b.clicked.connect(slot)
            row.addWidget(b)
        self.fx_type_combo = QComboBox()
        self.fx_type_combo.addItems(list(EFFECT_TYPES))
        self.fx_type_combo.setAccessibleName("Type of the selected effect")
        self.fx_type_combo.setToolTip("Type of the selected effect")
        self.fx_type_combo.activated.connect(self._type_chosen)
        row.addWidget(self.fx_type_combo, 1)
        return row

    def _build_params(self) -> QTableWidget:
        t = QTableWidget(0, 3)
        t.setAccessibleName("Parameters of the selected effect (empty value: pedalboard's default)")
        t.setHorizontalHeaderLabels(["Parameter", "Value", "Default · range"])
        t.verticalHeader().hide()
        t.verticalHeader().setDefaultSectionSize(22)
        t.horizontalHeader().resizeSection(0, 120)
        t.horizontalHeader().resizeSection(1, 70)
        t.horizontalHeader().setStretchLastSection(True)
        t.setEditTriggers(QAbstractItemView.EditTrigger.AllEditTriggers)
        t.setMinimumHeight(60)
        t.itemChanged.connect(self._param_edited)
        return t

    # -------------------------------------------------------------------------------------------- showing
    def _doc_changed(self, _note: str = "") -> None:
        self.show_patch(self.pid)  # a patch that is gone (another bank, renamed, removed) shows nothing

    def show_patch(self, pid: str | None, row: int | None = None) -> None:
        """Edit the chain of patch ``pid`` (None: nothing); ``row`` = the effect to select (default: keep)."""
        bank = self.doc.bank
        pid = pid if bank is not None and pid in bank.patches else None
        if row is None:
            row = self.fx_list.currentRow() if pid == self.pid else 0
        self.pid = pid
        self.chain = [[k, dict(p)] for k, p in bank.patches[pid].effects] if pid else []
        self.fx_title.setText(f"Effects of {pid}" if pid else "Select a patch in the bank to edit its effect chain.")
        self.fx_title.setToolTip(pid or "")
        self._fill_list(row)
        self._show_chain_findings()

    def _fill_list(self, row: int = 0) -> None:
        self.fx_list.blockSignals(True)
        self.fx_list.clear()
        for i, (kind, params) in enumerate(self.chain):
            shown = ", ".join(f"{k} {v:g}" for k, v in bank_edit._ordered_params(kind, params))
            self.fx_list.addItem(f"{i + 1}. {kind}" + (f"  ({shown})" if shown else ""))
        if self.chain:
            self.fx_list.setCurrentRow(max(0, min(row, len(self.chain) - 1)))
        self.fx_list.blockSignals(False)
        self._row_changed(self.fx_list.currentRow())

    def _set_enabled(self) -> None:
        on = self.pid is not None
        for w in (self.fx_list, self.fx_add_button, self.fx_preset_combo):
            w.setEnabled(on)
        has = on and 0 <= self.fx_list.currentRow() < len(self.chain)
        for w in (self.fx_remove_button, self.fx_up_button, self.fx_down_button, self.fx_type_combo, self.fx_params):
            w.setEnabled(has)

    def _row_changed(self, row: int) -> None:
        self._set_enabled()
        if not 0 <= row < len(self.chain):
            self.fx_params.setRowCount(0)
            return
        kind, params = self.chain[row]
        self.fx_type_combo.setCurrentText(kind)
        names = [n for n in bank_edit.PARAM_ORDER.get(kind, []) if n != "freeze_mode"]
        names += [n for n in params if n not in names]
        self._fill_params(kind, params, names)

    def _fill_params(self, kind: str, params: dict, names: list[str]) -> None:
        """One row per parameter. Rows are updated in place when the parameters are the same ones: removing rows
        while a cell editor commits would leave Qt's delegate committing into a row that is gone."""
        t = self.fx_params
        t.blockSignals(True)
        same = t.rowCount() == len(names) and all(
            t.item(r, 1) is not None and t.item(r, 1).data(NAME_ROLE) == n for r, n in enumerate(names))
        if not same:
            t.setRowCount(0)
            t.setRowCount(len(names))
        for r, name in enumerate(names):
            key, value, hint = (t.item(r, c) or QTableWidgetItem() for c in range(3))
            key.setText(name)
            key.setFlags(Qt.ItemFlag.ItemIsEnabled)
            default = param_default(kind, name)
            explicit = name in params
            shown = params[name] if explicit else default
            value.setText("" if shown is None else f"{shown:g}")
            value.setData(NAME_ROLE, name)
            font = value.font()
            font.setItalic(not explicit)
            value.setFont(font)
            value.setForeground(QBrush() if explicit else QBrush(HINT_FG))
            value.setToolTip("" if explicit else DEFAULT_TIP)
            hint.setText(" · ".join(x for x in (f"{default:g}" if default is not None else "", param_range(kind, name))
                                    if x))
            hint.setFlags(Qt.ItemFlag.ItemIsEnabled)
            hint.setForeground(QBrush(HINT_FG))
            for c, item in enumerate((key, value, hint)):
                if t.item(r, c) is not item:
                    t.setItem(r, c, item)
        t.blockSignals(False)

    def show_findings(self, findings: list) -> None:
        """Validation findings of the bank: those about the edited chain are shown here, numbered as listed."""
        self.findings = list(findings)
        self._show_chain_findings()

    def _show_chain_findings(self) -> None:
        lines, bad_rows = [], set()
        prefix = f"patches/{self.pid}/effects/"
        for f in self.findings if self.pid else []:
            if not f.key.startswith(prefix):
                continue
            index = f.key[len(prefix):].split("/")[0]
            if index.isdigit() and int(index) < len(self.chain):
                i = int(index)
                bad_rows.add(i)
                lines.append(f"effect {i + 1} ({self.chain[i][0]}): {f.message}")
        for i in range(self.fx_list.count()):
            self.fx_list.item(i).setForeground(QBrush(ERROR_FG) if i in bad_rows else QBrush())
        set_note(self.fx_note, "<br>".join(error_html(line) for line in lines))

    # -------------------------------------------------------------------------------------------- edits
    def set_effect_chain(self, pid: str, chain: list) -> bool:
        """Replace a patch's chain (``[{"type": ..., param: value}]`` or ``[(type, params)]``)."""
        def edit(bank) -> None:
            bank_edit.set_effects(bank, pid, chain)

        try:
            self.doc.apply(f"Effects of {pid}: {chain_text(bank_edit.normalize_chain(chain)) or 'none'}", edit)
        except BankError as exc:
            set_note(self.fx_note, error_html(exc))
            return False
        return True

    def apply_effect_preset(self, pid: str, name: str) -> bool:
        """Replace the chain of ``pid`` with a preset of :data:`EFFECT_PRESETS` ("No effects": none)."""
        return self.set_effect_chain(pid, [dict(fx) for fx in EFFECT_PRESETS.get(name, [])])

    def _commit(self, row: int) -> None:
        """Write the edited chain to the bank; a refused chain shows the bank's chain again, with the reason."""
        pid = self.pid
        if pid is None:
            return
        if self.set_effect_chain(pid, [(k, dict(p)) for k, p in self.chain]):
            self.show_patch(pid, row)
        else:
            note = self.fx_note.text()
            self.show_patch(pid, row)
            set_note(self.fx_note, note)

    def _add(self) -> None:
        self.chain.append(["reverb", {}])
        self._commit(len(self.chain) - 1)

    def _remove(self) -> None:
        row = self.fx_list.currentRow()
        if 0 <= row < len(self.chain):
            del self.chain[row]
            self._commit(row)

    def _move(self, delta: int) -> None:
        row = self.fx_list.currentRow()
        new = row + delta
        if 0 <= row < len(self.chain) and 0 <= new < len(self.chain):
            self.chain[row], self.chain[new] = self.chain[new], self.chain[row]
            self._commit(new)

    def _type_chosen(self, _index: int) -> None:
        row = self.fx_list.currentRow()
        kind = self.fx_type_combo.currentText()
        if 0 <= row < len(self.chain) and self.chain[row][0] != kind:
            self.chain[row] = [kind, {}]
            self._commit(row)

    def _param_edited(self, item: QTableWidgetItem) -> None:
        row = self.fx_list.currentRow()
        name = item.data(NAME_ROLE)
        if name is None or not 0 <= row < len(self.chain):
            return
        text = item.text().strip().replace("−", "-")
        params = self.chain[row][1]
        if not text:
            params.pop(name, None)
        else:
            try:
                value = float(text)
                if not math.isfinite(value):
                    raise ValueError
            except ValueError:
                self._row_changed(row)  # the cell shows its value again (updated in place)
                set_note(self.fx_note, error_html(f"{name}: {text!r} is not a number"))
                return
            params[name] = value
        self._commit(row)

    def _preset_chosen(self, index: int) -> None:
        name = self.fx_preset_combo.itemText(index)
        self.fx_preset_combo.setCurrentIndex(0)
        if self.pid is None or index == 0:
            return
        self.set_effect_chain(self.pid, [] if name == "No effects" else EFFECT_PRESETS[name])
