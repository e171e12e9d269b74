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
    """Run mono float32 ``audio`` through the chain; samples that stay silent stay exactly zero."""
    if not chain:
        return audio
    import pedalboard

    board = pedalboard.Pedalboard([make_plugin(k, p) for k, p in chain])
    out = board(audio[np.newaxis, :].astype(np.float32, copy=False), sample_rate, reset=True)[0]
    # Effects leave denormal-level residue (< -200 dBFS) where the input was silent: make it digital silence.
    out[np.abs(out) < 1e-10] = 0.0
    return np.ascontiguousarray(out, dtype=np.float32)


def apply_chain_in_place(audio: np.ndarray, chain: list[tuple[str, dict]], sample_rate: int,
                         block: int | None = None) -> None:
    """:func:`apply_chain` on a writable mono float32 array (e.g. a memory-mapped stem), block by block: the board
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
        part = np.array(audio[start:stop], dtype=np.float32)[np.newaxis, :]
        out = board(part, sample_rate, reset=i == 0)[0]
        out[np.abs(out) < 1e-10] = 0.0
        audio[start:stop] = out
        diskaudio.release(audio, start, stop)
