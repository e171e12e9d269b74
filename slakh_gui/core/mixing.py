"""Slakh2100's auto-mix: BS.1770-4 loudness per stem, normalize to -13 LUFS, sum, one uniform no-clip gain.

Stems that are digitally silent, or whose integrated loudness is -inf (every 400 ms block under BS.1770's -70 LUFS
absolute gate), cannot be normalized: they are left out of the mix and reported, never turned into NaN or noise.
"""

from __future__ import annotations

import math
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pyloudnorm

NORMALIZATION_FACTOR = -13.0  # LUFS each stem is normalized to (Slakh's mix_normalization_factor)
TARGET_PEAK = -1.0  # dBFS the mix may reach before the uniform gain (Slakh's mix_target_peak)


def integrated_loudness(audio: np.ndarray, sample_rate: int) -> float:
    """ITU-R BS.1770-4 integrated loudness (LUFS) with pyloudnorm; -inf when nothing passes the gates."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(pyloudnorm.Meter(sample_rate).integrated_loudness(np.asarray(audio, dtype=np.float64)))


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
                 target_peak: float = TARGET_PEAK, threads: int = 2) -> MixResult:
    """Normalize each stem to ``normalization_factor`` LUFS, sum, and scale everything so the mix peak is at most
    ``target_peak`` dBFS (sample peak), exactly as Slakh2100's generator did."""
    keys = list(stems)
    length = len(next(iter(stems.values()))) if stems else 0
    skipped: dict[str, str] = {}
    audible = []
    for k in keys:
        if not np.any(stems[k]):
            skipped[k] = "silent: the render produced only digital silence"
        else:
            audible.append(k)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        measured = dict(zip(audible, pool.map(lambda k: integrated_loudness(stems[k], sample_rate), audible), strict=True))
    loudness = {}
    for k, lufs in measured.items():
        if math.isfinite(lufs):
            loudness[k] = lufs
        else:
            skipped[k] = "too quiet to measure: BS.1770 integrated loudness is -inf (all blocks under -70 LUFS)"
    gains = {k: 10.0 ** ((normalization_factor - lufs) / 20.0) for k, lufs in loudness.items()}
    mix = np.zeros(length, dtype=np.float64)
    for k, g in gains.items():
        mix += stems[k].astype(np.float64) * g
    peak = float(np.max(np.abs(mix))) if length else 0.0
    limit = 10.0 ** (target_peak / 20.0)
    overall_gain = limit / peak if peak >= limit else 1.0
    out = {k: (stems[k].astype(np.float64) * (g * overall_gain)).astype(np.float32) for k, g in gains.items()}
    mix *= overall_gain
    return MixResult(out, mix.astype(np.float32), loudness, overall_gain, skipped, normalization_factor, target_peak)


def peak_normalize(audio: np.ndarray, target_peak: float = TARGET_PEAK) -> tuple[np.ndarray, float]:
    """Scale so the sample peak is ``target_peak`` dBFS; returns (audio, gain). Silence stays silence."""
    peak = float(np.max(np.abs(audio))) if audio.size else 0.0
    if peak == 0.0:
        return audio, 1.0
    gain = 10.0 ** (target_peak / 20.0) / peak
    return (audio.astype(np.float64) * gain).astype(np.float32), gain
