"""Slakh2100's auto-mix: BS.1770-4 loudness per stem, normalize to -13 LUFS, sum, one uniform no-clip gain.

Stems are mono ``(n,)`` or stereo ``(n, 2)`` (all alike): a stereo stem's loudness is BS.1770-4's over its two
channels, and the no-clip gain looks at the sample peak over both channels of the mix.

Stems that are digitally silent, or whose integrated loudness is -inf (every 400 ms block under BS.1770's -70 LUFS
absolute gate), cannot be normalized: they are left out of the mix and reported, never turned into NaN or noise.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from slakh_gui.core.constants import NORMALIZATION_FACTOR, TARGET_PEAK
from slakh_gui.core.diskaudio import FrameWriter, any_nonzero, release, store
from slakh_gui.core.render.loudness import integrated_loudness

_CHUNK = 1 << 16  # samples per chunk in _sum


@dataclass
class MixResult:
    """Gained stems (float32, the mix's scale), the mix, and the numbers metadata.yaml records."""

    stems: dict[str, np.ndarray]
    mix: np.ndarray
    loudness: dict[str, float]  # integrated loudness before normalization, mixed stems only
    overall_gain: float
    skipped: dict[str, str] = field(default_factory=dict)  # stem key -> why it is not in the mix
    normalization_factor: float = NORMALIZATION_FACTOR
    target_peak: float = TARGET_PEAK


def loudness_mix(stems: dict[str, np.ndarray], sample_rate: int, *, normalization_factor: float = NORMALIZATION_FACTOR,
                 target_peak: float = TARGET_PEAK, threads: int = 2,
                 loudness: dict[str, float] | None = None, in_place: bool = False) -> MixResult:
    """Normalize each stem to ``normalization_factor`` LUFS, sum, and scale everything so the mix peak is at most
    ``target_peak`` dBFS (sample peak), exactly as Slakh2100's generator did.

    ``loudness`` may hold measurements already made (e.g. while other stems were rendering; a stem measured there is
    taken as not silent, so measure only stems that are not all zeros); ``in_place`` lets the
    gained stems reuse the input arrays."""
    shape = np.shape(next(iter(stems.values()))) if stems else (0,)
    gains, loudness, skipped = _stem_gains(stems, sample_rate, normalization_factor, threads, loudness)
    mix = np.zeros(shape, dtype=np.float32)
    peak = _sum(stems, gains, mix, threads)
    limit = 10.0 ** (target_peak / 20.0)
    overall_gain = limit / peak if peak >= limit else 1.0
    out = {}
    for k, g in gains.items():
        stem = stems[k] if stems[k].dtype == np.float32 and stems[k].flags.writeable and in_place else stems[k].astype(np.float32)
        stem *= np.float32(g * overall_gain)
        out[k] = stem
    mix *= np.float32(overall_gain)
    return MixResult(out, mix, loudness, overall_gain, skipped, normalization_factor, target_peak)


@dataclass
class StreamMix(MixResult):
    """:func:`stream_mix`'s result: ``stems`` are the sources as given and ``mix`` the unscaled sum; what a writer
    turns them into is ``source * np.float32(gains[k])`` and ``mix * np.float32(overall_gain)`` (the very samples
    :func:`loudness_mix` would hold)."""

    gains: dict[str, float] = field(default_factory=dict)  # stem key -> normalization gain x overall gain


def stream_mix(stems: dict[str, np.ndarray], sample_rate: int, mix_out: np.ndarray | FrameWriter, *,
               normalization_factor: float = NORMALIZATION_FACTOR, target_peak: float = TARGET_PEAK,
               threads: int = 2, loudness: dict[str, float] | None = None) -> StreamMix:
    """:func:`loudness_mix` without holding or changing any stem: stems (e.g. memory-mapped files) are read block
    by block, the unscaled sum is written into ``mix_out`` (the stems' shape, float32; a :class:`FrameWriter`'s
    file is mapped once written), and the gains are returned for the writer to apply (same numbers, same samples)."""
    gains, loudness, skipped = _stem_gains(stems, sample_rate, normalization_factor, threads, loudness)
    peak = _sum(stems, gains, mix_out, threads)
    if isinstance(mix_out, FrameWriter):
        mix_out = mix_out.open()
    limit = 10.0 ** (target_peak / 20.0)
    overall_gain = limit / peak if peak >= limit else 1.0
    sources = {k: stems[k] for k in gains}
    return StreamMix(sources, mix_out, loudness, overall_gain, skipped, normalization_factor, target_peak,
                     {k: g * overall_gain for k, g in gains.items()})


def _stem_gains(stems: dict[str, np.ndarray], sample_rate: int, normalization_factor: float, threads: int,
                known: dict[str, float] | None) -> tuple[dict[str, float], dict[str, float], dict[str, str]]:
    """(normalization gain per mixable stem, its loudness, why the others are left out), in the stems' order."""
    skipped: dict[str, str] = {}
    audible = []
    known = known or {}
    for k in stems:
        if k not in known and not any_nonzero(stems[k]):  # a measured stem was heard (a whole read saved)
            skipped[k] = "silent: the render produced only digital silence"
        else:
            audible.append(k)
    todo = [k for k in audible if k not in known]
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        measured = dict(zip(todo, pool.map(lambda k: integrated_loudness(stems[k], sample_rate), todo), strict=True))
    measured.update({k: known[k] for k in audible if k in known})
    loudness = {}
    for k in audible:
        lufs = measured[k]
        if math.isfinite(lufs):
            loudness[k] = lufs
        else:
            skipped[k] = "too quiet to measure: BS.1770 integrated loudness is -inf (all blocks under -70 LUFS)"
    gains = {k: 10.0 ** ((normalization_factor - lufs) / 20.0) for k, lufs in loudness.items()}
    return gains, loudness, skipped


def _sum(stems: dict[str, np.ndarray], gains: dict[str, float], mix: np.ndarray, threads: int = 1) -> float:
    """``mix[:] = sum(stems[k] * gains[k])`` in float64, chunk by chunk of frames (cache-sized temporaries, pages of
    mapped stems released behind); returns the sum's sample peak over every channel. With ``threads`` > 1 the frames
    are cut into that many runs of whole chunks summed at once (numpy releases the GIL): the same samples."""
    length = len(mix)
    chunks = -(-length // _CHUNK)
    runs = max(1, min(threads, chunks // 4))  # a run of at least 4 chunks is worth a thread
    if runs == 1:
        peak = _sum_frames(stems, gains, mix, 0, length)
    else:
        per = -(-chunks // runs) * _CHUNK
        with ThreadPoolExecutor(max_workers=runs) as pool:
            peak = max(pool.map(lambda s: _sum_frames(stems, gains, mix, s, min(length, s + per)),
                                range(0, length, per)))
    for k in gains:  # pages mapped around the chunks too (fault-around, readahead)
        release(stems[k])
    release(mix)
    return peak


def _sum_frames(stems: dict[str, np.ndarray], gains: dict[str, float], mix: np.ndarray, begin: int,
                end: int) -> float:
    """:func:`_sum` of frames ``begin:end``; returns their peak."""
    acc = np.zeros((min(end - begin, _CHUNK), *mix.shape[1:]), dtype=np.float64)
    tmp = np.empty_like(acc)
    peak = 0.0
    for start in range(begin, end, _CHUNK):
        n = min(_CHUNK, end - start)
        part, scaled = acc[:n], tmp[:n]
        part[:] = 0.0
        for k, g in gains.items():
            np.multiply(stems[k][start : start + n], np.float64(g), out=scaled)
            part += scaled
        peak = max(peak, float(np.max(np.abs(part))))
        store(mix, start, part)
        for k in gains:
            release(stems[k], start, start + n)
        release(mix, start, start + n)
    return peak


def peak_normalize_gain(peak: float, target_peak: float = TARGET_PEAK) -> float:
    """The gain that brings a sample peak of ``peak`` to ``target_peak`` dBFS (1.0 for silence: it stays silence)."""
    return 10.0 ** (target_peak / 20.0) / peak if peak else 1.0
