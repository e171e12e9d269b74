"""The mixer: one strip per stem (fader in dB relative to the auto-mix, mute, solo, LUFS and peak readouts)."""

from __future__ import annotations

import math

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
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

FADER_MIN_DB, FADER_MAX_DB = -60.0, 12.0


def fmt_db(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return f"–∞ {unit}" if value is not None else f"– {unit}"
    return f"{value:+.1f} {unit}" if unit == "dB" else f"{value:.1f} {unit}"


class Strip(QFrame):
    changed = Signal()
    selected = Signal(str)

    def __init__(self, key: str, title: str, lufs: float | None, peak_db: float | None, parent=None):
        super().__init__(parent)
        self.key, self.base_lufs, self.base_peak = key, lufs, peak_db
        self.setObjectName("strip")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setFixedWidth(92)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setSpacing(3)
        name = QPushButton(key)
        name.setFlat(True)
        name.setToolTip(title)
        name.setAccessibleName(f"Select stem {key}")
        name.clicked.connect(lambda: self.selected.emit(self.key))
        sub = QLabel(title)
        sub.setWordWrap(True)
        sub.setAlignment(Qt.AlignmentFlag.AlignCenter)
        sub.setStyleSheet("font-size: 8pt; color: #9aa;")
        sub.setFixedHeight(28)
        self.fader = QSlider(Qt.Orientation.Vertical)
        self.fader.setRange(int(FADER_MIN_DB * 10), int(FADER_MAX_DB * 10))
        self.fader.setValue(0)
        self.fader.setPageStep(30)
        self.fader.setTickPosition(QSlider.TickPosition.TicksBothSides)
        self.fader.setTickInterval(60)
        self.fader.setAccessibleName(f"Fader {key} (dB relative to the auto-mix)")
        self.fader.setMinimumHeight(120)
        self.fader.valueChanged.connect(self._moved)
        self.db_label = QLabel("+0.0 dB")
        self.db_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        buttons = QHBoxLayout()
        self.mute = QToolButton(text="M", checkable=True)
        self.mute.setAccessibleName(f"Mute {key}")
        self.mute.setToolTip("Mute")
        self.solo = QToolButton(text="S", checkable=True)
        self.solo.setAccessibleName(f"Solo {key}")
        self.solo.setToolTip("Solo")
        self.mute.setStyleSheet("QToolButton:checked { background: #b8462d; color: white; }")
        self.solo.setStyleSheet("QToolButton:checked { background: #c9a227; color: black; }")
        for b in (self.mute, self.solo):
            b.toggled.connect(self.changed)
            buttons.addWidget(b)
        self.lufs_label = QLabel()
        self.peak_label = QLabel()
        for lab in (self.lufs_label, self.peak_label):
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lab.setStyleSheet("font-family: monospace; font-size: 8pt;")
        for w in (name, sub):
            lay.addWidget(w)
        lay.addWidget(self.fader, 1, Qt.AlignmentFlag.AlignHCenter)
        lay.addWidget(self.db_label)
        lay.addLayout(buttons)
        lay.addWidget(self.lufs_label)
        lay.addWidget(self.peak_label)
        self._update_readouts()

    @property
    def gain_db(self) -> float:
        return self.fader.value() / 10.0

    def set_gain_db(self, db: float) -> None:
        self.fader.setValue(int(round(max(FADER_MIN_DB, min(FADER_MAX_DB, db)) * 10)))

    def _moved(self) -> None:
        self._update_readouts()
        self.changed.emit()

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
    """Strips for the stems plus a master readout. ``stateChanged`` fires on any fader/mute/solo change."""

    stateChanged = Signal()
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
        title = QLabel("<b>Mix</b>")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.mix_lufs = QLabel("– LUFS")
        self.mix_peak = QLabel("– dBFS")
        for lab in (self.mix_lufs, self.mix_peak):
            lab.setAlignment(Qt.AlignmentFlag.AlignCenter)
            lab.setStyleSheet("font-family: monospace; font-size: 11pt;")
        self.reset_button = QPushButton("Reset to auto-mix")
        self.reset_button.setAccessibleName("Reset the mixer to the auto-mix")
        self.reset_button.clicked.connect(self.reset)
        self.empty = QLabel("Render or open a track\nto mix its stems.")
        self.empty.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.empty.setStyleSheet("color: #889;")
        for w in (title, self.mix_lufs, self.mix_peak):
            ml.addWidget(w)
        ml.addStretch(1)
        ml.addWidget(self.empty)
        ml.addStretch(1)
        ml.addWidget(self.reset_button)
        outer.addWidget(master)

    def set_stems(self, stems: list[tuple[str, str, float | None, float | None]]) -> None:
        """(key, title, LUFS, peak dBFS) per stem, as rendered (the auto-mix)."""
        for s in self.strips.values():
            s.setParent(None)
            s.deleteLater()
        self.strips = {}
        for key, title, lufs, peak in stems:
            strip = Strip(key, title, lufs, peak)
            strip.changed.connect(self.stateChanged)
            strip.selected.connect(self.stemSelected)
            self.row.insertWidget(self.row.count() - 1, strip)
            self.strips[key] = strip
        self.empty.setVisible(not stems)
        self.stateChanged.emit()

    def set_selected(self, key: str | None) -> None:
        """Outline the strip of the selected stem (the same selection as the track list and spectrogram)."""
        for k, strip in self.strips.items():
            strip.setStyleSheet("QFrame#strip { border: 2px solid #3465a4; }" if k == key else "")

    def reset(self) -> None:
        for s in self.strips.values():
            s.blockSignals(True)
            s.set_gain_db(0.0)
            s.mute.setChecked(False)
            s.solo.setChecked(False)
            s.blockSignals(False)
            s._update_readouts()
        self.stateChanged.emit()

    def state_dict(self) -> dict:
        return {"strips": {k: {"gain_db": s.gain_db, "mute": s.mute.isChecked(), "solo": s.solo.isChecked()}
                           for k, s in self.strips.items()}}

    def apply_state(self, state: dict) -> None:
        for key, st in (state or {}).get("strips", {}).items():
            s = self.strips.get(key)
            if s is None:
                continue
            s.blockSignals(True)
            s.set_gain_db(float(st.get("gain_db", 0.0)))
            s.mute.setChecked(bool(st.get("mute", False)))
            s.solo.setChecked(bool(st.get("solo", False)))
            s.blockSignals(False)
            s._update_readouts()
        self.stateChanged.emit()

    def set_mix_levels(self, lufs: float | None, peak_db: float | None) -> None:
        self.mix_lufs.setText(fmt_db(lufs, "LUFS"))
        clip = peak_db is not None and math.isfinite(peak_db) and peak_db >= 0
        self.mix_peak.setText(fmt_db(peak_db, "dBFS") + ("  CLIP" if clip else ""))
        self.mix_peak.setStyleSheet("font-family: monospace; font-size: 11pt;" + (" color: #ff5555;" if clip else ""))
