"""The transport: owns the audio player, its play/stop/loop actions, the clock, and says why playback is off."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QToolButton, QWidget

from slakh_gui.core.constants import SAMPLE_RATE
from slakh_gui.core.studio import playback
from slakh_gui.separation.comparison import clock

NOTHING_TO_PLAY = "Nothing to play yet: render the song or open a track folder."


class Transport(QWidget):
    """Play/pause, stop, loop and a clock over the document's audio. Other views may borrow the player (an
    audition, a separated estimate) with :meth:`borrow`; the next play here gives the song's audio back."""

    positionChanged = Signal(float)  # seconds, while playing or after a seek/stop
    playerChanged = Signal(object)  # a new Player (opened at another sample rate)

    def __init__(self, parent: QWidget | None = None, *, open_player: bool = True):
        super().__init__(parent)
        self.setAccessibleName("Transport")
        self.player: playback.Player | None = None
        self.device_note = ""  # why there is no player ("" when there is one)
        self.sources: dict[str, np.ndarray] = {}
        self.sample_rate = SAMPLE_RATE
        self.gains: Callable[[], dict[str, float]] = dict
        self.loop_range: tuple[float, float] | None = None
        self.borrowed_by: str | None = None
        self.borrowers: list = []  # views with a ``took_player`` flag that set the player's sources themselves

        self.play_action = self._action("Play or Pause", self.toggle_play, "Space", "media-playback-start")
        self.stop_action = self._action("Stop", self.stop, "Ctrl+.", "media-playback-stop")
        self.loop_action = self._action("Loop Selection", self._loop_toggled, "Ctrl+L")
        self.loop_action.setCheckable(True)

        lay = QHBoxLayout(self)
        lay.setContentsMargins(4, 0, 4, 0)
        for action in (self.play_action, self.stop_action, self.loop_action):
            button = QToolButton()
            button.setDefaultAction(action)
            lay.addWidget(button)
        self.clock_label = QLabel("0:00.0 / 0:00.0")
        self.clock_label.setStyleSheet("font-family: monospace;")
        self.clock_label.setAccessibleName("Playback position")
        lay.addWidget(self.clock_label)
        self.note_label = QLabel()
        self.note_label.setAccessibleName("Why playback is unavailable")
        self.note_label.setStyleSheet("color: #e0b050;")
        self.note_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        lay.addWidget(self.note_label, 1)
        if open_player:
            self._open_player()
        self._update_state()

    def _action(self, text: str, slot, shortcut: str, icon: str = "") -> QAction:
        a = QAction(text, self)
        a.setShortcut(QKeySequence(shortcut))
        a.setStatusTip(text)
        a.triggered.connect(slot)
        return a

    def _open_player(self) -> None:
        ok, reason = playback.Player.available()
        if ok:
            try:
                self.player = playback.Player(sample_rate=self.sample_rate)
            except Exception as exc:  # any PortAudio failure: no playback, the app keeps working
                ok, reason = False, str(exc)
        if not ok:
            self.player = None
            self.device_note = f"Playback is off: {reason}"

    # -------------------------------------------------------------------------------------------- state
    @property
    def unavailable_reason(self) -> str:
        """Why play does nothing now ("" when it can play)."""
        if self.player is None:
            return self.device_note
        if not self.sources:
            return NOTHING_TO_PLAY
        return ""

    def _update_state(self) -> None:
        reason = self.unavailable_reason
        for a in (self.play_action, self.stop_action, self.loop_action):
            a.setEnabled(not reason)
            a.setToolTip(reason or a.text())
        self.note_label.setText(reason)
        self.note_label.setToolTip(reason)
        self.note_label.setVisible(bool(reason))

    def set_audio(self, stems: dict[str, np.ndarray], mix: np.ndarray | None, sample_rate: int,
                  gains: Callable[[], dict[str, float]]) -> None:
        """What plays: the stems through the mixer's ``gains()``, or the mix alone when there are no stems."""
        self.sources = dict(stems) if stems else ({"mix": mix} if mix is not None else {})
        self.sample_rate = int(sample_rate)
        self.gains = gains if stems else dict
        self.borrowed_by = None
        if self.player is not None:
            self.player.stop()
            self._give_sources()
        self._update_state()
        self.positionChanged.emit(0.0)

    def _give_sources(self) -> None:
        if self.player.sample_rate != self.sample_rate:
            self.player.close()
            self.player = playback.Player(sample_rate=self.sample_rate)
            self.playerChanged.emit(self.player)
        self.player.set_sources(self.sources)
        self.apply_gains()
        self._loop_toggled(self.loop_action.isChecked())

    def apply_gains(self) -> None:
        """The mixer moved: the callback hears it from the next block."""
        if self.player is not None and self.borrowed_by is None and self.sources:
            gains = self.gains()
            if gains:
                self.player.set_gains(gains)

    def borrow(self, owner: str) -> playback.Player | None:
        """Another view plays through the player (it sets its own sources); the song's audio comes back on the
        next play here."""
        if self.player is not None:
            self.player.stop()
            self.borrowed_by = owner
        return self.player

    @property
    def frames(self) -> int:
        return max((len(a) for a in self.sources.values()), default=0)

    @property
    def position(self) -> float:
        if self.player is None or self.borrowed_by is not None:
            return 0.0
        return self.player.position / self.sample_rate

    @property
    def playing(self) -> bool:
        return self.player is not None and self.borrowed_by is None and self.player.playing

    # -------------------------------------------------------------------------------------------- actions
    def toggle_play(self) -> None:
        if self.unavailable_reason:
            self._update_state()
            return
        for view in self.borrowers:
            if getattr(view, "took_player", False):
                view.took_player = False
                self.borrowed_by = type(view).__name__
        if self.borrowed_by is not None:
            self.borrowed_by = None
            self.player.stop()
            self._give_sources()
        if self.player.playing:
            self.player.pause()
        else:
            self.player.play()

    def stop(self) -> None:
        if self.player is not None and self.borrowed_by is None:
            self.player.stop()
        self.tick()

    def seek(self, seconds: float) -> None:
        if self.player is not None and self.borrowed_by is None:
            self.player.seek(int(max(0.0, seconds) * self.sample_rate))
        self.tick()

    def set_loop_range(self, region: tuple[float, float] | None) -> None:
        self.loop_range = region
        if self.loop_action.isChecked():
            self._loop_toggled(True)

    def _loop_toggled(self, on: bool) -> None:
        if self.player is None or self.borrowed_by is not None:
            return
        if on and self.loop_range:
            sr = self.sample_rate
            self.player.set_loop(int(self.loop_range[0] * sr), int(self.loop_range[1] * sr))
        else:
            self.player.clear_loop()

    def tick(self) -> None:
        """Repaint the clock (the window's UI timer calls it while playing)."""
        pos = self.position
        self.clock_label.setText(f"{clock(pos)} / {clock(self.frames / self.sample_rate)}")
        self.positionChanged.emit(pos)

    def close_player(self) -> None:
        if self.player is not None:
            self.player.close()
