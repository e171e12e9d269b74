"""The Dataset dialog's build options: the MIDI and output folders, the selection (count, seed, band, notes, split),
the rendering (bank, format, tail, Flakh, effects, lint) and where to render (worker processes or a Dask
scheduler), checked as they are typed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QSettings, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from slakh_gui import paths
from slakh_gui.core.constants import SPLITS
from slakh_gui.core.dataset.builder import DatasetError, DatasetOptions, parse_split, split_counts
from slakh_gui.core.dataset.dataset_exec import default_workers
from slakh_gui.core.dataset.selection import DEFAULT_BAND, parse_band
from slakh_gui.core.midi import gm

BAD_STYLE = "QLineEdit { border: 1px solid #d9534f; }"
SPLIT_TIP = "Weights like 1500:375:225 (Slakh2100) or fractions like 0.8,0.1,0.1"


def weights_text(weights) -> str:
    return ":".join(f"{float(w):g}" for w in weights)


def dropped_folder(event) -> Path | None:
    """The local folder a drag carries (its first URL), or None."""
    md = event.mimeData()
    local = [Path(u.toLocalFile()) for u in md.urls() if u.isLocalFile()] if md.hasUrls() else []
    return local[0] if local and local[0].is_dir() else None


def _buddy(text: str, widget: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(widget)
    return label


def _folder_row(edit: QLineEdit, title: str, accessible: str, on_pick: Callable[[], None]) -> QHBoxLayout:
    """``edit`` with a "…" button that picks its path."""
    row = QHBoxLayout()
    row.addWidget(edit, 1)
    b = QPushButton("…")
    b.setFixedWidth(30)
    b.setAccessibleName(accessible)
    b.setToolTip(title)
    b.clicked.connect(on_pick)
    row.addWidget(b)
    return row


class OptionsForm(QWidget):
    """Four groups of options in two columns; :meth:`options` reads them, :meth:`problems` says what keeps a build
    from starting. ``edited`` reports an edit that may change the problems, ``outputEdited`` a new output folder.
    ``resume_label`` (under the output folder) is the dialog's to fill. A folder dropped on a folder field fills it.
    """

    edited = Signal()
    outputEdited = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.stereo, self.pan = False, "auto"  # no toggle yet: kept from a resumed dataset's manifest
        self.groups = [self._io_group(), self._selection_group(), self._render_group(), self._where_group()]
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setColumnStretch(0, 1)
        grid.setColumnStretch(1, 1)
        for col, pair in enumerate((self.groups[:2], self.groups[2:])):
            column = QVBoxLayout()
            for g in pair:
                column.addWidget(g)
            column.addStretch(1)
            grid.addLayout(column, 0, col)

    # ------------------------------------------------------------------------------------------ groups
    def _io_group(self) -> QGroupBox:
        io = QGroupBox("Input and output")
        f = QFormLayout(io)
        self.midi_edit = QLineEdit()
        self.midi_edit.setAccessibleName("MIDI folder")
        self.midi_edit.setPlaceholderText("a folder of .mid files, scanned recursively (e.g. Lakh MIDI)")
        self.midi_edit.textChanged.connect(self.edited)
        f.addRow(_buddy("&MIDI folder", self.midi_edit),
                 _folder_row(self.midi_edit, "Choose the MIDI folder", "Choose the MIDI folder", self._pick_midi))
        self.out_edit = QLineEdit()
        self.out_edit.setAccessibleName("Dataset output folder")
        self.out_edit.setPlaceholderText("a new or empty folder, or a dataset to resume")
        self.out_edit.textChanged.connect(self.outputEdited)
        f.addRow(_buddy("&Output folder", self.out_edit),
                 _folder_row(self.out_edit, "Choose the output folder", "Choose the dataset output folder",
                             self._pick_out))
        self.resume_label = QLabel("")
        self.resume_label.setWordWrap(True)
        self.resume_label.setAccessibleName("Resume state of the output folder")
        f.addRow("", self.resume_label)
        for e in (self.midi_edit, self.out_edit):
            e.installEventFilter(self)
        return io

    def _selection_group(self) -> QGroupBox:
        sel = QGroupBox("Selection (Slakh's rules)")
        f = QFormLayout(sel)
        self.count_spin = QSpinBox()
        self.count_spin.setRange(0, 10_000_000)
        self.count_spin.setSpecialValueText("all that pass")
        self.count_spin.setAccessibleName("Number of songs (0: all that pass)")
        f.addRow("&Count", self.count_spin)
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        self.seed_spin.setAccessibleName("Seed of the song shuffle and the patch draws")
        f.addRow("S&eed", self.seed_spin)
        band_row = QHBoxLayout()
        self.band_edit = QLineEdit(",".join(fam.lower() for fam in DEFAULT_BAND))
        self.band_edit.setAccessibleName("Band: GM families every song must play")
        self.band_edit.setToolTip("Comma-separated GM families (case-insensitive), or pick them from the menu")
        self.band_edit.textChanged.connect(self._band_text_changed)
        band_row.addWidget(self.band_edit, 1)
        self.band_button = QToolButton(text="Families")
        self.band_button.setAccessibleName("Choose the band's GM families")
        self.band_button.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.band_menu = QMenu(self.band_button)
        self.family_actions: dict[str, QAction] = {}
        for fam in gm.FAMILIES:
            a = self.band_menu.addAction(fam)
            a.setCheckable(True)
            a.toggled.connect(self._family_toggled)
            self.family_actions[fam] = a
        self.band_button.setMenu(self.band_menu)
        band_row.addWidget(self.band_button)
        f.addRow(_buddy("B&and", self.band_edit), band_row)
        self.min_notes_spin = QSpinBox()
        self.min_notes_spin.setRange(0, 100_000)
        self.min_notes_spin.setValue(50)
        self.min_notes_spin.setAccessibleName("Notes each band family must play")
        f.addRow("Min &notes", self.min_notes_spin)
        self.multi_drums_check = QCheckBox("Allow more than one drum track")
        self.multi_drums_check.setAccessibleName("Allow songs with more than one drum track")
        f.addRow("", self.multi_drums_check)
        self.split_edit = QLineEdit("1500:375:225")
        self.split_edit.setAccessibleName("Split weights train:validation:test")
        self.split_edit.setToolTip(SPLIT_TIP)
        self.split_edit.textChanged.connect(self.edited)
        f.addRow("S&plit", self.split_edit)
        self.split_hint = QLabel("")
        self.split_hint.setAccessibleName("Split check")
        f.addRow("", self.split_hint)
        return sel

    def _render_group(self) -> QGroupBox:
        ren = QGroupBox("Rendering")
        f = QFormLayout(ren)
        self.bank_edit = QLineEdit(str(paths.default_bank()))
        self.bank_edit.setAccessibleName("Patch bank file")
        self.bank_edit.textChanged.connect(self.edited)
        f.addRow(_buddy("Ban&k", self.bank_edit),
                 _folder_row(self.bank_edit, "Choose a patch bank", "Choose the patch bank", self._pick_bank))
        self.format_combo = QComboBox()
        self.format_combo.addItems(["flac", "wav"])
        self.format_combo.setAccessibleName("Audio format")
        f.addRow("&Format", self.format_combo)
        self.tail_spin = QDoubleSpinBox()
        self.tail_spin.setRange(0.0, 60.0)
        self.tail_spin.setValue(5.0)
        self.tail_spin.setSuffix(" s")
        self.tail_spin.setAccessibleName("Tail rendered after each song's end")
        f.addRow("&Tail", self.tail_spin)
        self.flakh_check = QCheckBox("Flakh mode (TimGM6mb, unsplit mix)")
        self.flakh_check.setAccessibleName("Flakh mode")
        self.flakh_check.toggled.connect(self._flakh_toggled)
        f.addRow("", self.flakh_check)
        self.fx_check = QCheckBox("FluidSynth reverb/chorus")
        self.fx_check.setAccessibleName("FluidSynth reverb and chorus per track")
        f.addRow("", self.fx_check)
        self.lint_check = QCheckBox("Lint every track (lint.yaml)")
        self.lint_check.setChecked(True)
        self.lint_check.setAccessibleName("Run the lint checks on every rendered track")
        f.addRow("", self.lint_check)
        return ren

    def _where_group(self) -> QGroupBox:
        where = QGroupBox("Where to render")
        f = QGridLayout(where)
        self.local_radio = QRadioButton("This computer")
        self.local_radio.setAccessibleName("Render on this computer")
        self.local_radio.setChecked(True)
        self.dask_radio = QRadioButton("Dask scheduler")
        self.dask_radio.setAccessibleName("Render on a Dask cluster")
        group = QButtonGroup(self)
        group.addButton(self.local_radio)
        group.addButton(self.dask_radio)
        self.workers_spin = QSpinBox()
        self.workers_spin.setRange(1, 1024)
        self.workers_spin.setValue(default_workers())
        self.workers_spin.setSuffix(" worker processes")
        self.workers_spin.setAccessibleName("Local worker processes")
        self.scheduler_edit = QLineEdit()
        self.scheduler_edit.setPlaceholderText("tcp://host:8786 or a scheduler JSON file")
        self.scheduler_edit.setAccessibleName("Dask scheduler address")
        self.scheduler_edit.textChanged.connect(self.edited)
        self.threads_spin = QSpinBox()
        self.threads_spin.setRange(1, 64)
        self.threads_spin.setToolTip("FluidSynth instances each worker renders at once (1 is best on few cores)")
        self.threads_spin.setAccessibleName("Synths each worker runs at once")
        f.addWidget(self.local_radio, 0, 0)
        f.addWidget(self.workers_spin, 0, 1)
        f.addWidget(self.dask_radio, 1, 0)
        f.addWidget(self.scheduler_edit, 1, 1)
        f.addWidget(QLabel("Synths per worker"), 2, 0)
        f.addWidget(self.threads_spin, 2, 1)
        self.local_radio.toggled.connect(self.edited)
        return where

    # ------------------------------------------------------------------------------------------ reading
    def midi_dir(self) -> Path:
        return Path(self.midi_edit.text().strip()).expanduser()

    def out_dir(self) -> Path:
        return Path(self.out_edit.text().strip()).expanduser()

    def runner_options(self) -> dict:
        """Where to render, as :func:`~slakh_gui.core.dataset.builder.run_dataset` takes it: workers, scheduler, threads."""
        local = self.local_radio.isChecked()
        return dict(workers=self.workers_spin.value() if local else None,
                    scheduler=None if local else self.scheduler_edit.text().strip(), threads=self.threads_spin.value())

    def options(self) -> DatasetOptions:
        """The dataset options the form describes; :class:`DatasetError` (one line) when it describes none."""
        try:
            band = parse_band(self.band_edit.text())
        except ValueError as exc:
            raise DatasetError(f"band: {exc}") from None
        split = parse_split(self.split_edit.text())
        bank = Path(self.bank_edit.text().strip()).expanduser()
        if not self.bank_edit.text().strip() or not bank.is_file():
            raise DatasetError(f"bank: no such file {str(bank)!r}")
        return DatasetOptions(bank=bank, count=self.count_spin.value() or None, seed=self.seed_spin.value(),
                              band=band, min_notes=self.min_notes_spin.value(),
                              allow_multiple_drums=self.multi_drums_check.isChecked(), split=split,
                              fmt=self.format_combo.currentText(), flakh=self.flakh_check.isChecked(),
                              fluid_effects=self.fx_check.isChecked(), tail=self.tail_spin.value(),
                              lint=self.lint_check.isChecked(), stereo=self.stereo, pan=self.pan)

    def problems(self) -> list[str]:
        """What keeps Start from running, first problem first (empty: ready)."""
        out = []
        midi = self.midi_edit.text().strip()
        if not midi:
            out.append("choose a MIDI folder")
        elif not Path(midi).expanduser().is_dir():
            out.append(f"MIDI folder {midi!r} does not exist")
        if not self.out_edit.text().strip():
            out.append("choose an output folder")
        if self.dask_radio.isChecked() and not self.scheduler_edit.text().strip():
            out.append("enter the Dask scheduler address")
        try:
            self.options()
        except DatasetError as exc:
            out.append(str(exc))
        return out

    def refresh(self, known_tracks: int = 0) -> None:
        """Mark the split and band fields that do not parse, show the split's shares (of the count, else of
        ``known_tracks``: the output folder's), and enable the fields of the chosen place to render."""
        try:
            weights = parse_split(self.split_edit.text())
        except DatasetError as exc:
            self.split_edit.setStyleSheet(BAD_STYLE)
            self.split_edit.setToolTip(str(exc))
            self.split_hint.setText(f"<span style='color:#ff8a7a'>{exc}</span>")
        else:
            self.split_edit.setStyleSheet("")
            self.split_edit.setToolTip(SPLIT_TIP)
            total = sum(weights)
            share = " · ".join(f"{name} {100 * w / total:.1f} %" for name, w in
                               zip(SPLITS, weights, strict=True))
            n = self.count_spin.value() or known_tracks
            if n:
                t, va, te = split_counts(n, weights)
                share += f"  (of {n}: {t} / {va} / {te})"
            self.split_hint.setText(share)
        try:
            parse_band(self.band_edit.text())
            self.band_edit.setStyleSheet("")
        except ValueError as exc:
            self.band_edit.setStyleSheet(BAD_STYLE)
            self.band_edit.setToolTip(str(exc))
        self.scheduler_edit.setEnabled(self.dask_radio.isChecked())
        self.workers_spin.setEnabled(self.local_radio.isChecked())

    def set_locked(self, locked: bool) -> None:
        """No edits while a build runs."""
        for g in self.groups:
            g.setEnabled(not locked)

    # ------------------------------------------------------------------------------------------ editing
    def _band_text_changed(self, text: str) -> None:
        try:
            chosen = set(parse_band(text))
        except ValueError:
            chosen = None
        if chosen is not None:
            for fam, a in self.family_actions.items():
                a.blockSignals(True)
                a.setChecked(fam in chosen)
                a.blockSignals(False)
        self.edited.emit()

    def _family_toggled(self) -> None:
        chosen = [fam for fam, a in self.family_actions.items() if a.isChecked()]
        self.band_edit.setText(",".join(chosen))

    def _flakh_toggled(self, on: bool) -> None:
        current = Path(self.bank_edit.text()).expanduser()
        if on and current == paths.default_bank():
            self.bank_edit.setText(str(paths.flakh_bank()))
        elif not on and current == paths.flakh_bank():
            self.bank_edit.setText(str(paths.default_bank()))

    def apply_manifest(self, manifest: dict, out: Path | None = None, settings: QSettings | None = None) -> None:
        """Fill the form from a dataset's manifest in ``out``, so that Start resumes it (the MIDI folder is not
        in the manifest: the user names it; the bank is the copy beside the manifest)."""
        o = manifest.get("options") or {}
        remembered = remembered_sources(settings) if settings is not None else {}
        midi = o.get("midi_dir") or (remembered.get(_key(out)) if out is not None else None)
        if midi:
            self.midi_edit.setText(str(midi))
        self.count_spin.setValue(int(o.get("count") or 0))
        self.seed_spin.setValue(int(o.get("seed", 0)))
        self.band_edit.setText(",".join(o.get("band") or DEFAULT_BAND))
        self.min_notes_spin.setValue(int(o.get("min_notes", 50)))
        self.multi_drums_check.setChecked(bool(o.get("allow_multiple_drums", False)))
        if o.get("split"):
            self.split_edit.setText(weights_text(o["split"]))
        self.format_combo.setCurrentText(str(o.get("fmt", "flac")))
        self.flakh_check.blockSignals(True)
        self.flakh_check.setChecked(bool(o.get("flakh", False)))
        self.flakh_check.blockSignals(False)
        self.fx_check.setChecked(bool(o.get("fluid_effects", False)))
        self.tail_spin.setValue(float(o.get("tail", 5.0)))
        self.lint_check.setChecked(bool(o.get("lint", True)))
        self.stereo, self.pan = bool(o.get("stereo", False)), str(o.get("pan", "auto"))
        b = manifest.get("bank") or {}
        bank = b.get("path") or (Path(out) / b["file"] if out is not None and b.get("file") else None)
        if bank:
            self.bank_edit.setText(str(bank))

    def _pick_midi(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "MIDI folder", self.midi_edit.text() or str(Path.home()))
        if path:
            self.midi_edit.setText(path)

    def _pick_out(self) -> None:
        path = QFileDialog.getExistingDirectory(self, "Dataset output folder", self.out_edit.text() or str(Path.home()))
        if path:
            self.out_edit.setText(path)

    def _pick_bank(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Patch bank", str(Path(self.bank_edit.text()).parent),
                                              "Patch banks (*.yaml *.yml);;All files (*)")
        if path:
            self.bank_edit.setText(path)

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:  # Qt override
        """A folder dropped on the MIDI or output field fills it."""
        if obj in (getattr(self, "midi_edit", None), getattr(self, "out_edit", None)):
            kind = event.type()
            if kind in (QEvent.Type.DragEnter, QEvent.Type.DragMove) and dropped_folder(event) is not None:
                event.acceptProposedAction()
                return True
            if kind == QEvent.Type.Drop and dropped_folder(event) is not None:
                event.acceptProposedAction()
                obj.setText(str(dropped_folder(event)))
                return True
        return super().eventFilter(obj, event)

    # ------------------------------------------------------------------------------------------ settings
    def restore(self, s: QSettings) -> None:
        """The folders, bank and place to render of the last build."""
        self.midi_edit.setText(str(s.value("dataset/midi_dir", "", type=str)))
        self.out_edit.setText(str(s.value("dataset/out", "", type=str)))
        bank = str(s.value("dataset/bank", "", type=str))
        if bank:
            self.bank_edit.setText(bank)
        self.workers_spin.setValue(int(s.value("dataset/workers", default_workers(), type=int)))
        self.scheduler_edit.setText(str(s.value("dataset/scheduler", "", type=str)))

    def save(self, s: QSettings) -> None:
        """The form's folders for next time, and which MIDI folder this output folder was built from (kept on this
        machine: the dataset itself names no folder of it)."""
        if self.midi_edit.text() and self.out_edit.text():
            sources = remembered_sources(s)
            sources.pop(_key(self.out_edit.text()), None)
            sources[_key(self.out_edit.text())] = self.midi_edit.text()
            s.setValue("dataset/midi_dirs", json.dumps(dict(list(sources.items())[-MAX_REMEMBERED:])))
        s.setValue("dataset/midi_dir", self.midi_edit.text())
        s.setValue("dataset/out", self.out_edit.text())
        s.setValue("dataset/bank", self.bank_edit.text())
        s.setValue("dataset/workers", self.workers_spin.value())
        s.setValue("dataset/scheduler", self.scheduler_edit.text())


MAX_REMEMBERED = 50  # output folders whose MIDI folder the form remembers


def _key(out: str | Path) -> str:
    return str(Path(out).expanduser().resolve())


def remembered_sources(settings: QSettings) -> dict[str, str]:
    """Output folder -> the MIDI folder it was built from, as this machine's settings remember it."""
    try:
        data = json.loads(str(settings.value("dataset/midi_dirs", "{}", type=str) or "{}"))
    except ValueError:
        return {}
    return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

