"""Our BS.1770-4 measurement equals pyloudnorm's own, on signals that exercise both gates; our block-wise
K-weighting filter equals scipy's ``sosfilt`` with pyloudnorm's coefficients."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from slakh_gui.core.render import automix, loudness
from tests.conftest import REPO


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
    ours = loudness.integrated_loudness(audio, 44100)
    ref = loudness.pyloudnorm_reference(audio, 44100)
    assert abs(ours - ref) < 1e-6, (name, ours, ref)


def test_minus_inf_like_pyloudnorm():
    quiet = np.zeros(44100 * 10)
    quiet[1000:1100] = 1e-5
    assert loudness.integrated_loudness(quiet, 44100) == loudness.pyloudnorm_reference(quiet, 44100) == float("-inf")
    with pytest.raises(ValueError):
        loudness.integrated_loudness(np.zeros(100), 44100)  # shorter than one 400 ms block, as pyloudnorm


def test_mix_rule_on_synthetic_stems():
    rng = np.random.default_rng(1)
    stems = {f"S{i:02d}": (rng.standard_normal(44100 * 5) * a).astype(np.float32) for i, a in enumerate([0.5, 0.05])}
    res = automix.loudness_mix(stems, 44100)
    expected = -13 + 20 * np.log10(res.overall_gain)
    for k in stems:
        assert abs(loudness.integrated_loudness(res.stems[k], 44100) - expected) < 1e-3
    assert np.max(np.abs(res.mix)) <= 10 ** (-1 / 20) + 1e-6
    assert np.allclose(res.mix, sum(res.stems.values()), atol=1e-6)


@pytest.mark.parametrize("rate", [22050, 44100, 48000])
def test_k_weighting_coefficients_are_pyloudnorms(rate):
    import pyloudnorm

    meter = pyloudnorm.Meter(rate)
    theirs = np.array([np.concatenate([f.b, f.a]) for f in meter._filters.values()])
    assert np.array_equal(loudness.k_weighting(rate), theirs)
    assert all(f.passband_gain == 1.0 for f in meter._filters.values())  # so no gain factor is left out


@pytest.mark.parametrize("pieces", [[1 << 16] * 3 + [777], [2048, 4096 * 3, 10], [50_000]])
def test_block_filter_equals_sosfilt(pieces):
    """Any split into whole groups (and a ragged last piece) gives sosfilt's output to float64 rounding."""
    from scipy.signal import sosfilt

    rng = np.random.default_rng(2)
    x = rng.standard_normal(sum(pieces)) * np.linspace(0.0, 1.0, sum(pieces))
    x[:3000] = 0.0
    x[5000] = 1.0  # an impulse: the whole response, poles near the unit circle (38 Hz high-pass) included
    sos = loudness.k_weighting(44100)
    want = sosfilt(sos, x)
    kw = loudness.KWeighting(sos)
    got, at = [], 0
    for n in pieces:
        got.append(kw.filter(x[at : at + n]))
        at += n
    got = np.concatenate(got)
    assert got.shape == want.shape
    assert np.max(np.abs(got - want)) <= 1e-10 * np.max(np.abs(want))  # measured: 2e-11 here, 9e-12 on a 3-min stem


def test_block_filter_refuses_a_piece_after_a_ragged_one():
    kw = loudness.KWeighting(loudness.k_weighting(44100))
    kw.filter(np.ones(100))
    with pytest.raises(ValueError, match="last"):
        kw.filter(np.ones(2048))


def test_rendering_does_not_import_scipy(tmp_path, small_song_path, small_bank_path):
    """The render path measures loudness without scipy.signal (0.5 s of import holding the GIL beside the synth)."""
    code = f"""
import sys
from slakh_gui.core.bank import patches
from slakh_gui.core.midi import midifile
from slakh_gui.core.render import pipeline
song = midifile.load_song({str(small_song_path)!r})
bank = patches.load_bank({str(small_bank_path)!r})
res = pipeline.render_track(song, bank, patches.assign_patches(song, bank, 1), {str(tmp_path / "T")!r})
assert res.metadata["stems"], res.metadata
print("scipy.signal" in sys.modules, "pyloudnorm" in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["False", "False"]


@pytest.mark.parametrize("ends", [[1, 5, 4096], [7, 100, 2000], [], [4096], [4095]])
def test_running_energy_at_block_bounds_equals_a_cumulative_sum(ends):
    """The energy up to each block bound, from sums of the stretches between bounds, equals a running sum's."""
    e = np.random.default_rng(3).random(4096)
    ends = np.array(ends, dtype=np.int64)
    out = np.full(len(ends), np.nan)
    total = loudness._running(e, ends, 2.5, out)
    run = 2.5 + np.cumsum(e)
    assert np.allclose(out, run[ends - 1], rtol=1e-13, atol=0)
    assert total == pytest.approx(run[-1], rel=1e-13)
