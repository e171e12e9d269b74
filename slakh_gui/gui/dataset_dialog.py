"""The Dataset dialog: ``slakh-studio dataset`` in the GUI, with progress, ETA, cancel and resume, then the
dataset's lint findings (re-roll a patch, drop a stem) and its statistics (Table 1, Fig. 1, Fig. 2).

The build runs :func:`slakh_gui.core.dataset.run_dataset` in a background :class:`Job` on the dialog's own thread
pool (a long build never starves the main window's jobs); the render itself happens in worker processes or on a
Dask cluster. A cancelled build leaves a resumable folder: Start with the same options continues it.
"""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QSettings, Qt, QThreadPool, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QCloseEvent, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QMenu,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QTabWidget,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from slakh_gui import paths
from slakh_gui.core import gm
from slakh_gui.core.dataset import (
    MANIFEST,
    DatasetError,
    DatasetOptions,
    DatasetResult,
    load_manifest,
    parse_split,
    run_dataset,
    split_counts,
)
from slakh_gui.core.dataset_exec import DaskUnavailable, default_workers
from slakh_gui.core.jobs import Progress
from slakh_gui.core.selection import DEFAULT_BAND, parse_band
from slakh_gui.gui.dataset_results import LintPanel, StatsPanel
from slakh_gui.gui.main_window import MessageBar
from slakh_gui.gui.workers import Job

STAGES = {"scan": "Selecting songs (scanning MIDI files)", "render": "Rendering tracks",
          "index": "Writing the mirdata index and the lint report"}
BAD_STYLE = "QLineEdit { border: 1px solid #d9534f; }"


def _clock(seconds: float) -> str:
    seconds = max(0, int(round(seconds)))
    h, rest = divmod(seconds, 3600)
    return f"{h}:{rest // 60:02d}:{rest % 60:02d}" if h else f"{rest // 60}:{rest % 60:02d}"


def _weights_text(weights) -> str:
    return ":".join(f"{float(w):g}" for w in weights)


def _read_manifest(out: Path) -> dict | None:
    """Worker side: the manifest of ``out`` (None if it has none); DatasetError if it is unreadable."""
    return load_manifest(out) if out.is_dir() else None


def _is_dataset_folder(path: Path) -> bool:
    from slakh_gui.core.dataset_stats import SPLITS  # noqa: PLC0415

    return (path / MANIFEST).is_file() or any((path / s).is_dir() for s in SPLITS) or any(
        p.is_dir() and p.name.startswith("Track") for p in path.iterdir())


class DatasetDialog(QDialog):
    """Build a Slakh2100-layout dataset from a MIDI folder; inspect its lint findings and statistics."""

    runFinished = Signal(object)  # DatasetResult, or None when cancelled or failed
    manifestLoaded = Signal(object)  # the output folder's manifest (None when it has none)
    logged = Signal(str)  # a failed song, from the build thread
    openTrackRequested = Signal(Path, str)  # track folder, stem key ("" for none)

    def __init__(self, parent=None, settings: QSettings | None = None, confirm_on_close: bool = True):
        super().__init__(parent)
        self.settings = settings if settings is not None else QSettings()
        self.confirm_on_close = confirm_on_close
        self.setWindowTitle("Build Dataset — Slakh Studio")
        self.setAccessibleName("Dataset dialog")
        self.setAcceptDrops(True)
        self.setWindowFlag(Qt.WindowType.WindowMaximizeButtonHint, True)
        self.pool = QThreadPool(self)
        self.pool.setMaxThreadCount(3)  # the build, a manifest/lint read, statistics
        self.jobs: set[Job] = set()
        self.run_job: Job | None = None
        self.manifest: dict | None = None
        self.last_result: DatasetResult | None = None
        self.failures: dict[str, str] = {}
        self._pending: Progress | None = None
        self._t_start = 0.0
        self._render_base: tuple[float, int] | None = None  # (time, tracks done) of the first render report
        self._close_when_done = False
        self._result: DatasetResult | None = None
        self._build_ui()
        self.timer = QTimer(self, interval=200)
        self.timer.timeout.connect(self._tick)
        self.manifest_timer = QTimer(self, singleShot=True, interval=400)
        self.manifest_timer.timeout.connect(self.check_output)
        self.logged.connect(self._add_failure)
        self._restore_settings()
        self._validate()
        app = QCoreApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.shutdown)
        if parent is not None:
            parent.installEventFilter(self)

    # ------------------------------------------------------------------------------------------ layout
    def _build_ui(self) -> None:
        lay = QVBoxLayout(self)
        self.message = MessageBar()
        self.message.label.setAccessibleName("Dataset message")
        lay.addWidget(self.message)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Dataset tabs")
        self.tabs.addTab(self._build_tab(), "&Build")
        self.lint_panel = LintPanel(self.pool)
        self.lint_panel.message.connect(self._panel_message)
        self.lint_panel.openTrackRequested.connect(self.openTrackRequested)
        self.lint_panel.lintLoaded.connect(self._lint_loaded)
        self.tabs.addTab(self.lint_panel, "&Lint")
        self.stats_panel = StatsPanel(self.pool, self.settings)
        self.stats_panel.message.connect(self._panel_message)
        self.tabs.addTab(self.stats_panel, "&Statistics")
        self.tabs.currentChanged.connect(self._tab_changed)
        lay.addWidget(self.tabs, 1)
        self.resize(1180, 820)

    @staticmethod
    def _buddy(text: str, widget: QWidget) -> QLabel:
        label = QLabel(text)
        label.setBuddy(widget)
        return label

    def _folder_row(self, edit: QLineEdit, title: str, accessible: str, on_pick) -> QHBoxLayout:
        row = QHBoxLayout()
        row.addWidget(edit, 1)
        b = QPushButton("…")
        b.setFixedWidth(30)
        b.setAccessibleName(accessible)
        b.setToolTip(title)
        b.clicked.connect(on_pick)
        row.addWidget(b)
        return row

    def _build_tab(self) -> QWidget:
        w = QWidget()
        grid = QGridLayout(w)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)

        io = QGroupBox("Input and output")
        f = QFormLayout(io)
        self.midi_edit = QLineEdit()
        self.midi_edit.setAccessibleName("MIDI folder")
        self.midi_edit.setPlaceholderText("a folder of .mid files, scanned recursively (e.g. Lakh MIDI)")
        self.midi_edit.textChanged.connect(self._validate)
        f.addRow(self._buddy("&MIDI folder", self.midi_edit), self._folder_row(self.midi_edit, "Choose the MIDI folder",
                                                   "Choose the MIDI folder", self._pick_midi))
        self.out_edit = QLineEdit()
        self.out_edit.setAccessibleName("Dataset output folder")
        self.out_edit.setPlaceholderText("a new or empty folder, or a dataset to resume")
        self.out_edit.textChanged.connect(self._out_changed)
        f.addRow(self._buddy("&Output folder", self.out_edit), self._folder_row(self.out_edit, "Choose the output folder",
                                                     "Choose the dataset output folder", self._pick_out))
        self.resume_label = QLabel("")
        self.resume_label.setWordWrap(True)
        self.resume_label.setAccessibleName("Resume state of the output folder")
        f.addRow("", self.resume_label)
        for e in (self.midi_edit, self.out_edit):
            e.installEventFilter(self)

        sel = QGroupBox("Selection (Slakh's rules)")
        f2 = QFormLayout(sel)
        self.count_spin = QSpinBox()
        self.count_spin.setRange(0, 10_000_000)
        self.count_spin.setSpecialValueText("all that pass")
        self.count_spin.setAccessibleName("Number of songs (0: all that pass)")
        f2.addRow("&Count", self.count_spin)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setAccessibleName("Seed of the song shuffle and the patch draws")
        f2.addRow("S&eed", self.seed_spin)
        band_row = QHBoxLayout()
        self.band_edit = QLineEdit(",".join(f.lower() for f in DEFAULT_BAND))
        self.band_edit.setAccessibleName("Band: GM families every song must play")
        self.band_edit.setToolTip("Comma-separated GM families (case-insensitive), or pick them from the menu")
        self.band_edit.textChanged.connect(self._band_text_changed)
        band_row.addWidget(self.band_edit, 1)
        self.band_button = QToolButton(text="Families")
        self.band_button.setAccessibleName("Choose the band's GM families")
        self.band_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.band_menu = QMenu(self.band_button)
        self.family_actions: dict[str, QAction] = {}
        for fam in gm.FAMILIES:
            a = self.band_menu.addAction(fam)
            a.setCheckable(True)
            a.toggled.connect(self._family_toggled)
            self.family_actions[fam] = a
        self.band_button.setMenu(self.band_menu)
        band_row.addWidget(self.band_button)
        f2.addRow(self._buddy("B&and", self.band_edit), band_row)
        self.min_notes_spin = QSpinBox()
        self.min_notes_spin.setRange(0, 100_000)
        self.min_notes_spin.setValue(50)
        self.min_notes_spin.setAccessibleName("Notes each band family must play")
        f2.addRow("Min &notes", self.min_notes_spin)
        self.multi_drums_check = QCheckBox("Allow more than one drum track")
        self.multi_drums_check.setAccessibleName("Allow songs with more than one drum track")
        f2.addRow("", self.multi_drums_check)
        self.split_edit = QLineEdit("1500:375:225")
        self.split_edit.setAccessibleName("Split weights train:validation:test")
        self.split_edit.setToolTip("Weights like 1500:375:225 (Slakh2100) or fractions like 0.8,0.1,0.1")
        self.split_edit.textChanged.connect(self._validate)
        f2.addRow("S&plit", self.split_edit)
        self.split_hint = QLabel("")
        self.split_hint.setAccessibleName("Split check")
        f2.addRow("", self.split_hint)

        ren = QGroupBox("Rendering")
        f3 = QFormLayout(ren)
        self.bank_edit = QLineEdit(str(paths.default_bank()))
        self.bank_edit.setAccessibleName("Patch bank file")
        self.bank_edit.textChanged.connect(self._validate)
        f3.addRow(self._buddy("Ban&k", self.bank_edit), self._folder_row(self.bank_edit, "Choose a patch bank", "Choose the patch bank",
                                             self._pick_bank))
        self.format_combo = QComboBox()
        self.format_combo.addItems(["flac", "wav"])
        self.format_combo.setAccessibleName("Audio format")
        f3.addRow("&Format", self.format_combo)
        self.tail_spin = QDoubleSpinBox()
        self.tail_spin.setRange(0.0, 60.0)
        self.tail_spin.setValue(5.0)
        self.tail_spin.setSuffix(" s")
        self.tail_spin.setAccessibleName("Tail rendered after each song's end")
        f3.addRow("&Tail", self.tail_spin)
        self.flakh_check = QCheckBox("Flakh mode (TimGM6mb, unsplit mix)")
        self.flakh_check.setAccessibleName("Flakh mode")
        self.flakh_check.toggled.connect(self._flakh_toggled)
        f3.addRow("", self.flakh_check)
        self.fx_check = QCheckBox("FluidSynth reverb/chorus")
        self.fx_check.setAccessibleName("FluidSynth reverb and chorus per track")
        f3.addRow("", self.fx_check)
        self.lint_check = QCheckBox("Lint every track (lint.yaml)")
        self.lint_check.setChecked(True)
        self.lint_check.setAccessibleName("Run the lint checks on every rendered track")
        f3.addRow("", self.lint_check)

        where = QGroupBox("Where to render")
        f4 = QGridLayout(where)
        self.local_radio = QRadioButton("This computer")
        self.local_radio.setAccessibleName("Render on this computer")
        self.local_radio.setChecked(True)
        self.dask_radio = QRadioButton("Dask scheduler")
        self.dask_radio.setAccessibleName("Render on a Dask cluster")
        group = QButtonGroup(self)
        group.addButton(self.local_radio)
        group.addButton(self.dask_radio)
        self.workers_spin = QSpinBox()
        self.workers_spin.setRange(1, 1024)
        self.workers_spin.setValue(default_workers())
        self.workers_spin.setSuffix(" worker processes")
        self.workers_spin.setAccessibleName("Local worker processes")
        self.scheduler_edit = QLineEdit()
        self.scheduler_edit.setPlaceholderText("tcp://host:8786 or a scheduler JSON file")
        self.scheduler_edit.setAccessibleName("Dask scheduler address")
        self.scheduler_edit.textChanged.connect(self._validate)
        self.threads_spin = QSpinBox()
        self.threads_spin.setRange(1, 64)
        self.threads_spin.setToolTip("FluidSynth instances each worker renders at once (1 is best on few cores)")
        self.threads_spin.setAccessibleName("Synths each worker runs at once")
        f4.addWidget(self.local_radio, 0, 0)
        f4.addWidget(self.workers_spin, 0, 1)
        f4.addWidget(self.dask_radio, 1, 0)
        f4.addWidget(self.scheduler_edit, 1, 1)
        f4.addWidget(QLabel("Synths per worker"), 2, 0)
        f4.addWidget(self.threads_spin, 2, 1)
        self.local_radio.toggled.connect(self._validate)

        run = QGroupBox("Run")
        v = QVBoxLayout(run)
        buttons = QHBoxLayout()
        self.start_button = QPushButton("&Start")
        self.start_button.setAccessibleName("Start or resume the dataset build")
        self.start_button.setStyleSheet("font-weight: bold; padding: 6px 18px;")
        self.start_button.setShortcut(QKeySequence("Ctrl+Return"))
        self.start_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("&Cancel")
        self.cancel_button.setAccessibleName("Cancel the build (it can be resumed)")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel)
        self.open_folder_button = QPushButton("Open f&older")
        self.open_folder_button.setAccessibleName("Open the output folder in the file manager")
        self.open_folder_button.clicked.connect(
            lambda: QDesktopServices.openUrl(QUrl.fromLocalFile(self.out_edit.text())))
        self.problem_label = QLabel("")
        self.problem_label.setAccessibleName("Why Start is disabled")
        self.problem_label.setStyleSheet("color: #ff8a7a;")
        self.problem_label.setWordWrap(True)
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.open_folder_button)
        buttons.addWidget(self.problem_label, 1)
        v.addLayout(buttons)
        self.stage_label = QLabel("Idle")
        self.stage_label.setAccessibleName("Current stage")
        self.stage_label.setStyleSheet("font-weight: bold;")
        v.addWidget(self.stage_label)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Overall progress in tracks")
        self.progress.setFormat("%v of %m tracks")
        self.progress.setValue(0)
        v.addWidget(self.progress)
        self.time_label = QLabel("")
        self.time_label.setAccessibleName("Elapsed time and estimated time left")
        self.time_label.setStyleSheet("font-family: monospace;")
        v.addWidget(self.time_label)
        self.summary_label = QLabel("")
        self.summary_label.setWordWrap(True)
        self.summary_label.setAccessibleName("Result of the build")
        self.summary_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        v.addWidget(self.summary_label)
        self.fail_label = QLabel("Failed songs: none")
        self.fail_label.setAccessibleName("Failed songs count")
        v.addWidget(self.fail_label)
        self.fail_list = QListWidget()
        self.fail_list.setAccessibleName("Failed songs with their reasons")
        self.fail_list.setWordWrap(True)
        self.fail_list.hide()
        v.addWidget(self.fail_list, 1)
        v.addStretch(0)

        left = QVBoxLayout()
        left.addWidget(io)
        left.addWidget(sel)
        left.addStretch(1)
        right = QVBoxLayout()
        right.addWidget(ren)
        right.addWidget(where)
        right.addStretch(1)
        grid.addLayout(left, 0, 0)
        grid.addLayout(right, 0, 1)
        grid.addWidget(run, 1, 0, 1, 2)
        grid.setRowStretch(1, 1)
        self._option_widgets = [io, sel, ren, where]
        return w

    # ------------------------------------------------------------------------------------------ options
    def options(self) -> DatasetOptions:
        """The dataset options the form describes; :class:`DatasetError` (one line) when it describes none."""
        try:
            band = parse_band(self.band_edit.text())
        except ValueError as exc:
            raise DatasetError(f"band: {exc}") from None
        split = parse_split(self.split_edit.text())
        bank = Path(self.bank_edit.text().strip()).expanduser()
        if not self.bank_edit.text().strip() or not bank.is_file():
            raise DatasetError(f"bank: no such file {str(bank)!r}")
        return DatasetOptions(bank=bank, count=self.count_spin.value() or None, seed=self.seed_spin.value(),
                              band=band, min_notes=self.min_notes_spin.value(),
                              allow_multiple_drums=self.multi_drums_check.isChecked(), split=split,
                              fmt=self.format_combo.currentText(), flakh=self.flakh_check.isChecked(),
                              fluid_effects=self.fx_check.isChecked(), tail=self.tail_spin.value(),
                              lint=self.lint_check.isChecked())

    def problems(self) -> list[str]:
        """What keeps Start from running, first problem first (empty: ready)."""
        out = []
        midi = self.midi_edit.text().strip()
        if not midi:
            out.append("choose a MIDI folder")
        elif not Path(midi).expanduser().is_dir():
            out.append(f"MIDI folder {midi!r} does not exist")
        if not self.out_edit.text().strip():
            out.append("choose an output folder")
        if self.dask_radio.isChecked() and not self.scheduler_edit.text().strip():
            out.append("enter the Dask scheduler address")
        try:
            self.options()
        except DatasetError as exc:
            out.append(str(exc))
        return out

    def _validate(self) -> bool:
        try:
            weights = parse_split(self.split_edit.text())
        except DatasetError as exc:
            self.split_edit.setStyleSheet(BAD_STYLE)
            self.split_edit.setToolTip(str(exc))
            self.split_hint.setText(f"<span style='color:#ff8a7a'>{exc}</span>")
        else:
            self.split_edit.setStyleSheet("")
            self.split_edit.setToolTip("Weights like 1500:375:225 (Slakh2100) or fractions like 0.8,0.1,0.1")
            total = sum(weights)
            share = " · ".join(f"{name} {100 * w / total:.1f} %" for name, w in
                               zip(("train", "validation", "test"), weights, strict=True))
            n = self.count_spin.value() or (len(self.manifest["tracks"]) if self.manifest else 0)
            if n:
                t, va, te = split_counts(n, weights)
                share += f"  (of {n}: {t} / {va} / {te})"
            self.split_hint.setText(share)
        try:
            parse_band(self.band_edit.text())
            self.band_edit.setStyleSheet("")
        except ValueError as exc:
            self.band_edit.setStyleSheet(BAD_STYLE)
            self.band_edit.setToolTip(str(exc))
        self.scheduler_edit.setEnabled(self.dask_radio.isChecked())
        self.workers_spin.setEnabled(self.local_radio.isChecked())
        problems = self.problems()
        running = self.running()
        self.start_button.setEnabled(not problems and not running)
        self.problem_label.setText("" if running or not problems else f"Start: {problems[0]}")
        self.start_button.setText("Re&sume" if self._resumable() else "&Start")
        return not problems

    def _resumable(self) -> bool:
        m = self.manifest
        return bool(m) and any(t["status"] != "done" for t in m["tracks"])

    def _band_text_changed(self, text: str) -> None:
        try:
            chosen = set(parse_band(text))
        except ValueError:
            chosen = None
        if chosen is not None:
            for fam, a in self.family_actions.items():
                a.blockSignals(True)
                a.setChecked(fam in chosen)
                a.blockSignals(False)
        self._validate()

    def _family_toggled(self) -> None:
        chosen = [fam for fam, a in self.family_actions.items() if a.isChecked()]
        self.band_edit.setText(",".join(chosen))

    def _flakh_toggled(self, on: bool) -> None:
        current = Path(self.bank_edit.text()).expanduser()
        if on and current == paths.default_bank():
            self.bank_edit.setText(str(paths.flakh_bank()))
        elif not on and current == paths.flakh_bank():
            self.bank_edit.setText(str(paths.default_bank()))

    def apply_manifest_options(self, manifest: dict) -> None:
        """Fill the form from a dataset's manifest, so that Start resumes it."""
        o = manifest.get("options") or {}
        if o.get("midi_dir"):
            self.midi_edit.setText(str(o["midi_dir"]))
        self.count_spin.setValue(int(o.get("count") or 0))
        self.seed_spin.setValue(int(o.get("seed", 0)))
        self.band_edit.setText(",".join(o.get("band") or DEFAULT_BAND))
        self.min_notes_spin.setValue(int(o.get("min_notes", 50)))
        self.multi_drums_check.setChecked(bool(o.get("allow_multiple_drums", False)))
        if o.get("split"):
            self.split_edit.setText(_weights_text(o["split"]))
        self.format_combo.setCurrentText(str(o.get("fmt", "flac")))
        self.flakh_check.blockSignals(True)
        self.flakh_check.setChecked(bool(o.get("flakh", False)))
        self.flakh_check.blockSignals(False)
        self.fx_check.setChecked(bool(o.get("fluid_effects", False)))
        self.tail_spin.setValue(float(o.get("tail", 5.0)))
        self.lint_check.setChecked(bool(o.get("lint", True)))
        bank = (manifest.get("bank") or {}).get("path")
        if bank:
            self.bank_edit.setText(str(bank))

    # ------------------------------------------------------------------------------------------ folders
    def _pick_midi(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "MIDI folder", self.midi_edit.text() or str(Path.home()))
        if path:
            self.midi_edit.setText(path)

    def _pick_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Dataset output folder", self.out_edit.text() or str(Path.home()))
        if path:
            self.out_edit.setText(path)

    def _pick_bank(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Patch bank", str(Path(self.bank_edit.text()).parent),
                                              "Patch banks (*.yaml *.yml);;All files (*)")
        if path:
            self.bank_edit.setText(path)

    def open_dataset(self, path: Path) -> None:
        """Show a dataset folder: a Slakh Studio dataset fills the form (resume), and any Slakh-layout folder gets
        its lint report and statistics."""
        path = Path(path)
        if (path / MANIFEST).is_file() or not path.exists():
            self.out_edit.setText(str(path))
            self.check_output()
        else:
            self.stats_panel.set_folder(path)
            self.lint_panel.set_root(path)
            self.tabs.setCurrentWidget(self.stats_panel)

    def _out_changed(self) -> None:
        self._validate()
        self.manifest_timer.start()

    def check_output(self) -> Job | None:
        """Read the output folder's manifest in the background (resume state, options)."""
        self.manifest_timer.stop()
        text = self.out_edit.text().strip()
        if not text or self.running():
            return None
        out = Path(text).expanduser()
        job = Job(_read_manifest, out, with_hooks=False)
        job.signals.error.connect(lambda exc: self._manifest_ready(out, None, str(exc)))
        return self._start(job, lambda m: self._manifest_ready(out, m))

    def _manifest_ready(self, out: Path, manifest: dict | None, error: str = "") -> None:
        if Path(self.out_edit.text().strip()).expanduser() != out:
            return  # the user typed on
        self.manifest = manifest
        if error:
            self.resume_label.setText(f"<span style='color:#ff8a7a'>{error}</span>")
        elif manifest is None:
            busy = out.is_dir() and any(out.iterdir())
            self.resume_label.setText("Not empty and no dataset.yaml: choose an empty folder." if busy
                                      else "New dataset.")
            self.lint_panel.set_root(None)
        else:
            tracks = manifest["tracks"]
            done = sum(t["status"] == "done" for t in tracks)
            failed = sum(t["status"] == "failed" for t in tracks)
            extra = f", {failed} failed before (retried)" if failed else ""
            state = "complete" if done == len(tracks) else "resume"
            self.resume_label.setText(f"<b>{state}: {done} of {len(tracks)} tracks done</b>{extra} · options "
                                      f"below are the dataset's (bank {manifest['bank'].get('name', '?')})")
            self.apply_manifest_options(manifest)
            self.lint_panel.set_root(out)
            self.stats_panel.set_folder(out)
        self._validate()
        self.manifestLoaded.emit(manifest)

    # ------------------------------------------------------------------------------------------ run
    def running(self) -> bool:
        return self.run_job is not None

    def _start(self, job: Job, on_result) -> Job:
        self.jobs.add(job)
        job.signals.result.connect(on_result)
        job.signals.finished.connect(lambda: self.jobs.discard(job))
        return job.start(self.pool)

    def start(self) -> Job | None:
        """Start (or resume) the build; None, with the reason in the message bar, when the form is not ready."""
        if self.running():
            return None
        problems = self.problems()
        if problems:
            self.show_error(f"Cannot start: {problems[0]}.")
            self._validate()
            return None
        options = self.options()
        midi = Path(self.midi_edit.text().strip()).expanduser()
        out = Path(self.out_edit.text().strip()).expanduser()
        local = self.local_radio.isChecked()
        job = Job(run_dataset, midi, out, options, workers=self.workers_spin.value() if local else None,
                  scheduler=None if local else self.scheduler_edit.text().strip(),
                  threads=self.threads_spin.value(), log=self.logged.emit)
        job.signals.progress.connect(self._on_progress)
        job.signals.error.connect(self._run_failed)
        job.signals.cancelled.connect(self._run_cancelled)
        job.signals.finished.connect(self._run_finished)
        self.run_job = job
        self._result = None
        self.message.hide()
        self.failures = {}
        self.fail_list.clear()
        self.fail_list.hide()
        self.fail_label.setText("Failed songs: none")
        self.summary_label.setText("")
        self._pending = None
        self._render_base = None
        self._t_start = time.monotonic()
        self.progress.setRange(0, 0)
        self.stage_label.setText("Starting …")
        for g in self._option_widgets:
            g.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self._save_settings()
        self._validate()
        self.timer.start()
        return self._start(job, self._run_done)

    def cancel(self) -> None:
        if self.run_job is not None:
            self.run_job.cancel()
            self.cancel_button.setEnabled(False)
            self.stage_label.setText("Cancelling: stopping the workers …")

    def _on_progress(self, p: Progress) -> None:  # maybe thousands per second while scanning: paint on the timer
        self._pending = p

    def _tick(self) -> None:
        now = time.monotonic()
        elapsed = now - self._t_start
        p = self._pending
        eta = ""
        if p is not None and self.run_job is not None and not self.run_job.token.cancelled:
            self.stage_label.setText(STAGES.get(p.stage, p.stage) + (f" — {p.item}" if p.item else ""))
            if p.stage == "index":
                self.progress.setRange(0, 0)
            else:
                self.progress.setRange(0, max(1, int(p.total)))
                self.progress.setValue(int(p.done))
                self.progress.setFormat("%v of %m tracks" if p.stage == "render" else "%v of %m MIDI files scanned")
            if p.stage == "render":
                if self._render_base is None:
                    self._render_base = (now, int(p.done))
                t0, d0 = self._render_base
                done_now = int(p.done) - d0
                left = int(p.total) - int(p.done)
                if left <= 0:
                    eta = " · ETA 0:00"
                elif done_now > 0 and now > t0:
                    eta = f" · ETA {_clock(left * (now - t0) / done_now)} ({done_now / ((now - t0) / 60):.1f} tracks/min)"
                else:
                    eta = " · ETA: after the first track"
        self.time_label.setText(f"elapsed {_clock(elapsed)}{eta}")

    def _add_failure(self, line: str) -> None:
        track, _, reason = line.partition(" ")
        self.failures[track.rstrip(":")] = reason
        self.fail_list.addItem(line)
        self.fail_list.show()
        n = self.fail_list.count()
        self.fail_label.setText(f"Failed songs: {n} (recorded and skipped; a resume retries them)")

    def _run_done(self, result: DatasetResult) -> None:
        self._result = self.last_result = result
        self.manifest = result.manifest
        c = result.counts
        sel = result.manifest.get("selection", {})
        for track, reason in result.failed.items():
            if track not in self.failures:
                self._add_failure(f"{track}: {reason}")
        rate = result.audio_seconds / 3600 / (result.seconds / 60) if result.seconds > 0 else 0.0
        self.summary_label.setText(
            f"<b>Done: {c['train']} train, {c['validation']} validation, {c['test']} test tracks</b> in "
            f"{result.out} — {len(result.rendered)} rendered now, {len(result.skipped)} already done, "
            f"{len(result.failed)} failed.<br>Songs: {sel.get('scanned', '?')} MIDI files scanned, "
            f"{sel.get('eligible', '?')} pass, {sel.get('selected', '?')} selected, {sel.get('rejected', '?')} "
            f"rejected, {sel.get('duplicates', 0)} duplicates (see selection.yaml).<br>"
            f"Rendered {result.audio_seconds / 60:.1f} min of mixture in {result.seconds:.1f} s ({rate:.3f} h per "
            f"minute) · {len(result.lint)} lint finding{'s' if len(result.lint) != 1 else ''} · mirdata index "
            "index_slakh.json")
        total = len(result.manifest["tracks"])
        done = sum(c.values())
        self.resume_label.setText(f"<b>{'complete' if done == total else 'resume'}: {done} of {total} tracks "
                                  "done</b>")
        self.lint_panel.set_root(result.out)
        self.stats_panel.set_folder(result.out)
        if result.lint:
            self.tabs.setTabText(1, f"&Lint ({len(result.lint)})")

    def _run_failed(self, exc: Exception) -> None:
        text = str(exc).strip()
        if not isinstance(exc, DatasetError | DaskUnavailable | OSError):  # a bug somewhere: say what it was
            text = f"{type(exc).__name__}: {text}" if text else f"unexpected {type(exc).__name__}"
        self.show_error(f"Dataset build failed: {text.splitlines()[0] if text else type(exc).__name__}")
        self.message.label.setToolTip(getattr(exc, "traceback_text", ""))

    def _run_cancelled(self) -> None:
        self.stage_label.setText("Cancelled — the folder is resumable: Start continues where it stopped")

    def _run_finished(self) -> None:
        job, self.run_job = self.run_job, None
        self.timer.stop()
        self._tick()
        for g in self._option_widgets:
            g.setEnabled(True)
        self.cancel_button.setEnabled(False)
        result, self._result = self._result, None
        if result is not None:
            total = len(result.manifest["tracks"])
            self.progress.setRange(0, max(1, total))
            self.progress.setValue(sum(result.counts.values()) + len(result.failed))
            self.stage_label.setText("Finished")
        else:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)
            if job is not None and not job.token.cancelled:
                self.stage_label.setText("Failed (see the message above)")
            self.check_output()
        self._validate()
        self.runFinished.emit(result)
        if self._close_when_done:
            self._close_when_done = False
            self.close()

    # ------------------------------------------------------------------------------------------ results
    def _lint_loaded(self, n: int) -> None:
        self.tabs.setTabText(1, f"&Lint ({n})" if n else "&Lint")

    def _tab_changed(self, index: int) -> None:
        if self.tabs.widget(index) is self.stats_panel and self.stats_panel.stale():
            self.stats_panel.compute()

    def _panel_message(self, text: str, error: bool) -> None:
        self.message.show_message(text, error=error)

    def show_error(self, text: str) -> None:
        self.message.show_message(text, error=True)

    # ------------------------------------------------------------------------------------------ drag and drop
    def _dropped_folder(self, event) -> Path | None:
        md = event.mimeData()
        local = [Path(u.toLocalFile()) for u in md.urls() if u.isLocalFile()] if md.hasUrls() else []
        return local[0] if local and local[0].is_dir() else None

    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self._dropped_folder(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt override)
        folder = self._dropped_folder(event)
        if folder is None:
            return
        event.acceptProposedAction()
        if _is_dataset_folder(folder):
            self.open_dataset(folder)
        else:
            self.midi_edit.setText(str(folder))

    def eventFilter(self, obj, event) -> bool:  # noqa: N802 (Qt override)
        kind = event.type()
        if obj in (getattr(self, "midi_edit", None), getattr(self, "out_edit", None)):
            if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and self._dropped_folder(event) is not None:
                event.acceptProposedAction()
                return True
            if kind == QEvent.Type.Drop and self._dropped_folder(event) is not None:
                event.acceptProposedAction()
                obj.setText(str(self._dropped_folder(event)))
                return True
        elif obj is self.parent() and kind == QEvent.Type.Close and self.running():
            if self.confirm_on_close and not self._confirm_stop():
                event.ignore()
                return True
            self.shutdown()
        return super().eventFilter(obj, event)

    # ------------------------------------------------------------------------------------------ closing
    def _confirm_stop(self) -> bool:
        answer = QMessageBox.question(
            self, "A dataset is being built",
            "Stop the build? The tracks done so far are kept; Start with the same options resumes it.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def shutdown(self, timeout_ms: int = 15000) -> None:
        """Cancel every job of the dialog and wait for them (the app is quitting)."""
        if self.run_job is not None:
            self.run_job.cancel()
        self.lint_panel.cancel_jobs()
        self.stats_panel.cancel_jobs()
        self.pool.waitForDone(timeout_ms)

    def reject(self) -> None:  # Esc: close, with the same questions
        self.close()

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if self.running():
            if self.confirm_on_close and not self._confirm_stop():
                event.ignore()
                return
            self._close_when_done = True
            self.cancel()
            event.ignore()  # closes when the build has stopped
            return
        self.stats_panel.cancel_jobs()
        self._save_settings()
        event.accept()

    # ------------------------------------------------------------------------------------------ settings
    def _restore_settings(self) -> None:
        s = self.settings
        self.midi_edit.setText(str(s.value("dataset/midi_dir", "", type=str)))
        self.out_edit.setText(str(s.value("dataset/out", "", type=str)))
        bank = str(s.value("dataset/bank", "", type=str))
        if bank:
            self.bank_edit.setText(bank)
        self.workers_spin.setValue(int(s.value("dataset/workers", default_workers(), type=int)))
        self.scheduler_edit.setText(str(s.value("dataset/scheduler", "", type=str)))

    def _save_settings(self) -> None:
        s = self.settings
        s.setValue("dataset/midi_dir", self.midi_edit.text())
        s.setValue("dataset/out", self.out_edit.text())
        s.setValue("dataset/bank", self.bank_edit.text())
        s.setValue("dataset/workers", self.workers_spin.value())
        s.setValue("dataset/scheduler", self.scheduler_edit.text())


# ---------------------------------------------------------------------------------------------- main window glue
def dataset_dialog(window) -> DatasetDialog:
    """The main window's Dataset dialog (one per window), opening tracks in that window."""
    dialog = window.findChild(DatasetDialog)
    if dialog is None:
        dialog = DatasetDialog(window, getattr(window, "settings", None),
                               confirm_on_close=getattr(window, "confirm_on_close", True))
        if hasattr(window, "open_path"):
            dialog.openTrackRequested.connect(lambda path, stem: _open_in_window(window, Path(path), stem))
    return dialog


def _open_in_window(window, path: Path, stem: str) -> None:
    """Open a track folder in the main window and select ``stem`` there once it is loaded."""
    if stem:
        def select() -> None:
            window.songLoaded.disconnect(select)
            if stem in window.stems:
                window.select_stem(stem)

        window.songLoaded.connect(select)
    window.open_path(path)
    window.raise_()


def show_dataset_dialog(window) -> DatasetDialog:
    dialog = dataset_dialog(window)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog


def open_dataset_folder(window, path: Path | None = None) -> DatasetDialog | None:
    """Ask for a dataset folder (ours, Slakh2100, BabySlakh) and show it in the Dataset dialog."""
    if path is None:
        chosen = QFileDialog.getExistingDirectory(window, "Open a dataset folder", str(Path.home()))
        if not chosen:
            return None
        path = Path(chosen)
    dialog = show_dataset_dialog(window)
    dialog.open_dataset(Path(path))
    return dialog
