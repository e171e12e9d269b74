"""A MIDI collection -> a Slakh2100-layout dataset: selection, splits, a manifest, parallel or distributed render.

``OUT/`` gets ``{train,validation,test}/TrackNNNNN/`` (Slakh2100's track folders), ``dataset.yaml`` (the manifest:
options, bank and its hash, versions, the planned tracks and each one's status), ``selection.yaml`` (every MIDI
file rejected, with its reason), ``lint.yaml`` (what the checks found), ``index_slakh.json`` (a mirdata index; the
split folders are also linked from ``slakh2100_flac_redux/`` so that paths look like the Zenodo download's) and
``run-log.jsonl`` (timings; the only file that differs between runs).

The dataset depends only on (MIDI files, seed, bank, options): tracks are numbered in the seeded selection order,
each song's patch draw is seeded from the dataset seed and the file's MD5, and the manifest holds no times or
worker counts. A re-run with the same options skips finished tracks and renders the rest, so a run interrupted
in any way (even ``kill -9``) and resumed gives the same bytes as one that never stopped.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

import yaml

from slakh_gui import __version__
from slakh_gui.core.audio_io import atomic_write_bytes, atomic_write_text
from slakh_gui.core.bank.patches import load_bank
from slakh_gui.core.constants import SPLITS
from slakh_gui.core.dataset import mirdata_index, selection
from slakh_gui.core.dataset.dataset_task import track_seed
from slakh_gui.core.errors import DatasetError
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.core.render import layout
from slakh_gui.core.safe_yaml import YamlError, read_yaml

MANIFEST = "dataset.yaml"
MANIFEST_FORMAT = "slakh-studio-dataset/1"
SELECTION_REPORT = "selection.yaml"
BANK_COPY = "bank.yaml"  # the patch bank the dataset was made with, copied beside the manifest
LINT_REPORT = "lint.yaml"
RUN_LOG = "run-log.jsonl"
SLAKH_SPLIT = (1500.0, 375.0, 225.0)
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
REDUX_DIR = "slakh2100_flac_redux"


def parse_split(text: str) -> tuple[float, float, float]:
    """``"1500:375:225"``, ``"0.8,0.1,0.1"`` or ``"70/20/10"`` -> the three split weights (train, validation, test)."""
    parts = [p for p in text.replace(",", ":").replace("/", ":").split(":") if p.strip()]
    try:
        weights = tuple(float(p) for p in parts)
    except ValueError:
        raise DatasetError(f"split {text!r}: expected three numbers like 1500:375:225 or 0.8,0.1,0.1") from None
    if len(weights) != 3 or any(w < 0 for w in weights) or not sum(weights) > 0:
        raise DatasetError(f"split {text!r}: expected three weights >= 0 (train:validation:test), not all zero")
    return weights  # type: ignore[return-value]


def split_counts(n: int, weights: tuple[float, float, float]) -> tuple[int, int, int]:
    """``n`` tracks shared by ``weights`` (largest remainder; ties go to the earlier split)."""
    total = sum(weights)
    exact = [n * w / total for w in weights]
    counts = [int(x) for x in exact]
    order = sorted(range(3), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: n - sum(counts)]:
        counts[i] += 1
    return counts[0], counts[1], counts[2]


@dataclass
class DatasetOptions:
    """What the dataset's content depends on (all recorded in the manifest)."""

    bank: Path
    count: int | None = None
    seed: int = 0
    band: tuple[str, ...] = selection.DEFAULT_BAND
    min_notes: int = 50
    allow_multiple_drums: bool = False
    split: tuple[float, float, float] = SLAKH_SPLIT
    fmt: str = "flac"
    flakh: bool = False
    fluid_effects: bool = False
    tail: float = 5.0
    lint: bool = True
    stereo: bool = False  # stereo stems and mix
    pan: str = "auto"  # stereo: auto | midi | none

    def manifest_dict(self, midi_dir: Path) -> dict:
        d = asdict(self)
        d.pop("bank")
        d["band"] = list(self.band)
        d["split"] = [float(w) for w in self.split]
        return d  # the MIDI folder is given again on every run: no folder of this machine in the manifest


@dataclass
class DatasetResult:
    out: Path
    manifest: dict
    rendered: list[str] = field(default_factory=list)  # tracks rendered by this run
    skipped: list[str] = field(default_factory=list)  # finished before this run
    failed: dict[str, str] = field(default_factory=dict)  # track -> reason
    lint: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    audio_seconds: float = 0.0  # of mixture rendered by this run

    @property
    def counts(self) -> dict[str, int]:
        out = {s: 0 for s in SPLITS}
        for t in self.manifest["tracks"]:
            if t["status"] == "done":
                out[t["split"]] += 1
        return out


def _versions() -> dict:
    import numpy
    import pretty_midi
    import soundfile

    from slakh_gui.core.render import fluid

    try:
        fs = fluid.version()
    except Exception:  # the renderer reports a missing FluidSynth itself
        fs = "unknown"
    return {"slakh_studio": __version__, "fluidsynth": fs, "libsndfile": soundfile.__libsndfile_version__,
            "numpy": numpy.__version__, "pretty_midi": pretty_midi.__version__}


def plan_dataset(midi_dir: str | Path, out: str | Path, options: DatasetOptions, *,
                 progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> dict:
    """Select the songs and lay out the tracks: the manifest of a new dataset (nothing rendered yet).

    Writes ``OUT/selection.yaml``. Tracks are numbered 1..N in the seeded selection order; the first ones go to
    train, then validation, then test (the MD5 de-duplication of the selection keeps a MIDI file from two splits).
    """
    midi_dir, out = Path(midi_dir), Path(out)
    if options.fmt not in ("flac", "wav"):
        raise DatasetError(f"unknown audio format {options.fmt!r} (use flac or wav)")
    bank = load_bank(options.bank)
    sel = selection.select_songs(midi_dir, count=options.count, seed=options.seed, band=options.band,
                                 min_notes=options.min_notes, allow_multiple_drums=options.allow_multiple_drums,
                                 progress=progress, cancel=cancel)
    if not sel.scanned:
        raise DatasetError(f"{midi_dir}: no .mid or .midi files found")
    layout.check_writable(out)
    selection.write_report(sel, out / SELECTION_REPORT, relative_to=midi_dir)
    atomic_write_bytes(out / BANK_COPY, Path(options.bank).read_bytes())  # the bank travels with the dataset
    counts = split_counts(len(sel.selected), options.split)
    splits = [s for s, n in zip(SPLITS, counts, strict=True) for _ in range(n)]
    tracks = []
    for number, (cand, split) in enumerate(zip(sel.selected, splits, strict=True), start=1):
        tracks.append({"track": layout.track_name(number), "split": split,
                       "midi": layout.lmd_midi_dir(cand.path, midi_dir),
                       "md5": cand.md5, "seed": track_seed(options.seed, cand.md5),
                       "midi_seconds": round(cand.duration, 3), "status": "pending"})
    return {
        "format": MANIFEST_FORMAT,
        "versions": _versions(),
        "options": options.manifest_dict(midi_dir),
        "bank": {"file": BANK_COPY, "source": Path(options.bank).name, "name": bank.name, "sha256": bank.sha256},
        "selection": {"report": SELECTION_REPORT, "scanned": sel.scanned, "eligible": sel.eligible,
                      "selected": len(sel.selected), "rejected": len(sel.rejected),
                      "duplicates": len(sel.duplicates)},
        "splits": dict(zip(SPLITS, counts, strict=True)),
        "tracks": tracks,
    }


def load_manifest(out: str | Path) -> dict | None:
    """The manifest in ``out``, or None when there is none; :class:`DatasetError` when it is unreadable."""
    path = Path(out) / MANIFEST
    if not path.is_file():
        return None
    try:
        data = read_yaml(path)
    except YamlError as exc:
        raise DatasetError(f"{path}: unreadable manifest: {exc.detail}") from None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT or not isinstance(data.get("tracks"), list):
        raise DatasetError(f"{path}: not a Slakh Studio dataset manifest ({MANIFEST_FORMAT})")
    return data


def write_manifest(out: Path, manifest: dict) -> None:
    atomic_write_text(out / MANIFEST, yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=120))


def midi_path(midi_dir: Path, entry: dict) -> Path:
    """A manifest track's MIDI file: stored relative to the collection (manifests written before were absolute,
    and an absolute path stays what it was)."""
    return Path(midi_dir) / entry["midi"]


# Options added after datasets were made: a manifest without them was made with these values.
LATER_OPTIONS = {"stereo": False, "pan": "auto"}


def _check_same(old: dict, new_options: dict, bank_sha: str, out: Path) -> None:
    was = {**LATER_OPTIONS, **old["options"]}
    diffs = [f"{k} {was.get(k)!r} (now {v!r})" for k, v in new_options.items()
             if k != "midi_dir" and was.get(k) != v]
    if old["bank"]["sha256"] != bank_sha:
        diffs.append("the bank file (its SHA-256 changed)")
    if diffs:
        raise DatasetError(f"{out} holds a dataset made with other settings: {'; '.join(diffs)}. Resume with the "
                           "same settings, or choose another output folder")


def track_dir(out: Path, t: dict) -> Path:
    return out / t["split"] / t["track"]


def run_dataset(midi_dir: str | Path, out: str | Path, options: DatasetOptions, *, workers: int | None = None,
                scheduler: str | None = None, threads: int = 1, progress: ProgressFn | None = None,
                cancel: CancelToken | None = None, log: Callable[[str], None] | None = None) -> DatasetResult:
    """Plan (or resume) the dataset in ``out`` and render every unfinished track; see the module doc.

    ``workers``: local processes (default: one per core); ``scheduler``: a Dask scheduler address or scheduler
    file instead. A song that fails is recorded (manifest status ``failed`` with the reason) and the run goes on.
    """
    from slakh_gui.core.dataset import dataset_exec

    start = time.perf_counter()
    out = Path(out)
    midi_dir = Path(midi_dir)
    bank = load_bank(options.bank)
    manifest = load_manifest(out)
    if manifest is None:
        if out.is_dir() and any(p.name in SPLITS for p in out.iterdir()):
            raise DatasetError(f"{out} has split folders but no {MANIFEST}: not a Slakh Studio dataset to resume; "
                               "choose an empty folder")
        manifest = plan_dataset(midi_dir, out, options, progress=progress, cancel=cancel)
        write_manifest(out, manifest)
    else:
        _check_same(manifest, options.manifest_dict(midi_dir), bank.sha256, out)
    clean_partials(out)
    tracks = {t["track"]: t for t in manifest["tracks"]}
    result = DatasetResult(out, manifest)
    todo = []
    for t in manifest["tracks"]:
        if t["status"] == "dropped":  # taken out by the user (slakh-studio fix --drop-track)
            continue
        final = track_dir(out, t)
        if final.is_dir() and (final / "metadata.yaml").is_file() and not t.get("redo"):
            if t["status"] != "done":  # rendered, then the run stopped before the manifest was written
                t["status"] = "done"
                t.pop("reason", None)
            result.skipped.append(t["track"])
        else:
            todo.append(t)
    write_manifest(out, manifest)
    total = len(manifest["tracks"])
    done_count = total - len(todo)
    report(progress, "render", done_count, total, f"{done_count} of {total} tracks already done")
    # Longest songs first, so that the last songs in flight are short ones and no worker idles long at the end.
    todo.sort(key=lambda t: -float(t.get("midi_seconds", 0.0)))
    missing = [t for t in todo if not midi_path(midi_dir, t).is_file()]
    if missing:
        t = missing[0]
        raise DatasetError(f"{midi_dir} has no {t['midi']} (planned for {t['track']}{' and ' + str(len(missing) - 1) + ' more' if len(missing) > 1 else ''}): "
                           "resume with the MIDI folder the dataset was made from")
    tasks = [_task(out, t, options, bank.sha256, threads, midi_dir) for t in todo]
    lint_found = read_lint(out)
    if scheduler:
        results: Iterator[dict] = dataset_exec.run_dask(tasks, scheduler, cancel)
    else:
        results = dataset_exec.run_local(tasks, workers or dataset_exec.default_workers(), cancel)
    with open(out / RUN_LOG, "a", encoding="utf-8") as run_log:
        for res in results:
            t = tracks[res["name"]]
            if res.get("errno") in DISK_FULL:
                t["status"] = "pending"
                with contextlib.suppress(OSError):  # the disk is full: the previous manifest stays as it was
                    write_manifest(out, manifest)
                clean_partials(out)
                raise DatasetError(f"the disk holding {out} is full ({res.get('reason')}); free some space and run "
                                   "the same command again to resume")
            if res.get("status") == "done" and res.get("version", __version__) != __version__:
                res = {**res, "status": "failed",
                       "reason": f"the worker runs Slakh Studio {res['version']}, this run {__version__}"}
            if res.get("status") == "done" and not (track_dir(out, t) / "metadata.yaml").is_file():
                res = {**res, "status": "failed", "reason": f"the worker reported it done but {track_dir(out, t)} "
                       "is not there: do the workers share this output folder at the same path?"}
            t.pop("redo", None)
            if res.get("status") == "done":
                t["status"] = "done"
                t.pop("reason", None)
                result.rendered.append(t["track"])
                result.audio_seconds += float(res.get("duration", 0.0))
                lint_found[t["track"]] = res.get("lint", [])
            else:
                t["status"] = "failed"
                t["reason"] = res.get("reason", "unknown failure")
                result.failed[t["track"]] = t["reason"]
                if log:
                    log(f"{t['track']} ({t['midi']}): {t['reason']}")
            write_manifest(out, manifest)
            run_log.write(json.dumps({k: v for k, v in res.items() if k != "traceback"}, sort_keys=True) + "\n")
            run_log.flush()
            done_count += 1
            report(progress, "render", done_count, total, item=t["track"])
            check(cancel)
    check(cancel)
    report(progress, "index", 0, 1, "writing the mirdata index and lint report")
    result.lint = write_lint(out, manifest, lint_found)
    write_index(out)
    result.seconds = time.perf_counter() - start
    return result


def _task(out: Path, t: dict, options: DatasetOptions, bank_sha: str, threads: int, midi_dir: Path) -> dict:
    return {
        "name": t["track"], "midi": str(midi_path(midi_dir, t).resolve()), "md5": t["md5"], "seed": t["seed"],
        "out_dir": str(track_dir(out, t).resolve()), "bank": str(Path(options.bank).resolve()),
        "bank_sha256": bank_sha, "fixed": t.get("fixed") or {}, "lint": options.lint,
        "render": {"fmt": options.fmt, "tail": options.tail, "fluid_effects": options.fluid_effects,
                   "flakh": options.flakh, "threads": threads, "corpus_root": str(Path(midi_dir).resolve()),
                   "stereo": options.stereo, "pan": options.pan},
    }


DATASET_KINDS = ("duplicate_midi", "cross_split_duplicate")  # found across tracks: recomputed on every write


def read_lint(out: Path) -> dict[str, list[dict]]:
    """The per-track findings of ``OUT/lint.yaml``: track name (``Track00001``) -> finding dicts."""
    from slakh_gui.core.dataset import lint

    try:
        findings = lint.read_lint(Path(out) / LINT_REPORT)
    except lint.LintError:
        return {}
    found: dict[str, list[dict]] = {}
    for f in findings:
        if f.kind not in DATASET_KINDS:
            found.setdefault(Path(f.track).name, []).append(f.as_dict())
    return found


def write_lint(out: Path, manifest: dict, per_track: dict[str, list[dict]]) -> list[dict]:
    """``lint.yaml``: per-track findings (in track order) plus the dataset-wide duplicate checks."""
    from slakh_gui.core.dataset import lint

    done = [t for t in manifest["tracks"] if t["status"] == "done"]
    findings = [lint.Finding.from_dict(f) for t in done for f in per_track.get(t["track"], [])]
    findings += lint.lint_dataset([(t["split"], track_dir(out, t)) for t in done])
    lint.write_lint(out / LINT_REPORT, findings)
    return [f.as_dict() for f in findings]


def write_index(out: Path) -> Path:
    """``OUT/index_slakh.json`` for mirdata, through ``OUT/slakh2100_flac_redux/<split>`` links to the split folders
    (mirdata takes a track's split from the second component of its path). Only tracks whose metadata changed since
    the last index are hashed again (a resume or a fix does not re-read the whole dataset)."""
    redux = out / REDUX_DIR
    redux.mkdir(exist_ok=True)
    for split in SPLITS:
        link = redux / split
        if (out / split).is_dir() and not link.exists():
            if link.is_symlink():
                link.unlink()
            os.symlink(Path("..") / split, link)
    return mirdata_index.write_index(out, out / "index_slakh.json", topdir=REDUX_DIR, reuse=True)


def clean_partials(out: Path) -> int:
    """Remove hidden staging folders left by killed renders; how many were removed."""
    n = 0
    for split in SPLITS:
        for stale in (out / split).glob(".Track*.partial-*") if (out / split).is_dir() else ():
            shutil.rmtree(stale, ignore_errors=True)
            n += 1
    return n
