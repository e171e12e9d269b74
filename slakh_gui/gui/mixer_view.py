"""The mixer: one strip per stem (fader in dB relative to the auto-mix, mute, solo, pan, LUFS and peak readouts)."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDial,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from slakh_gui.core.studio.mixer import MixerState
from slakh_gui.core.studio.mixer import Strip as MixerStrip

FADER_MIN_DB, FADER_MAX_DB = -60.0, 12.0
STRIP_WIDTH = 122  # fits "-120.0 dBFS!" in 8 pt monospace beside the fader


PAN_STEPS = 100  # the knob's range is -PAN_STEPS..+PAN_STEPS for pan -1..+1


def fmt_pan(pan: float) -> str:
    """"C", "L50", "R100": percent of the way to one side."""
    n = round(abs(pan) * 100)
    return "C" if n == 0 else f"{'L' if pan < 0 else 'R'}{n}"


class PanKnob(QDial):
    """A pan dial, -1 (left) .. +1 (right); a double-click puts it back in the centre."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setRange(-PAN_STEPS, PAN_STEPS)
        self.setValue(0)
        self.setSingleStep(5)
        self.setPageStep(25)
        self.setNotchesVisible(True)
        self.setNotchTarget(10.0)
        self.setFixedSize(24, 24)
        self.setToolTip("Pan (double-click: centre, as rendered)")

    @property
    def pan(self) -> float:
        return self.value() / PAN_STEPS

    def set_pan(self, pan: float) -> None:
        self.setValue(int(round(max(-1.0, min(1.0, pan)) * PAN_STEPS)))

    def mouseDoubleClickEvent(self, event):  # Qt override
        self.setValue(0)
        event.accept()


def fmt_db(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return f"–∞ {unit}" if value is not None else f"– {unit}"
    return f"{value:+.1f} {unit}" if unit == "dB" else f"{value:.1f} {unit}"


class Strip(QFrame):
    edited = Signal(str, str)  # stem key, what changed: "gain", "mute", "solo" or "pan" (user edits only)
    selected = Signal(str)

    def __init__(self, key: str, title: str, lufs: float | None, peak_db: float | None, parent=None):
        super().__init__(parent)
        self.key, self.base_lufs, self.base_peak = key, lufs, peak_db
        self.setObjectName("strip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(STRIP_WIDTH)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(3, 3, 3, 3)
        lay.setSpacing(2)
        head = QHBoxLayout()
        head.setSpacing(2)
        name = QPushButton(key)
        name.setFlat(True)
        name.setToolTip(title)
        name.setAccessibleName(f"Select stem {key}")
        name.setStyleSheet("font-weight: bold; padding: 0 2px;")
        name.clicked.connect(lambda: self.selected.emit(self.key))
        sub = QLabel()
        sub.setStyleSheet("font-size: 8pt; color: #9aa;")
        sub.setToolTip(title)
        sub.setAccessibleName(f"Name of stem {key}")
        sub.setText(sub.fontMetrics().elidedText(title, Qt.TextElideMode.ElideRight, STRIP_WIDTH - 44))
        self.title = title
        head.addWidget(name)
        head.addWidget(sub, 1)
        self.fader = QSlider(Qt.Orientation.Vertical)
        self.fader.setRange(int(FADER_MIN_DB * 10), int(FADER_MAX_DB * 10))
        self.fader.setValue(0)
        self.fader.setPageStep(30)
        self.fader.setTickPosition(QSlider.TickPosition.TicksBothSides)
        self.fader.setTickInterval(60)
        self.fader.setAccessibleName(f"Fader {key} (dB relative to the auto-mix)")
        self.fader.setMinimumHeight(56)
        self.fader.valueChanged.connect(self._moved)
        self.db_label = QLabel("+0.0 dB")
        buttons = QHBoxLayout()
        buttons.setSpacing(2)
        self.mute = QToolButton(text="M", checkable=True)
        self.mute.setAccessibleName(f"Mute {key}")
        self.mute.setToolTip("Mute")
        self.solo = QToolButton(text="S", checkable=True)
        self.solo.setAccessibleName(f"Solo {key}")
        self.solo.setToolTip("Solo")
        self.mute.setStyleSheet("QToolButton:checked { background: #b8462d; color: white; }")
        self.solo.setStyleSheet("QToolButton:checked { background: #c9a227; color: black; }")
        for b, what in ((self.mute, "mute"), (self.solo, "solo")):
            b.toggled.connect(lambda _on, what=what: self.edited.emit(self.key, what))
            buttons.addWidget(b)
        self.pan_knob = PanKnob()  # beside M and S: the strip keeps its height
        self.pan_knob.setAccessibleName(f"Pan {key}")
        self.pan_knob.valueChanged.connect(self._panned)
        buttons.addWidget(self.pan_knob)
        buttons.addStretch(1)
        self.pan_label = QLabel("C")
        self.pan_label.setToolTip("Pan: C = as rendered; L/R percent of the way to one side")
        self.pan_label.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        top_row = QHBoxLayout()
        top_row.setSpacing(2)
        self.lufs_label = QLabel()
        self.peak_label = QLabel()
        self.lufs_label.setToolTip("Loudness (ITU-R BS.1770-4) of this stem at this fader")
        self.peak_label.setToolTip("Sample peak of this stem at this fader")
        for lab in (self.db_label, self.lufs_label, self.peak_label, self.pan_label):
            lab.setStyleSheet("font-family: monospace; font-size: 8pt;")
        readouts = QVBoxLayout()
        readouts.setSpacing(1)
        top_row.addWidget(self.db_label)
        top_row.addWidget(self.pan_label, 1)
        readouts.addLayout(top_row)
        readouts.addLayout(buttons)
        readouts.addStretch(1)
        readouts.addWidget(self.lufs_label)
        readouts.addWidget(self.peak_label)
        body = QHBoxLayout()
        body.setSpacing(2)
        body.addWidget(self.fader)
        body.addLayout(readouts, 1)
        lay.addLayout(head)
        lay.addLayout(body, 1)
        self._update_readouts()

    @property
    def gain_db(self) -> float:
        return self.fader.value() / 10.0

    def set_gain_db(self, db: float) -> None:
        self.fader.setValue(int(round(max(FADER_MIN_DB, min(FADER_MAX_DB, db)) * 10)))

    def _panned(self) -> None:
        self.pan_label.setText(fmt_pan(self.pan_knob.pan))
        self.edited.emit(self.key, "pan")

    def set_pan(self, pan: float) -> None:
        self.pan_knob.set_pan(pan)
        self.pan_label.setText(fmt_pan(self.pan_knob.pan))

    def _moved(self) -> None:
        self._update_readouts()
        self.edited.emit(self.key, "gain")

    def _update_readouts(self) -> None:
        g = self.gain_db
        self.db_label.setText(fmt_db(g, "dB"))
        lufs = None if self.base_lufs is None else self.base_lufs + g
        peak = None if self.base_peak is None else self.base_peak + g
        self.lufs_label.setText(fmt_db(lufs, "LUFS"))
        self.peak_label.setText(fmt_db(peak, "dBFS") if peak is None or peak < 0 else f"{peak:.1f} dBFS!")
        self.peak_label.setStyleSheet("font-family: monospace; font-size: 8pt;"
                                      + (" color: #ff5555;" if peak is not None and peak >= 0 else ""))


class MixerView(QWidget):
    """Strips for the stems plus a master readout. ``stripEdited`` announces what the user changed; the window
    shows the document's state with :meth:`apply_state`."""

    stripEdited = Signal(str, str)  # stem key, "gain" | "mute" | "solo" | "pan": a user edit (not an apply)
    resetRequested = Signal()
    stemSelected = Signal(str)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setAccessibleName("Mixer")
        self.strips: dict[str, Strip] = {}
        outer = QHBoxLayout(self)
        outer.setContentsMargins(2, 2, 2, 2)
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.inner = QWidget()
        self.row = QHBoxLayout(self.inner)
        self.row.setContentsMargins(2, 2, 2, 2)
        self.row.addStretch(1)
        self.scroll.setWidget(self.inner)
        outer.addWidget(self.scroll, 1)
        master = QFrame()
        master.setFrameShape(QFrame.Shape.StyledPanel)
        master.setFixedWidth(150)
        ml = QVBoxLayout(master)
        ml.setContentsMargins(4, 4, 4, 4)
        ml.setSpacing(2)
        title = QLabel("<b>Mix</b>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.mix_lufs = QLabel("– LUFS")
        self.mix_peak = QLabel("– dBFS")
        for lab in (self.mix_lufs, self.mix_peak):
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lab.setStyleSheet("font-family: monospace; font-size: 10pt;")
        self.reset_button = QPushButton("Reset to auto-mix")
        self.reset_button.setAccessibleName("Reset the mixer to the auto-mix")
        self.reset_button.clicked.connect(self.resetRequested)
        self.empty = QLabel("Render or open a track to mix its stems.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setWordWrap(True)
        self.empty.setStyleSheet("color: #889;")
        self.row.insertWidget(0, self.empty, 1)
        for w in (title, self.mix_lufs, self.mix_peak):
            ml.addWidget(w)
        ml.addStretch(1)
        ml.addWidget(self.reset_button)
        outer.addWidget(master)

    def set_stems(self, stems: list[tuple[str, str, float | None, float | None]]) -> None:
        """(key, title, LUFS, peak dBFS) per stem, as rendered (the auto-mix). The same stems again (a re-render)
        keep their strips and get new readings: building strips is the costliest part of showing a render."""
        if [(k, t) for k, t, _, _ in stems] == [(k, s.title) for k, s in self.strips.items()]:
            for key, _title, lufs, peak in stems:
                strip = self.strips[key]
                strip.base_lufs, strip.base_peak = lufs, peak
                strip._update_readouts()
            return
        for s in self.strips.values():
            s.setParent(None)
            s.deleteLater()
        self.strips = {}
        for key, title, lufs, peak in stems:
            strip = Strip(key, title, lufs, peak)
            strip.edited.connect(self.stripEdited)
            strip.selected.connect(self.stemSelected)
            self.row.insertWidget(self.row.count() - 1, strip)
            self.strips[key] = strip
        self.empty.setVisible(not stems)

    def set_selected(self, key: str | None) -> None:
        """Outline the strip of the selected stem (the same selection as the track list and spectrogram)."""
        for k, strip in self.strips.items():
            strip.setStyleSheet("QFrame#strip { border: 2px solid #3465a4; }" if k == key else "")

    def apply_state(self, state: MixerState) -> None:
        """Show the document's mixer (its faders, mutes, solos and pans) without announcing edits."""
        for key, strip in self.strips.items():
            st = state.strips.get(key, MixerStrip())
            strip.blockSignals(True)
            strip.set_gain_db(st.gain_db)
            strip.mute.setChecked(st.mute)
            strip.solo.setChecked(st.solo)
            strip.set_pan(st.pan)
            strip.blockSignals(False)
            strip._update_readouts()

    def set_mix_levels(self, lufs: float | None, peak_db: float | None) -> None:
        self.mix_lufs.setText(fmt_db(lufs, "LUFS"))
        clip = peak_db is not None and math.isfinite(peak_db) and peak_db >= 0
        self.mix_peak.setText(fmt_db(peak_db, "dBFS") + ("  CLIP" if clip else ""))
        self.mix_peak.setStyleSheet("font-family: monospace; font-size: 11pt;" + (" color: #ff5555;" if clip else ""))
