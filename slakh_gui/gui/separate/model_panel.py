"""Choosing the Separate panel's model: the shipped models (listed in the background: it imports torch), model files
opened with a file dialog (ours, .pt; Open-Unmix .pth/.json and Demucs .th/.yaml), loading in the background, a
summary of the loaded model, and the source to separate for a model with several (an external model's sources, a joint
model's heads)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QStandardItemModel
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QSizePolicy,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from slakh_gui.gui.job_runner import Job, JobRunner
from slakh_gui.gui.separate.messages import first_line
from slakh_gui.separation.comparison import describe_model, list_models, load_model, model_key, model_title

MODEL_FILTER = ("Separation models (*.pt *.pth *.json *.th *.yaml);;Slakh Studio models (*.pt);;"
                "Open-Unmix (*.pth *.json);;Demucs (*.th *.yaml);;All files (*)")


class ModelPanel(QWidget):
    """A combo of the shipped models and the files opened, a button to open a file, and the loaded model's summary.

    Jobs run on ``runner`` in the slots ``slot("models")`` and ``slot("model")`` (a newer load replaces one under
    way); ``model`` is the loaded SeparationModel (None until one loads), ``job`` the load under way.
    """

    modelsListed = Signal(object)  # {name: path or None}
    modelLoaded = Signal(object)  # SeparationModel
    errorRaised = Signal(str)
    statusMessage = Signal(str)

    def __init__(self, runner: JobRunner, slot: Callable[[str], str], settings: QSettings | None = None,
                 parent: QWidget | None = None):
        super().__init__(parent)
        self.runner, self._slot, self.settings = runner, slot, settings
        self.model = None  # SeparationModel
        self.job: Job | None = None  # the model being loaded
        self.listed = False  # the shipped models were asked for
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(4)
        row = QHBoxLayout()
        row.addWidget(QLabel("Model"))
        self.combo = QComboBox()
        self.combo.setAccessibleName("Separation model")
        self.combo.setToolTip("A shipped model (bass, drums, guitar, piano) or a model file you opened")
        self.combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.combo.setModel(QStandardItemModel(self.combo))
        self.combo.activated.connect(self._combo_activated)
        row.addWidget(self.combo, 1)
        self.browse_button = QToolButton(text="…")
        self.browse_button.setAccessibleName("Open a model file")
        self.browse_button.setToolTip("Open a model file: .pt trained with slakh-studio train, or an Open-Unmix "
                                      "(.pth/.json) or Demucs (.th, bag .yaml) model")
        self.browse_button.clicked.connect(self.open_model_dialog)
        row.addWidget(self.browse_button)
        lay.addLayout(row)
        self.source_row = QWidget()
        srow = QHBoxLayout(self.source_row)
        srow.setContentsMargins(0, 0, 0, 0)
        srow.addWidget(QLabel("Source"))
        self.source_combo = QComboBox()
        self.source_combo.setAccessibleName("Source of the external model to separate and score")
        self.source_combo.setToolTip("The model's source to separate; the ones named like a band group (bass, "
                                     "drums, guitar, piano) are scored against the truth")
        self.source_combo.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.source_combo.activated.connect(lambda i: self.set_source(self.source_combo.itemData(i)))
        srow.addWidget(self.source_combo, 1)
        lay.addWidget(self.source_row)
        self.source_row.hide()
        self.label = QLabel("No model loaded")
        self.label.setAccessibleName("Model description")
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.label.setStyleSheet("color: #b9bdc4; font-size: 8pt;")
        self.label.setMinimumHeight(58)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        lay.addWidget(self.label)

    def set_busy(self, busy: bool) -> None:
        """No other model while a separation runs."""
        self.combo.setEnabled(not busy)
        self.browse_button.setEnabled(not busy)
        self.source_combo.setEnabled(not busy)

    # ------------------------------------------------------------------------------------------ listing
    def refresh_models(self) -> Job:
        """List the shipped models (in the background: it imports torch); the first installed one is loaded."""
        self.listed = True
        return self.runner.start(list_models, hooks=False, on_result=self._models_listed,
                                 on_error=lambda exc: self.errorRaised.emit(first_line(exc)),
                                 slot=self._slot("models"))

    def _models_listed(self, models: dict) -> None:
        current = self._combo_key()
        m: QStandardItemModel = self.combo.model()
        files = [self.combo.itemData(i) for i in range(self.combo.count())
                 if isinstance(self.combo.itemData(i), str) and self.combo.itemData(i).startswith("file:")]
        self.combo.clear()
        for name, path in models.items():
            if path is None:
                self.combo.addItem(f"{name} — not installed", f"shipped:{name}")
                item = m.item(self.combo.count() - 1)
                item.setEnabled(False)
                item.setToolTip("scripts/train_shipped_models.py makes it")
            else:
                self.combo.addItem(f"{name} (shipped)", f"shipped:{name}")
        for f in files:
            p = Path(f[5:])
            self.combo.addItem(f"{p.parent.name}/{p.stem}" if p.stem == "model" else p.stem, f)
        installed = [n for n, p in models.items() if p is not None]
        self.modelsListed.emit(models)
        if current is not None and self.combo.findData(current) >= 0:
            self.combo.setCurrentIndex(self.combo.findData(current))
        elif installed and self.model is None and self.job is None:
            self.combo.setCurrentIndex(self.combo.findData(f"shipped:{installed[0]}"))
            self.load_model(installed[0])
        elif not installed and self.model is None:
            self.combo.setCurrentIndex(-1)
            self.label.setText("No shipped model is installed yet (scripts/train_shipped_models.py makes "
                               "them): open a model file with …")

    def _combo_key(self) -> str | None:
        data = self.combo.currentData()
        return data if isinstance(data, str) else None

    def _combo_activated(self, index: int) -> None:
        data = self.combo.itemData(index)
        if isinstance(data, str):
            self.load_model(data.split(":", 1)[1])

    # ------------------------------------------------------------------------------------------ loading
    def open_model_dialog(self) -> None:
        start = str(self.settings.value("separate/last_dir", str(Path.home()), type=str)) if self.settings else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open a separation model", start,
                                              MODEL_FILTER)
        if path:
            if self.settings is not None:
                self.settings.setValue("separate/last_dir", str(Path(path).parent))
            self.load_model(Path(path))

    def load_model(self, name_or_path: str | Path) -> Job:
        """Load a shipped model by name or a model file (in the background); errors go to ``errorRaised``. A newer
        request replaces one still loading (its outcome is dropped)."""
        self.label.setText(f"Loading {Path(str(name_or_path)).name} …")
        job = self.runner.start(load_model, str(name_or_path), hooks=False, slot=self._slot("model"),
                                on_result=self._ready, on_error=self._failed,
                                on_finished=lambda: self._job_finished(job))
        self.job = job
        return job

    def _job_finished(self, job: Job) -> None:
        if job is self.job:
            self.job = None

    def _ready(self, model) -> None:
        self.model = model
        key = model_key(model.path)
        if key is not None:
            if self.combo.findData(key) < 0:
                self.combo.addItem(model_title(model), key)
                self.combo.setItemData(self.combo.count() - 1, str(model.path), Qt.ItemDataRole.ToolTipRole)
            self.combo.setCurrentIndex(self.combo.findData(key))
        self.label.setText(describe_model(model))
        self.label.setToolTip(str(model.path or ""))
        self._show_sources(model)
        self.statusMessage.emit(f"Loaded separation model {model_title(model)} ({model.target})")
        self.modelLoaded.emit(model)

    def _show_sources(self, model) -> None:
        sources = getattr(model, "sources", ())
        self.source_combo.clear()
        for s in sources:
            scored = s in model.scoreable
            self.source_combo.addItem(s if scored else f"{s} (not scored: no such group)", s)
        if sources:
            self.source_combo.setCurrentIndex(self.source_combo.findData(model.source))
        self.source_row.setVisible(len(sources) > 1)

    def set_source(self, source: str) -> None:
        """Separate (and score) ``source`` of the loaded model (an external model's source, a joint model's head)."""
        if self.model is None or not hasattr(self.model, "with_source") or source == self.model.source:
            return
        self.model = self.model.with_source(source)
        self.source_combo.setCurrentIndex(self.source_combo.findData(source))
        self.label.setText(describe_model(self.model))
        self.statusMessage.emit(f"Separation model {model_title(self.model)}: source {source}")
        self.modelLoaded.emit(self.model)

    def _failed(self, exc: Exception) -> None:
        """The model loaded before stays, and the combo shows it again."""
        self.label.setText(describe_model(self.model) if self.model is not None else "No model loaded")
        if self.model is not None and self.model.path is not None:
            key = model_key(self.model.path)
            if self.combo.findData(key) >= 0:
                self.combo.setCurrentIndex(self.combo.findData(key))
        self.errorRaised.emit(f"Cannot use this model: {first_line(exc)}")
