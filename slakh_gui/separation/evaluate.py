"""SI-SDR evaluation over a dataset split, as in the paper's Table 3: the unprocessed mixture, a model, and the
oracle masks (IBM, IRM, Wiener-like, truncated PSF) computed in the same 16-kHz STFT; per example and mean SI-SDR
and SI-SDR improvement (SI-SDRi, over the mixture), and the model's gap to the tPSF oracle (tPSF SI-SDRi − model
SI-SDRi) beside the paper's, as markdown, CSV and JSON. What is written names the dataset by its folder name and
holds no path of this machine.

Examples are either fixed coherent 10-s clips (``mode="clips"``, the default: seeded, ``clips_per_track`` per
track, chosen by the −30 dB rule like the training clips) or whole tracks (``mode="whole"``; tracks whose target is
silent are skipped). The mixture of an example is target + interference.

With ``wiener_models`` (the other targets' models), the method ``model+wiener`` scores the model's estimate after
the joint Wiener post-filter (:mod:`slakh_gui.separation.wiener`) run with all models on the same example: the
mixture is the whole track's (target + interference), so every model separates its own target from it.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from slakh_gui.core.audio_io import atomic_write_text
from slakh_gui.core.dataset.recipes import Recipe, load_recipe
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.separation.data import CLIP_SECONDS, THRESHOLD_DB, Clip, ClipSampler, load_split
from slakh_gui.separation.defaults import WIENER_ITERATIONS
from slakh_gui.separation.inference import chunked, model_estimate, oracle_estimate16
from slakh_gui.separation.masks import ORACLE_NAMES, ORACLES
from slakh_gui.separation.metrics import si_sdr
from slakh_gui.separation.model import SeparationModel, folder_name, portable_training
from slakh_gui.separation.paper import paper_tpsf_gap
from slakh_gui.separation.separation_errors import DatasetError, SeparationError
from slakh_gui.separation.stft import SAMPLE_RATE
from slakh_gui.separation.wiener import separate_all

LABELS = {"mixture": "Unprocessed mixture", "model": "Model", "model+wiener": "Model + Wiener post-filter",
          **{k: ORACLE_NAMES[k] for k in ORACLES}}
GAP_LABEL = "Gap to the tPSF oracle (tPSF SI-SDRi − model SI-SDRi)"


@dataclass
class EvalReport:
    """Per-example scores (``rows``: track, offset_s, seconds, and ``<method>`` -> SI-SDR in dB) and their means."""

    target: str
    split: str
    mode: str
    methods: list[str]
    model: str | None = None
    model_info: dict = field(default_factory=dict)
    rows: list[dict] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    data: str | None = None  # the dataset's folder name
    recipe: str | None = None  # the submix recipe's name (the paper's gaps are for its band groups)

    def means(self) -> dict[str, dict[str, float]]:
        """Method -> ``{"si_sdr", "si_sdri", "n"}`` averaged over examples with finite scores."""
        out = {}
        for m in self.methods:
            pairs = [(r[m], r[m] - r["mixture"]) for r in self.rows
                     if math.isfinite(r[m]) and math.isfinite(r["mixture"])]
            sdr = float(np.mean([p[0] for p in pairs])) if pairs else float("nan")
            sdri = float(np.mean([p[1] for p in pairs])) if pairs else float("nan")
            out[m] = {"si_sdr": sdr, "si_sdri": sdri, "n": len(pairs)}
        return out

    def gap_to_tpsf(self) -> float | None:
        """The tPSF oracle's mean SI-SDRi minus the model's, dB (None without both, or when either is unknown)."""
        if "model" not in self.methods or "tpsf" not in self.methods:
            return None
        means = self.means()
        gap = means["tpsf"]["si_sdri"] - means["model"]["si_sdri"]
        return gap if math.isfinite(gap) else None

    def paper_gap(self) -> float | None:
        """The paper's Slakh model's gap to its tPSF oracle on Slakh2100 for this target (None: no paper figure)."""
        return paper_tpsf_gap(self.target, self.recipe) if "model" in self.methods else None

    def gap_line(self) -> str:
        """The gap to the tPSF oracle in words, with the paper's beside it where the paper has one."""
        paper = self.paper_gap()
        return (f"**{GAP_LABEL}**: {self.gap_to_tpsf():.1f} dB"
                + (f"; the paper's Slakh model on Slakh2100: {paper:.1f} dB (its Table 3)." if paper is not None
                   else "; the paper has no figure for this target."))

    def to_markdown(self) -> str:
        means = self.means()
        n = len(self.rows)
        what = f"{n} {'10-s clips' if self.mode == 'clips' else 'whole tracks'}"
        of = f" of `{self.data}`" if self.data else ""
        lines = [f"SI-SDR [dB] for **{self.target}** on the {self.split} split{of} ({what}, 16 kHz)"
                 + (f", model `{self.model}`" if self.model else "") + ":", "",
                 "| Method | SI-SDR [dB] | SI-SDRi [dB] |", "|---|---:|---:|"]
        first_oracle = next((m for m in self.methods if m in ORACLES), None)
        for m in self.methods:
            if m == first_oracle:
                lines.append("| *Oracle methods:* | | |")
            v = means[m]
            sdri = "–" if m == "mixture" else f"{v['si_sdri']:+.1f}"
            lines.append(f"| {LABELS[m]} | {v['si_sdr']:.1f} | {sdri} |")
        if self.gap_to_tpsf() is not None:
            lines += ["", self.gap_line()]
        if self.skipped:
            lines += ["", f"Skipped (target never at or above {THRESHOLD_DB:g} dBFS in a clip, or silent): "
                      f"{len(self.skipped)} tracks."]
        return "\n".join(lines) + "\n"

    def to_csv(self) -> str:
        """A row per example, then a ``mean`` row; with a model and the tPSF oracle, ``gap_to_tpsf`` (tPSF SI-SDRi −
        model SI-SDRi) on every row and ``paper_gap_to_tpsf`` on the mean row (empty without a paper figure)."""
        buf = io.StringIO()
        scored = [m for m in self.methods if m != "mixture"]
        gap = "model" in self.methods and "tpsf" in self.methods
        cols = ["track", "offset_s", "seconds"] + [f"{m}_si_sdr" for m in self.methods] + [
            f"{m}_si_sdri" for m in scored] + (["gap_to_tpsf", "paper_gap_to_tpsf"] if gap else [])
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for r in self.rows:
            w.writerow([r["track"], f"{r['offset_s']:.3f}", f"{r['seconds']:.3f}"]
                       + [f"{r[m]:.4f}" for m in self.methods]
                       + [f"{r[m] - r['mixture']:.4f}" for m in scored]
                       + ([f"{r['tpsf'] - r['model']:.4f}", ""] if gap else []))
        means = self.means()
        w.writerow(["mean", "", ""] + [f"{means[m]['si_sdr']:.4f}" for m in self.methods]
                   + [f"{means[m]['si_sdri']:.4f}" for m in scored]
                   + ([_cell(self.gap_to_tpsf()), _cell(self.paper_gap())] if gap else []))
        return buf.getvalue()

    def to_dict(self) -> dict:
        def num(x: float) -> float | None:
            return x if math.isfinite(x) else None

        return {"target": self.target, "split": self.split, "mode": self.mode, "data": self.data,
                "recipe": self.recipe, "model": self.model, "model_info": _portable_info(self.model_info),
                "sample_rate": SAMPLE_RATE, "skipped": self.skipped,
                "mean": {m: {k: (num(v) if k != "n" else v) for k, v in d.items()} for m, d in self.means().items()},
                "gap_to_tpsf_db": self.gap_to_tpsf(), "paper_gap_to_tpsf_db": self.paper_gap(),
                "per_track": [{"track": r["track"], "offset_s": r["offset_s"], "seconds": r["seconds"],
                               **{m: {"si_sdr": num(r[m]),
                                      "si_sdri": None if m == "mixture" else num(r[m] - r["mixture"])}
                                  for m in self.methods}} for r in self.rows]}

    @classmethod
    def from_dict(cls, d: dict) -> EvalReport:
        """The report ``to_dict`` wrote (a missing score, JSON ``null``, comes back as NaN)."""
        def num(x) -> float:
            return float("nan") if x is None else float(x)

        methods = list(d["mean"])
        rows = [{"track": r["track"], "offset_s": r["offset_s"], "seconds": r["seconds"],
                 **{m: num(r[m]["si_sdr"]) for m in methods}} for r in d["per_track"]]
        return cls(d["target"], d["split"], d["mode"], methods, d.get("model"), d.get("model_info") or {}, rows,
                   list(d.get("skipped") or []), d.get("data"), d.get("recipe"))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2) + "\n"

    def write(self, folder: str | Path, stem: str = "evaluation") -> list[Path]:
        """Write ``<stem>.md``, ``.csv`` and ``.json`` into ``folder`` (atomically)."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        out = []
        for ext, text in (("md", self.to_markdown()), ("csv", self.to_csv()), ("json", self.to_json())):
            atomic_write_text(folder / f"{stem}.{ext}", text)
            out.append(folder / f"{stem}.{ext}")
        return out


def _cell(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _portable_info(info: dict) -> dict:
    """``model_info`` with its training summary free of machine paths (models trained before kept them)."""
    if not isinstance(info.get("training"), dict):
        return info
    return {**info, "training": portable_training(info["training"])}


def _examples(tracks, mode: str, clips_per_track: int, clip_seconds: float, seed: int) -> tuple[list[Clip], list]:
    if mode == "clips":
        try:
            sampler = ClipSampler(tracks, clip_seconds)
        except DatasetError:
            return [], [t.name for t in tracks]
        return sampler.per_track(clips_per_track, seed), sampler.skipped
    if mode != "whole":
        raise ValueError(f"unknown evaluation mode {mode!r} (clips or whole)")
    keep = [t for t in tracks if np.any(np.asarray(t.target) != 0)]
    clips = [Clip(np.asarray(t.target, np.float32), np.asarray(t.interference, np.float32), t.name, 0.0)
             for t in keep]
    return clips, [t.name for t in tracks if t not in keep]


def _joint_models(model: SeparationModel | None, others: Mapping[str, SeparationModel]) -> dict:
    """The models the post-filter runs, keyed by target: ``model`` and those of ``others`` for other targets."""
    if model is None:
        raise SeparationError("the Wiener post-filter scores a model: give one")
    joint = {model.target: model}
    for m in others.values():
        if m.target.lower() != model.target.lower():
            if m.target in joint:
                raise SeparationError(f"two models for {m.target} in the Wiener post-filter")
            joint[m.target] = m
    return joint


def evaluate(data: str | Path, split: str = "test", *, model: SeparationModel | None = None,
             target: str | None = None, recipe: Recipe | str | None = None, mode: str = "clips",
             clips_per_track: int = 1, clip_seconds: float = CLIP_SECONDS, seed: int = 0,
             oracles: tuple[str, ...] = ORACLES, max_tracks: int | None = None, cache_dir: str | Path | None = None,
             wiener_models: Mapping[str, SeparationModel] | None = None, wiener_iterations: int = WIENER_ITERATIONS,
             progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> EvalReport:
    """Score ``model`` (or only the mixture and oracles, with ``target`` and ``recipe``) on ``split`` of ``data``;
    with ``wiener_models`` (name -> model of another target) also ``model+wiener``.

    Progress: ``load <split>`` (tracks), then ``evaluate`` (examples)."""
    if model is not None:
        if target is not None and target.lower() != model.target.lower():
            raise SeparationError(f"the model separates {model.target}, not {target}")
        rec, group = model.recipe, model.target
    else:
        if target is None:
            raise SeparationError("evaluate needs a model or a target")
        rec = recipe if isinstance(recipe, Recipe) else load_recipe(recipe or "band")
        group = rec.group(target)
    tracks = load_split(data, split, rec, group, cache_dir=cache_dir, max_tracks=max_tracks, progress=progress,
                        cancel=cancel)
    examples, skipped = _examples(tracks, mode, clips_per_track, clip_seconds, seed)
    if not examples:
        raise DatasetError(f"{data}: no {split} track has a usable {group} target ({len(tracks)} read)")
    if wiener_models is not None and model is not None and not hasattr(model, "mask"):
        raise SeparationError("the Wiener post-filter runs Slakh Studio models, not an external model")
    joint = _joint_models(model, wiener_models) if wiener_models is not None else None
    methods = ["mixture"] + (["model"] if model is not None else []) + (["model+wiener"] if joint else []) + list(
        oracles)
    external = model is not None and not hasattr(model, "mask")  # an ExternalModel (Open-Unmix, Demucs)
    info = ({"package": model.package, "architecture": model.architecture, "source": model.source,
             "parameters": model.n_parameters} if external else
            {"preset": model.preset, "parameters": model.n_parameters, "training": model.training} if model else {})
    rep = EvalReport(group, split, mode, methods, model.name if model else None, info, skipped=list(skipped),
                     data=folder_name(data), recipe=rec.name)
    for i, ex in enumerate(examples):
        check(cancel)
        report(progress, "evaluate", i, len(examples), item=ex.track)
        mix = ex.mixture
        row = {"track": ex.track, "offset_s": ex.offset, "seconds": len(mix) / SAMPLE_RATE,
               "mixture": si_sdr(mix, ex.target)}
        if external:
            row["model"] = si_sdr(model.separate(mix, SAMPLE_RATE, cancel=cancel), ex.target)
        elif model is not None:
            est = chunked([mix], SAMPLE_RATE, lambda xs: model_estimate(model, xs[0]), cancel=cancel)
            row["model"] = si_sdr(est, ex.target)
        if joint:
            est = separate_all(mix, SAMPLE_RATE, joint, True, wiener_iterations, cancel=cancel)[model.target]
            row["model+wiener"] = si_sdr(est, ex.target)
        for k in oracles:
            est = chunked([mix, ex.target], SAMPLE_RATE, lambda xs, k=k: oracle_estimate16(k, xs[0], xs[1]),
                          cancel=cancel)
            row[k] = si_sdr(est, ex.target)
        rep.rows.append(row)
    report(progress, "evaluate", len(examples), len(examples))
    return rep
