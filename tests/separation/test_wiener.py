"""The joint Wiener post-filter (norbert) with the shipped models: it changes the estimates, the sources add up to
the mixture, without it the estimates are ``separate``'s, chunks bound its arrays; its evaluation column and CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from slakh_gui.core.jobs import Cancelled, CancelToken
from slakh_gui.separation import defaults
from slakh_gui.separation import stft as S
from slakh_gui.separation import wiener as W
from slakh_gui.separation.evaluate import evaluate
from slakh_gui.separation.inference import separate
from slakh_gui.separation.metrics import si_sdr
from slakh_gui.separation.model import SHIPPED, load_model
from slakh_gui.separation.resample import resample
from tests.cli.helpers import one_line_error, run


@pytest.fixture(scope="module")
def models():
    return {n: load_model(n) for n in SHIPPED}


@pytest.fixture(scope="module")
def mix(dataset):
    """8 s of the test track's mix (piano, bass, guitar, drums, strings) at 44.1 kHz."""
    audio, sr = sf.read(dataset / "test" / "Track00005" / "mix.flac", dtype="float32")
    return audio[sr * 2 : sr * 10], sr


def test_filter_changes_the_estimates_and_the_sources_add_up_to_the_mixture(models, mix):
    audio, sr = mix
    x = resample(audio, sr, S.SAMPLE_RATE)  # at 16 kHz nothing is left out, so the sum checks the filter itself
    plain = W.separate_all(x, S.SAMPLE_RATE, models, wiener=False)
    filtered = W.separate_all(x, S.SAMPLE_RATE, models, wiener=True)
    assert list(filtered) == [*SHIPPED, W.RESIDUAL]
    for name in SHIPPED:
        assert filtered[name].shape == x.shape and filtered[name].dtype == np.float32
        assert np.max(np.abs(filtered[name] - plain[name])) > 1e-2, name
        assert 3 < si_sdr(filtered[name], plain[name]) < 40, name  # refined, not replaced
    total = np.sum(list(filtered.values()), axis=0)
    assert np.max(np.abs(total - x)) < 1e-4 * np.max(np.abs(x))
    assert np.max(np.abs(filtered[W.RESIDUAL])) > 1e-3  # the strings are no target's: the rest holds them
    # more EM iterations refine further; 0 is the joint soft mask alone
    two = W.separate_all(x, S.SAMPLE_RATE, models, True, iterations=2)
    soft = W.separate_all(x, S.SAMPLE_RATE, models, True, iterations=0)
    for other in (two, soft):
        assert np.max(np.abs(other["bass"] - filtered["bass"])) > 1e-3
        assert np.max(np.abs(np.sum(list(other.values()), axis=0) - x)) < 1e-4 * np.max(np.abs(x))
    # any rate and channel count: the sources add up to the input (the band above 8 kHz goes to the residual)
    stereo = np.stack([audio, 0.7 * audio], axis=1)
    out = W.separate_all(stereo, sr, models, True)
    assert all(v.shape == stereo.shape for v in out.values())
    assert np.max(np.abs(np.sum(list(out.values()), axis=0) - stereo)) < 1e-5
    assert si_sdr(out["drums"][:, 0], resample(filtered["drums"], S.SAMPLE_RATE, sr)[: len(audio)]) > 20


def test_without_the_filter_the_estimates_are_separates(models, mix):
    audio, sr = mix
    plain = W.separate_all(audio, sr, models, wiener=False, chunk_seconds=3.0, overlap_seconds=1.0)
    for name, model in models.items():
        ref = separate(audio, sr, model, chunk_seconds=3.0, overlap_seconds=1.0)
        assert np.array_equal(plain[name], ref), name
    assert np.allclose(np.sum(list(plain.values()), axis=0), audio, atol=1e-5)
    stereo = np.stack([audio, 0.5 * audio], axis=1)
    both = W.separate_all(stereo, sr, {"piano": models["piano"]}, wiener=False)
    assert np.allclose(both["piano"], separate(stereo, sr, models["piano"]), atol=1e-5)


def test_the_filter_sees_bounded_chunks(models, mix, monkeypatch):
    """A 30-s mixture in 8-s chunks: neither the filter nor norbert ever holds more than a chunk (norbert a window
    of WINDOW_FRAMES frames); progress counts the chunks; cancel stops it."""
    audio, sr = mix
    long = np.tile(audio, 4)[: sr * 30]
    seen_filter, seen_norbert = [], []
    real_filter, norbert = W.wiener_filter, W._norbert()
    real_wiener = norbert.wiener

    def filter_spy(mags, X, iterations=W.ITERATIONS, window=W.WINDOW_FRAMES):
        seen_filter.append(mags.shape)
        return real_filter(mags, X, iterations, window)

    def norbert_spy(v, x, *a, **kw):
        seen_norbert.append(v.shape)
        return real_wiener(v, x, *a, **kw)

    monkeypatch.setattr(W, "wiener_filter", filter_spy)
    monkeypatch.setattr(norbert, "wiener", norbert_spy)
    progress = []
    out = W.separate_all(long, sr, {"bass": models["bass"], "drums": models["drums"]}, True,
                         progress=progress.append,
                         chunk_seconds=8.0, overlap_seconds=0.5)
    assert out["bass"].shape == long.shape
    assert len(seen_filter) == progress[-1].total == 4 and progress[-1].done == 4
    assert max(s[-1] for s in seen_filter) <= S.n_frames(8 * S.SAMPLE_RATE)
    assert all(s[0] == 3 and s[1] == 1 for s in seen_filter)  # bass, drums, residual; one channel
    assert max(v[0] for v in seen_norbert) == W.WINDOW_FRAMES and all(v[2:] == (1, 3) for v in seen_norbert)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        W.separate_all(long, sr, models, True, cancel=token)


def test_filter_layout_is_norberts(models):
    """Mono, one EM iteration from a soft mask: each source's gain is its squared magnitude over the sum of all
    squared magnitudes (norbert's Wiener gain), so the frames/bins/channels/sources layout is the right one."""
    rng = np.random.default_rng(0)
    mags = rng.random((3, 1, S.N_FREQ, 40)) + 0.1
    X = (rng.standard_normal((1, S.N_FREQ, 40)) + 1j * rng.standard_normal((1, S.N_FREQ, 40))).astype(np.complex64)
    Y = W.wiener_filter(mags, X, iterations=1, window=16)
    gain = mags**2 / np.sum(mags**2, axis=0)
    assert Y.shape == mags.shape and np.allclose(Y, gain * X[None], atol=1e-5)
    assert np.allclose(W.wiener_filter(mags, X, iterations=0), mags / mags.sum(0) * X[None], atol=1e-5)
    with pytest.raises(ValueError):
        W.separate_all(np.zeros(100, np.float32), 16000, {W.RESIDUAL: models["bass"]})


def test_joint_models_are_the_other_shipped_targets(models, trained):
    joint = W.joint_models(models["guitar"])
    assert list(joint) == ["Guitar", "Bass", "Drums", "Piano"] and joint["Guitar"] is models["guitar"]
    own = load_model(trained[0].model_path)  # a bass model trained here, of the band recipe
    joint = W.joint_models(own)
    assert joint["Bass"] is own and set(joint) == {"Bass", "Drums", "Guitar", "Piano"}


def test_evaluate_scores_the_model_with_and_without_the_filter(dataset, cache_dir, models):
    rep = evaluate(dataset, "test", model=models["drums"], oracles=("tpsf",), cache_dir=cache_dir,
                   wiener_models=models)
    assert rep.methods == ["mixture", "model", "model+wiener", "tpsf"]
    means = rep.means()
    assert np.isfinite(means["model+wiener"]["si_sdr"])
    assert means["model+wiener"]["si_sdr"] != means["model"]["si_sdr"]
    assert "| Model + Wiener post-filter |" in rep.to_markdown()
    assert "model+wiener_si_sdri" in rep.to_csv().splitlines()[0]


def test_cli_wiener_flag_end_to_end(dataset, cache_dir, mix, tmp_path, capsys):
    audio, sr = mix
    wav = tmp_path / "mix.wav"
    sf.write(wav, audio[: sr * 4], sr)
    outs = {}
    for flag in ("--wiener", "--no-wiener"):
        out = tmp_path / f"bass{flag}.wav"
        code, stdout, err = run(["separate", wav, "--model", "bass", "-o", out, flag, "--threads", 1], capsys)
        assert code == 0, err
        assert ("Wiener post-filter with Bass, Drums, Guitar, Piano" in stdout) == (flag == "--wiener"), stdout
        outs[flag], _ = sf.read(out, dtype="float32")
    assert outs["--wiener"].shape == outs["--no-wiener"].shape == (sr * 4,)
    assert np.max(np.abs(outs["--wiener"] - outs["--no-wiener"])) > 1e-2
    code, stdout, err = run(["separate", wav, "--model", "bass", "-o", tmp_path / "default.wav", "--threads", 1],
                            capsys)
    assert code == 0 and ("Wiener post-filter" in stdout) == defaults.WIENER, err
    code, stdout, err = run(["evaluate", "--model", "piano", "--data", dataset, "--cache", cache_dir, "--wiener",
                             "--wiener-iterations", 2, "--threads", 1, "--json"], capsys)
    assert code == 0, err
    assert set(json.loads(stdout)["mean"]) == {"mixture", "model", "model+wiener", "ibm", "irm", "wiener", "tpsf"}
    for args, msg in ((["evaluate", "--target", "bass", "--data", dataset, "--wiener"], "give --model"),
                      (["separate", wav, "--model", "bass", "-o", tmp_path / "x.wav", "--wiener-iterations", -1],
                       "0 or more")):
        code, _, err = run(args, capsys)
        assert code == 1 and msg in one_line_error(err), err
