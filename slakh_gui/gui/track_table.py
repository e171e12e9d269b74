"""The track list: one row per MIDI track, the Slakh way, with its patch, lock and render status."""

from __future__ import annotations

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt, Signal
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHeaderView,
    QStyledItemDelegate,
    QTableView,
    QWidget,
)

from slakh_gui.core.bank.patches import Assignment, Bank
from slakh_gui.core.midi.midifile import Song

NOT_RENDERED = "— not rendered —"
COLUMNS = ["Stem", "Name", "Program", "GM family", "Drum", "Notes", "Range", "Patch", "Lock", "Status"]
PATCH_COL, LOCK_COL, STATUS_COL = 7, 8, 9


class TrackModel(QAbstractTableModel):
    """Rows = ``song.tracks``. Patch and lock are editable; edits are announced, the window owns the state."""

    patchEdited = Signal(str, object)  # stem key, patch id or None
    lockEdited = Signal(str, bool)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.song: Song | None = None
        self.bank: Bank | None = None
        self.assignment: Assignment | None = None
        self.foreign_patches: dict[str, str] = {}  # plugin names of a foreign Slakh folder (read-only)
        self.status: dict[str, str] = {}

    def set_song(self, song: Song | None, bank: Bank | None, assignment: Assignment | None,
                 foreign_patches: dict[str, str] | None = None) -> None:
        self.beginResetModel()
        self.song, self.bank, self.assignment = song, bank, assignment
        self.foreign_patches = foreign_patches or {}
        self.status = {}
        self.endResetModel()

    def set_assignment(self, assignment: Assignment) -> None:
        self.assignment = assignment
        if self.rowCount():
            self.dataChanged.emit(self.index(0, PATCH_COL), self.index(self.rowCount() - 1, LOCK_COL))

    def set_status(self, key: str, text: str) -> None:
        if self.status.get(key) == text or self.song is None:
            return
        self.status[key] = text
        row = next((i for i, t in enumerate(self.song.tracks) if t.key == key), None)
        if row is not None:
            idx = self.index(row, STATUS_COL)
            self.dataChanged.emit(idx, idx)

    def key_at(self, row: int) -> str:
        return self.song.tracks[row].key

    def row_of(self, key: str) -> int | None:
        return next((i for i, t in enumerate(self.song.tracks) if t.key == key), None) if self.song else None

    def renderable(self, row: int) -> bool:
        if self.assignment is None:
            return False
        return bool(self.assignment.tracks[self.key_at(row)].patch_id)

    def pool_ids(self, row: int) -> list[str]:
        if self.bank is None or self.song is None:
            return []
        return [p.id for p in self.bank.pool(self.song.tracks[row].program)]

    # Qt model API -------------------------------------------------------------------------------------------
    def rowCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() or self.song is None else len(self.song.tracks)

    def columnCount(self, parent: QModelIndex | QPersistentModelIndex = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section]
        return None

    def flags(self, index):
        base = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
        if self.assignment is not None and self.bank is not None:
            if index.column() == PATCH_COL and self.pool_ids(index.row()):
                base |= Qt.ItemFlag.ItemIsEditable
            if index.column() == LOCK_COL:
                base |= Qt.ItemFlag.ItemIsUserCheckable
        return base

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid() or self.song is None:
            return None
        t = self.song.tracks[index.row()]
        col = index.column()
        tp = self.assignment.tracks[t.key] if self.assignment else None
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if col == PATCH_COL:
                if tp is None:
                    return self.foreign_patches.get(t.key, "")
                return tp.patch_id or NOT_RENDERED
            return [t.key, t.name, str(t.program), t.inst_class, "drum" if t.is_drum else "", str(t.note_count),
                    f"{t.pitch_min}–{t.pitch_max}" if t.note_count else "–", None, None,
                    self.status.get(t.key, "")][col]
        if role == Qt.ItemDataRole.CheckStateRole and col == LOCK_COL and tp is not None:
            return Qt.CheckState.Checked if tp.locked else Qt.CheckState.Unchecked
        if role == Qt.ItemDataRole.ToolTipRole:
            if tp is not None and not tp.patch_id:
                return f"Not rendered: {tp.reason}"
            if col == 2:
                return t.program_name
            if col == PATCH_COL and tp is not None:
                return "Double-click to choose a patch from this track's class"
        if role == Qt.ItemDataRole.ForegroundRole and tp is not None and not tp.patch_id:
            return QColor(128, 128, 128)
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (2, 5):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def setData(self, index, value, role=Qt.ItemDataRole.EditRole):
        if not index.isValid() or self.assignment is None:
            return False
        key = self.key_at(index.row())
        if index.column() == PATCH_COL and role == Qt.ItemDataRole.EditRole:
            pid = None if value in (None, "", NOT_RENDERED) else str(value)
            if pid == self.assignment.tracks[key].patch_id:
                return False
            self.patchEdited.emit(key, pid)
            return True
        if index.column() == LOCK_COL and role == Qt.ItemDataRole.CheckStateRole:
            self.lockEdited.emit(key, Qt.CheckState(value) == Qt.CheckState.Checked)
            return True
        return False


class PatchDelegate(QStyledItemDelegate):
    """A combo of the patches the track's class allows (plus "not rendered")."""

    def createEditor(self, parent, option, index):
        combo = QComboBox(parent)
        combo.setAccessibleName("Patch for this track")
        combo.addItems([NOT_RENDERED, *index.model().pool_ids(index.row())])
        combo.activated.connect(lambda _=None: self.commitData.emit(combo))
        return combo

    def setEditorData(self, editor, index):
        editor.setCurrentText(index.data(Qt.ItemDataRole.EditRole))

    def setModelData(self, editor, model, index):
        model.setData(index, editor.currentText(), Qt.ItemDataRole.EditRole)


class TrackTable(QTableView):
    """The view: row selection, patch combo, sensible column widths."""

    trackSelected = Signal(str)

    def __init__(self, model: TrackModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.setModel(model)
        self.setAccessibleName("Tracks")
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.DoubleClicked | QAbstractItemView.EditTrigger.EditKeyPressed
                             | QAbstractItemView.EditTrigger.SelectedClicked)
        self.setItemDelegateForColumn(PATCH_COL, PatchDelegate(self))
        self.verticalHeader().setVisible(False)
        self.verticalHeader().setDefaultSectionSize(24)
        self.setAlternatingRowColors(True)
        header = self.horizontalHeader()
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        for col, width in enumerate([44, 110, 60, 130, 44, 52, 64, 250, 44, 90]):
            self.setColumnWidth(col, width)
        pal = self.palette()
        pal.setColor(QPalette.ColorRole.Highlight, QColor(52, 101, 164))
        self.setPalette(pal)

    def selectionChanged(self, selected, deselected):  # Qt override
        super().selectionChanged(selected, deselected)
        rows = {i.row() for i in self.selectionModel().selectedRows()}
        if rows:
            self.trackSelected.emit(self.model().key_at(min(rows)))

    def select_key(self, key: str) -> None:
        row = self.model().row_of(key)
        if row is not None:
            self.selectRow(row)
