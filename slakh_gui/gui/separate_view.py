"""The Separate panel: run a separation model on the loaded mix (or a selected region of it) in the background,
score its estimate and the oracle masks' estimates of the same target against the truth, listen with one-click A/B,
export the estimate.

The truth is the model's recipe group submixed from the loaded stems (any rendered song or Slakh track folder), so
SI-SDR and its improvement over the mixture are shown whenever stems are loaded. The oracle masks (IBM, IRM,
Wiener-like, truncated PSF) are computed in the model's STFT from the truth: they show how far the model stands from
the best a mask of that kind can do, and they can be listened to like the model's estimate.

Playback goes through the window's :class:`~slakh_gui.core.playback.Player`: every estimate, the truth and the mix
are its sources at once and the A/B buttons only move the gains (heard from the next audio block, play position
kept). torch is imported only in worker threads (listing and loading models), never at the app's start.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from slakh_gui.core.jobs import Progress, check, report
from slakh_gui.gui.separate_plots import SpectrogramStack
from slakh_gui.gui.workers import Job

ORACLE_KEYS = ("ibm", "irm", "wiener", "tpsf")
ROWS = (  # key, label, tooltip
    ("model", "Model", "The model's estimate"),
    ("ibm", "IBM", "Ideal binary mask: 1 where the target is louder than the rest (oracle: uses the truth)"),
    ("irm", "IRM", "Ideal ratio mask |S| / (|S| + |N|) (oracle: uses the truth)"),
    ("wiener", "Wiener-like", "Wiener-like mask |S|² / (|S|² + |N|²) (oracle: uses the truth)"),
    ("tpsf", "tPSF", "Truncated phase-sensitive filter, the best mask the model's tPSA loss aims at "
                     "(oracle: uses the truth)"),
    ("mixture", "Mixture", "The unprocessed mixture (SI-SDR improvement 0 by definition)"),
)
LABELS = {k: label for k, label, _ in ROWS}
PARTS = (("estimate", "Estimate", "1"), ("residual", "Residual", "2"), ("truth", "Truth", "3"), ("mix", "Mix", "4"))
MIN_REGION = 0.5  # seconds
AUDIO_FILTER = "WAV (*.wav);;FLAC (*.flac)"


# ---------------------------------------------------------------------------------------------- worker side (no Qt)
@dataclass
class Estimate:
    key: str  # a ROWS key
    audio: np.ndarray
    si_sdr: float | None = None  # None: no truth; NaN: the truth is silent
    si_sdri: float | None = None


@dataclass
class SeparationRun:
    """One separation of a mix (or a region of it) and what it is compared with; audio at ``sample_rate``."""

    model_name: str
    target: str
    sample_rate: int
    offset: float  # seconds into the loaded audio where ``mix`` starts (range mode)
    mix: np.ndarray
    truth: np.ndarray | None  # None: no stems loaded
    estimates: dict[str, Estimate] = field(default_factory=dict)  # model, oracles, mixture (in ROWS order)
    seconds: float = 0.0  # time the model took
    truth_silent: bool = False

    @property
    def duration(self) -> float:
        return len(self.mix) / self.sample_rate

    def gap_to(self, key: str) -> float | None:
        """How many dB the model's SI-SDR is below the estimate ``key``'s (None when either is unknown)."""
        a, b = self.estimates.get("model"), self.estimates.get(key)
        if a is None or b is None or a.si_sdr is None or b.si_sdr is None:
            return None
        gap = b.si_sdr - a.si_sdr
        return gap if math.isfinite(gap) else None


def list_models() -> dict[str, Path | None]:
    from slakh_gui.separation.model import shipped_models  # noqa: PLC0415  (imports torch: worker side)

    return shipped_models()


def load_model(name_or_path):
    """Worker side of picking a model: :func:`slakh_gui.separation.model.load_model` (ModelLoadError says why)."""
    from slakh_gui.separation.model import load_model as _load  # noqa: PLC0415

    return _load(name_or_path)


def run_separation(model, mix: np.ndarray, stems: dict[str, np.ndarray], metadata: dict, sample_rate: int,
                   span: tuple[int, int] | None = None, oracles: bool = True, *, progress=None,
                   cancel=None) -> SeparationRun:
    """The model's estimate of its target in ``mix[span]``; with stems, the truth (the model's recipe group
    submixed from ``stems`` by ``metadata``), SI-SDR and SI-SDRi of every estimate, and the oracle estimates."""
    from slakh_gui.separation import inference  # noqa: PLC0415

    sr = int(sample_rate)
    a, b = span if span is not None else (0, len(mix))
    mix = np.ascontiguousarray(mix[a:b], dtype=np.float32)
    truth = None
    if stems:
        truth = model.recipe.submix(stems, metadata, length=b)[model.target][a:b]
        truth = np.ascontiguousarray(np.pad(truth, (0, len(mix) - len(truth))), dtype=np.float32)
    with_oracles = oracles and truth is not None
    weight = 0.6 if with_oracles else 0.95

    def stage(lo: float, hi: float):
        def relay(p: Progress) -> None:
            report(progress, "separate" if lo == 0 else "oracles", lo + (hi - lo) * p.fraction, 1.0)
        return relay

    t0 = time.monotonic()
    est = inference.separate(mix, sr, model, stage(0.0, weight), cancel)
    seconds = time.monotonic() - t0
    run = SeparationRun(model_title(model), model.target, sr, a / sr, mix, truth, seconds=seconds)
    run.estimates["model"] = Estimate("model", est)
    if with_oracles:
        check(cancel)
        for k, v in inference.oracle_estimates(mix, truth, sr, ORACLE_KEYS, stage(weight, 0.95), cancel).items():
            run.estimates[k] = Estimate(k, v)
    run.estimates["mixture"] = Estimate("mixture", mix)
    if truth is not None:
        check(cancel)
        run.truth_silent = not np.any(truth)
        for e in run.estimates.values():
            e.si_sdr, e.si_sdri = inference.score(e.audio, truth, mix, sr)
    report(progress, "score", 1.0, 1.0)
    return run


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def _plural(n, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def model_title(model) -> str:
    """A short name: the shipped model's name, a file's stem (``run/model`` for a training run's model.pt)."""
    if model.path is not None and model.path.stem == "model" and model.path.parent.name:
        return f"{model.path.parent.name}/{model.path.stem}"
    return model.name


def describe_model(model) -> str:
    """``model.describe()`` and its training summary, for the panel (plain text, a few lines)."""
    lines = [model.describe()]
    t = model.training or {}
    parts = []
    prior = int(t.get("prior_epochs") or 0)  # epochs of the model a fine-tuning run started from
    if t.get("epochs"):
        best = t.get("best_epoch")
        parts.append(f"{_plural(prior + int(t['epochs']), 'epoch')} (best {prior + int(best) if best else '?'}"
                     + (f"; {prior} before this run" if prior else "") + ")")
    if t.get("train_tracks"):
        hours = t.get("train_hours")
        parts.append(f"on {_plural(t['train_tracks'], 'track')}"
                     + (f" ({hours:.1f} h of audio)" if isinstance(hours, float) else ""))
    if parts:
        lines.append("Trained " + " ".join(parts))
    more = []
    if isinstance(t.get("val_loss"), float):
        more.append(f"val. loss {t['val_loss']:.3f}")
    if isinstance(t.get("train_seconds"), float):
        seconds = t["train_seconds"] + float(t.get("prior_seconds") or 0.0)
        more.append(f"{_duration(seconds)} on {t.get('device', '?')}")
    if t.get("date"):
        more.append(str(t["date"])[:10])
    if more:
        lines.append(" · ".join(more))
    return "\n".join(lines)


def _combo_key_for(path: Path | None) -> str | None:
    """The model combo's data for a model file: ``shipped:NAME`` for a shipped model's file, else ``file:PATH``."""
    if path is None:
        return None
    from slakh_gui import paths  # noqa: PLC0415

    shipped = paths.resources_dir() / "models"
    try:
        if path.resolve().parent == shipped.resolve():
            return f"shipped:{path.stem}"
    except OSError:
        pass
    return f"file:{path}"


def _fmt_db(value: float | None) -> str:
    if value is None:
        return "—"
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "+∞" if value > 0 else "−∞"
    return f"{value:+.1f}"


def _clock(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


# ---------------------------------------------------------------------------------------------- the panel
class SeparateView(QWidget):
    """Pick a model, separate the loaded mix (or the selected region), compare with the oracles, listen, export.

    The window feeds it ``set_track(mix, stems, sr, metadata, name)``, ``set_region(start, end)`` (``end <= start``
    clears it) and ``set_player(get_player, note)``; it reports errors through ``errorRaised`` (the message bar) and
    notes through ``statusMessage``.
    """

    errorRaised = Signal(str)
    statusMessage = Signal(str)
    modelsListed = Signal(object)  # {name: path or None}
    modelLoaded = Signal(object)  # SeparationModel
    separationFinished = Signal(object)  # SeparationRun, or None when cancelled or failed

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setAccessibleName("Separate panel")
        self.settings = settings
        self.model = None  # SeparationModel
        self.mix: np.ndarray | None = None
        self.stems: dict[str, np.ndarray] = {}
        self.metadata: dict = {}
        self.sample_rate = 44100
        self.track_name = ""
        self.region: tuple[float, float] | None = None
        self.run: SeparationRun | None = None
        self.job: Job | None = None
        self.model_job: Job | None = None
        self.jobs: set[Job] = set()
        self.selected = "model"
        self.part = "estimate"
        self.took_player = False
        self._get_player: Callable | None = None
        self.player_note = ""
        self._listed = False
        self._residuals: dict[str, np.ndarray] = {}
        self._resampled: dict[tuple[str, int], np.ndarray] = {}
        self._sources_of: tuple[int, int] | None = None  # (id(player), length) our sources were given to
        self._given: set[str] = set()  # the source keys the player has
        self._generation = 0
        self._build()
        self.timer = QTimer(self, interval=50)
        self.timer.timeout.connect(self._tick)
        self._update_enabled()

    # ------------------------------------------------------------------------------------------ layout
    def _build(self) -> None:
        # model and run controls
        controls = QWidget()
        cl = QVBoxLayout(controls)
        cl.setContentsMargins(6, 4, 6, 4)
        cl.setSpacing(4)
        row = QHBoxLayout()
        row.addWidget(QLabel("Model"))
        self.model_combo = QComboBox()
        self.model_combo.setAccessibleName("Separation model")
        self.model_combo.setToolTip("A shipped model (bass, drums, guitar, piano) or a model file you opened")
        self.model_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.model_combo.setModel(QStandardItemModel(self.model_combo))
        self.model_combo.activated.connect(self._combo_activated)
        row.addWidget(self.model_combo, 1)
        self.browse_button = QToolButton(text="…")
        self.browse_button.setAccessibleName("Open a model file")
        self.browse_button.setToolTip("Open a model file (.pt) trained with slakh-studio train")
        self.browse_button.clicked.connect(self.open_model_dialog)
        row.addWidget(self.browse_button)
        cl.addLayout(row)
        self.model_label = QLabel("No model loaded")
        self.model_label.setAccessibleName("Model description")
        self.model_label.setWordWrap(True)
        self.model_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.model_label.setStyleSheet("color: #b9bdc4; font-size: 8pt;")
        self.model_label.setMinimumHeight(58)
        self.model_label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        cl.addWidget(self.model_label)
        self.range_check = QCheckBox("Only the selected region")
        self.range_check.setAccessibleName("Range mode: separate only the selected region")
        self.range_check.setToolTip("Shift+drag a region (10–30 s is plenty) on the mix spectrogram above, "
                                    "to try models quickly")
        self.range_check.toggled.connect(self._update_region_label)
        cl.addWidget(self.range_check)
        self.region_label = QLabel()
        self.region_label.setAccessibleName("Selected region")
        self.region_label.setStyleSheet("color: #9aa0a8; font-size: 8pt; margin-left: 20px;")
        cl.addWidget(self.region_label)
        self.oracle_check = QCheckBox("Oracle masks (IBM, IRM, Wiener, tPSF)")
        self.oracle_check.setAccessibleName("Also compute the oracle masks' estimates")
        self.oracle_check.setToolTip("The best each kind of mask can do, computed from the truth: "
                                     "how far is the model from them?")
        self.oracle_check.setChecked(True)
        cl.addWidget(self.oracle_check)
        buttons = QHBoxLayout()
        self.run_button = QPushButton("Separate")
        self.run_button.setAccessibleName("Separate the mix with the model")
        self.run_button.setStyleSheet("font-weight: bold; padding: 5px;")
        self.run_button.clicked.connect(self.start)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel the separation")
        self.cancel_button.clicked.connect(self.cancel)
        buttons.addWidget(self.run_button, 1)
        buttons.addWidget(self.cancel_button)
        cl.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Separation progress")
        self.progress.setMaximumHeight(14)
        self.progress.setTextVisible(False)
        cl.addWidget(self.progress)
        self.info_label = QLabel("Render the song or open a track folder, then separate.")
        self.info_label.setAccessibleName("Separation result")
        self.info_label.setWordWrap(True)
        self.info_label.setStyleSheet("font-size: 8pt;")
        self.info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        cl.addWidget(self.info_label)
        cl.addStretch(1)

        # scores and listening
        scores = QWidget()
        sl = QVBoxLayout(scores)
        sl.setContentsMargins(4, 4, 4, 4)
        sl.setSpacing(4)
        self.table = QTableWidget(len(ROWS), 3)
        self.table.setAccessibleName("Scores of the estimates")
        self.table.setHorizontalHeaderLabels(["Estimate", "SI-SDR dB", "SI-SDRi dB"])
        self.table.horizontalHeaderItem(1).setToolTip("Scale-invariant SDR against the truth, dB (at 16 kHz)")
        self.table.horizontalHeaderItem(2).setToolTip("SI-SDR improvement over the unprocessed mixture, dB")
        self.table.verticalHeader().hide()
        self.table.verticalHeader().setDefaultSectionSize(22)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in (1, 2):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        for r, (key, label, tip) in enumerate(ROWS):
            item = QTableWidgetItem(label)
            item.setToolTip(tip)
            item.setData(Qt.ItemDataRole.UserRole, key)
            self.table.setItem(r, 0, item)
            for c in (1, 2):
                cell = QTableWidgetItem("—")
                cell.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                cell.setToolTip(tip)
                self.table.setItem(r, c, cell)
        self.table.setFixedHeight(24 + 22 * len(ROWS) + 2)
        self.table.itemSelectionChanged.connect(self._row_selected)
        sl.addWidget(self.table)
        self.gap_label = QLabel("")
        self.gap_label.setAccessibleName("Distance from the oracles")
        self.gap_label.setWordWrap(True)
        self.gap_label.setStyleSheet("font-size: 8pt; color: #b9bdc4;")
        sl.addWidget(self.gap_label)
        seg = QHBoxLayout()
        seg.setSpacing(0)
        self.part_group = QButtonGroup(self)
        self.part_group.setExclusive(True)
        self.part_buttons: dict[str, QPushButton] = {}
        for i, (key, text, shortcut) in enumerate(PARTS):
            b = QPushButton(text)
            b.setCheckable(True)
            b.setAccessibleName(f"Listen to the {text.lower()}")
            b.setToolTip(f"Listen to the {text.lower()} ({shortcut}); switching keeps the play position")
            first, last = i == 0, i == len(PARTS) - 1
            radius = ("border-top-left-radius: 4px; border-bottom-left-radius: 4px;" if first else "") + (
                "border-top-right-radius: 4px; border-bottom-right-radius: 4px;" if last else "")
            b.setStyleSheet("QPushButton { padding: 4px 6px; border: 1px solid #4a4d53; border-radius: 0; "
                            f"{radius} }} QPushButton:checked {{ background: #3465a4; color: white; }}")
            b.clicked.connect(lambda checked=False, k=key: self.listen(k))
            self.part_group.addButton(b)
            self.part_buttons[key] = b
            seg.addWidget(b)
            sc = QShortcut(QKeySequence(shortcut), self)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda k=key: self.listen(k))
        self.part_buttons["estimate"].setChecked(True)
        sl.addLayout(seg)
        transport = QHBoxLayout()
        self.play_button = QPushButton("▶ Play")
        self.play_button.setAccessibleName("Play or pause the separation")
        self.play_button.clicked.connect(self.toggle_play)
        self.loop_check = QCheckBox("Loop")
        self.loop_check.setAccessibleName("Loop the separated audio")
        self.loop_check.setChecked(True)
        self.loop_check.toggled.connect(self._apply_loop)
        self.time_label = QLabel("0:00.0 / 0:00.0")
        self.time_label.setStyleSheet("font-family: monospace; font-size: 8pt;")
        self.export_button = QPushButton("Export…")
        self.export_button.setAccessibleName("Export the selected estimate")
        self.export_button.setToolTip("Write the selected row's estimate as WAV or FLAC")
        self.export_button.clicked.connect(self.export_dialog)
        transport.addWidget(self.play_button)
        transport.addWidget(self.loop_check)
        transport.addWidget(self.time_label, 1)
        transport.addWidget(self.export_button)
        sl.addLayout(transport)
        sl.addStretch(1)

        self.plots = SpectrogramStack([("mix", "Mix"), ("estimate", "Estimate"), ("truth", "Truth")])
        self.plots.seekRequested.connect(self.seek)

        scroll = QScrollArea()  # a short dock scrolls the controls instead of squeezing them over each other
        scroll.setWidget(controls)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(scroll)
        splitter.addWidget(scores)
        splitter.addWidget(self.plots)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 0)
        splitter.setStretchFactor(2, 1)
        splitter.setSizes([280, 300, 800])
        splitter.setChildrenCollapsible(False)
        scroll.setMinimumWidth(250)
        scores.setMinimumWidth(260)
        lay = QGridLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(splitter, 0, 0)
        self._update_region_label()

    # ------------------------------------------------------------------------------------------ inputs
    def set_player(self, get_player: Callable, note: str = "") -> None:
        """``get_player()`` gives the window's current Player (or None: then ``note`` says why nothing plays)."""
        self._get_player = get_player
        self.player_note = note
        self._update_enabled()

    def player(self):
        return self._get_player() if self._get_player is not None else None

    def set_track(self, mix: np.ndarray | None, stems: dict[str, np.ndarray], sample_rate: int,
                  metadata: dict | None = None, name: str = "") -> None:
        """The loaded audio (the window replaced the player's sources): earlier results no longer apply."""
        self.took_player = False
        self.timer.stop()
        self._generation += 1  # a separation under way belongs to the audio before
        if self.job is not None:
            self.job.cancel()
        if mix is None and stems:
            n = max(len(a) for a in stems.values())
            mix = np.zeros(n, np.float32)
            for a in stems.values():
                mix[: len(a)] += a
        self.mix, self.stems, self.sample_rate = mix, dict(stems), int(sample_rate)
        self.metadata = metadata or {}
        self.track_name = name
        self._clear_run()
        if mix is None:
            self.info_label.setText("Render the song or open a track folder, then separate.")
        elif not self.stems:
            self.info_label.setText("Only a mix is loaded: no truth to score against.")
        else:
            self.info_label.setText(f"{name or 'Track'}: {len(mix) / self.sample_rate:.1f} s, "
                                    f"{len(self.stems)} stems, {self.sample_rate} Hz. Ready to separate.")
        self._update_region_label()
        self._update_enabled()

    def set_region(self, start: float, end: float) -> None:
        self.region = (float(start), float(end)) if end > start else None
        self._update_region_label()

    def _update_region_label(self, *_):
        if self.region is None:
            text = "Shift+drag a region on the mix spectrogram"
        else:
            a, b = self.region
            text = f"Region {_clock(a)} – {_clock(b)} ({b - a:.1f} s)"
        self.region_label.setText(text)
        self.region_label.setEnabled(self.range_check.isChecked())

    # ------------------------------------------------------------------------------------------ models
    def showEvent(self, event) -> None:  # noqa: N802 (Qt override)
        super().showEvent(event)
        if not self._listed:
            self.refresh_models()

    def refresh_models(self) -> Job:
        """List the shipped models (in the background: it imports torch); the first installed one is loaded."""
        self._listed = True
        job = Job(list_models, with_hooks=False)
        return self._start_job(job, self._models_listed)

    def _models_listed(self, models: dict) -> None:
        current = self._combo_key()
        m: QStandardItemModel = self.model_combo.model()
        files = [self.model_combo.itemData(i) for i in range(self.model_combo.count())
                 if isinstance(self.model_combo.itemData(i), str) and self.model_combo.itemData(i).startswith("file:")]
        self.model_combo.clear()
        for name, path in models.items():
            if path is None:
                self.model_combo.addItem(f"{name} — not installed", f"shipped:{name}")
                item = m.item(self.model_combo.count() - 1)
                item.setEnabled(False)
                item.setToolTip("scripts/train_shipped_models.py makes it")
            else:
                self.model_combo.addItem(f"{name} (shipped)", f"shipped:{name}")
        for f in files:
            p = Path(f[5:])
            self.model_combo.addItem(f"{p.parent.name}/{p.stem}" if p.stem == "model" else p.stem, f)
        installed = [n for n, p in models.items() if p is not None]
        self.modelsListed.emit(models)
        if current is not None and self.model_combo.findData(current) >= 0:
            self.model_combo.setCurrentIndex(self.model_combo.findData(current))
        elif installed and self.model is None and self.model_job is None:
            self.model_combo.setCurrentIndex(self.model_combo.findData(f"shipped:{installed[0]}"))
            self.load_model(installed[0])
        elif not installed and self.model is None:
            self.model_combo.setCurrentIndex(-1)
            self.model_label.setText("No shipped model is installed yet (scripts/train_shipped_models.py makes "
                                     "them): open a model file with …")

    def _combo_key(self) -> str | None:
        data = self.model_combo.currentData()
        return data if isinstance(data, str) else None

    def _combo_activated(self, index: int) -> None:
        data = self.model_combo.itemData(index)
        if isinstance(data, str):
            self.load_model(data.split(":", 1)[1])

    def open_model_dialog(self) -> None:
        start = str(self.settings.value("separate/last_dir", str(Path.home()), type=str)) if self.settings else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a separation model", start,
                                              "Slakh Studio models (*.pt);;All files (*)")
        if path:
            if self.settings is not None:
                self.settings.setValue("separate/last_dir", str(Path(path).parent))
            self.load_model(Path(path))

    def load_model(self, name_or_path: str | Path) -> Job:
        """Load a shipped model by name or a model file (in the background); errors go to the message bar."""
        if self.model_job is not None:
            self.model_job.cancel()  # its result is ignored: only the newest request counts
        self.model_label.setText(f"Loading {Path(str(name_or_path)).name} …")
        job = Job(load_model, str(name_or_path), with_hooks=False)
        self.model_job = job
        return self._start_job(job, lambda model, j=job: self._model_ready(j, model),
                               error=lambda exc, j=job: self._model_failed(j, exc))

    def _model_ready(self, job: Job, model) -> None:
        if job is not self.model_job:
            return
        self.model_job = None
        self.model = model
        key = _combo_key_for(model.path)
        if key is not None:
            if self.model_combo.findData(key) < 0:
                self.model_combo.addItem(model_title(model), key)
                self.model_combo.setItemData(self.model_combo.count() - 1, str(model.path),
                                             Qt.ItemDataRole.ToolTipRole)
            self.model_combo.setCurrentIndex(self.model_combo.findData(key))
        self.model_label.setText(describe_model(model))
        self.model_label.setToolTip(str(model.path or ""))
        self.statusMessage.emit(f"Loaded separation model {model_title(model)} ({model.target})")
        self._update_enabled()
        self.modelLoaded.emit(model)

    def _model_failed(self, job: Job, exc: Exception) -> None:
        if job is not self.model_job:
            return
        self.model_job = None
        self.model_label.setText(describe_model(self.model) if self.model is not None else "No model loaded")
        if self.model is not None and self.model.path is not None:
            key = _combo_key_for(self.model.path)
            if self.model_combo.findData(key) >= 0:
                self.model_combo.setCurrentIndex(self.model_combo.findData(key))
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self.errorRaised.emit(f"Cannot use this model: {text}")
        self._update_enabled()

    # ------------------------------------------------------------------------------------------ running
    def start(self) -> Job | None:
        """Separate the loaded mix (or the selected region in range mode) with the loaded model."""
        if self.job is not None:
            return None
        if self.model is None:
            self.errorRaised.emit("Separate: choose a model first" + (" (it is still loading)" if self.model_job
                                                                      else ""))
            return None
        if self.mix is None:
            self.errorRaised.emit("Separate: nothing to separate yet — render the song or open a track folder.")
            return None
        span = None
        if self.range_check.isChecked():
            if self.region is None:
                self.errorRaised.emit("Range mode: Shift+drag a region on the mix spectrogram first.")
                return None
            sr, n = self.sample_rate, len(self.mix)
            a, b = (min(max(int(round(t * sr)), 0), n) for t in self.region)
            if b - a < MIN_REGION * sr:
                self.errorRaised.emit(f"Range mode: the region is too short (at least {MIN_REGION:g} s).")
                return None
            span = (a, b)
        self.stop_playback()
        job = Job(run_separation, self.model, self.mix, self.stems, self.metadata, self.sample_rate, span,
                  self.oracle_check.isChecked())
        job.signals.progress.connect(self._on_progress)
        job.signals.cancelled.connect(self._cancelled)
        self.job = job
        self.progress.setValue(0)
        what = f"{(span[1] - span[0]) / self.sample_rate:.1f} s region" if span else "the mix"
        self.info_label.setText(f"Separating {what} with {model_title(self.model)} …")
        self.statusMessage.emit(f"Separating {what} with {model_title(self.model)} …")
        gen = self._generation
        self._start_job(job, lambda run: self._done(run) if gen == self._generation else None,
                        error=self._failed, finished=self._finished)
        self._update_enabled()
        return job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.info_label.setText("Cancelling …")

    def _on_progress(self, p: Progress) -> None:
        self.progress.setValue(int(100 * p.fraction))

    def _done(self, run: SeparationRun) -> None:
        self._clear_run()
        self.run = run
        for r, (key, _label, _tip) in enumerate(ROWS):
            e = run.estimates.get(key)
            for c, value in ((1, e.si_sdr if e else None), (2, e.si_sdri if e else None)):
                item = self.table.item(r, c)
                item.setText(_fmt_db(value))
                item.setToolTip(ROWS[r][2] if e is not None else (
                    "Not computed (tick Oracle masks)" if run.truth is not None else "No stems loaded: no truth"))
            first = self.table.item(r, 0)
            first.setText(f"Model · {run.model_name}" if key == "model" else LABELS[key])
            for c in range(3):
                flags = Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable if e is not None else \
                    Qt.ItemFlag.NoItemFlags
                self.table.item(r, c).setFlags(flags)
                font = self.table.item(r, c).font()
                font.setBold(key == "model")
                self.table.item(r, c).setFont(font)
        model = run.estimates["model"]
        rt = run.duration / max(run.seconds, 1e-6)
        whole = run.offset == 0 and self.mix is not None and len(run.mix) == len(self.mix)
        where = "the whole mix" if whole else f"{_clock(run.offset)} – {_clock(run.offset + run.duration)}"
        text = f"{run.target} from {where} in {run.seconds:.1f} s ({rt:.0f}× realtime)."
        if run.truth is None:
            text += " No stems loaded: no truth to score against."
        elif run.truth_silent:
            text += (f" The {run.target} truth is silent in this {'track' if whole else 'region'}: SI-SDR is "
                     "undefined (n/a).")
        else:
            text += f" SI-SDR {_fmt_db(model.si_sdr)} dB, improvement {_fmt_db(model.si_sdri)} dB."
        self.info_label.setText(text)
        gap = run.gap_to("tpsf")
        if gap is not None:
            best = max((k for k in ORACLE_KEYS if k in run.estimates), key=lambda k: run.estimates[k].si_sdr)
            self.gap_label.setText(f"The model is {gap:.1f} dB {'below' if gap >= 0 else 'above'} the tPSF "
                                   f"oracle, the best its tPSA loss can reach (best mask here: {LABELS[best]}).")
        else:
            self.gap_label.setText("")
        self.time_label.setText(f"0:00.0 / {_clock(run.duration)}")
        self.plots.set_audio("mix", run.mix, run.sample_rate, "Mix", run.offset)
        self.plots.set_audio("truth", run.truth, run.sample_rate,
                             f"Truth: {run.target} (recipe group)" if run.truth is not None else "Truth: unknown",
                             run.offset)
        self.selected = ""
        if self.part == "truth" and run.truth is None:
            self.part = "estimate"
        self.part_buttons[self.part].setChecked(True)
        self.select_estimate("model")
        self.statusMessage.emit(text)
        self.separationFinished.emit(run)

    def _failed(self, exc: Exception) -> None:
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        self.info_label.setText(f"Separation failed: {text}")
        self.errorRaised.emit(f"Separation failed: {text}")
        self.separationFinished.emit(None)

    def _cancelled(self) -> None:
        self.info_label.setText("Separation cancelled.")
        self.statusMessage.emit("Separation cancelled")
        self.separationFinished.emit(None)

    def _finished(self) -> None:
        self.job = None
        self.progress.setValue(100 if self.run is not None else 0)
        self._update_enabled()

    def _clear_run(self) -> None:
        if self.took_player and (p := self.player()) is not None and self._mine(p):
            p.stop()
        self.took_player = False
        self.timer.stop()
        self.run = None
        self._residuals.clear()
        self._resampled.clear()
        self._sources_of = None
        self._given = set()
        self.gap_label.setText("")
        for r in range(len(ROWS)):
            for c in (1, 2):
                self.table.item(r, c).setText("—")
        self.table.clearSelection()
        self.plots.clear()
        self.plots.set_title("estimate", "Estimate")
        self.time_label.setText("0:00.0 / 0:00.0")
        self._update_enabled()

    # ------------------------------------------------------------------------------------------ choosing, listening
    def select_estimate(self, key: str) -> None:
        """Show (and, while playing, hear) the estimate of row ``key`` (a ROWS key)."""
        if self.run is None or key not in self.run.estimates:
            return
        changed = key != self.selected
        self.selected = key
        r = [k for k, _, _ in ROWS].index(key)
        if r not in {i.row() for i in self.table.selectionModel().selectedRows()}:
            self.table.blockSignals(True)
            self.table.selectRow(r)
            self.table.blockSignals(False)
        if changed or self.part in ("estimate", "residual"):
            self._show_middle()
        self._route()

    def _row_selected(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows:
            self.select_estimate(ROWS[rows[0].row()][0])

    def listen(self, part: str) -> None:
        """One click A/B: hear ``estimate``, ``residual``, ``truth`` or ``mix``; playback starts if stopped and
        keeps its position if running."""
        if part == "truth" and (self.run is None or self.run.truth is None):
            return
        self.part = part
        self.part_buttons[part].setChecked(True)
        self._show_middle()
        if self.run is None:
            return
        p = self.player()
        if p is not None and not (p.playing and self._mine(p)):
            self.play()
        else:
            self._route()

    def _show_middle(self) -> None:
        if self.run is None:
            return
        label = LABELS[self.selected] if self.selected != "model" else f"model {self.run.model_name}"
        if self.part == "residual":
            audio, title = self.residual(self.selected), f"Residual (mix − estimate): {label}"
        else:
            audio, title = self.run.estimates[self.selected].audio, f"Estimate: {label}"
        self.plots.set_audio("estimate", audio, self.run.sample_rate, title, self.run.offset)

    def residual(self, key: str) -> np.ndarray:
        if key not in self._residuals:
            self._residuals[key] = (self.run.mix - self.run.estimates[key].audio).astype(np.float32)
        return self._residuals[key]

    def source_key(self) -> str:
        """The player source heard now."""
        return {"estimate": f"est:{self.selected}", "residual": f"res:{self.selected}"}.get(self.part, self.part)

    def source_audio(self, key: str | None = None) -> np.ndarray:
        """A source's audio at the run's rate (``key`` as :meth:`source_key`)."""
        key = key or self.source_key()
        if key == "mix":
            return self.run.mix
        if key == "truth":
            return self.run.truth
        kind, row = key.split(":")
        return self.run.estimates[row].audio if kind == "est" else self.residual(row)

    def _for_player(self, key: str, rate: int) -> np.ndarray:
        audio = self.source_audio(key)
        if rate == self.run.sample_rate:
            return audio
        if (key, rate) not in self._resampled:
            from slakh_gui.separation.resample import resample  # noqa: PLC0415  (scipy only)

            n = int(round(len(self.run.mix) * rate / self.run.sample_rate))
            out = resample(audio, self.run.sample_rate, rate)[:n]
            self._resampled[(key, rate)] = np.pad(out, (0, n - len(out)))
        return self._resampled[(key, rate)]

    def _mine(self, player) -> bool:
        return self.took_player and self._sources_of == (id(player), player.length)

    def _source_keys(self) -> list[str]:
        """What the player gets: the mix, the truth, every estimate, and the residuals listened to so far."""
        if self.part == "residual":
            self.residual(self.selected)
        keys = ["mix"] + (["truth"] if self.run.truth is not None else [])
        return keys + [f"est:{k}" for k in self.run.estimates] + [f"res:{k}" for k in self._residuals]

    def _gains(self) -> dict[str, float]:
        return {k: 0.0 for k in self._source_keys()} | {self.source_key(): 1.0}

    def _give_sources(self, player) -> None:
        keep = player.position if self._mine(player) else 0
        keys = self._source_keys()
        player.set_gains(self._gains())  # first: a new source must not sound at the default gain 1.0
        player.set_sources({k: self._for_player(k, player.sample_rate) for k in keys})
        player.seek(keep)
        self._sources_of = (id(player), player.length)
        self._given = set(keys)
        self.took_player = True

    def _route(self) -> None:
        """Point the player's gains at what is chosen (heard from the next audio block)."""
        p = self.player()
        if self.run is None or p is None or not self._mine(p):
            return
        if self.source_key() not in self._given:  # a residual not listened to before: one more source
            self._give_sources(p)  # position kept (the block under way when it lands is heard twice)
        else:
            p.set_gains(self._gains())

    def play(self) -> None:
        p = self.player()
        if p is None:
            if self.player_note:
                self.statusMessage.emit(self.player_note)
            return
        if self.run is None:
            return
        try:
            if not self._mine(p):
                p.stop()
                self._give_sources(p)
            self._route()
            self._apply_loop(self.loop_check.isChecked())
            p.play()
        except Exception as exc:  # noqa: BLE001  (no sound is no reason to lose the separation)
            self.errorRaised.emit(f"Playback failed: {exc}")
            return
        self.timer.start()
        self._update_play_button()

    def pause(self) -> None:
        p = self.player()
        if p is not None and self._mine(p):
            p.pause()
        self._update_play_button()

    def toggle_play(self) -> None:
        p = self.player()
        if p is not None and p.playing and self._mine(p):
            self.pause()
        else:
            self.play()

    def stop_playback(self) -> None:
        p = self.player()
        if p is not None and self._mine(p):
            p.stop()
        self._update_play_button()

    def seek(self, song_seconds: float) -> None:
        p = self.player()
        if self.run is None or p is None or not self._mine(p):
            return
        p.seek(int(max(0.0, song_seconds - self.run.offset) * p.sample_rate))
        self._tick()

    def _apply_loop(self, on: bool) -> None:
        p = self.player()
        if p is None or not self._mine(p):
            return
        if on and p.length > 0:
            p.set_loop(0, p.length)
        else:
            p.clear_loop()

    def _tick(self) -> None:
        p = self.player()
        if self.run is None or p is None or not self._mine(p):
            self.timer.stop()
            self.plots.set_playhead(None)
            self._update_play_button()
            return
        t = p.position / p.sample_rate
        self.plots.set_playhead(self.run.offset + t)
        self.time_label.setText(f"{_clock(t)} / {_clock(self.run.duration)}")
        if not p.playing:
            self.timer.stop()
        self._update_play_button()

    def _update_play_button(self) -> None:
        p = self.player()
        playing = p is not None and p.playing and self._mine(p)
        self.play_button.setText("⏸ Pause" if playing else "▶ Play")

    # ------------------------------------------------------------------------------------------ export
    def export_dialog(self) -> None:
        if self.run is None:
            self.errorRaised.emit("Nothing to export yet: separate first.")
            return
        start = Path(str(self.settings.value("paths/last_dir", str(Path.home()), type=str))) if self.settings \
            else Path.home()
        name = "_".join(x for x in (self.track_name, self.run.target.lower(), self.selected) if x) + ".wav"
        path, chosen = QFileDialog.getSaveFileName(self, "Export the estimate", str(start / name), AUDIO_FILTER)
        if path:
            p = Path(path)
            if p.suffix.lower() not in (".wav", ".flac"):
                p = p.with_suffix(".flac" if "FLAC" in chosen else ".wav")
            self.export_estimate(p)

    def export_estimate(self, path: str | Path, key: str | None = None) -> Path | None:
        """Write the estimate of row ``key`` (default: the selected one) as 16-bit WAV or FLAC, atomically."""
        from slakh_gui.core.audio_io import to_int16, write_audio  # noqa: PLC0415

        if self.run is None:
            self.errorRaised.emit("Nothing to export yet: separate first.")
            return None
        key = key or self.selected
        path = Path(path)
        try:
            write_audio(path, to_int16(self.run.estimates[key].audio), self.run.sample_rate)
        except (OSError, ValueError, RuntimeError) as exc:
            self.errorRaised.emit(f"Export failed: {exc}")
            return None
        self.statusMessage.emit(f"Exported the {LABELS[key]} estimate of {self.run.target} to {path}")
        return path

    # ------------------------------------------------------------------------------------------ plumbing
    def _start_job(self, job: Job, on_result, error=None, finished=None) -> Job:
        self.jobs.add(job)
        job.signals.result.connect(on_result)
        job.signals.error.connect(error or (lambda exc: self.errorRaised.emit(str(exc))))
        job.signals.finished.connect(lambda: self.jobs.discard(job))
        if finished is not None:
            job.signals.finished.connect(finished)
        return job.start()

    def _update_enabled(self) -> None:
        running = self.job is not None
        self.run_button.setEnabled(not running and self.model is not None and self.mix is not None)
        self.cancel_button.setEnabled(running)
        has_run = self.run is not None
        no_player = self._get_player is not None and self.player() is None
        for key, b in self.part_buttons.items():
            b.setEnabled(has_run and not no_player and (key != "truth" or self.run.truth is not None))
        self.play_button.setEnabled(has_run and not no_player)
        self.play_button.setToolTip(self.player_note if no_player else "Play or pause what is selected")
        self.export_button.setEnabled(has_run)
        self.model_combo.setEnabled(not running)
        self.browse_button.setEnabled(not running)

    def cancel_jobs(self) -> None:
        for job in list(self.jobs):
            job.cancel()
        self.plots.cancel_jobs()
        self.timer.stop()
