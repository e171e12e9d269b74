"""The render panel: output folder and track number, format and options, Render / Cancel, progress and result.

It shows and edits the document's render settings (``Project.settings``, output folder, track number) and asks the
window to render; it holds no state of its own besides its widgets.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from slakh_gui.core.render import pipeline
from slakh_gui.core.render.panning import MODES as PAN_MODES
from slakh_gui.core.studio.project import Project


class RenderPanel(QScrollArea):
    """Scrolls instead of clipping when the window is short."""

    renderRequested = Signal()
    cancelRequested = Signal()

    def __init__(self, project: Project, parent: QWidget | None = None):
        super().__init__(parent)
        self.project = project
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        inner = QWidget()
        outer = QVBoxLayout(inner)
        outer.setContentsMargins(6, 6, 6, 6)
        form = QFormLayout()
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)
        outer.addLayout(form)
        self.out_edit = QLineEdit(str(project.output_dir))
        self.out_edit.setAccessibleName("Output folder")
        self.out_edit.setMinimumWidth(80)
        self.out_edit.textChanged.connect(self._output_edited)
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
        self.track_spin.setToolTip("Renders go to OUTPUT/TrackNNNNN; an existing folder is never replaced "
                                   "without asking")
        self.track_spin.valueChanged.connect(lambda n: self.project.set_output(track_number=n))
        self.track_note = QLabel()
        self.track_note.setWordWrap(True)
        self.track_note.setStyleSheet("color: #e0b050; font-size: 8pt;")
        form.addRow("Track no.", self.track_spin)
        form.addRow(self.track_note)
        self.format_combo = QComboBox()
        self.format_combo.addItems(["flac", "wav"])
        self.format_combo.setAccessibleName("Audio format")
        self.format_combo.currentTextChanged.connect(lambda t: self.project.update_settings(fmt=t))
        form.addRow("Format", self.format_combo)
        self.tail_spin = QDoubleSpinBox()
        self.tail_spin.setRange(0.0, 30.0)
        self.tail_spin.setValue(pipeline.DEFAULT_TAIL)
        self.tail_spin.setSuffix(" s")
        self.tail_spin.setAccessibleName("Tail after the song's end")
        self.tail_spin.valueChanged.connect(lambda v: self.project.update_settings(tail=float(v)))
        form.addRow("Tail", self.tail_spin)
        self.fx_check = QCheckBox("FluidSynth reverb/chorus")
        self.fx_check.setAccessibleName("FluidSynth reverb and chorus per track")
        self.fx_check.toggled.connect(lambda on: self.project.update_settings(fx=on))
        self.flakh_check = QCheckBox("Flakh mode (unsplit mix)")
        self.flakh_check.setAccessibleName("Flakh mode")
        self.flakh_check.setToolTip("The mix is the whole MIDI file rendered unsplit with TimGM6mb (Flakh2100)")
        self.range_check = QCheckBox("Only the selected region")
        self.range_check.setAccessibleName("Range mode: render only the selected region")
        self.range_check.setToolTip("Shift+drag a region on the mix spectrogram, then render just that part")
        self.range_check.toggled.connect(lambda on: self.project.update_settings(range_only=on))
        for check in (self.fx_check, self.flakh_check, self.range_check):
            outer.addWidget(check)
        self.stereo_check = QCheckBox("Stereo")
        self.stereo_check.setAccessibleName("Stereo render")
        self.stereo_check.setToolTip("Keep FluidSynth's left and right: stereo stems and mix, each track panned as "
                                     "the pan mode says")
        self.stereo_check.toggled.connect(self._stereo_toggled)
        self.pan_combo = QComboBox()
        self.pan_combo.addItems(list(PAN_MODES))
        self.pan_combo.setAccessibleName("Pan mode of a stereo render")
        self.pan_combo.setToolTip("auto: a track's own CC10 pan, else a seeded spread (drums, bass, lead centred); "
                                  "midi: the file's CC10 only; none: no pan at all")
        self.pan_combo.currentTextChanged.connect(lambda t: self.project.update_settings(pan=t))
        stereo_row = QHBoxLayout()
        stereo_row.addWidget(self.stereo_check)
        stereo_row.addWidget(QLabel("Pan"))
        stereo_row.addWidget(self.pan_combo, 1)
        outer.addLayout(stereo_row)
        self.render_button = QPushButton("Render")
        self.render_button.setAccessibleName("Render stems and mix")
        self.render_button.setStyleSheet("font-weight: bold; padding: 6px;")
        self.render_button.clicked.connect(self.renderRequested)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel the render")
        self.cancel_button.setEnabled(False)
        self.cancel_button.clicked.connect(self.cancelRequested)
        buttons = QHBoxLayout()
        buttons.addWidget(self.render_button, 1)
        buttons.addWidget(self.cancel_button)
        outer.addLayout(buttons)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Render progress")
        outer.addWidget(self.progress)
        self.result_label = QLabel("")
        self.result_label.setWordWrap(True)
        self.result_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.result_label.setAccessibleName("Render result")
        outer.addWidget(self.result_label)
        outer.addStretch(1)
        self.setWidget(inner)
        self.busy = False
        self.refresh()

    # -------------------------------------------------------------------------------------------- document -> view
    def refresh(self) -> None:
        """Show the document's settings (after a load, a session, undo)."""
        p, st = self.project, self.project.settings
        widgets = (self.out_edit, self.track_spin, self.format_combo, self.tail_spin, self.fx_check,
                   self.flakh_check, self.range_check, self.stereo_check, self.pan_combo)
        for w in widgets:
            w.blockSignals(True)
        if self.out_edit.text() != str(p.output_dir):
            self.out_edit.setText(str(p.output_dir))
        self.track_spin.setValue(p.track_number)
        self.format_combo.setCurrentText(st.fmt)
        self.tail_spin.setValue(st.tail)
        self.fx_check.setChecked(st.fx)
        self.flakh_check.setChecked(st.flakh)
        self.range_check.setChecked(st.range_only)
        self.stereo_check.setChecked(st.stereo)
        self.pan_combo.setCurrentText(st.pan)
        for w in widgets:
            w.blockSignals(False)
        self._update_enabled()

    def _update_enabled(self) -> None:
        p = self.project
        can = p.can_render
        for w in (self.out_edit, self.track_spin, self.format_combo, self.tail_spin, self.fx_check,
                  self.flakh_check, self.range_check, self.stereo_check):
            w.setEnabled(can and not self.busy)
        self.pan_combo.setEnabled(can and not self.busy and self.stereo_check.isChecked())
        self.render_button.setEnabled(can and not self.busy)
        self.cancel_button.setEnabled(self.busy)
        if p.is_folder:
            self.render_button.setToolTip("An opened track folder is already rendered: open its MIDI file to "
                                          "render again")
        elif p.song is None:
            self.render_button.setToolTip("Open a MIDI file first")
        else:
            self.render_button.setToolTip(f"Render to {p.track_dir()}")
        exists = can and p.track_dir().exists()
        self.track_note.setText(f"{p.track_dir().name} exists: rendering asks before replacing it" if exists else "")
        self.track_note.setVisible(exists)

    def set_busy(self, busy: bool) -> None:
        self.busy = busy
        if busy:
            self.progress.setValue(0)
            self.result_label.setText("")
        self._update_enabled()

    # -------------------------------------------------------------------------------------------- view -> document
    def _stereo_toggled(self, on: bool) -> None:
        self.project.update_settings(stereo=on)
        self._update_enabled()

    def _output_edited(self) -> None:
        text = self.out_edit.text().strip()
        if text:
            self.project.set_output(output_dir=Path(text).expanduser())
        self._update_enabled()

    def _choose_output(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Output folder", self.out_edit.text())
        if path:
            self.out_edit.setText(path)  # textChanged tells the document
