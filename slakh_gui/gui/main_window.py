"""Slakh Studio's main window: the views of one document (:class:`~slakh_gui.core.studio.project.Project`) in docks.

The window holds no document state of its own: it observes the project, turns user actions into project
operations (patch edits and mixer moves through the undo stack), runs every background job on its
:class:`~slakh_gui.gui.job_runner.JobRunner`, and asks before anything unsaved or rendered would be lost.
"""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import shiboken6
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QCloseEvent, QUndoGroup, QUndoStack
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QLabel,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QVBoxLayout,
    QWidget,
)

from slakh_gui import paths
from slakh_gui.core import diskaudio
from slakh_gui.core.errors import is_user_error
from slakh_gui.core.studio import mixer
from slakh_gui.core.studio.project import Project, ProjectError
from slakh_gui.gui import error_dialog
from slakh_gui.gui.document_actions import DocumentActions, freeze_heap
from slakh_gui.gui.export_actions import ExportActions
from slakh_gui.gui.job_runner import Job, JobRunner
from slakh_gui.gui.menus import build_menus
from slakh_gui.gui.mixer_view import MixerView
from slakh_gui.gui.patches import PatchesView
from slakh_gui.gui.render_controller import RenderController
from slakh_gui.gui.render_panel import RenderPanel
from slakh_gui.gui.separate import SeparateView
from slakh_gui.gui.spectrogram_view import SpectrogramView
from slakh_gui.gui.tracks_panel import TracksPanel
from slakh_gui.gui.transport import Transport
from slakh_gui.gui.undo import record_mixer_edit, record_patch_edit
from slakh_gui.gui.widgets import MessageBar

MAX_RECENT = 8
MIN_SIZE = (1024, 640)
SPECTROGRAM_MIN_HEIGHT = 190  # mix and stem plots of at least ~60 px each, with the view's toolbar row
Answer = QMessageBox.StandardButton


def _mix_levels(stems: dict[str, np.ndarray], gains: dict[str, float], mix: np.ndarray | None, sr: int):
    return mixer.mix_levels(stems, gains, sr) if stems else mixer.levels(mix, sr)


class MainWindow(QMainWindow):
    """Everything a user does with one song or one track folder."""

    songLoaded = Signal()
    renderFinished = Signal(object)  # TrackResult, or None when cancelled/failed
    exportFinished = Signal(object)  # mixer.ExportReport, or None when refused/failed/cancelled

    def __init__(self, settings: QSettings | None = None, confirm_on_close: bool = True):
        super().__init__()
        self.settings = settings or QSettings()
        self.confirm_on_close = confirm_on_close  # False: discard unsaved work without asking (tests, --smoke)
        self.setWindowTitle("Slakh Studio")
        self.setAccessibleName("Slakh Studio main window")
        self.setAcceptDrops(True)
        self.setMinimumSize(*MIN_SIZE)
        self.project = Project()
        self.project.subscribe(self._project_changed)
        self.runner = JobRunner(self)
        self.runner.error.connect(self._job_failed)
        self.pool = self.runner.pool
        self.undo_stack = QUndoStack(self)  # the song's edits; the Patches view has one for its bank
        self.undo_group = QUndoGroup(self)
        self.reporter = error_dialog.install(QApplication.instance())
        self.selected_key: str | None = None
        self._roomy: set[str] = set()  # docks already given room once
        self.documents = DocumentActions(self)
        self.renderer = RenderController(self)
        self.exports = ExportActions(self)

        self._build_ui()
        build_menus(self)
        self.patches_view.player, self.patches_view.player_note = self.player, self.player_note
        self.separate_view.set_player(lambda: self.transport.player, self.player_note)
        self.transport.borrowers = [self.patches_view, self.separate_view]
        self.transport.playerChanged.connect(lambda player: setattr(self.patches_view, "player", player))
        self.ui_timer = QTimer(self, interval=40)  # progress + playhead repaint, never per sample
        self.ui_timer.timeout.connect(self._tick)
        self.ui_timer.start()
        self.mix_timer = QTimer(self, singleShot=True, interval=150)  # debounce mix-level computation
        self.mix_timer.timeout.connect(self._update_mix_levels)
        self._restore_settings()
        self._update_title()
        freeze_heap()

    # ------------------------------------------------------------------------------------------ compatibility
    # The document lives in self.project; these read it for scripts and tests written against the old window.
    song = property(lambda self: self.project.song)
    bank = property(lambda self: self.project.bank)
    assignment = property(lambda self: self.project.assignment)
    seed = property(lambda self: self.project.seed)
    locked = property(lambda self: self.project.locked)
    dirty = property(lambda self: self.project.dirty)
    stems = property(lambda self: self.project.audio.stems)
    mix_audio = property(lambda self: self.project.audio.mix)
    sample_rate = property(lambda self: self.project.audio.sample_rate)
    loop_range = property(lambda self: self.project.region)
    cache = property(lambda self: self.project.cache)
    player = property(lambda self: self.transport.player)
    player_note = property(lambda self: self.transport.device_note)
    jobs = property(lambda self: self.runner.jobs)
    render_job = property(lambda self: self.renderer.job)

    # the window's verbs, for the dataset dialog, scripts and tests
    def open_path(self, path: Path, bank_path: Path | None = None) -> Job | None:
        """Open a MIDI file or a track folder (asking about unsaved work first; None: the user kept it)."""
        return self.documents.open_path(path, bank_path)

    def open_track_folder(self, path: Path, select_stem: str | None = None) -> Job | None:
        """Open a track folder (the dataset dialog's "open track"), selecting ``select_stem`` once loaded."""
        if select_stem:
            def select() -> None:
                self.songLoaded.disconnect(select)
                if select_stem in self.stems:
                    self.select_stem(select_stem)
            self.songLoaded.connect(select)
        job = self.documents.open_path(Path(path))
        if job is None and select_stem:  # the user kept the open document
            self.songLoaded.disconnect(select)
        self.raise_()
        return job

    def open_session(self, path: Path) -> Job | None:
        return self.documents.open_session(path)

    def save_session(self) -> bool:
        return self.documents.save_session()

    def start_render(self) -> Job | None:
        return self.renderer.start()

    def cancel_render(self) -> None:
        self.renderer.cancel()

    def export_mix(self, path: Path, stems_dir: Path | None = None, on_clip: str = "refuse") -> Job | None:
        return self.exports.export_mix(path, stems_dir, on_clip)

    # ------------------------------------------------------------------------------------------ layout
    def _build_ui(self) -> None:
        central = QWidget()
        lay = QVBoxLayout(central)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(0)
        self.message = MessageBar()
        lay.addWidget(self.message)
        self.spectrograms = SpectrogramView()
        self.spectrograms.runner = self.runner
        self.spectrograms.regionChanged.connect(lambda a, b: self.project.set_region((a, b)))
        self.spectrograms.regionCleared.connect(lambda: self.project.set_region(None))
        self.spectrograms.seekRequested.connect(self.seek)
        self.spectrograms.setMinimumHeight(SPECTROGRAM_MIN_HEIGHT)  # docks give way before the plots shrink
        lay.addWidget(self.spectrograms, 1)
        self.setCentralWidget(central)

        self.tracks_panel = TracksPanel(self.project)
        self.model, self.table = self.tracks_panel.model, self.tracks_panel.table
        self.song_label, self.seed_spin = self.tracks_panel.song_label, self.tracks_panel.seed_spin
        self.model.patchEdited.connect(self._patch_edited)
        self.model.lockEdited.connect(self._lock_edited)
        self.table.trackSelected.connect(self.select_stem)
        self.tracks_panel.seedEdited.connect(self._seed_edited)
        self.tracks_panel.rerollTrackRequested.connect(self.reroll_selected)
        self.tracks_panel.rerollUnlockedRequested.connect(self.reroll_unlocked)
        self.tracks_dock = self._dock("Tracks", self.tracks_panel, Qt.DockWidgetArea.TopDockWidgetArea)
        self.patches_view = PatchesView(settings=self.settings, autoload=False, runner=self.runner)
        self.patches_view.bankSaved.connect(self._patches_bank_saved)
        self.patches_dock = self._dock("Patches", self.patches_view, Qt.DockWidgetArea.TopDockWidgetArea)
        self.patches_dock.visibilityChanged.connect(self._patches_shown)
        self.tabifyDockWidget(self.tracks_dock, self.patches_dock)
        self.tracks_dock.raise_()

        self.mixer_view = MixerView()
        self.mixer_view.stripEdited.connect(self._strip_edited)
        self.mixer_view.resetRequested.connect(self.reset_mixer)
        self.mixer_view.stemSelected.connect(self.select_stem)
        self.mixer_dock = self._dock("Mixer", self.mixer_view, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.separate_view = SeparateView(settings=self.settings, runner=self.runner)
        self.separate_view.errorRaised.connect(self.show_error)
        self.separate_view.statusMessage.connect(lambda text: self.status_label.setText(text))
        self.spectrograms.regionChanged.connect(self.separate_view.set_region)
        self.spectrograms.regionCleared.connect(lambda: self.separate_view.set_region(0.0, 0.0))
        self.separate_dock = self._dock("Separate", self.separate_view, Qt.DockWidgetArea.BottomDockWidgetArea)
        self.separate_dock.visibilityChanged.connect(lambda on: on and self._give_room(self.separate_dock))
        self.tabifyDockWidget(self.mixer_dock, self.separate_dock)
        self.mixer_dock.raise_()

        self.render_panel = RenderPanel(self.project)
        self.render_panel.renderRequested.connect(self.start_render)
        self.render_panel.cancelRequested.connect(self.cancel_render)
        self.render_panel.flakh_check.toggled.connect(self._flakh_toggled)
        rp = self.render_panel
        self.out_edit, self.track_spin, self.format_combo = rp.out_edit, rp.track_spin, rp.format_combo
        self.tail_spin, self.fx_check, self.flakh_check = rp.tail_spin, rp.fx_check, rp.flakh_check
        self.range_check, self.render_button, self.cancel_button = rp.range_check, rp.render_button, rp.cancel_button
        self.render_progress, self.result_label = rp.progress, rp.result_label
        self.render_dock = self._dock("Render", self.render_panel, Qt.DockWidgetArea.RightDockWidgetArea)
        for corner in (Qt.Corner.TopRightCorner, Qt.Corner.BottomRightCorner):  # the render panel: full height
            self.setCorner(corner, Qt.DockWidgetArea.RightDockWidgetArea)

        self.transport = Transport()
        self.transport.positionChanged.connect(self.spectrograms.set_playhead)
        self.status_label = QLabel("Ready")
        self.status_label.setMinimumWidth(100)
        self.statusBar().addWidget(self.status_label, 1)
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

    def _focus_changed(self, _old, new) -> None:
        """Undo/redo act on the bank while the Patches view has the focus, on the song otherwise."""
        if new is None or not shiboken6.isValid(self):
            return
        in_patches = self.patches_view.isAncestorOf(new) or new is self.patches_view
        self.undo_group.setActiveStack(self.patches_view.undo_stack if in_patches else self.undo_stack)

    # ------------------------------------------------------------------------------------------ document events
    def _project_changed(self, event: str) -> None:
        p = self.project
        if event == "loaded":
            self.undo_stack.clear()
            self._update_title()
            self.tracks_panel.show_song()
            self._show_audio()
            self.render_panel.refresh()
            self.spectrograms.clear_region()
        elif event == "loaded_bank":
            self.tracks_panel.show_song()
            self.render_panel.refresh()
        elif event == "assignment":
            self.tracks_panel.show_assignment()
            self.tracks_panel.refresh_controls(self.selected_key)
            changed = p.stale_stems()
            for key, status in list(self.model.status.items()):
                if status == "changed" and key not in changed:  # undone back to the rendered patch
                    self.model.set_status(key, "rendered")
            for key in changed:
                self.model.set_status(key, "changed")
            if self.selected_key in p.audio.stems:
                self.spectrograms.set_stem_title(self._stem_title(self.selected_key))
        elif event == "audio":
            self._show_audio()
        elif event == "mixer":
            self.mixer_view.apply_state(p.mixer)
            self.transport.apply_gains()
            self._update_mix_levels_soon()
        elif event == "settings":
            self.render_panel.refresh()
        elif event == "region":
            self.transport.set_loop_range(p.region)
            if p.region and self.spectrograms.region() != p.region:
                self.spectrograms.set_region(*p.region)
        elif event == "dirty":
            self._update_title()

    def _update_title(self) -> None:
        name = self.project.display_name
        self.setWindowTitle(f"{name}[*] — Slakh Studio" if name else "Slakh Studio[*]")
        self.setWindowModified(self.project.dirty)

    def _job_failed(self, exc: Exception) -> None:
        """A job started without ``on_error``: the user's errors in the message bar, bugs to the error reporter."""
        if is_user_error(exc):
            self.show_error(str(exc))
        else:
            error_dialog.report(exc)

    def show_error(self, text: str) -> None:
        self.message.show_message(text, error=True)
        self.status_label.setText(text.splitlines()[0][:200] if text else "")

    # ------------------------------------------------------------------------------------------ patches
    def _seed_edited(self, value: int) -> None:
        self._patch_op("Change seed", lambda: self.project.set_seed(value))

    def _patch_edited(self, key: str, pid: str | None) -> None:
        self._patch_op(f"Patch of {key}", lambda: self.project.set_patch(key, pid))

    def _lock_edited(self, key: str, locked: bool) -> None:
        self._patch_op(f"{'Lock' if locked else 'Unlock'} {key}", lambda: self.project.set_lock(key, locked))

    def _patch_op(self, text: str, op) -> None:
        try:
            record_patch_edit(self.undo_stack, self.project, text, op)
        except ProjectError as exc:
            self.show_error(str(exc))
            self.tracks_panel.show_assignment()

    def reroll_unlocked(self) -> None:
        self._patch_op("Re-roll unlocked", lambda: self.project.reroll_unlocked(random.Random()))

    def reroll_selected(self) -> None:
        key = self.selected_key
        if key is not None:
            self._patch_op(f"Re-roll {key}", lambda: self.project.reroll_track(key, random.Random()))

    def _patches_shown(self, visible: bool) -> None:
        if visible:  # SoundFonts and the default bank are read when the Patches tab is first shown
            self.patches_view.ensure_loaded()
            self._give_room(self.patches_dock)

    def _give_room(self, dock: QDockWidget) -> None:
        """The first time a tall panel (Patches, Separate) is shown, its dock gets 45 % of the window's height."""
        if dock.objectName() in self._roomy or not self.isVisible():
            return
        self._roomy.add(dock.objectName())
        QTimer.singleShot(0, lambda: self.resizeDocks([dock], [int(self.height() * 0.45)], Qt.Orientation.Vertical))

    def _patches_bank_saved(self, path: Path) -> None:
        """The Patches view saved the window's bank: use it, keeping seed, patches and locks where they still fit."""
        p = self.project
        if p.song is not None and p.bank is not None and Path(path).resolve() == Path(p.bank_path).resolve():
            self.documents.reload_with_bank(Path(path), f"Bank {Path(path).name} saved and applied")

    def _flakh_toggled(self, on: bool) -> None:
        p = self.project
        p.update_settings(flakh=on)
        target = paths.mode_bank(on)
        if p.song is not None and not p.is_folder and Path(target) != Path(p.bank_path):
            self.documents.reload_with_bank(target, f"{'Flakh' if on else 'Slakh'} mode: bank {target.name}")

    # ------------------------------------------------------------------------------------------ rendering
    def output_track_dir(self) -> Path:
        return self.project.track_dir()

    def set_output_dir(self, path: Path) -> None:
        self.project.set_output(output_dir=Path(path))

    # ------------------------------------------------------------------------------------------ audio
    def _show_audio(self) -> None:
        p = self.project
        a = p.audio
        names = {t.key: (t.name or t.program_name) for t in p.song.tracks} if p.song is not None else {}
        self.mixer_view.set_stems([(k, names.get(k, ""), a.lufs.get(k), a.peaks.get(k)) for k in a.stems])
        self.mixer_view.apply_state(p.mixer)
        self.mixer_view.set_selected(self.selected_key)
        self.transport.set_audio(a.stems, a.mix, a.sample_rate, p.gains)
        if a.mix is not None:
            self.spectrograms.set_mix(a.mix, a.sample_rate)
        else:
            self.spectrograms.clear()
        if self.selected_key in a.stems:
            self.spectrograms.set_stem(self._stem_title(self.selected_key), a.stems[self.selected_key], a.sample_rate)
        if a.stereo:  # separation scores and plays mono: the fold-down (L + R) / 2
            self.separate_view.set_track(None if a.mix is None else diskaudio.fold_all(a.mix),
                                         {k: diskaudio.fold_all(v) for k, v in a.stems.items()}, a.sample_rate,
                                         a.metadata, a.name,
                                         stereo_mix=a.mix if a.mix is not None and a.mix.ndim == 2 else None)
        else:
            self.separate_view.set_track(a.mix, a.stems, a.sample_rate, a.metadata, a.name)
        self._update_mix_levels_soon()
        self.transport.tick()

    def _stem_title(self, key: str) -> str:
        """"S01 Bass", and what it was rendered with once its patch has been changed since (the audio is older)."""
        p = self.project
        title = key
        if p.song is not None and any(t.key == key for t in p.song.tracks):
            t = p.song.track(key)
            title = f"{key} {t.name or t.program_name}"
        if key in p.stale_stems():
            rendered = (p.audio.metadata or {}).get("stems", {}).get(key, {}).get("plugin_name")
            title += f"  (rendered with {rendered}; its patch has changed since: render to hear it)"
        return title

    def select_stem(self, key: str) -> None:
        self.selected_key = key
        if self.model.row_of(key) is not None:
            rows = {i.row() for i in self.table.selectionModel().selectedRows()}
            if self.model.row_of(key) not in rows:
                self.table.select_key(key)
        if key in self.stems:
            self.spectrograms.set_stem(self._stem_title(key), self.stems[key], self.sample_rate)
        self.mixer_view.set_selected(key)
        self.tracks_panel.refresh_controls(key)

    def mixer_state(self) -> mixer.MixerState:
        return self.project.mixer_copy()

    def current_mix(self) -> np.ndarray:
        return self.project.current_mix()

    def _strip_edited(self, key: str, what: str) -> None:
        strip = self.mixer_view.strips[key]
        value = {"gain": strip.gain_db, "mute": strip.mute.isChecked(), "solo": strip.solo.isChecked(),
                 "pan": strip.pan_knob.pan}[what]
        label = {"gain": f"Fader {key}", "mute": f"Mute {key}", "solo": f"Solo {key}", "pan": f"Pan {key}"}[what]
        kwargs = {"gain": {"gain_db": value}, "mute": {"mute": value}, "solo": {"solo": value},
                  "pan": {"pan": value}}[what]
        merge = {"gain": key, "pan": f"{key} pan"}.get(what, "")  # moves of one fader or one knob merge
        record_mixer_edit(self.undo_stack, self.project, label, lambda: self.project.set_strip(key, **kwargs),
                          fader=merge)

    def reset_mixer(self) -> None:
        record_mixer_edit(self.undo_stack, self.project, "Reset mixer", self.project.reset_mixer)

    def _update_mix_levels_soon(self) -> None:
        self.mix_timer.start()

    def _update_mix_levels(self) -> None:
        a = self.project.audio
        if a.empty:
            self.mixer_view.set_mix_levels(None, None)
            return
        gains = self.project.gains() if a.stems else {}
        self.runner.start(_mix_levels, a.stems, gains, a.mix, a.sample_rate, hooks=False, slot="mix-levels",
                          on_result=lambda lv: self.mixer_view.set_mix_levels(lv.lufs, lv.peak_dbfs))

    # ------------------------------------------------------------------------------------------ playback
    def toggle_play(self) -> None:
        self.transport.toggle_play()

    def stop(self) -> None:
        self.transport.stop()

    def seek(self, seconds: float) -> None:
        self.transport.seek(seconds)

    def _tick(self) -> None:
        self.renderer.tick()
        if self.transport.playing:
            self.transport.tick()

    def _restore_settings(self) -> None:
        geometry = self.settings.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self._fit_screen()
        state = self.settings.value("window/state")
        if state is not None:
            self.restoreState(state)
        else:  # first start: the docks get their share of the window once it is shown at its real size
            self._first_layout = True
        out = self.settings.value("render/output", "", type=str)
        if out:
            self.project.set_output(output_dir=Path(out))
        self.render_panel.refresh()

    def showEvent(self, event) -> None:  # Qt override
        super().showEvent(event)
        if getattr(self, "_first_layout", False):
            self._first_layout = False
            QTimer.singleShot(0, self._initial_dock_sizes)

    def _initial_dock_sizes(self) -> None:
        """Tracks on top, mixer below, the render panel at the right, spectrograms get the rest."""
        h = max(self.height(), MIN_SIZE[1])
        self.resizeDocks([self.tracks_dock, self.mixer_dock], [int(h * 0.27), max(170, int(h * 0.22))],
                         Qt.Orientation.Vertical)
        self.resizeDocks([self.render_dock], [260], Qt.Orientation.Horizontal)

    def _fit_screen(self) -> None:
        """First start: most of the screen (1400 × 900 where no screen is known)."""
        screen = self.screen().availableGeometry() if self.screen() is not None else None
        w, h = 1400, 900
        if screen is not None and screen.width() > 0:
            w, h = int(screen.width() * 0.95), int(screen.height() * 0.92)
        self.resize(max(w, MIN_SIZE[0]), max(h, MIN_SIZE[1]))

    def _save_settings(self) -> None:
        self.settings.setValue("window/geometry", self.saveGeometry())
        self.settings.setValue("window/state", self.saveState())
        self.settings.setValue("render/output", str(self.project.output_dir))

    # ------------------------------------------------------------------------------------------ drag and drop
    def dragEnterEvent(self, event) -> None:  # Qt override
        if _dropped_path(event) is not None:
            event.acceptProposedAction()

    def dropEvent(self, event) -> None:  # Qt override
        path = _dropped_path(event)
        if path is not None:
            event.acceptProposedAction()
            self.documents.open_dropped(path)

    def closeEvent(self, event: QCloseEvent) -> None:  # Qt override
        if not self.documents.confirm_discard("quitting", bank_too=True):
            event.ignore()
            return
        self.runner.cancel_all()
        self.patches_view.cancel_jobs()
        self.separate_view.cancel_jobs()
        self.spectrograms.cancel_jobs()
        self.runner.wait(5000)
        self.pool.waitForDone(5000)
        self.transport.close_player()
        self._save_settings()
        event.accept()


def _dropped_path(event) -> Path | None:
    urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
    local = [Path(u.toLocalFile()) for u in urls if u.isLocalFile()]
    return local[0] if local else None
