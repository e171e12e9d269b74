"""Scale-invariant signal-to-distortion ratio (SI-SDR), Le Roux, Wisdom, Erdogan & Hershey, ICASSP 2019.

Both signals are made zero-mean; the reference is scaled by ``α = <ŝ, s> / ||s||²`` and
``SI-SDR = 10 log10(||α s||² / ||α s − ŝ||²)``. Computed in float64 on numpy arrays.
"""

from __future__ import annotations

import numpy as np

_TINY = np.finfo(np.float64).tiny


def si_sdr(estimate: np.ndarray, reference: np.ndarray) -> float:
    """SI-SDR in dB of ``estimate`` against ``reference`` (1-D, same length); NaN when the reference is silent,
    +inf for a perfect (scaled) estimate."""
    est = np.asarray(estimate, dtype=np.float64).ravel()
    ref = np.asarray(reference, dtype=np.float64).ravel()
    if est.shape != ref.shape:
        raise ValueError(f"estimate and reference differ in length ({est.size} vs {ref.size})")
    est = est - est.mean()
    ref = ref - ref.mean()
    ref_energy = float(ref @ ref)
    if ref_energy <= _TINY:
        return float("nan")
    target = (est @ ref) / ref_energy * ref
    noise = float(((target - est) ** 2).sum())
    signal = float(target @ target)
    if noise <= 0.0:
        return float("inf")
    if signal <= 0.0:
        return float("-inf")
    return float(10.0 * np.log10(signal / noise))


def si_sdr_improvement(estimate: np.ndarray, reference: np.ndarray, mixture: np.ndarray) -> float:
    """SI-SDR of ``estimate`` minus SI-SDR of the unprocessed ``mixture`` (SI-SDRi), in dB."""
    return si_sdr(estimate, reference) - si_sdr(mixture, reference)
