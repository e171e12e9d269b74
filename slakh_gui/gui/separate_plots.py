"""Stacked spectrograms for the Separate panel: the mix, an estimate and the truth on one time axis (in seconds of
the song, so a separated region sits where it is in the song) and one dB colour scale, with a playhead.

Computed off the GUI thread and cached like the main window's :class:`~slakh_gui.gui.spectrogram_view.SpectrogramView`
(same STFT, bands and full-scale reference, so levels read the same in both), through the same request objects, on
the runner the owner passes (the window's). Each plot keeps at least ``MIN_PLOT_HEIGHT`` px: in a short dock the
stack scrolls rather than squeezing the plots flat; titles sit inside the plots to leave the height to the images.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QScrollArea, QVBoxLayout, QWidget

from slakh_gui.core.studio.spectrogram import Spectrogram, SpectrogramCache, audio_fingerprint
from slakh_gui.gui.job_runner import JobRunner
from slakh_gui.gui.spectrogram_view import (
    BACKGROUND,
    FLOOR_DB,
    FOREGROUND,
    PLAYHEAD,
    FrequencyAxis,
    SlotRequests,
    _Slot,
)

PARAMS = dict(n_fft=2048, hop=512, n_bins=192, fmin=30.0, top_db=-FLOOR_DB, ref=1.0, scale="log")
MIN_PLOT_HEIGHT = 80  # px per plot (title, image and axis)
BOTTOM_AXIS = 24  # px, the last plot's time axis with its values


class SpectrogramStack(SlotRequests, QWidget):
    """Plots named ``names`` stacked top to bottom; ``set_audio(name, audio, sr, title, offset)`` shows one.

    Spectrograms are computed on ``runner`` (one slot per plot: a newer audio replaces a computation under way);
    a private runner when None.
    """

    seekRequested = Signal(float)  # seconds of the song, a left click on a plot
    spectrogramShown = Signal(str, object)

    def __init__(self, names: list[tuple[str, str]], parent: QWidget | None = None, *,
                 cache: SpectrogramCache | None = None, dynamic_range: float = 80.0, runner: JobRunner | None = None):
        super().__init__(parent)
        self.runner = runner if runner is not None else JobRunner(self)
        self.setAccessibleName("Separation spectrograms")
        self.cache = cache if cache is not None else SpectrogramCache(max_entries=16)
        self.dynamic_range = dynamic_range
        self._offsets: dict[str, float] = {}
        self._errors: dict[str, str] = {}
        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setBackground(BACKGROUND)
        self.graphics.setAccessibleName("Spectrograms of the mix, the estimate and the truth")
        self.graphics.ci.setContentsMargins(2, 2, 2, 2)
        self.graphics.ci.setSpacing(1)
        self.colorbar = pg.ColorBarItem(values=(-90.0, -10.0), colorMap="inferno", label="dB",
                                        limits=(FLOOR_DB, 20.0), rounding=1.0, width=10, pen=FOREGROUND,
                                        hoverPen=PLAYHEAD, interactive=True)
        for ax in ("left", "right", "top", "bottom"):
            self.colorbar.getAxis(ax).setTextPen(FOREGROUND)
        self._slots: dict[str, _Slot] = {}
        self._titles: dict[str, pg.LabelItem] = {}
        first = None
        for row, (name, title) in enumerate(names):
            plot = self.graphics.addPlot(row=row, col=0, axisItems={"left": FrequencyAxis()})
            image = pg.ImageItem(axisOrder="row-major", autoDownsample=True)
            plot.addItem(image)
            head = pg.InfiniteLine(0.0, angle=90, movable=False, pen=pg.mkPen(PLAYHEAD, width=1.5))
            head.setZValue(20)
            head.hide()
            plot.addItem(head, ignoreBounds=True)
            plot.setMenuEnabled(False)
            plot.hideButtons()
            plot.setMouseEnabled(x=True, y=False)
            for axn in ("left", "bottom"):
                axis = plot.getAxis(axn)
                axis.setPen(pg.mkPen("#3a3f47"))
                axis.setTextPen(FOREGROUND)
            plot.getAxis("left").setWidth(40)
            if row < len(names) - 1:
                plot.getAxis("bottom").setStyle(showValues=False)
                plot.getAxis("bottom").setHeight(4)
            else:
                plot.getAxis("bottom").setHeight(BOTTOM_AXIS)
            plot.setMinimumHeight(MIN_PLOT_HEIGHT)
            label = pg.LabelItem(title, color=FOREGROUND, size="8pt", justify="left")
            label.setParentItem(plot.getViewBox())  # inside the plot, top left: no title row above it
            label.setPos(2, -2)
            label.setZValue(30)
            self._titles[name] = label
            if first is None:
                first = plot
            else:
                plot.setXLink(first)
                plot.setYLink(first)
            self._slots[name] = _Slot(name, plot, image, head, title)
        self.graphics.addItem(self.colorbar, row=0, col=1, rowspan=len(names))
        self.colorbar.setImageItem([s.image for s in self._slots.values()])
        self._first = first
        self.graphics.scene().sigMouseClicked.connect(self._on_click)
        self.status_label = QLabel("")
        self.status_label.setAccessibleName("Separation spectrogram status")
        self.status_label.setStyleSheet("color: #9aa0a8;")
        self.graphics.setMinimumHeight(len(names) * (MIN_PLOT_HEIGHT + 1) + 4)  # with the margins and spacing
        self.scroll = QScrollArea()
        self.scroll.setWidget(self.graphics)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.scroll.setStyleSheet(f"QScrollArea {{ background: {BACKGROUND}; }}")
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        lay.addWidget(self.scroll, 1)
        lay.addWidget(self.status_label)
        self.status_label.hide()
        first.getViewBox().setRange(xRange=(0.0, 10.0), yRange=(0.0, float(PARAMS["n_bins"])), padding=0)

    # ------------------------------------------------------------------ public API
    def set_audio(self, name: str, audio: np.ndarray | None, sample_rate: int, title: str,
                  offset: float = 0.0) -> None:
        slot = self._slots[name]
        slot.audio = None if audio is None else np.asarray(audio)
        slot.sample_rate = int(sample_rate)
        slot.title = title
        slot.fingerprint = audio_fingerprint(slot.audio) if slot.audio is not None else None
        self._titles[name].setText(title)
        self._offsets[name] = float(offset)
        slot.spec = None
        slot.image.clear()
        slot.generation += 1
        if slot.request is not None:
            slot.request.job.cancel()
            slot.request = None
        self._errors.pop(name, None)
        if slot.audio is None:
            self._update_status()
            return
        key = self.cache.key(slot.audio, slot.sample_rate, slot.fingerprint, **PARAMS)
        spec = self.cache.get(key)
        if spec is not None:
            self._show(slot, spec)
            return
        self._start_request(slot, key, PARAMS)
        self._update_status()

    def set_title(self, name: str, title: str) -> None:
        self._slots[name].title = title
        self._titles[name].setText(title)

    def title(self, name: str) -> str:
        return self._slots[name].title

    def plot(self, name: str) -> pg.PlotItem:
        return self._slots[name].plot

    def spectrogram(self, name: str) -> Spectrogram | None:
        return self._slots[name].spec

    def is_busy(self) -> bool:
        return any(s.request is not None for s in self._slots.values())

    def set_playhead(self, seconds: float | None) -> None:
        for s in self._slots.values():
            if seconds is None:
                s.playhead.hide()
            else:
                s.playhead.setValue(float(seconds))
                s.playhead.show()

    def cancel_jobs(self) -> None:
        for s in self._slots.values():
            if s.request is not None:
                s.request.job.cancel()
                s.request = None
        self._update_status()

    def clear(self) -> None:
        for name, s in self._slots.items():
            self.set_audio(name, None, s.sample_rate, s.title.split(":")[0])
        self.set_playhead(None)

    def _update_status(self) -> None:
        busy = [s.name for s in self._slots.values() if s.request is not None]
        text = ("Computing spectrograms: " + ", ".join(busy)) if busy else "; ".join(self._errors.values())
        self.status_label.setText(text)
        self.status_label.setVisible(bool(text))

    # ------------------------------------------------------------------ showing
    def _show(self, slot: _Slot, spec: Spectrogram) -> None:
        slot.spec = spec
        dt = spec.hop / spec.sample_rate
        offset = self._offsets.get(slot.name, 0.0)
        slot.image.setImage(spec.db, autoLevels=False, levels=self.colorbar.levels())
        slot.image.setRect(QRectF(offset - dt / 2.0, 0.0, spec.n_frames * dt, float(spec.n_bins)))
        for s in self._slots.values():  # the axes label the same rows: empty plots borrow the mapping
            if s.spec is None or s is slot:
                s.plot.getAxis("left").set_spectrogram(spec if s.spec is None else s.spec)
        first = next(iter(self._slots))
        if slot.name == first:
            sample = spec.db[:, :: max(1, spec.n_frames // 2000)]
            hi = math.ceil((float(np.percentile(sample, 99.9)) + 3.0) / 5.0) * 5.0
            self.colorbar.setLevels((max(FLOOR_DB, hi - self.dynamic_range), hi))
            self._first.getViewBox().setRange(xRange=(offset, offset + spec.duration),
                                              yRange=(0.0, float(spec.n_bins)), padding=0)
        self._update_status()
        self.spectrogramShown.emit(slot.name, spec)

    def _on_click(self, ev) -> None:
        if ev.button() != Qt.MouseButton.LeftButton or ev.double() or ev.modifiers():
            return
        pos = ev.scenePos()
        for s in self._slots.values():
            vb = s.plot.getViewBox()
            if vb.sceneBoundingRect().contains(pos):
                self.seekRequested.emit(float(vb.mapSceneToView(pos).x()))
                return
