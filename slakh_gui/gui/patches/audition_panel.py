"""Audition: render a preset or a patch playing its class-typical phrase, with or without its effects, measure it
(LUFS, peak) and play it on the window's shared player. The first take is A, the second B; later takes push B to A,
so A/B always compares the last two.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QCheckBox, QHBoxLayout, QPushButton, QWidget

from slakh_gui.core.bank.bank_tools import slug, snapshot
from slakh_gui.core.bank.patches import Bank, Patch
from slakh_gui.core.midi import gm
from slakh_gui.gui.job_runner import Job, JobRunner
from slakh_gui.gui.patches.widget_helpers import clipped_label, error_html


def level_text(value: float, unit: str) -> str:
    """"-14.2 LUFS", or "−∞ LUFS" for silence."""
    return f"{value:.1f} {unit}" if math.isfinite(value) else f"−∞ {unit}"


def preview_patch(preset) -> Patch:
    """A browser preset as a patch without effects (what an audition of the preset plays)."""
    drum = preset.family == gm.family(gm.DRUMS)
    return Patch("preview." + slug(preset.name), str(preset.soundfont), preset.bank, preset.preset, preset.name, drum)


def preset_label(preset) -> str:
    return f"{Path(preset.soundfont).stem} {preset.bank}:{preset.preset} {preset.name}"


def _render(label: str, patch: Patch, bank: Bank | None, with_effects: bool, dirs: list[Path], progress=None,
            cancel=None):
    from slakh_gui.core.bank.audition import audition

    return label, audition(patch, bank, with_effects=with_effects, soundfont_dirs=dirs, cancel=cancel)


class AuditionPanel(QWidget):
    """Audition, A/B and stop buttons, "with effects", and the takes' loudness and peak.

    ``player`` is the window's shared :class:`slakh_gui.core.studio.playback.Player` (None: no audio output, the takes are
    still rendered and measured); ``took_player`` tells the window the player plays an audition, not the song.
    """

    requested = Signal()  # the Audition button: the view says what to audition
    auditionReady = Signal(object)  # core.audition.Audition

    def __init__(self, runner: JobRunner, extra_dirs: Callable[[], list[str]], slot: str = "patches/audition",
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.runner, self.extra_dirs, self.slot = runner, extra_dirs, slot
        self.player = None
        self.player_note = ""
        self.took_player = False
        self.auditions: dict[str, tuple[str, object] | None] = {"A": None, "B": None}
        self.playing_slot: str | None = None
        lay = QHBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        self.audition_button = QPushButton("▶ Audition")
        self.audition_button.setAccessibleName("Audition the selected preset or patch (Enter)")
        self.audition_button.setToolTip("Render the class-typical phrase and play it (Enter in the tables)")
        self.audition_button.clicked.connect(self.requested)
        self.ab_button = QPushButton("A/B")
        self.ab_button.setAccessibleName("Switch playback between the previous (A) and the last (B) audition")
        self.ab_button.setToolTip(self.ab_button.accessibleName())
        self.ab_button.setEnabled(False)
        self.ab_button.clicked.connect(self.toggle_ab)
        self.stop_button = QPushButton("■")
        self.stop_button.setAccessibleName("Stop the audition")
        self.stop_button.setToolTip("Stop the audition")
        self.stop_button.setFixedWidth(32)
        self.stop_button.clicked.connect(self.stop)
        self.effects_check = QCheckBox("with effects")
        self.effects_check.setChecked(True)
        self.effects_check.setAccessibleName("Audition through the patch's effect chain")
        self.audition_label = clipped_label("Select a preset or a patch and press Audition.", "Audition result")
        for w in (self.audition_button, self.ab_button, self.stop_button, self.effects_check):
            lay.addWidget(w)
        lay.addWidget(self.audition_label, 1)

    def say(self, html: str) -> None:
        self.audition_label.setText(html)
        self.audition_label.setToolTip(html)

    def clear(self) -> None:
        """Forget the takes (another bank was loaded)."""
        self.auditions = {"A": None, "B": None}
        self.playing_slot = None
        self.ab_button.setEnabled(False)

    def audition_preset(self, preset, bank: Bank | None) -> Job:
        return self.audition_patch(preview_patch(preset), preset_label(preset), bank)

    def audition_patch(self, patch: Patch, label: str, bank: Bank | None) -> Job:
        """Render ``patch`` in the background (a newer audition replaces a running one) and play it when ready."""
        self.say(f"Rendering {html.escape(label)} …")
        return self.runner.start(_render, label, patch, snapshot(bank) if bank is not None else None,
                                 self.effects_check.isChecked(), [Path(d) for d in self.extra_dirs()],
                                 on_result=self._ready, on_error=self._failed, slot=self.slot)

    def _failed(self, exc: Exception) -> None:
        self.say(error_html(f"Audition failed: {exc}"))

    def _ready(self, result) -> None:
        label, aud = result
        if self.auditions["A"] is None:
            slot = "A"
        else:
            if self.auditions["B"] is not None:
                self.auditions["A"] = self.auditions["B"]
            slot = "B"
        self.auditions[slot] = (label, aud)
        self.ab_button.setEnabled(self.auditions["B"] is not None)
        self.play_slot(slot)
        self.auditionReady.emit(aud)

    def play_slot(self, slot: str) -> None:
        entry = self.auditions.get(slot)
        if entry is None:
            return
        _label, aud = entry
        self.playing_slot = slot
        if self.player is not None:
            try:
                pos = self.player.position if self.took_player else 0
                self.player.stop()
                self.player.clear_loop()
                self.player.set_sources({"audition": aud.audio})
                self.player.seek(min(pos, max(0, len(aud.audio) - 1)))
                self.player.play()
                self.took_player = True
            except Exception as exc:  # no sound is no reason to lose the audition
                self.player_note = f"Playback failed: {exc}"
        self._show_takes()

    def toggle_ab(self) -> None:
        if self.auditions["B"] is not None:
            self.play_slot("A" if self.playing_slot == "B" else "B")

    def stop(self) -> None:
        if self.player is not None and self.took_player:
            self.player.stop()

    def _show_takes(self) -> None:
        parts = []
        for slot in ("A", "B"):
            entry = self.auditions[slot]
            if entry is None:
                continue
            label, aud = entry
            text = f"{slot}: {html.escape(label)} — {aud.kind}, {level_text(aud.lufs, 'LUFS')}, peak {level_text(aud.peak_dbfs, 'dBFS')}"
            parts.append(f"<b>▶ {text}</b>" if slot == self.playing_slot else text)
        if self.player is None:
            parts.append(f"<i>{html.escape(self.player_note or 'no audio output')}: not played</i>")
        self.say(" &nbsp;|&nbsp; ".join(parts))
