"""The paper's mask network (stacked BLSTM + dense + sigmoid on normalized log-magnitudes), presets and model files.

A model file is a ``torch.save``'d dict of plain types and tensors (loadable with ``weights_only=True``)::

    {"format": "slakh-studio-separation-model", "version": 1, "preset": "tiny",
     "config": {"layers", "hidden", "dropout", "n_freq"}, "target": "Bass",
     "recipe": {"name": "band", "groups": {"Bass": [32, ...], ...}}, "sample_rate": 16000,
     "stft": {"n_fft": 512, "hop": 256, "window": "sqrt-hann"}, "norm_mean": (F,), "norm_std": (F,),
     "weight_dtype": "float16", "state_dict": {...}, "training": {...}}

A **joint** model (presets ``joint-*``: one BLSTM trunk, one mask head per target, trained on all its targets at
once) has ``"version": 2``, ``"targets": ["Bass", "Drums", ...]`` (its heads, in order) instead of ``"target"``, and
``config["heads"]`` = the number of targets; single-target files keep version 1, ``"target"`` and no ``heads`` key, so
older Slakh Studio versions still read them (and refuse a joint file by its version). A loaded joint model is a set of
per-target **views** (:meth:`SeparationModel.view`): :class:`SeparationModel` objects sharing the one network, each
masking with its own head, so everything that takes one model works on one target of a joint model.

A **bag** (:func:`bag_models`, ``slakh-studio bag``: several trained networks of one target and configuration whose
masks are averaged, the way Demucs ships bags of models) has ``"version": 3`` and ``"members"``: one ``{"state_dict",
"norm_mean", "norm_std", "training"}`` per network, instead of the top-level ``state_dict`` and statistics; its
``training`` is ``{"bag": [each member's training]}``. A loaded bag's ``net`` is a :class:`MaskBag`.

``training`` names datasets and the model a run started from by folder and file name, never by a path of the machine
that trained it (:func:`portable_training`).
"""

from __future__ import annotations

import copy
import os
import tempfile
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch
from torch import nn

from slakh_gui import paths
from slakh_gui.core.dataset.recipes import Recipe
from slakh_gui.separation import stft as S
from slakh_gui.separation.separation_errors import ModelLoadError

FORMAT = "slakh-studio-separation-model"
CHECKPOINT_FORMAT = "slakh-studio-separation-checkpoint"
VERSION = 3  # the newest version read: 1 single-target models, 2 joint models, 3 bags
SHIPPED = ("bass", "drums", "guitar", "piano")
SHIPPED_PRESET = "tiny"


@dataclass(frozen=True)
class ModelConfig:
    layers: int
    hidden: int  # units per direction
    dropout: float = 0.3  # between BLSTM layers
    n_freq: int = S.N_FREQ
    heads: int = 1  # mask heads (targets) on the shared trunk: 1, or one per target of a joint model


PRESETS: dict[str, ModelConfig] = {
    "paper": ModelConfig(4, 600),  # the paper's network: 30.4 M parameters
    "small": ModelConfig(3, 300),  # 5.8 M
    "tiny": ModelConfig(2, 256),  # 2.8 M; the shipped models' preset (about 5.5 MB in float16)
    "joint-tiny": ModelConfig(2, 256, heads=4),  # tiny's trunk with 4 heads (band: bass, drums, guitar, piano): 3.2 M
    "joint-small": ModelConfig(3, 300, heads=4),  # small's trunk with 4 heads: 6.3 M
}


def is_joint_preset(name: str) -> bool:
    return name.startswith("joint-")


def preset_config(name: str) -> ModelConfig:
    try:
        return PRESETS[name]
    except KeyError:
        raise ValueError(f"unknown preset {name!r} (use {', '.join(PRESETS)})") from None


class MaskNet(nn.Module):
    """``(batch, F, frames)`` log-magnitudes -> ``(batch, F, frames)`` mask in (0, 1), or ``(batch, heads, F,
    frames)`` masks when ``config.heads`` > 1 (:meth:`all_heads` always gives the heads axis).

    The dense layer has ``heads × F`` outputs (head-major), so a one-head network has the same parameters and
    state-dict keys as before heads existed. Inputs are normalized per frequency with the stored training statistics (``mean``, ``std`` buffers)."""

    def __init__(self, config: ModelConfig) -> None:
        super().__init__()
        self.config = config
        self.lstm = nn.LSTM(config.n_freq, config.hidden, num_layers=config.layers, bidirectional=True,
                            batch_first=True, dropout=config.dropout if config.layers > 1 else 0.0)
        self.dense = nn.Linear(2 * config.hidden, config.heads * config.n_freq)
        self.register_buffer("mean", torch.zeros(config.n_freq))
        self.register_buffer("std", torch.ones(config.n_freq))

    def all_heads(self, logmag: torch.Tensor) -> torch.Tensor:
        """``(batch, F, frames)`` -> ``(batch, heads, F, frames)``."""
        x = ((logmag - self.mean[:, None]) / self.std[:, None]).transpose(1, 2)
        h, _ = self.lstm(x)
        y = torch.sigmoid(self.dense(h))  # (batch, frames, heads * F)
        return y.unflatten(-1, (self.config.heads, self.config.n_freq)).permute(0, 2, 3, 1)

    def forward(self, logmag: torch.Tensor) -> torch.Tensor:
        m = self.all_heads(logmag)
        return m[:, 0] if self.config.heads == 1 else m


class MaskBag(nn.Module):
    """Several :class:`MaskNet` of one configuration whose masks are averaged (each normalizes the input with its
    own statistics): what :class:`SeparationModel` calls as its network when the model is a bag."""

    def __init__(self, members: list[MaskNet]) -> None:
        super().__init__()
        if len(members) < 2:
            raise ValueError("a bag needs at least two networks")
        if len({m.config for m in members}) > 1:
            raise ValueError("the networks of a bag must have one configuration (preset)")
        self.members = nn.ModuleList(members)
        self.config = members[0].config

    @property
    def mean(self) -> torch.Tensor:  # (where SeparationModel.device looks)
        return self.members[0].mean

    def all_heads(self, logmag: torch.Tensor) -> torch.Tensor:
        out = self.members[0].all_heads(logmag)
        for m in self.members[1:]:
            out = out + m.all_heads(logmag)
        return out / len(self.members)

    def forward(self, logmag: torch.Tensor) -> torch.Tensor:
        m = self.all_heads(logmag)
        return m[:, 0] if self.config.heads == 1 else m


class SeparationModel:
    """A mask network with what it separates: ``target`` (a group of ``recipe``), its preset and training summary.

    ``targets`` are the network's heads in order (``[target]`` for a single-target model); ``target`` is the one
    this object masks (head ``head``): a joint model is used through one view per target (:meth:`view`)."""

    def __init__(self, net: MaskNet, preset: str, target: str, recipe: Recipe, training: dict | None = None,
                 path: Path | None = None, targets: list[str] | None = None) -> None:
        self.net = net
        self.preset = preset
        self.target = target
        self.targets = list(targets) if targets else [target]
        if target not in self.targets or len(self.targets) != net.config.heads:
            raise ValueError(f"target {target!r} and heads {self.targets} do not match a {net.config.heads}-head net")
        self.head = self.targets.index(target)
        self.recipe = recipe
        self.training = dict(training or {})
        self.path = path

    @classmethod
    def new(cls, preset: str, target: str | list[str], recipe: Recipe) -> SeparationModel:
        """A fresh network: one target, or a list of targets for a joint preset (one head each)."""
        targets = [target] if isinstance(target, str) else list(target)
        config = preset_config(preset)
        if is_joint_preset(preset) != (len(targets) > 1):
            raise ValueError(f"preset {preset!r} is for {'several targets' if is_joint_preset(preset) else 'one target'}"
                             f", not {', '.join(targets)}")
        return cls(MaskNet(replace(config, heads=len(targets))), preset, targets[0], recipe, targets=targets)

    @property
    def is_joint(self) -> bool:
        return len(self.targets) > 1

    @property
    def bag_size(self) -> int:
        """How many networks' masks are averaged: 1, or the members of a bag."""
        return len(self.net.members) if isinstance(self.net, MaskBag) else 1

    def view(self, target: str) -> SeparationModel:
        """The model of ``target`` (one of :attr:`targets`, any case) sharing this network: its own head."""
        match = [t for t in self.targets if t.lower() == target.lower()]
        if not match:
            raise ValueError(f"{self.name} separates {', '.join(self.targets)}, not {target}")
        return SeparationModel(self.net, self.preset, match[0], self.recipe, self.training, self.path, self.targets)

    @property
    def sources(self) -> tuple[str, ...]:
        """What the app's source chooser lists: a joint model's targets (none for a single-target model)."""
        return tuple(self.targets) if self.is_joint else ()

    @property
    def source(self) -> str:
        return self.target

    @property
    def scoreable(self) -> tuple[str, ...]:
        return tuple(self.targets)

    def with_source(self, source: str) -> SeparationModel:
        """The view of ``source`` (the chooser's name for :meth:`view`)."""
        return self.view(source)

    def views(self) -> dict[str, SeparationModel]:
        """Target -> its view, for every head (``{target: self}``-like for a single-target model)."""
        return {t: self.view(t) for t in self.targets}

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
        base = self.path.stem if self.path else f"{'joint' if self.is_joint else self.target.lower()}-{self.preset}"
        return f"{base}-{self.target.lower()}" if self.is_joint else base

    def all_masks(self, spec: torch.Tensor) -> torch.Tensor:
        """Every head's mask for a complex mixture STFT: ``(F, frames)`` -> ``(heads, F, frames)``, ``(batch, F,
        frames)`` -> ``(batch, heads, F, frames)`` (one pass of the network; no gradient, eval mode)."""
        self.net.eval()
        single = spec.dim() == 2
        with torch.inference_mode():
            m = self.net.all_heads(S.log_magnitude(spec[None] if single else spec).to(self.device))
        return m[0] if single else m

    def mask(self, spec: torch.Tensor) -> torch.Tensor:
        """Mask of :attr:`target` for a complex mixture STFT ``(F, frames)`` or ``(batch, F, frames)``."""
        return self.all_masks(spec).select(-3, self.head)

    def describe(self) -> str:
        c = self.net.config
        joint = f" (joint model of {', '.join(self.targets)})" if self.is_joint else ""
        bag = f"a bag of {self.bag_size} networks (masks averaged), each " if self.bag_size > 1 else ""
        return (f"{self.target}{joint} ({self.recipe.name} recipe), {bag}preset {self.preset}: {c.layers}x{c.hidden} "
                f"BLSTM, {self.n_parameters / 1e6:.1f} M parameters")


def _same_kind(models: list[SeparationModel], too_few: str) -> SeparationModel:
    """The first of ``models`` once all of them have its targets, recipe groups and size (ValueError otherwise)."""
    if len(models) < 2:
        raise ValueError(too_few)
    first = models[0]
    for m in models[1:]:
        if m.targets != first.targets:
            raise ValueError(f"{m.name} separates {', '.join(m.targets)}, {first.name} {', '.join(first.targets)}")
        if m.recipe.groups != first.recipe.groups:
            raise ValueError(f"{m.name} and {first.name} group the programs differently (recipes "
                             f"{m.recipe.name!r} and {first.recipe.name!r})")
        if m.net.config != first.net.config or m.preset != first.preset:
            raise ValueError(f"{m.name} (preset {m.preset}) and {first.name} (preset {first.preset}) differ in size")
    return first


def bag_models(models: list[SeparationModel]) -> SeparationModel:
    """One model whose mask is the mean of ``models``' masks: same targets, recipe and preset (a bag among them
    gives its members)."""
    first = _same_kind(models, "a bag needs at least two models")
    nets, trainings = [], []
    for m in models:
        inner = list(m.net.members) if isinstance(m.net, MaskBag) else [m.net]
        nets += [copy.deepcopy(n) for n in inner]
        trainings += list(m.training.get("bag", [])) if isinstance(m.net, MaskBag) else [m.training]
    return SeparationModel(MaskBag(nets), first.preset, first.target, first.recipe, {"bag": trainings},
                           targets=first.targets).view(first.target)


def average_models(models: list[SeparationModel]) -> SeparationModel:
    """One network whose weights are the mean of ``models``' weights: for models of one line of training (the
    epochs of one run, as in stochastic weight averaging, or runs started from one model, a "model soup"), whose
    weights lie close together and whose input statistics are the same. The training summary is the last model's,
    with what was averaged under ``averaged``."""
    first = _same_kind(models, "averaging needs at least two models")
    for m in models:
        if isinstance(m.net, MaskBag):
            raise ValueError(f"{m.name} is a bag of networks; average single networks")
        if not (torch.equal(m.net.mean, first.net.mean) and torch.equal(m.net.std, first.net.std)):
            raise ValueError(f"{m.name} and {first.name} normalize their input differently (trained from different "
                             "starts): their weights do not average; bag them instead")
    net = MaskNet(first.net.config)
    states = [m.net.state_dict() for m in models]
    net.load_state_dict({k: sum(s[k].float() for s in states) / len(states) for k in states[0]})
    net.eval()
    last = models[-1].training
    averaged = [{"model": m.path.name if m.path else m.name, "epoch": m.training.get("epoch_saved")} for m in models]
    return SeparationModel(net, first.preset, first.target, first.recipe, {**last, "averaged": averaged},
                           targets=first.targets)


def model_to_dict(model: SeparationModel, weight_dtype: str = "float16") -> dict:
    """The model file's dict (weights stored as ``weight_dtype``: ``float16`` or ``float32``)."""
    dtype = {"float16": torch.float16, "float32": torch.float32}[weight_dtype]

    def weights(net: MaskNet) -> dict:
        return {"state_dict": {k: v.detach().to("cpu", dtype).clone() for k, v in net.state_dict().items()
                               if k not in ("mean", "std")},
                "norm_mean": net.mean.detach().cpu().float().clone(),
                "norm_std": net.std.detach().cpu().float().clone()}

    config = asdict(model.net.config)
    if config["heads"] == 1:
        del config["heads"]  # single-target files stay version 1, readable by versions without heads
    if isinstance(model.net, MaskBag):
        members = [{**weights(net), "training": _plain(portable_training(t))}
                   for net, t in zip(model.net.members, _member_trainings(model), strict=True)]
        body = {"members": members, "training": {"bag": [m["training"] for m in members]}}
    else:
        body = {**weights(model.net), "training": _plain(portable_training(model.training))}
    version = 3 if isinstance(model.net, MaskBag) else 2 if model.is_joint else 1
    return {
        "format": FORMAT, "version": version, "preset": model.preset, "config": config,
        **({"targets": list(model.targets)} if model.is_joint else {"target": model.target}),
        "recipe": {"name": model.recipe.name, "groups": {g: sorted(p) for g, p in model.recipe.groups.items()}},
        "sample_rate": S.SAMPLE_RATE, "stft": {"n_fft": S.N_FFT, "hop": S.HOP, "window": "sqrt-hann"},
        "weight_dtype": weight_dtype, **body,
    }


def _member_trainings(model: SeparationModel) -> list[dict]:
    """A bag's members' training summaries (empty ones where the bag has none)."""
    got = list(model.training.get("bag") or [])
    return (got + [{}] * model.bag_size)[: model.bag_size]


def folder_name(path: str | Path) -> str:
    """The last part of ``path`` (``/work/data/ds100`` -> ``ds100``): how a shipped file names a dataset or model
    without this machine's folders (``.`` and ``..`` are resolved first)."""
    p = Path(path)
    return p.name or p.resolve().name


def portable_training(training: dict) -> dict:
    """A training summary with no machine paths: datasets by folder name, the init model by file name, no cache
    (a bag's: each member's)."""
    t = dict(training)
    if isinstance(t.get("bag"), list):
        t["bag"] = [portable_training(m) if isinstance(m, dict) else m for m in t["bag"]]
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


def load_model(name_or_path: str | Path, device: torch.device | str | None = None,
               target: str | None = None) -> SeparationModel:
    """Read a model file (or a shipped model by name); :class:`ModelLoadError` says why it cannot be used.

    A joint model comes back as the view of ``target`` (default: its first target; ``.views()`` gives them all);
    ``target`` given for a single-target model must be its target."""
    path = resolve_model(name_or_path)
    if path.is_dir():
        raise ModelLoadError(f"{path}: is a folder, not a model file")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # zip, pickle, EOF and unsafe-type errors all mean "unusable file"
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise ModelLoadError(f"{path}: not a Slakh Studio model (unreadable: {reason})") from None
    model = model_from_dict(data, path)
    if target is None:
        return model
    try:
        return model.view(target)
    except ValueError as exc:
        raise ModelLoadError(f"{path}: {exc}") from None


def _member_net(config: ModelConfig, data: dict) -> MaskNet:
    """One network from ``state_dict``, ``norm_mean`` and ``norm_std`` (a model file's, or a bag member's)."""
    net = MaskNet(config)
    state = {k: v.float() for k, v in data["state_dict"].items()}
    state["mean"] = data["norm_mean"].float()
    state["std"] = data["norm_std"].float()
    net.load_state_dict(state, strict=True)
    return net


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
        if version >= 3:
            if not isinstance(data["members"], list) or len(data["members"]) < 2:
                raise ValueError("a bag needs at least two networks")
            net = MaskBag([_member_net(config, m) for m in data["members"]])
        else:
            net = _member_net(config, data)
        recipe = Recipe(str(data["recipe"]["name"]),
                        {str(g): frozenset(int(p) for p in ps) for g, ps in data["recipe"]["groups"].items()})
        targets = [str(t) for t in data["targets"]] if "targets" in data and version >= 2 else [str(data["target"])]
        if len(targets) != config.heads or len(set(targets)) != len(targets):
            raise ValueError(f"targets {targets} do not match the network's {config.heads} heads")
        for target in targets:
            if target not in recipe.groups:
                raise ValueError(f"target {target!r} is not a group of its recipe")
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:120]
        raise ModelLoadError(f"{path}: corrupt Slakh Studio model ({reason})") from None
    net.eval()
    return SeparationModel(net, str(data.get("preset", "custom")), targets[0], recipe, data.get("training") or {}, path,
                           targets)
