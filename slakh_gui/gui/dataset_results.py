"""The Dataset dialog's result tabs: the lint findings of a dataset (with re-roll / drop fixes), its statistics (the
Slakh paper's Table 1 row, Fig. 1 and Fig. 2) and the MIDI files its selection rejected, with the reasons.

Both panels only show and start background jobs (on the dialog's :class:`~slakh_gui.gui.job_runner.JobRunner`, one slot
per kind of job); the work is in :mod:`slakh_gui.core.dataset.lint`, :mod:`slakh_gui.core.dataset.dataset_fix` and
:mod:`slakh_gui.core.dataset.dataset_stats`.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QKeySequence, QPixmap, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QSizePolicy,
    QSplitter,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from slakh_gui.core.dataset.selection import SelectionReport, read_report, rejection_kind
from slakh_gui.core.jobs import Progress
from slakh_gui.core.render.track_folder import TrackFolderError, read_metadata
from slakh_gui.gui.job_runner import Job, JobRunner

LINT_FILE = "lint.yaml"
MANIFEST_FILE = "dataset.yaml"
SELECTION_FILE = "selection.yaml"
NO_REPORT = "No dataset yet: the MIDI files the selection rejects are listed here, each with its reason."
KIND_TEXT = {"silent": "silent", "noise": "noise only", "out_of_range": "notes out of range",
             "unmeasured_loudness": "loudness unmeasured", "missing_audio": "missing audio",
             "duplicate_midi": "duplicate MIDI", "cross_split_duplicate": "duplicate across splits",
             "unreadable": "unreadable track"}


def _hours_text(seconds: float) -> str:
    hours = seconds / 3600.0
    return f"{hours:.2f}" if hours >= 1 else f"{hours:.3f} ({seconds / 60:.1f} min)"


# ---------------------------------------------------------------------------------------------- worker side
def load_findings(root: Path) -> list[tuple[object, str]]:
    """The findings of ``root/lint.yaml``, each with the patch its stem has now (from the track's metadata)."""
    from slakh_gui.core.dataset.lint import read_lint

    findings = read_lint(root / LINT_FILE)
    meta: dict[str, dict] = {}
    out = []
    for f in findings:
        if f.track not in meta:
            try:
                meta[f.track] = read_metadata(root / f.track)["stems"]
            except TrackFolderError:
                meta[f.track] = {}
        entry = meta[f.track].get(f.stem) if f.stem else None
        patch = ""
        if isinstance(entry, dict):
            patch = str(entry.get("plugin_name") or "") if entry.get("audio_rendered", True) else "(dropped)"
        out.append((f, patch or str(f.details.get("patch") or "")))
    return out


def check_folder(root: Path, progress=None, cancel=None) -> list[tuple[object, str]]:
    """Lint every track under ``root`` (any Slakh-layout folder) and write ``root/lint.yaml``."""
    from slakh_gui.core.dataset.lint import lint_tree, write_lint

    write_lint(root / LINT_FILE, lint_tree(root, progress=progress, cancel=cancel))
    return load_findings(root)


def stats_with_figures(path: Path, progress=None, cancel=None):
    """:func:`compute_stats` plus Fig. 1 and Fig. 2 as PNG bytes (nothing is written)."""
    from slakh_gui.core.dataset import stats_plots
    from slakh_gui.core.dataset.dataset_stats import compute_stats

    stats = compute_stats(path, progress=progress, cancel=cancel)
    return (stats, stats_plots.figure_png(stats_plots.fig1_classes(stats)),
            stats_plots.figure_png(stats_plots.fig2_spectra(stats)))


def _fix(root: Path, track: str, stem: str | None, action: str) -> dict:
    from slakh_gui.core.dataset.dataset_fix import drop_track, fix_stem

    if action == "drop_track":
        drop_track(root, track)
        return {"track": track, "stem": None, "action": action, "lint": [], "seconds": 0.0}
    result = fix_stem(root, track, stem, action)
    return {**result, "track": track, "stem": stem, "action": action}


def _details_text(finding) -> str:
    """A finding's machine-readable details as one readable line."""
    parts = []
    for key, value in (finding.details or {}).items():
        if value is None or value == "":
            continue
        if isinstance(value, list):
            value = ", ".join("–".join(map(str, v)) if isinstance(v, list) else str(v) for v in value[:12]) + (
                " …" if len(value) > 12 else "")
        parts.append(f"{key.replace('_', ' ')}: {value}")
    where = f"{finding.track} {finding.stem or ''}".strip()
    return f"<b>{where}</b> — " + (" · ".join(parts) if parts else "no details")


# ---------------------------------------------------------------------------------------------- widgets
class ScaledImage(QLabel):
    """A picture that keeps its aspect ratio at any size of the label."""

    def __init__(self, placeholder: str = "", parent=None):
        super().__init__(placeholder, parent)
        self._pixmap = QPixmap()
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Ignored)
        self.setMinimumSize(160, 120)

    def set_png(self, data: bytes) -> bool:
        pm = QPixmap()
        ok = pm.loadFromData(data, "PNG")
        self._pixmap = pm if ok else QPixmap()
        self._rescale()
        return ok

    def has_image(self) -> bool:
        return not self._pixmap.isNull()

    def clear_image(self, text: str = "") -> None:
        self._pixmap = QPixmap()
        self.clear()
        self.setText(text)

    def resizeEvent(self, event) -> None:  # Qt override
        super().resizeEvent(event)
        self._rescale()

    def _rescale(self) -> None:
        if self._pixmap.isNull():
            return
        self.setPixmap(self._pixmap.scaled(self.size(), Qt.AspectRatioMode.KeepAspectRatio,
                                           Qt.TransformationMode.SmoothTransformation))


class _Panel(QWidget):
    """What the panels share: jobs on ``runner`` (the dialog's; a private one when None) in the panel's own slots
    (``SLOTS``; a newer job of a slot replaces the one running), errors to the dialog's message bar."""

    message = Signal(str, bool)  # text, is_error
    SLOTS: tuple[str, ...] = ()

    def __init__(self, runner: JobRunner | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.runner = runner if runner is not None else JobRunner(self)

    def _slot(self, name: str) -> str:
        return f"{type(self).__name__}-{id(self):x}/{name}"

    def _start(self, slot: str, fn, *args, on_result, on_finished=None, on_error=None, hooks: bool = False,
               **kwargs) -> Job:
        """``fn(*args)`` in the background in slot ``slot``; errors go to ``on_error`` or the message bar."""
        def finished() -> None:
            if on_finished is not None:
                on_finished()
            self._jobs_changed()

        return self.runner.start(fn, *args, hooks=hooks, slot=self._slot(slot), on_result=on_result,
                                 on_error=on_error or (lambda exc: self.message.emit(str(exc), True)),
                                 on_finished=finished, **kwargs)

    def _jobs_changed(self) -> None:
        """A job ended (buttons that wait for idle may enable)."""

    def busy(self) -> bool:
        return any(self.runner.running(self._slot(name)) for name in self.SLOTS)

    def cancel_jobs(self) -> None:
        for name in self.SLOTS:
            self.runner.cancel(self._slot(name))


class LintPanel(_Panel):
    """``lint.yaml`` of a dataset as a table; re-roll the patch of a finding's stem or drop the stem."""

    lintLoaded = Signal(int)  # number of findings shown
    fixFinished = Signal(object)  # the fix result dict, or None when it failed
    openTrackRequested = Signal(Path, str)  # track folder, stem key ("" for a whole-track finding)

    COLUMNS = ("Track", "Stem", "Kind", "Patch now", "Message")
    SLOTS = ("read", "check", "fix")

    def __init__(self, runner: JobRunner | None = None, parent: QWidget | None = None):
        super().__init__(runner, parent)
        self.root: Path | None = None
        self.managed = False  # a Slakh Studio dataset (has dataset.yaml): fixes are possible
        self.findings: list[tuple[object, str]] = []
        lay = QVBoxLayout(self)
        self.summary = QLabel("No dataset yet: build one, or open a dataset folder.")
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Lint summary")
        lay.addWidget(self.summary)
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setHorizontalHeaderLabels(self.COLUMNS)
        self.table.setAccessibleName("Lint findings")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.verticalHeader().hide()
        h = self.table.horizontalHeader()
        for col, width in enumerate((150, 50, 150, 190)):
            h.resizeSection(col, width)
        h.setSectionResizeMode(4, QHeaderView.ResizeMode.Stretch)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.itemDoubleClicked.connect(lambda _item: self.open_selected_track())
        lay.addWidget(self.table, 1)
        self.details = QLabel("")
        self.details.setWordWrap(True)
        self.details.setAccessibleName("Details of the selected finding")
        self.details.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details.setStyleSheet("color: #c8c8c8;")
        lay.addWidget(self.details)
        row = QHBoxLayout()
        self.reroll_button = QPushButton("&Re-roll patch")
        self.reroll_button.setAccessibleName("Re-roll the patch of the selected finding's stem")
        self.reroll_button.setToolTip("Draw another patch from the stem's pool and re-render the track")
        self.reroll_button.clicked.connect(lambda: self.fix_selected("reroll"))
        self.drop_button = QPushButton("&Drop stem")
        self.drop_button.setAccessibleName("Drop the selected finding's stem from its track")
        self.drop_button.setToolTip("Leave the stem out of the track (no audio, not in the mix) and re-render")
        self.drop_button.clicked.connect(lambda: self.fix_selected("drop"))
        self.drop_track_button = QPushButton("Drop &track")
        self.drop_track_button.setAccessibleName("Drop the selected finding's whole track from the dataset")
        self.drop_track_button.setToolTip("Remove the track (e.g. a duplicate MIDI file); resuming never renders it")
        self.drop_track_button.clicked.connect(lambda: self.fix_selected("drop_track"))
        self.open_button = QPushButton("&Open track in main window")
        self.open_button.setAccessibleName("Open the selected finding's track in the main window")
        self.open_button.clicked.connect(self.open_selected_track)
        self.check_button = QPushButton("&Check folder")
        self.check_button.setAccessibleName("Run the lint checks on every track of the folder")
        self.check_button.setToolTip("Check the tracks of this folder again and rewrite its lint.yaml")
        self.check_button.clicked.connect(self.check)
        for b in (self.reroll_button, self.drop_button, self.drop_track_button, self.open_button):
            row.addWidget(b)
        row.addStretch(1)
        row.addWidget(self.check_button)
        lay.addLayout(row)
        QShortcut(QKeySequence("Ctrl+Shift+R"), self, activated=lambda: self.fix_selected("reroll"))
        QShortcut(QKeySequence("Ctrl+Shift+X"), self, activated=lambda: self.fix_selected("drop"))
        self._update_buttons()

    # -------------------------------------------------------------------------------------- loading
    def set_root(self, root: Path | None, then=None) -> Job | None:
        """Show the lint report of ``root`` (read in the background; ``then()`` after); None when it has none."""
        self.runner.cancel(self._slot("read"))  # a report of the folder before must not land here
        self.root = Path(root) if root else None
        self.managed = bool(self.root and (self.root / MANIFEST_FILE).is_file())
        self.findings = []
        self.table.setRowCount(0)
        if self.root is None or not (self.root / LINT_FILE).is_file():
            self.summary.setText(f"No {LINT_FILE} in {self.root}: build the dataset with lint on, or Check folder."
                                 if self.root else "No dataset yet: build one, or open a dataset folder.")
            self._update_buttons()
            return None
        self.summary.setText(f"Reading {self.root / LINT_FILE} …")
        return self._start("read", load_findings, self.root, on_result=self._show, on_finished=then)

    def check(self) -> Job | None:
        if self.root is None or self.busy():
            return None
        self.summary.setText(f"Checking the tracks of {self.root} …")
        self._update_buttons(force_off=True)
        return self._start("check", check_folder, self.root, hooks=True, on_result=self._show,
                           on_finished=self._update_buttons)

    def _show(self, findings: list) -> None:
        self.findings = list(findings)
        selected = self.selected()
        key = (selected[0].track, selected[0].stem, selected[0].kind) if selected else None
        self.table.setRowCount(len(self.findings))
        for r, (f, patch) in enumerate(self.findings):
            values = (f.track, f.stem or "—", KIND_TEXT.get(f.kind, f.kind), patch, f.message)
            for c, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(f.message if c == 4 else text)
                self.table.setItem(r, c, item)
            if key == (f.track, f.stem, f.kind):
                self.table.selectRow(r)
        kinds: dict[str, int] = {}
        for f, _ in self.findings:
            kinds[f.kind] = kinds.get(f.kind, 0) + 1
        what = ", ".join(f"{n} {KIND_TEXT.get(k, k)}" for k, n in kinds.items())
        where = self.root / LINT_FILE if self.root else LINT_FILE
        if self.findings:
            fix = "Select one and re-roll its patch or drop the stem." if self.managed else (
                "Re-roll and drop need a Slakh Studio dataset (dataset.yaml).")
            self.summary.setText(f"{len(self.findings)} finding{'s' if len(self.findings) != 1 else ''} in "
                                 f"{where}: {what}. {fix}")
        else:
            self.summary.setText(f"No findings in {where}: every stem passed the checks.")
        if self.table.currentRow() < 0 and self.findings:
            self.table.selectRow(0)
        self._update_buttons()
        self.lintLoaded.emit(len(self.findings))

    # -------------------------------------------------------------------------------------- actions
    def selected(self) -> tuple | None:
        rows = {i.row() for i in self.table.selectionModel().selectedRows()}
        if not rows:
            return None
        return self.findings[min(rows)] if min(rows) < len(self.findings) else None

    def select_row(self, row: int) -> None:
        self.table.selectRow(row)

    def _jobs_changed(self) -> None:
        self._update_buttons()

    def _update_buttons(self, force_off: bool = False) -> None:
        sel = self.selected()
        finding = sel[0] if sel else None
        idle = not force_off and not self.busy()
        actions = finding.actions if finding else ()
        self.reroll_button.setEnabled(idle and self.managed and "reroll_patch" in actions and bool(finding.stem))
        self.drop_button.setEnabled(idle and self.managed and "drop_stem" in actions and bool(finding.stem))
        self.drop_track_button.setEnabled(idle and self.managed and "drop_track" in actions)
        self.open_button.setEnabled(finding is not None and self.root is not None)
        self.check_button.setEnabled(idle and self.root is not None)
        self.details.setText(_details_text(finding) if finding is not None else "")
        if finding is not None and not finding.stem:
            tip = "A whole-track finding (duplicate MIDI): use Drop track"
            self.reroll_button.setToolTip(tip)
            self.drop_button.setToolTip(tip)

    def fix_selected(self, action: str) -> Job | None:
        """Re-roll (``"reroll"``) or drop (``"drop"``) the stem of the selected finding, in the background."""
        sel = self.selected()
        if sel is None or self.root is None:
            self.message.emit("Select a lint finding first.", True)
            return None
        finding = sel[0]
        if not self.managed:
            self.message.emit(f"{self.root} has no {MANIFEST_FILE}: re-roll and drop work on Slakh Studio "
                              "datasets only.", True)
            return None
        if (not finding.stem and action != "drop_track") or self.busy():
            return None
        track = Path(finding.track).name
        if action == "drop_track":
            self.summary.setText(f"Dropping {track} from the dataset …")
        else:
            verb = "Re-rolling the patch of" if action == "reroll" else "Dropping"
            self.summary.setText(f"{verb} {track} {finding.stem} and rendering the track again …")
        self._update_buttons(force_off=True)
        return self._start("fix", _fix, self.root, track, finding.stem, action, on_result=self._fixed,
                           on_finished=self._after_fix)

    def _fixed(self, result: dict) -> None:
        if result["action"] == "drop_track":
            self.message.emit(f"{result['track']} dropped from the dataset (kept as 'dropped' in the manifest).",
                              False)
            self._pending_fix = result
            return
        left = len(result.get("lint", []))
        what = "patch re-rolled" if result["action"] == "reroll" else "stem dropped"
        self.message.emit(f"{result['track']} {result['stem']}: {what}, track re-rendered in "
                          f"{result.get('seconds', 0):.1f} s; {left} finding{'s' if left != 1 else ''} left on the "
                          "track.", False)
        self._pending_fix = result

    def _after_fix(self) -> None:
        result, self._pending_fix = getattr(self, "_pending_fix", None), None
        if result is None:  # failed: the error is in the message bar already
            self._update_buttons()
            self.fixFinished.emit(None)
            return
        if self.set_root(self.root, lambda: self.fixFinished.emit(result)) is None:
            self.fixFinished.emit(result)

    def open_selected_track(self) -> None:
        sel = self.selected()
        if sel is None or self.root is None:
            return
        self.openTrackRequested.emit(self.root / sel[0].track, sel[0].stem or "")


class StatsPanel(_Panel):
    """Table 1's row, the splits and Fig. 1 / Fig. 2 of any Slakh-layout folder."""

    statsReady = Signal(object)  # DatasetStats, or None when it failed or was cancelled

    TABLE1 = ("Dataset", "# Songs", "Size (h)", "# Tracks (min–max)", "Median tracks", "# Instr. cat.")
    SLOTS = ("stats",)

    def __init__(self, runner: JobRunner | None = None, settings=None, parent: QWidget | None = None):
        super().__init__(runner, parent)
        self.settings = settings
        self.stats = None
        self.shown_for: Path | None = None
        self.job: Job | None = None
        self.figures: dict[str, bytes] = {}
        lay = QVBoxLayout(self)
        row = QHBoxLayout()
        row.addWidget(QLabel("Folder"))
        self.folder_edit = QLineEdit()
        self.folder_edit.setAccessibleName("Dataset folder for statistics")
        self.folder_edit.setPlaceholderText("a dataset root, a split folder, BabySlakh, or one TrackNNNNN folder")
        self.folder_edit.returnPressed.connect(self.compute)
        row.addWidget(self.folder_edit, 1)
        browse = QPushButton("…")
        browse.setFixedWidth(30)
        browse.setAccessibleName("Choose the folder for statistics")
        browse.clicked.connect(self._browse)
        row.addWidget(browse)
        self.compute_button = QPushButton("&Compute")
        self.compute_button.setAccessibleName("Compute the statistics")
        self.compute_button.clicked.connect(self.compute)
        row.addWidget(self.compute_button)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel the statistics")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_jobs)
        row.addWidget(self.cancel_button)
        self.save_button = QPushButton("&Save report…")
        self.save_button.setAccessibleName("Save stats.md, stats.json and the figures")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self._save_dialog)
        row.addWidget(self.save_button)
        lay.addLayout(row)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Statistics progress")
        self.progress.setFormat("%v of %m tracks read")
        self.progress.setMaximumHeight(18)
        self.progress.hide()
        lay.addWidget(self.progress)
        self.table1 = QTableWidget(1, len(self.TABLE1))
        self.table1.setAccessibleName("Table 1: the dataset's row")
        self.table1.setHorizontalHeaderLabels(self.TABLE1)
        self.table1.verticalHeader().hide()
        self.table1.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table1.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table1.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.table1.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.splits = QTableWidget(0, 4)
        self.splits.setAccessibleName("Songs, hours and stems per split")
        self.splits.setHorizontalHeaderLabels(("Split", "Songs", "Hours", "Stems"))
        self.splits.verticalHeader().hide()
        self.splits.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.splits.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.splits.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        tables = QHBoxLayout()
        t1 = QVBoxLayout()
        t1.addWidget(QLabel("<b>Table 1</b> (Manilow et al. 2019) for this folder"))
        t1.addWidget(self.table1)
        t1.addStretch(1)
        tables.addLayout(t1, 3)
        t2 = QVBoxLayout()
        t2.addWidget(QLabel("<b>Splits</b>"))
        t2.addWidget(self.splits)
        tables.addLayout(t2, 2)
        self._fit_height(self.table1, 1)
        self._fit_height(self.splits, 4)
        lay.addLayout(tables)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        self.note.setAccessibleName("Statistics notes")
        self.note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.note)
        figs = QSplitter(Qt.Orientation.Horizontal)
        self.fig1 = ScaledImage("Fig. 1: mixtures containing each instrument class")
        self.fig1.setAccessibleName("Figure 1: mixtures containing each instrument class")
        self.fig2 = ScaledImage("Fig. 2: normalized log-magnitude mixture spectra")
        self.fig2.setAccessibleName("Figure 2: mixture spectra, mean and standard deviation")
        for f in (self.fig1, self.fig2):
            f.setStyleSheet("QLabel { background: white; color: #555; }")
            figs.addWidget(f)
        lay.addWidget(figs, 1)

    @staticmethod
    def _fit_height(table: QTableWidget, rows: int) -> None:
        table.verticalHeader().setDefaultSectionSize(24)
        table.setFixedHeight(table.horizontalHeader().sizeHint().height() + rows * 24 + 2 * table.frameWidth())

    def set_folder(self, path: Path | None) -> None:
        self.folder_edit.setText(str(path) if path else "")

    def stale(self) -> bool:
        text = self.folder_edit.text().strip()
        return bool(text) and self.shown_for != Path(text).expanduser() and self.job is None

    def _browse(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Statistics of a Slakh-layout folder", self.folder_edit.text())
        if path:
            self.folder_edit.setText(path)
            self.compute()

    def compute(self) -> Job | None:
        text = self.folder_edit.text().strip()
        if not text:
            self.message.emit("Choose a dataset folder first.", True)
            return None
        if self.job is not None:
            return None
        path = Path(text).expanduser()
        self.note.setText(f"Reading the tracks of {path} …")
        self.progress.setRange(0, 0)
        self.progress.show()
        self.compute_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._pending = None
        self.job = self._start("stats", stats_with_figures, path, hooks=True, on_progress=self._progress,
                               on_result=lambda r: self._show(path, *r), on_error=self._failed,
                               on_finished=self._finished)
        return self.job

    def _failed(self, exc: Exception) -> None:
        self.note.setText(f"<span style='color:#ff8a7a'>{exc}</span>")
        self.message.emit(str(exc), True)

    def _progress(self, p: Progress) -> None:
        if p.total > 0:
            self.progress.setRange(0, int(p.total))
            self.progress.setValue(int(p.done))

    def _finished(self) -> None:
        job, self.job = self.job, None
        if job is not None and job.cancelled:  # said whether the computation stopped at a check or not
            self.note.setText("Statistics cancelled.")
        self.progress.hide()
        self.compute_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        stats, self._pending = getattr(self, "_pending", None), None
        self.statsReady.emit(stats)

    def _show(self, path: Path, stats, fig1: bytes, fig2: bytes) -> None:
        self.stats, self.shown_for, self._pending = stats, path, stats
        self.figures = {"fig1_classes.png": fig1, "fig2_spectra.png": fig2}
        lo, hi, med = stats.tracks_per_song
        rates = ", ".join(f"{sr / 1000:g} kHz ({n})" for sr, n in stats.sample_rates.items()) or "—"
        values = (path.name or str(path), str(stats.songs), _hours_text(stats.seconds), f"{lo}–{hi}", f"{med:g}",
                  str(stats.instrument_classes))
        for c, text in enumerate(values):
            item = QTableWidgetItem(text)
            if c:
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
            self.table1.setItem(0, c, item)
        splits = stats.splits
        self.splits.setRowCount(len(splits))
        for r, (name, s) in enumerate(splits.items()):
            for c, text in enumerate((name, str(s.songs), _hours_text(s.seconds), str(s.stems))):
                item = QTableWidgetItem(text)
                if c:
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                self.splits.setItem(r, c, item)
        notes = [f"{stats.songs} song{'s' if stats.songs != 1 else ''} read in {stats.elapsed:.1f} s · sample "
                 f"rates {rates} · {stats.patches} distinct patches. Tracks = stems with audio; instrument "
                 "categories = distinct inst_class (GM family)."]
        if stats.skipped:
            shown = "; ".join(f"{s['track']}: {s['reason']}" for s in stats.skipped[:3])
            more = f" (and {len(stats.skipped) - 3} more)" if len(stats.skipped) > 3 else ""
            notes.append(f"Skipped {len(stats.skipped)}: {shown}{more}.")
        self.note.setText(" ".join(notes))
        self.fig1.set_png(fig1)
        self.fig2.set_png(fig2)
        self.save_button.setEnabled(True)

    def _save_dialog(self) -> None:
        start = self.shown_for / "stats" if self.shown_for else Path.home()
        folder = QFileDialog.getExistingDirectory(self, "Save the statistics report to", str(start))
        if folder:
            self.save_report(Path(folder))

    def save_report(self, folder: Path) -> dict | None:
        """``stats.md``, ``stats.json`` and both PNGs into ``folder``."""
        from slakh_gui.core.dataset.dataset_stats import write_report

        if self.stats is None:
            return None
        try:
            written = write_report(self.stats, folder)
        except (OSError, ValueError) as exc:
            self.message.emit(f"Could not save the report: {exc}", True)
            return None
        self.message.emit(f"Saved {', '.join(written)} to {folder}", False)
        return written


# ---------------------------------------------------------------------------------------------- rejected MIDI files
class RejectedModel(QAbstractTableModel):
    """The rejected files of a selection report as rows: file (relative to the MIDI folder), kind, reason."""

    COLUMNS = ("MIDI file", "Rule", "Reason")

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.rows: list[tuple[str, str, str, str]] = []  # shown path, kind, reason, full path

    def set_report(self, report: SelectionReport | None) -> None:
        self.beginResetModel()
        self.rows = [] if report is None else [
            (report.display_path(r), rejection_kind(r.reason), r.reason, str(r.path)) for r in report.rejected]
        self.endResetModel()

    def rowCount(self, parent: QModelIndex | None = None) -> int:  # Qt override
        return 0 if parent is not None and parent.isValid() else len(self.rows)

    def columnCount(self, parent: QModelIndex | None = None) -> int:  # Qt override
        return 0 if parent is not None and parent.isValid() else len(self.COLUMNS)

    def data(self, index: QModelIndex, role: int = Qt.ItemDataRole.DisplayRole):
        if not index.isValid():
            return None
        row = self.rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:
            return row[3] if index.column() == 0 else row[2]
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,  # Qt override
                   role: int = Qt.ItemDataRole.DisplayRole):
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.COLUMNS[section]
        return None


class RejectedPanel(_Panel):
    """The MIDI files the selection rejected, each with its reason (``selection.yaml`` of a dataset built here)."""

    reportLoaded = Signal(int)  # rejected files shown (-1: the folder has no readable report)

    SLOTS = ("read",)

    def __init__(self, runner: JobRunner | None = None, parent: QWidget | None = None):
        super().__init__(runner, parent)
        self.folder: Path | None = None
        self.report: SelectionReport | None = None
        lay = QVBoxLayout(self)
        self.summary = QLabel(NO_REPORT)
        self.summary.setWordWrap(True)
        self.summary.setAccessibleName("Rejected MIDI files summary")
        self.summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        lay.addWidget(self.summary)
        row = QHBoxLayout()
        self.filter_edit = QLineEdit()
        self.filter_edit.setAccessibleName("Filter the rejected files")
        self.filter_edit.setPlaceholderText("Filter by file or reason")
        self.filter_edit.setClearButtonEnabled(True)
        row.addWidget(self.filter_edit, 1)
        lay.addLayout(row)
        self.model = RejectedModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setFilterKeyColumn(-1)
        self.proxy.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self.filter_edit.textChanged.connect(self.proxy.setFilterFixedString)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setAccessibleName("Rejected MIDI files with their reasons")
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(-1, Qt.SortOrder.AscendingOrder)  # report order until a header is clicked
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setWordWrap(False)
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        h = self.table.horizontalHeader()
        h.resizeSection(0, 320)
        h.resizeSection(1, 170)
        h.setStretchLastSection(True)
        lay.addWidget(self.table, 1)

    def set_folder(self, folder: Path | None) -> Job | None:
        """Show the rejected files of ``folder/selection.yaml`` (read in the background); None when it has none."""
        self.runner.cancel(self._slot("read"))
        self.folder = Path(folder) if folder else None
        path = self.folder / SELECTION_FILE if self.folder else None
        if path is None or not path.is_file():
            self._show(None, f"No {SELECTION_FILE} in {self.folder}: the rejected MIDI files are listed for datasets "
                             "built here." if self.folder else NO_REPORT)
            return None
        self.summary.setText(f"Reading {path} …")
        return self._start("read", read_report, path, on_result=lambda report: self._show(report),
                           on_error=lambda exc: self._show(None, f"<span style='color:#ff8a7a'>{exc}</span>"))

    def _show(self, report: SelectionReport | None, text: str = "") -> None:
        self.report = report
        self.model.set_report(report)
        if report is None:
            self.summary.setText(text)
            self.reportLoaded.emit(-1)
            return
        n = len(report.rejected)
        kinds = ", ".join(f"{k} {v}" for k, v in report.kinds().items())
        where = f" of {report.midi_dir}" if report.midi_dir not in ("", ".") else ""
        self.summary.setText(
            f"<b>{n} of {report.scanned} MIDI file{'s' if report.scanned != 1 else ''}{where} rejected</b>"
            + (f" ({kinds})" if kinds else "") + f"; {report.eligible} passed, {report.selected} selected. "
            "Hover a row for the whole path and reason." if n else
            f"No MIDI file rejected: all {report.scanned} passed the rules ({report.selected} selected).")
        self.reportLoaded.emit(n)
