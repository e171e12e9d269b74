"""Separation models people already have, from local files: Open-Unmix (``openunmix``: ``<target>.pth`` weights with
``<target>.json`` and ``separator.json`` beside them) and Demucs (``demucs``: a ``.th`` package, or a bag-of-models
``.yaml`` naming ``.th`` files of the same folder by signature).

:func:`load_external` recognises the file and loads it with the package's own classes; every failure is one
:class:`~slakh_gui.separation.separation_errors.ModelLoadError` naming the file and the reason. Nothing here reaches
the network: the packages' downloaders (``torch.hub``, ``demucs.pretrained.get_model``) are never called.

Security: a Demucs ``.th`` file is a Python pickle (the package's format): open only files you trust. Open-Unmix
weights are read with ``torch.load(weights_only=True)``.

:class:`ExternalModel` separates a mono or stereo mixture at any rate: duplicated to stereo, resampled to the
model's rate, in chunks of :data:`CHUNK_SECONDS` crossfaded over :data:`OVERLAP_SECONDS` (bounded memory), with
progress and cancel; its estimates are mono (the channel mean) at the mixture's rate.
"""

from __future__ import annotations

import hashlib
import json
import sys
import types
import warnings
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch

from slakh_gui.core.dataset.recipes import Recipe, load_recipe
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.separation.resample import resample
from slakh_gui.separation.separation_errors import ModelLoadError

SUFFIXES = (".th", ".yaml", ".yml", ".pth", ".json")  # the files load_external takes (a folder too)
CHUNK_SECONDS = 30.0
OVERLAP_SECONDS = 1.0
SEPARATOR_JSON = "separator.json"


@dataclass
class ExternalModel:
    """An Open-Unmix or Demucs network with what it separates. ``source`` is the model's source that
    :meth:`separate` returns and that is scored; ``target`` is the ``recipe`` group it matches (e.g. ``bass`` ->
    ``Bass``), or the source name itself when no group matches (then there is no truth to score against)."""

    package: str  # "openunmix" or "demucs"
    architecture: str  # e.g. "OpenUnmix", "HTDemucs", "BagOfModels of 2 HTDemucs"
    net: torch.nn.Module
    sources: tuple[str, ...]
    sample_rate: int
    path: Path
    source: str
    recipe: Recipe
    segment: float | None = None  # Demucs: seconds per apply_model segment (None: the model's own)

    @property
    def target(self) -> str:
        return target_group(self.source, self.recipe) or self.source

    @property
    def name(self) -> str:
        return f"{self.path.stem if self.path.is_file() else self.path.name} ({self.package})"

    @property
    def n_parameters(self) -> int:
        return sum(p.numel() for p in self.net.parameters())

    @property
    def scoreable(self) -> tuple[str, ...]:
        """The sources that match a group of the recipe (their estimates can be scored)."""
        return tuple(s for s in self.sources if target_group(s, self.recipe) is not None)

    def with_source(self, source: str) -> ExternalModel:
        """The same network, separating ``source`` (ModelLoadError when the model has no such source)."""
        match = [s for s in self.sources if s.lower() == source.lower()]
        if not match:
            raise ModelLoadError(f"{self.path}: the model has no source {source!r} (it has {', '.join(self.sources)})")
        return replace(self, source=match[0])

    def to(self, device) -> ExternalModel:
        if torch.device(device).type != "cpu":
            self.net.to(device)
        return self

    def describe(self) -> str:
        """One line: package, architecture, sources, parameters."""
        return (f"{self.package} {self.architecture}: sources {', '.join(self.sources)}; "
                f"{params_text(self.n_parameters)}, {self.sample_rate / 1000:g} kHz stereo")

    # ------------------------------------------------------------------------------------------ separating
    def separate_all(self, audio: np.ndarray, sr: int, progress: ProgressFn | None = None,
                     cancel: CancelToken | None = None, *, chunk_seconds: float = CHUNK_SECONDS,
                     overlap_seconds: float = OVERLAP_SECONDS) -> dict[str, np.ndarray]:
        """Every source's estimate in ``audio`` (``(samples,)`` or ``(samples, channels)`` at ``sr``): mono
        float32 at ``sr``, as long as ``audio``. Progress counts chunks (stage ``separate``)."""
        from slakh_gui.separation.inference import _chunks

        audio = np.asarray(audio, dtype=np.float32)
        if audio.ndim not in (1, 2) or audio.shape[0] == 0:
            raise ValueError("separate expects (samples,) or (samples, channels) audio with at least one sample")
        stereo = np.stack([audio, audio], 1) if audio.ndim == 1 else audio[:, :2]
        if stereo.shape[1] == 1:
            stereo = np.repeat(stereo, 2, axis=1)
        n = len(stereo)
        chunk = max(int(chunk_seconds * sr), 1)
        overlap = min(max(int(overlap_seconds * sr), 1), chunk // 2)
        spans = _chunks(n, chunk, overlap)
        ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
        out = np.zeros((len(self.sources), n), dtype=np.float32)
        self.net.eval()
        for k, (a, b) in enumerate(spans):
            check(cancel)
            report(progress, "separate", k, len(spans))
            est = self._chunk(stereo[a:b], sr)  # (sources, b - a)
            if k > 0:
                est[:, :overlap] *= ramp
            if k < len(spans) - 1:
                est[:, -overlap:] *= ramp[::-1]
            out[:, a:b] += est
        report(progress, "separate", len(spans), len(spans))
        return {s: out[i] for i, s in enumerate(self.sources)}

    def separate(self, audio: np.ndarray, sr: int, progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None, **kw) -> np.ndarray:
        """The estimate of :attr:`source` (see :meth:`separate_all`)."""
        return self.separate_all(audio, sr, progress, cancel, **kw)[self.source]

    def _chunk(self, stereo: np.ndarray, sr: int) -> np.ndarray:
        """``(samples, 2)`` at ``sr`` -> ``(sources, samples)`` mono estimates at ``sr``."""
        x = stereo if sr == self.sample_rate else np.stack(
            [resample(stereo[:, c], sr, self.sample_rate) for c in range(2)], 1)
        wav = torch.from_numpy(np.ascontiguousarray(x.T))[None]  # (1, 2, samples)
        device = next(self.net.parameters()).device
        with torch.inference_mode():
            if self.package == "demucs":
                from demucs.apply import apply_model

                y = apply_model(self.net, wav, shifts=1, split=True, overlap=0.25, progress=False,
                                device=device, segment=self.segment)
            else:
                y = self.net(wav.to(device))
        y = y[0].mean(1).float().cpu().numpy()  # (sources, samples)
        if sr != self.sample_rate:
            y = np.stack([resample(s, self.sample_rate, sr) for s in y])
        m = len(stereo)
        return np.ascontiguousarray(np.pad(y[:, :m], [(0, 0), (0, max(0, m - y.shape[1]))]), dtype=np.float32)


def params_text(n: int) -> str:
    return f"{n / 1e6:.1f} M parameters" if n >= 100_000 else f"{n:,} parameters"


def target_group(source: str, recipe: Recipe) -> str | None:
    """The recipe group named like ``source`` (case-insensitive), or None."""
    return next((g for g in recipe.groups if g.lower() == source.lower()), None)


def is_external(path: str | Path) -> bool:
    """Whether ``path`` names a file (or folder) :func:`load_external` handles rather than one of our ``.pt``."""
    p = Path(path)
    return p.suffix.lower() in SUFFIXES or (p / SEPARATOR_JSON).is_file()


# ---------------------------------------------------------------------------------------------- loading
def load_external(path: str | Path, source: str | None = None, recipe: Recipe | str = "band") -> ExternalModel:
    """An Open-Unmix or Demucs model from a local file (see the module docstring), on the CPU, in eval mode.
    ``source``: the source to separate (default: the first whose name matches a recipe group, else the first)."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ModelLoadError(f"{p}: no such model file")
    rec = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    suffix = p.suffix.lower()
    if p.is_dir() or suffix in (".pth", ".json"):
        model = _load_openunmix(p, rec)
    elif suffix == ".th":
        model = _load_demucs(p, rec)
    elif suffix in (".yaml", ".yml"):
        model = _load_demucs_bag(p, rec)
    else:
        raise ModelLoadError(f"{p}: not a model file Slakh Studio knows (Open-Unmix .pth/.json, Demucs .th/.yaml, "
                             "or a Slakh Studio .pt)")
    model.net.eval()
    if source is not None:
        return model.with_source(source)
    return replace(model, source=(model.scoreable or model.sources)[0])


def _reason(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]


# ------------------------------------------------------------------------------ Open-Unmix
@contextmanager
def _without_torchaudio():
    """Import Open-Unmix without torchaudio (it has no build for our torch): ``openunmix.transforms`` imports it but
    its torch filterbank does not use it. A stand-in module is seen only while openunmix imports."""
    try:
        import torchaudio  # noqa: F401
        yield
        return
    except ImportError:
        pass
    stub = types.ModuleType("torchaudio")
    sys.modules["torchaudio"] = stub
    try:
        yield
    finally:
        if sys.modules.get("torchaudio") is stub:
            del sys.modules["torchaudio"]


def _openunmix():
    with _without_torchaudio():
        try:
            from openunmix import model as umx_model
        except ImportError as exc:
            raise ModelLoadError(f"Open-Unmix models need the openunmix package ({_reason(exc)}): "
                                 "pip install --no-deps openunmix==1.3.0") from None
    return umx_model


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelLoadError(f"{path}: not a readable Open-Unmix JSON file ({_reason(exc)})") from None
    if not isinstance(data, dict):
        raise ModelLoadError(f"{path}: not an Open-Unmix JSON file (not an object)")
    return data


def _umx_targets(folder: Path) -> dict[str, Path]:
    """``target -> weights`` for every ``<target>.json`` with a ``<target>.pth`` or ``<target>-<hash>.pth``."""
    found = {}
    for js in sorted(folder.glob("*.json")):
        if js.name == SEPARATOR_JSON:
            continue
        weights = sorted(w for w in folder.glob(f"{js.stem}*.pth")
                         if w.stem == js.stem or w.stem.rsplit("-", 1)[0] == js.stem)
        if not weights:
            raise ModelLoadError(f"{js}: its weights {js.stem}.pth (or {js.stem}-<hash>.pth) are missing beside it")
        found[js.stem] = weights[0]
    return found


def _load_openunmix(p: Path, recipe: Recipe) -> ExternalModel:
    folder = p if p.is_dir() else p.parent
    if p.suffix.lower() == ".pth":
        stem = p.stem.rsplit("-", 1)[0] if not (folder / f"{p.stem}.json").exists() else p.stem
        if not (folder / f"{stem}.json").exists():
            raise ModelLoadError(f"{p}: its Open-Unmix metadata {stem}.json is missing beside it")
    targets = _umx_targets(folder)
    if not targets:
        raise ModelLoadError(f"{p}: no Open-Unmix target (<target>.json + <target>.pth) in {folder}")
    sep_file = folder / SEPARATOR_JSON
    if not sep_file.exists():
        raise ModelLoadError(f"{p}: the Open-Unmix {SEPARATOR_JSON} (sample rate, STFT) is missing in {folder}")
    conf = _read_json(sep_file)
    umx = _openunmix()
    models = {}
    for target, weights in targets.items():
        args = _read_json(folder / f"{target}.json").get("args")
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
        except Exception as exc:  # truncated, a pickle of other objects, not a torch file
            raise ModelLoadError(f"{weights}: not readable Open-Unmix weights (truncated or corrupt: "
                                 f"{_reason(exc)})") from None
        if not isinstance(state, dict) or "input_mean" not in state or "fc1.weight" not in state:
            raise ModelLoadError(f"{weights}: not an Open-Unmix state dict (no input_mean / fc1.weight)")
        try:
            layers = 1 + max(int(k.split("_l")[1].split("_")[0]) for k in state if k.startswith("lstm.weight_ih_l"))
            net = umx.OpenUnmix(nb_bins=int(args["nfft"]) // 2 + 1, nb_channels=int(args["nb_channels"]),
                                hidden_size=int(args["hidden_size"]), nb_layers=layers,
                                unidirectional=not any(k.endswith("_reverse") for k in state),
                                max_bin=int(state["input_mean"].shape[0]))
            net.load_state_dict(state, strict=True)
        except (KeyError, TypeError, ValueError, RuntimeError) as exc:
            raise ModelLoadError(f"{weights}: does not match its {target}.json ({_reason(exc)})") from None
        models[target] = net
    try:
        rate = int(conf["sample_rate"])
        sep = umx.Separator(models, niter=1 if len(models) > 1 else 0, residual=False, wiener_win_len=300,
                            sample_rate=rate, n_fft=int(conf["nfft"]), n_hop=int(conf["nhop"]),
                            nb_channels=int(conf["nb_channels"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelLoadError(f"{sep_file}: not an Open-Unmix separator.json ({_reason(exc)})") from None
    sep.freeze()
    return ExternalModel("openunmix", "OpenUnmix", sep, tuple(models), rate, folder if p.is_dir() else p,
                         next(iter(models)), recipe)


# ------------------------------------------------------------------------------ Demucs
def _demucs_classes() -> tuple:
    try:
        from demucs.demucs import Demucs
        from demucs.hdemucs import HDemucs
        from demucs.htdemucs import HTDemucs
    except ImportError as exc:
        raise ModelLoadError(f"Demucs models need the demucs package ({_reason(exc)}): "
                             "pip install --no-deps demucs==4.1.0 julius einops") from None
    return Demucs, HDemucs, HTDemucs


def _check_checksum(path: Path) -> None:
    """``<sig>-<sha256 prefix>.th``: the file's hash must start with the prefix (Demucs' own check)."""
    if "-" not in path.stem:
        return
    want = path.stem.rsplit("-", 1)[1].lower()
    if not want or any(c not in "0123456789abcdef" for c in want):
        return
    sha = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            sha.update(block)
    if not sha.hexdigest().startswith(want):
        raise ModelLoadError(f"{path}: checksum mismatch (the file is truncated or altered; its name says {want})")


def _demucs_net(path: Path) -> torch.nn.Module:
    classes = _demucs_classes()
    if not zipfile.is_zipfile(path):
        raise ModelLoadError(f"{path}: not a Demucs model (not a PyTorch file)")
    _check_checksum(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            package = torch.load(path, map_location="cpu", weights_only=False)  # Demucs' format is a pickle
    except Exception as exc:
        raise ModelLoadError(f"{path}: not a readable Demucs model (truncated or corrupt: {_reason(exc)})") from None
    if not isinstance(package, dict) or not {"klass", "args", "kwargs", "state"} <= set(package):
        kind = " (it is a Slakh Studio model: open it as .pt)" if isinstance(package, dict) and "recipe" in package \
            else ""
        raise ModelLoadError(f"{path}: not a Demucs model package (no klass/args/kwargs/state){kind}")
    if package["klass"] not in classes:
        raise ModelLoadError(f"{path}: not a Demucs model (class {getattr(package['klass'], '__name__', '?')})")
    from demucs.states import load_model

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return load_model(package)
    except SystemExit:  # demucs' fatal() for a diffq-quantized model
        raise ModelLoadError(f"{path}: a quantized Demucs model (needs diffq, not installed)") from None
    except Exception as exc:
        raise ModelLoadError(f"{path}: the Demucs weights do not fit its architecture ({_reason(exc)})") from None


def _load_demucs(p: Path, recipe: Recipe) -> ExternalModel:
    net = _demucs_net(p)
    return ExternalModel("demucs", type(net).__name__, net, tuple(net.sources), int(net.samplerate), p,
                         net.sources[0], recipe)


def _load_demucs_bag(p: Path, recipe: Recipe) -> ExternalModel:
    from slakh_gui.core.safe_yaml import YamlError, read_yaml

    try:
        bag = read_yaml(p)
    except YamlError as exc:
        raise ModelLoadError(f"{p}: not a Demucs bag of models ({getattr(exc, 'detail', None) or _reason(exc)})"
                             ) from None
    sigs = bag.get("models") if isinstance(bag, dict) else None
    if not isinstance(sigs, list) or not sigs or not all(isinstance(s, (str, int)) for s in sigs):
        raise ModelLoadError(f"{p}: not a Demucs bag of models (no 'models' list of signatures)")
    files = {}
    for f in p.parent.glob("*.th"):
        files.setdefault(f.stem.rsplit("-", 1)[0] if "-" in f.stem else f.stem, f)
    nets = []
    for sig in map(str, sigs):
        if sig not in files:
            raise ModelLoadError(f"{p}: its model {sig}.th (or {sig}-<checksum>.th) is missing in {p.parent}")
        nets.append(_demucs_net(files[sig]))
    from demucs.apply import BagOfModels

    try:
        net = BagOfModels(nets, bag.get("weights"), bag.get("segment"))
    except (AssertionError, TypeError, ValueError, IndexError) as exc:
        raise ModelLoadError(f"{p}: its models do not form a bag ({_reason(exc) or 'different sources or rates'})"
                             ) from None
    kinds = sorted({type(n).__name__ for n in nets})
    return ExternalModel("demucs", f"bag of {len(nets)} {'/'.join(kinds)}", net, tuple(net.sources),
                         int(net.samplerate), p, net.sources[0], recipe)
