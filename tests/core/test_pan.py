"""Pan per mixer strip (balance law), stereo stems in the mixer, and stereo frames on a real PortAudio stream (ALSA's
null device, as in test_playback.py)."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf

from slakh_gui.core.studio import mixer
from slakh_gui.core.studio.mixer import MixerState, mix_all, mix_block, mix_block_stereo, pan_gains
from slakh_gui.core.studio.playback import Player
from tests.core.test_playback import Tap, wait_for

SR = 44100


@pytest.fixture
def stems():
    rng = np.random.default_rng(3)
    n = SR // 2 + 77
    left = (0.3 * rng.uniform(-1, 1, n)).astype(np.float32)
    right = (0.2 * rng.uniform(-1, 1, n)).astype(np.float32)
    return {"st": np.stack([left, right], axis=1), "mono": (0.1 * rng.uniform(-1, 1, n)).astype(np.float32)}


def test_pan_law():
    assert pan_gains(0.0) == (1.0, 1.0)
    assert pan_gains(-1.0) == (1.0, 0.0) and pan_gains(1.0) == (0.0, 1.0)
    assert pan_gains(-0.5) == (1.0, 0.5) and pan_gains(0.25) == (0.75, 1.0)


def test_hard_left_on_a_stereo_stem_silences_the_right(stems):
    state = MixerState.for_stems(stems)
    state.set_pan("st", -1.0)
    state.set_mute("mono", True)
    out = np.empty((4096, 2), np.float32)
    mix_block_stereo(stems, state.stereo_gains(), 100, 4096, out)
    assert not np.any(out[:, 1])
    np.testing.assert_array_equal(out[:, 0], stems["st"][100:4196, 0])  # the left kept as rendered
    whole = mix_all(stems, state.mix_gains(stems))
    assert whole.shape == (len(stems["mono"]), 2) and not np.any(whole[:, 1])


def test_centre_leaves_the_mono_mix_unchanged(stems):
    mono = {"a": stems["mono"], "b": stems["st"][:, 0].copy()}
    state = MixerState.for_stems(mono)
    state.set_gain("a", -3.0)
    assert state.mix_gains(mono) == state.linear_gains()  # no pan, no stereo stem: a mono mix as before
    before = mix_block(mono, state.linear_gains(), 10, 2048)
    out = np.empty((2048, 2), np.float32)
    mix_block_stereo(mono, state.stereo_gains(), 10, 2048, out)
    np.testing.assert_array_equal(out[:, 0], before)
    np.testing.assert_array_equal(out[:, 1], before)
    assert mix_all(mono, state.mix_gains(mono)).ndim == 1


def test_centred_stereo_stem_plays_as_rendered_and_a_mono_one_on_both_sides(stems):
    state = MixerState.for_stems(stems)
    out = mix_all(stems, state.mix_gains(stems)).astype(np.float64)
    np.testing.assert_allclose(out[:, 0], stems["st"][:, 0] + stems["mono"], atol=1e-6)
    np.testing.assert_allclose(out[:, 1], stems["st"][:, 1] + stems["mono"], atol=1e-6)
    state.set_pan("mono", 0.5)  # right: the left side at half level
    out = mix_all(stems, state.mix_gains(stems)).astype(np.float64)
    np.testing.assert_allclose(out[:, 0], stems["st"][:, 0] + 0.5 * stems["mono"], atol=1e-6)
    np.testing.assert_allclose(out[:, 1], stems["st"][:, 1] + stems["mono"], atol=1e-6)


def test_pan_round_trips_and_is_checked():
    state = MixerState.for_stems(["a", "b"])
    assert state.to_dict()["strips"]["a"] == {"gain_db": 0.0, "mute": False, "solo": False}  # as before pan
    state.set_pan("a", -0.25)
    back = MixerState.from_dict(state.to_dict())
    assert back == state and back.strips["a"].pan == -0.25 and back.copy() == state
    for bad in (1.5, float("nan"), True, "left"):
        with pytest.raises(ValueError, match="pan"):
            state.set_pan("a", bad)
    with pytest.raises(ValueError, match="pan"):
        MixerState.from_dict({"strips": {"a": {"pan": 2}}})


def test_levels_and_export_of_a_stereo_mix(stems, tmp_path):
    state = MixerState.for_stems(stems)
    state.set_pan("mono", 1.0)
    lv = mixer.mix_levels(stems, state.mix_gains(stems), SR)
    assert np.isfinite(lv.lufs) and lv.peak_dbfs < 0
    report = mixer.export_mix(tmp_path / "mix.wav", stems, state, SR, stems_dir=tmp_path / "stems")
    mix, _ = sf.read(tmp_path / "mix.wav", dtype="float64")
    assert mix.shape == (len(stems["mono"]), 2) and len(report.paths) == 3
    np.testing.assert_allclose(mix[:, 0], stems["st"][:, 0], atol=2 / 32768)  # the mono stem panned hard right
    mono_stem, _ = sf.read(tmp_path / "stems" / "mono.wav", dtype="float64")
    assert mono_stem.shape[1] == 2 and not np.any(mono_stem[:, 0])


@pytest.mark.usefixtures("null_audio_device")
def test_stereo_frames_on_a_real_stream_follow_the_pan(stems):
    tap = Tap()
    state = MixerState.for_stems(stems)
    state.set_pan("st", 1.0)  # hard right: only the stereo stem's right channel, and the mono stem on both sides
    with Player(sample_rate=SR, blocksize=1024, tap=tap) as p:
        p.set_sources(stems)
        p.set_gains(state.stereo_gains())
        p.play()
        wait_for(lambda: not p.playing)
        out = tap.audio().astype(np.float64)
    n = len(stems["mono"])
    assert out.shape[1] == 2 and len(out) >= n
    np.testing.assert_allclose(out[:n, 0], stems["mono"], atol=1e-6)
    np.testing.assert_allclose(out[:n, 1], stems["st"][:, 1] + stems["mono"], atol=1e-6)
    assert not np.any(out[n:])


def test_an_external_model_separates_the_stereo_mix_when_given_one(stems):
    from types import SimpleNamespace

    from slakh_gui.separation.comparison import run_separation

    seen = []

    class External:  # no ``mask``: what run_separation treats as an external (stereo) model
        target, path, name = "Vocals", None, "fake"
        recipe = SimpleNamespace(groups={}, name="band")

        def separate(self, audio, sr, progress=None, cancel=None):
            seen.append(audio)
            return audio.mean(axis=1) if audio.ndim == 2 else audio

    stereo = stems["st"]
    mono = stereo.mean(axis=1)
    run = run_separation(External(), mono, {}, {}, SR, (100, 5100), model_mix=stereo)
    assert seen[-1].shape == (5000, 2) and np.array_equal(seen[-1], stereo[100:5100])  # no mono-to-stereo copy
    assert run.estimates["model"].audio.shape == (5000,) and run.mix.shape == (5000,)
    run_separation(External(), mono, {}, {}, SR)
    assert seen[-1].ndim == 1  # without one: the mono mix, as before
