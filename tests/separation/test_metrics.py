"""SI-SDR against torchmetrics' independent implementation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torchmetrics.functional.audio import scale_invariant_signal_distortion_ratio

from slakh_gui.separation.metrics import si_sdr, si_sdr_improvement


@pytest.mark.parametrize("seed", range(6))
def test_si_sdr_matches_torchmetrics(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1000, 20000))
    ref = rng.standard_normal(n) + rng.uniform(-1, 1)  # with an offset: both are made zero-mean
    est = rng.uniform(0.2, 3) * ref + rng.uniform(0.01, 2) * rng.standard_normal(n) + rng.uniform(-1, 1)
    theirs = float(scale_invariant_signal_distortion_ratio(torch.from_numpy(est), torch.from_numpy(ref),
                                                           zero_mean=True))
    assert si_sdr(est, ref) == pytest.approx(theirs, abs=1e-6)
    assert si_sdr(est.astype(np.float32), ref.astype(np.float32)) == pytest.approx(theirs, abs=1e-3)


def test_si_sdr_properties():
    rng = np.random.default_rng(9)
    ref = rng.standard_normal(5000)
    noise = rng.standard_normal(5000)
    noise -= noise.mean()
    noise -= (noise @ (ref - ref.mean())) / ((ref - ref.mean()) @ (ref - ref.mean())) * (ref - ref.mean())
    noise *= np.linalg.norm(ref - ref.mean()) / np.linalg.norm(noise) / 10  # orthogonal, 20 dB down
    assert si_sdr(ref + noise, ref) == pytest.approx(20.0, abs=1e-9)
    assert si_sdr(7.5 * (ref + noise) + 3.0, ref) == pytest.approx(20.0, abs=1e-9)  # scale and offset invariant
    assert si_sdr(ref, ref) == math.inf
    assert math.isnan(si_sdr(ref, np.zeros(5000)))
    mix = ref + 3 * rng.standard_normal(5000)
    assert si_sdr_improvement(ref + noise, ref, mix) == pytest.approx(20.0 - si_sdr(mix, ref))
    with pytest.raises(ValueError, match="differ in length"):
        si_sdr(ref[:10], ref)
