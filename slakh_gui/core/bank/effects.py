"""Effect chains of patches (reverb, EQ, compression, gain...) built with pedalboard."""

from __future__ import annotations

import numpy as np

EFFECT_TYPES = {
    "reverb": "Reverb",
    "compressor": "Compressor",
    "gain": "Gain",
    "chorus": "Chorus",
    "distortion": "Distortion",
    "highpass": "HighpassFilter",
    "lowpass": "LowpassFilter",
    "lowshelf": "LowShelfFilter",
    "highshelf": "HighShelfFilter",
    "peak": "PeakFilter",
    "delay": "Delay",
}


def make_plugin(kind: str, params: dict):
    """One pedalboard plugin; ``ValueError`` naming the bad type or parameter."""
    import pedalboard  # loaded only when a chain is used

    if kind not in EFFECT_TYPES:
        raise ValueError(f"unknown effect type {kind!r} (known: {', '.join(EFFECT_TYPES)})")
    cls = getattr(pedalboard, EFFECT_TYPES[kind])
    for name, value in params.items():
        if not isinstance(getattr(cls, name, None), property):
            known = sorted(k for k, v in vars(cls).items() if isinstance(v, property))
            raise ValueError(f"effect {kind!r} has no parameter {name!r} (known: {', '.join(known)})")
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"effect {kind!r} parameter {name!r} must be a number, not {value!r}")
    try:
        return cls(**{k: float(v) for k, v in params.items()})
    except (TypeError, ValueError) as exc:
        raise ValueError(f"effect {kind!r}: {exc}") from None


def apply_chain(audio: np.ndarray, chain: list[tuple[str, dict]], sample_rate: int) -> np.ndarray:
    """Run float32 ``audio`` (mono ``(n,)`` or ``(n, channels)``) through the chain; samples that stay silent stay
    exactly zero. pedalboard processes the channels together (a stereo reverb or compressor sees both)."""
    if not chain:
        return audio
    import pedalboard

    board = pedalboard.Pedalboard([make_plugin(k, p) for k, p in chain])
    out = _unplanar(board(_planar(audio), sample_rate, reset=True), audio.ndim)
    # Effects leave denormal-level residue (< -200 dBFS) where the input was silent: make it digital silence.
    out[np.abs(out) < 1e-10] = 0.0
    return np.ascontiguousarray(out, dtype=np.float32)


def _planar(audio: np.ndarray) -> np.ndarray:
    """pedalboard's layout, (channels, samples) float32, from ours: ``(n,)`` or ``(n, channels)``."""
    if audio.ndim == 1:
        return np.asarray(audio, dtype=np.float32)[np.newaxis, :]
    return np.ascontiguousarray(np.asarray(audio, dtype=np.float32).T)


def _unplanar(out: np.ndarray, ndim: int) -> np.ndarray:
    return out[0] if ndim == 1 else out.T


def apply_chain_in_place(audio: np.ndarray, chain: list[tuple[str, dict]], sample_rate: int,
                         block: int | None = None) -> None:
    """:func:`apply_chain` on a writable float32 array, mono or ``(n, channels)`` (e.g. a memory-mapped stem), block
    by block: the board
    streams (``reset=False``) over blocks that are whole multiples of its buffer, so the samples come out exactly
    as from one call over the whole array; pages of a mapped array are released behind it."""
    if not chain:
        return
    import pedalboard

    from slakh_gui.core import diskaudio

    block = block or diskaudio.BLOCK
    board = pedalboard.Pedalboard([make_plugin(k, p) for k, p in chain])
    n = len(audio)
    for i, (start, stop) in enumerate(diskaudio.blocks(n, block)):
        part = _planar(audio[start:stop]) if audio.ndim > 1 else np.array(audio[start:stop], dtype=np.float32)[np.newaxis, :]
        out = _unplanar(board(part, sample_rate, reset=i == 0), audio.ndim)
        out[np.abs(out) < 1e-10] = 0.0
        audio[start:stop] = out
        diskaudio.release(audio, start, stop)
