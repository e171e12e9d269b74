"""Oracle masks in the paper's STFT and the tPSA loss (Eq. 1), after Erdogan et al. 2015 (the paper's [1]).

``S`` is the target's STFT, ``N`` the interference's, ``X = S + N`` the mixture's.
"""

from __future__ import annotations

import torch

from slakh_gui.separation.stft import EPS

ORACLES = ("ibm", "irm", "wiener", "tpsf")
ORACLE_NAMES = {"ibm": "IBM", "irm": "IRM", "wiener": "Wiener-like", "tpsf": "Truncated PSF"}


def ibm(S: torch.Tensor, N: torch.Tensor) -> torch.Tensor:
    """Ideal binary mask: 1 where ``|S| > |N|`` (and where the interference is silent and S is not)."""
    return (S.abs() > N.abs()).to(S.real.dtype)


def irm(S: torch.Tensor, N: torch.Tensor) -> torch.Tensor:
    """Ideal ratio mask ``|S| / (|S| + |N|)`` (0 where both are silent)."""
    s, n = S.abs(), N.abs()
    return torch.where(s + n > 0, s / (s + n).clamp_min(EPS), torch.zeros_like(s))


def wiener(S: torch.Tensor, N: torch.Tensor) -> torch.Tensor:
    """Wiener-like mask ``|S|² / (|S|² + |N|²)`` (0 where both are silent)."""
    s2, n2 = S.abs() ** 2, N.abs() ** 2
    return torch.where(s2 + n2 > 0, s2 / (s2 + n2).clamp_min(EPS**2), torch.zeros_like(s2))


def psa_target(S: torch.Tensor, X: torch.Tensor) -> torch.Tensor:
    """The tPSA target ``T_0^{|X|}(|S| cos(∠S − ∠X))``: the phase-projected target magnitude, clipped to [0, |X|].

    ``|S| cos(∠S − ∠X) = Re(S · conj(X)) / |X|``, computed that way (0 where ``X`` is silent)."""
    xa = X.abs()
    proj = torch.where(xa > 0, (S * X.conj()).real / xa.clamp_min(EPS), torch.zeros_like(xa))
    return torch.minimum(proj.clamp_min(0.0), xa)


def tpsf(S: torch.Tensor, N: torch.Tensor) -> torch.Tensor:
    """Truncated phase-sensitive filter ``clip(|S| cos(∠S − ∠X) / |X|, 0, 1)`` (0 where ``X`` is silent)."""
    X = S + N
    xa = X.abs()
    return torch.where(xa > 0, psa_target(S, X) / xa.clamp_min(EPS), torch.zeros_like(xa)).clamp(0.0, 1.0)


MASKS = {"ibm": ibm, "irm": irm, "wiener": wiener, "tpsf": tpsf}


def oracle_mask(kind: str, S: torch.Tensor, N: torch.Tensor) -> torch.Tensor:
    """The oracle mask ``kind`` (one of :data:`ORACLES`)."""
    try:
        return MASKS[kind](S, N)
    except KeyError:
        raise ValueError(f"unknown oracle mask {kind!r} (use {', '.join(ORACLES)})") from None


def tpsa_loss(mask: torch.Tensor, X: torch.Tensor, S: torch.Tensor, reduction: str = "mean") -> torch.Tensor:
    """Eq. 1: ``|| M ⊙ |X| − T_0^{|X|}(|S| cos(∠S − ∠X)) ||_1``; ``reduction`` ``"mean"`` (over all bins, the
    training loss: independent of batch and segment size) or ``"sum"`` (the norm as written)."""
    diff = (mask * X.abs() - psa_target(S, X)).abs()
    if reduction == "sum":
        return diff.sum()
    if reduction == "mean":
        return diff.mean()
    raise ValueError(f"unknown reduction {reduction!r}")
