"""The joint model (issue #21): one BLSTM trunk, a mask head per target, trained on all targets at once; its file
format beside the single-target one, its per-target views, one network pass per chunk, training, resume and CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from slakh_gui.core.dataset.recipes import load_recipe
from slakh_gui.separation import model as M
from slakh_gui.separation import stft as S
from slakh_gui.separation import wiener as W
from slakh_gui.separation.data import ClipSampler, JointClipSampler, load_split
from slakh_gui.separation.inference import separate
from slakh_gui.separation.separation_errors import ModelLoadError, TrainError
from slakh_gui.separation.train import train
from tests.cli.helpers import one_line_error, run
from tests.separation.conftest import small_config

BAND = ["Bass", "Drums", "Guitar", "Piano"]
SINGLE_KEYS = ["mean", "std"] + [f"lstm.{w}_l{i}{r}" for i in range(2) for r in ("", "_reverse")
                                 for w in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")] + ["dense.weight",
                                                                                              "dense.bias"]


def _randomized(model: M.SeparationModel, seed: int) -> M.SeparationModel:
    torch.manual_seed(seed)
    model.net.mean.uniform_(-8, -2)
    model.net.std.uniform_(1, 3)
    return model


def _joint(seed: int = 0) -> M.SeparationModel:
    torch.manual_seed(seed)
    return _randomized(M.SeparationModel.new("joint-tiny", BAND, load_recipe("band")), seed)


def _spec(seed: int = 1, frames: int = 40) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return S.stft(torch.randn(S.frames_to_samples(frames), generator=g) * 0.1)


def test_forward_shapes_and_single_head_keys():
    joint = _joint()
    x = torch.randn(2, S.N_FREQ, 30)
    assert joint.net(x).shape == joint.net.all_heads(x).shape == (2, 4, S.N_FREQ, 30)
    assert joint.net.dense.weight.shape == (4 * S.N_FREQ, 512) and joint.targets == BAND and joint.is_joint
    assert 3.1e6 < joint.n_parameters < 3.2e6  # tiny (2.76 M) plus three more dense heads
    single = M.SeparationModel.new("tiny", "Bass", load_recipe("band"))
    assert single.net(x).shape == (2, S.N_FREQ, 30) and single.net.all_heads(x).shape == (2, 1, S.N_FREQ, 30)
    assert sorted(single.net.state_dict()) == sorted(SINGLE_KEYS)  # the keys of the files written before heads
    assert single.net.dense.weight.shape == (S.N_FREQ, 512) and not single.is_joint
    m = joint.all_masks(_spec())
    assert m.shape == (4, S.N_FREQ, 40) and float(m.min()) > 0 and float(m.max()) < 1
    with pytest.raises(ValueError, match="for several targets"):
        M.SeparationModel.new("joint-tiny", "Bass", load_recipe("band"))
    with pytest.raises(ValueError, match="for one target"):
        M.SeparationModel.new("tiny", BAND, load_recipe("band"))


def test_a_head_masks_like_the_single_model_whose_weights_it_holds():
    """Copy a single guitar model's trunk and dense layer into a joint model's guitar head: its view masks and
    separates as that single model does."""
    single = _randomized(M.SeparationModel.new("tiny", "Guitar", load_recipe("band")), 3)
    joint = _joint(4)
    state = {k: v.clone() for k, v in single.net.state_dict().items() if not k.startswith("dense")}
    F = S.N_FREQ
    dense_w, dense_b = joint.net.dense.weight.detach().clone(), joint.net.dense.bias.detach().clone()
    dense_w[2 * F : 3 * F], dense_b[2 * F : 3 * F] = single.net.dense.weight, single.net.dense.bias
    joint.net.load_state_dict({**state, "dense.weight": dense_w, "dense.bias": dense_b})
    view = joint.view("guitar")
    assert view.target == "Guitar" and view.head == 2 and view.net is joint.net
    X = _spec()
    assert torch.allclose(view.mask(X), single.mask(X), atol=1e-6)
    assert not torch.allclose(joint.view("bass").mask(X), single.mask(X), atol=1e-3)
    audio = np.random.default_rng(0).standard_normal(44100 * 2).astype(np.float32) * 0.1
    np.testing.assert_allclose(separate(audio, 44100, view), separate(audio, 44100, single), atol=1e-5)


def test_save_load_round_trip_and_the_file_format(tmp_path):
    joint = _joint()
    path = M.save_model(joint, tmp_path / "joint.pt", weight_dtype="float32")
    data = torch.load(path, weights_only=True)
    assert data["version"] == 2 and data["targets"] == BAND and "target" not in data
    assert data["config"]["heads"] == 4 and data["preset"] == "joint-tiny"
    loaded = M.load_model(path)
    assert loaded.target == "Bass" and loaded.targets == BAND  # the first target's view by default
    X = _spec()
    assert torch.equal(loaded.all_masks(X), joint.all_masks(X))
    drums = M.load_model(path, target="drums")
    assert drums.target == "Drums" and torch.equal(drums.mask(X), joint.view("Drums").mask(X))
    assert set(loaded.views()) == set(BAND) and loaded.view("piano").name == "joint-piano"
    with pytest.raises(ModelLoadError, match="separates Bass, Drums, Guitar, Piano, not vocals"):
        M.load_model(path, target="vocals")
    # a single-target file keeps version 1, "target" and no heads: older versions still read it
    single = M.SeparationModel.new("tiny", "Bass", load_recipe("band"))
    d = torch.load(M.save_model(single, tmp_path / "bass.pt"), weights_only=True)
    assert d["version"] == 1 and d["target"] == "Bass" and "targets" not in d and "heads" not in d["config"]
    with pytest.raises(ModelLoadError, match="separates Bass, not drums"):
        M.load_model(tmp_path / "bass.pt", target="drums")
    bad = {**data, "targets": BAND[:3]}
    torch.save(bad, tmp_path / "bad.pt")
    with pytest.raises(ModelLoadError, match="corrupt Slakh Studio model .*4 heads"):
        M.load_model(tmp_path / "bad.pt")


def test_shipped_models_load_as_single_views():
    """The shipped files (written before heads existed) load as one-head models whose mask is the network's."""
    X = _spec()
    for name, path in M.shipped_models().items():
        if path is None:
            continue
        model = M.load_model(path)
        assert model.targets == [model.target] and model.head == 0 and model.net.config.heads == 1
        with torch.inference_mode():
            expected = model.net(S.log_magnitude(X)[None])[0]
        assert torch.equal(model.mask(X), expected), name
        assert W.joint_models(model)[model.target] is model


def test_separate_all_runs_the_joint_network_once_per_chunk():
    joint = _joint()
    calls = []
    original = joint.net.all_heads

    def counting(x):
        calls.append(x.shape)
        return original(x)

    joint.net.all_heads = counting
    views = joint.views()
    audio = np.random.default_rng(1).standard_normal(16000 * 3).astype(np.float32) * 0.1
    out = W.separate_all(audio, 16000, views, wiener=False)
    assert len(calls) == 1 and set(out) == {*BAND, W.RESIDUAL}
    for t, v in views.items():
        np.testing.assert_allclose(out[t], separate(audio, 16000, v), atol=1e-5)
    assert set(W.joint_models(views["Drums"])) == set(BAND)  # the post-filter runs its own heads


def test_joint_clip_rule_keeps_clips_where_any_target_is_loud(dataset, cache_dir):
    recipe = load_recipe("band")
    groups = [load_split(dataset, "train", recipe, g, cache_dir=cache_dir) for g in BAND]
    joint = JointClipSampler(groups, clip_seconds=4.0)
    singles = [ClipSampler(g, clip_seconds=4.0) for g in groups]
    for i in range(len(groups[0])):
        union = set().union(*(set(s.offsets[i].tolist()) for s in singles))
        assert set(joint.offsets[i].tolist()) == union
    clip = joint.clips(1, seed=0)[0]
    i, start = next(i for i, t in enumerate(joint.tracks) if t.name == clip.track), int(round(clip.offset * 16000))
    assert clip.targets.shape == (4, 64000)
    for k, s in enumerate(singles):
        np.testing.assert_array_equal(clip.targets[k], s.coherent_at(i, start).target)
    np.testing.assert_allclose(clip.mixture, singles[0].coherent_at(i, start).mixture)


@pytest.fixture(scope="module")
def joint_run(dataset, cache_dir, tmp_path_factory):
    config = small_config(dataset, cache_dir, target="bass,drums,guitar,piano", preset="joint-tiny")
    return train(config, tmp_path_factory.mktemp("jrun") / "joint"), config


def test_joint_training_lowers_the_validation_loss(joint_run):
    result, _ = joint_run
    assert result.epochs_run == 2 and result.best_val_loss < 0.8 * result.initial_val_loss
    model = M.load_model(result.model_path)
    assert model.targets == BAND and model.preset == "joint-tiny" and model.training["best_epoch"] >= 1
    assert model.training["config"]["target"] == "bass,drums,guitar,piano"


def test_joint_resume_continues_exactly(dataset, cache_dir, tmp_path, joint_run):
    full, _ = joint_run
    config = small_config(dataset, cache_dir, target="bass,drums,guitar,piano", preset="joint-tiny", epochs=1)
    assert train(config, tmp_path / "run").epochs_run == 1
    config.epochs = 2
    resumed = train(config, tmp_path / "run", resume=True)
    assert [h["val_loss"] for h in resumed.history] == [h["val_loss"] for h in full.history]
    a = torch.load(full.run_dir / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize(("kw", "message"), [
    ({"target": "bass", "preset": "joint-tiny"}, "needs several targets"),
    ({"target": "bass,drums"}, "needs one target"),
    ({"target": "bass,bass", "preset": "joint-tiny"}, "name each target once"),
    ({"target": "bass,drums", "preset": "joint-tiny", "incoherent": 0.5}, "coherent clips only"),
])
def test_joint_settings_are_checked(dataset, cache_dir, tmp_path, kw, message):
    with pytest.raises(TrainError, match=message):
        train(small_config(dataset, cache_dir, **kw), tmp_path / "run")


def test_cli_trains_and_separates_with_a_joint_model(dataset, cache_dir, tmp_path, capsys):
    out = tmp_path / "run"
    code, stdout, err = run(["train", "--target", "bass,drums,guitar,piano", "--preset", "joint-tiny", "--epochs", 1,
                             "--steps", 1, "--batch-size", 2, "--val-clips", 1, "--data", dataset, "--cache",
                             cache_dir, "--threads", 1, "--device", "cpu", "-o", out, "--json"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["epochs"] == 1
    model = out / "model.pt"
    audio, sr = sf.read(dataset / "test" / "Track00005" / "mix.flac", dtype="float32")
    mix = tmp_path / "mix.wav"
    sf.write(mix, audio[: sr * 4], sr)
    code, stdout, err = run(["separate", mix, "--model", model, "-o", tmp_path / "est.wav", "--no-wiener"], capsys)
    assert code == 0, err
    parts = {t: sf.read(tmp_path / f"est-{t.lower()}.wav")[0] for t in BAND}
    assert all(p.shape == (sr * 4,) for p in parts.values()) and "est-piano.wav: Piano estimate" in stdout
    code, _, err = run(["separate", mix, "--model", model, "--target", "drums", "-o", tmp_path / "d.wav",
                        "--no-wiener"], capsys)
    assert code == 0, err
    np.testing.assert_allclose(sf.read(tmp_path / "d.wav")[0], parts["Drums"], atol=2e-4)
    code, _, err = run(["separate", mix, "--model", model, "--target", "vocals", "-o", tmp_path / "v.wav"], capsys)
    assert code == 1 and "not vocals" in one_line_error(err)
    code, stdout, err = run(["evaluate", "--model", model, "--target", "piano", "--data", dataset, "--cache",
                             cache_dir, "--threads", 1, "--json"], capsys)
    assert code == 0, err
    assert json.loads(stdout)["target"] == "Piano"
    code, _, err = run(["evaluate", "--model", model, "--data", dataset, "--cache", cache_dir], capsys)
    assert code == 1 and "joint model of Bass, Drums, Guitar, Piano: give --target" in one_line_error(err)
