"""The paper's STFT and the oracle masks / tPSA loss on hand-made signals."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slakh_gui.separation import stft as S
from slakh_gui.separation.masks import ORACLES, ibm, irm, oracle_mask, psa_target, tpsa_loss, tpsf, wiener


def test_stft_parameters_are_the_papers():
    assert (S.SAMPLE_RATE, S.N_FFT, S.HOP) == (16000, 512, 256)  # 32 ms window, 16 ms hop at 16 kHz
    w = S.window()
    assert torch.allclose(w**2, torch.hann_window(512, periodic=True))
    # sqrt-Hann analysis x sqrt-Hann synthesis at 50 % overlap sums to one: perfect reconstruction without scaling
    ola = w[:256] ** 2 + w[256:] ** 2
    assert torch.allclose(ola, torch.ones(256), atol=1e-6)


@pytest.mark.parametrize("n", [16000, 12345, 257])
def test_stft_round_trip_is_perfect_reconstruction(n):
    x = torch.from_numpy(np.random.default_rng(n).uniform(-1, 1, n)).double()
    X = S.stft(x)
    assert X.shape == (S.N_FREQ, S.n_frames(n))
    assert float((S.istft(X, n) - x).abs().max()) < 1e-6
    x32 = x.float()
    assert float((S.istft(S.stft(x32), n) - x32).abs().max()) < 1e-6


def test_stft_batches_and_helpers():
    x = torch.randn(2, 3, 4000)
    X = S.stft(x)
    assert X.shape == (2, 3, S.N_FREQ, S.n_frames(4000))
    assert torch.allclose(S.stft(x[1, 2]), X[1, 2])
    assert S.n_frames(S.frames_to_samples(400)) == 400
    assert torch.allclose(S.log_magnitude(X), torch.log(X.abs() + S.EPS))
    assert torch.allclose(S.magnitude(X) * torch.exp(1j * S.phase(X)), X, atol=1e-5)


def _signals(seed=0, n=8000):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / 16000
    s = 0.5 * np.sin(2 * np.pi * 220 * t) + 0.05 * rng.standard_normal(n)
    noise = 0.3 * rng.standard_normal(n)
    return S.stft(s.astype(np.float32)), S.stft(noise.astype(np.float32))


def test_single_source_masks_are_all_ones():
    Sx, _ = _signals()
    zero = torch.zeros_like(Sx)
    for kind in ("ibm", "irm", "wiener"):
        assert torch.all(oracle_mask(kind, Sx, zero) == 1.0), kind  # interference = 0: target = mixture
    assert torch.allclose(oracle_mask("tpsf", Sx, zero), torch.ones_like(Sx.real), atol=1e-6)  # up to rounding


def test_masks_are_defined_as_in_the_paper():
    Sx, Nx = _signals(1)
    s, n = Sx.abs(), Nx.abs()
    assert torch.equal(ibm(Sx, Nx), (s > n).float())
    assert torch.allclose(irm(Sx, Nx), s / (s + n), atol=1e-6)
    assert torch.allclose(wiener(Sx, Nx), s**2 / (s**2 + n**2), atol=1e-6)
    X = Sx + Nx
    raw = s * torch.cos(torch.angle(Sx) - torch.angle(X)) / X.abs()
    assert torch.allclose(tpsf(Sx, Nx), raw.clamp(0, 1), atol=1e-5)
    assert bool((raw < 0).any()) and bool((raw > 1).any())  # the example exercises both truncations
    for kind in ORACLES:
        m = oracle_mask(kind, Sx, Nx)
        assert float(m.min()) >= 0 and float(m.max()) <= 1
    with pytest.raises(ValueError, match="unknown oracle"):
        oracle_mask("psm", Sx, Nx)


def test_tpsa_target_is_truncated_to_zero_and_mixture_magnitude():
    # hand-made bins: in phase and louder than the mixture (> |X|), opposite phase (< 0), in between
    Sx = torch.tensor([[3 + 0j, -1 + 0j, 1j]])
    Nx = torch.tensor([[-1 + 0j, 0.5 + 0j, 1 + 0j]])
    X = Sx + Nx  # 2, -0.5, 1+1j
    tgt = psa_target(Sx, X)
    assert torch.allclose(tgt, torch.tensor([[2.0, 0.5, 1 / np.sqrt(2)]], dtype=torch.float32), atol=1e-6)
    # |S|cos(θS − θX) = 3 > |X| = 2 is cut to 2; S = -1 against X = -0.5 is in phase: 1 > 0.5 is cut to 0.5
    Sx2 = torch.tensor([[1 + 0j]])
    Nx2 = torch.tensor([[-3 + 0j]])  # X = -2: target projects to -1, cut to 0
    assert float(psa_target(Sx2, Sx2 + Nx2)) == 0.0
    Sx3, Nx3 = _signals(2)
    t3 = psa_target(Sx3, Sx3 + Nx3)
    assert float(t3.min()) >= 0 and bool(torch.all(t3 <= (Sx3 + Nx3).abs() + 1e-6))


def test_tpsa_loss_is_zero_for_the_tpsf_mask_only():
    Sx, Nx = _signals(3)
    X = Sx + Nx
    m = tpsf(Sx, Nx)
    assert float(tpsa_loss(m, X, Sx)) < 1e-6
    assert float(tpsa_loss(m, X, Sx, reduction="sum")) < 1e-3
    for other in (ibm(Sx, Nx), irm(Sx, Nx), torch.ones_like(m), torch.zeros_like(m)):
        assert float(tpsa_loss(other, X, Sx)) > 1e-3
    # the L1 norm as written: sum of |M|X| − T(...)|; mean = sum / number of bins
    m2 = torch.full_like(m, 0.5)
    by_hand = (0.5 * X.abs() - psa_target(Sx, X)).abs().sum()
    assert torch.allclose(tpsa_loss(m2, X, Sx, reduction="sum"), by_hand)
    assert torch.allclose(tpsa_loss(m2, X, Sx), by_hand / m2.numel())
