"""Separating audio of any length, channel count and sample rate with a model, and the oracle estimates.

Audio is resampled to 16 kHz and processed in chunks (default 30 s, neighbours overlapping by 2 s and crossfaded
linearly), each resampled on its own, so memory stays bounded on hour-long files; the estimate comes back at the
input's rate and shape (stereo: each channel separated on its own). Above 8 kHz the estimate is empty (the models
work at 16 kHz, as in the paper).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.separation import stft as S
from slakh_gui.separation.masks import ORACLES, oracle_mask
from slakh_gui.separation.metrics import si_sdr
from slakh_gui.separation.model import SeparationModel
from slakh_gui.separation.resample import resample

CHUNK_SECONDS = 30.0
OVERLAP_SECONDS = 2.0


def resolve_device(name: str | None = "auto") -> torch.device:
    """``auto`` (CUDA when present, else CPU), ``cpu``, ``cuda`` or ``cuda:N``."""
    if name in (None, "", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(name)


def _padded(x: np.ndarray) -> np.ndarray:
    """``x`` zero-padded to at least one STFT window (the centred STFT needs more than half a window)."""
    x = np.asarray(x, dtype=np.float32)
    return np.pad(x, (0, S.N_FFT - len(x))) if len(x) < S.N_FFT else x


def model_estimate(model: SeparationModel, mixture16: np.ndarray) -> np.ndarray:
    """The model's estimate of one 16-kHz mono signal in one pass (no chunking)."""
    x = torch.from_numpy(np.array(_padded(mixture16))).to(model.device)
    X = S.stft(x)
    return S.istft(X * model.mask(X), len(x)).cpu().numpy()[: len(mixture16)]


def oracle_estimate16(kind: str, mixture16: np.ndarray, target16: np.ndarray) -> np.ndarray:
    """The oracle mask ``kind``'s estimate of the target in one 16-kHz pass (interference = mixture − target)."""
    m, t = _padded(mixture16), _padded(target16)
    X, T = S.stft(m), S.stft(t)
    return S.istft(X * oracle_mask(kind, T, X - T), len(m)).numpy()[: len(mixture16)]


def _chunks(n: int, chunk: int, overlap: int) -> list[tuple[int, int]]:
    if n <= chunk:
        return [(0, n)]
    out, start = [], 0
    while True:
        end = min(start + chunk, n)
        out.append((start, end))
        if end >= n:
            return out
        start += chunk - overlap


def chunked(inputs: list[np.ndarray], sr: int, fn: Callable[[list[np.ndarray]], np.ndarray], *,
            chunk_seconds: float = CHUNK_SECONDS, overlap_seconds: float = OVERLAP_SECONDS,
            progress: ProgressFn | None = None, cancel: CancelToken | None = None, stage: str = "separate",
            done: int = 0, total: int | None = None) -> np.ndarray:
    """Apply ``fn`` (16-kHz signals -> one 16-kHz signal) chunk by chunk to equal-length ``inputs`` at ``sr``; the
    result at ``sr``, crossfaded over the overlaps. Samples are the first axis of every array: mono inputs and a
    mono result are 1-D, but ``fn`` may take and give more axes (e.g. ``(samples, channels, sources)``)."""
    n = len(inputs[0])
    chunk = max(int(chunk_seconds * sr), 1)
    overlap = min(max(int(overlap_seconds * sr), 1), chunk // 2)
    spans = _chunks(n, chunk, overlap)
    total = total if total is not None else len(spans)
    out: np.ndarray | None = None
    ramp = (np.arange(overlap, dtype=np.float32) + 0.5) / overlap
    for k, (a, b) in enumerate(spans):
        check(cancel)
        report(progress, stage, done + k, total)
        est16 = fn([resample(x[a:b], sr, S.SAMPLE_RATE) for x in inputs])
        est = resample(est16, S.SAMPLE_RATE, sr)[: b - a]
        est = np.pad(est, [(0, b - a - len(est))] + [(0, 0)] * (est.ndim - 1))
        fade = ramp.reshape(-1, *[1] * (est.ndim - 1))
        if k > 0:
            est[:overlap] *= fade
        if k < len(spans) - 1:
            est[-overlap:] *= fade[::-1]
        if out is None:
            out = np.zeros((n, *est.shape[1:]), dtype=np.float32)
        out[a:b] += est
    report(progress, stage, done + len(spans), total)
    return out


def n_chunks(samples: int, sr: int, chunk_seconds: float = CHUNK_SECONDS,
             overlap_seconds: float = OVERLAP_SECONDS) -> int:
    chunk = max(int(chunk_seconds * sr), 1)
    return len(_chunks(samples, chunk, min(max(int(overlap_seconds * sr), 1), chunk // 2)))


def separate(audio: np.ndarray, sr: int, model: SeparationModel, progress: ProgressFn | None = None,
             cancel: CancelToken | None = None, *, chunk_seconds: float = CHUNK_SECONDS,
             overlap_seconds: float = OVERLAP_SECONDS) -> np.ndarray:
    """The model's estimate of its target in ``audio`` (``(samples,)`` or ``(samples, channels)`` at ``sr``):
    float32, same shape and rate. Progress counts chunks (stage ``separate``)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim not in (1, 2) or audio.shape[0] == 0:
        raise ValueError("separate expects (samples,) or (samples, channels) audio with at least one sample")
    chans = [audio] if audio.ndim == 1 else [audio[:, c] for c in range(audio.shape[1])]
    per = n_chunks(len(chans[0]), sr, chunk_seconds, overlap_seconds)
    outs = [chunked([x], sr, lambda xs: model_estimate(model, xs[0]), chunk_seconds=chunk_seconds,
                    overlap_seconds=overlap_seconds, progress=progress, cancel=cancel, done=c * per,
                    total=per * len(chans)) for c, x in enumerate(chans)]
    return outs[0] if audio.ndim == 1 else np.stack(outs, axis=1)


def oracle_estimates(mixture: np.ndarray, target: np.ndarray, sr: int, kinds: tuple[str, ...] = ORACLES,
                     progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> dict[str, np.ndarray]:
    """Oracle estimates (``ibm``, ``irm``, ``wiener``, ``tpsf``) of ``target`` in ``mixture`` (mono, same length, at
    ``sr``), computed in the 16-kHz STFT, returned at ``sr``."""
    mixture = np.asarray(mixture, dtype=np.float32)
    target = np.asarray(target, dtype=np.float32)
    if mixture.ndim != 1 or mixture.shape != target.shape:
        raise ValueError("oracle_estimates expects mono mixture and target of the same length")
    per = n_chunks(len(mixture), sr)
    out = {}
    for i, kind in enumerate(kinds):
        out[kind] = chunked([mixture, target], sr, lambda xs, k=kind: oracle_estimate16(k, xs[0], xs[1]),
                            progress=progress, cancel=cancel, stage="oracles", done=i * per,
                            total=per * len(kinds))
    return out


def score(estimate: np.ndarray, target: np.ndarray, mixture: np.ndarray, sr: int) -> tuple[float, float]:
    """(SI-SDR, SI-SDR improvement) of a mono ``estimate`` against ``target``, measured at 16 kHz like the
    evaluation (so the band above 8 kHz, which no model estimates, does not count)."""
    e, t, m = (resample(np.asarray(a, dtype=np.float32), sr, S.SAMPLE_RATE) for a in (estimate, target, mixture))
    value = si_sdr(e, t)
    return value, value - si_sdr(m, t)
