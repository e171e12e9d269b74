"""The preset browser: every preset of every SoundFont found, filtered by text, GM family and use in the bank.

Listing runs in the background (cached by path, size and mtime in :mod:`slakh_gui.core.bank.soundfont`); SoundFont folders
added here are remembered in the settings and searched by auditions and validation too.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QObject,
    QSettings,
    QSortFilterProxyModel,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from slakh_gui.core.bank.bank_tools import enumerate_presets
from slakh_gui.core.midi import gm
from slakh_gui.gui.job_runner import Job, JobRunner
from slakh_gui.gui.patches.widget_helpers import eliding_label

SETTINGS_FOLDERS = "patches/folders"
ALL_FAMILIES = "All families"
IN_BANK_CHOICES = ["All presets", "Only in bank", "Only not in bank"]
PRESET_COLUMNS = ["SoundFont", "Bank", "Preset", "Name", "Family", "In bank"]
_FAMILY_BY_KEY = {f.casefold(): f for f in reversed(gm.FAMILIES)}  # the first spelling wins


def browser_family(family: str) -> str:
    """The family as the browser lists it: Slakh spells GM's sound effects "Sound Effects" (programs 96-103) and
    "Sound effects" (119-127); the browser shows both as the first spelling."""
    return _FAMILY_BY_KEY.get(family.casefold(), family)


BROWSER_FAMILIES: list[str] = list(dict.fromkeys(browser_family(f) for f in gm.FAMILIES))


def soundfont_folders(settings: QSettings) -> list[str]:
    """The SoundFont folders the user added to the browser."""
    return [str(p) for p in settings.value(SETTINGS_FOLDERS, [], type=list) if p]


class PresetModel(QAbstractTableModel):
    """Rows = SoundFont presets; the last column lists the bank's patches that play the preset."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.presets: list = []
        self.families: list[str] = []
        self.in_bank: dict[tuple[str, int, int], list[str]] = {}

    def set_presets(self, presets: list) -> None:
        self.beginResetModel()
        self.presets = list(presets)
        self.families = [browser_family(p.family) for p in self.presets]
        self.endResetModel()

    def set_in_bank(self, in_bank: dict) -> None:
        self.in_bank = in_bank
        if self.presets:
            col = len(PRESET_COLUMNS) - 1
            self.dataChanged.emit(self.index(0, col), self.index(len(self.presets) - 1, col))

    def users(self, row: int) -> list[str]:
        p = self.presets[row]
        return self.in_bank.get((str(Path(p.soundfont)), p.bank, p.preset), [])

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.presets)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(PRESET_COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return PRESET_COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        p, col = self.presets[index.row()], index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            edit = role == Qt.ItemDataRole.EditRole  # the sort key
            if col == 0:
                return Path(p.soundfont).name if edit else Path(p.soundfont).stem
            if col == 1:
                return p.bank if edit else str(p.bank)
            if col == 2:
                return p.preset if edit else str(p.preset)
            if col == 3:
                return p.name
            if col == 4:
                return self.families[index.row()]
            return ", ".join(self.users(index.row()))
        if role == Qt.ItemDataRole.ToolTipRole:
            if col == 0:
                return str(p.soundfont)
            if col == 5 and self.users(index.row()):
                return "\n".join(self.users(index.row()))
        if role == Qt.ItemDataRole.TextAlignmentRole and col in (1, 2):
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None


class PresetFilter(QSortFilterProxyModel):
    """Text (SoundFont, name, family, patch ids), family and in-bank filters."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.text = ""
        self.family = ""
        self.in_bank_mode = 0  # index into IN_BANK_CHOICES
        self.setSortRole(Qt.ItemDataRole.EditRole)

    def set_filters(self, text: str, family: str, in_bank_mode: int) -> None:
        self.begin_change()
        self.text, self.family, self.in_bank_mode = text.strip().lower(), family, in_bank_mode
        self.end_change()

    def begin_change(self) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt >= 6.10 (invalidateFilter is deprecated there)
            self.beginFilterChange()

    def end_change(self) -> None:
        if hasattr(self, "endFilterChange"):
            self.endFilterChange(QSortFilterProxyModel.Direction.Rows)
        else:
            self.invalidateFilter()

    def filterAcceptsRow(self, row, parent) -> bool:
        m: PresetModel = self.sourceModel()
        p = m.presets[row]
        if self.family and m.families[row] != self.family:
            return False
        users = m.users(row)
        if (self.in_bank_mode == 1 and not users) or (self.in_bank_mode == 2 and users):
            return False
        if self.text:
            hay = f"{Path(p.soundfont).name} {p.bank}:{p.preset} {p.name} {m.families[row]} {' '.join(users)}".lower()
            return all(word in hay for word in self.text.split())
        return True


class PresetBrowser(QWidget):
    """The table of presets with its filters, SoundFont folders and the "Add to class" button."""

    presetsLoaded = Signal(int)  # number of presets
    presetChosen = Signal()  # the current preset changed: it is what Audition plays
    presetActivated = Signal()  # Enter or double-click: audition it
    addRequested = Signal()  # "Add to class →"
    foldersChanged = Signal()

    def __init__(self, runner: JobRunner, settings: QSettings, slot_prefix: str = "patches/",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.runner, self.settings, self.slot_prefix = runner, settings, slot_prefix
        v = QVBoxLayout(self)
        v.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter: name, SoundFont, patch id…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName("Filter presets by text")
        self.family_combo = self._combo([ALL_FAMILIES, *BROWSER_FAMILIES], "Filter presets by GM family")
        self.inbank_combo = self._combo(IN_BANK_CHOICES, "Filter presets by use in the bank")
        row.addWidget(self.filter_edit, 2)
        row.addWidget(self.family_combo, 1)
        row.addWidget(self.inbank_combo, 1)
        v.addLayout(row)
        self.preset_model = PresetModel(self)
        self.preset_proxy = PresetFilter(self)
        self.preset_proxy.setSourceModel(self.preset_model)
        self.preset_table = self._table()
        v.addWidget(self.preset_table, 1)
        row2 = QHBoxLayout()
        self.browser_label = eliding_label("Listing SoundFonts…", "Preset count")
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.setAccessibleName("Add a SoundFont folder to the browser")
        self.add_folder_button.clicked.connect(self._add_folder_dialog)
        self.add_to_class_button = QPushButton("Add to class →")
        self.add_to_class_button.setAccessibleName("Add the selected preset as a new patch to the selected class")
        self.add_to_class_button.clicked.connect(self.addRequested)
        row2.addWidget(self.browser_label, 1)
        row2.addWidget(self.add_folder_button)
        row2.addWidget(self.add_to_class_button)
        v.addLayout(row2)
        self.filter_edit.textChanged.connect(self._apply_filters)
        self.family_combo.currentIndexChanged.connect(self._apply_filters)
        self.inbank_combo.currentIndexChanged.connect(self._apply_filters)

    @staticmethod
    def _combo(items: list[str], name: str) -> QComboBox:
        combo = QComboBox()
        combo.addItems(items)
        combo.setAccessibleName(name)
        combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        combo.setMinimumContentsLength(6)
        return combo

    def _table(self) -> QTableView:
        t = QTableView()
        t.setModel(self.preset_proxy)
        t.setAccessibleName("SoundFont presets")
        t.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        t.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        t.setSortingEnabled(True)
        t.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        t.setAlternatingRowColors(True)
        t.verticalHeader().hide()
        t.verticalHeader().setDefaultSectionSize(22)
        hh = t.horizontalHeader()
        for col, width in enumerate((112, 38, 46, 160, 96, 130)):
            hh.resizeSection(col, width)
        hh.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        t.activated.connect(lambda _idx: self.presetActivated.emit())
        t.selectionModel().currentRowChanged.connect(lambda *_: self.presetChosen.emit())
        t.installEventFilter(self)
        return t

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # Qt override
        if (obj is self.preset_table and event.type() == QEvent.Type.KeyPress
                and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter)):
            self.presetChosen.emit()
            self.presetActivated.emit()
            return True
        return super().eventFilter(obj, event)

    # -------------------------------------------------------------------------------------------- listing
    def extra_dirs(self) -> list[str]:
        return soundfont_folders(self.settings)

    def refresh_presets(self) -> Job:
        """List every preset again (in the background; the newest listing wins)."""
        self.browser_label.setText("Listing SoundFonts…")
        return self.runner.start(enumerate_presets, self.extra_dirs(), on_result=self._presets_ready,
                                 on_error=lambda exc: self.browser_label.setText(f"Listing failed: {exc}"),
                                 slot=self.slot_prefix + "presets")

    def _presets_ready(self, result: tuple[list, list[str]]) -> None:
        presets, problems = result
        self.preset_model.set_presets(presets)
        self._update_label()
        self.browser_label.setToolTip("\n".join(problems))
        self.presetsLoaded.emit(len(presets))

    def set_in_bank(self, users: dict[tuple[str, int, int], list[str]]) -> None:
        """Which bank patches play each preset (the "In bank" column and filter)."""
        filtering = bool(self.preset_proxy.in_bank_mode)
        if filtering:
            self.preset_proxy.begin_change()
        self.preset_model.set_in_bank(users)
        if filtering:
            self.preset_proxy.end_change()
            self._update_label()

    def _update_label(self) -> None:
        total = self.preset_model.rowCount()
        fonts = len({str(p.soundfont) for p in self.preset_model.presets})
        self.browser_label.setText(f"{self.preset_proxy.rowCount()} of {total} presets in {fonts} SoundFonts")

    def _apply_filters(self) -> None:
        fam = self.family_combo.currentText()
        self.preset_proxy.set_filters(self.filter_edit.text(), "" if fam == ALL_FAMILIES else fam,
                                      self.inbank_combo.currentIndex())
        self._update_label()

    def add_folder(self, folder: str | Path) -> Job:
        """Search ``folder`` for SoundFonts too (remembered in the settings) and list again."""
        folders = self.extra_dirs()
        if str(folder) not in folders:
            folders.append(str(folder))
        self.settings.setValue(SETTINGS_FOLDERS, folders)
        self.foldersChanged.emit()
        return self.refresh_presets()

    def _add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a SoundFont folder", str(Path.home()))
        if folder:
            self.add_folder(folder)

    # -------------------------------------------------------------------------------------------- selection
    def selected_preset(self):
        """The current preset (a :class:`slakh_gui.core.bank.soundfont.Preset`) or None."""
        idx = self.preset_table.currentIndex()
        if not idx.isValid():
            return None
        return self.preset_model.presets[self.preset_proxy.mapToSource(idx).row()]

    def select_preset(self, soundfont_name: str, bank: int, preset: int) -> bool:
        """Select a row (scrolled into view); False if it is filtered out or unknown."""
        for row, p in enumerate(self.preset_model.presets):
            if Path(p.soundfont).name == soundfont_name and p.bank == bank and p.preset == preset:
                idx = self.preset_proxy.mapFromSource(self.preset_model.index(row, 0))
                if not idx.isValid():
                    return False
                self.preset_table.setCurrentIndex(idx)
                self.preset_table.scrollTo(idx, QAbstractItemView.ScrollHint.PositionAtCenter)
                self.presetChosen.emit()
                return True
        return False
