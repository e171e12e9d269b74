"""Training and evaluation audio from any Slakh-layout dataset (ours, Slakh2100 / redux, BabySlakh, a mirdata
data_home): per track, the target (a recipe group's submix) and the interference (the sum of all other stems) at
16 kHz mono, cached on disk; seeded coherent and incoherent 10-s clips (paper §3.2).

Level reference of the −30 dB rule: the RMS of the target over the 10-s clip in dB relative to full scale,
``20·log10(rms)`` with 0 dB = RMS 1.0 (a full-scale square wave; a full-scale sine is −3 dB), measured at 16 kHz.
Clips are ``mixture = target + interference`` (the stems' sum: Slakh's mix equals it up to rounding).
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from slakh_gui.core.constants import SPLITS
from slakh_gui.core.dataset.recipes import Recipe
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.core.walk import track_dirs
from slakh_gui.separation.resample import resample
from slakh_gui.separation.separation_errors import DatasetError
from slakh_gui.separation.stft import HOP, SAMPLE_RATE

TOPDIRS = ("slakh2100_flac_redux", "slakh2100_flac", "slakh2100_wav_redux", "babyslakh_16k")
CLIP_SECONDS = 10.0
THRESHOLD_DB = -30.0
CACHE_VERSION = 1
LOAD_WORKERS = 2  # tracks decoded at once while the cache fills


def default_cache_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_cache_dir("slakh-studio", appauthor=False)) / "separation"


def _tracks_in(folder: Path) -> list[Path]:
    """The track folders in ``folder`` that have a ``metadata.yaml``."""
    return [p for p in track_dirs(folder) if (p / "metadata.yaml").is_file()]


def find_tracks(root: str | Path, split: str) -> list[Path]:
    """The track folders of ``split`` (``train``, ``validation``, ``test``, or ``all``) under a dataset ``root``.

    ``root`` holds ``train/ validation/ test/`` (ours, Slakh2100), or is a mirdata data_home holding
    ``slakh2100_flac_redux/``; a folder of tracks without splits (BabySlakh) is read with split ``all``."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such dataset folder")
    bases = [root] + [root / t for t in TOPDIRS if (root / t).is_dir()]
    flat: list[Path] = []
    for base in bases:
        if split == "all":
            found = [t for s in SPLITS if (base / s).is_dir() for t in _tracks_in(base / s)] + _tracks_in(base)
            if found:
                return found
        elif (base / split).is_dir():
            found = _tracks_in(base / split)
            if not found:
                raise DatasetError(f"{base / split}: no TrackNNNNN folders")
            return found
        flat = flat or _tracks_in(base)
    if flat:
        raise DatasetError(f"{root}: has tracks but no '{split}' split folder (a folder without splits, like "
                           "BabySlakh, is read with split 'all')")
    others = [s for s in SPLITS if any(_tracks_in(b / s) for b in bases if (b / s).is_dir())]
    if others:
        raise DatasetError(f"{root}: has no '{split}' split (its splits: {', '.join(others)})")
    raise DatasetError(f"{root}: not a Slakh-layout dataset (no train/ validation/ test/ with TrackNNNNN folders, "
                       f"nor {TOPDIRS[0]}/)")


@dataclass
class TrackAudio:
    """One track's target and interference at 16 kHz: ``audio[0]`` target, ``audio[1]`` interference."""

    name: str
    path: Path
    audio: np.ndarray  # (2, samples) float32, may be a read-only memory map

    @property
    def target(self) -> np.ndarray:
        return self.audio[0]

    @property
    def interference(self) -> np.ndarray:
        return self.audio[1]

    @property
    def samples(self) -> int:
        return self.audio.shape[1]

    @property
    def seconds(self) -> float:
        return self.samples / SAMPLE_RATE


def _cache_key(track: Path, recipe: Recipe, group: str) -> str:
    files = []
    for f in sorted([track / "metadata.yaml", *track.glob("mix.*"), *track.glob("*/S*.*")]):
        if f.suffix in (".yaml", ".flac", ".wav"):
            st = f.stat()
            files.append([f.relative_to(track).as_posix(), st.st_size, st.st_mtime_ns])
    key = [CACHE_VERSION, str(track.resolve()), files, recipe.name,
           sorted((g, sorted(p)) for g, p in recipe.groups.items()), group, SAMPLE_RATE]
    return hashlib.sha1(json.dumps(key).encode()).hexdigest()[:20]


def load_track_audio(track: str | Path, recipe: Recipe, group: str, cache_dir: str | Path | None = None,
                     name: str | None = None) -> TrackAudio:
    """Target (``recipe``'s ``group``) and interference of one track folder at 16 kHz mono, from the cache when
    the track's files have not changed (``cache_dir`` None: the user cache folder)."""
    return load_track_groups(track, recipe, [group], cache_dir, name)[0]


def load_track_groups(track: str | Path, recipe: Recipe, groups: list[str], cache_dir: str | Path | None = None,
                      name: str | None = None) -> list[TrackAudio]:
    """:func:`load_track_audio` for each of ``groups``: the track's stems are decoded and resampled once for all
    the groups the cache does not hold yet (a joint run's four targets cost one decode, not four)."""
    track = Path(track)
    name = name or f"{track.parent.name}/{track.name}"
    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    files = {g: cache / f"{track.name}-{g.lower()}-{_cache_key(track, recipe, g)}.npy" for g in groups}
    out: dict[str, TrackAudio] = {}
    for g, f in files.items():
        if f.is_file():
            try:
                out[g] = TrackAudio(name, track, np.load(f, mmap_mode="r"))
            except (OSError, ValueError):
                f.unlink(missing_ok=True)
    missing = [g for g in groups if g not in out]
    if missing:
        from slakh_gui.core.render.track_folder import load_track_folder

        folder = load_track_folder(track)
        stems = recipe.submix(folder.stems, folder.metadata)
        resampled = {g: resample(a, folder.sample_rate, SAMPLE_RATE).astype(np.float32) for g, a in stems.items()}
        cache.mkdir(parents=True, exist_ok=True)
        for g in missing:
            others = [a for k, a in resampled.items() if k != g]
            target = resampled[g]
            interference = np.sum(others, axis=0, dtype=np.float32) if others else np.zeros_like(target)
            _save_atomic(files[g], np.stack([target, interference]))
            out[g] = TrackAudio(name, track, np.load(files[g], mmap_mode="r"))
    return [out[g] for g in groups]


def _save_atomic(f: Path, array: np.ndarray) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{f.name}.", suffix=".part", dir=f.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            np.save(fh, array)
        os.replace(tmp, f)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def load_split(root: str | Path, split: str, recipe: Recipe, group: str, *, cache_dir: str | Path | None = None,
               max_tracks: int | None = None, progress: ProgressFn | None = None,
               cancel: CancelToken | None = None, tracks: list[Path] | None = None) -> list[TrackAudio]:
    """:func:`load_track_audio` for every track of ``split`` (or of ``tracks``, folders of that split; the first
    ``max_tracks`` if given)."""
    return load_split_groups(root, split, recipe, [group], cache_dir=cache_dir, max_tracks=max_tracks,
                             progress=progress, cancel=cancel, tracks=tracks)[0]


def load_split_groups(root: str | Path, split: str, recipe: Recipe, groups: list[str], *,
                      cache_dir: str | Path | None = None, max_tracks: int | None = None,
                      progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                      tracks: list[Path] | None = None, workers: int = LOAD_WORKERS) -> list[list[TrackAudio]]:
    """:func:`load_track_groups` for every track of ``split`` (or of ``tracks``): one list per group, the same
    tracks in the same order. ``workers`` tracks are decoded and resampled at once (threads: libsndfile and
    ``resample_poly`` release the GIL), which matters only while the cache is being filled."""
    tracks = (find_tracks(root, split) if tracks is None else tracks)[:max_tracks]
    out: list[list[TrackAudio]] = [[] for _ in groups]
    done = [0]
    lock = threading.Lock()

    def one(t: Path) -> list[TrackAudio]:
        check(cancel)
        loaded = load_track_groups(t, recipe, groups, cache_dir)
        with lock:
            done[0] += 1
            report(progress, f"load {split}", done[0], len(tracks), item=t.name)
        return loaded

    report(progress, f"load {split}", 0, len(tracks))
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for loaded in pool.map(one, tracks):
            for per_group, audio in zip(out, loaded, strict=True):
                per_group.append(audio)
    report(progress, f"load {split}", len(tracks), len(tracks))
    return out


def rms_db(x: np.ndarray, length: int | None = None) -> float:
    """RMS level of ``x`` in dBFS (0 dB = RMS 1.0); over ``length`` samples when given (zeros beyond ``x``)."""
    x = np.asarray(x, dtype=np.float64)
    n = length or len(x)
    energy = float(x @ x) / max(n, 1)
    return float(10 * np.log10(energy)) if energy > 0 else float("-inf")


def qualifying_offsets(target: np.ndarray, clip: int, threshold_db: float = THRESHOLD_DB,
                       step: int = HOP) -> np.ndarray:
    """Clip starts (multiples of ``step``) where the ``clip``-sample window of ``target`` has RMS ≥ ``threshold_db``.

    A track shorter than a clip has the one start 0 (the clip is zero-padded; its RMS counts the padding)."""
    n = len(target)
    if n <= clip:
        return np.array([0] if rms_db(target, clip) >= threshold_db else [], dtype=np.int64)
    sq = np.empty(n + 1)
    sq[0] = 0.0
    np.cumsum(np.square(target, dtype=np.float64), out=sq[1:])
    starts = np.arange(0, n - clip + 1, step, dtype=np.int64)
    energy = (sq[starts + clip] - sq[starts]) / clip
    with np.errstate(divide="ignore"):
        level = 10 * np.log10(np.maximum(energy, 0.0))
    return starts[level >= threshold_db]


def _cut(x: np.ndarray, start: int, length: int) -> np.ndarray:
    out = np.zeros(length, dtype=np.float32)
    part = np.asarray(x[start : start + length], dtype=np.float32)
    out[: len(part)] = part
    return out


@dataclass
class Clip:
    """A training or evaluation example at 16 kHz; ``kind`` ``coherent`` or ``incoherent``."""

    target: np.ndarray
    interference: np.ndarray
    track: str
    offset: float  # seconds into the target's track
    kind: str = "coherent"
    interference_track: str = ""

    @property
    def mixture(self) -> np.ndarray:
        return self.target + self.interference


class ClipSampler:
    """Seeded 10-s clips from ``tracks``: coherent (paper §3.2: target RMS ≥ ``threshold_db`` in the clip, the
    other stems of the same interval as interference) or incoherent (target and interference from different
    random songs and offsets, both passing the threshold, the interference scaled to the target's integrated
    loudness, ITU-R BS.1770). Tracks where the target never qualifies are skipped (``skipped``)."""

    def __init__(self, tracks: list[TrackAudio], clip_seconds: float = CLIP_SECONDS,
                 threshold_db: float = THRESHOLD_DB) -> None:
        self.tracks = tracks
        self.clip = int(round(clip_seconds * SAMPLE_RATE))
        self.threshold_db = threshold_db
        self.offsets = [qualifying_offsets(t.target, self.clip, threshold_db) for t in tracks]
        self.eligible = [i for i, o in enumerate(self.offsets) if len(o)]
        self.skipped = [t.name for t, o in zip(tracks, self.offsets, strict=True) if not len(o)]
        if not self.eligible:
            raise DatasetError(f"no track has a {clip_seconds:g}-s clip where the target is at or above "
                               f"{threshold_db:g} dBFS RMS ({len(tracks)} tracks read)")
        self._interference_offsets: dict[int, np.ndarray] = {}

    def coherent_at(self, index: int, start: int) -> Clip:
        t = self.tracks[index]
        return Clip(_cut(t.target, start, self.clip), _cut(t.interference, start, self.clip), t.name,
                    start / SAMPLE_RATE)

    def coherent(self, rng: np.random.Generator) -> Clip:
        i = self.eligible[int(rng.integers(len(self.eligible)))]
        return self.coherent_at(i, int(rng.choice(self.offsets[i])))

    def incoherent(self, rng: np.random.Generator) -> Clip:
        from slakh_gui.core.render.loudness import integrated_loudness

        clip = self.coherent(rng)
        choices = [i for i in range(len(self.tracks)) if self.tracks[i].name != clip.track] or list(
            range(len(self.tracks)))
        j = choices[int(rng.integers(len(choices)))]
        if j not in self._interference_offsets:
            self._interference_offsets[j] = qualifying_offsets(self.tracks[j].interference, self.clip,
                                                               self.threshold_db)
        offs = self._interference_offsets[j]
        start = int(rng.choice(offs)) if len(offs) else 0
        inter = _cut(self.tracks[j].interference, start, self.clip)
        lt, li = integrated_loudness(clip.target, SAMPLE_RATE), integrated_loudness(inter, SAMPLE_RATE)
        if not (np.isfinite(lt) and np.isfinite(li)):  # too short or gated out: fall back to RMS
            lt, li = rms_db(clip.target), rms_db(inter)
        gain = 10 ** ((lt - li) / 20) if np.isfinite(lt) and np.isfinite(li) else 1.0
        return Clip(clip.target, (inter * gain).astype(np.float32), clip.track, clip.offset, "incoherent",
                    self.tracks[j].name)

    def sample(self, rng: np.random.Generator, incoherent_fraction: float = 0.0) -> Clip:
        """One clip; incoherent with probability ``incoherent_fraction``."""
        if incoherent_fraction > 0 and rng.random() < incoherent_fraction:
            return self.incoherent(rng)
        return self.coherent(rng)

    def clips(self, n: int, seed: int, incoherent_fraction: float = 0.0) -> list[Clip]:
        """``n`` clips drawn with ``seed`` (same seed, same clips)."""
        rng = np.random.default_rng(seed)
        return [self.sample(rng, incoherent_fraction) for _ in range(n)]

    def per_track(self, per_track: int, seed: int) -> list[Clip]:
        """``per_track`` coherent clips of every eligible track (seeded per track: the evaluation clips)."""
        out = []
        for i in self.eligible:
            rng = np.random.default_rng([seed, i])
            starts = rng.choice(self.offsets[i], size=min(per_track, len(self.offsets[i])), replace=False)
            out.extend(self.coherent_at(i, int(s)) for s in sorted(starts))
        return out


@dataclass
class JointClip:
    """A joint training example: the mixture and every target of the same interval (``targets``: ``(K, samples)``)."""

    mixture: np.ndarray
    targets: np.ndarray
    track: str
    offset: float
    kind: str = "coherent"

    @property
    def target(self) -> np.ndarray:
        return self.targets


class JointClipSampler(ClipSampler):
    """Seeded coherent clips with all of several targets, for a joint model. ``groups[k][i]`` is track ``i`` loaded
    with target group ``k`` (the same tracks in the same order for every group).

    Clip rule: a clip is kept when **at least one** target's RMS in it is ≥ ``threshold_db`` (the −30 dB rule of
    :class:`ClipSampler` applied to each target, joined by "or"), so a clip may hold silent targets: their masks then
    learn to be 0. The mixture is the first group's target + interference (the sum of all stems). Incoherent
    mixtures are not made (a joint clip's targets must share one interference)."""

    def __init__(self, groups: list[list[TrackAudio]], clip_seconds: float = CLIP_SECONDS,
                 threshold_db: float = THRESHOLD_DB) -> None:
        if not groups or len({len(g) for g in groups}) != 1:
            raise DatasetError("a joint clip sampler needs the same tracks for every target")
        self.groups = groups
        self.tracks = groups[0]
        self.clip = int(round(clip_seconds * SAMPLE_RATE))
        self.threshold_db = threshold_db
        self.offsets = [np.unique(np.concatenate([qualifying_offsets(g[i].target, self.clip, threshold_db)
                                                  for g in groups])) for i in range(len(self.tracks))]
        self.eligible = [i for i, o in enumerate(self.offsets) if len(o)]
        self.skipped = [t.name for t, o in zip(self.tracks, self.offsets, strict=True) if not len(o)]
        if not self.eligible:
            raise DatasetError(f"no track has a {clip_seconds:g}-s clip where any target is at or above "
                               f"{threshold_db:g} dBFS RMS ({len(self.tracks)} tracks read)")
        self._interference_offsets = {}

    def coherent_at(self, index: int, start: int) -> JointClip:
        t = self.tracks[index]
        mixture = _cut(t.target, start, self.clip) + _cut(t.interference, start, self.clip)
        targets = np.stack([_cut(g[index].target, start, self.clip) for g in self.groups])
        return JointClip(mixture, targets, t.name, start / SAMPLE_RATE)

    def incoherent(self, rng: np.random.Generator) -> JointClip:
        raise DatasetError("joint training uses coherent clips only (incoherent fraction 0)")
