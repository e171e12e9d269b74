"""Our BS.1770-4 measurement equals pyloudnorm's own, on signals that exercise both gates."""

from __future__ import annotations

import numpy as np
import pytest

from slakh_gui.core.render import automix


def signals():
    rng = np.random.default_rng(0)
    yield "noise", rng.standard_normal(44100 * 30) * 0.1
    yield "odd length", rng.standard_normal(44100 * 7 + 123) * 0.01
    x = np.zeros(44100 * 60)
    x[44100 * 5 : 44100 * 6] = rng.standard_normal(44100) * 0.5  # loud second: relative gate drops the quiet part
    x[44100 * 20 : 44100 * 50] = rng.standard_normal(44100 * 30) * 0.001
    yield "loud and quiet", x
    t = np.arange(44100 * 12) / 44100
    yield "low sine float32", (0.3 * np.sin(2 * np.pi * 40 * t)).astype(np.float32)  # K-weighting's high-pass
    yield "exactly one block", rng.standard_normal(17640) * 0.2
    late = np.zeros(44100 * 20, dtype=np.float32)  # a stem that starts late: leading silence is skipped, not filtered
    late[409_600 + 17:] = (rng.standard_normal(44100 * 20 - 409_617) * 0.2).astype(np.float32)
    yield "late start float32", late


@pytest.mark.parametrize("name,audio", list(signals()))
def test_matches_pyloudnorm(name, audio):
    ours = automix.integrated_loudness(audio, 44100)
    ref = automix.pyloudnorm_reference(audio, 44100)
    assert abs(ours - ref) < 1e-6, (name, ours, ref)


def test_minus_inf_like_pyloudnorm():
    quiet = np.zeros(44100 * 10)
    quiet[1000:1100] = 1e-5
    assert automix.integrated_loudness(quiet, 44100) == automix.pyloudnorm_reference(quiet, 44100) == float("-inf")
    with pytest.raises(ValueError):
        automix.integrated_loudness(np.zeros(100), 44100)  # shorter than one 400 ms block, as pyloudnorm


def test_mix_rule_on_synthetic_stems():
    rng = np.random.default_rng(1)
    stems = {f"S{i:02d}": (rng.standard_normal(44100 * 5) * a).astype(np.float32) for i, a in enumerate([0.5, 0.05])}
    res = automix.loudness_mix(stems, 44100)
    expected = -13 + 20 * np.log10(res.overall_gain)
    for k in stems:
        assert abs(automix.integrated_loudness(res.stems[k], 44100) - expected) < 1e-3
    assert np.max(np.abs(res.mix)) <= 10 ** (-1 / 20) + 1e-6
    assert np.allclose(res.mix, sum(res.stems.values()), atol=1e-6)
