"""Separating every target at once, with an optional multichannel Wiener post-filter (``norbert``, the EM Wiener
filter Open-Unmix uses) that refines all targets' estimates jointly.

Each model masks the mixture STFT on its own (the views of one joint model share one pass of its network per
chunk: :func:`_masks`), as :func:`~slakh_gui.separation.inference.separate` does. The filter
takes the magnitude estimates of all targets, ``|mask_j · X|``, plus a **residual** source for what no target
claims, ``max(|X| − Σ_j |mask_j · X|, 0)`` (spectral subtraction, floored at 0), and runs ``norbert.wiener`` (soft
mask start, then ``iterations`` EM steps) on the complex mixture STFT: the sources' estimates then add up to the
mixture. A stereo input is filtered as two channels (the models see each channel alone; the filter estimates the
sources' spatial covariances). Audio goes through in chunks like ``inference.chunked`` (30 s, crossfaded), so the
filter's arrays stay bounded whatever the length. Off by default (:data:`defaults.WIENER`): on mono mixtures one EM
step turns each mask ``m`` into ``m² / Σ m²``, and that lowered every shipped model's SI-SDRi (README).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import torch

from slakh_gui.core.jobs import CancelToken, ProgressFn
from slakh_gui.separation import defaults
from slakh_gui.separation import stft as S
from slakh_gui.separation.inference import CHUNK_SECONDS, OVERLAP_SECONDS, chunked
from slakh_gui.separation.model import SeparationModel

RESIDUAL = "residual"  # the key of the residual source in separate_all's result
ITERATIONS = defaults.WIENER_ITERATIONS
WINDOW_FRAMES = 300  # frames the filter takes at once (Open-Unmix's wiener_win_len; 4.8 s here)


def _norbert():
    with warnings.catch_warnings():  # norbert 0.2.1 imports scipy.ndimage.filters (deprecated, not removed)
        warnings.simplefilter("ignore", DeprecationWarning)
        import norbert
    return norbert


def wiener_filter(mags: np.ndarray, X: np.ndarray, iterations: int = ITERATIONS,
                  window: int = WINDOW_FRAMES) -> np.ndarray:
    """Joint Wiener filtering of the complex mixture STFT ``X`` ``(channels, F, frames)`` given the sources'
    magnitude estimates ``mags`` ``(sources, channels, F, frames)``: the complex source estimates, same shape as
    ``mags`` (complex64). ``iterations`` 0 is the soft mask ``mags / Σ mags`` alone. Frames go through ``window``
    at a time (as Open-Unmix does), in double precision (as norbert advises)."""
    if iterations < 0:
        raise ValueError("iterations must be 0 or more")
    wiener = _norbert().wiener
    out = np.empty(mags.shape, dtype=np.complex64)
    for a in range(0, X.shape[-1], window):
        v = np.transpose(mags[..., a : a + window], (3, 2, 1, 0)).astype(np.float64)  # frames, F, channels, sources
        x = np.transpose(X[..., a : a + window], (2, 1, 0)).astype(np.complex128)  # frames, F, channels
        out[..., a : a + window] = np.transpose(wiener(v, x, iterations=iterations, use_softmask=True), (3, 2, 1, 0))
    return out


def _masks(models: list[SeparationModel], X: torch.Tensor) -> list[torch.Tensor]:
    """Each model's mask of ``X`` ``(channels, F, frames)``; models sharing a network (views of a joint model) run
    it once for all their heads."""
    heads: dict[int, torch.Tensor] = {}
    out = []
    for m in models:
        if id(m.net) not in heads:
            heads[id(m.net)] = m.all_masks(X.to(m.device)).cpu()  # (channels, heads, F, frames)
        out.append(heads[id(m.net)][:, m.head])
    return out


def _sources16(models: list[SeparationModel], x16: np.ndarray, wiener: bool, iterations: int) -> np.ndarray:
    """One 16-kHz chunk ``(samples, channels)`` -> ``(samples, channels, targets + 1)``: the targets' estimates
    and the residual."""
    n = len(x16)
    x = np.ascontiguousarray(x16.T, dtype=np.float32)  # (channels, samples)
    if n < S.N_FFT:  # the centred STFT needs more than half a window (as inference.model_estimate pads)
        x = np.pad(x, ((0, 0), (0, S.N_FFT - n)))
    X = S.stft(torch.from_numpy(x))  # (channels, F, frames)
    masks = _masks(models, X)
    if wiener:
        mag = X.abs()
        target_mags = [m * mag for m in masks]
        residual = (mag - torch.stack(target_mags).sum(0)).clamp_min(0.0)
        Y = wiener_filter(torch.stack([*target_mags, residual]).numpy(), X.numpy(), iterations)
        est = S.istft(torch.from_numpy(Y), x.shape[1]).numpy()  # (sources, channels, samples)
    else:
        est = S.istft(torch.stack([X * m for m in masks]), x.shape[1]).numpy()
        est = np.concatenate([est, (x - est.sum(0))[None]])
    return np.ascontiguousarray(np.transpose(est[..., :n], (2, 1, 0)))


def separate_all(audio: np.ndarray, sr: int, models: Mapping[str, SeparationModel], wiener: bool = defaults.WIENER,
                 iterations: int = ITERATIONS, progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None, *, chunk_seconds: float = CHUNK_SECONDS,
                 overlap_seconds: float = OVERLAP_SECONDS) -> dict[str, np.ndarray]:
    """Every model's estimate of its target in ``audio`` (``(samples,)`` or ``(samples, channels)`` at ``sr``),
    keyed like ``models``, and :data:`RESIDUAL` (the rest): float32, same shape and rate as ``audio``.

    ``wiener`` False: each estimate is what ``inference.separate`` gives, the residual ``audio`` minus their sum.
    ``wiener`` True: the joint post-filter (module docstring), whose sources add up to the mixture. At a rate other
    than 16 kHz the residual also gets what the 16-kHz processing leaves out (the band above 8 kHz): the sources
    always add up to ``audio``. Progress counts chunks (stage ``separate``)."""
    audio = np.asarray(audio, dtype=np.float32)
    if audio.ndim not in (1, 2) or audio.shape[0] == 0:
        raise ValueError("separate_all expects (samples,) or (samples, channels) audio with at least one sample")
    if not models:
        raise ValueError("separate_all needs at least one model")
    if RESIDUAL in models:
        raise ValueError(f"{RESIDUAL!r} names the residual source, not a model")
    names, nets = list(models), list(models.values())
    two = audio if audio.ndim == 2 else audio[:, None]
    out = chunked([two], sr, lambda xs: _sources16(nets, xs[0], wiener, iterations), chunk_seconds=chunk_seconds,
                  overlap_seconds=overlap_seconds, progress=progress, cancel=cancel)  # (samples, channels, sources)
    result = {name: out[:, :, j] for j, name in enumerate(names)}
    result[RESIDUAL] = out[:, :, -1] + (two - out.sum(axis=2)) if sr != S.SAMPLE_RATE else out[:, :, -1]
    return {k: np.ascontiguousarray(v[:, 0] if audio.ndim == 1 else v, dtype=np.float32) for k, v in result.items()}


def joint_models(model: SeparationModel) -> dict[str, SeparationModel]:
    """``model`` and the installed shipped models of the other targets of its recipe, keyed by target (the models
    the post-filter runs beside ``model``), on ``model``'s device; for a view of a joint model, its own views of
    every target."""
    from slakh_gui.separation.model import load_model, shipped_models

    if model.is_joint:
        return model.views()
    joint = {model.target: model}
    for path in shipped_models().values():
        if path is not None and (model.path is None or path.resolve() != model.path.resolve()):
            other = load_model(path)
            if other.recipe == model.recipe and other.target not in joint:
                joint[other.target] = other.to(model.device)
    return joint
