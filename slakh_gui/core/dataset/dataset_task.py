"""One dataset track, rendered by a worker (a local process or a Dask worker): MIDI file -> ``TrackNNNNN/``.

A task is a plain dict (picklable, readable in logs) so that any executor can ship it; the result is a plain dict
too. A worker never raises for a bad song: the failure comes back as ``{"status": "failed", "reason": ...}``.
"""

from __future__ import annotations

import hashlib
import os
import socket
import time
import traceback
from pathlib import Path

from slakh_gui import __version__

_banks: dict[tuple[str, str], object] = {}  # (path, sha256) -> Bank, per worker process


def track_seed(dataset_seed: int, md5: str) -> int:
    """The patch-draw seed of a song: depends on the dataset seed and the file's MD5 only (not on its position)."""
    return int(hashlib.sha256(f"slakh-studio-dataset:{dataset_seed}:{md5}".encode()).hexdigest()[:8], 16)


def _bank(path: str, sha256: str):
    from slakh_gui.core.bank.patches import load_bank

    key = (path, sha256)
    if key not in _banks:
        bank = load_bank(path)
        if bank.sha256 != sha256:
            raise ValueError(f"bank {path} changed since the dataset was planned (its SHA-256 differs)")
        _banks.clear()
        _banks[key] = bank
    return _banks[key]


def render_task(task: dict) -> dict:
    """Render ``task`` (keys: name, midi, md5, seed, out_dir, bank, bank_sha256, render: RenderOptions fields,
    fixed: stem key -> patch id or None, lint: bool) into ``task["out_dir"]``; never raises for a bad song."""
    start = time.perf_counter()
    result = {"name": task["name"], "version": __version__, "worker": f"{socket.gethostname()}:{os.getpid()}"}
    try:
        from slakh_gui.core.bank import patches
        from slakh_gui.core.cpu import one_blas_thread
        from slakh_gui.core.midi import midifile
        from slakh_gui.core.render import pipeline

        one_blas_thread()  # in a worker process (spawned or Dask's): its render's threads, not BLAS's
        bank = _bank(task["bank"], task["bank_sha256"])
        song = midifile.load_song(task["midi"])
        if song.md5 != task["md5"]:
            raise ValueError(f"{task['midi']} changed since the dataset was planned (MD5 {song.md5} is not "
                             f"{task['md5']})")
        assignment = patches.assign_patches(song, bank, task["seed"], fixed=task.get("fixed") or None)
        out = Path(task["out_dir"])
        opts = pipeline.RenderOptions(**task["render"], overwrite=out.exists())
        t0 = time.perf_counter()
        rendered = pipeline.render_track(song, bank, assignment, out, opts, keep_audio=bool(task.get("lint")))
        result["render_seconds"] = round(time.perf_counter() - t0, 3)
        result.update(status="done", duration=round(rendered.duration, 3), stems=len(rendered.rendered),
                      skipped=dict(sorted(rendered.skipped.items())))
        if task.get("lint"):
            from slakh_gui.core.dataset.lint import lint_track

            result["lint"] = [f.as_dict() for f in lint_track(out, bank, audio=rendered.stems)]
    except Exception as exc:  # a bad song is recorded, never fatal
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        result.update(status="failed", reason=f"{type(exc).__name__}: {reason}",
                      traceback=traceback.format_exc(limit=6))
        if isinstance(exc, OSError) and exc.errno is not None:
            result["errno"] = exc.errno  # the coordinator stops the run on a full disk instead of failing songs
    result["seconds"] = round(time.perf_counter() - start, 3)
    return result
