"""Polyphase resampling (scipy ``resample_poly``) to and from the separation rate."""

from __future__ import annotations

from math import gcd

import numpy as np


def resample(x: np.ndarray, sr_from: int, sr_to: int) -> np.ndarray:
    """``x`` (samples first) resampled from ``sr_from`` to ``sr_to`` Hz, float32."""
    x = np.asarray(x, dtype=np.float32)
    if int(sr_from) == int(sr_to):
        return x
    from scipy.signal import resample_poly

    g = gcd(int(sr_from), int(sr_to))
    return resample_poly(x, int(sr_to) // g, int(sr_from) // g, axis=0).astype(np.float32)
