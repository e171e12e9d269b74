"""Slakh2100's on-disk layout of one track and its ``metadata.yaml``, written all-or-nothing.

A track is assembled in a hidden sibling folder and renamed into place in one step, so a failed, cancelled or
killed render leaves no half-written ``TrackNNNNN/``.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import yaml

TRACK_NAME = re.compile(r"^Track\d{5}$")


def track_name(number: int) -> str:
    """``Track00001`` for 1 (Slakh numbers tracks from 1, five digits)."""
    return f"Track{number:05d}"


def lmd_midi_dir(path: Path, corpus_root: str | Path | None = None) -> str:
    """Slakh's ``lmd_midi_dir``, portable: the source MIDI file's path relative to the corpus it was taken from
    (POSIX separators, as Slakh2100 stores it relative to the Lakh MIDI folder), or its file name alone for a
    single file (or one outside ``corpus_root``). No folder of the machine that rendered it."""
    path = Path(path)
    if corpus_root is not None:
        try:
            return path.resolve().relative_to(Path(corpus_root).resolve()).as_posix()
        except ValueError:
            pass
    return path.name


def dump_metadata(metadata: dict) -> str:
    """YAML as the released Slakh2100 files have it: block style, keys sorted."""
    return yaml.safe_dump(metadata, default_flow_style=False, allow_unicode=True, sort_keys=True)


def check_writable(folder: Path) -> None:
    """Create ``folder`` if needed and make sure files can be written there; ``PermissionError`` with a clear line."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".write-test-", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise PermissionError(f"cannot write to output folder {folder}: {exc.strerror or exc}") from None


@contextlib.contextmanager
def staged_dir(final: Path, overwrite: bool = False) -> Iterator[Path]:
    """Yield a hidden staging folder beside ``final``; on success it becomes ``final`` in one rename.

    On any exception (including cancel) the staging folder is removed and ``final`` is untouched.
    """
    final = Path(final)
    if final.exists() and not overwrite:
        raise FileExistsError(f"{final} already exists (use --overwrite to replace it)")
    check_writable(final.parent)
    for stale in final.parent.glob(f".{final.name}.partial-*"):  # left by a killed run
        shutil.rmtree(stale, ignore_errors=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-", dir=final.parent))
    try:
        yield stage
        os.chmod(stage, 0o755)
        if final.exists():
            old = final.with_name(f".{final.name}.old-{os.getpid()}")
            os.replace(final, old)
            os.replace(stage, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(stage, final)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        raise
