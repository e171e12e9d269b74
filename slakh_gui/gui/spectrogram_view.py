"""Mix and stem spectrograms, stacked, with a playhead, a loop range and one dB colour scale.

Spectrograms are computed off the GUI thread (:class:`~slakh_gui.gui.job_runner.Job` over
:func:`slakh_gui.core.studio.spectrogram.compute_spectrogram`) and kept in a :class:`SpectrogramCache`, so going back to a
stem, or back to a scale, is instant. Each plot has a request counter: a result that arrives after a newer request
for the same plot is cached but not shown.

Both plots are computed against the same reference (full scale: a full-scale sine reads 0 dB), so the mix and the
stems share the colour bar; its levels follow the mix until the user drags them.

Mouse: wheel zooms, drag pans (time and frequency, both plots together), Shift+drag on the mix marks a loop range
(its edges and body can then be dragged), a click asks to seek there (``seekRequested``).
"""

from __future__ import annotations

import functools
import math
import weakref
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
import shiboken6
from PySide6.QtCore import QObject, QRectF, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSizePolicy, QVBoxLayout, QWidget

from slakh_gui.core.constants import SAMPLE_RATE
from slakh_gui.core.studio.spectrogram import (
    Spectrogram,
    SpectrogramCache,
    audio_fingerprint,
    compute_spectrogram,
    display_hop,
)
from slakh_gui.gui.job_runner import Job, JobRunner

SCALES = (("log", "Log"), ("mel", "Mel"), ("linear", "Linear"))
CHANNEL_VIEWS = (("mono", "Mid (mono)"), ("left", "Left"), ("right", "Right"), ("side", "Side"))
BACKGROUND = "#121417"
FOREGROUND = "#c9ccd1"
PLAYHEAD = "#4fd1ff"
FLOOR_DB = -120.0  # ref = full scale; anything quieter is the floor


def format_hz(freq: float) -> str:
    """Tick text: 50, 125, 1k, 2.5k, 12k."""
    if freq >= 999.5:
        k = freq / 1000.0
        return f"{k:.0f}k" if abs(k - round(k)) < 0.05 or k >= 20 else f"{k:.1f}k"
    return f"{freq:.0f}" if abs(freq - round(freq)) < 0.05 else f"{freq:.1f}"


def _nice_step(raw: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= raw."""
    if raw <= 0:
        return 1.0
    base = 10.0 ** math.floor(math.log10(raw))
    for m in (1.0, 2.0, 5.0, 10.0):
        if m * base >= raw - 1e-12:
            return m * base
    return 10.0 * base


class FrequencyAxis(pg.AxisItem):
    """A left axis over image rows that is labelled in Hz: ticks at round frequencies, wherever a log, mel or linear
    scale puts them (row ``i`` of the image spans ``[i, i + 1]``, so band ``i``'s centre is at ``i + 0.5``)."""

    min_gap_px = 22.0

    def __init__(self, *args, **kwargs):
        super().__init__("left", *args, **kwargs)
        self.spec: Spectrogram | None = None
        self.enableAutoSIPrefix(False)

    def set_spectrogram(self, spec: Spectrogram | None) -> None:
        self.spec = spec
        self.picture = None
        self.update()

    def freq_at(self, y):
        return self.spec.freq_of(np.asarray(y, dtype=np.float64) - 0.5)

    def y_of(self, freq):
        return self.spec.row_of(freq) + 0.5

    def tick_freqs(self, lo: float, hi: float, size: float) -> tuple[list[float], list[float]]:
        """(labelled, unlabelled) frequencies to tick between axis values ``lo`` and ``hi`` (rows), ``size`` px.

        Log and mel: 1 x 10^k first, then per decade 2 and 5 (or else 5, or else 3), then the other digits, each group only
        where it keeps labels ``min_gap_px`` apart; the untaken digits become short unlabelled ticks. Linear (or a
        log/mel axis zoomed in past its round numbers): an even 1-2-5 step in Hz.
        """
        if self.spec is None or hi <= lo or size <= 0:
            return [], []
        px_per_row = size / (hi - lo)
        f_lo, f_hi = (float(v) for v in self.freq_at([max(lo, 0.0), min(hi, float(self.spec.n_bins))]))
        if self.spec.scale != "linear":
            major, minor = self._decades(f_lo, f_hi, px_per_row)
            if len(major) >= 2:
                return major, minor
        span = max(f_hi - f_lo, 1e-9)
        step = _nice_step(span / max(1.0, size / (2.5 * self.min_gap_px)))
        first = math.ceil(f_lo / step) * step
        major = [float(f) for f in np.arange(first, f_hi + step * 1e-6, step) if f > 0 or self.spec.scale == "linear"]
        return major, []

    def _decades(self, f_lo: float, f_hi: float, px_per_row: float) -> tuple[list[float], list[float]]:
        kept: dict[float, float] = {}  # freq -> pixel

        def px(freqs):
            return [float(v) * px_per_row for v in np.atleast_1d(self.y_of(freqs))]

        def take(freqs, gap=self.min_gap_px, into=kept) -> bool:
            """Add all of ``freqs`` (those in range) if each stays ``gap`` px from the others and from ``into``."""
            freqs = [f for f in freqs if f_lo <= f <= f_hi and f not in into]
            if not freqs:
                return True
            new = px(freqs)
            have = list(into.values())
            for i, p in enumerate(new):
                if any(abs(p - q) < gap for q in have + new[:i]):
                    return False
            into.update(zip(freqs, new, strict=True))
            return True

        decades = range(math.floor(math.log10(max(f_lo, 1.0))), math.ceil(math.log10(max(f_hi, 1.0))) + 1)
        for k in decades:
            take([10.0 ** k])
        for k in decades:
            d = 10.0 ** k
            if take([2 * d, 5 * d]):
                digits = [m * d for m in (3, 4, 6, 7, 8, 9)]
                if any(f_lo <= f <= f_hi for f in digits) and take(digits):
                    take([float(m) * d for m in np.arange(1.5, 10, 1.0)])
            elif not take([5 * d]):  # mel's crowded low end may still have room for 500 but not 200
                take([3 * d])
        minor: dict[float, float] = dict(kept)
        for k in decades:
            for m in range(2, 10):
                take([m * 10.0 ** k], gap=4.0, into=minor)
        return sorted(kept), sorted(set(minor) - set(kept))

    def tickValues(self, minVal, maxVal, size):  # Qt/pyqtgraph override
        if self.spec is None:
            return []
        major, minor = self.tick_freqs(minVal, maxVal, size)
        levels = [(1.0, [float(v) for v in np.atleast_1d(self.y_of(major))])] if major else []
        if minor:
            levels.append((0.5, [float(v) for v in np.atleast_1d(self.y_of(minor))]))
        return levels

    def tickStrings(self, values, scale, spacing):
        if self.spec is None or spacing != 1.0:  # the unlabelled level
            return ["" for _ in values]
        return [format_hz(float(f)) for f in np.atleast_1d(self.freq_at(values))]


class _LoopViewBox(pg.ViewBox):
    """A ViewBox where Shift+left-drag reports a time range instead of panning."""

    sigLoopDrag = Signal(float, float, bool)  # start, end, finished

    def mouseDragEvent(self, ev, axis=None):
        if ev.button() == Qt.MouseButton.LeftButton and ev.modifiers() & Qt.KeyboardModifier.ShiftModifier:
            ev.accept()
            a = self.mapSceneToView(ev.buttonDownScenePos()).x()
            b = self.mapSceneToView(ev.scenePos()).x()
            self.sigLoopDrag.emit(min(a, b), max(a, b), ev.isFinish())
        else:
            super().mouseDragEvent(ev, axis)


_LIVE_REQUESTS: set = set()  # requests (and so their jobs) stay referenced until the job has finished


class _Request(QObject):
    """Receives one job's signals in the GUI thread and hands them to the view with what was asked.

    Not a child of the view: it keeps its job alive until the job finishes even if the view is deleted first (a
    queued QRunnable must outlive its start), and forwards to the view only while the view exists.
    """

    def __init__(self, view: SpectrogramView, slot: str, generation: int, key: tuple, job: Job):
        super().__init__()
        self._view = weakref.ref(view)
        self.slot, self.generation, self.key, self.job = slot, generation, key, job
        self.fraction = 0.0
        s = job.signals
        s.returned.connect(self.on_result)
        s.errored.connect(self.on_error)
        s.progress.connect(self.on_progress)
        s.finished.connect(self.on_finished)
        _LIVE_REQUESTS.add(self)

    def view(self) -> SpectrogramView | None:
        v = self._view()
        return v if v is not None and shiboken6.isValid(v) else None

    @Slot(object)
    def on_result(self, spec):
        if (v := self.view()) is not None:
            v._on_result(self, spec)

    @Slot(object)
    def on_error(self, exc):
        if (v := self.view()) is not None:
            v._on_error(self, exc)

    @Slot(object)
    def on_progress(self, p):
        self.fraction = p.fraction
        if (v := self.view()) is not None:
            v._update_status()

    @Slot()
    def on_finished(self):
        if (v := self.view()) is not None:
            v._on_finished(self)
        self.job = None
        QTimer.singleShot(0, functools.partial(_LIVE_REQUESTS.discard, self))  # freed outside its own slot


@dataclass
class _Slot:
    name: str
    plot: pg.PlotItem
    image: pg.ImageItem
    playhead: pg.InfiniteLine
    title: str
    audio: np.ndarray | None = None
    sample_rate: int = SAMPLE_RATE
    fingerprint: str | None = None
    generation: int = 0
    request: _Request | None = None
    spec: Spectrogram | None = None


class SlotRequests:
    """What a widget of spectrogram slots does with its :class:`_Request` callbacks (it has ``cache``, ``_slots``,
    ``_errors``, ``_update_status`` and ``_show``); only the newest request of a slot is shown. Jobs start on
    ``self.runner`` (the window's :class:`JobRunner`, set by the owner; a private one otherwise)."""

    runner: JobRunner | None = None

    def _start_request(self, slot: _Slot, key: tuple, params: dict) -> None:
        """Compute ``slot``'s spectrogram in the background; the request replaces the slot's previous one."""
        if self.runner is None:
            self.runner = JobRunner(self)
        job = Job(compute_spectrogram, slot.audio, slot.sample_rate, **params)
        slot.request = _Request(self, slot.name, slot.generation, key, job)
        self.runner.submit(job)

    def _on_result(self, req: _Request, spec: Spectrogram) -> None:
        self.cache.put(req.key, spec)  # a stale result is still worth keeping
        slot = self._slots[req.slot]
        if req.generation == slot.generation:
            slot.request = None
            self._update_status()
            self._show(slot, spec)

    def _on_error(self, req: _Request, exc: BaseException) -> None:
        if req.generation == self._slots[req.slot].generation:
            self._errors[req.slot] = f"{req.slot} spectrogram failed: {exc}"

    def _on_finished(self, req: _Request) -> None:
        slot = self._slots[req.slot]
        if slot.request is req:
            slot.request = None
        self._update_status()


class SpectrogramView(SlotRequests, QWidget):
    """Mix spectrogram above, selected stem below; shared time axis, colour bar, playhead and loop range.

    ``set_mix(audio, sr)``, ``set_stem("S01 Bass", audio, sr)`` / ``set_stem(None)``, ``clear()``,
    ``set_playhead(seconds)`` (cheap), ``set_region(start, end)`` / ``clear_region()`` / ``region()``,
    ``set_scale("log" | "mel" | "linear")``, ``set_levels(lo_db, hi_db)`` / ``auto_levels()``.
    """

    regionChanged = Signal(float, float)  # loop range in seconds (user drag or set_region)
    regionCleared = Signal()
    seekRequested = Signal(float)  # a left click on either plot, seconds
    scaleChanged = Signal(str)
    spectrogramShown = Signal(str, object)  # "mix" or "stem", the Spectrogram now on screen

    def __init__(self, parent: QWidget | None = None, *, n_fft: int = 2048, hop: int = 512, n_bins: int = 256,
                 fmin: float = 30.0, dynamic_range: float = 80.0, colormap: str = "inferno",
                 cache: SpectrogramCache | None = None):
        super().__init__(parent)
        self.setAccessibleName("Spectrogram view")
        self.setAccessibleDescription("Spectrograms of the mix and the selected stem over time")
        self.cache = cache if cache is not None else SpectrogramCache()
        self._params = dict(n_fft=n_fft, hop=hop, n_bins=n_bins, fmin=fmin, top_db=-FLOOR_DB, ref=1.0)
        self._scale = "log"
        self.dynamic_range = float(dynamic_range)
        self._user_levels = False
        self._region: tuple[float, float] | None = None
        self._emitted_region: tuple[float, float] | None = None
        self._duration = 0.0
        self._reset_view = False
        self._errors: dict[str, str] = {}

        # toolbar row
        self.scale_combo = QComboBox()
        for key, text in SCALES:
            self.scale_combo.addItem(text, key)
        self.scale_combo.setAccessibleName("Frequency scale")
        self.scale_combo.setToolTip("Frequency axis: log-spaced bands, mel bands or linear FFT bins")
        self.scale_combo.currentIndexChanged.connect(self._on_scale_combo)
        scale_label = QLabel("&Scale")
        scale_label.setBuddy(self.scale_combo)
        self.channel_combo = QComboBox()
        for key, text in CHANNEL_VIEWS:
            self.channel_combo.addItem(text, key)
        self.channel_combo.setAccessibleName("Stereo channel shown")
        self.channel_combo.setToolTip("A stereo signal's mid (mono, (L+R)/2), left, right or side ((L-R)/2)")
        self.channel_combo.currentIndexChanged.connect(self._on_channel_combo)
        self.channel_label = QLabel("C&hannel")
        self.channel_label.setBuddy(self.channel_combo)
        self._channel = "mono"
        self.clear_loop_button = QPushButton("Clear loop")
        self.clear_loop_button.setAccessibleName("Clear loop range")
        self.clear_loop_button.setToolTip("Remove the loop range (Shift+drag on the mix to mark one)")
        self.clear_loop_button.setEnabled(False)
        self.clear_loop_button.clicked.connect(self.clear_region)
        self.status_label = QLabel("")
        self.status_label.setAccessibleName("Spectrogram status")
        self.status_label.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Preferred)
        self.status_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        bar = QHBoxLayout()
        bar.setContentsMargins(4, 2, 4, 2)
        bar.addWidget(scale_label)
        bar.addWidget(self.scale_combo)
        bar.addWidget(self.channel_label)
        bar.addWidget(self.channel_combo)
        bar.addWidget(self.clear_loop_button)
        bar.addWidget(self.status_label, 1)

        # plots
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.graphics.setAccessibleName("Spectrogram plots")
        self.graphics.setAccessibleDescription(
            "Mix on top, selected stem below. Wheel zooms, drag pans, Shift+drag on the mix marks a loop range, "
            "click seeks.")
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.graphics.ci.setSpacing(2)
        mix_vb = _LoopViewBox()
        mix_vb.sigLoopDrag.connect(self._on_loop_drag)
        self.mix_plot = self.graphics.addPlot(row=0, col=0, viewBox=mix_vb, axisItems={"left": FrequencyAxis()})
        self.stem_plot = self.graphics.addPlot(row=1, col=0, axisItems={"left": FrequencyAxis()})
        self.colorbar = pg.ColorBarItem(values=(-90.0, -10.0), colorMap=colormap, label="dB", limits=(FLOOR_DB, 20.0),
                                        rounding=1.0, width=12, pen=FOREGROUND, hoverPen=PLAYHEAD)
        self.graphics.addItem(self.colorbar, row=0, col=1, rowspan=2)
        self.colorbar.setContentsMargins(0, 26, 0, 30)  # span the plot areas, not the titles and the time axis
        self.colorbar.sigLevelsChangeFinished.connect(self._on_user_levels)
        for ax in ("left", "right", "top", "bottom"):
            self.colorbar.getAxis(ax).setTextPen(FOREGROUND)

        slots = {}
        for name, plot, title in (("mix", self.mix_plot, "Mix"), ("stem", self.stem_plot, "Stem: none selected")):
            image = pg.ImageItem(axisOrder="row-major", autoDownsample=True)
            plot.addItem(image)
            playhead = pg.InfiniteLine(0.0, angle=90, movable=False, pen=pg.mkPen(PLAYHEAD, width=1.5))
            playhead.setZValue(20)
            plot.addItem(playhead, ignoreBounds=True)
            self._style_plot(plot)
            slots[name] = _Slot(name, plot, image, playhead, title)
            plot.setTitle(title, color=FOREGROUND, size="9pt", justify="left")
        self._slots: dict[str, _Slot] = slots
        self.mix_image, self.stem_image = slots["mix"].image, slots["stem"].image
        self.mix_playhead, self.stem_playhead = slots["mix"].playhead, slots["stem"].playhead
        self.colorbar.setImageItem([self.mix_image, self.stem_image])
        self.stem_plot.setXLink(self.mix_plot)
        self.stem_plot.setYLink(self.mix_plot)
        self.mix_plot.getAxis("bottom").setStyle(showValues=False)
        self.stem_plot.setLabel("bottom", "Time (s)", color=FOREGROUND)

        self.region_item = pg.LinearRegionItem((0.0, 1.0), orientation="vertical", movable=True,
                                               brush=pg.mkBrush(79, 209, 255, 45),
                                               hoverBrush=pg.mkBrush(79, 209, 255, 70),
                                               pen=pg.mkPen(PLAYHEAD, width=1.5))
        self.region_item.setZValue(10)
        self.region_item.hide()
        self.mix_plot.addItem(self.region_item, ignoreBounds=True)
        self.region_item.sigRegionChangeFinished.connect(self._on_region_item_finished)
        self.region_item.sigRegionChanged.connect(self._mirror_region)
        self.stem_region = pg.LinearRegionItem((0.0, 1.0), orientation="vertical", movable=False,
                                               brush=pg.mkBrush(79, 209, 255, 30), pen=pg.mkPen(None))
        self.stem_region.setZValue(10)
        self.stem_region.hide()
        self.stem_plot.addItem(self.stem_region, ignoreBounds=True)
        self.graphics.scene().sigMouseClicked.connect(self._on_scene_click)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addLayout(bar)
        layout.addWidget(self.graphics, 1)
        self._set_empty_ranges()
        self._update_channel_chooser()

    # ------------------------------------------------------------------ public API
    def set_mix(self, audio: np.ndarray | None, sample_rate: int = SAMPLE_RATE) -> None:
        """Show the mix (``None`` clears it). Computed in the background; the view resets its zoom."""
        self._set_audio(self._slots["mix"], audio, sample_rate, "Mix")

    def set_stem(self, key_label: str | None, audio: np.ndarray | None = None,
                 sample_rate: int = SAMPLE_RATE) -> None:
        """Show one stem under the mix, titled ``key_label`` (e.g. ``"S01  Electric Bass"``); ``None`` clears it."""
        if key_label is None or audio is None:
            self._set_audio(self._slots["stem"], None, sample_rate, "Stem: none selected")
        else:
            self._set_audio(self._slots["stem"], audio, sample_rate, str(key_label))

    def set_stem_title(self, title: str) -> None:
        """Retitle the stem plot without recomputing it (e.g. its patch changed since it was rendered)."""
        slot = self._slots["stem"]
        slot.title = title
        self._retitle(slot)

    def clear(self) -> None:
        """Remove both spectrograms and the loop range, and cancel work in progress."""
        self.set_stem(None)
        self.set_mix(None)
        self.clear_region()
        self.set_playhead(0.0)

    def set_playhead(self, seconds: float | None) -> None:
        """Move the playhead line on both plots (``None`` hides it). Cheap: fine at 30 calls a second."""
        for slot in self._slots.values():
            line = slot.playhead
            if seconds is None:
                line.hide()
            else:
                line.setValue(float(seconds))
                if not line.isVisible():
                    line.show()

    def playhead(self) -> float:
        return float(self.mix_playhead.value())

    def set_region(self, start: float, end: float) -> None:
        """Show the loop range ``[start, end]`` seconds (emits ``regionChanged`` if it changed)."""
        start, end = sorted((float(start), float(end)))
        self.region_item.show()
        self.stem_region.show()
        self.clear_loop_button.setEnabled(True)
        if tuple(self.region_item.getRegion()) == (start, end):
            self._on_region_item_finished()
        else:
            self.region_item.setRegion((start, end))  # emits sigRegionChangeFinished -> regionChanged

    def clear_region(self) -> None:
        was = self._region is not None
        self._region = self._emitted_region = None
        self.region_item.hide()
        self.stem_region.hide()
        self.clear_loop_button.setEnabled(False)
        if was:
            self.regionCleared.emit()

    def region(self) -> tuple[float, float] | None:
        return self._region

    def scale(self) -> str:
        return self._scale

    def set_scale(self, scale: str) -> None:
        """Switch the frequency axis; both plots are recomputed (or taken from the cache)."""
        keys = [k for k, _ in SCALES]
        if scale not in keys:
            raise ValueError(f"unknown scale {scale!r} (use one of {', '.join(keys)})")
        if self.scale_combo.currentIndex() != keys.index(scale):
            self.scale_combo.setCurrentIndex(keys.index(scale))  # comes back through _on_scale_combo
            return
        if scale == self._scale:
            return
        self._scale = scale
        for slot in self._slots.values():
            self._request(slot)
        self.scaleChanged.emit(scale)

    def channel(self) -> str:
        return self._channel

    def set_channel(self, channel: str) -> None:
        """What of stereo audio both plots show (``"mono"`` = mid, ``"left"``, ``"right"``, ``"side"``); mono audio
        is shown as it is whatever the choice (the chooser is hidden while no audio on show is stereo)."""
        keys = [k for k, _ in CHANNEL_VIEWS]
        if channel not in keys:
            raise ValueError(f"unknown channel {channel!r} (use one of {', '.join(keys)})")
        if self.channel_combo.currentIndex() != keys.index(channel):
            self.channel_combo.setCurrentIndex(keys.index(channel))  # comes back through _on_channel_combo
            return
        if channel == self._channel:
            return
        self._channel = channel
        for slot in self._slots.values():
            if slot.audio is not None and slot.audio.ndim == 2:
                self._request(slot)
                self._retitle(slot)

    def is_stereo(self) -> bool:
        return any(s.audio is not None and s.audio.ndim == 2 for s in self._slots.values())

    def _on_channel_combo(self, index: int) -> None:
        self.set_channel(self.channel_combo.itemData(index))

    def _update_channel_chooser(self) -> None:
        stereo = self.is_stereo()
        self.channel_combo.setVisible(stereo)
        self.channel_label.setVisible(stereo)

    def _retitle(self, slot: _Slot) -> None:
        title = slot.title
        if slot.audio is not None and slot.audio.ndim == 2 and self._channel != "mono":
            title += f"  [{dict(CHANNEL_VIEWS)[self._channel]}]"
        slot.plot.setTitle(title, color=FOREGROUND, size="9pt", justify="left")

    def set_levels(self, low_db: float, high_db: float) -> None:
        """Fix the colour scale (dB re full scale) for both plots; auto levels stop until :meth:`auto_levels`."""
        self._user_levels = True
        self.colorbar.setLevels((float(low_db), float(high_db)))

    def levels(self) -> tuple[float, float]:
        return tuple(float(v) for v in self.colorbar.levels())

    def auto_levels(self) -> None:
        """Levels from the mix (or the stem when there is no mix): its loud end and ``dynamic_range`` dB below."""
        self._user_levels = False
        spec = self._slots["mix"].spec or self._slots["stem"].spec
        if spec is None:
            return
        sample = spec.db[:, :: max(1, spec.n_frames // 2000)]
        hi = float(np.percentile(sample, 99.9)) + 3.0
        hi = math.ceil(hi / 5.0) * 5.0
        self.colorbar.setLevels((max(FLOOR_DB, hi - self.dynamic_range), hi))

    def spectrogram(self, which: str = "mix") -> Spectrogram | None:
        """The spectrogram on screen in ``"mix"`` or ``"stem"`` (``None`` while computing or empty)."""
        return self._slots[which].spec

    def is_busy(self) -> bool:
        return any(s.request is not None for s in self._slots.values())

    def cancel_jobs(self) -> None:
        for slot in self._slots.values():
            self._cancel(slot)
        self._update_status()

    def closeEvent(self, event):
        self.cancel_jobs()
        super().closeEvent(event)

    # ------------------------------------------------------------------ computing
    def _set_audio(self, slot: _Slot, audio, sample_rate: int, title: str) -> None:
        if audio is not None:
            audio = np.asarray(audio)
        slot.audio, slot.sample_rate, slot.title = audio, int(sample_rate), title
        slot.fingerprint = audio_fingerprint(audio) if audio is not None else None
        self._retitle(slot)
        self._update_channel_chooser()
        slot.spec = None  # never another signal's picture under this title, even while computing
        slot.image.clear()
        self._request(slot, reset_view=slot.name == "mix")

    def _spec_params(self) -> dict:
        return dict(self._params, scale=self._scale)

    def _cancel(self, slot: _Slot) -> None:
        if slot.request is not None:
            slot.request.job.cancel()
            slot.request = None

    def _request(self, slot: _Slot, reset_view: bool = False) -> None:
        slot.generation += 1
        self._cancel(slot)
        self._errors.pop(slot.name, None)
        self._reset_view = self._reset_view or reset_view
        if slot.audio is None:
            slot.spec = None
            slot.image.clear()
            self._after_change()
            return
        params = self._spec_params()
        params["channel"] = self._channel if slot.audio.ndim == 2 else "mono"
        params["hop"] = display_hop(len(slot.audio), params["hop"])  # bounded resolution for long songs
        key = self.cache.key(slot.audio, slot.sample_rate, slot.fingerprint, **params)
        spec = self.cache.get(key)
        if spec is not None:
            self._show(slot, spec)
            self._update_status()
            return
        self._start_request(slot, key, params)
        self._update_status()

    def _update_status(self) -> None:
        busy = [s for s in self._slots.values() if s.request is not None]
        if busy:
            text = "Computing spectrogram: " + ", ".join(
                f"{s.name} {int(100 * s.request.fraction)}%" for s in busy)
        else:
            text = "; ".join(self._errors.values())
        self.status_label.setText(text)

    # ------------------------------------------------------------------ showing
    def _show(self, slot: _Slot, spec: Spectrogram) -> None:
        slot.spec = spec
        dt = spec.hop / spec.sample_rate
        slot.image.setImage(spec.db, autoLevels=False, levels=self.colorbar.levels())
        slot.image.setRect(QRectF(-dt / 2.0, 0.0, spec.n_frames * dt, float(spec.n_bins)))
        slot.plot.getAxis("left").set_spectrogram(spec)
        if not self._user_levels and (slot.name == "mix" or self._slots["mix"].spec is None):
            self.auto_levels()
        self._after_change()
        self.spectrogramShown.emit(slot.name, spec)

    def _after_change(self) -> None:
        specs = [s.spec for s in self._slots.values() if s.spec is not None]
        for s in self._slots.values():  # both axes label the same rows: give an empty plot the other's mapping
            if s.spec is None:
                s.plot.getAxis("left").set_spectrogram(specs[0] if specs else None)
        if not specs:
            self._set_empty_ranges()
            self._reset_view = False
            return
        dt = max(s.hop / s.sample_rate for s in specs)
        x_min = -dt / 2.0
        x_max = max(s.n_frames * (s.hop / s.sample_rate) for s in specs) + x_min
        n_bins = max(s.n_bins for s in specs)
        self._duration = max(s.duration for s in specs)
        for s in self._slots.values():
            s.plot.setLimits(xMin=x_min, xMax=x_max, yMin=0.0, yMax=float(n_bins), minXRange=4 * dt, minYRange=4.0)
        self.region_item.setBounds((0.0, max(self._duration, x_max)))
        vb = self.mix_plot.getViewBox()
        if self._reset_view:
            vb.setRange(xRange=(0.0, self._duration or x_max), yRange=(0.0, float(n_bins)), padding=0)
            self._reset_view = False
        else:  # a new scale keeps the time zoom but shows the whole frequency range
            vb.setRange(yRange=(0.0, float(n_bins)), padding=0)

    def _set_empty_ranges(self) -> None:
        for s in self._slots.values():
            s.plot.setLimits(xMin=None, xMax=None, yMin=None, yMax=None, minXRange=None, minYRange=None)
        self.mix_plot.getViewBox().setRange(xRange=(0.0, 10.0), yRange=(0.0, 256.0), padding=0)

    def _style_plot(self, plot: pg.PlotItem) -> None:
        plot.setMenuEnabled(False)
        plot.hideButtons()
        plot.showAxis("right")
        plot.getAxis("right").setStyle(showValues=False)
        plot.showAxis("top")
        plot.getAxis("top").setStyle(showValues=False)
        for name in ("left", "bottom", "right", "top"):
            ax = plot.getAxis(name)
            ax.setPen(pg.mkPen("#3a3f47"))
            ax.setTextPen(FOREGROUND)
        plot.getAxis("left").setWidth(44)
        plot.getAxis("left").setLabel("Hz", color=FOREGROUND)

    # ------------------------------------------------------------------ interaction
    def _on_scale_combo(self, index: int) -> None:
        self.set_scale(self.scale_combo.itemData(index))

    def _on_user_levels(self, *_):
        self._user_levels = True

    def _on_loop_drag(self, start: float, end: float, finished: bool) -> None:
        lo, hi = 0.0, max(self._duration, 1e-3)
        start, end = min(max(start, lo), hi), min(max(end, lo), hi)
        self.region_item.show()
        self.stem_region.show()
        self.clear_loop_button.setEnabled(True)
        self.region_item.blockSignals(not finished)
        try:
            self.region_item.setRegion((start, end))
        finally:
            self.region_item.blockSignals(False)
        self._mirror_region()
        if finished:
            self._on_region_item_finished()

    def _mirror_region(self, *_):
        self.stem_region.setRegion(self.region_item.getRegion())

    def _on_region_item_finished(self, *_):
        if not self.region_item.isVisible():
            return
        start, end = (float(v) for v in self.region_item.getRegion())
        self._region = (start, end)
        self._mirror_region()
        if self._emitted_region != self._region:
            self._emitted_region = self._region
            self.regionChanged.emit(start, end)

    def _on_scene_click(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.double() or ev.modifiers():
            return
        pos = ev.scenePos()
        for plot in (self.mix_plot, self.stem_plot):
            vb = plot.getViewBox()
            if vb.sceneBoundingRect().contains(pos):
                self.seekRequested.emit(max(0.0, float(vb.mapSceneToView(pos).x())))
                return
