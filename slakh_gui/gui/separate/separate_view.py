"""The Separate panel: run a separation model on the loaded mix (or a selected region of it) in the background,
score its estimate and the oracle masks' estimates of the same target against the truth, listen with one-click A/B,
export the estimate.

The truth is the model's recipe group submixed from the loaded stems (any rendered song or Slakh track folder), so
SI-SDR and its improvement over the mixture are shown whenever stems are loaded. The oracle masks (IBM, IRM,
Wiener-like, truncated PSF) are computed in the model's STFT from the truth: they show how far the model stands from
the best a mask of that kind can do, and they can be listened to like the model's estimate. The work (separating,
scoring, exporting) is in :mod:`slakh_gui.separation.comparison`.

:class:`SeparateView` composes its parts: :class:`~.model_panel.ModelPanel` (choosing and loading the model),
:class:`~.score_table.ScoreTable` (the scores), :class:`~.audition_bar.AuditionBar` (listening through the window's
player, exporting) and the spectrograms (:class:`~slakh_gui.gui.separate_plots.SpectrogramStack`); it runs the
separation itself. torch is imported only in worker threads (listing and loading models), never at the app's start.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, QSize, Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from slakh_gui.core.constants import SAMPLE_RATE
from slakh_gui.core.jobs import Progress
from slakh_gui.gui.job_runner import Job, JobRunner
from slakh_gui.gui.separate.audition_bar import AuditionBar
from slakh_gui.gui.separate.messages import first_line
from slakh_gui.gui.separate.model_panel import ModelPanel
from slakh_gui.gui.separate.score_table import ScoreTable
from slakh_gui.gui.separate_plots import SpectrogramStack
from slakh_gui.separation.comparison import (
    WIENER_DEFAULT,
    SeparationRun,
    clock,
    model_title,
    region_span,
    run_separation,
)


class VerticalScroll(QScrollArea):
    """A frameless area that scrolls its widget vertically only, never narrower than the widget needs: a short dock
    scrolls the column instead of squeezing its rows over each other."""

    def __init__(self, widget: QWidget):
        super().__init__()
        self.setWidget(widget)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)

    def minimumSizeHint(self) -> QSize:  # Qt override
        hint = super().minimumSizeHint()
        return QSize(self.widget().minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width(),
                     hint.height())


class SeparateView(QWidget):
    """Pick a model, separate the loaded mix (or the selected region), compare with the oracles, listen, export.

    The window feeds it ``set_track(mix, stems, sr, metadata, name)``, ``set_region(start, end)`` (``end <= start``
    clears it) and ``set_player(get_player, note)``; it reports errors through ``errorRaised`` (the message bar) and
    notes through ``statusMessage``. Its jobs run on ``runner`` (the window's; a private one when None), each kind
    in its own slot (newest request wins); ``cancel_jobs()`` stops them.
    """

    errorRaised = Signal(str)
    statusMessage = Signal(str)
    modelsListed = Signal(object)  # {name: path or None}
    modelLoaded = Signal(object)  # SeparationModel
    separationFinished = Signal(object)  # SeparationRun, or None when cancelled or failed
    exported = Signal(object)  # the written Path, or None when the export failed

    SLOTS = ("models", "model", "run", "export")

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None,
                 runner: JobRunner | None = None):
        super().__init__(parent)
        self.setAccessibleName("Separate panel")
        self.settings = settings
        self.runner = runner if runner is not None else JobRunner(self)
        self.mix: np.ndarray | None = None
        self.stems: dict[str, np.ndarray] = {}
        self.stereo_mix: np.ndarray | None = None
        self.metadata: dict = {}
        self.sample_rate = SAMPLE_RATE  # of the loaded audio (the render default until a track is loaded)
        self.track_name = ""
        self.region: tuple[float, float] | None = None
        self.run: SeparationRun | None = None
        self.job: Job | None = None
        self._delivered: SeparationRun | None = None  # the running separation's result, once it arrived
        self._generation = 0
        self.models = ModelPanel(self.runner, self._slot, settings)
        self.scores = ScoreTable()
        self.audition = AuditionBar(self.runner, self._slot, settings)
        # the parts' widgets under the names the panel always had
        self.model_combo, self.browse_button, self.model_label = (self.models.combo, self.models.browse_button,
                                                                  self.models.label)
        self.table, self.gap_label = self.scores.table, self.scores.gap_label
        a = self.audition
        self.part_buttons, self.play_button, self.loop_check = a.part_buttons, a.play_button, a.loop_check
        self.time_label, self.export_button = a.time_label, a.export_button
        self._connect_parts()
        self._build()
        self._update_enabled()

    @property
    def model(self):
        """The loaded SeparationModel (None until one loads)."""
        return self.models.model

    @property
    def took_player(self) -> bool:
        """The window's player holds this panel's sources (the window's transport clears it on taking it back)."""
        return self.audition.took_player

    @took_player.setter
    def took_player(self, value: bool) -> None:
        self.audition.took_player = value

    # ------------------------------------------------------------------------------------------ layout
    def _connect_parts(self) -> None:
        for part in (self.models, self.audition):
            part.errorRaised.connect(self.errorRaised)
            part.statusMessage.connect(self.statusMessage)
        self.models.errorRaised.connect(lambda _text: self._update_enabled())
        self.models.modelsListed.connect(self.modelsListed)
        self.models.modelLoaded.connect(self._model_loaded)
        self.scores.rowSelected.connect(self.select_estimate)
        self.audition.exported.connect(self.exported)
        self.audition.shownChanged.connect(self._show_middle)
        self.audition.add_shortcuts(self)

    def _build(self) -> None:
        controls = QWidget()
        cl = QVBoxLayout(controls)
        cl.setContentsMargins(6, 4, 6, 4)
        cl.setSpacing(4)
        cl.addWidget(self.models)
        self.range_check = QCheckBox("Only the selected region")
        self.range_check.setAccessibleName("Range mode: separate only the selected region")
        self.range_check.setToolTip("Shift+drag a region (10–30 s is plenty) on the mix spectrogram above, "
                                    "to try models quickly")
        self.range_check.toggled.connect(self._update_region_label)
        cl.addWidget(self.range_check)
        self.region_label = QLabel()
        self.region_label.setAccessibleName("Selected region")
        self.region_label.setWordWrap(True)
        self.region_label.setStyleSheet("color: #9aa0a8; font-size: 8pt; margin-left: 20px;")
        cl.addWidget(self.region_label)
        self.oracle_check = QCheckBox("Oracle masks too")
        self.oracle_check.setAccessibleName("Also compute the oracle masks' estimates")
        self.oracle_check.setToolTip("Also the oracle masks IBM, IRM, Wiener-like and tPSF: the best each kind of "
                                     "mask can do, computed from the truth. How far is the model from them?")
        self.oracle_check.setChecked(True)
        cl.addWidget(self.oracle_check)
        self.wiener_check = QCheckBox("Wiener post-filter (all targets)")
        self.wiener_check.setAccessibleName("Refine the estimate with the joint Wiener post-filter")
        self.wiener_check.setToolTip("The shipped models of the other targets separate the same mix too, and a "
                                     "multichannel Wiener filter (norbert's EM) refines all estimates together, "
                                     "so that they add up to the mix")
        self.wiener_check.setChecked(WIENER_DEFAULT)
        cl.addWidget(self.wiener_check)
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

        scores = QWidget()
        sl = QVBoxLayout(scores)
        sl.setContentsMargins(4, 4, 4, 4)
        sl.setSpacing(4)
        sl.addWidget(self.scores)
        sl.addWidget(self.audition)
        sl.addStretch(1)

        self.plots = SpectrogramStack([("mix", "Mix"), ("estimate", "Estimate"), ("truth", "Truth")],
                                      runner=self.runner)
        self.plots.seekRequested.connect(self.seek)
        self.audition.playheadMoved.connect(self.plots.set_playhead)

        # a short dock (a 1280x720 laptop gives it about 260 px) scrolls each column instead of squeezing it
        self.controls_scroll, self.scores_scroll = VerticalScroll(controls), VerticalScroll(scores)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(self.controls_scroll)
        splitter.addWidget(self.scores_scroll)
        splitter.addWidget(self.plots)
        splitter.setStretchFactor(0, 0)
        splitter.setStretchFactor(1, 0)
        splitter.setStretchFactor(2, 1)
        splitter.setSizes([230, 280, 770])  # the scores column: 4 columns of the table at 1280x720
        splitter.setChildrenCollapsible(False)
        self.splitter = splitter
        lay = QGridLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.addWidget(splitter, 0, 0)
        self._update_region_label()

    # ------------------------------------------------------------------------------------------ inputs
    def set_player(self, get_player: Callable, note: str = "") -> None:
        """``get_player()`` gives the window's current Player (or None: then ``note`` says why nothing plays)."""
        self.audition.set_player(get_player, note)
        self._update_enabled()

    def set_track(self, mix: np.ndarray | None, stems: dict[str, np.ndarray], sample_rate: int,
                  metadata: dict | None = None, name: str = "", *, stereo_mix: np.ndarray | None = None) -> None:
        """The loaded audio (the window replaced the player's sources): earlier results no longer apply.

        ``mix`` and ``stems`` are mono (a stereo track's fold-down); ``stereo_mix``: a stereo track's own ``(n, 2)``
        mix, which external (stereo) models separate instead of a copy of the mono mix."""
        self.stereo_mix = stereo_mix
        self.audition.release()
        self._generation += 1  # a separation under way belongs to the audio before: its outcome is dropped
        if self.job is not None:
            self.job.cancel()
        if mix is None and stems:
            n = max(len(a) for a in stems.values())
            mix = np.zeros(n, np.float32)
            for a in stems.values():
                mix[: len(a)] += a
        self.mix, self.stems, self.sample_rate = mix, dict(stems), int(sample_rate)
        self.metadata = metadata or {}
        self.track_name = self.audition.track_name = name
        self._clear_run()
        self.progress.setValue(0)
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

    def _update_region_label(self, *_) -> None:
        if self.region is None:
            text = "Shift+drag a region on the mix spectrogram"
        else:
            a, b = self.region
            text = f"Region {clock(a)} – {clock(b)} ({b - a:.1f} s)"
        self.region_label.setText(text)
        self.region_label.setEnabled(self.range_check.isChecked())

    # ------------------------------------------------------------------------------------------ models
    def showEvent(self, event) -> None:  # Qt override
        super().showEvent(event)
        if not self.models.listed:
            self.refresh_models()

    def refresh_models(self) -> Job:
        """List the shipped models (in the background: it imports torch); the first installed one is loaded."""
        return self.models.refresh_models()

    def load_model(self, name_or_path: str | Path) -> Job:
        """Load a shipped model by name or a model file (in the background); errors go to the message bar. A newer
        request replaces one still loading (its outcome is dropped)."""
        return self.models.load_model(name_or_path)

    def _model_loaded(self, model) -> None:
        self._update_enabled()
        self.modelLoaded.emit(model)

    # ------------------------------------------------------------------------------------------ running
    def start(self) -> Job | None:
        """Separate the loaded mix (or the selected region in range mode) with the loaded model."""
        if self.job is not None:
            return None
        if self.model is None:
            self.errorRaised.emit("Separate: choose a model first" + (" (it is still loading)" if self.models.job
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
            try:
                span = region_span(self.region, self.sample_rate, len(self.mix))
            except ValueError as exc:
                self.errorRaised.emit(f"Range mode: {exc}.")
                return None
        self.stop_playback()
        gen = self._generation
        self._delivered = None
        job = self.runner.start(
            run_separation, self.model, self.mix, self.stems, self.metadata, self.sample_rate, span,
            self.oracle_check.isChecked(), wiener=self.wiener_check.isChecked(), model_mix=self.stereo_mix,
            slot=self._slot("run"),
            on_progress=self._on_progress,
            on_result=lambda run: self._done(run) if gen == self._generation else None,
            on_error=lambda exc: self._failed(exc) if gen == self._generation else None,
            on_finished=lambda: self._finished(job, gen))
        self.job = job
        self.progress.setValue(0)
        what = f"{(span[1] - span[0]) / self.sample_rate:.1f} s region" if span else "the mix"
        self.info_label.setText(f"Separating {what} with {model_title(self.model)} …")
        self.statusMessage.emit(f"Separating {what} with {model_title(self.model)} …")
        self._update_enabled()
        return job

    def cancel(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.cancel_button.setEnabled(False)
            self.info_label.setText("Cancelling …")

    def _on_progress(self, p: Progress) -> None:
        if self.job is not None and not self.job.cancelled:
            self.progress.setValue(int(100 * p.fraction))

    def _done(self, run: SeparationRun) -> None:
        self._clear_run()
        self.run = self._delivered = run
        self.scores.show_run(run)
        text = run.summary(whole=run.covers(self.mix))
        self.info_label.setText(text)
        self.audition.set_run(run)
        self.plots.set_audio("mix", run.mix, run.sample_rate, "Mix", run.offset)
        self.plots.set_audio("truth", run.truth, run.sample_rate,
                             f"Truth: {run.target} (recipe group)" if run.truth is not None else "Truth: unknown",
                             run.offset)
        self.select_estimate("model")
        self.statusMessage.emit(text)  # separationFinished follows in _finished, the panel ready again

    def _failed(self, exc: Exception) -> None:
        text = first_line(exc)
        self.info_label.setText(f"Separation failed: {text}")
        self.errorRaised.emit(f"Separation failed: {text}")

    def _finished(self, job: Job, gen: int) -> None:
        """Every separation ends here, reporting its run through ``separationFinished`` once Separate is offered
        again (None when it was cancelled or failed)."""
        if job is not self.job:
            return
        self.job = None
        current = gen == self._generation
        if self._delivered is None:
            if current and job.cancelled:
                self.info_label.setText("Separation cancelled.")
                self.statusMessage.emit("Separation cancelled")
            self.progress.setValue(0)
        else:
            self.progress.setValue(100)
        self._update_enabled()
        self.separationFinished.emit(self._delivered)

    def _clear_run(self) -> None:
        self.audition.clear()
        self.run = None
        self.scores.clear()
        self.plots.clear()
        self.plots.set_title("estimate", "Estimate")
        self._update_enabled()

    # ------------------------------------------------------------------------------------------ listening
    def select_estimate(self, key: str) -> None:
        """Show (and, while playing, hear) the estimate of row ``key`` (a ROWS key)."""
        if self.run is None or key not in self.run.estimates:
            return
        self.scores.select(key)
        self.audition.select(key)

    def listen(self, part: str) -> None:
        """One click A/B: hear ``estimate``, ``residual``, ``truth`` or ``mix``; playback starts if stopped and
        keeps its position if running."""
        self.audition.listen(part)

    def pause(self) -> None:
        self.audition.pause()

    def stop_playback(self) -> None:
        self.audition.stop_playback()

    def seek(self, song_seconds: float) -> None:
        """Play from ``song_seconds`` (seconds of the song: a region's run starts at its offset)."""
        self.audition.seek(song_seconds)

    def _show_middle(self) -> None:
        if self.run is not None:
            audio, title = self.audition.shown()
            self.plots.set_audio("estimate", audio, self.run.sample_rate, title, self.run.offset)

    def export_estimate(self, path: str | Path, key: str | None = None) -> Job | None:
        """Write the estimate of row ``key`` (default: the selected one) as 16-bit WAV or FLAC, atomically, in the
        background; ``exported`` reports the path (None when it failed, the reason in ``errorRaised``)."""
        return self.audition.export_estimate(path, key)

    # ------------------------------------------------------------------------------------------ plumbing
    def _slot(self, name: str) -> str:
        """This panel's runner slot ``name`` (the window's runner serves other views too)."""
        return f"separate-{id(self):x}/{name}"

    def _update_enabled(self) -> None:
        running = self.job is not None
        self.run_button.setEnabled(not running and self.model is not None and self.mix is not None)
        self.cancel_button.setEnabled(running and not self.job.cancelled)
        self.models.set_busy(running)
        self.audition.update_enabled()

    def cancel_jobs(self) -> None:
        """Stop this panel's jobs and its spectrograms (the window is closing)."""
        for name in self.SLOTS:
            self.runner.cancel(self._slot(name))
        self.plots.cancel_jobs()
        self.audition.timer.stop()
