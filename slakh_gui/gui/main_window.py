"""Slakh Studio's main window: tracks and patches, render, mixer, spectrograms, playback, sessions."""

from __future__ import annotations

import gc
import importlib.metadata
import math
import random
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QThreadPool, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDockWidget,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from slakh_gui import __version__, paths
from slakh_gui.core import midi, mixer, patches, pipeline
from slakh_gui.core.jobs import Progress
from slakh_gui.core.layout import track_name
from slakh_gui.core.track_folder import load_track_folder
from slakh_gui.gui.mixer_view import MixerView
from slakh_gui.gui.patches_view import PatchesView
from slakh_gui.gui.separate_view import SeparateView
from slakh_gui.gui.spectrogram_view import SpectrogramView
from slakh_gui.gui.track_table import TrackModel, TrackTable
from slakh_gui.gui.workers import Job

MAX_RECENT = 8


def _peak_db(audio: np.ndarray) -> float:
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    return 20 * math.log10(peak) if peak > 0 else float("-inf")


def _load_bank_and_song(song_path: Path, bank_path: Path):
    return midi.load_song(song_path), patches.load_bank(bank_path)


def _freeze_heap() -> None:
    """Move every object alive now out of the cyclic GC's reach. A full collection of this heap (Qt wrappers,
    pyqtgraph, the song's notes: ~10^5 objects) holds the GIL for 50-100 ms, and allocation-heavy worker threads
    (MIDI export, analysis) trigger them: the UI froze. Objects freed by reference counting are still freed."""
    gc.collect()
    gc.freeze()


def _peaks(stems: dict[str, np.ndarray]) -> dict[str, float]:
    return {k: _peak_db(a) for k, a in stems.items()}


def _open_folder(path: Path):
    """Worker side of opening a track folder: the audio and each stem's peak (kept off the UI thread)."""
    folder = load_track_folder(path)
    return folder, _peaks(folder.stems)


def _render_for_gui(*args, **kwargs):
    """Worker side of a render: the track, then each stem's peak for the mixer's readouts."""
    result = pipeline.render_track(*args, **kwargs)
    return result, _peaks(result.stems or {})


def _mix_levels(stems: dict[str, np.ndarray], gains: dict[str, float], mix: np.ndarray | None, sr: int):
    audio = mixer.mix_all(stems, gains) if stems else mix
    return mixer.levels(audio, sr)


class MessageBar(QWidget):
    """A non-modal strip at the top of the window for errors and notes (the app keeps running)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 4, 8, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setAccessibleName("Message")
        close = QToolButton(text="✕")
        close.setAccessibleName("Dismiss message")
        close.clicked.connect(self.hide)
        lay.addWidget(self.label, 1)
        lay.addWidget(close)
        self.hide()

    def show_message(self, text: str, error: bool = True) -> None:
        color = "#7a2a22" if error else "#24456b"
        self.setStyleSheet(f"background: {color}; color: white;")
        self.label.setText(text)
        self.show()


class MainWindow(QMainWindow):
    """Everything a user does with one song or one track folder."""

    songLoaded = Signal()
    renderFinished = Signal(object)  # TrackResult, or None when cancelled/failed

    def __init__(self, settings: QSettings | None = None, confirm_on_close: bool = True):
        super().__init__()
        self.settings = settings or QSettings()
        self.confirm_on_close = confirm_on_close
        self.setWindowTitle("Slakh Studio")
        self.setAccessibleName("Slakh Studio main window")
        self.setAcceptDrops(True)
        self.pool = QThreadPool.globalInstance()
        self.jobs: set[Job] = set()
        self.song: midi.Song | None = None
        self.bank: patches.Bank | None = None
        self.bank_path: Path = paths.default_bank()
        self.seed = 0
        self.fixed: dict[str, str | None] = {}
        self.locked: set[str] = set()
        self.assignment: patches.Assignment | None = None
        self.cache = pipeline.StemCache()
        self.stems: dict[str, np.ndarray] = {}
        self.mix_audio: np.ndarray | None = None
        self.sample_rate = 44100
        self.selected_key: str | None = None
        self.render_job: Job | None = None
        self.session_path: Path | None = None
        self.dirty = False
        self.loop_range: tuple[float, float] | None = None
        self._pending_progress: Progress | None = None
        self._stem_progress: dict[str, float] = {}
        self.player = None
        self.player_note = ""
        self.pending_mixer: dict | None = None
        self._last_result: pipeline.TrackResult | None = None

        self._build_ui()
        self._build_actions()
        self._init_player()
        self.patches_view.player, self.patches_view.player_note = self.player, self.player_note
        self.separate_view.set_player(lambda: self.player, self.player_note)
        self.ui_timer = QTimer(self, interval=40)  # progress + playhead repaint, never per sample
        self.ui_timer.timeout.connect(self._tick)
        self.ui_timer.start()
        self.mix_timer = QTimer(self, singleShot=True, interval=150)  # debounce mix-level computation
        self.mix_timer.timeout.connect(self._update_mix_levels)
        self._restore_settings()
        _freeze_heap()

    # ------------------------------------------------------------------------------------------ layout
    def _build_ui(self) -> None:
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.message = MessageBar()
        lay.addWidget(self.message)
        self.spectrograms = SpectrogramView()
        self.spectrograms.regionChanged.connect(self._region_changed)
        self.spectrograms.regionCleared.connect(lambda: self._region_changed(0.0, 0.0))
        self.spectrograms.seekRequested.connect(self.seek)
        lay.addWidget(self.spectrograms, 1)
        self.setCentralWidget(central)

        self.model = TrackModel(self)
        self.model.patchEdited.connect(self._patch_edited)
        self.model.lockEdited.connect(self._lock_edited)
        self.table = TrackTable(self.model)
        self.table.trackSelected.connect(self.select_stem)
        tracks = QWidget()
        tl = QVBoxLayout(tracks)
        tl.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.song_label = QLabel("No song")
        self.song_label.setStyleSheet("font-weight: bold;")
        row.addWidget(self.song_label, 1)
        row.addWidget(QLabel("Seed"))
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setAccessibleName("Seed of the patch draw")
        self.seed_spin.valueChanged.connect(self._seed_changed)
        row.addWidget(self.seed_spin)
        self.reroll_one_button = QPushButton("Re-roll track")
        self.reroll_one_button.setAccessibleName("Draw another patch for the selected track")
        self.reroll_one_button.clicked.connect(self.reroll_selected)
        self.reroll_all_button = QPushButton("Re-roll unlocked")
        self.reroll_all_button.setAccessibleName("Draw new patches for every unlocked track")
        self.reroll_all_button.clicked.connect(self.reroll_unlocked)
        row.addWidget(self.reroll_one_button)
        row.addWidget(self.reroll_all_button)
        tl.addLayout(row)
        tl.addWidget(self.table, 1)
        self.tracks_dock = self._dock("Tracks", tracks, Qt.DockWidgetArea.TopDockWidgetArea)
        self.patches_view = PatchesView(settings=self.settings, autoload=False)
        self.patches_view.bankSaved.connect(self._patches_bank_saved)
        self.patches_dock = self._dock("Patches", self.patches_view, Qt.DockWidgetArea.TopDockWidgetArea)
        self.patches_dock.visibilityChanged.connect(self._patches_shown)
        self.tabifyDockWidget(self.tracks_dock, self.patches_dock)
        self.tracks_dock.raise_()

        self.mixer_view = MixerView()
        self.mixer_view.stateChanged.connect(self._mixer_changed)
        self.mixer_view.stemSelected.connect(self.select_stem)
        self.mixer_dock = self._dock("Mixer", self.mixer_view, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.separate_view = SeparateView(settings=self.settings)
        self.separate_view.errorRaised.connect(self.show_error)
        self.separate_view.statusMessage.connect(lambda text: self.status_label.setText(text))
        self.spectrograms.regionChanged.connect(self.separate_view.set_region)
        self.spectrograms.regionCleared.connect(lambda: self.separate_view.set_region(0.0, 0.0))
        self.separate_dock = self._dock("Separate", self.separate_view, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.tabifyDockWidget(self.mixer_dock, self.separate_dock)
        self.mixer_dock.raise_()

        self.render_panel = self._build_render_panel()
        self.render_dock = self._dock("Render", self.render_panel, Qt.DockWidgetArea.RightDockWidgetArea)

        self.status_label = QLabel("Ready")
        self.statusBar().addWidget(self.status_label, 1)
        self.transport_label = QLabel("0:00.0 / 0:00.0")
        self.transport_label.setStyleSheet("font-family: monospace;")
        self.statusBar().addPermanentWidget(self.transport_label)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(220)
        self.progress.setAccessibleName("Overall progress")
        self.progress.hide()
        self.statusBar().addPermanentWidget(self.progress)

    def _dock(self, title: str, widget: QWidget, area) -> QDockWidget:
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower()}")
        dock.setWidget(widget)
        dock.setFeatures(QDockWidget.DockWidgetFeature.DockWidgetMovable
                         | QDockWidget.DockWidgetFeature.DockWidgetFloatable)
        self.addDockWidget(area, dock)
        return dock

    def _build_render_panel(self) -> QWidget:
        w = QWidget()
        form = QFormLayout(w)
        self.out_edit = QLineEdit(str(Path.home() / "slakh-studio-out"))
        self.out_edit.setAccessibleName("Output folder")
        browse = QPushButton("…")
        browse.setAccessibleName("Choose the output folder")
        browse.setFixedWidth(30)
        browse.clicked.connect(self._choose_output)
        out_row = QHBoxLayout()
        out_row.addWidget(self.out_edit, 1)
        out_row.addWidget(browse)
        form.addRow("Output", out_row)
        self.track_spin = QSpinBox()
        self.track_spin.setRange(1, 99999)
        self.track_spin.setAccessibleName("Track number")
        form.addRow("Track no.", self.track_spin)
        self.format_combo = QComboBox()
        self.format_combo.addItems(["flac", "wav"])
        self.format_combo.setAccessibleName("Audio format")
        form.addRow("Format", self.format_combo)
        self.tail_spin = QDoubleSpinBox()
        self.tail_spin.setRange(0.0, 30.0)
        self.tail_spin.setValue(pipeline.DEFAULT_TAIL)
        self.tail_spin.setSuffix(" s")
        self.tail_spin.setAccessibleName("Tail after the song's end")
        form.addRow("Tail", self.tail_spin)
        self.fx_check = QCheckBox("FluidSynth reverb/chorus")
        self.fx_check.setAccessibleName("FluidSynth reverb and chorus per track")
        form.addRow("", self.fx_check)
        self.flakh_check = QCheckBox("Flakh mode (TimGM6mb, unsplit mix)")
        self.flakh_check.setAccessibleName("Flakh mode")
        self.flakh_check.toggled.connect(self._flakh_toggled)
        form.addRow("", self.flakh_check)
        self.range_check = QCheckBox("Only the selected region")
        self.range_check.setAccessibleName("Range mode: render only the selected region")
        self.range_check.setToolTip("Shift+drag a region on the mix spectrogram, then render just that part")
        form.addRow("", self.range_check)
        self.render_button = QPushButton("Render")
        self.render_button.setAccessibleName("Render stems and mix")
        self.render_button.setStyleSheet("font-weight: bold; padding: 6px;")
        self.render_button.clicked.connect(self.start_render)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel the render")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancel_render)
        buttons = QHBoxLayout()
        buttons.addWidget(self.render_button, 1)
        buttons.addWidget(self.cancel_button)
        form.addRow(buttons)
        self.render_progress = QProgressBar()
        self.render_progress.setAccessibleName("Render progress")
        form.addRow(self.render_progress)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        form.addRow(self.result_label)
        return w

    def _build_actions(self) -> None:
        def act(text, slot, shortcut=None, tip=""):
            a = QAction(text, self)
            if shortcut:
                a.setShortcut(QKeySequence(shortcut))
            a.setStatusTip(tip or text)
            a.triggered.connect(slot)
            return a

        m = self.menuBar()
        f = m.addMenu("&File")
        self.open_action = act("&Open MIDI…", self.open_dialog, QKeySequence.StandardKey.Open)
        self.open_track_action = act("Open &Track Folder…", self.open_track_dialog, "Ctrl+Shift+O")
        self.recent_menu = f.addMenu("Open &Recent")
        self.open_session_action = act("Open &Session…", self.open_session_dialog, "Ctrl+Shift+L")
        self.save_session_action = act("&Save Session", self.save_session, QKeySequence.StandardKey.Save)
        self.save_session_as_action = act("Save Session &As…", self.save_session_as, "Ctrl+Shift+S")
        self.export_action = act("&Export Mix…", self.export_dialog, "Ctrl+E")
        self.export_stems_action = act("Export Mix and &Gained Stems…", self.export_stems_dialog, "Ctrl+Shift+E")
        quit_action = act("&Quit", self.close, QKeySequence.StandardKey.Quit)
        for a in (self.open_action, self.open_track_action):
            f.addAction(a)
        f.insertMenu(self.open_track_action, self.recent_menu)
        from slakh_gui.gui import dataset_dialog  # noqa: PLC0415  (it imports this module)

        f.addSeparator()
        self.dataset_action = act("Build &Dataset…", lambda: dataset_dialog.show_dataset_dialog(self), "Ctrl+Shift+D",
                                  "Render a MIDI folder into a Slakh2100-layout dataset")
        self.open_dataset_action = act("Open Dataset &Folder…", lambda: dataset_dialog.open_dataset_folder(self),
                                       tip="Lint findings and statistics of a dataset folder")
        f.addAction(self.dataset_action)
        f.addAction(self.open_dataset_action)
        f.addSeparator()
        for a in (self.open_session_action, self.save_session_action, self.save_session_as_action):
            f.addAction(a)
        f.addSeparator()
        f.addAction(self.export_action)
        f.addAction(self.export_stems_action)
        f.addSeparator()
        f.addAction(quit_action)
        r = m.addMenu("&Render")
        self.render_action = act("&Render", self.start_render, "Ctrl+R")
        self.cancel_action = act("&Cancel Render", self.cancel_render, "Esc")
        r.addAction(self.render_action)
        r.addAction(self.cancel_action)
        r.addAction(act("Re-roll &Unlocked Patches", self.reroll_unlocked, "Ctrl+Shift+R"))
        p = m.addMenu("&Playback")
        self.play_action = act("&Play / Pause", self.toggle_play, "Space")
        self.stop_action = act("&Stop", self.stop, "Ctrl+.")
        self.loop_action = act("&Loop Selection", lambda checked=False: self._loop_toggled(checked), "Ctrl+L")
        self.loop_action.setCheckable(True)
        for a in (self.play_action, self.stop_action, self.loop_action):
            p.addAction(a)
        v = m.addMenu("&View")
        for d in (self.tracks_dock, self.patches_dock, self.mixer_dock, self.separate_dock, self.render_dock):
            v.addAction(d.toggleViewAction())
        h = m.addMenu("&Help")
        h.addAction(act("&Diagnostics…", self.show_diagnostics, tip="Versions, SoundFonts, audio devices and paths "
                        "for a bug report"))
        h.addAction(act("&About Slakh Studio", self.about))

        tb = self.addToolBar("Main")
        tb.setObjectName("toolbar_main")
        for a in (self.open_action, self.render_action, self.cancel_action):
            tb.addAction(a)
        tb.addSeparator()
        for a in (self.play_action, self.stop_action, self.loop_action):
            tb.addAction(a)
        self._update_recent_menu()

    # ------------------------------------------------------------------------------------------ state
    def _start(self, job: Job, on_result, on_error=None, on_finished=None) -> Job:
        self.jobs.add(job)
        job.signals.result.connect(on_result)
        job.signals.error.connect(on_error or self._job_error)
        job.signals.finished.connect(lambda: self.jobs.discard(job))
        if on_finished:
            job.signals.finished.connect(on_finished)
        return job.start(self.pool)

    def _job_error(self, exc: Exception) -> None:
        self.show_error(str(exc))

    def show_error(self, text: str) -> None:
        self.message.show_message(text, error=True)
        self.status_label.setText(text.splitlines()[0][:200])

    def set_dirty(self, dirty: bool = True) -> None:
        self.dirty = dirty
        name = self.song.path.name if self.song else "Slakh Studio"
        self.setWindowTitle(f"{'*' if dirty else ''}{name} — Slakh Studio")

    # ------------------------------------------------------------------------------------------ opening
    def open_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open MIDI file", str(self._last_dir()),
                                              "MIDI files (*.mid *.midi *.kar *.rmi);;All files (*)")
        if path:
            self.open_path(Path(path))

    def open_track_dialog(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Open a Slakh track folder", str(self._last_dir()))
        if path:
            self.open_path(Path(path))

    def open_path(self, path: Path, bank_path: Path | None = None) -> Job:
        """A MIDI file or a Slakh track folder; loaded off the UI thread."""
        path = Path(path)
        if path.is_dir():
            self.status_label.setText(f"Opening track folder {path} …")
            return self._start(Job(_open_folder, path, with_hooks=False), self._track_folder_loaded)
        self.status_label.setText(f"Opening {path.name} …")
        bank = Path(bank_path or self.bank_path)
        return self._start(Job(_load_bank_and_song, path, bank, with_hooks=False), self._song_loaded)

    def _song_loaded(self, loaded) -> None:
        song, bank = loaded
        self.stop()
        self.song, self.bank, self.bank_path = song, bank, bank.path or self.bank_path
        self.fixed, self.locked = {}, set()
        self.cache = pipeline.StemCache()
        self._reassign()
        self.model.set_song(song, bank, self.assignment)
        self._set_audio({}, None, 44100, {}, {})
        self.song_label.setText(f"{song.path.name} — {len(song.tracks)} tracks, {song.end_time:.1f} s, "
                                f"bank '{bank.name}'")
        self.message.hide()
        if song.repairs:
            self.message.show_message(f"{song.path.name} was repaired while loading: {'; '.join(song.repairs)}",
                                      error=False)
        self.status_label.setText(f"Loaded {song.path}")
        self._remember_recent(song.path)
        self.set_dirty(False)
        if song.tracks:
            self.table.selectRow(0)
        _freeze_heap()
        self.songLoaded.emit()

    def _track_folder_loaded(self, loaded) -> None:
        folder, peaks = loaded
        self.stop()
        md = folder.metadata
        self.song = folder.song
        self.bank = None
        self.assignment = None
        plugins = {k: str(v.get("plugin_name", "")) for k, v in md["stems"].items() if isinstance(v, dict)}
        if folder.song is not None:
            self.model.set_song(folder.song, None, None, plugins)
        else:
            self.model.set_song(None, None, None)
        lufs = {k: v.get("integrated_loudness") for k, v in md["stems"].items() if isinstance(v, dict)}
        self._set_audio(folder.stems, folder.mix, folder.sample_rate, lufs, peaks, md, folder.path.name)
        for k in folder.stems:
            self.model.set_status(k, "audio")
        self.song_label.setText(f"{folder.path.name} — {len(folder.stems)} stems, {folder.sample_rate} Hz "
                                f"(opened track folder)")
        self.message.hide()
        if folder.notes:
            self.message.show_message("; ".join(folder.notes), error=False)
        self.status_label.setText(f"Opened track folder {folder.path}")
        self._remember_recent(folder.path)
        self.set_dirty(False)
        _freeze_heap()
        self.songLoaded.emit()

    # ------------------------------------------------------------------------------------------ patches
    def _reassign(self) -> None:
        if self.song is None or self.bank is None:
            return
        self.assignment = patches.assign_patches(self.song, self.bank, self.seed, fixed=self.fixed,
                                                 locked=self.locked)
        self.model.set_assignment(self.assignment)

    def _seed_changed(self, value: int) -> None:
        if value == self.seed:
            return
        self.seed = value
        self.fixed = {k: v for k, v in self.fixed.items() if k in self.locked}
        self._reassign()
        self.set_dirty()

    def _patch_edited(self, key: str, pid: str | None) -> None:
        self.fixed[key] = pid
        self._reassign()
        self.model.set_status(key, "changed")
        self.set_dirty()

    def _lock_edited(self, key: str, locked: bool) -> None:
        if locked:
            self.locked.add(key)
            self.fixed[key] = self.assignment.patch_id(key)
        else:
            self.locked.discard(key)
        self._reassign()
        self.set_dirty()

    def reroll_unlocked(self) -> None:
        self.seed_spin.setValue(random.Random().randrange(2**31 - 1))

    def reroll_selected(self) -> None:
        key = self.selected_key
        if key is None or self.bank is None or self.song is None or key in self.locked:
            return
        pool = [p.id for p in self.bank.pool(self.song.track(key).program)]
        current = self.assignment.patch_id(key)
        choices = [p for p in pool if p != current] or pool
        if choices:
            self._patch_edited(key, random.Random().choice(choices))

    def _patches_shown(self, visible: bool) -> None:
        if visible:  # SoundFonts and the default bank are read when the Patches tab is first shown
            self.patches_view.ensure_loaded()

    def _patches_bank_saved(self, path: Path) -> None:
        """The Patches view saved the window's bank: load the song again with it."""
        if self.song is not None and self.bank is not None and Path(path).resolve() == Path(self.bank_path).resolve():
            self.open_path(self.song.path, Path(path))

    # ------------------------------------------------------------------------------------------ rendering
    def _choose_output(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder", self.out_edit.text())
        if path:
            self.out_edit.setText(path)
            self.set_dirty()

    def _flakh_toggled(self, on: bool) -> None:
        target = paths.flakh_bank() if on else paths.default_bank()
        if self.song is not None and target != self.bank_path:
            self.bank_path = target
            self.open_path(self.song.path, target)

    def render_options(self) -> pipeline.RenderOptions:
        return pipeline.RenderOptions(fmt=self.format_combo.currentText(), tail=self.tail_spin.value(),
                                      fluid_effects=self.fx_check.isChecked(), flakh=self.flakh_check.isChecked(),
                                      overwrite=True)

    def output_track_dir(self) -> Path:
        return Path(self.out_edit.text()).expanduser() / track_name(self.track_spin.value())

    def start_render(self) -> Job | None:
        if self.render_job is not None:
            return None
        if self.song is None or self.bank is None or self.assignment is None:
            self.show_error("Open a MIDI file first (a track folder is already rendered).")
            return None
        song = self.song
        if self.range_check.isChecked():
            if not self.loop_range:
                self.show_error("Range mode: Shift+drag a region on the mix spectrogram first.")
                return None
            if self.flakh_check.isChecked():
                self.show_error("Range mode and Flakh mode don't mix: Flakh's mix is the whole file rendered.")
                return None
            song = midi.excerpt(self.song, *self.loop_range)
        self.stop()
        out_dir = self.output_track_dir()
        self._stem_progress = {k: 0.0 for k, t in self.assignment.tracks.items() if t.patch_id}
        for key in self._stem_progress:
            self.model.set_status(key, "queued")
        job = Job(_render_for_gui, song, self.bank, self.assignment, out_dir, self.render_options(),
                  cache=self.cache, keep_audio=True)
        job.signals.progress.connect(self._on_progress)
        job.signals.cancelled.connect(self._render_cancelled)
        self.render_job = job
        self._last_result = None
        self.render_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.progress.setValue(0)
        self.progress.show()
        self.render_progress.setValue(0)
        self.status_label.setText(f"Rendering {song.path.name} → {out_dir} …")
        return self._start(job, self._render_done, self._render_failed, self._render_finished)

    def cancel_render(self) -> None:
        if self.render_job is not None:
            self.render_job.cancel()
            self.status_label.setText("Cancelling …")

    def _on_progress(self, p: Progress) -> None:  # many per second: store, paint on the UI timer
        self._pending_progress = p
        if p.item:
            self._stem_progress[p.item] = p.item_fraction

    def _render_done(self, done) -> None:
        result, peaks = done
        md = result.metadata
        # every written stem sits at the normalization target, scaled by the uniform no-clip gain
        level = md["normalization_factor"] + 20 * math.log10(md["overall_gain"])
        self._set_audio(result.stems or {}, result.mix, 44100, {k: level for k in result.stems or {}}, peaks,
                        md, result.path.name)
        if self.pending_mixer:
            self.mixer_view.apply_state(self.pending_mixer)
            self.pending_mixer = None
        for key in md["stems"]:
            if key in (result.stems or {}):
                self.model.set_status(key, "reused" if key in result.reused else "rendered")
            elif key in self._stem_progress:
                self.model.set_status(key, "silent")
        reused = f", {len(result.reused)} reused" if result.reused else ""
        self.result_label.setText(f"Wrote {result.path}\n{len(result.rendered)} stems{reused}, "
                                  f"overall gain {md['overall_gain']:.3f}")
        self.status_label.setText(f"Rendered {len(result.rendered)} stems to {result.path}")
        self._last_result = result

    def _render_failed(self, exc: Exception) -> None:
        self.show_error(f"Render failed: {exc}")

    def _render_cancelled(self) -> None:
        self.status_label.setText("Render cancelled; nothing was written")
        for key in self._stem_progress:
            self.model.set_status(key, "cancelled")

    def _render_finished(self) -> None:
        if self.render_job is not None and self.render_job.token.cancelled:
            self.render_progress.setValue(0)
        elif self.stems:
            self.render_progress.setValue(100)
        self.render_job = None
        self._pending_progress = None
        self.render_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        self.progress.hide()
        result, self._last_result = self._last_result, None
        self.renderFinished.emit(result)  # last, when a new render may start

    # ------------------------------------------------------------------------------------------ audio
    def _set_audio(self, stems: dict[str, np.ndarray], mix: np.ndarray | None, sr: int,
                   lufs: dict[str, float | None], peaks: dict[str, float], metadata: dict | None = None,
                   name: str = "") -> None:
        self.stems, self.mix_audio, self.sample_rate = dict(stems), mix, sr
        titles = {}
        if self.song is not None:
            titles = {t.key: t.program_name for t in self.song.tracks}
        self.mixer_view.set_stems([(k, titles.get(k, ""), lufs.get(k), peaks.get(k)) for k in stems])
        self.mixer_view.set_selected(self.selected_key)
        if self.player is not None:
            self.player.stop()
            self.player.set_sources(self.stems if self.stems else ({"mix": mix} if mix is not None else {}))
            self._apply_gains()
        if mix is not None:
            self.spectrograms.set_mix(mix, sr)
        else:
            self.spectrograms.clear()
        if self.selected_key in self.stems:
            self.spectrograms.set_stem(self.selected_key, self.stems[self.selected_key], sr)
        self.separate_view.set_track(mix, self.stems, sr, metadata, name)
        self._update_mix_levels_soon()
        self._update_transport()

    def select_stem(self, key: str) -> None:
        self.selected_key = key
        if self.table.model().row_of(key) is not None:
            rows = {i.row() for i in self.table.selectionModel().selectedRows()}
            if self.model.row_of(key) not in rows:
                self.table.select_key(key)
        if key in self.stems:
            self.spectrograms.set_stem(key, self.stems[key], self.sample_rate)
        self.mixer_view.set_selected(key)
        self.reroll_one_button.setEnabled(key not in self.locked)

    def mixer_state(self) -> mixer.MixerState:
        return mixer.MixerState.from_dict(self.mixer_view.state_dict())

    def current_mix(self) -> np.ndarray:
        """What the mixer makes of the stems now (the mix itself if there are no stems)."""
        if not self.stems:
            return self.mix_audio if self.mix_audio is not None else np.zeros(0, np.float32)
        n = len(next(iter(self.stems.values())))
        return mixer.mix_all(self.stems, self.mixer_state().linear_gains(), n)

    def _mixer_changed(self) -> None:
        self._apply_gains()
        self._update_mix_levels_soon()
        if self.stems:
            self.set_dirty()

    def _apply_gains(self) -> None:
        if self.player is not None and self.stems:
            self.player.set_gains(self.mixer_state().linear_gains())

    def _update_mix_levels_soon(self) -> None:
        self.mix_timer.start()

    def _update_mix_levels(self) -> None:
        if not self.stems and self.mix_audio is None:
            self.mixer_view.set_mix_levels(None, None)
            return
        gains = self.mixer_state().linear_gains() if self.stems else {}
        self._start(Job(_mix_levels, self.stems, gains, self.mix_audio, self.sample_rate, with_hooks=False),
                    self._mix_levels_ready)

    def _mix_levels_ready(self, lv) -> None:
        self.mixer_view.set_mix_levels(lv.lufs, lv.peak_dbfs)

    def export_dialog(self) -> None:
        if not self.stems and self.mix_audio is None:
            self.show_error("Nothing to export yet: render or open a track.")
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export the current mix", str(self._last_dir() / "mix.wav"),
                                              "WAV (*.wav);;FLAC (*.flac)")
        if path:
            self.export_mix(Path(path))

    def export_stems_dialog(self) -> None:
        if not self.stems:
            self.show_error("No stems to export yet: render or open a track.")
            return
        folder = QFileDialog.getExistingDirectory(self, "Export the mix and the gained stems to", str(self._last_dir()))
        if folder:
            self.export_mix(Path(folder) / "mix.wav", stems_dir=Path(folder) / "stems")

    def export_mix(self, path: Path, stems_dir: Path | None = None, on_clip: str = "refuse"):
        stems = self.stems or ({"mix": self.mix_audio} if self.mix_audio is not None else {})
        state = self.mixer_state() if self.stems else mixer.MixerState()
        try:
            report = mixer.export_mix(path, stems, state, self.sample_rate, stems_dir=stems_dir, on_clip=on_clip)
        except mixer.ClippingError as exc:
            box = QMessageBox(QMessageBox.Icon.Warning, "The mix would clip", str(exc),
                              QMessageBox.StandardButton.Cancel, self)
            normalize = box.addButton("Normalize to −1 dBFS", QMessageBox.ButtonRole.AcceptRole)
            box.exec()
            if box.clickedButton() is normalize:
                return self.export_mix(path, stems_dir, "normalize")
            self.status_label.setText("Export cancelled: the mix would clip")
            return None
        except (OSError, ValueError) as exc:
            self.show_error(f"Export failed: {exc}")
            return None
        self.status_label.setText(f"Exported {path} (peak {report.peak_dbfs:.1f} dBFS)")
        return report

    # ------------------------------------------------------------------------------------------ playback
    def _init_player(self) -> None:
        from slakh_gui.core import playback  # noqa: PLC0415

        ok, reason = playback.Player.available()
        if ok:
            try:
                self.player = playback.Player(sample_rate=44100)
            except Exception as exc:  # noqa: BLE001  (any PortAudio failure: no playback, app keeps working)
                ok, reason = False, str(exc)
        if not ok:
            self.player = None
            self.player_note = f"Playback is off: {reason}"
            for a in (self.play_action, self.stop_action, self.loop_action):
                a.setEnabled(False)
                a.setToolTip(self.player_note)
            self.transport_label.setToolTip(self.player_note)
            self.status_label.setText(self.player_note)

    def toggle_play(self) -> None:
        if self.player is None or (not self.stems and self.mix_audio is None):
            return
        if self.patches_view.took_player or self.separate_view.took_player:  # the song's audio again
            self.patches_view.took_player = self.separate_view.took_player = False
            self.player.stop()
            self.player.set_sources(self.stems or {"mix": self.mix_audio})
            self._apply_gains()
            self._loop_toggled(self.loop_action.isChecked())
        if self.player.playing:
            self.player.pause()
        else:
            if self.sample_rate != 44100 and self.player.sample_rate != self.sample_rate:
                self.player.close()
                from slakh_gui.core import playback  # noqa: PLC0415

                self.player = playback.Player(sample_rate=self.sample_rate)
                self.player.set_sources(self.stems or {"mix": self.mix_audio})
                self._apply_gains()
            self.player.play()

    def stop(self) -> None:
        if self.player is not None:
            self.player.stop()
        self._update_transport()

    def seek(self, seconds: float) -> None:
        if self.player is not None:
            self.player.seek(int(max(0.0, seconds) * self.sample_rate))
        self._update_transport()

    def _region_changed(self, start: float, end: float) -> None:
        self.loop_range = (start, end) if end > start else None
        if self.player is not None and self.loop_action.isChecked():
            self._loop_toggled(True)

    def _loop_toggled(self, on: bool) -> None:
        if self.player is None:
            return
        if on and self.loop_range:
            sr = self.sample_rate
            self.player.set_loop(int(self.loop_range[0] * sr), int(self.loop_range[1] * sr))
        else:
            self.player.clear_loop()

    def _update_transport(self) -> None:
        sr = self.sample_rate
        n = len(self.mix_audio) if self.mix_audio is not None else (
            len(next(iter(self.stems.values()))) if self.stems else 0)
        pos = self.player.position if self.player is not None else 0
        self.transport_label.setText(f"{_clock(pos / sr)} / {_clock(n / sr)}")
        self.spectrograms.set_playhead(pos / sr)

    def _tick(self) -> None:
        p = self._pending_progress
        if p is not None:
            stage_weights = {"render": (0, 85), "mix": (85, 90), "write": (90, 100)}
            lo, hi = stage_weights.get(p.stage, (0, 100))
            value = int(lo + (hi - lo) * p.fraction)
            self.progress.setValue(value)
            self.render_progress.setValue(value)
            for key, frac in self._stem_progress.items():
                if 0 < frac < 1:
                    self.model.set_status(key, f"{frac * 100:.0f} %")
                elif frac >= 1:
                    self.model.set_status(key, "mixing")
        if self.player is not None and self.player.playing:
            self._update_transport()

    # ------------------------------------------------------------------------------------------ sessions
    def session(self):
        from slakh_gui.core import session as sess  # noqa: PLC0415

        if self.song is None or self.bank is None:
            raise ValueError("open a MIDI file first")
        return sess.Session(
            song=self.song.path, seed=self.seed, bank=self.bank_path,
            patches={k: v for k, v in self.fixed.items()}, locked=sorted(self.locked),
            mixer=self.mixer_view.state_dict(), output_dir=Path(self.out_edit.text()).expanduser(),
            options={"format": self.format_combo.currentText(), "tail": self.tail_spin.value(),
                     "fx": self.fx_check.isChecked(), "flakh": self.flakh_check.isChecked(), "threads": 2},
            range=list(self.loop_range) if (self.range_check.isChecked() and self.loop_range) else None,
            track_number=self.track_spin.value())

    def save_session(self) -> bool:
        if self.session_path is None:
            return self.save_session_as()
        return self._write_session(self.session_path)

    def save_session_as(self) -> bool:
        path, _ = QFileDialog.getSaveFileName(self, "Save session", str(self._last_dir() / "session.slakh.json"),
                                              "Slakh Studio session (*.json)")
        return bool(path) and self._write_session(Path(path))

    def _write_session(self, path: Path) -> bool:
        from slakh_gui.core import session as sess  # noqa: PLC0415

        try:
            sess.save_session(self.session(), path)
        except (OSError, ValueError) as exc:
            self.show_error(f"Could not save the session: {exc}")
            return False
        self.session_path = path
        self.set_dirty(False)
        self.status_label.setText(f"Saved session {path}")
        return True

    def open_session_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Open session", str(self._last_dir()),
                                              "Slakh Studio session (*.json);;All files (*)")
        if path:
            self.open_session(Path(path))

    def open_session(self, path: Path) -> Job | None:
        from slakh_gui.core import session as sess  # noqa: PLC0415

        try:
            s = sess.load_session(path)
        except sess.SessionError as exc:
            self.show_error(str(exc))
            return None

        def apply(_=None) -> None:
            self.songLoaded.disconnect(apply)
            self.seed_spin.blockSignals(True)
            self.seed_spin.setValue(s.seed)
            self.seed_spin.blockSignals(False)
            self.seed = s.seed
            self.fixed, self.locked = dict(s.patches), set(s.locked)
            self._reassign()
            opts = s.options
            self.format_combo.setCurrentText(opts.get("format", "flac"))
            self.tail_spin.setValue(float(opts.get("tail", pipeline.DEFAULT_TAIL)))
            self.fx_check.setChecked(bool(opts.get("fx", False)))
            self.flakh_check.blockSignals(True)
            self.flakh_check.setChecked(bool(opts.get("flakh", False)))
            self.flakh_check.blockSignals(False)
            if s.output_dir:
                self.out_edit.setText(str(s.output_dir))
            self.track_spin.setValue(s.track_number)
            self.pending_mixer = s.mixer
            if s.range:
                self.loop_range = (float(s.range[0]), float(s.range[1]))
                self.range_check.setChecked(True)
                self.spectrograms.set_region(*self.loop_range)
            self.session_path = Path(path)
            self.set_dirty(False)

        self.songLoaded.connect(apply)
        return self.open_path(Path(s.song), s.bank_path())

    # ------------------------------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event) -> None:  # noqa: N802 (Qt override)
        if self._dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # noqa: N802 (Qt override)
        path = self._dropped_path(event)
        if path is None:
            return
        event.acceptProposedAction()
        if path.suffix.lower() == ".json":
            self.open_session(path)
        else:
            self.open_path(path)

    @staticmethod
    def _dropped_path(event) -> Path | None:
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        local = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
        return local[0] if local else None

    # ------------------------------------------------------------------------------------------ settings
    def _last_dir(self) -> Path:
        return Path(str(self.settings.value("paths/last_dir", str(Path.home()), type=str)))

    def _remember_recent(self, path: Path) -> None:
        recent = [p for p in self.settings.value("paths/recent", [], type=list) if p != str(path)]
        recent.insert(0, str(path))
        self.settings.setValue("paths/recent", recent[:MAX_RECENT])
        self.settings.setValue("paths/last_dir", str(path.parent if path.is_file() else path))
        self._update_recent_menu()

    def _update_recent_menu(self) -> None:
        self.recent_menu.clear()
        recent = self.settings.value("paths/recent", [], type=list)
        for p in recent:
            a = self.recent_menu.addAction(p)
            a.triggered.connect(lambda checked=False, p=p: self.open_path(Path(p)))
        self.recent_menu.setEnabled(bool(recent))

    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self.resize(1400, 900)
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        else:  # first start: tracks on top, a mixer tall enough for its faders, render options at the right
            self.resizeDocks([self.tracks_dock, self.mixer_dock], [250, 290], Qt.Orientation.Vertical)
            self.resizeDocks([self.render_dock], [300], Qt.Orientation.Horizontal)
        self.out_edit.setText(str(self.settings.value("render/output", self.out_edit.text(), type=str)))

    def _save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("render/output", self.out_edit.text())

    def about(self) -> None:
        QMessageBox.about(self, "About Slakh Studio", about_text())

    def show_diagnostics(self):
        from slakh_gui.gui.diagnostics_dialog import DiagnosticsDialog  # noqa: PLC0415

        self._diagnostics = DiagnosticsDialog(self)
        self._diagnostics.show()
        return self._diagnostics

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 (Qt override)
        if self.dirty and self.confirm_on_close and self.song is not None:
            answer = QMessageBox.question(
                self, "Unsaved changes", "Save the session before quitting?",
                QMessageBox.StandardButton.Save | QMessageBox.StandardButton.Discard
                | QMessageBox.StandardButton.Cancel)
            if answer == QMessageBox.StandardButton.Cancel or (
                    answer == QMessageBox.StandardButton.Save and not self.save_session()):
                event.ignore()
                return
        for job in list(self.jobs):
            job.cancel()
        self.patches_view.cancel_jobs()
        self.separate_view.cancel_jobs()
        self.pool.waitForDone(5000)
        if self.player is not None:
            self.player.close()
        self._save_settings()
        event.accept()


def _clock(seconds: float) -> str:
    seconds = max(0.0, seconds)
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"


def about_text() -> str:
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    from slakh_gui.core import fluid  # noqa: PLC0415

    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    try:
        fs = fluid.version()
    except Exception as exc:  # noqa: BLE001
        fs = f"not available ({exc})"
    return (f"<h3>Slakh Studio {__version__}</h3>"
            "<p>Build and audition Slakh2100-style multitrack data from MIDI.</p>"
            f"<p>FluidSynth {fs}<br>Qt {qVersion()} / PySide6 {pyside_version}<br>"
            f"pyloudnorm {version('pyloudnorm')}, pedalboard {version('pedalboard')}, "
            f"pyqtgraph {version('pyqtgraph')}<br>torch {version('torch')}</p>"
            f"<p>Patch banks: {paths.patches_dir()}<br>Resources: {paths.resources_dir()}</p>")
