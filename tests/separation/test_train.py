"""Training: the validation loss falls, checkpoints resume exactly, runs refuse mismatched settings."""

from __future__ import annotations

import json
import shutil

import pytest
import torch

from slakh_gui.core.jobs import Cancelled, CancelToken
from slakh_gui.separation.model import load_model
from slakh_gui.separation.separation_errors import DatasetError, TrainError
from slakh_gui.separation.train import train
from tests.separation.conftest import small_config


def test_short_run_lowers_the_validation_loss(trained):
    result, config = trained
    assert result.epochs_run == 2 and len(result.history) == 2
    assert result.best_val_loss < 0.8 * result.initial_val_loss
    assert result.best_val_loss == min(h["val_loss"] for h in result.history)
    log = [json.loads(line) for line in (result.run_dir / "log.jsonl").read_text().splitlines()]
    assert [e["epoch"] for e in log] == [0, 1, 2] and log[0]["val_loss"] == result.initial_val_loss
    # CPU time (this process's) adds up epoch by epoch, for comparisons on equal CPU budgets
    cpu = [e["cpu_seconds"] for e in log[1:]]
    assert 0 < cpu[0] < cpu[1] and cpu[1] - cpu[0] <= 4 * log[2]["epoch_seconds"]
    model = load_model(result.model_path)
    assert model.target == "Bass" and model.preset == "tiny"
    assert model.training["best_epoch"] == result.best_epoch and model.training["train_tracks"] == 3
    assert model.training["val_loss"] == pytest.approx(result.best_val_loss)
    # input normalization statistics come from training mixtures (low bands louder than high ones), not 0 / 1
    mean, std = model.net.mean, model.net.std
    assert float(mean[:20].mean()) > float(mean[-50:].mean()) + 2 and float(std.min()) > 0.1
    assert not torch.allclose(std, torch.ones_like(std))


def test_resume_continues_exactly(dataset, cache_dir, tmp_path, trained):
    full, _ = trained
    config = small_config(dataset, cache_dir, epochs=1)
    first = train(config, tmp_path / "run")
    assert first.epochs_run == 1
    with pytest.raises(TrainError, match="use --resume"):
        train(config, tmp_path / "run")
    config.epochs = 2
    resumed = train(config, tmp_path / "run", resume=True)
    assert resumed.epochs_run == 2
    assert [h["val_loss"] for h in resumed.history] == [h["val_loss"] for h in full.history]
    # the CPU time goes on adding up across the interruption (epoch 2's entry holds both epochs', as in ``full``)
    cpu = [h["cpu_seconds"] for h in resumed.history]
    assert cpu[0] > 0 and cpu[1] > 1.4 * cpu[0]
    a = torch.load(full.run_dir / "checkpoint.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)["model"]
    assert all(torch.equal(a[k], b[k]) for k in a)
    with pytest.raises(TrainError, match="target 'bass' not 'drums'"):
        train(small_config(dataset, cache_dir, target="drums", epochs=3), tmp_path / "run", resume=True)


def test_cancel_keeps_the_last_checkpoint(dataset, cache_dir, tmp_path):
    token = CancelToken()
    seen = []

    def progress(p):
        seen.append(p)
        if p.stage == "train" and p.done == 7:  # in epoch 2 of 5-step epochs
            token.cancel()

    with pytest.raises(Cancelled):
        train(small_config(dataset, cache_dir), tmp_path / "run", progress=progress, cancel=token)
    ckpt = torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=True)
    assert ckpt["state"]["epoch"] == 1 and (tmp_path / "run" / "model.pt").is_file()
    steps = [p for p in seen if p.stage == "train"]
    assert steps[0].total == 10 and "epoch 1/2" in steps[0].item and "ETA" in steps[0].item


def test_init_from_continues_a_model_whose_run_is_gone(dataset, cache_dir, tmp_path, trained):
    full, _ = trained
    config = small_config(dataset, cache_dir, epochs=1, init_from=str(full.model_path))
    more = train(config, tmp_path / "more")
    # starts where the model stood (float16 weights: equal up to rounding), not from a fresh network
    assert more.initial_val_loss == pytest.approx(full.best_val_loss, rel=0.02)
    assert more.initial_val_loss < 0.9 * full.initial_val_loss
    model, source = load_model(more.model_path), load_model(full.model_path)
    assert model.training["prior_epochs"] == source.training["epochs"] > 0 and model.training["epochs"] == 1
    assert model.training["prior_seconds"] == pytest.approx(source.training["train_seconds"])
    # the model file names the model it started from by file name, the data by folder name, and no cache
    assert model.training["config"]["init_from"] == "model.pt" and model.training["data"] == dataset.name
    assert model.training["config"]["data"] == dataset.name and "cache_dir" not in model.training["config"]
    assert torch.equal(model.net.mean, source.net.mean)  # its input statistics are kept
    with pytest.raises(TrainError, match="a Bass model with preset tiny; this run trains Drums"):
        train(small_config(dataset, cache_dir, target="drums", init_from=str(full.model_path)), tmp_path / "d")


def test_extra_training_data_joins_the_train_split_and_held_out_songs_are_refused(dataset, cache_dir, tmp_path):
    """``extra_train``: another dataset's train split and tracks outside splits are trained on, its validation split
    joins validation, its test split stays out; a track whose MIDI is one of ``data``'s validation or test songs is
    refused before anything is trained."""
    extra = tmp_path / "extra"
    shutil.copytree(dataset / "train" / "Track00001", extra / "train" / "Track00101")
    shutil.copytree(dataset / "train" / "Track00002", extra / "Track00102")  # a folder without splits
    shutil.copytree(dataset / "train" / "Track00003", extra / "validation" / "Track00103")
    shutil.copytree(dataset / "train" / "Track00001", extra / "test" / "Track00104")  # stays out
    result = train(small_config(dataset, cache_dir, epochs=1, extra_train=[str(extra)]), tmp_path / "run")
    model = load_model(result.model_path)
    base = train(small_config(dataset, cache_dir, epochs=1), tmp_path / "base")
    assert model.training["train_tracks"] == load_model(base.model_path).training["train_tracks"] + 2
    assert model.training["val_tracks"] == load_model(base.model_path).training["val_tracks"] + 1
    assert model.training["train_hours"] > load_model(base.model_path).training["train_hours"]
    assert model.training["config"]["extra_train"] == ["extra"]  # by folder name, not this machine's path

    leaky = tmp_path / "leaky"
    shutil.copytree(dataset / "test" / "Track00005", leaky / "Track00200")
    with pytest.raises(DatasetError, match=r"same MIDI .* as .*'s test/Track00005"):
        train(small_config(dataset, cache_dir, extra_train=[str(leaky)]), tmp_path / "leak")
    assert not (tmp_path / "leak" / "checkpoint.pt").exists()
