"""The Tracks dock: the song's name line, the seed and re-roll buttons above the track table."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSizePolicy, QSpinBox, QVBoxLayout, QWidget

from slakh_gui.core.studio.project import Project
from slakh_gui.gui.track_table import TrackModel, TrackTable


class TracksPanel(QWidget):
    """Shows the document's song and assignment; edits go out as signals (the window records them for undo)."""

    seedEdited = Signal(int)
    rerollTrackRequested = Signal()
    rerollUnlockedRequested = Signal()

    def __init__(self, project: Project, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.model = TrackModel(self)
        self.table = TrackTable(self.model)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        row = QHBoxLayout()
        self.song_label = QLabel("No song")
        self.song_label.setStyleSheet("font-weight: bold;")
        self.song_label.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.song_label.setMinimumWidth(120)
        row.addWidget(self.song_label, 1)
        row.addWidget(QLabel("Seed"))
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setAccessibleName("Seed of the patch draw")
        self.seed_spin.setKeyboardTracking(False)
        self.seed_spin.valueChanged.connect(self.seedEdited)
        row.addWidget(self.seed_spin)
        self.reroll_one_button = QPushButton("Re-roll track")
        self.reroll_one_button.setAccessibleName("Draw another patch for the selected track")
        self.reroll_one_button.clicked.connect(self.rerollTrackRequested)
        self.reroll_all_button = QPushButton("Re-roll unlocked")
        self.reroll_all_button.setAccessibleName("Draw new patches for every unlocked track")
        self.reroll_all_button.clicked.connect(self.rerollUnlockedRequested)
        row.addWidget(self.reroll_one_button)
        row.addWidget(self.reroll_all_button)
        lay.addLayout(row)
        lay.addWidget(self.table, 1)
        self.refresh_controls()

    def show_song(self) -> None:
        """A new song or track folder was loaded."""
        p = self.project
        if p.is_folder:
            self.model.set_song(p.song, None, None, p.folder_plugins)
            for key in p.audio.stems:
                self.model.set_status(key, "audio")
            self.song_label.setText(f"{p.folder_path.name} — {len(p.audio.stems)} stems, {p.sample_rate} Hz "
                                    "(opened track folder)")
        elif p.song is not None:
            self.model.set_song(p.song, p.bank, p.assignment)
            self.song_label.setText(f"{p.song.path.name} — {len(p.song.tracks)} tracks, {p.song.end_time:.1f} s, "
                                    f"bank '{p.bank.name}'")
        else:
            self.model.set_song(None, None, None)
            self.song_label.setText("No song")
        self.song_label.setToolTip(self.song_label.text())
        self.show_assignment()

    def show_assignment(self) -> None:
        p = self.project
        if p.assignment is not None:
            self.model.set_assignment(p.assignment)
        self.seed_spin.blockSignals(True)
        self.seed_spin.setValue(p.seed)
        self.seed_spin.blockSignals(False)
        self.refresh_controls()

    def refresh_controls(self, selected: str | None = None) -> None:
        p = self.project
        editable = p.song is not None and p.bank is not None and not p.is_folder
        self.seed_spin.setEnabled(editable)
        self.reroll_all_button.setEnabled(editable)
        self.reroll_one_button.setEnabled(editable and selected is not None and selected not in p.locked)
