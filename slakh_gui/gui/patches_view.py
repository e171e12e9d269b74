"""The Patches view: browse every SoundFont preset, audition, curate a patch bank (classes, patches, effect chains),
validate it live and save it.

All slow work runs in :class:`slakh_gui.gui.workers.Job`: listing the presets (cached by path, size and mtime in
:mod:`slakh_gui.core.soundfont`), loading a bank, auditions and validation (the in-memory bank is written to a
temporary file and checked by :func:`slakh_gui.core.bank_validate.validate_bank`). Edits go through
:mod:`slakh_gui.core.bank_edit` on the view's own :class:`Bank`; nothing is written until Save / Save As.
"""

from __future__ import annotations

import math
import os
import re
import tempfile
from pathlib import Path

from PySide6.QtCore import (
    QAbstractTableModel,
    QEvent,
    QModelIndex,
    QSettings,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QBrush, QColor, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QMessageBox,
    QPushButton,
    QSplitter,
    QStyle,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from slakh_gui import paths
from slakh_gui.core import bank_edit, gm
from slakh_gui.core.effects import EFFECT_TYPES
from slakh_gui.core.jobs import Progress
from slakh_gui.core.patches import Bank, BankError, Patch, PatchClass, SoundFontMissing, find_soundfont
from slakh_gui.gui.workers import Job

SETTINGS_FOLDERS = "patches/folders"
ALL_FAMILIES = "All families"
IN_BANK_CHOICES = ["All presets", "Only in bank", "Only not in bank"]
PRESET_COLUMNS = ["SoundFont", "Bank", "Preset", "Name", "Family", "In bank"]
UNCOVERED_BG = QColor("#5a2a26")
ERROR_FG, WARNING_FG = QColor("#ff8a7a"), QColor("#f0c75e")

EFFECT_PRESETS: dict[str, list[dict]] = {
    "Small room": [{"type": "reverb", "room_size": 0.3, "wet_level": 0.15, "dry_level": 0.85}],
    "Glue": [{"type": "compressor", "threshold_db": -18.0, "ratio": 3.0}],
    "Warm": [{"type": "lowshelf", "cutoff_frequency_hz": 200.0, "gain_db": 3.0},
             {"type": "highshelf", "cutoff_frequency_hz": 6000.0, "gain_db": -2.0}],
}


# ---------------------------------------------------------------------------------------------- worker functions


def enumerate_presets(extra_dirs: list[str], progress=None, cancel=None):
    """Every preset of every SoundFont on the search path (plus ``extra_dirs``): (presets, problems)."""
    from slakh_gui.core import soundfont  # noqa: PLC0415

    found, problems = [], []
    fonts = soundfont.find_soundfonts(extra_dirs)
    for i, path in enumerate(fonts):
        if cancel is not None:
            cancel.raise_if_cancelled()
        try:
            found.extend(soundfont.list_presets(path))
        except (OSError, soundfont.SoundFontError) as exc:
            problems.append(f"{path.name}: {exc}")
        if progress is not None:
            progress(Progress("presets", i + 1, len(fonts), path.name))
    return found, problems


def _load(path: Path) -> Bank:
    from slakh_gui.core.patches import load_bank  # noqa: PLC0415

    return load_bank(path)


def _audition(seq: int, label: str, patch: Patch, bank: Bank, with_effects: bool, dirs: list[Path], progress=None,
              cancel=None):
    from slakh_gui.core.audition import audition  # noqa: PLC0415

    return seq, label, audition(patch, bank, with_effects=with_effects, soundfont_dirs=dirs, cancel=cancel)


def _validate(generation: int, bank: Bank, dirs: list[Path], render_check: bool, progress=None, cancel=None):
    """Write ``bank`` to a temporary file (the bytes Save would write) and validate that file."""
    from slakh_gui.core.bank_validate import validate_bank  # noqa: PLC0415

    fd, name = tempfile.mkstemp(prefix="slakh-bank-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(bank_edit.bank_to_yaml(bank))
        hook = None
        if progress is not None:
            def hook(done, total):
                progress(Progress("validate", done, total))
        findings = validate_bank(name, render_check=render_check, soundfont_dirs=dirs, progress=hook, cancel=cancel)
    finally:
        Path(name).unlink(missing_ok=True)
    return generation, render_check, findings


# ---------------------------------------------------------------------------------------------- helpers


def snapshot(bank: Bank) -> Bank:
    """A copy a worker thread may read while the UI thread edits the original (patches are immutable)."""
    classes = {n: PatchClass(c.name, c.inst_class, list(c.programs), list(c.patches)) for n, c in bank.classes.items()}
    return Bank(bank.path, bank.name, bank.description, dict(bank.patches), classes, bank.sha256,
                list(bank.soundfont_dirs))


def parse_programs(text: str) -> list[int]:
    """"32-37, 39" -> [32, 33, 34, 35, 36, 37, 39]; "drums" means 128. BankError on bad text."""
    out: list[int] = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        if part.lower() in ("drums", "drum"):
            out.append(gm.DRUMS)
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise BankError(f"cannot read programs {text!r}: write them like '32-37, 39' (0-based, 128 = drums)")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise BankError(f"range {part!r} runs backwards")
        out.extend(range(lo, hi + 1))
    if not out:
        raise BankError("a class covers at least one program")
    return out


def format_programs(programs: list[int]) -> str:
    """[32, 33, 34, 39] -> "32-34, 39"."""
    out, run = [], []
    for p in sorted(programs):
        if run and p == run[-1] + 1:
            run.append(p)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
        run = [p]
    if run:
        out.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
    return ", ".join(out)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "x"


def patch_id_for(preset, taken) -> str:
    """``<sf-short>.<slug>`` for a preset (``fluidr3_gm.yamaha_grand_piano``), made unique against ``taken``."""
    base = f"{_slug(Path(preset.soundfont).stem)}.{_slug(preset.name or f'b{preset.bank}p{preset.preset}')}"
    pid, n = base, 2
    while pid in taken:
        pid, n = f"{base}_{n}", n + 1
    return pid


def _fmt(value: float, unit: str) -> str:
    return f"{value:.1f} {unit}" if math.isfinite(value) else f"−∞ {unit}"


def _chain_text(effects) -> str:
    return " → ".join(kind for kind, _ in effects)


def _param_default(kind: str, name: str):
    try:
        from slakh_gui.core.effects import make_plugin  # noqa: PLC0415

        value = getattr(make_plugin(kind, {}), name)
        return float(value)
    except Exception:  # noqa: BLE001  (a default is only a hint)
        return None


# ---------------------------------------------------------------------------------------------- preset browser


class PresetModel(QAbstractTableModel):
    """Rows = SoundFont presets; the last column lists the bank's patches that play the preset."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.presets: list = []
        self.families: list[str] = []
        self.in_bank: dict[tuple[str, int, int], list[str]] = {}

    def set_presets(self, presets: list) -> None:
        self.beginResetModel()
        self.presets = list(presets)
        self.families = [p.family for p in self.presets]
        self.endResetModel()

    def set_in_bank(self, in_bank: dict) -> None:
        self.in_bank = in_bank
        if self.presets:
            col = len(PRESET_COLUMNS) - 1
            self.dataChanged.emit(self.index(0, col), self.index(len(self.presets) - 1, col))

    def users(self, row: int) -> list[str]:
        p = self.presets[row]
        return self.in_bank.get((str(Path(p.soundfont)), p.bank, p.preset), [])

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(self.presets)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: N802, B008
        return 0 if parent.isValid() else len(PRESET_COLUMNS)

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):  # noqa: N802
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return PRESET_COLUMNS[section]
        return None

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        p, col = self.presets[index.row()], index.column()
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.EditRole):
            if col == 0:
                return Path(p.soundfont).name if role == Qt.ItemDataRole.EditRole else Path(p.soundfont).stem
            if col == 1:
                return p.bank if role == Qt.ItemDataRole.EditRole else str(p.bank)
            if col == 2:
                return p.preset if role == Qt.ItemDataRole.EditRole else str(p.preset)
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

    def __init__(self, parent=None):
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

    def filterAcceptsRow(self, row, parent) -> bool:  # noqa: N802
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


# ---------------------------------------------------------------------------------------------- dialogs


class ClassDialog(QDialog):
    """Name, GM family and programs of a new class."""

    def __init__(self, parent=None):
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


# ---------------------------------------------------------------------------------------------- the view


class PatchesView(QWidget):
    """Browse presets, audition, edit a bank, validate it live, save it."""

    presetsLoaded = Signal(int)  # number of presets
    bankLoaded = Signal()
    bankSaved = Signal(object)  # Path
    auditionReady = Signal(object)  # core.audition.Audition
    validated = Signal(object)  # list[Finding]
    modifiedChanged = Signal(bool)

    def __init__(self, player=None, player_note: str = "", settings: QSettings | None = None, parent=None,
                 bank_path: Path | None = None, autoload: bool = True):
        super().__init__(parent)
        self.setAccessibleName("Patches: SoundFont presets and the patch bank")
        self.player = player
        self.player_note = player_note
        self.took_player = False  # the shared Player plays an audition (the window gives it its stems back)
        self.settings = settings or QSettings()
        self.bank: Bank | None = None
        self.bank_path: Path | None = None
        self.modified = False
        self.findings: list = []
        self.jobs: set[Job] = set()
        self._generation = 0  # bumped by every edit; validation results of older generations are dropped
        self._checked_generation = -1
        self._validate_job: Job | None = None
        self._render_job: Job | None = None
        self._audition_job: Job | None = None
        self._audition_seq = 0
        self._saved_generation: int | None = None
        self._source = "preset"  # what Audition plays: the browser's preset or the tree's patch
        self.auditions: dict[str, tuple[str, object] | None] = {"A": None, "B": None}
        self.playing_slot: str | None = None
        self._sf_cache: dict[str, str | None] = {}
        self._build()
        self.validate_timer = QTimer(self)
        self.validate_timer.setSingleShot(True)
        self.validate_timer.setInterval(250)
        self.validate_timer.timeout.connect(self.validate_now)
        self._default_bank = Path(bank_path or paths.default_bank())
        self._loaded = False
        if autoload:
            self.ensure_loaded()

    def ensure_loaded(self) -> None:
        """List the SoundFonts and load the default bank, once (a dock calls it when its tab is first shown)."""
        if self._loaded:
            return
        self._loaded = True
        self.refresh_presets()
        if self.bank is None:
            self.load_bank(self._default_bank)

    # ------------------------------------------------------------------------------------------ layout
    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(4)

        top = QHBoxLayout()
        self.bank_label = QLabel("No bank")
        self.bank_label.setStyleSheet("font-weight: bold;")
        self.bank_label.setAccessibleName("Bank file")
        self.counts_label = QLabel("")
        self.counts_label.setAccessibleName("Bank counts")
        self.open_bank_button = QPushButton("Open bank…")
        self.open_bank_button.setAccessibleName("Open a patch bank file")
        self.open_bank_button.clicked.connect(self._open_bank_dialog)
        self.save_button = QPushButton("Save")
        self.save_button.setAccessibleName("Save the patch bank")
        self.save_button.clicked.connect(self.save)
        self.save_as_button = QPushButton("Save As…")
        self.save_as_button.setAccessibleName("Save the patch bank as a new file")
        self.save_as_button.clicked.connect(self._save_as_dialog)
        self.save_label = QLabel("")
        self.save_label.setAccessibleName("Save state")
        top.addWidget(self.bank_label)
        top.addWidget(self.counts_label, 1)
        top.addWidget(self.save_label)
        for b in (self.open_bank_button, self.save_button, self.save_as_button):
            top.addWidget(b)
        lay.addLayout(top)

        aud = QHBoxLayout()
        self.audition_button = QPushButton("▶ Audition")
        self.audition_button.setAccessibleName("Audition the selected preset or patch (Enter)")
        self.audition_button.setToolTip("Render the class-typical phrase and play it (Enter in the tables)")
        self.audition_button.clicked.connect(self.audition_selected)
        self.ab_button = QPushButton("A/B")
        self.ab_button.setAccessibleName("Switch playback between the previous (A) and the last (B) audition")
        self.ab_button.setEnabled(False)
        self.ab_button.clicked.connect(self.toggle_ab)
        self.stop_button = QPushButton("■")
        self.stop_button.setAccessibleName("Stop the audition")
        self.stop_button.setFixedWidth(32)
        self.stop_button.clicked.connect(self.stop_audition)
        self.effects_check = QCheckBox("with effects")
        self.effects_check.setChecked(True)
        self.effects_check.setAccessibleName("Audition through the patch's effect chain")
        self.audition_label = QLabel("Select a preset or a patch and press Audition.")
        self.audition_label.setAccessibleName("Audition result")
        self.audition_label.setTextFormat(Qt.TextFormat.RichText)
        for w in (self.audition_button, self.ab_button, self.stop_button, self.effects_check):
            aud.addWidget(w)
        aud.addWidget(self.audition_label, 1)
        lay.addLayout(aud)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self._build_browser())
        self.splitter.addWidget(self._build_bank_pane())
        self.splitter.addWidget(self._build_side_tabs())
        self.splitter.setStretchFactor(0, 5)
        self.splitter.setStretchFactor(1, 4)
        self.splitter.setStretchFactor(2, 4)
        self.splitter.setSizes([620, 540, 380])
        lay.addWidget(self.splitter, 1)
        QShortcut(QKeySequence("Ctrl+Shift+A"), self, self.audition_selected)

    def _build_browser(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        v.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setPlaceholderText("Filter presets: name, SoundFont, patch id…")
        self.filter_edit.setClearButtonEnabled(True)
        self.filter_edit.setAccessibleName("Filter presets by text")
        self.family_combo = QComboBox()
        self.family_combo.addItems([ALL_FAMILIES, *gm.FAMILIES])
        self.family_combo.setAccessibleName("Filter presets by GM family")
        self.inbank_combo = QComboBox()
        self.inbank_combo.addItems(IN_BANK_CHOICES)
        self.inbank_combo.setAccessibleName("Filter presets by use in the bank")
        self.add_folder_button = QPushButton("Add folder…")
        self.add_folder_button.setAccessibleName("Add a SoundFont folder to the browser")
        self.add_folder_button.clicked.connect(self._add_folder_dialog)
        row.addWidget(self.filter_edit, 1)
        row.addWidget(self.family_combo)
        row.addWidget(self.inbank_combo)
        row.addWidget(self.add_folder_button)
        v.addLayout(row)
        self.preset_model = PresetModel(self)
        self.preset_proxy = PresetFilter(self)
        self.preset_proxy.setSourceModel(self.preset_model)
        self.preset_table = QTableView()
        self.preset_table.setModel(self.preset_proxy)
        self.preset_table.setAccessibleName("SoundFont presets")
        self.preset_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.preset_table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.preset_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preset_table.setSortingEnabled(True)
        self.preset_table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)
        self.preset_table.setAlternatingRowColors(True)
        self.preset_table.verticalHeader().hide()
        self.preset_table.verticalHeader().setDefaultSectionSize(22)
        hh = self.preset_table.horizontalHeader()
        for col, width in enumerate((112, 38, 46, 160, 96, 130)):
            hh.resizeSection(col, width)
        hh.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        self.preset_table.activated.connect(self._preset_activated)
        self.preset_table.selectionModel().currentRowChanged.connect(self._preset_current)
        v.addWidget(self.preset_table, 1)
        row2 = QHBoxLayout()
        self.browser_label = QLabel("Listing SoundFonts…")
        self.browser_label.setAccessibleName("Preset count")
        self.add_to_class_button = QPushButton("Add to class →")
        self.add_to_class_button.setAccessibleName("Add the selected preset as a new patch to the selected class")
        self.add_to_class_button.clicked.connect(self.add_selected_to_class)
        row2.addWidget(self.browser_label, 1)
        row2.addWidget(self.add_to_class_button)
        v.addLayout(row2)
        self.filter_edit.textChanged.connect(self._apply_filters)
        self.family_combo.currentIndexChanged.connect(self._apply_filters)
        self.inbank_combo.currentIndexChanged.connect(self._apply_filters)
        self.preset_table.installEventFilter(self)
        return w

    def _build_bank_pane(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        v.setContentsMargins(0, 0, 0, 0)
        self.tree = QTreeWidget()
        self.tree.setAccessibleName("Patch classes and their patches")
        self.tree.setHeaderLabels(["Class / patch", "GM family / SoundFont", "Programs / preset", "Effects"])
        self.tree.setAlternatingRowColors(True)
        self.tree.setUniformRowHeights(True)
        self.tree.header().resizeSection(0, 232)
        self.tree.header().resizeSection(1, 112)
        self.tree.header().resizeSection(2, 126)
        self.tree.currentItemChanged.connect(self._tree_current)
        self.tree.itemActivated.connect(self._tree_activated)
        self.tree.installEventFilter(self)
        v.addWidget(self.tree, 1)
        r1 = QHBoxLayout()
        self.new_class_button = QPushButton("New class…")
        self.new_class_button.setAccessibleName("Add a new patch class")
        self.new_class_button.clicked.connect(self._new_class_dialog)
        self.delete_class_button = QPushButton("Delete class")
        self.delete_class_button.setAccessibleName("Delete the selected class")
        self.delete_class_button.clicked.connect(self._delete_class_clicked)
        self.edit_programs_button = QPushButton("Programs…")
        self.edit_programs_button.setAccessibleName("Edit the programs the selected class covers")
        self.edit_programs_button.clicked.connect(self._edit_programs_dialog)
        self.remove_from_class_button = QPushButton("Remove from class")
        self.remove_from_class_button.setAccessibleName("Remove the selected patch from its class")
        self.remove_from_class_button.clicked.connect(self._remove_clicked)
        self.rename_patch_button = QPushButton("Rename patch…")
        self.rename_patch_button.setAccessibleName("Give the selected patch a new id")
        self.rename_patch_button.clicked.connect(self._rename_dialog)
        self.move_patch_button = QPushButton("Move to class…")
        self.move_patch_button.setAccessibleName("Move the selected patch to another class")
        self.move_patch_button.clicked.connect(self._move_dialog)
        for b in (self.new_class_button, self.delete_class_button, self.edit_programs_button,
                  self.remove_from_class_button, self.move_patch_button, self.rename_patch_button):
            r1.addWidget(b)
        r1.addStretch(1)
        v.addLayout(r1)
        self.edit_note = QLabel("")
        self.edit_note.setWordWrap(True)
        self.edit_note.setAccessibleName("Last edit message")
        self.edit_note.hide()
        v.addWidget(self.edit_note)
        return w

    def _build_side_tabs(self) -> QWidget:
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Effects, findings and coverage")
        self.tabs.addTab(self._build_effects(), "Effects")
        self.tabs.addTab(self._build_findings(), "Findings")
        self.coverage_table = QTableWidget(gm.DRUMS + 1, 4)
        self.coverage_table.setAccessibleName("Program coverage")
        self.coverage_table.setHorizontalHeaderLabels(["Prog", "GM program", "Class(es)", "Patches"])
        self.coverage_table.verticalHeader().hide()
        self.coverage_table.verticalHeader().setDefaultSectionSize(22)
        self.coverage_table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.coverage_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        ch = self.coverage_table.horizontalHeader()
        ch.resizeSection(0, 44)
        ch.resizeSection(1, 150)
        ch.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        ch.resizeSection(3, 60)
        self.tabs.addTab(self.coverage_table, "Coverage")
        return self.tabs

    def _build_effects(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        v.setContentsMargins(4, 4, 4, 4)
        self.fx_title = QLabel("Select a patch in the bank to edit its effect chain.")
        self.fx_title.setWordWrap(True)
        v.addWidget(self.fx_title)
        self.fx_list = QListWidget()
        self.fx_list.setAccessibleName("Effect chain of the selected patch, in order")
        self.fx_list.setMaximumHeight(110)
        self.fx_list.setWordWrap(True)
        self.fx_list.currentRowChanged.connect(self._fx_row_changed)
        v.addWidget(self.fx_list)
        row = QHBoxLayout()
        self.fx_add_button = QPushButton("+")
        self.fx_add_button.setAccessibleName("Add an effect")
        self.fx_remove_button = QPushButton("−")
        self.fx_remove_button.setAccessibleName("Remove the selected effect")
        self.fx_up_button = QPushButton("↑")
        self.fx_up_button.setAccessibleName("Move the selected effect up")
        self.fx_down_button = QPushButton("↓")
        self.fx_down_button.setAccessibleName("Move the selected effect down")
        for b, slot in ((self.fx_add_button, self._fx_add), (self.fx_remove_button, self._fx_remove),
                        (self.fx_up_button, self._fx_up), (self.fx_down_button, self._fx_down)):
            b.setFixedWidth(34)
            b.clicked.connect(slot)
            row.addWidget(b)
        row.addStretch(1)
        self.fx_preset_combo = QComboBox()
        self.fx_preset_combo.addItems(["Chain preset…", *EFFECT_PRESETS, "No effects"])
        self.fx_preset_combo.setAccessibleName("Replace the chain with a preset")
        self.fx_preset_combo.activated.connect(self._fx_preset_chosen)
        row.addWidget(self.fx_preset_combo)
        v.addLayout(row)
        form = QHBoxLayout()
        form.addWidget(QLabel("Type"))
        self.fx_type_combo = QComboBox()
        self.fx_type_combo.addItems(list(EFFECT_TYPES))
        self.fx_type_combo.setAccessibleName("Type of the selected effect")
        self.fx_type_combo.activated.connect(self._fx_type_chosen)
        form.addWidget(self.fx_type_combo, 1)
        v.addLayout(form)
        self.fx_params = QTableWidget(0, 3)
        self.fx_params.setAccessibleName("Parameters of the selected effect (empty value: pedalboard's default)")
        self.fx_params.setHorizontalHeaderLabels(["Parameter", "Value", "Default · range"])
        self.fx_params.verticalHeader().hide()
        self.fx_params.verticalHeader().setDefaultSectionSize(22)
        self.fx_params.horizontalHeader().resizeSection(0, 130)
        self.fx_params.horizontalHeader().resizeSection(1, 80)
        self.fx_params.horizontalHeader().setStretchLastSection(True)
        self.fx_params.itemChanged.connect(self._fx_param_edited)
        v.addWidget(self.fx_params, 1)
        self.fx_note = QLabel("")
        self.fx_note.setWordWrap(True)
        v.addWidget(self.fx_note)
        self._fx_patch: str | None = None
        self._fx_chain: list[list] = []  # [[kind, {param: value}], ...]
        self._set_fx_enabled(False)
        return w

    def _build_findings(self) -> QWidget:
        w = QWidget()
        v = QVBoxLayout(w)
        v.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.findings_label = QLabel("Not checked yet")
        self.findings_label.setAccessibleName("Validation summary")
        self.render_check_button = QPushButton("Validate with render check")
        self.render_check_button.setAccessibleName("Validate the bank, rendering every patch (slow)")
        self.render_check_button.clicked.connect(self._render_check_clicked)
        row.addWidget(self.findings_label, 1)
        row.addWidget(self.render_check_button)
        v.addLayout(row)
        self.findings_list = QTreeWidget()
        self.findings_list.setAccessibleName("Validation findings")
        self.findings_list.setHeaderLabels(["", "Line", "Key", "Message"])
        self.findings_list.setRootIsDecorated(False)
        self.findings_list.setAlternatingRowColors(True)
        self.findings_list.setWordWrap(True)
        fh = self.findings_list.header()
        fh.resizeSection(0, 28)
        fh.resizeSection(1, 48)
        fh.resizeSection(2, 170)
        self.findings_list.itemActivated.connect(self._finding_activated)
        v.addWidget(self.findings_list, 1)
        return w

    # ------------------------------------------------------------------------------------------ jobs
    def _start(self, job: Job, on_result, on_error=None) -> Job:
        self.jobs.add(job)
        job.signals.result.connect(on_result)
        job.signals.error.connect(on_error or self._job_error)
        job.signals.finished.connect(self._job_finished)
        return job.start()

    def _set_note(self, html: str) -> None:
        self.edit_note.setText(html)
        self.edit_note.setVisible(bool(html))

    def _job_finished(self) -> None:
        self.jobs = {j for j in self.jobs if not j.done}

    def _job_error(self, exc: Exception) -> None:
        self._set_note(f"<span style='color:#ff8a7a'>{exc}</span>")

    def cancel_jobs(self) -> None:
        for job in list(self.jobs):
            job.cancel()

    def extra_dirs(self) -> list[str]:
        return [str(p) for p in self.settings.value(SETTINGS_FOLDERS, [], type=list) if p]

    # ------------------------------------------------------------------------------------------ browser
    def refresh_presets(self) -> Job:
        self.browser_label.setText("Listing SoundFonts…")
        return self._start(Job(enumerate_presets, self.extra_dirs()), self._presets_ready)

    def _presets_ready(self, result) -> None:
        presets, problems = result
        self.preset_model.set_presets(presets)
        self._update_in_bank()
        self._update_browser_label()
        if problems:
            self.browser_label.setToolTip("\n".join(problems))
        self.presetsLoaded.emit(len(presets))

    def _update_browser_label(self) -> None:
        total = self.preset_model.rowCount()
        fonts = len({str(p.soundfont) for p in self.preset_model.presets})
        shown = self.preset_proxy.rowCount()
        self.browser_label.setText(f"{shown} of {total} presets in {fonts} SoundFonts")

    def _apply_filters(self) -> None:
        fam = self.family_combo.currentText()
        self.preset_proxy.set_filters(self.filter_edit.text(), "" if fam == ALL_FAMILIES else fam,
                                      self.inbank_combo.currentIndex())
        self._update_browser_label()

    def add_folder(self, folder: str | Path) -> Job:
        folders = self.extra_dirs()
        if str(folder) not in folders:
            folders.append(str(folder))
        self.settings.setValue(SETTINGS_FOLDERS, folders)
        self._sf_cache.clear()
        return self.refresh_presets()

    def _add_folder_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Add a SoundFont folder", str(Path.home()))
        if folder:
            self.add_folder(folder)

    def selected_preset(self):
        idx = self.preset_table.currentIndex()
        if not idx.isValid():
            return None
        return self.preset_model.presets[self.preset_proxy.mapToSource(idx).row()]

    def select_preset(self, soundfont_name: str, bank: int, preset: int) -> bool:
        """Select a browser row (scrolls to it); False if it is filtered out or unknown."""
        for row, p in enumerate(self.preset_model.presets):
            if Path(p.soundfont).name == soundfont_name and p.bank == bank and p.preset == preset:
                idx = self.preset_proxy.mapFromSource(self.preset_model.index(row, 0))
                if not idx.isValid():
                    return False
                self.preset_table.setCurrentIndex(idx)
                self.preset_table.scrollTo(idx, QAbstractItemView.ScrollHint.PositionAtCenter)
                self._source = "preset"
                return True
        return False

    def _preset_current(self, *_args) -> None:
        self._source = "preset"

    def _preset_activated(self, _idx) -> None:
        self._source = "preset"
        self.audition_selected()

    def _resolved(self, name: str) -> str | None:
        if name not in self._sf_cache:
            dirs = [Path(d) for d in self.extra_dirs()] + list(self.bank.soundfont_dirs)
            try:
                self._sf_cache[name] = str(find_soundfont(name, dirs).resolve())
            except (SoundFontMissing, OSError):
                self._sf_cache[name] = None
        return self._sf_cache[name]

    def _update_in_bank(self) -> None:
        users: dict[tuple[str, int, int], list[str]] = {}
        if self.bank is not None:
            for pid, p in self.bank.patches.items():
                real = self._resolved(p.soundfont)
                if real is not None:
                    users.setdefault((real, p.bank, p.preset), []).append(pid)
        if self.preset_proxy.in_bank_mode:
            self.preset_proxy.begin_change()
        self.preset_model.set_in_bank(users)
        if self.preset_proxy.in_bank_mode:
            self.preset_proxy.end_change()
            self._update_browser_label()

    # ------------------------------------------------------------------------------------------ bank
    def load_bank(self, path: str | Path) -> Job:
        self.bank_label.setText(f"Loading {Path(path).name} …")
        return self._start(Job(_load, Path(path), with_hooks=False), self._bank_ready, self._bank_failed)

    def _bank_failed(self, exc: Exception) -> None:
        self.bank_label.setText("No bank")
        self._set_note(f"<span style='color:#ff8a7a'>Could not open the bank: {exc}</span>")

    def _bank_ready(self, bank: Bank) -> None:
        self.set_bank(bank)
        self.bankLoaded.emit()

    def set_bank(self, bank: Bank) -> None:
        self.bank, self.bank_path = bank, bank.path
        self._sf_cache.clear()
        self.auditions = {"A": None, "B": None}
        self.ab_button.setEnabled(False)
        self._set_modified(False)
        self.save_label.setText("")
        self._set_note("")
        self._refresh_bank_views()
        self.tree.collapseAll()
        self._load_fx(None)
        self._generation += 1
        self.validate_now()

    def _set_modified(self, modified: bool) -> None:
        self.modified = modified
        name = self.bank_path.name if self.bank_path else "(unsaved bank)"
        bank_name = f" '{self.bank.name}'" if self.bank is not None else ""
        self.bank_label.setText(f"{name}{bank_name}{' *' if modified else ''}")
        self.bank_label.setToolTip(str(self.bank_path or ""))
        self.modifiedChanged.emit(modified)

    def mark_modified(self, note: str = "") -> None:
        """After every edit: views refreshed, the bank marked modified, a validation queued."""
        self._generation += 1
        self._set_modified(True)
        self.save_label.setText("")
        if note:
            self._set_note(note)
        self._refresh_bank_views()
        self.validate_timer.start()

    def _edit_failed(self, exc: Exception) -> None:
        self._set_note(f"<span style='color:#ff8a7a'>{exc}</span>")

    def _refresh_bank_views(self) -> None:
        bank = self.bank
        if bank is None:
            return
        in_classes = {m for c in bank.classes.values() for m in c.patches}
        covered = sum(1 for p in range(gm.DRUMS + 1) if bank.covers(p))
        empty = sum(1 for c in bank.classes.values() if not c.patches)
        loose = len(set(bank.patches) - in_classes)
        text = (f"{bank.class_count()} classes, {bank.patch_count()} patches ({len(in_classes)} unique) · "
                f"{covered}/{gm.DRUMS + 1} programs covered")
        extras = [f"{empty} empty class{'es' if empty != 1 else ''}"] if empty else []
        extras += [f"{loose} patch{'es' if loose != 1 else ''} in no class"] if loose else []
        self.counts_label.setText(text + (f" · {', '.join(extras)}" if extras else ""))
        self._rebuild_tree()
        self._update_coverage()
        self._update_in_bank()

    def _rebuild_tree(self) -> None:
        bank = self.bank
        expanded = {self.tree.topLevelItem(i).data(0, Qt.ItemDataRole.UserRole)[1]
                    for i in range(self.tree.topLevelItemCount()) if self.tree.topLevelItem(i).isExpanded()}
        cur = self.tree.currentItem()
        current = cur.data(0, Qt.ItemDataRole.UserRole) if cur is not None else None
        self.tree.blockSignals(True)
        self.tree.clear()
        select = None
        for cname, cls in bank.classes.items():
            top = QTreeWidgetItem([f"{cname}  ({len(cls.patches)})", cls.inst_class, format_programs(cls.programs), ""])
            top.setData(0, Qt.ItemDataRole.UserRole, ("class", cname, cname))
            top.setToolTip(2, ", ".join(f"{p} {gm.program_name(p)}" for p in cls.programs))
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            if not cls.patches:
                top.setForeground(0, QBrush(WARNING_FG))
                top.setToolTip(0, "class has no patches: tracks of its programs are not rendered")
            self.tree.addTopLevelItem(top)
            if current == ("class", cname, cname):
                select = top
            for pid in cls.patches:
                p = bank.patches[pid]
                child = QTreeWidgetItem([pid, Path(p.soundfont).name, f"{p.bank}:{p.preset} {p.name}".strip(),
                                         _chain_text(p.effects)])
                child.setData(0, Qt.ItemDataRole.UserRole, ("patch", pid, cname))
                child.setToolTip(0, pid)
                top.addChild(child)
                if current == ("patch", pid, cname):
                    select = child
            top.setExpanded(cname in expanded)
        self.tree.blockSignals(False)
        if select is not None:
            self.tree.setCurrentItem(select)

    def _update_coverage(self) -> None:
        t = self.coverage_table
        for program, names, count in bank_edit.coverage(self.bank):
            cells = [str(program), gm.program_name(program), ", ".join(names) or "— not covered —", str(count)]
            for col, text in enumerate(cells):
                item = t.item(program, col)
                if item is None:
                    item = QTableWidgetItem()
                    t.setItem(program, col, item)
                item.setText(text)
                item.setBackground(QBrush(UNCOVERED_BG) if count == 0 else QBrush())
                if col in (0, 3):
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            t.item(program, 1).setToolTip(gm.family(program))

    def _tree_data(self):
        item = self.tree.currentItem()
        return item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None

    def selected_class(self) -> str | None:
        d = self._tree_data()
        return d[2] if d else None

    def selected_patch(self) -> str | None:
        d = self._tree_data()
        return d[1] if d and d[0] == "patch" else None

    def select_class(self, name: str) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            item = self.tree.topLevelItem(i)
            if item.data(0, Qt.ItemDataRole.UserRole)[1] == name:
                self.tree.setCurrentItem(item)
                return True
        return False

    def select_patch(self, pid: str, class_name: str | None = None) -> bool:
        for i in range(self.tree.topLevelItemCount()):
            top = self.tree.topLevelItem(i)
            for j in range(top.childCount()):
                d = top.child(j).data(0, Qt.ItemDataRole.UserRole)
                if d[1] == pid and (class_name is None or d[2] == class_name):
                    top.setExpanded(True)
                    self.tree.setCurrentItem(top.child(j))
                    self.tree.scrollToItem(top.child(j))
                    return True
        return False

    def _tree_current(self, item, _prev) -> None:
        self._source = "patch"
        d = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
        self._load_fx(d[1] if d and d[0] == "patch" else None)
        is_patch = bool(d and d[0] == "patch")
        self.remove_from_class_button.setEnabled(is_patch)
        self.rename_patch_button.setEnabled(is_patch)
        self.move_patch_button.setEnabled(is_patch)

    def _tree_activated(self, item, _col) -> None:
        d = item.data(0, Qt.ItemDataRole.UserRole)
        if d and d[0] == "patch":
            self._source = "patch"
            self.audition_selected()

    # ------------------------------------------------------------------------------------------ edits
    def add_preset_to_class(self, preset, class_name: str) -> str | None:
        """Add ``preset`` as a new patch (id ``<sf-short>.<slug>``) to ``class_name``; the new id or None."""
        if self.bank is None:
            return None
        pid = patch_id_for(preset, self.bank.patches)
        path = Path(preset.soundfont)
        soundfont = path.name if self._resolved(path.name) == str(path.resolve()) else str(path)
        drum = preset.family == gm.family(gm.DRUMS)
        try:
            bank_edit.add_patch(self.bank, pid, soundfont, preset.bank, preset.preset, preset.name, drum=drum)
            try:
                bank_edit.assign(self.bank, pid, class_name)
            except BankError:
                bank_edit.remove_patch(self.bank, pid)
                raise
        except BankError as exc:
            self._edit_failed(exc)
            return None
        self.mark_modified(f"Added {pid} to {class_name}")
        self.select_patch(pid, class_name)
        return pid

    def add_selected_to_class(self) -> str | None:
        preset, cname = self.selected_preset(), self.selected_class()
        if preset is None or cname is None:
            self._edit_failed(BankError("Select a preset in the browser and a class in the bank first."))
            return None
        return self.add_preset_to_class(preset, cname)

    def remove_from_class(self, pid: str, class_name: str) -> bool:
        """Take the patch out of the class; a patch left in no class is removed from the bank too."""
        try:
            bank_edit.unassign(self.bank, pid, class_name)
            if not any(pid in c.patches for c in self.bank.classes.values()):
                bank_edit.remove_patch(self.bank, pid)
        except BankError as exc:
            self._edit_failed(exc)
            return False
        self.mark_modified(f"Removed {pid} from {class_name}")
        self.select_class(class_name)
        return True

    def _remove_clicked(self) -> None:
        d = self._tree_data()
        if d and d[0] == "patch":
            self.remove_from_class(d[1], d[2])

    def move_patch(self, pid: str, from_class: str, to_class: str) -> bool:
        """Take the patch out of one class and put it into another (both or neither)."""
        try:
            bank_edit.assign(self.bank, pid, to_class)
            try:
                bank_edit.unassign(self.bank, pid, from_class)
            except BankError:
                bank_edit.unassign(self.bank, pid, to_class)
                raise
        except BankError as exc:
            self._edit_failed(exc)
            return False
        self.mark_modified(f"Moved {pid} from {from_class} to {to_class}")
        self.select_patch(pid, to_class)
        return True

    def _move_dialog(self) -> None:
        d = self._tree_data()
        if not d or d[0] != "patch":
            return
        names = [n for n in self.bank.classes if n != d[2]]
        target, ok = QInputDialog.getItem(self, "Move patch", f"Move {d[1]} from {d[2]} to:", names, 0, False)
        if ok and target:
            self.move_patch(d[1], d[2], target)

    def rename_patch(self, old: str, new: str) -> bool:
        try:
            bank_edit.rename_patch(self.bank, old, new.strip())
        except BankError as exc:
            self._edit_failed(exc)
            return False
        self.mark_modified(f"Renamed {old} to {new.strip()}")
        self.select_patch(new.strip())
        return True

    def _rename_dialog(self) -> None:
        pid = self.selected_patch()
        if pid is None:
            return
        new, ok = QInputDialog.getText(self, "Rename patch", "New patch id ([a-z0-9_.-]):", text=pid)
        if ok and new and new != pid:
            self.rename_patch(pid, new)

    def add_class(self, name: str, inst_class: str, programs: str | list[int]) -> bool:
        try:
            progs = parse_programs(programs) if isinstance(programs, str) else list(programs)
            bank_edit.add_class(self.bank, name.strip(), inst_class, progs)
        except BankError as exc:
            self._edit_failed(exc)
            return False
        self.mark_modified(f"Added class {name.strip()}")
        self.select_class(name.strip())
        return True

    def _new_class_dialog(self) -> None:
        if self.bank is None:
            return
        dlg = ClassDialog(self)
        if dlg.exec() == QDialog.DialogCode.Accepted:
            name = dlg.name_edit.text().strip() or dlg.family_combo.currentText()
            self.add_class(name, dlg.family_combo.currentText(), dlg.programs_edit.text())

    def delete_class(self, name: str) -> bool:
        try:
            bank_edit.remove_class(self.bank, name)
        except BankError as exc:
            self._edit_failed(exc)
            return False
        self.mark_modified(f"Deleted class {name} (its patches stay in the bank)")
        return True

    def _delete_class_clicked(self) -> None:
        name = self.selected_class()
        if name is None:
            return
        n = len(self.bank.classes[name].patches)
        if n and QMessageBox.question(self, "Delete class", f"Delete class {name!r} and its list of {n} patches?") \
                != QMessageBox.StandardButton.Yes:
            return
        self.delete_class(name)

    def set_programs(self, class_name: str, programs: str | list[int]) -> bool:
        try:
            progs = parse_programs(programs) if isinstance(programs, str) else list(programs)
            bank_edit.set_programs(self.bank, class_name, progs)
        except BankError as exc:
            self._edit_failed(exc)
            return False
        self.mark_modified(f"{class_name} now covers {format_programs(progs)}")
        return True

    def _edit_programs_dialog(self) -> None:
        name = self.selected_class()
        if name is None:
            return
        text, ok = QInputDialog.getText(self, "Edit programs", f"Programs of {name} (0-based, 128 = drums):",
                                        text=format_programs(self.bank.classes[name].programs))
        if ok:
            self.set_programs(name, text)

    # ------------------------------------------------------------------------------------------ effects
    def _set_fx_enabled(self, on: bool) -> None:
        for w in (self.fx_list, self.fx_add_button, self.fx_preset_combo):
            w.setEnabled(on)
        has = on and self.fx_list.currentRow() >= 0
        for w in (self.fx_remove_button, self.fx_up_button, self.fx_down_button, self.fx_type_combo,
                  self.fx_params):
            w.setEnabled(has)

    def _load_fx(self, pid: str | None, row: int = 0) -> None:
        self._fx_patch = pid if self.bank is not None and pid in self.bank.patches else None
        self._fx_chain = ([[k, dict(p)] for k, p in self.bank.patches[pid].effects] if self._fx_patch else [])
        self.fx_title.setText(f"Effect chain of <b>{pid}</b>" if self._fx_patch
                              else "Select a patch in the bank to edit its effect chain.")
        self.fx_note.setText("")
        self._fill_fx_list(row)

    def _fill_fx_list(self, row: int = 0) -> None:
        self.fx_list.blockSignals(True)
        self.fx_list.clear()
        for i, (kind, params) in enumerate(self._fx_chain):
            shown = ", ".join(f"{k} {v:g}" for k, v in bank_edit._ordered_params(kind, params))
            self.fx_list.addItem(f"{i + 1}. {kind}" + (f"  ({shown})" if shown else ""))
        self.fx_list.blockSignals(False)
        if self._fx_chain:
            self.fx_list.setCurrentRow(max(0, min(row, len(self._fx_chain) - 1)))
        self._fx_row_changed(self.fx_list.currentRow())

    def _fx_row_changed(self, row: int) -> None:
        self._set_fx_enabled(self._fx_patch is not None)
        self.fx_params.blockSignals(True)
        self.fx_params.setRowCount(0)
        if 0 <= row < len(self._fx_chain):
            from slakh_gui.core.bank_validate import PARAM_RANGES  # noqa: PLC0415

            kind, params = self._fx_chain[row]
            self.fx_type_combo.setCurrentText(kind)
            names = [n for n in bank_edit.PARAM_ORDER.get(kind, []) if n != "freeze_mode"]
            names += [n for n in params if n not in names]
            self.fx_params.setRowCount(len(names))
            for r, name in enumerate(names):
                key = QTableWidgetItem(name)
                key.setFlags(Qt.ItemFlag.ItemIsEnabled)
                value = QTableWidgetItem(f"{params[name]:g}" if name in params else "")
                value.setData(Qt.ItemDataRole.UserRole, name)
                default = _param_default(kind, name)
                lo, hi = PARAM_RANGES.get(kind, {}).get(name, (None, None))
                rng = f"{lo:g}..{'Nyquist' if hi == 'nyquist' else ('∞' if hi is None else f'{hi:g}')}" \
                    if lo is not None else ""
                hint = QTableWidgetItem(" · ".join(x for x in (f"{default:g}" if default is not None else "", rng)
                                                   if x))
                hint.setFlags(Qt.ItemFlag.ItemIsEnabled)
                hint.setForeground(QBrush(QColor("#8a8d93")))
                for c, it in enumerate((key, value, hint)):
                    self.fx_params.setItem(r, c, it)
        self.fx_params.blockSignals(False)

    def set_effect_chain(self, pid: str, chain: list) -> bool:
        """Replace a patch's chain (``[{"type": ..., param: value}]`` or ``[(type, params)]``)."""
        try:
            bank_edit.set_effects(self.bank, pid, chain)
        except BankError as exc:
            self.fx_note.setText(f"<span style='color:#ff8a7a'>{exc}</span>")
            return False
        self.mark_modified(f"Effects of {pid}: {_chain_text(self.bank.patches[pid].effects) or 'none'}")
        if pid == self._fx_patch:
            self._load_fx(pid, self.fx_list.currentRow())
        return True

    def apply_effect_preset(self, pid: str, name: str) -> bool:
        return self.set_effect_chain(pid, [dict(fx) for fx in EFFECT_PRESETS.get(name, [])])

    def _commit_fx(self, row: int) -> None:
        pid = self._fx_patch
        chain = [(k, dict(p)) for k, p in self._fx_chain]
        if pid is not None and self.set_effect_chain(pid, chain):
            self._load_fx(pid, row)
        elif pid is not None:  # refused: show the bank's chain again, keep the message
            note = self.fx_note.text()
            self._load_fx(pid, row)
            self.fx_note.setText(note)

    def _fx_add(self) -> None:
        self._fx_chain.append(["reverb", {}])
        self._commit_fx(len(self._fx_chain) - 1)

    def _fx_remove(self) -> None:
        row = self.fx_list.currentRow()
        if 0 <= row < len(self._fx_chain):
            del self._fx_chain[row]
            self._commit_fx(row)

    def _fx_move(self, delta: int) -> None:
        row = self.fx_list.currentRow()
        new = row + delta
        if 0 <= row < len(self._fx_chain) and 0 <= new < len(self._fx_chain):
            self._fx_chain[row], self._fx_chain[new] = self._fx_chain[new], self._fx_chain[row]
            self._commit_fx(new)

    def _fx_up(self) -> None:
        self._fx_move(-1)

    def _fx_down(self) -> None:
        self._fx_move(1)

    def _fx_type_chosen(self, _index: int) -> None:
        row = self.fx_list.currentRow()
        kind = self.fx_type_combo.currentText()
        if 0 <= row < len(self._fx_chain) and self._fx_chain[row][0] != kind:
            self._fx_chain[row] = [kind, {}]
            self._commit_fx(row)

    def _fx_param_edited(self, item: QTableWidgetItem) -> None:
        row = self.fx_list.currentRow()
        name = item.data(Qt.ItemDataRole.UserRole)
        if name is None or not 0 <= row < len(self._fx_chain):
            return
        text = item.text().strip().replace("−", "-")
        params = self._fx_chain[row][1]
        if not text:
            params.pop(name, None)
        else:
            try:
                value = float(text)
                if not math.isfinite(value):
                    raise ValueError
            except ValueError:
                self.fx_note.setText(f"<span style='color:#ff8a7a'>{name}: {text!r} is not a number</span>")
                self._fill_fx_list(row)
                return
            params[name] = value
        self._commit_fx(row)

    def _fx_preset_chosen(self, index: int) -> None:
        name = self.fx_preset_combo.itemText(index)
        self.fx_preset_combo.setCurrentIndex(0)
        if self._fx_patch is None or index == 0:
            return
        self.set_effect_chain(self._fx_patch, [] if name == "No effects" else EFFECT_PRESETS[name])

    # ------------------------------------------------------------------------------------------ validation
    def validate_now(self) -> Job | None:
        """Static validation (no renders) of the in-memory bank; a newer edit restarts it when it is done."""
        if self.bank is None:
            return None
        if self._validate_job is not None:  # one at a time; the result handler starts the next one if stale
            return self._validate_job
        self.findings_label.setText("Checking …")
        job = Job(_validate, self._generation, snapshot(self.bank), self.extra_dirs(), False, with_hooks=False)
        job.signals.finished.connect(self._validate_finished)
        self._validate_job = job
        return self._start(job, self._validated)

    def validation_current(self) -> bool:
        """The findings shown are those of the bank as it is now."""
        return (self._checked_generation >= self._generation and self._validate_job is None
                and not self.validate_timer.isActive())

    def _validate_finished(self) -> None:
        self._validate_job = None
        if self._checked_generation < self._generation and not self.validate_timer.isActive():
            self.validate_now()

    def _validated(self, result) -> None:
        generation, _render, findings = result
        if generation < self._generation:
            return  # stale: a newer validation follows
        self._checked_generation = generation
        self._show_findings(findings)

    def _show_findings(self, findings: list) -> None:
        self.findings = list(findings)
        errors = sum(1 for f in findings if f.severity == "error")
        warnings = len(findings) - errors
        self.findings_list.clear()
        style = self.style()
        err_icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
        warn_icon = style.standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning)
        for f in findings:
            item = QTreeWidgetItem(["", str(f.line or ""), f.key, f.message])
            item.setIcon(0, err_icon if f.severity == "error" else warn_icon)
            item.setToolTip(0, f.severity)
            item.setToolTip(3, f.message)
            item.setForeground(3, QBrush(ERROR_FG if f.severity == "error" else WARNING_FG))
            item.setData(0, Qt.ItemDataRole.UserRole, f.key)
            self.findings_list.addTopLevelItem(item)
        summary = f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
        self.findings_label.setText(summary if findings else "No findings")
        self.tabs.setTabText(1, f"Findings ({len(findings)})" if findings else "Findings")
        if self._saved_generation is not None and self._checked_generation >= self._saved_generation:
            self._flag_saved()
        self.validated.emit(self.findings)

    def _finding_activated(self, item, _col) -> None:
        parts = str(item.data(0, Qt.ItemDataRole.UserRole) or "").split("/")
        if len(parts) >= 2 and parts[0] == "classes":
            self.select_class(parts[1])
        elif len(parts) >= 2 and parts[0] == "patches":
            self.select_patch(parts[1])

    def validate_with_render(self) -> Job | None:
        if self.bank is None or self._render_job is not None:
            return None
        job = Job(_validate, self._generation, snapshot(self.bank), self.extra_dirs(), True)
        job.signals.progress.connect(self._render_progress)
        job.signals.cancelled.connect(self._render_cancelled)
        job.signals.finished.connect(self._render_finished)
        self._render_job = job
        self.render_check_button.setText("Cancel render check")
        self.findings_label.setText("Rendering every patch …")
        return self._start(job, self._render_validated)

    def _render_check_clicked(self) -> None:
        if self._render_job is not None:
            self._render_job.cancel()
        else:
            self.validate_with_render()

    def _render_progress(self, p: Progress) -> None:
        self.findings_label.setText(f"Rendering patch {int(p.done)} of {int(p.total)} …")

    def _render_cancelled(self) -> None:
        self.findings_label.setText("Render check cancelled")

    def _render_finished(self) -> None:
        self._render_job = None
        self.render_check_button.setText("Validate with render check")

    def _render_validated(self, result) -> None:
        generation, _render, findings = result
        if generation < self._generation:
            self.findings_label.setText("The bank changed during the render check: run it again")
            return
        self._show_findings(findings)
        self.findings_label.setText(self.findings_label.text() + " (with render check)")

    # ------------------------------------------------------------------------------------------ saving
    def save(self, path: str | Path | None = None) -> Path | None:
        """Write the bank (atomically) to ``path`` or its own file; a bank with errors is saved as a draft."""
        if self.bank is None:
            return None
        if path is None and self.bank_path is None:
            return self._save_as_dialog()
        target = Path(path or self.bank_path)
        try:
            bank_edit.save_bank(self.bank, target)
        except OSError as exc:
            self._edit_failed(exc)
            return None
        self.bank.path = self.bank_path = target
        self._sf_cache.clear()
        self._set_modified(False)
        self._saved_generation = self._generation
        if self._checked_generation >= self._generation:
            self._flag_saved()
        else:
            self.save_label.setText(f"Saved {target.name}; checking …")
            self.validate_now()
        self.bankSaved.emit(target)
        return target

    def _flag_saved(self) -> None:
        errors = sum(1 for f in self.findings if f.severity == "error")
        name = self.bank_path.name if self.bank_path else ""
        if errors:
            self.save_label.setText(f"<span style='color:#ff8a7a'>{name} saved as draft: {errors} error"
                                    f"{'s' if errors != 1 else ''}</span>")
        else:
            self.save_label.setText(f"<span style='color:#8fd18f'>Saved {name}</span>")
        self._saved_generation = None

    def _save_as_dialog(self) -> Path | None:
        if self.bank is None:
            return None
        start = str(self.bank_path or (paths.patches_dir() / "bank.yaml"))
        path, _ = QFileDialog.getSaveFileName(self, "Save patch bank as", start, "Patch banks (*.yaml *.yml)")
        return self.save(Path(path)) if path else None

    def _open_bank_dialog(self) -> None:
        if self.modified and QMessageBox.question(
                self, "Unsaved bank", "Discard the changes to this bank?") != QMessageBox.StandardButton.Yes:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Open patch bank", str(self.bank_path or paths.patches_dir()),
                                              "Patch banks (*.yaml *.yml);;All files (*)")
        if path:
            self.load_bank(Path(path))

    # ------------------------------------------------------------------------------------------ audition
    def _preview_patch(self, preset) -> Patch:
        drum = preset.family == gm.family(gm.DRUMS)
        return Patch("preview." + _slug(preset.name), str(preset.soundfont), preset.bank, preset.preset,
                     preset.name, drum)

    def audition_selected(self) -> Job | None:
        """Render the selected preset (browser) or patch (bank tree) playing its class-typical phrase."""
        if self._source == "patch" and self.selected_patch() and self.bank is not None:
            pid = self.selected_patch()
            return self.audition_patch(self.bank.patches[pid], pid)
        preset = self.selected_preset()
        if preset is None:
            self.audition_label.setText("Select a preset or a patch first.")
            return None
        label = f"{Path(preset.soundfont).stem} {preset.bank}:{preset.preset} {preset.name}"
        return self.audition_patch(self._preview_patch(preset), label)

    def audition_patch(self, patch: Patch, label: str) -> Job:
        if self._audition_job is not None:
            self._audition_job.cancel()
        self._audition_seq += 1
        bank = snapshot(self.bank) if self.bank is not None else None
        self.audition_label.setText(f"Rendering {label} …")
        job = Job(_audition, self._audition_seq, label, patch, bank, self.effects_check.isChecked(),
                  [Path(d) for d in self.extra_dirs()])
        self._audition_job = job
        return self._start(job, self._audition_ready, self._audition_failed)

    def _audition_failed(self, exc: Exception) -> None:
        self.audition_label.setText(f"<span style='color:#ff8a7a'>Audition failed: {exc}</span>")

    def _audition_ready(self, result) -> None:
        seq, label, aud = result
        if seq != self._audition_seq:
            return  # a newer audition was asked for meanwhile
        if self.auditions["B"] is not None:
            self.auditions["A"] = self.auditions["B"]
        self.auditions["B"] = (label, aud)
        self.ab_button.setEnabled(self.auditions["A"] is not None)
        self.play_slot("B")
        self.auditionReady.emit(aud)

    def play_slot(self, slot: str) -> None:
        entry = self.auditions.get(slot)
        if entry is None:
            return
        _label, aud = entry
        self.playing_slot = slot
        if self.player is not None:
            try:
                pos = self.player.position if self.took_player else 0
                self.player.stop()
                self.player.clear_loop()
                self.player.set_sources({"audition": aud.audio})
                self.player.seek(min(pos, max(0, len(aud.audio) - 1)))
                self.player.play()
                self.took_player = True
            except Exception as exc:  # noqa: BLE001  (no sound is no reason to lose the audition)
                self.player_note = f"Playback failed: {exc}"
        self._show_auditions()

    def toggle_ab(self) -> None:
        if self.auditions["A"] is None:
            return
        self.play_slot("A" if self.playing_slot == "B" else "B")

    def stop_audition(self) -> None:
        if self.player is not None and self.took_player:
            self.player.stop()

    def _show_auditions(self) -> None:
        parts = []
        for slot in ("A", "B"):
            entry = self.auditions[slot]
            if entry is None:
                continue
            label, aud = entry
            text = (f"{slot}: {label} — {aud.kind}, {_fmt(aud.lufs, 'LUFS')}, peak {_fmt(aud.peak_dbfs, 'dBFS')}")
            parts.append(f"<b>▶ {text}</b>" if slot == self.playing_slot else text)
        if self.player is None:
            parts.append(f"<i>{self.player_note or 'no audio output'}: not played</i>")
        self.audition_label.setText(" &nbsp;|&nbsp; ".join(parts))

    # ------------------------------------------------------------------------------------------ keys
    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        if event.type() == QEvent.Type.KeyPress and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            if obj is self.preset_table:
                self._source = "preset"
                self.audition_selected()
                return True
            if obj is self.tree:
                item = self.tree.currentItem()
                d = item.data(0, Qt.ItemDataRole.UserRole) if item is not None else None
                if d and d[0] == "patch":
                    self._source = "patch"
                    self.audition_selected()
                    return True
        return super().eventFilter(obj, event)
