"""Bags of models: several networks of one target whose masks are averaged, in one model file."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from slakh_gui.core.dataset.recipes import load_recipe
from slakh_gui.separation import model as M
from slakh_gui.separation import stft as S
from slakh_gui.separation.inference import separate
from slakh_gui.separation.separation_errors import ModelLoadError
from tests.cli.helpers import one_line_error, run


def _model(seed: int, target: str = "Guitar", preset: str = "tiny", data: str = "/machine/data/ds100"):
    torch.manual_seed(seed)
    m = M.SeparationModel.new(preset, target, load_recipe("band"))
    m.net.mean.uniform_(-8, -2)
    m.net.std.uniform_(1, 3)
    m.training = {"data": data, "epochs": seed + 1, "config": {"cache_dir": "/machine/cache", "data": data}}
    return m


def _saved(tmp_path, seed: int, **kw) -> M.SeparationModel:
    """A model as it comes back from its file (float16 weights), so a bag of it is comparable exactly."""
    return M.load_model(M.save_model(_model(seed, **kw), tmp_path / f"m{seed}.pt"))


def test_a_bag_masks_with_the_mean_of_its_members_and_survives_its_file(tmp_path):
    a, b = _saved(tmp_path, 1), _saved(tmp_path, 2)
    X = S.stft(torch.randn(24000))
    want = (a.mask(X) + b.mask(X)) / 2
    assert not torch.allclose(a.mask(X), b.mask(X), atol=1e-3)  # the members differ: the mean is not either one
    bag = M.bag_models([a, b])
    assert bag.bag_size == 2 and bag.target == "Guitar" and bag.n_parameters == 2 * a.n_parameters
    assert torch.allclose(bag.mask(X), want, atol=1e-6)
    assert "bag of 2 networks" in bag.describe()
    path = M.save_model(bag, tmp_path / "bag.pt")
    raw = torch.load(path, weights_only=True)
    assert raw["version"] == 3 and len(raw["members"]) == 2 and "state_dict" not in raw
    back = M.load_model(path)
    assert back.bag_size == 2 and torch.allclose(back.mask(X), want, atol=1e-6)
    assert [t["epochs"] for t in back.training["bag"]] == [2, 3]  # each member's training summary is kept


def test_a_bag_separates_the_mean_of_its_members_estimates(tmp_path):
    a, b = _saved(tmp_path, 3), _saved(tmp_path, 4)
    audio = (0.1 * np.random.default_rng(0).standard_normal(44100 * 3)).astype(np.float32)
    est = separate(audio, 44100, M.bag_models([a, b]))
    mean = (separate(audio, 44100, a) + separate(audio, 44100, b)) / 2  # masks act linearly on the mixture's STFT
    assert est.shape == audio.shape and np.max(np.abs(est - mean)) < 1e-5 * np.max(np.abs(mean))


def test_a_bag_of_a_bag_adds_its_members_and_holds_no_machine_paths(tmp_path):
    a, b, c = (_saved(tmp_path, s) for s in (5, 6, 7))
    inner = M.load_model(M.save_model(M.bag_models([a, b]), tmp_path / "inner.pt"))
    outer = M.bag_models([inner, c])
    assert outer.bag_size == 3 and [t["epochs"] for t in outer.training["bag"]] == [6, 7, 8]
    path = M.save_model(outer, tmp_path / "outer.pt")
    text = path.read_bytes()
    assert b"/machine" not in text and b"ds100" in text
    fresh = M.bag_models([_model(16), _model(17)])  # in memory: the members' summaries still name machine folders
    assert "/machine" in str(fresh.training) and "/machine" not in str(M.portable_training(fresh.training))


def test_models_that_do_not_fit_together_are_refused(tmp_path):
    g = _saved(tmp_path, 8)
    with pytest.raises(ValueError, match="separates Bass"):
        M.bag_models([g, _saved(tmp_path, 9, target="Bass")])
    with pytest.raises(ValueError, match="differ in size"):
        M.bag_models([g, M.load_model(M.save_model(_model(10, preset="small"), tmp_path / "s.pt"))])
    with pytest.raises(ValueError, match="at least two"):
        M.bag_models([g])


def test_a_damaged_bag_file_gets_one_clear_error(tmp_path):
    path = M.save_model(M.bag_models([_saved(tmp_path, 11), _saved(tmp_path, 12)]), tmp_path / "bag.pt")
    raw = torch.load(path, weights_only=True)
    raw["members"] = raw["members"][:1]
    torch.save(raw, tmp_path / "one.pt")
    with pytest.raises(ModelLoadError, match="corrupt.*at least two"):
        M.load_model(tmp_path / "one.pt")
    raw["version"] = 4
    torch.save(raw, tmp_path / "future.pt")
    with pytest.raises(ModelLoadError, match="version 4 is not supported"):
        M.load_model(tmp_path / "future.pt")


def test_training_does_not_start_from_a_bag(dataset, cache_dir, tmp_path, trained):
    from slakh_gui.separation.train import TrainError, train
    from tests.separation.conftest import small_config

    result, _ = trained
    member = M.load_model(result.model_path)
    bag = M.save_model(M.bag_models([member, member]), tmp_path / "bag.pt")
    with pytest.raises(TrainError, match="a bag of 2 networks.*start from one of the models"):
        train(small_config(dataset, cache_dir, epochs=1, init_from=str(bag)), tmp_path / "run")


def test_bag_command(tmp_path, capsys):
    a = M.save_model(_model(13), tmp_path / "a.pt")
    b = M.save_model(_model(14), tmp_path / "b.pt")
    out = tmp_path / "bag.pt"
    code, stdout, err = run(["bag", a, b, "-o", out], capsys)
    assert code == 0, err
    assert "a bag of 2 networks" in stdout and M.load_model(out).bag_size == 2
    code, _, err = run(["bag", a, b, "-o", out], capsys)
    assert code == 1 and "exists" in one_line_error(err)  # never replaced without --overwrite
    code, _, err = run(["bag", a, M.save_model(_model(15, target="Bass"), tmp_path / "bass.pt"), "-o",
                        tmp_path / "x.pt"], capsys)
    assert code == 1 and "cannot bag these models" in one_line_error(err) and not (tmp_path / "x.pt").exists()
    code, _, err = run(["bag", a, tmp_path / "missing.pt", "-o", tmp_path / "y.pt"], capsys)
    assert code == 1 and "no such model file" in one_line_error(err)
