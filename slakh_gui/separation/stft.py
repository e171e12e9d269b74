"""The paper's STFT: 16 kHz, 32 ms window (512), 16 ms hop (256), square-root Hann analysis and synthesis windows.

With a hop of half the window, sqrt-Hann analysis times sqrt-Hann synthesis sums to a constant (periodic Hann, 50 %
overlap), so :func:`istft` of :func:`stft` gives the signal back (``torch.istft`` divides by that window sum).
"""

from __future__ import annotations

import numpy as np
import torch

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_FREQ = N_FFT // 2 + 1
EPS = 1e-8

_windows: dict[tuple, torch.Tensor] = {}


def window(device: torch.device | str = "cpu", dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Square-root periodic Hann window of ``N_FFT`` samples."""
    key = (str(device), dtype)
    if key not in _windows:
        _windows[key] = torch.hann_window(N_FFT, periodic=True, dtype=dtype, device=device).sqrt()
    return _windows[key]


def _tensor(x) -> torch.Tensor:
    if isinstance(x, torch.Tensor):
        return x
    a = np.asarray(x, dtype=np.float32)
    if not (a.flags.writeable and a.flags.c_contiguous):  # e.g. a read-only memory map from the cache
        a = np.array(a)
    return torch.from_numpy(a)


def stft(x: torch.Tensor | np.ndarray) -> torch.Tensor:
    """Complex STFT of ``(..., samples)`` audio: ``(..., N_FREQ, frames)``, frames centred (``center=True``)."""
    x = _tensor(x)
    shape = x.shape[:-1]
    spec = torch.stft(x.reshape(-1, x.shape[-1]), N_FFT, HOP, window=window(x.device, x.dtype), center=True,
                      return_complex=True)
    return spec.reshape(*shape, *spec.shape[-2:])


def istft(spec: torch.Tensor, length: int) -> torch.Tensor:
    """Inverse of :func:`stft`: ``(..., N_FREQ, frames)`` -> ``(..., length)`` samples."""
    shape = spec.shape[:-2]
    out = torch.istft(spec.reshape(-1, *spec.shape[-2:]), N_FFT, HOP, window=window(spec.device, spec.real.dtype),
                      center=True, length=length)
    return out.reshape(*shape, length)


def n_frames(samples: int) -> int:
    """Frames :func:`stft` gives for ``samples`` samples."""
    return samples // HOP + 1


def frames_to_samples(frames: int) -> int:
    """Samples whose STFT has exactly ``frames`` frames."""
    return (frames - 1) * HOP


def magnitude(spec: torch.Tensor) -> torch.Tensor:
    return spec.abs()


def phase(spec: torch.Tensor) -> torch.Tensor:
    return torch.angle(spec)


def log_magnitude(spec_or_mag: torch.Tensor) -> torch.Tensor:
    """``log(|X| + 1e-8)``: the network's input feature (before normalization)."""
    mag = spec_or_mag.abs() if spec_or_mag.is_complex() else spec_or_mag
    return torch.log(mag + EPS)


def apply_mask(spec: torch.Tensor, mask: torch.Tensor, length: int) -> torch.Tensor:
    """Time signal of ``mask * spec`` (the mixture's phase is kept)."""
    return istft(spec * mask, length)
