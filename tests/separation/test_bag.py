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


def _sibling(tmp_path, base: M.SeparationModel, seed: int, epoch: int) -> M.SeparationModel:
    """A model of the same line of training as ``base``: its statistics, weights moved a little (another epoch)."""
    torch.manual_seed(seed)
    m = M.SeparationModel.new("tiny", base.target, base.recipe)
    m.net.load_state_dict(base.net.state_dict())
    with torch.no_grad():
        for p in m.net.parameters():
            p.add_(0.01 * torch.randn_like(p))
    m.training = {**base.training, "epoch_saved": epoch}
    return M.load_model(M.save_model(m, tmp_path / f"e{epoch}.pt"))


def test_averaging_one_runs_epochs_gives_one_network_with_the_mean_weights(tmp_path):
    base = _saved(tmp_path, 20)
    a, b, c = (_sibling(tmp_path, base, s, e) for s, e in ((21, 10), (22, 11), (23, 12)))
    avg = M.average_models([a, b, c])
    assert avg.bag_size == 1 and avg.n_parameters == a.n_parameters
    for k, v in avg.net.state_dict().items():
        want = (a.net.state_dict()[k] + b.net.state_dict()[k] + c.net.state_dict()[k]) / 3
        assert torch.allclose(v, want, atol=1e-6), k
    assert [x["epoch"] for x in avg.training["averaged"]] == [10, 11, 12]
    back = M.load_model(M.save_model(avg, tmp_path / "swa.pt"))  # an ordinary (version 1) model file
    assert torch.load(tmp_path / "swa.pt", weights_only=True)["version"] == 1
    X = S.stft(torch.randn(16000))
    assert torch.allclose(back.mask(X), avg.mask(X), atol=2e-3)


def test_averaging_refuses_networks_of_different_starts_and_bags(tmp_path):
    a, b = _saved(tmp_path, 24), _saved(tmp_path, 25)  # their own input statistics: not one line of training
    with pytest.raises(ValueError, match="normalize their input differently.*bag them instead"):
        M.average_models([a, b])
    with pytest.raises(ValueError, match="is a bag"):
        M.average_models([M.bag_models([a, b]), a])


def test_average_command(tmp_path, capsys):
    base = _saved(tmp_path, 26)
    a, b = _sibling(tmp_path, base, 27, 1), _sibling(tmp_path, base, 28, 2)
    out = tmp_path / "avg.pt"
    code, stdout, err = run(["average", a.path, b.path, "-o", out], capsys)
    assert code == 0 and "Guitar" in stdout and M.load_model(out).bag_size == 1, err
    code, _, err = run(["average", a.path, _saved(tmp_path, 29).path, "-o", tmp_path / "x.pt"], capsys)
    assert code == 1 and "cannot average these models" in one_line_error(err) and not (tmp_path / "x.pt").exists()


def test_a_run_keeps_every_epoch_and_they_average(dataset, cache_dir, tmp_path):
    """--keep-epochs writes each epoch's model (best or not); those models average into one network."""
    from slakh_gui.separation.train import train
    from tests.separation.conftest import small_config

    result = train(small_config(dataset, cache_dir, epochs=3, keep_epochs=True), tmp_path / "run")
    kept = sorted((tmp_path / "run" / "epochs").glob("e*.pt"))
    assert [p.name for p in kept] == ["e001.pt", "e002.pt", "e003.pt"]
    models = [M.load_model(p) for p in kept]
    assert [m.training["epoch_saved"] for m in models] == [1, 2, 3]
    assert [m.training["epoch_val_loss"] for m in models] == [h["val_loss"] for h in result.history]
    assert not torch.equal(models[0].net.dense.weight, models[2].net.dense.weight)
    avg = M.average_models(models[1:])
    assert [a["epoch"] for a in avg.training["averaged"]] == [2, 3]
