"""Listening to a separation run and exporting from it: one-click A/B of the selected row's estimate, its residual,
the truth and the mix, play/pause, loop, the play clock, and Export.

Playback borrows the window's :class:`~slakh_gui.core.studio.playback.Player`: every estimate, the truth, the mix and the
residuals listened to are its sources at once and A/B only moves the gains (heard from the next audio block, play
position kept). ``took_player`` says the player holds our sources; the window's transport clears it when it takes
the player back.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from slakh_gui.gui.job_runner import Job, JobRunner
from slakh_gui.gui.separate.messages import first_line
from slakh_gui.gui.separate.sources import RunAudio, source_key
from slakh_gui.separation.comparison import (
    LABELS,
    SeparationRun,
    clock,
    export_estimate,
    export_name,
    export_path,
)

PARTS = (("estimate", "Estimate", "1"), ("residual", "Residual", "2"), ("truth", "Truth", "3"), ("mix", "Mix", "4"))
AUDIO_FILTER = "WAV (*.wav);;FLAC (*.flac)"


class AuditionBar(QWidget):
    """A/B buttons, Play, Loop, Export and the clock for one run (``set_run``) and its selected row (``select``).

    ``shownChanged`` asks for the middle plot again (other row or part: see :meth:`shown`); ``playheadMoved`` gives
    the play position in seconds of the song (None: not playing ours). Exports run on ``runner`` in the slot
    ``slot("export")``, one at a time.
    """

    errorRaised = Signal(str)
    statusMessage = Signal(str)
    exported = Signal(object)  # the written Path, or None when the export failed
    shownChanged = Signal()
    playheadMoved = Signal(object)  # seconds of the song, or None

    def __init__(self, runner: JobRunner, slot: Callable[[str], str], settings: QSettings | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.runner, self._slot, self.settings = runner, slot, settings
        self.run: SeparationRun | None = None
        self.audio: RunAudio | None = None
        self.selected = "model"  # the ROWS key heard and shown
        self.part = "estimate"
        self.track_name = ""  # names the exported files
        self.export_job: Job | None = None
        self.took_player = False
        self._get_player: Callable | None = None
        self.player_note = ""
        self._sources_of: tuple[int, int] | None = None  # (id(player), length) our sources were given to
        self._given: set[str] = set()  # the source keys the player has
        self._build()
        self.timer = QTimer(self, interval=50)
        self.timer.timeout.connect(self._tick)

    def _build(self) -> None:
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
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
        self.part_buttons["estimate"].setChecked(True)
        lay.addLayout(seg)
        transport = QHBoxLayout()
        self.play_button = QPushButton("▶ Play")
        self.play_button.setAccessibleName("Play or pause the separation")
        self.play_button.clicked.connect(self.toggle_play)
        self.loop_check = QCheckBox("Loop")
        self.loop_check.setAccessibleName("Loop the separated audio")
        self.loop_check.setChecked(True)
        self.loop_check.toggled.connect(self._apply_loop)
        self.time_label = QLabel("0:00.0 / 0:00.0")
        self.time_label.setAccessibleName("Play position and length of the separated audio")
        self.time_label.setStyleSheet("font-family: monospace; font-size: 8pt;")
        self.time_label.setMinimumWidth(self.time_label.sizeHint().width())
        self.export_button = QPushButton("Export…")
        self.export_button.setAccessibleName("Export the selected estimate")
        self.export_button.setToolTip("Write the selected row's estimate as WAV or FLAC")
        self.export_button.clicked.connect(self.export_dialog)
        transport.addWidget(self.play_button)
        transport.addWidget(self.loop_check)
        transport.addStretch(1)
        transport.addWidget(self.export_button)
        lay.addLayout(transport)
        lay.addWidget(self.time_label)  # its own line: the column stays narrow enough for the plots

    def add_shortcuts(self, scope: QWidget) -> None:
        """The keys 1–4 pick the part while the focus is anywhere in ``scope`` (the whole panel)."""
        for key, _text, shortcut in PARTS:
            sc = QShortcut(QKeySequence(shortcut), scope)
            sc.setContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            sc.activated.connect(lambda k=key: self.listen(k))

    # ------------------------------------------------------------------------------------------ the run
    def set_run(self, run: SeparationRun) -> None:
        """A new run (after :meth:`clear`); nothing is selected until :meth:`select`."""
        self.run, self.audio = run, RunAudio(run)
        self.selected = ""
        if self.part == "truth" and run.truth is None:
            self.part = "estimate"
        self.part_buttons[self.part].setChecked(True)
        self.time_label.setText(f"0:00.0 / {clock(run.duration)}")

    def clear(self) -> None:
        """No run: the player stops if it plays ours, and is no longer ours."""
        if self.took_player and (p := self.player()) is not None and self._mine(p):
            p.stop()
        self.release()
        self.run = self.audio = None
        self._sources_of = None
        self._given = set()
        self.time_label.setText("0:00.0 / 0:00.0")

    def release(self) -> None:
        """The player is someone else's now (the window gave it other audio): leave it alone."""
        self.took_player = False
        self.timer.stop()

    def select(self, key: str) -> None:
        """Show (and, while playing, hear) row ``key`` of the run."""
        changed = key != self.selected
        self.selected = key
        if changed or self.part in ("estimate", "residual"):
            self.shownChanged.emit()
        self.route()

    def shown(self) -> tuple[np.ndarray, str]:
        """The middle plot's audio and title: the selected row's residual when that is heard, else its estimate."""
        label = LABELS[self.selected] if self.selected != "model" else f"model {self.run.model_name}"
        if self.part == "residual":
            return self.audio.residual(self.selected), f"Residual (mix − estimate): {label}"
        return self.run.estimates[self.selected].audio, f"Estimate: {label}"

    def update_enabled(self) -> None:
        has_run = self.run is not None
        no_player = self._get_player is not None and self.player() is None
        for key, b in self.part_buttons.items():
            b.setEnabled(has_run and not no_player and (key != "truth" or self.run.truth is not None))
        self.play_button.setEnabled(has_run and not no_player)
        self.play_button.setToolTip(self.player_note if no_player else "Play or pause what is selected")
        self.export_button.setEnabled(has_run and self.export_job is None)

    # ------------------------------------------------------------------------------------------ the player
    def set_player(self, get_player: Callable, note: str = "") -> None:
        """``get_player()`` gives the window's current Player (or None: then ``note`` says why nothing plays)."""
        self._get_player = get_player
        self.player_note = note
        self.update_enabled()

    def player(self):
        return self._get_player() if self._get_player is not None else None

    def _mine(self, player) -> bool:
        return self.took_player and self._sources_of == (id(player), player.length)

    def _source_keys(self) -> list[str]:
        """What the player gets: the mix, the truth, every estimate, and the residuals listened to so far."""
        if self.part == "residual":
            self.audio.residual(self.selected)
        return self.audio.keys()

    def _gains(self) -> dict[str, float]:
        return {k: 0.0 for k in self._source_keys()} | {source_key(self.selected, self.part): 1.0}

    def _give_sources(self, player) -> None:
        keep = player.position if self._mine(player) else 0
        keys = self._source_keys()
        player.set_gains(self._gains())  # first: a new source must not sound at the default gain 1.0
        player.set_sources({k: self.audio.at_rate(k, player.sample_rate) for k in keys})
        player.seek(keep)
        self._sources_of = (id(player), player.length)
        self._given = set(keys)
        self.took_player = True

    def route(self) -> None:
        """Point the player's gains at what is chosen (heard from the next audio block)."""
        p = self.player()
        if self.run is None or p is None or not self._mine(p):
            return
        if source_key(self.selected, self.part) not in self._given:  # a residual not heard before: one more source
            self._give_sources(p)  # position kept (the block under way when it lands is heard twice)
        else:
            p.set_gains(self._gains())

    def listen(self, part: str) -> None:
        """One click A/B: hear ``estimate``, ``residual``, ``truth`` or ``mix``; playback starts if stopped and
        keeps its position if running."""
        if part == "truth" and (self.run is None or self.run.truth is None):
            return
        self.part = part
        self.part_buttons[part].setChecked(True)
        if self.run is None:
            return
        self.shownChanged.emit()
        p = self.player()
        if p is not None and not (p.playing and self._mine(p)):
            self.play()
        else:
            self.route()

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
            self.route()
            self._apply_loop(self.loop_check.isChecked())
            p.play()
        except Exception as exc:  # no sound is no reason to lose the separation
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
            self.playheadMoved.emit(None)
            self._update_play_button()
            return
        t = p.position / p.sample_rate
        self.playheadMoved.emit(self.run.offset + t)
        self.time_label.setText(f"{clock(t)} / {clock(self.run.duration)}")
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
        name = export_name(self.track_name, self.run.target, self.selected)
        path, chosen = QFileDialog.getSaveFileName(self, "Export the estimate", str(start / name), AUDIO_FILTER)
        if path:
            self.export_estimate(export_path(path, flac="FLAC" in chosen))

    def export_estimate(self, path: str | Path, key: str | None = None) -> Job | None:
        """Write the estimate of row ``key`` (default: the selected one) as 16-bit WAV or FLAC, atomically, in the
        background; ``exported`` reports the path (None when it failed, the reason in ``errorRaised``)."""
        if self.run is None:
            self.errorRaised.emit("Nothing to export yet: separate first.")
            return None
        if self.export_job is not None:
            self.errorRaised.emit("An export is still being written: wait for it.")
            return None
        key = key or self.selected
        run, path = self.run, Path(path)
        outcome: dict[str, Path | None] = {}  # "path": the written file, or None when the export failed

        def written(out: Path) -> None:
            self.statusMessage.emit(f"Exported the {LABELS[key]} estimate of {run.target} to {out}")
            outcome["path"] = out

        def failed(exc: Exception) -> None:
            self.errorRaised.emit(f"Export failed: {first_line(exc)}")
            outcome["path"] = None

        job = self.runner.start(export_estimate, path, run.estimates[key].audio, run.sample_rate, hooks=False,
                                slot=self._slot("export"), on_result=written, on_error=failed,
                                on_finished=lambda: self._export_finished(job, outcome))
        self.export_job = job
        self.export_button.setEnabled(False)
        self.export_button.setText("Exporting…")
        return job

    def _export_finished(self, job: Job, outcome: dict[str, Path | None]) -> None:
        """``exported`` comes last, once Export is offered again (a cancelled export reports nothing)."""
        if job is self.export_job:
            self.export_job = None
            self.export_button.setText("Export…")
            self.update_enabled()
        if "path" in outcome:
            self.exported.emit(outcome["path"])
