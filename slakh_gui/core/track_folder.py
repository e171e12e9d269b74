"""Open a rendered Slakh track folder (ours, or a real Slakh2100 / BabySlakh ``TrackNNNNN/``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf
import yaml

from slakh_gui.core.midi import MidiLoadError, Song, load_song


class TrackFolderError(ValueError):
    """The folder is not a readable Slakh track."""


@dataclass
class TrackFolder:
    path: Path
    metadata: dict
    sample_rate: int
    stems: dict[str, np.ndarray]  # float32 mono, only stems that have audio
    mix: np.ndarray | None
    song: Song | None  # from all_src.mid when present and readable
    notes: list[str] = field(default_factory=list)  # what was missing or odd


def _audio(path_stem: Path) -> Path | None:
    for ext in (".flac", ".wav"):
        if path_stem.with_suffix(ext).is_file():
            return path_stem.with_suffix(ext)
    return None


def _read(path: Path) -> tuple[np.ndarray, int]:
    data, sr = sf.read(path, dtype="float32", always_2d=True)
    return np.ascontiguousarray(data.mean(axis=1), dtype=np.float32), sr


def load_track_folder(path: str | Path) -> TrackFolder:
    """Read metadata, stems, mix and source MIDI; stems of unequal length are zero-padded to the longest."""
    path = Path(path)
    meta_path = path / "metadata.yaml"
    if not meta_path.is_file():
        raise TrackFolderError(f"{path}: no metadata.yaml — not a Slakh track folder")
    try:
        metadata = yaml.safe_load(meta_path.read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise TrackFolderError(f"{meta_path}: unreadable YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("stems"), dict):
        raise TrackFolderError(f"{meta_path}: no 'stems' mapping — not Slakh metadata")
    audio_dir = path / Path(str(metadata.get("audio_dir") or "stems")).name  # readers use only the basename
    if not audio_dir.is_dir():
        audio_dir = path / "stems"
    notes: list[str] = []
    stems: dict[str, np.ndarray] = {}
    rates = set()
    for key in metadata["stems"]:
        f = _audio(audio_dir / str(key))
        if f is None:
            continue
        try:
            stems[str(key)], sr = _read(f)
        except (RuntimeError, sf.LibsndfileError) as exc:
            notes.append(f"{f.name}: unreadable audio ({exc})")
            continue
        rates.add(sr)
    mix = None
    mix_file = _audio(path / "mix")
    if mix_file:
        mix, sr = _read(mix_file)
        rates.add(sr)
    if not stems and mix is None:
        raise TrackFolderError(f"{path}: no stem or mix audio found")
    if len(rates) > 1:
        raise TrackFolderError(f"{path}: stems and mix have different sample rates {sorted(rates)}")
    length = max([len(a) for a in stems.values()] + ([len(mix)] if mix is not None else []))
    for k, a in stems.items():
        if len(a) < length:
            notes.append(f"{k}: {length - len(a)} samples shorter than the longest file, padded")
            stems[k] = np.pad(a, (0, length - len(a)))
    song = None
    if (path / "all_src.mid").is_file():
        try:
            song = load_song(path / "all_src.mid")
        except MidiLoadError as exc:
            notes.append(str(exc))
    return TrackFolder(path, metadata, rates.pop(), stems, mix, song, notes)
