"""Open a rendered Slakh track folder (ours, or a real Slakh2100 / BabySlakh ``TrackNNNNN/``).

Stereo folders (``slakh-studio render --stereo``: 2-channel stems and mix, ``slakh_studio.channels: 2`` in the
metadata) are read as mono by default, each file folded down to ``(L + R) / 2`` as it is decoded, so every mono
consumer (the separation data loader, dataset stats, lint, derived datasets, the app) reads them unchanged;
``load_track_folder(path, keep_channels=True)`` keeps the channels: ``(n, channels)`` arrays.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from slakh_gui.core import diskaudio
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.midi.midifile import MidiLoadError, Song, load_song
from slakh_gui.core.safe_yaml import YamlError, load_yaml

AUDIO_EXTS = (".flac", ".wav")
MAX_AUDIO_SAMPLES = 2**28  # per file (frames x channels): 1 GiB as float32, 50 min of 44.1 kHz stereo
_AUDIO_ERRORS = (RuntimeError, sf.LibsndfileError, ValueError, TypeError, OverflowError, MemoryError, OSError)


class TrackFolderError(SlakhError, ValueError):
    """The folder is not a readable Slakh track."""


@dataclass
class TrackFolder:
    path: Path
    metadata: dict
    sample_rate: int
    stems: dict[str, np.ndarray]  # float32 mono (or (n, channels) with keep_channels), only stems with audio
    mix: np.ndarray | None
    song: Song | None  # from all_src.mid when present and readable
    notes: list[str] = field(default_factory=list)  # what was missing or odd
    channels: int = 1  # the most channels of any audio file of the folder (2: a stereo render)


def audio_file(path_stem: Path) -> Path | None:
    """``path_stem`` with ``.flac`` or ``.wav``, whichever exists (FLAC first)."""
    for ext in AUDIO_EXTS:
        if path_stem.with_suffix(ext).is_file():
            return path_stem.with_suffix(ext)
    return None


def read_mono(path: Path) -> tuple[np.ndarray, int]:
    """An audio file as float32 mono (channels averaged) and its sample rate; :class:`TrackFolderError` for a file
    too large or without a sample rate (header lies included), soundfile's errors for an unreadable one."""
    return read_audio(path)[:2]


def read_audio(path: Path, keep_channels: bool = False) -> tuple[np.ndarray, int, int]:
    """(audio, sample rate, the file's channels): float32 mono as :func:`read_mono` does it, or with
    ``keep_channels`` ``(n, channels)`` for a file of several channels (a mono file stays 1-D)."""
    with sf.SoundFile(path) as f:
        if f.frames * f.channels > MAX_AUDIO_SAMPLES:
            raise TrackFolderError(f"{f.frames} frames x {f.channels} channels is over the limit of "
                                   f"{MAX_AUDIO_SAMPLES} samples")
        if f.samplerate <= 0 or f.channels <= 0:
            raise TrackFolderError(f"invalid header ({f.samplerate} Hz, {f.channels} channels)")
        keep = keep_channels and f.channels > 1
        if f.frames < diskaudio.BLOCK:
            data, sr = f.read(dtype="float32", always_2d=True), f.samplerate
            if keep:
                return np.ascontiguousarray(data, dtype=np.float32), sr, f.channels
            return np.ascontiguousarray(data.mean(axis=1), dtype=np.float32), sr, f.channels
        return _decode_mapped(f, keep), f.samplerate, f.channels


def _decode_mapped(f: sf.SoundFile, keep_channels: bool = False) -> np.ndarray:
    """A long file decoded block by block into a scratch file, returned mapped read-only (never whole in memory)."""
    path, out = diskaudio.new_file(f.frames, "decoded-", f.channels if keep_channels else 1)
    pos = 0
    try:
        for block in f.blocks(blocksize=diskaudio.BLOCK, dtype="float32", always_2d=True):
            if not keep_channels:
                block = block.mean(axis=1) if block.shape[1] > 1 else block[:, 0]
            n = min(len(block), f.frames - pos)
            out.write(pos, block[:n])
            pos += n
            if pos >= f.frames:
                break
    except BaseException:
        out.close()
        path.unlink(missing_ok=True)
        raise
    arr = diskaudio.finish(path, out)
    return arr if pos == len(arr) else arr[:pos]  # a header that promised more frames than the file holds


def _stem_name(key) -> str | None:
    """A stem key usable as a file name in the audio folder (never a path out of it), or None."""
    name = str(key) if isinstance(key, (str, int)) and not isinstance(key, bool) else ""
    if not name or name in (".", "..") or any(c in name for c in "/\\\0") or len(name) > 200:
        return None
    return name


def read_metadata(track_dir: str | Path) -> dict:
    """A track's ``metadata.yaml``; :class:`TrackFolderError` if it is missing, unreadable or not Slakh metadata."""
    meta_path = Path(track_dir) / "metadata.yaml"
    if not meta_path.is_file():
        raise TrackFolderError(f"{track_dir}: not a Slakh track folder: no metadata.yaml")
    try:
        text = meta_path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise TrackFolderError(f"{meta_path}: unreadable YAML: not UTF-8 text") from None
    except OSError as exc:
        raise TrackFolderError(f"{meta_path}: cannot read: {exc.strerror or exc}") from None
    try:  # also refuses too deep nesting, "billion laughs" aliases and tagged values PyYAML cannot build
        _, metadata = load_yaml(text, str(meta_path))
    except YamlError as exc:
        raise TrackFolderError(f"{meta_path}: unreadable YAML: {exc.detail}") from None
    if not isinstance(metadata, dict) or not isinstance(metadata.get("stems"), dict):
        raise TrackFolderError(f"{meta_path}: no 'stems' mapping — not Slakh metadata")
    return metadata


def load_track_folder(path: str | Path, *, keep_channels: bool = False) -> TrackFolder:
    """Read metadata, stems, mix and source MIDI; stems of unequal length are zero-padded to the longest.

    Audio is mono (a stereo file folded down to the mean of its channels) unless ``keep_channels``: then a
    stereo file is ``(n, 2)`` (a mono file of the same folder stays 1-D)."""
    path = Path(path)
    metadata = read_metadata(path)
    notes: list[str] = []
    audio_dir = path / "stems"
    named = metadata.get("audio_dir")
    if isinstance(named, str) and _stem_name(Path(named).name):  # readers use only the basename
        audio_dir = path / Path(named).name
        if not audio_dir.is_dir():
            audio_dir = path / "stems"
    stems: dict[str, np.ndarray] = {}
    rates = set()
    n_channels = 1
    for key in metadata["stems"]:
        name = _stem_name(key)
        if name is None:
            notes.append(f"stem key {str(key)[:60]!r} is not a file name: skipped")
            continue
        f = audio_file(audio_dir / name)
        if f is None:
            continue
        try:
            stems[name], sr, chans = read_audio(f, keep_channels)
        except _AUDIO_ERRORS as exc:
            notes.append(f"{f.name}: unreadable audio ({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})")
            continue
        rates.add(sr)
        n_channels = max(n_channels, chans)
    mix = None
    mix_file = audio_file(path / "mix")
    if mix_file:
        try:
            mix, sr, chans = read_audio(mix_file, keep_channels)
            rates.add(sr)
            n_channels = max(n_channels, chans)
        except _AUDIO_ERRORS as exc:
            notes.append(f"{mix_file.name}: unreadable audio ({str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__})")
    if not stems and mix is None:
        raise TrackFolderError(f"{path}: no stem or mix audio found")
    if len(rates) > 1:
        raise TrackFolderError(f"{path}: stems and mix have different sample rates {sorted(rates)}")
    length = max([len(a) for a in stems.values()] + ([len(mix)] if mix is not None else []))
    for k, a in stems.items():
        if len(a) < length:
            notes.append(f"{k}: {length - len(a)} samples shorter than the longest file, padded")
            stems[k] = diskaudio.pad_to(a, length)
    song = None
    if (path / "all_src.mid").is_file():
        try:
            song = load_song(path / "all_src.mid")
        except MidiLoadError as exc:
            notes.append(str(exc))
    return TrackFolder(path, metadata, rates.pop(), stems, mix, song, notes, n_channels)
