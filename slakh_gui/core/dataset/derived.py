"""Derived data from a Slakh-layout dataset, as slakh-utils makes it: format/sample-rate conversion and submixes.

- :func:`convert` copies a dataset (or one track) into a new tree of the same shape, converting ``mix.*`` and
  ``stems/*`` to FLAC or WAV, optionally resampled (``scipy.signal.resample_poly``), always 16-bit, and copying
  ``metadata.yaml``, ``all_src.mid`` and ``MIDI/`` (slakh-utils ``conversion/flac_converter.py`` and
  ``resampling/resample.py``). Without resampling the conversion is lossless (same samples).
- :func:`submix` writes, in each track, ``<submix_name>/<group>.<ext>`` for every recipe group plus
  ``residuals.<ext>`` (stems in no group), exactly where and as slakh-utils' ``submixes/submixes.py`` does: the
  folder and file names are the recipe file's name and the group names lower-cased with spaces as underscores
  (``band/piano.flac`` ... ``band/residuals.flac``); a group with no stems is written as silence.

Every file is written atomically and a file already up to date is skipped, so a cancelled or killed run can simply
be run again. A track that cannot be read is reported in the result and the run goes on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from slakh_gui.core.audio_io import FORMATS, atomic_path, atomic_write_text, to_int16, write_audio
from slakh_gui.core.dataset.dataset_stats import audio_file, read_metadata, read_mono, stem_files, stems_dir
from slakh_gui.core.dataset.recipes import RESIDUAL, Recipe, load_recipe
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.core.render import layout
from slakh_gui.core.render.track_folder import TrackFolderError
from slakh_gui.core.walk import TrackRef, discover_tracks

RESIDUALS_FILE = "residuals"  # slakh-utils' name for the residual submix file
MIN_RATE, MAX_RATE = 1000, 384000


class DerivedError(SlakhError, ValueError):
    """Conversion or submix options that cannot be used (bad rate or format, output inside the source)."""


@dataclass
class DerivedResult:
    """What a run did: tracks done, files written and skipped as up to date, tracks that failed (label, reason)."""

    tracks: int = 0
    written: int = 0
    up_to_date: int = 0
    failed: list[tuple[str, str]] = field(default_factory=list)
    clipped: dict[str, int] = field(default_factory=dict)  # submix file -> samples clipped at 16-bit full scale

    def as_dict(self) -> dict:
        return {"tracks": self.tracks, "written": self.written, "up_to_date": self.up_to_date,
                "failed": [{"track": t, "reason": r} for t, r in self.failed], "clipped": dict(self.clipped)}


def file_ready(name: str) -> str:
    """slakh-utils' ``_file_ready_string``: ``"Favorite Piano"`` -> ``"favorite_piano"``."""
    return name.replace(" ", "_").lower()


def resample(audio: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Polyphase resampling (scipy ``resample_poly``, Kaiser window) from ``sr_in`` to ``sr_out``."""
    if sr_in == sr_out:
        return audio
    from scipy.signal import resample_poly

    g = math.gcd(int(sr_in), int(sr_out))
    return resample_poly(audio.astype(np.float64), sr_out // g, sr_in // g).astype(np.float32)


def _audio_up_to_date(path: Path, sample_rate: int, frames: int | None = None) -> bool:
    try:
        info = sf.info(str(path))
    except (RuntimeError, sf.LibsndfileError):
        return False
    return (info.samplerate == sample_rate and info.subtype == "PCM_16" and info.channels == 1
            and (frames is None or info.frames == frames))


def _copy_if_changed(src: Path, dst: Path) -> bool:
    """Copy ``src`` to ``dst`` atomically unless ``dst`` already has the same bytes; True if written."""
    data = src.read_bytes()
    if dst.is_file() and dst.stat().st_size == len(data) and dst.read_bytes() == data:
        return False
    dst.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(dst) as tmp:
        tmp.write_bytes(data)
    return True


def _out_rate(sr_in: int, sample_rate: int | None) -> int:
    return int(sample_rate) if sample_rate else int(sr_in)


def _convert_audio(src: Path, dst_stem: Path, fmt: str, sample_rate: int | None, res: DerivedResult) -> None:
    """One audio file -> ``dst_stem.<fmt>`` (skipped when a file with the target rate already exists there)."""
    dst = dst_stem.with_suffix(f".{fmt}")
    sr_in = sf.info(str(src)).samplerate
    sr_out = _out_rate(sr_in, sample_rate)
    expected = None
    if sr_out == sr_in:
        expected = sf.info(str(src)).frames
    if _audio_up_to_date(dst, sr_out, expected):
        res.up_to_date += 1
        return
    audio, sr = read_mono(src)
    write_audio(dst, to_int16(resample(audio, sr, sr_out)), sr_out, fmt)
    res.written += 1


def _rewrite_metadata(src: Path, dst: Path, sample_rate: int | None, res: DerivedResult) -> None:
    """Copy ``metadata.yaml``; ours (with ``slakh_studio``) gets its ``sample_rate`` updated, others stay as is."""
    metadata = read_metadata(src.parent)
    extras = metadata.get("slakh_studio")
    if sample_rate and isinstance(extras, dict) and extras.get("sample_rate") != int(sample_rate):
        extras["sample_rate"] = int(sample_rate)
        text = layout.dump_metadata(metadata)
        if dst.is_file() and dst.read_text(encoding="utf-8") == text:
            res.up_to_date += 1
            return
        atomic_write_text(dst, text)
        res.written += 1
    elif _copy_if_changed(src, dst):
        res.written += 1
    else:
        res.up_to_date += 1


def _convert_track(ref: TrackRef, out: Path, fmt: str, sample_rate: int | None, res: DerivedResult,
                   cancel: CancelToken | None) -> None:
    metadata = read_metadata(ref.path)  # a folder without readable metadata is not a track: fail it
    out.mkdir(parents=True, exist_ok=True)
    mix = audio_file(ref.path / "mix")
    if mix is not None:
        _convert_audio(mix, out / "mix", fmt, sample_rate, res)
    files = stem_files(ref.path, metadata)
    if files:
        (out / stems_dir(ref.path, metadata).name).mkdir(exist_ok=True)
    for key, f in files.items():
        check(cancel)
        _convert_audio(f, out / stems_dir(ref.path, metadata).name / key, fmt, sample_rate, res)
    if (ref.path / "all_src.mid").is_file():
        if _copy_if_changed(ref.path / "all_src.mid", out / "all_src.mid"):
            res.written += 1
        else:
            res.up_to_date += 1
    midi_dir = ref.path / Path(str(metadata.get("midi_dir") or "MIDI")).name
    if not midi_dir.is_dir():
        midi_dir = ref.path / "MIDI"
    if midi_dir.is_dir():
        for f in sorted(midi_dir.glob("*.mid")):
            if _copy_if_changed(f, out / midi_dir.name / f.name):
                res.written += 1
            else:
                res.up_to_date += 1
    _rewrite_metadata(ref.path / "metadata.yaml", out / "metadata.yaml", sample_rate, res)  # last: marks done


def _check_options(fmt: str, sample_rate: int | None) -> None:
    if fmt not in FORMATS:
        raise DerivedError(f"unknown audio format {fmt!r} (use flac or wav)")
    if sample_rate is not None and not MIN_RATE <= int(sample_rate) <= MAX_RATE:
        raise DerivedError(f"sample rate {sample_rate} is out of range ({MIN_RATE}-{MAX_RATE} Hz)")


def _rel(src: Path, ref: TrackRef) -> Path:
    """Where a track goes under the output root: its path relative to ``src`` (a track itself: its name)."""
    if ref.path == src:
        return Path(ref.path.name) if not ref.split else Path(ref.split) / ref.path.name
    return ref.path.relative_to(src)  # lexically: split folders may be links (a mirdata data_home's often are)


def convert(src: str | Path, dst: str | Path, *, sample_rate: int | None = None, fmt: str = "flac",
            progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> DerivedResult:
    """Copy the tracks under ``src`` to ``dst`` (same relative layout: split folders kept), audio converted to
    ``fmt`` at ``sample_rate`` (None: each file's own rate), 16-bit mono."""
    _check_options(fmt, sample_rate)
    src, dst = Path(src), Path(dst)
    refs = discover_tracks(src)
    s, d = src.resolve(), dst.resolve()
    if d == s or s in d.parents or d in s.parents:
        raise DerivedError(f"the output {dst} must be outside the source {src} (and not contain it)")
    layout.check_writable(dst)
    return _each_track(refs, "convert", "converting tracks", progress, cancel,
                       lambda ref, res: _convert_track(ref, dst / _rel(src, ref), fmt, sample_rate, res, cancel))


def _submix_track(ref: TrackRef, recipe: Recipe, folder: str, fmt: str | None, overwrite: bool,
                  res: DerivedResult, cancel: CancelToken | None) -> None:
    metadata = read_metadata(ref.path)
    files = stem_files(ref.path, metadata)
    mix_path = audio_file(ref.path / "mix")
    ext = fmt or ((mix_path or next(iter(files.values()), Path("x.flac"))).suffix.lstrip(".") or "flac")
    if ext not in FORMATS:
        ext = "flac"
    stems: dict[str, np.ndarray] = {}
    rates = set()
    for key, f in files.items():
        check(cancel)
        try:
            stems[key], sr = read_mono(f)
        except (RuntimeError, sf.LibsndfileError) as exc:
            raise TrackFolderError(f"{f}: unreadable audio ({exc})") from None
        rates.add(sr)
    length = max((len(a) for a in stems.values()), default=0)
    if mix_path is not None:
        info = sf.info(str(mix_path))
        rates.add(info.samplerate)
        length = max(length, info.frames)
    if not rates:
        raise TrackFolderError(f"{ref.path}: no stem or mix audio")
    if len(rates) > 1:
        raise TrackFolderError(f"{ref.path}: stems and mix have different sample rates {sorted(rates)}")
    sr = rates.pop()
    out_dir = ref.path / file_ready(folder)
    out_dir.mkdir(exist_ok=True)
    groups = recipe.submix(stems, metadata, length)
    for group, audio in groups.items():
        name = RESIDUALS_FILE if group == RESIDUAL else file_ready(group)
        path = out_dir / f"{name}.{ext}"
        if not overwrite and _audio_up_to_date(path, sr, length):
            res.up_to_date += 1
            continue
        clipped = int(np.count_nonzero(np.abs(audio) > 32767 / 32768))
        if clipped:
            res.clipped[f"{ref.label}/{path.parent.name}/{path.name}"] = clipped
        write_audio(path, to_int16(audio), sr, ext)
        res.written += 1


def submix(src: str | Path, recipe: str | Path | Recipe, name: str | None = None, *, fmt: str | None = None,
           overwrite: bool = False, progress: ProgressFn | None = None,
           cancel: CancelToken | None = None) -> DerivedResult:
    """Write the ``recipe``'s submixes into every track under ``src``: ``TrackNNNNN/<name>/<group>.<ext>`` and
    ``residuals.<ext>`` (``name`` defaults to the recipe's name, ``ext`` to the track's mix format).

    Existing submix files of the right rate and length are kept unless ``overwrite``."""
    if fmt is not None and fmt not in FORMATS:
        raise DerivedError(f"unknown audio format {fmt!r} (use flac or wav)")
    rec = recipe if isinstance(recipe, Recipe) else load_recipe(recipe)
    folder = name or rec.name
    if not folder.strip() or "/" in folder or folder.strip() in (".", ".."):
        raise DerivedError(f"submix name {folder!r} must be a plain folder name")
    if file_ready(folder) in ("stems", "midi"):
        raise DerivedError(f"submix name {folder!r} would clash with the track's own {file_ready(folder)}/ folder")
    refs = discover_tracks(src)
    return _each_track(refs, "submix", "mixing groups", progress, cancel,
                       lambda ref, res: _submix_track(ref, rec, folder, fmt, overwrite, res, cancel))


def _each_track(refs: list[TrackRef], stage: str, message: str, progress: ProgressFn | None,
                cancel: CancelToken | None, work) -> DerivedResult:
    """Run ``work(ref, result)`` on every track; an unreadable track is recorded in ``result.failed`` and the rest
    go on (a permission error stops everything: no other track would fare better)."""
    res = DerivedResult()
    for i, ref in enumerate(refs):
        check(cancel)
        report(progress, stage, i, len(refs), message, item=ref.label)
        try:
            work(ref, res)
            res.tracks += 1
        except (TrackFolderError, RuntimeError, sf.LibsndfileError, OSError) as exc:
            if isinstance(exc, PermissionError):
                raise
            res.failed.append((ref.label, str(exc).splitlines()[0] if str(exc) else type(exc).__name__))
    report(progress, stage, len(refs), len(refs), "done")
    return res
