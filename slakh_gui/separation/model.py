"""The paper's mask network (stacked BLSTM + dense + sigmoid on normalized log-magnitudes), presets and model files.

A model file is a ``torch.save``'d dict of plain types and tensors (loadable with ``weights_only=True``)::

    {"format": "slakh-studio-separation-model", "version": 1, "preset": "tiny",
     "config": {"layers", "hidden", "dropout", "n_freq"}, "target": "Bass",
     "recipe": {"name": "band", "groups": {"Bass": [32, ...], ...}}, "sample_rate": 16000,
     "stft": {"n_fft": 512, "hop": 256, "window": "sqrt-hann"}, "norm_mean": (F,), "norm_std": (F,),
     "weight_dtype": "float16", "state_dict": {...}, "training": {...}}

``training`` names datasets and the model a run started from by folder and file name, never by a path of the machine
that trained it (:func:`portable_training`).
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from slakh_gui import paths
from slakh_gui.core.dataset.recipes import Recipe
from slakh_gui.separation import stft as S
from slakh_gui.separation.separation_errors import ModelLoadError

FORMAT = "slakh-studio-separation-model"
CHECKPOINT_FORMAT = "slakh-studio-separation-checkpoint"
VERSION = 1
SHIPPED = ("bass", "drums", "guitar", "piano")
SHIPPED_PRESET = "tiny"


@dataclass(frozen=True)
class ModelConfig:
    layers: int
    hidden: int  # units per direction
    dropout: float = 0.3  # between BLSTM layers
    n_freq: int = S.N_FREQ


PRESETS: dict[str, ModelConfig] = {
    "paper": ModelConfig(4, 600),  # the paper's network: 30.4 M parameters
    "small": ModelConfig(3, 300),  # 5.8 M
    "tiny": ModelConfig(2, 256),  # 2.8 M; the shipped models' preset (about 5.5 MB in float16)
}


def preset_config(name: str) -> ModelConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r} (use {', '.join(PRESETS)})") from None


class MaskNet(nn.Module):
    """``(batch, F, frames)`` log-magnitudes -> ``(batch, F, frames)`` mask in (0, 1).

    Inputs are normalized per frequency with the stored training statistics (``mean``, ``std`` buffers)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(config.n_freq, config.hidden, num_layers=config.layers, bidirectional=True,
                            batch_first=True, dropout=config.dropout if config.layers > 1 else 0.0)
        self.dense = nn.Linear(2 * config.hidden, config.n_freq)
        self.register_buffer("mean", torch.zeros(config.n_freq))
        self.register_buffer("std", torch.ones(config.n_freq))

    def forward(self, logmag: torch.Tensor) -> torch.Tensor:
        x = ((logmag - self.mean[:, None]) / self.std[:, None]).transpose(1, 2)
        h, _ = self.lstm(x)
        return torch.sigmoid(self.dense(h)).transpose(1, 2)


class SeparationModel:
    """A mask network with what it separates: ``target`` (a group of ``recipe``), its preset and training summary."""

    def __init__(self, net: MaskNet, preset: str, target: str, recipe: Recipe, training: dict | None = None,
                 path: Path | None = None) -> None:
        self.net = net
        self.preset = preset
        self.target = target
        self.recipe = recipe
        self.training = dict(training or {})
        self.path = path

    @classmethod
    def new(cls, preset: str, target: str, recipe: Recipe) -> SeparationModel:
        return cls(MaskNet(preset_config(preset)), preset, target, recipe)

    @property
    def device(self) -> torch.device:
        return self.net.mean.device

    def to(self, device: torch.device | str) -> SeparationModel:
        self.net.to(device)
        return self

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    @property
    def name(self) -> str:
        return self.path.stem if self.path else f"{self.target.lower()}-{self.preset}"

    def mask(self, spec: torch.Tensor) -> torch.Tensor:
        """Mask for a complex mixture STFT ``(F, frames)`` or ``(batch, F, frames)`` (no gradient, eval mode)."""
        self.net.eval()
        single = spec.dim() == 2
        with torch.inference_mode():
            m = self.net(S.log_magnitude(spec[None] if single else spec).to(self.device))
        return m[0] if single else m

    def describe(self) -> str:
        c = self.net.config
        return (f"{self.target} ({self.recipe.name} recipe), preset {self.preset}: {c.layers}x{c.hidden} BLSTM, "
                f"{self.n_parameters / 1e6:.1f} M parameters")


def model_to_dict(model: SeparationModel, weight_dtype: str = "float16") -> dict:
    """The model file's dict (weights stored as ``weight_dtype``: ``float16`` or ``float32``)."""
    dtype = {"float16": torch.float16, "float32": torch.float32}[weight_dtype]
    state = {k: v.detach().to("cpu", dtype).clone() for k, v in model.net.state_dict().items()
             if k not in ("mean", "std")}
    return {
        "format": FORMAT, "version": VERSION, "preset": model.preset, "config": asdict(model.net.config),
        "target": model.target,
        "recipe": {"name": model.recipe.name, "groups": {g: sorted(p) for g, p in model.recipe.groups.items()}},
        "sample_rate": S.SAMPLE_RATE, "stft": {"n_fft": S.N_FFT, "hop": S.HOP, "window": "sqrt-hann"},
        "norm_mean": model.net.mean.detach().cpu().float().clone(),
        "norm_std": model.net.std.detach().cpu().float().clone(),
        "weight_dtype": weight_dtype, "state_dict": state, "training": _plain(portable_training(model.training)),
    }


def folder_name(path: str | Path) -> str:
    """The last part of ``path`` (``/work/data/ds100`` -> ``ds100``): how a shipped file names a dataset or model
    without this machine's folders (``.`` and ``..`` are resolved first)."""
    p = Path(path)
    return p.name or p.resolve().name


def portable_training(training: dict) -> dict:
    """A training summary with no machine paths: datasets by folder name, the init model by file name, no cache."""
    t = dict(training)
    if isinstance(t.get("data"), str):
        t["data"] = folder_name(t["data"])
    if isinstance(t.get("config"), dict):
        c = {k: v for k, v in t["config"].items() if k != "cache_dir"}
        for key in ("data", "init_from"):
            if isinstance(c.get(key), str):
                c[key] = folder_name(c[key])
        if isinstance(c.get("extra_train"), list):
            c["extra_train"] = [folder_name(d) if isinstance(d, str) else d for d in c["extra_train"]]
        t["config"] = c
    return t


def _plain(value):
    """``value`` with only the types ``torch.load(weights_only=True)`` accepts (others become strings)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str, torch.Tensor)):
        return value
    return str(value)


def torch_save_atomic(obj, path: Path) -> None:
    """``torch.save`` to a temporary file beside ``path``, then ``os.replace``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_model(model: SeparationModel, path: str | Path, weight_dtype: str = "float16") -> Path:
    """Write ``model`` as a model file (atomically)."""
    torch_save_atomic(model_to_dict(model, weight_dtype), Path(path))
    return Path(path)


def models_dir() -> Path:
    """Where the shipped models live: ``resources/models/``."""
    return paths.resources_dir() / "models"


def shipped_models() -> dict[str, Path | None]:
    """Shipped model name -> its file, or None where it is not installed."""
    return {n: (models_dir() / f"{n}.pt" if (models_dir() / f"{n}.pt").is_file() else None) for n in SHIPPED}


def resolve_model(name_or_path: str | Path) -> Path:
    """A model file from a shipped model's name (``bass``, ``drums``, ``guitar``, ``piano``) or a path."""
    path = Path(name_or_path)
    if path.exists():
        return path
    name = str(name_or_path).strip().lower()
    if name in SHIPPED and not path.suffix:
        f = models_dir() / f"{name}.pt"
        if not f.is_file():
            raise ModelLoadError(f"shipped model {name!r} is not installed ({f} is missing; "
                                 "scripts/train_shipped_models.py makes it)")
        return f
    if path.suffix or os.sep in str(name_or_path):
        raise ModelLoadError(f"{name_or_path}: no such model file")
    raise ModelLoadError(f"no model {str(name_or_path)!r}: give a shipped model ({', '.join(SHIPPED)}) "
                         "or a path to a .pt model file")


def load_model(name_or_path: str | Path, device: torch.device | str | None = None) -> SeparationModel:
    """Read a model file (or a shipped model by name); :class:`ModelLoadError` says why it cannot be used."""
    path = resolve_model(name_or_path)
    if path.is_dir():
        raise ModelLoadError(f"{path}: is a folder, not a model file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # zip, pickle, EOF and unsafe-type errors all mean "unusable file"
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise ModelLoadError(f"{path}: not a Slakh Studio model (unreadable: {reason})") from None
    return model_from_dict(data, path)


def model_from_dict(data, path: Path) -> SeparationModel:
    """Check and build a model from a loaded model-file dict."""
    if not isinstance(data, dict) or "format" not in data:
        raise ModelLoadError(f"{path}: not a Slakh Studio model (no format tag)")
    if data["format"] == CHECKPOINT_FORMAT:
        raise ModelLoadError(f"{path}: a training checkpoint, not a model file (use model.pt from the run folder)")
    if data["format"] != FORMAT:
        raise ModelLoadError(f"{path}: not a Slakh Studio model (format {str(data['format'])[:60]!r})")
    version = data.get("version")
    if not isinstance(version, int) or version > VERSION or version < 1:
        raise ModelLoadError(f"{path}: model format version {version} is not supported (this Slakh Studio reads "
                             f"version {VERSION}); update Slakh Studio or retrain the model")
    try:
        config = ModelConfig(**data["config"])
        if data["sample_rate"] != S.SAMPLE_RATE or data["stft"]["n_fft"] != S.N_FFT or data["stft"]["hop"] != S.HOP:
            raise ValueError("STFT settings differ from this version's")
        net = MaskNet(config)
        state = {k: v.float() for k, v in data["state_dict"].items()}
        state["mean"] = data["norm_mean"].float()
        state["std"] = data["norm_std"].float()
        net.load_state_dict(state, strict=True)
        recipe = Recipe(str(data["recipe"]["name"]),
                        {str(g): frozenset(int(p) for p in ps) for g, ps in data["recipe"]["groups"].items()})
        target = str(data["target"])
        if target not in recipe.groups:
            raise ValueError(f"target {target!r} is not a group of its recipe")
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise ModelLoadError(f"{path}: corrupt Slakh Studio model ({reason})") from None
    net.eval()
    return SeparationModel(net, str(data.get("preset", "custom")), target, recipe, data.get("training") or {}, path)
