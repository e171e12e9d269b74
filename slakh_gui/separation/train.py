"""Training a mask network on a Slakh-layout dataset (paper §3.1): tPSA loss, Adam, 400-frame segments cut from
coherent (and optionally incoherent) 10-s clips, validation loss each epoch on fixed validation clips, learning
rate halved after ``lr_patience`` epochs without improvement, early stop, a checkpoint every epoch and resume.

A run folder holds ``checkpoint.pt`` (written atomically after every epoch), ``model.pt`` (the best model so far, a
model file) and ``log.jsonl`` (one JSON object per epoch). Every epoch's samples and dropout draws are seeded by
(seed, epoch), so a resumed run continues exactly as an uninterrupted one would. The checkpoint and the log keep this
machine's paths (a run folder stays where it was made); the model file's training summary names the datasets and the
``init_from`` model by folder and file name only (:func:`~slakh_gui.separation.model.portable_training`).

A **joint** run (``target`` a comma list such as ``bass,drums,guitar,piano`` and a ``joint-*`` preset) trains one
network with a head per target: every track is loaded once per target group, clips come from
:class:`~slakh_gui.separation.data.JointClipSampler` (kept when at least one target passes the −30 dB rule; coherent
only), and the loss is the **sum** over targets of each head's tPSA loss (the same for validation), so a one-target
run's loss is exactly the single model's. Checkpoints, resume, the learning-rate schedule and early stop are those of
a single run.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from slakh_gui.core.constants import SPLITS
from slakh_gui.core.dataset.recipes import load_recipe
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.core.render.track_folder import TrackFolderError, read_metadata
from slakh_gui.separation import stft as S
from slakh_gui.separation.data import (
    CLIP_SECONDS,
    THRESHOLD_DB,
    ClipSampler,
    JointClipSampler,
    TrackAudio,
    find_tracks,
    load_split_groups,
)
from slakh_gui.separation.inference import resolve_device
from slakh_gui.separation.masks import tpsa_loss
from slakh_gui.separation.model import (
    CHECKPOINT_FORMAT,
    VERSION,
    SeparationModel,
    is_joint_preset,
    load_model,
    save_model,
    torch_save_atomic,
)
from slakh_gui.separation.separation_errors import DatasetError, TrainError

# Settings a resumed run must share with the checkpoint's (the others may change between sessions).
FIXED = ("target", "recipe", "preset", "batch_size", "segment_frames", "steps_per_epoch", "seed", "incoherent",
         "clip_seconds", "threshold_db", "val_clips", "init_from")


@dataclass
class TrainConfig:
    target: str  # a group of ``recipe`` (bass, drums, guitar, piano with band), or a comma list for a joint preset
    data: str  # dataset root
    recipe: str = "band"
    preset: str = "tiny"
    epochs: int = 100  # at most
    batch_size: int = 4
    segment_frames: int = 400
    steps_per_epoch: int = 200
    val_clips: int = 64  # fixed coherent validation clips (full 10 s)
    lr: float = 1e-3
    lr_patience: int = 5  # epochs without improvement before the learning rate is halved
    early_stop: int = 15  # epochs without improvement before training stops (0: never)
    incoherent: float = 0.0  # fraction of incoherent training clips
    clip_seconds: float = CLIP_SECONDS
    threshold_db: float = THRESHOLD_DB
    seed: int = 0
    threads: int = 2  # torch CPU threads (0: leave torch's default)
    device: str = "auto"
    cache_dir: str | None = None
    max_tracks: int | None = None  # per split, for quick runs
    norm_clips: int = 64  # training clips the input normalization statistics are taken from
    init_from: str | None = None  # start from this model's weights and input statistics (fine-tuning)
    extra_train: list[str] = field(default_factory=list)  # more datasets (see extra_tracks): their validation split
    # joins validation, their test split stays out, all their other tracks join training
    keep_epochs: bool = False  # also write every epoch's model, RUN/epochs/eNNN.pt (to average them afterwards)


@dataclass
class TrainResult:
    run_dir: Path
    model_path: Path
    best_val_loss: float
    best_epoch: int
    epochs_run: int  # epochs completed in total (over all sessions)
    stopped_early: bool
    seconds: float  # training time in total (over all sessions)
    initial_val_loss: float  # validation loss of the untrained network
    history: list[dict] = field(default_factory=list)


def _segment_batch(clips, seg: int, rng: np.random.Generator, device) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixtures ``(batch, seg)`` and targets ``(batch, seg)`` (``(batch, K, seg)`` for joint clips)."""
    mix, tgt = [], []
    for c in clips:
        n = c.mixture.shape[-1]
        start = int(rng.integers(0, (n - seg) // S.HOP + 1)) * S.HOP if n > seg else 0
        t = np.zeros((*c.target.shape[:-1], seg), np.float32)
        m = np.zeros(seg, np.float32)
        t[..., : min(seg, n)] = c.target[..., start : start + seg]
        m[: min(seg, n)] = c.mixture[start : start + seg]
        mix.append(m)
        tgt.append(t)
    return torch.from_numpy(np.stack(mix)).to(device), torch.from_numpy(np.stack(tgt)).to(device)


def _loss(model: SeparationModel, mix: torch.Tensor, tgt: torch.Tensor) -> torch.Tensor:
    """tPSA loss; for a joint model (targets ``(batch, K, samples)``) the sum of the heads' losses."""
    X = S.stft(mix)
    if not model.is_joint:
        return tpsa_loss(model.net(S.log_magnitude(X)), X, S.stft(tgt))
    masks, T = model.net.all_heads(S.log_magnitude(X)), S.stft(tgt)
    return sum(tpsa_loss(masks[:, k], X, T[:, k]) for k in range(masks.shape[1]))


def run_targets(config: TrainConfig, recipe) -> list[str]:
    """The recipe groups ``config.target`` names (one, or several for a joint preset); TrainError when the preset
    does not fit their number."""
    groups = [recipe.group(t) for t in config.target.split(",") if t.strip()]
    if len(set(groups)) != len(groups) or not groups:
        raise TrainError(f"--target {config.target!r}: name each target once")
    if is_joint_preset(config.preset) != (len(groups) > 1):
        need = ("several targets (e.g. bass,drums,guitar,piano)" if is_joint_preset(config.preset)
                else "one target (joint-* presets train several)")
        raise TrainError(f"preset {config.preset} needs {need}")
    if len(groups) > 1 and config.incoherent > 0:
        raise TrainError("a joint run uses coherent clips only (--incoherent 0)")
    return groups


def _load_tracks(config: TrainConfig, root: str, split: str, recipe, groups: list[str], progress, cancel,
                 tracks: list[Path] | None = None) -> list[list[TrackAudio]]:
    """``split``'s tracks of ``root`` (or ``tracks``), once per target group (the same tracks in the same order)."""
    return load_split_groups(root, split, recipe, groups, cache_dir=config.cache_dir, max_tracks=config.max_tracks,
                             progress=progress, cancel=cancel, tracks=tracks)


def extra_tracks(root: str | Path) -> dict[str, list[Path]]:
    """How an extra dataset joins a run: its ``validation`` split's tracks join validation, its ``test`` split's
    stay out, and every other track (its ``train`` split, or all of a folder without splits) joins training."""
    out: dict[str, list[Path]] = {"train": [], "validation": []}
    for t in find_tracks(root, "all"):
        if t.parent.name != "test":
            out["validation" if t.parent.name == "validation" else "train"].append(t)
    return out


def _norm_stats(sampler: ClipSampler, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    feats = torch.cat([S.log_magnitude(S.stft(c.mixture)) for c in sampler.clips(n, seed)], dim=-1)
    return feats.mean(dim=-1), feats.std(dim=-1).clamp_min(1e-3)


def _validate(model: SeparationModel, val: tuple[torch.Tensor, torch.Tensor], batch: int) -> float:
    model.net.eval()
    total, count = 0.0, 0
    with torch.inference_mode():
        for i in range(0, len(val[0]), batch):
            m, t = val[0][i : i + batch].to(model.device), val[1][i : i + batch].to(model.device)
            total += float(_loss(model, m, t)) * len(m)
            count += len(m)
    return total / count


def _uuid(track: Path) -> str | None:
    """The MIDI file's MD5 (``UUID`` in metadata.yaml), None when the folder has none or its metadata is unreadable."""
    try:
        uuid = read_metadata(track).get("UUID")
    except TrackFolderError:
        return None
    return str(uuid) if uuid else None


def _check_no_leak(extra: list[Path], data: str) -> None:
    """Refuse extra training tracks whose MIDI is also in ``data``'s validation or test split."""
    held_out = {}
    for split in SPLITS[1:]:  # validation, test
        try:
            held_out.update({u: f"{split}/{t.name}" for t in find_tracks(data, split) if (u := _uuid(t))})
        except DatasetError:
            continue
    for t in extra:
        u = _uuid(t)
        if u is not None and u in held_out:
            raise DatasetError(f"{t}: the same MIDI (UUID {u}) as {data}'s {held_out[u]} — an extra training "
                               "track may not repeat a validation or test song")


def _init_from(model: SeparationModel, source: str, groups: list[str], preset: str) -> dict:
    """Copy ``source``'s weights and input statistics into ``model``; the epochs and time it had already trained."""
    init = load_model(source)
    if init.bag_size > 1:
        raise TrainError(f"--init-from {source}: a bag of {init.bag_size} networks (masks averaged); start from one "
                         "of the models it was made of")
    if init.targets != groups or init.preset != preset:
        raise TrainError(f"--init-from {source}: a {','.join(init.targets)} model with preset {init.preset}; this "
                         f"run trains {','.join(groups)} with preset {preset}")
    model.net.load_state_dict(init.net.state_dict())
    t = init.training or {}
    return {"prior_epochs": int(t.get("prior_epochs", 0)) + int(t.get("epochs", 0)),
            "prior_seconds": float(t.get("prior_seconds", 0.0)) + float(t.get("train_seconds", 0.0))}


def _log(run_dir: Path, entry: dict) -> None:
    with open(run_dir / "log.jsonl", "a", encoding="utf-8") as fh:
        fh.write(json.dumps(entry) + "\n")


def _eta(seconds: float) -> str:
    seconds = int(max(seconds, 0))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def train(config: TrainConfig, run_dir: str | Path, *, resume: bool = False, progress: ProgressFn | None = None,
          cancel: CancelToken | None = None) -> TrainResult:
    """Train (or, with ``resume``, continue) a run in ``run_dir``; the best model is ``run_dir/model.pt``.

    Progress: stages ``load train`` / ``load validation`` (tracks), then ``train`` counting steps over all epochs,
    with ``item`` "epoch e/E loss … ETA …". Cancelling leaves the last completed epoch's checkpoint."""
    run_dir = Path(run_dir)
    ckpt_path = run_dir / "checkpoint.pt"
    ckpt = None
    if ckpt_path.exists():
        if not resume:
            raise TrainError(f"{run_dir}: holds a training run already (use --resume to continue it, or another "
                             "output folder)")
        try:
            ckpt = torch.load(ckpt_path, map_location="cpu", weights_only=True)
        except Exception as exc:
            raise TrainError(f"{ckpt_path}: unreadable checkpoint ({str(exc).splitlines()[0][:100]})") from None
        if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
            raise TrainError(f"{ckpt_path}: not a Slakh Studio training checkpoint")
        old = ckpt["config"]
        diff = [k for k in FIXED if old.get(k) != getattr(config, k)]
        if diff:
            raise TrainError(f"{run_dir}: the run was started with other settings ("
                             + ", ".join(f"{k} {old.get(k)!r} not {getattr(config, k)!r}" for k in diff) + ")")
    elif resume and (run_dir / "model.pt").exists():
        raise TrainError(f"{run_dir}: has a model but no checkpoint.pt to resume from")
    if config.threads > 0:
        torch.set_num_threads(config.threads)
    device = resolve_device(config.device)
    recipe = load_recipe(config.recipe)
    groups = run_targets(config, recipe)

    tr_groups = _load_tracks(config, config.data, "train", recipe, groups, progress, cancel)
    va_groups = _load_tracks(config, config.data, "validation", recipe, groups, progress, cancel)
    if config.extra_train:
        extras = [extra_tracks(root) for root in config.extra_train]
        _check_no_leak([t for e in extras for ts in e.values() for t in ts], config.data)
        for root, e in zip(config.extra_train, extras, strict=True):
            if e["train"]:
                more = _load_tracks(config, root, "train", recipe, groups, progress, cancel, e["train"])
                tr_groups = [a + b for a, b in zip(tr_groups, more, strict=True)]
            if e["validation"]:
                more = _load_tracks(config, root, "validation", recipe, groups, progress, cancel, e["validation"])
                va_groups = [a + b for a, b in zip(va_groups, more, strict=True)]
    tr_tracks = tr_groups[0]
    samplers = []
    for split, per_group in (("train", tr_groups), ("validation", va_groups)):
        try:
            samplers.append(ClipSampler(per_group[0], config.clip_seconds, config.threshold_db) if len(groups) == 1
                            else JointClipSampler(per_group, config.clip_seconds, config.threshold_db))
        except DatasetError as exc:
            raise DatasetError(f"{config.data} ({split}, target {','.join(groups)}): {exc}") from None
    tr_sampler, va_sampler = samplers
    val_clips = va_sampler.clips(config.val_clips, config.seed + 1)
    val = (torch.from_numpy(np.stack([c.mixture for c in val_clips])),
           torch.from_numpy(np.stack([c.target for c in val_clips])))

    torch.manual_seed(config.seed)
    model = SeparationModel.new(config.preset, groups if len(groups) > 1 else groups[0], recipe)
    state = {"epoch": 0, "best": float("inf"), "best_epoch": 0, "bad": 0, "lr": config.lr, "seconds": 0.0,
             "history": [], "initial_val_loss": float("nan"), "prior_epochs": 0, "prior_seconds": 0.0,
             "cpu_seconds": 0.0}
    if ckpt is None and config.init_from:
        state.update(_init_from(model, config.init_from, groups, config.preset))
    elif ckpt is None:
        model.net.mean, model.net.std = _norm_stats(tr_sampler, config.norm_clips, config.seed + 2)
    model.to(device)
    opt = torch.optim.Adam(model.net.parameters(), lr=config.lr)
    if ckpt is not None:
        model.net.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        state = {k: ckpt["state"].get(k, v) for k, v in state.items()}
    else:
        run_dir.mkdir(parents=True, exist_ok=True)
        state["initial_val_loss"] = _validate(model, val, config.batch_size)
        _log(run_dir, {"epoch": 0, "val_loss": state["initial_val_loss"], "lr": config.lr,
                       "train_tracks": len(tr_sampler.eligible), "val_tracks": len(va_sampler.eligible),
                       "config": asdict(config)})
    for g in opt.param_groups:
        g["lr"] = state["lr"]
    seg = S.frames_to_samples(config.segment_frames)
    data_hours = sum(t.seconds for t in tr_tracks) / 3600
    steps = config.steps_per_epoch
    total_steps = config.epochs * steps
    session_start, session_steps = time.monotonic(), 0
    stopped_early = config.early_stop > 0 and state["bad"] >= config.early_stop

    def summary() -> dict:
        return {"data": str(config.data), "train_tracks": len(tr_sampler.eligible), "train_hours": data_hours,
                "val_tracks": len(va_sampler.eligible), "epochs": state["epoch"], "best_epoch": state["best_epoch"],
                "val_loss": state["best"], "initial_val_loss": state["initial_val_loss"],
                "train_seconds": state["seconds"], "cpu_seconds": state["cpu_seconds"], "device": str(device),
                "config": asdict(config),
                "prior_epochs": state["prior_epochs"], "prior_seconds": state["prior_seconds"],
                "date": time.strftime("%Y-%m-%d %H:%M:%S")}

    while state["epoch"] < config.epochs and not stopped_early:
        epoch = state["epoch"]
        t0, c0 = time.monotonic(), time.process_time()
        rng = np.random.default_rng([config.seed, epoch])
        torch.manual_seed(config.seed * 100003 + epoch)
        model.net.train()
        losses = []
        for step in range(steps):
            check(cancel)
            clips = [tr_sampler.sample(rng, config.incoherent) for _ in range(config.batch_size)]
            mix, tgt = _segment_batch(clips, seg, rng, device)
            loss = _loss(model, mix, tgt)
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            session_steps += 1
            rate = (time.monotonic() - session_start) / session_steps
            done = epoch * steps + step + 1
            report(progress, "train", done, total_steps,
                   item=f"epoch {epoch + 1}/{config.epochs} loss {np.mean(losses[-50:]):.4f} "
                        f"ETA {_eta(rate * (total_steps - done))}")
        val_loss = _validate(model, val, config.batch_size)
        state["seconds"] += time.monotonic() - t0
        state["cpu_seconds"] += time.process_time() - c0
        improved = val_loss < state["best"]
        if improved:
            state.update(best=val_loss, best_epoch=epoch + 1, bad=0)
        else:
            state["bad"] += 1
            if state["bad"] % config.lr_patience == 0:
                state["lr"] /= 2
                for g in opt.param_groups:
                    g["lr"] = state["lr"]
        state["epoch"] = epoch + 1
        entry = {"epoch": epoch + 1, "train_loss": float(np.mean(losses)), "val_loss": val_loss,
                 "lr": state["lr"], "best": improved, "epoch_seconds": time.monotonic() - t0,
                 "total_seconds": state["seconds"], "cpu_seconds": state["cpu_seconds"]}
        state["history"].append(entry)
        _log(run_dir, entry)
        if improved:
            model.training = summary()
            save_model(model, run_dir / "model.pt")
        if config.keep_epochs:  # this epoch's weights, whether best or not
            model.training = {**summary(), "epoch_saved": epoch + 1, "epoch_val_loss": val_loss}
            save_model(model, run_dir / "epochs" / f"e{epoch + 1:03d}.pt")
        torch_save_atomic({"format": CHECKPOINT_FORMAT, "version": VERSION, "config": asdict(config),
                           "model": model.net.state_dict(), "optimizer": opt.state_dict(), "state": state},
                          ckpt_path)
        stopped_early = config.early_stop > 0 and state["bad"] >= config.early_stop
    if state["best_epoch"] == 0:
        raise TrainError(f"{run_dir}: no epoch was completed (epochs {config.epochs})")
    return TrainResult(run_dir, run_dir / "model.pt", state["best"], state["best_epoch"], state["epoch"],
                       stopped_early, state["seconds"], state["initial_val_loss"], list(state["history"]))
