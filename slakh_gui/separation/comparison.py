"""One separation of a mix (or a region of it) compared with the truth and the oracle masks: the model's estimate,
SI-SDR and SI-SDRi of every estimate, residuals, the samples a region covers, exporting an estimate, and the short
texts the Separate panel shows about a model and a run.

Qt-free, and torch-free at import: torch is imported only inside :func:`list_models`, :func:`load_model` and
:func:`run_separation`, which run on job threads (the app starts without it).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from slakh_gui.core.jobs import CancelToken, Progress, ProgressFn, check, report
from slakh_gui.separation import defaults
from slakh_gui.separation.paper import paper_tpsf_gap
from slakh_gui.separation.separation_errors import SeparationError

ORACLE_KEYS = ("ibm", "irm", "wiener", "tpsf")
ROWS = (  # key, label, tooltip: the estimates a run may hold, in the order they are shown
    ("model", "Model", "The model's estimate"),
    ("ibm", "IBM", "Ideal binary mask: 1 where the target is louder than the rest (oracle: uses the truth)"),
    ("irm", "IRM", "Ideal ratio mask |S| / (|S| + |N|) (oracle: uses the truth)"),
    ("wiener", "Wiener-like", "Wiener-like mask |S|² / (|S|² + |N|²) (oracle: uses the truth)"),
    ("tpsf", "tPSF", "Truncated phase-sensitive filter, the best mask the model's tPSA loss aims at "
                     "(oracle: uses the truth)"),
    ("mixture", "Mixture", "The unprocessed mixture (SI-SDR improvement 0 by definition)"),
)
LABELS = {k: label for k, label, _ in ROWS}
MIN_REGION = 0.5  # seconds: the shortest region range mode separates
WIENER_DEFAULT = defaults.WIENER
EXPORT_SUFFIXES = (".wav", ".flac")


# ---------------------------------------------------------------------------------------------- a run
@dataclass
class Estimate:
    key: str  # a ROWS key
    audio: np.ndarray
    si_sdr: float | None = None  # None: no truth; NaN: the truth is silent
    si_sdri: float | None = None


@dataclass
class SeparationRun:
    """One separation of a mix (or a region of it) and what it is compared with; audio at ``sample_rate``."""

    model_name: str
    target: str
    sample_rate: int
    offset: float  # seconds into the loaded audio where ``mix`` starts (range mode)
    mix: np.ndarray
    truth: np.ndarray | None  # None: no stems loaded
    estimates: dict[str, Estimate] = field(default_factory=dict)  # model, oracles, mixture (in ROWS order)
    seconds: float = 0.0  # time the model took
    truth_silent: bool = False
    recipe: str | None = None  # the model's submix recipe (the paper's gaps are for its band groups)
    wiener: tuple[str, ...] = ()  # the targets whose models the Wiener post-filter ran (empty: no filter)

    @property
    def duration(self) -> float:
        return len(self.mix) / self.sample_rate

    def covers(self, loaded: np.ndarray | None) -> bool:
        """Whether the run separated the whole of ``loaded`` (not a region of it)."""
        return self.offset == 0 and loaded is not None and len(self.mix) == len(loaded)

    def residual(self, key: str) -> np.ndarray:
        """The mix minus the estimate ``key``: what the estimate left out."""
        return (self.mix - self.estimates[key].audio).astype(np.float32)

    def gap_to(self, key: str) -> float | None:
        """How many dB the model's SI-SDR is below the estimate ``key``'s (None when either is unknown)."""
        a, b = self.estimates.get("model"), self.estimates.get(key)
        if a is None or b is None or a.si_sdr is None or b.si_sdr is None:
            return None
        gap = b.si_sdr - a.si_sdr
        return gap if math.isfinite(gap) else None

    def paper_gap(self) -> float | None:
        """The paper's Slakh model's gap to its tPSF oracle on Slakh2100 for this target (None: no paper figure)."""
        return paper_tpsf_gap(self.target, self.recipe)

    def best_oracle(self) -> str | None:
        """The oracle key with the highest finite SI-SDR (None when no oracle was scored)."""
        scored = [k for k in ORACLE_KEYS if k in self.estimates and self.estimates[k].si_sdr is not None
                  and math.isfinite(self.estimates[k].si_sdr)]
        return max(scored, key=lambda k: self.estimates[k].si_sdr) if scored else None

    def summary(self, whole: bool) -> str:
        """One or two sentences on the run (``whole``: it covers the whole loaded mix)."""
        rt = self.duration / max(self.seconds, 1e-6)
        where = "the whole mix" if whole else f"{clock(self.offset)} – {clock(self.offset + self.duration)}"
        text = f"{self.target} from {where} in {self.seconds:.1f} s ({rt:.0f}× realtime)."
        if self.wiener:
            text += f" Wiener post-filter with the {', '.join(self.wiener)} models."
        if self.truth is None:
            return text + " No stems loaded: no truth to score against."
        if self.truth_silent:
            return text + (f" The {self.target} truth is silent in this {'track' if whole else 'region'}: SI-SDR "
                           "is undefined (n/a).")
        model = self.estimates["model"]
        return text + f" SI-SDR {fmt_db(model.si_sdr)} dB, improvement {fmt_db(model.si_sdri)} dB."

    def gap_text(self) -> str:
        """How far the model is from the tPSF oracle ("" when that is unknown)."""
        gap, best = self.gap_to("tpsf"), self.best_oracle()
        if gap is None or best is None:
            return ""
        paper = self.paper_gap()
        return (f"The model is {abs(gap):.1f} dB {'below' if gap >= 0 else 'above'} the tPSF oracle, the best its "
                f"tPSA loss can reach (best mask here: {LABELS[best]})."
                + (f" The paper's Slakh model: {paper:.1f} dB below its own, on Slakh2100." if paper is not None
                   else ""))


def region_span(region: tuple[float, float], sample_rate: int, length: int,
                min_seconds: float = MIN_REGION) -> tuple[int, int]:
    """The samples ``[a, b)`` of a region given in seconds, clipped to ``length``; ValueError when shorter than
    ``min_seconds`` (a :class:`~slakh_gui.separation.separation_errors.SeparationError`, a ValueError)."""
    a, b = (min(max(int(round(t * sample_rate)), 0), length) for t in region)
    if b - a < min_seconds * sample_rate:
        raise SeparationError(f"the region is too short (at least {min_seconds:g} s)")
    return a, b


def run_separation(model, mix: np.ndarray, stems: dict[str, np.ndarray], metadata: dict, sample_rate: int,
                   span: tuple[int, int] | None = None, oracles: bool = True, *, wiener: bool = False,
                   wiener_iterations: int = defaults.WIENER_ITERATIONS, progress: ProgressFn | None = None,
                   cancel: CancelToken | None = None, model_mix: np.ndarray | None = None) -> SeparationRun:
    """The model's estimate of its target in ``mix[span]``; with stems, the truth (the model's recipe group
    submixed from ``stems`` by ``metadata``), SI-SDR and SI-SDRi of every estimate, and the oracle estimates.

    ``wiener``: the estimate after the joint Wiener post-filter with the installed shipped models of the other
    targets (:func:`slakh_gui.separation.wiener.joint_models`; without any, the model's plain estimate).

    ``model_mix``: what an external model (Open-Unmix, Demucs: stereo models) separates instead of ``mix``, e.g. a
    stereo track's ``(n, 2)`` mix where ``mix`` is its mono fold-down (no mono-to-stereo copy then); the same
    ``span`` of it. Scores, oracles and our (mono) models use ``mix``."""
    from slakh_gui.separation import inference
    from slakh_gui.separation import wiener as joint_filter

    sr = int(sample_rate)
    a, b = span if span is not None else (0, len(mix))
    mix = np.ascontiguousarray(mix[a:b], dtype=np.float32)
    truth = None
    if stems and model.target in model.recipe.groups:  # an external model's source may match no group
        truth = model.recipe.submix(stems, metadata, length=b)[model.target][a:b]
        truth = np.ascontiguousarray(np.pad(truth, (0, len(mix) - len(truth))), dtype=np.float32)
    with_oracles = oracles and truth is not None
    weight = 0.6 if with_oracles else 0.95

    def stage(lo: float, hi: float):
        def relay(p: Progress) -> None:
            report(progress, "separate" if lo == 0 else "oracles", lo + (hi - lo) * p.fraction, 1.0)
        return relay

    t0 = time.monotonic()
    external = not hasattr(model, "mask")  # an ExternalModel (Open-Unmix, Demucs): it separates itself
    joint = joint_filter.joint_models(model) if wiener and not external else {}
    if external:
        src = mix if model_mix is None else np.ascontiguousarray(model_mix[a:b], dtype=np.float32)
        est = model.separate(src, sr, stage(0.0, weight), cancel)
    elif len(joint) > 1:
        est = joint_filter.separate_all(mix, sr, joint, True, wiener_iterations, stage(0.0, weight),
                                        cancel)[model.target]
    else:
        est = inference.separate(mix, sr, model, stage(0.0, weight), cancel)
    seconds = time.monotonic() - t0
    title = model_title(model) + (" + Wiener" if len(joint) > 1 else "")
    run = SeparationRun(title, model.target, sr, a / sr, mix, truth, seconds=seconds, recipe=model.recipe.name,
                        wiener=tuple(joint) if len(joint) > 1 else ())
    run.estimates["model"] = Estimate("model", est)
    if with_oracles:
        check(cancel)
        for k, v in inference.oracle_estimates(mix, truth, sr, ORACLE_KEYS, stage(weight, 0.95), cancel).items():
            run.estimates[k] = Estimate(k, v)
    run.estimates["mixture"] = Estimate("mixture", mix)
    if truth is not None:
        check(cancel)
        run.truth_silent = not np.any(truth)
        for e in run.estimates.values():
            e.si_sdr, e.si_sdri = inference.score(e.audio, truth, mix, sr)
    report(progress, "score", 1.0, 1.0)
    return run


def at_rate(audio: np.ndarray, sample_rate: int, rate: int, length: int) -> np.ndarray:
    """``audio`` at ``sample_rate`` resampled to ``rate``, cut or zero-padded to exactly ``length`` samples."""
    if rate == sample_rate:
        return audio
    from slakh_gui.separation.resample import resample  # scipy, on first use only

    out = resample(audio, sample_rate, rate)[:length]
    return np.pad(out, (0, length - len(out)))


# ---------------------------------------------------------------------------------------------- export
def export_name(track: str, target: str, key: str) -> str:
    """The suggested file name of an exported estimate, e.g. ``Track00001_bass_model.wav``."""
    return "_".join(x for x in (track, target.lower(), key) if x) + ".wav"


def export_path(path: str | Path, flac: bool = False) -> Path:
    """``path`` with a ``.wav`` or ``.flac`` suffix (added when it has neither; ``flac`` picks which)."""
    p = Path(path)
    return p if p.suffix.lower() in EXPORT_SUFFIXES else p.with_suffix(".flac" if flac else ".wav")


def export_estimate(path: str | Path, audio: np.ndarray, sample_rate: int) -> Path:
    """Write ``audio`` as 16-bit WAV or FLAC (by the suffix), atomically; OSError or ValueError says why not."""
    from slakh_gui.core.audio_io import to_int16, write_audio

    path = Path(path)
    write_audio(path, to_int16(np.asarray(audio, dtype=np.float32)), int(sample_rate))
    return path


# ---------------------------------------------------------------------------------------------- models
def list_models() -> dict[str, Path | None]:
    """The shipped models by name, with their file (None: not installed). Imports torch: worker side."""
    from slakh_gui.separation.model import shipped_models

    return shipped_models()


def load_model(name_or_path: str | Path):
    """Worker side of picking a model: :func:`slakh_gui.separation.model.load_model`, or for an Open-Unmix or
    Demucs file :func:`slakh_gui.separation.external.load_external` (ModelLoadError says why)."""
    from slakh_gui.separation.external import is_external, load_external
    from slakh_gui.separation.model import load_model as _load

    if is_external(name_or_path):
        return load_external(name_or_path)
    return _load(name_or_path)


def model_title(model) -> str:
    """A short name: the shipped model's name, a file's stem (``run/model`` for a training run's model.pt)."""
    if model.path is not None and model.path.stem == "model" and model.path.parent.name:
        return f"{model.path.parent.name}/{model.path.stem}"
    return model.name


def model_key(path: Path | None) -> str | None:
    """How the panel names a model file: ``shipped:NAME`` for a shipped model's file, else ``file:PATH``."""
    if path is None:
        return None
    from slakh_gui import paths

    shipped = paths.resources_dir() / "models"
    try:
        if path.resolve().parent == shipped.resolve():
            return f"shipped:{path.stem}"
    except OSError:
        pass
    return f"file:{path}"


def describe_model(model) -> str:
    """``model.describe()`` and its training summary, for the panel (plain text, a few lines)."""
    lines = [model.describe()]
    t = getattr(model, "training", None) or {}
    if isinstance(t.get("bag"), list):  # a bag: one line per network
        for i, member in enumerate(t["bag"], 1):
            lines.append(f"Network {i}: " + " · ".join(_training_lines(member if isinstance(member, dict) else {}))
                         .removeprefix("Trained "))
        return "\n".join(lines)
    lines += _training_lines(t)
    if isinstance(t.get("averaged"), list):
        epochs = [str(a.get("epoch")) for a in t["averaged"] if isinstance(a, dict) and a.get("epoch")]
        lines.append(f"Weights: the mean of {len(t['averaged'])} models"
                     + (f" (epochs {', '.join(epochs)})" if epochs else ""))
    return "\n".join(lines)


def _training_lines(t: dict) -> list[str]:
    """A training summary in two short lines: epochs and tracks; validation loss, time and date."""
    lines, parts = [], []
    prior = int(t.get("prior_epochs") or 0)  # epochs of the model a fine-tuning run started from
    if t.get("epochs"):
        best = t.get("best_epoch")
        parts.append(f"{plural(prior + int(t['epochs']), 'epoch')} (best {prior + int(best) if best else '?'}"
                     + (f"; {prior} before this run" if prior else "") + ")")
    if t.get("train_tracks"):
        hours = t.get("train_hours")
        parts.append(f"on {plural(t['train_tracks'], 'track')}"
                     + (f" ({hours:.1f} h of audio)" if isinstance(hours, float) else ""))
    if parts:
        lines.append("Trained " + " ".join(parts))
    more = []
    if isinstance(t.get("val_loss"), float):
        more.append(f"val. loss {t['val_loss']:.3f}")
    if isinstance(t.get("train_seconds"), float):
        seconds = t["train_seconds"] + float(t.get("prior_seconds") or 0.0)
        more.append(f"{duration_text(seconds)} on {t.get('device', '?')}")
    if t.get("date"):
        more.append(str(t["date"])[:10])
    if more:
        lines.append(" · ".join(more))
    return lines


# ---------------------------------------------------------------------------------------------- texts
def duration_text(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 7200 else f"{seconds / 3600:.1f} h"


def plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def fmt_db(value: float | None) -> str:
    """A dB score for a table cell: ``+3.2``, ``—`` (unknown), ``n/a`` (undefined), ``±∞``."""
    if value is None:
        return "—"
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "+∞" if value > 0 else "−∞"
    return f"{value:+.1f}"


def clock(seconds: float) -> str:
    """``m:ss.s`` (rounded to tenths first: 59.96 s is ``1:00.0``, not ``0:60.0``)."""
    seconds = round(max(0.0, seconds), 1)
    return f"{int(seconds // 60)}:{seconds % 60:04.1f}"
