"""The user's mixer over rendered stems: faders, mute, solo, a master fader, levels and export.

The stems as rendered are the auto-mix (Slakh's loudness-normalized, peak-limited mix: the stems in a track folder
sum to ``mix.flac``). Faders are dB *relative to that*: every strip at 0 dB, nothing muted or soloed, reproduces
the auto-mix. Rules:

- mute always silences a strip;
- if any strip is soloed, only soloed (and unmuted) strips sound;
- a sounding strip's linear gain is ``10 ** ((gain_db + master_db) / 20)``;
- a stem with no strip behaves like a default strip (0 dB, not muted, not soloed, centred).

Pan (``Strip.pan``, -1 = hard left .. 0 = centre .. +1 = hard right) follows a **balance law**, the same for mono
and stereo sources: the left channel's gain is ``min(1, 1 - pan)``, the right's ``min(1, 1 + pan)`` (see
:func:`pan_gains`). At centre both are 1: a stereo stem plays exactly as rendered (its own left and right), and a
mono stem goes to both outputs at full level, exactly the mono output the player gave before pan existed. Hard left
silences the right channel (of a stereo stem: its right channel is dropped, the left kept as is).

``mix_block_stereo`` is what the audio callback calls (see ``playback.Player``): it allocates nothing.
``export_mix`` writes the current mix (and optionally every sounding stem, gained) as 16-bit WAV/FLAC, atomically,
and never writes a clipped file silently: see ``on_clip``.

Everything here is Qt-free; the GUI wraps it.
"""

from __future__ import annotations

import math
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from slakh_gui.core import audio_io, diskaudio
from slakh_gui.core.constants import TARGET_PEAK
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.render.loudness import integrated_loudness

GAIN_MIN_DB = -120.0  # fader range; the GUI's fader bottom should map to mute rather than to -inf dB
GAIN_MAX_DB = 24.0
FULL_SCALE = 32767.0 / 32768.0  # the largest magnitude 16-bit PCM holds on both sides
ON_CLIP = ("refuse", "normalize", "clip")
_CHUNK = 1 << 16
_STRIP_FIELDS = {"gain_db", "mute", "solo", "pan"}
_STATE_VERSION = 1


def _check_db(what: str, db) -> float:
    if isinstance(db, bool) or not isinstance(db, (int, float, np.integer, np.floating)):
        raise ValueError(f"{what} must be a number of dB, got {db!r}")
    db = float(db)
    if not math.isfinite(db) or not GAIN_MIN_DB <= db <= GAIN_MAX_DB:
        raise ValueError(f"{what} must be between {GAIN_MIN_DB:g} and {GAIN_MAX_DB:g} dB, got {db!r} "
                         "(use mute to silence a strip)")
    return db


def _check_pan(what: str, pan) -> float:
    if isinstance(pan, bool) or not isinstance(pan, (int, float, np.integer, np.floating)):
        raise ValueError(f"{what} must be a number from -1 (left) to +1 (right), got {pan!r}")
    pan = float(pan)
    if not math.isfinite(pan) or not -1.0 <= pan <= 1.0:
        raise ValueError(f"{what} must be from -1 (left) to +1 (right), got {pan!r}")
    return pan


def pan_gains(pan: float) -> tuple[float, float]:
    """(left, right) gains of the balance law: ``(min(1, 1 - pan), min(1, 1 + pan))``; centre = (1, 1)."""
    return min(1.0, 1.0 - pan), min(1.0, 1.0 + pan)


def db_to_gain(db: float) -> float:
    return 10.0 ** (db / 20.0)


def gain_to_db(gain: float) -> float:
    return 20.0 * math.log10(gain) if gain > 0 else float("-inf")


def peak_db(audio: np.ndarray) -> float:  # block by block: a memory-mapped stem is not kept resident
    """Sample peak in dBFS (-inf for silence or no samples)."""
    return gain_to_db(diskaudio.peak(audio))


@dataclass
class Strip:
    """One channel strip: fader (dB relative to the auto-mix), mute, solo, pan (-1 left .. +1 right)."""

    gain_db: float = 0.0
    mute: bool = False
    solo: bool = False
    pan: float = 0.0


@dataclass
class MixerState:
    """Stem key -> Strip, plus a master fader (dB, applied to every strip)."""

    strips: dict[str, Strip] = field(default_factory=dict)
    master_db: float = 0.0

    @classmethod
    def for_stems(cls, keys) -> MixerState:
        """Default strips (the auto-mix) for these stem keys."""
        return cls({str(k): Strip() for k in keys})

    def _strip(self, key: str) -> Strip:
        try:
            return self.strips[key]
        except KeyError:
            known = ", ".join(sorted(self.strips)) or "none"
            raise KeyError(f"no mixer strip {key!r} (strips: {known})") from None

    def set_gain(self, key: str, db: float) -> None:
        self._strip(key).gain_db = _check_db(f"strip {key!r}: gain_db", db)

    def set_mute(self, key: str, mute: bool) -> None:
        self._strip(key).mute = bool(mute)

    def set_solo(self, key: str, solo: bool) -> None:
        self._strip(key).solo = bool(solo)

    def set_pan(self, key: str, pan: float) -> None:
        self._strip(key).pan = _check_pan(f"strip {key!r}: pan", pan)

    def set_master(self, db: float) -> None:
        self.master_db = _check_db("master_db", db)

    def copy(self) -> MixerState:
        """An independent copy (undo keeps states before and after an edit)."""
        return MixerState({k: Strip(s.gain_db, s.mute, s.solo, s.pan) for k, s in self.strips.items()},
                          self.master_db)

    def reset(self) -> None:
        """Back to the auto-mix: every fader at 0 dB, nothing muted or soloed, master at 0 dB."""
        for key in self.strips:
            self.strips[key] = Strip()
        self.master_db = 0.0

    @property
    def any_solo(self) -> bool:
        return any(s.solo for s in self.strips.values())

    def sounds(self, key: str) -> bool:
        """Whether this stem is heard (mute and solo rules); stems without a strip sound unless something is soloed."""
        strip = self.strips.get(key, Strip())
        return not strip.mute and (strip.solo or not self.any_solo)

    def linear_gains(self, keys=None) -> dict[str, float]:
        """Stem key -> linear gain (0.0 when silenced), master included.

        ``keys``: the stems to report (default: the strips); a key without a strip gets a default strip's gain."""
        any_solo = self.any_solo
        out = {}
        for key in (self.strips if keys is None else keys):
            strip = self.strips.get(key, Strip())
            if strip.mute or (any_solo and not strip.solo):
                out[key] = 0.0
            else:
                out[key] = db_to_gain(strip.gain_db + self.master_db)
        return out

    @property
    def any_pan(self) -> bool:
        return any(s.pan for s in self.strips.values())

    def stereo_gains(self, keys=None) -> dict[str, tuple[float, float]]:
        """Stem key -> (left, right) linear gain: :meth:`linear_gains` times the strip's :func:`pan_gains`."""
        out = {}
        for key, g in self.linear_gains(keys).items():
            left, right = pan_gains(self.strips.get(key, Strip()).pan)
            out[key] = (g * left, g * right)
        return out

    def mix_gains(self, stems: dict[str, np.ndarray]) -> dict[str, float] | dict[str, tuple[float, float]]:
        """What :func:`mix_all` and :func:`export_mix` take for these stems: :meth:`stereo_gains` when a stem is
        stereo or a strip is panned (a stereo mix), else :meth:`linear_gains` (a mono mix, as before pan)."""
        if self.any_pan or any(np.ndim(a) == 2 for a in stems.values()):
            return self.stereo_gains(list(stems))
        return self.linear_gains(list(stems))

    def to_dict(self) -> dict:
        """JSON-friendly: ``{"version": 1, "master_db": x, "strips": {key: {"gain_db", "mute", "solo"}}}``, plus
        ``"pan"`` for a panned strip (a centred one is written as before pan existed)."""
        def strip(s: Strip) -> dict:
            d = {"gain_db": float(s.gain_db), "mute": bool(s.mute), "solo": bool(s.solo)}
            if s.pan:
                d["pan"] = float(s.pan)
            return d

        return {"version": _STATE_VERSION, "master_db": float(self.master_db),
                "strips": {k: strip(s) for k, s in self.strips.items()}}

    @classmethod
    def from_dict(cls, data) -> MixerState:
        """Inverse of ``to_dict``; every field is checked, errors raise ValueError naming the strip and field."""
        if not isinstance(data, dict):
            raise ValueError(f"mixer state must be a mapping, got {type(data).__name__}")
        unknown = set(data) - {"version", "master_db", "strips"}
        if unknown:
            raise ValueError(f"mixer state: unknown key(s) {', '.join(sorted(map(str, unknown)))} "
                             "(expected version, master_db, strips)")
        version = data.get("version", _STATE_VERSION)
        if version != _STATE_VERSION or isinstance(version, bool):
            raise ValueError(f"mixer state: unsupported version {version!r} (this build reads {_STATE_VERSION})")
        master = _check_db("mixer state: master_db", data.get("master_db", 0.0))
        strips_in = data.get("strips", {})
        if not isinstance(strips_in, dict):
            raise ValueError(f"mixer state: strips must be a mapping of stem key to strip, "
                             f"got {type(strips_in).__name__}")
        strips = {}
        for key, s in strips_in.items():
            if not isinstance(key, str) or not key:
                raise ValueError(f"mixer state: stem keys must be non-empty strings, got {key!r}")
            where = f"mixer state: strip {key!r}"
            if not isinstance(s, dict):
                raise ValueError(f"{where} must be a mapping with gain_db, mute, solo, got {type(s).__name__}")
            bad = set(s) - _STRIP_FIELDS
            if bad:
                raise ValueError(f"{where}: unknown field(s) {', '.join(sorted(map(str, bad)))} "
                                 "(expected gain_db, mute, solo, pan)")
            gain = _check_db(f"{where}: gain_db", s.get("gain_db", 0.0))
            pan = _check_pan(f"{where}: pan", s.get("pan", 0.0))
            flags = {}
            for name in ("mute", "solo"):
                value = s.get(name, False)
                if not isinstance(value, bool):
                    raise ValueError(f"{where}: {name} must be true or false, got {value!r}")
                flags[name] = value
            strips[key] = Strip(gain, **flags, pan=pan)
        return cls(strips, master)


# ---------------------------------------------------------------------------------------------------------------
# Mixing

_tls = threading.local()


def _scratch_buffer(frames: int) -> np.ndarray:
    buf = getattr(_tls, "scratch", None)
    if buf is None or len(buf) < frames:
        buf = _tls.scratch = np.empty(max(frames, 4096), dtype=np.float32)
    return buf


def mix_block(stems: dict[str, np.ndarray], gains: dict[str, float], start: int, frames: int,
              out: np.ndarray | None = None, *, scratch: np.ndarray | None = None) -> np.ndarray:
    """float32 mono ``sum(gains[k] * stems[k][start:start + frames])``, zero-padded past each stem's end.

    Only stems named in ``gains`` with a non-zero gain are read. With ``out`` (float32, at least ``frames`` long)
    the result is written into ``out[:frames]`` and nothing is allocated: the per-stem product goes through
    ``scratch`` (or a per-thread buffer kept between calls). Safe to call from an audio callback."""
    if out is None:
        out = np.zeros(frames, dtype=np.float32)
    else:
        if len(out) < frames:
            raise ValueError(f"mix_block: out holds {len(out)} frames, {frames} asked for")
        out = out[:frames]
        out.fill(0.0)
    if start < 0:
        raise ValueError(f"mix_block: start must be >= 0, got {start}")
    tmp = scratch if scratch is not None and len(scratch) >= frames else _scratch_buffer(frames)
    for key, g in gains.items():
        if not g:
            continue
        stem = stems.get(key)
        if stem is None:
            continue
        n = min(frames, len(stem) - start)
        if n <= 0:
            continue
        seg = stem[start:start + n]
        if g == 1.0:
            np.add(out[:n], seg, out=out[:n])
        else:
            t = tmp[:n]
            np.multiply(seg, np.float32(g), out=t)
            np.add(out[:n], t, out=out[:n])
    return out


def mix_block_stereo(stems: dict[str, np.ndarray], gains: dict[str, tuple[float, float]], start: int, frames: int,
                     out: np.ndarray, *, scratch: np.ndarray | None = None) -> np.ndarray:
    """:func:`mix_block` into a float32 ``(frames, 2)`` ``out``: ``gains[k] = (left, right)``; a mono stem (1-D) is
    sent to both channels, a stereo stem ``(n, 2)`` keeps its own left and right. Allocates nothing."""
    if out.ndim != 2 or out.shape[1] != 2 or len(out) < frames:
        raise ValueError(f"mix_block_stereo: out must be (>= {frames}, 2), got {out.shape}")
    if start < 0:
        raise ValueError(f"mix_block_stereo: start must be >= 0, got {start}")
    out = out[:frames]
    out.fill(0.0)
    tmp = scratch if scratch is not None and len(scratch) >= frames else _scratch_buffer(frames)
    for key, (gl, gr) in gains.items():
        stem = stems.get(key)
        if stem is None or not (gl or gr):
            continue
        n = min(frames, len(stem) - start)
        if n <= 0:
            continue
        seg = stem[start:start + n]
        t = tmp[:n]
        for ch, g in ((0, gl), (1, gr)):
            if not g:
                continue
            col = out[:n, ch]
            src = seg if seg.ndim == 1 else seg[:, ch]
            if g == 1.0:
                np.add(col, src, out=col)
            else:
                np.multiply(src, np.float32(g), out=t)
                np.add(col, t, out=col)
    return out


def _is_pair(g) -> bool:
    return isinstance(g, (tuple, list, np.ndarray))


def mix_channels(stems: dict[str, np.ndarray], gains: dict) -> int:
    """1 (a mono mix) or 2: a stem is stereo or a gain is a (left, right) pair."""
    return 2 if any(np.ndim(a) == 2 for a in stems.values()) or any(_is_pair(g) for g in gains.values()) else 1


def _gain_vector(g, channels: int):
    """A float (mono) or a float64 (left, right) vector (stereo) that broadcasts over a block."""
    if channels == 1:
        return float(g)
    return np.asarray(g if _is_pair(g) else (g, g), dtype=np.float64)


def _gained(seg: np.ndarray, g, channels: int) -> np.ndarray:
    """``seg`` times its gain as a float64 block of ``channels`` (a mono stem in a stereo mix: to both sides)."""
    if channels == 2 and seg.ndim == 1:
        return seg[:, None] * g
    if channels == 1 and seg.ndim == 2:
        return diskaudio.fold(seg) * g
    return seg * g


def mix_all(stems: dict[str, np.ndarray], gains: dict, length: int | None = None,
            out: np.ndarray | diskaudio.FrameWriter | None = None) -> np.ndarray:
    """The whole mix as float32 (summed in float64, chunk by chunk); ``length`` defaults to the longest stem.
    Gains are floats or (left, right) pairs (:meth:`MixerState.mix_gains`); the mix is ``(length, 2)`` when a stem
    is stereo or a gain is a pair (:func:`mix_channels`), else 1-D as before.
    ``out``: a zeroed float32 array of that shape to write it into (e.g. a memory-mapped file: its pages and the
    stems' are released behind), or a :class:`diskaudio.FrameWriter` of that shape (returned mapped)."""
    if length is None:
        length = max((len(s) for s in stems.values()), default=0)
    ch = mix_channels(stems, gains)
    mix = np.zeros(diskaudio.frame_shape(length, ch), dtype=np.float32) if out is None else out
    acc = np.zeros(diskaudio.frame_shape(min(length, _CHUNK), ch), dtype=np.float64)
    live = [(stems[k], _gain_vector(g, ch)) for k, g in gains.items() if np.any(g) and k in stems]
    for start in range(0, length, _CHUNK):
        part = acc[: min(_CHUNK, length - start)]
        part[:] = 0.0
        for stem, g in live:
            seg = stem[start:start + len(part)]
            part[: len(seg)] += _gained(seg, g, ch)
            diskaudio.release(stem, start, start + len(part))
        diskaudio.store(mix, start, part)
        diskaudio.release(mix, start, start + len(part))
    for stem, _ in live:  # pages mapped around the chunks too (fault-around, readahead)
        diskaudio.release(stem)
    diskaudio.release(mix)
    return mix.open() if isinstance(mix, diskaudio.FrameWriter) else mix


def mix_levels(stems: dict[str, np.ndarray], gains: dict, sr: int) -> Levels:
    """:func:`levels` of :func:`mix_all`'s mix (stereo loudness for a stereo mix), summed into a scratch file
    rather than memory."""
    import tempfile

    length = max((len(s) for s in stems.values()), default=0)
    with tempfile.TemporaryDirectory(dir=diskaudio.scratch_dir(), prefix="levels-") as tmp:
        mix = mix_all(stems, gains, length, out=diskaudio.FrameWriter(Path(tmp) / "mix.npy", length,
                                                                     mix_channels(stems, gains)))
        try:
            return levels(mix, sr)
        finally:
            del mix


@dataclass(frozen=True)
class Levels:
    lufs: float  # BS.1770-4 integrated loudness; -inf for silence or audio shorter than one 400 ms block
    peak_dbfs: float  # sample peak; -inf for silence


def levels(audio: np.ndarray, sr: int) -> Levels:
    """Integrated loudness and sample peak of mono ``(n,)`` or stereo ``(n, 2)`` audio (BS.1770-4: the channels'
    powers summed; the peak over both). Never NaN: silence and too-short audio give -inf."""
    audio = np.asarray(audio)
    if audio.ndim not in (1, 2):
        raise ValueError("levels expects mono (n,) or multichannel (n, channels) audio")
    if audio.size == 0:
        return Levels(float("-inf"), float("-inf"))
    peak = diskaudio.peak(audio)
    if not math.isfinite(peak):
        raise ValueError("levels: audio contains NaN or infinite samples")
    peak_db = gain_to_db(peak)
    if peak == 0.0 or len(audio) < math.ceil(0.4 * sr):
        return Levels(float("-inf"), peak_db)
    lufs = integrated_loudness(audio, sr)
    return Levels(lufs if math.isfinite(lufs) else float("-inf"), peak_db)


# ---------------------------------------------------------------------------------------------------------------
# Export


class ClippingError(SlakhError):
    """The export would clip; nothing was written. ``peak_dbfs``, ``clipped_samples`` and ``per_file`` say how."""

    def __init__(self, message: str, peak_dbfs: float, clipped_samples: int, per_file: dict[str, int]):
        super().__init__(message)
        self.peak_dbfs = peak_dbfs
        self.clipped_samples = clipped_samples
        self.per_file = per_file


@dataclass
class ExportReport:
    paths: list[Path]  # files written: the mix first, then the stems
    peak_dbfs: float  # sample peak over everything written, as the faders made it (before normalize/clip)
    clipped_samples: int  # samples hard-clipped in the written files (non-zero only with on_clip="clip")
    gain_applied_db: float = 0.0  # uniform gain applied by on_clip="normalize" (0.0 otherwise)
    over_samples: int = 0  # samples that were over full scale before the on_clip policy


def _gain32(g):
    """A gain as float32: a scalar, or a (left, right) vector broadcasting over ``(n, 2)`` blocks."""
    return np.asarray(g, dtype=np.float32) if _is_pair(g) else np.float32(g)


def _scan(audio: np.ndarray, g, length: int) -> tuple[float, int]:
    """(peak, samples over FULL_SCALE) of ``audio * g`` computed exactly as it will be written (float32)."""
    peak, over = 0.0, 0
    g32 = _gain32(g)
    for start in range(0, min(len(audio), length), _CHUNK):
        part = np.abs(np.multiply(audio[start:start + _CHUNK], g32, dtype=np.float32))
        peak = max(peak, float(part.max()))
        over += int(np.count_nonzero(part > FULL_SCALE))
        diskaudio.release(audio, start, start + _CHUNK)
    return peak, over


def _write_pcm(path: Path, audio: np.ndarray, g, length: int, clip: bool, sr: int, fmt: str) -> None:
    """``audio * g`` (float32, zero-padded or cut to ``length``, clipped if asked) as 16-bit PCM, block by block."""
    g32 = _gain32(g)

    def scale(block: np.ndarray) -> np.ndarray:
        x = np.multiply(block, g32, dtype=np.float32)
        return np.clip(x, -FULL_SCALE, FULL_SCALE, out=x) if clip else x

    n = min(len(audio), length)
    source = audio[:n]
    if n < length:  # a shorter stem: padded with silence
        source = diskaudio.pad_to(audio, length)
    diskaudio.write_pcm(path, source, scale, sr, fmt)


def export_mix(path, stems: dict[str, np.ndarray], state: MixerState, sr: int = audio_io.SAMPLE_RATE,
               fmt: str | None = None, *, stems_dir=None, on_clip: str = "refuse") -> ExportReport:
    """Write the mix as the mixer makes it (16-bit WAV or FLAC, format from ``fmt`` or ``path``'s suffix): mono, or
    stereo with the strips' pan when a stem is stereo or a strip is panned (:meth:`MixerState.mix_gains`; every
    stem file is then stereo too, a mono stem panned into both channels).

    ``stems_dir``: also write every stem that sounds, with its fader applied, as ``stems_dir/<key>.<fmt>`` (all the
    mix's length), so that they sum to the mix. Each file is written atomically (temp file + rename).

    Clipping (any sample with magnitude over 32767/32768 in any file to be written) is never written silently:
    ``on_clip="refuse"`` raises ClippingError and writes nothing; ``"normalize"`` scales everything (mix and stems)
    by one gain so the loudest peak is -1 dBFS; ``"clip"`` hard-clips and reports how many samples it clipped."""
    if on_clip not in ON_CLIP:
        raise ValueError(f"on_clip must be one of {', '.join(ON_CLIP)}, got {on_clip!r}")
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".")).lower()
    if fmt not in audio_io.FORMATS:
        raise ValueError(f"unknown audio format {fmt!r} for {path.name} (use flac or wav)")
    gains = state.mix_gains(stems)
    length = max((len(s) for s in stems.values()), default=0)
    ch = mix_channels(stems, gains)
    with tempfile.TemporaryDirectory(dir=diskaudio.scratch_dir(), prefix="export-") as tmp:
        mix = mix_all(stems, gains, length, out=diskaudio.FrameWriter(Path(tmp) / "mix.npy", length, ch))
        if ch == 2:  # stem files as they sound: a mono stem is written to both channels, panned
            stems = {k: a if a.ndim == 2 else np.broadcast_to(a[:, None], (len(a), 2)) for k, a in stems.items()}
        return _export(path, mix, stems, gains, length, sr, fmt, stems_dir, on_clip)


def _export(path: Path, mix: np.ndarray, stems: dict[str, np.ndarray], gains: dict, length: int,
            sr: int, fmt: str, stems_dir, on_clip: str) -> ExportReport:
    """export_mix once the mix is summed (into a scratch file)."""
    sounding = [k for k in stems if np.any(np.asarray(gains[k]) > 0.0)]
    scans = {path.name: _scan(mix, 1.0, length)}
    if stems_dir is not None:
        for k in sounding:
            scans[f"{k}.{fmt}"] = _scan(stems[k], gains[k], length)
    peak = max(p for p, _ in scans.values())
    over = sum(n for _, n in scans.values())
    peak_db = gain_to_db(peak)
    extra = 1.0
    if over:
        per_file = {name: n for name, (_, n) in scans.items() if n}
        if on_clip == "refuse":
            where = ", ".join(f"{name}: {n}" for name, n in per_file.items())
            raise ClippingError(
                f"export would clip: peak {peak_db:+.2f} dBFS, {over} sample(s) over full scale ({where}). "
                "Nothing was written. Lower the master or the faders, or export with on_clip='normalize' "
                "(scale to a -1 dBFS peak) or on_clip='clip'.", peak_db, over, per_file)
        if on_clip == "normalize":
            extra = db_to_gain(TARGET_PEAK) / peak  # to Slakh's target peak
    clip = on_clip == "clip"
    out_stems = Path(stems_dir) if stems_dir is not None else None
    if out_stems is not None:
        out_stems.mkdir(parents=True, exist_ok=True)
    _write_pcm(path, mix, extra, length, clip, sr, fmt)
    paths = [path]
    if out_stems is not None:
        for k in sounding:
            p = out_stems / f"{k}.{fmt}"
            _write_pcm(p, stems[k], np.multiply(gains[k], extra), length, clip, sr, fmt)
            paths.append(p)
    return ExportReport(paths, peak_db, over if clip else 0, gain_to_db(extra) if extra != 1.0 else 0.0, over)
