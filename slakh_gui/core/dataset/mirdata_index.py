"""A mirdata ``slakh`` index for Slakh-layout folders, so ``mirdata.initialize('slakh')`` reads our output.

Same format and rules as mirdata's ``scripts/make_slakh_index.py``: a stem without ``MIDI/SXX.mid`` is left out, a
stem without audio is kept with ``[null, null]``; paths are relative to ``data_home``; the version string contains
"2100-redux" so mirdata takes each track's split from the second path component.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from slakh_gui.core.constants import SPLITS_WITH_OMITTED
from slakh_gui.core.safe_yaml import read_yaml
from slakh_gui.core.walk import track_dirs

INDEX_VERSION = "2100-redux-slakh-studio"


def _md5(path: Path) -> str:
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _entry(path: Path, data_home: Path) -> list:
    return [path.relative_to(data_home).as_posix(), _md5(path)] if path.exists() else [None, None]


def build_index(data_home: str | Path, topdir: str = "slakh2100_flac_redux", version: str = INDEX_VERSION,
                previous: dict | None = None) -> dict:
    """Index every ``<topdir>/<split>/TrackNNNNN`` under ``data_home``.

    With ``previous`` (an index of the same folder), a track whose ``metadata.yaml`` has the MD5 recorded there is
    taken over without hashing its audio again: the metadata holds every stem's patch and loudness, so the same
    metadata means the same render (renders are deterministic)."""
    data_home = Path(data_home)
    tracks: dict[str, dict] = {}
    multitracks: dict[str, dict] = {}
    old_tracks = (previous or {}).get("tracks") or {}
    old_multi = (previous or {}).get("multitracks") or {}
    for split in SPLITS_WITH_OMITTED:
        split_dir = data_home / topdir / split
        if not split_dir.is_dir():
            continue
        for track_dir in track_dirs(split_dir):
            meta_path = track_dir / "metadata.yaml"
            meta_entry = _entry(meta_path, data_home)
            old = old_multi.get(track_dir.name)
            if old and old.get("metadata") == meta_entry and all(t in old_tracks for t in old.get("tracks", [])):
                multitracks[track_dir.name] = old
                tracks.update({t: old_tracks[t] for t in old["tracks"]})
                continue
            meta = read_yaml(meta_path)
            mix = next((p for p in (track_dir / "mix.flac", track_dir / "mix.wav") if p.exists()), track_dir / "mix.flac")
            ids = []
            for stem in meta["stems"]:
                midi = track_dir / "MIDI" / f"{stem}.mid"
                if not midi.exists():
                    continue
                audio = next((p for p in (track_dir / "stems" / f"{stem}.flac", track_dir / "stems" / f"{stem}.wav")
                              if p.exists()), track_dir / "stems" / f"{stem}.flac")
                tid = f"{track_dir.name}-{stem}"
                tracks[tid] = {"audio": _entry(audio, data_home), "midi": _entry(midi, data_home),
                               "metadata": meta_entry}
                ids.append(tid)
            multitracks[track_dir.name] = {"tracks": ids, "midi": _entry(track_dir / "all_src.mid", data_home),
                                           "mix": _entry(mix, data_home), "metadata": meta_entry}
    return {"version": version, "tracks": tracks, "multitracks": multitracks}


def write_index(data_home: str | Path, path: str | Path | None = None, *, reuse: bool = False, **kwargs) -> Path:
    """Write ``index_slakh.json`` (default: in ``data_home``) and return its path. With ``reuse``, the entries of
    tracks whose metadata is unchanged since the index already at ``path`` are kept (see :func:`build_index`)."""
    from slakh_gui.core.audio_io import atomic_write_text

    path = Path(path) if path else Path(data_home) / "index_slakh.json"
    previous = None
    if reuse and path.is_file():
        try:
            previous = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError):
            previous = None
        if not isinstance(previous, dict) or previous.get("version") != kwargs.get("version", INDEX_VERSION):
            previous = None
    atomic_write_text(path, json.dumps(build_index(data_home, previous=previous, **kwargs), indent=1,
                                       sort_keys=True))
    return path


def open_with_mirdata(data_home: str | Path, index_path: str | Path):
    """``mirdata.initialize('slakh')`` pointed at our index (mirdata is a test/optional dependency)."""
    import mirdata

    dataset = mirdata.initialize("slakh", data_home=str(data_home), version="2100-redux")
    dataset.index_path = str(index_path)
    return dataset
