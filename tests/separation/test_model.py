"""Presets, the model file format and its load errors."""

from __future__ import annotations

import pytest
import torch

from slakh_gui.core.dataset.recipes import load_recipe
from slakh_gui.separation import model as M
from slakh_gui.separation import stft as S
from slakh_gui.separation.separation_errors import ModelLoadError


def test_presets_parameter_counts():
    # paper: 4 BLSTM layers x 600 units per direction + dense: 30.4 M parameters (the measurement)
    counts = {n: M.SeparationModel.new(n, "Bass", load_recipe("band")).n_parameters for n in M.PRESETS
              if not M.is_joint_preset(n)}
    assert counts["paper"] == pytest.approx(30.4e6, rel=0.005)
    assert counts["small"] == 5_825_657 and counts["tiny"] == 2_763_521
    net = M.MaskNet(M.PRESETS["paper"])
    assert net.lstm.num_layers == 4 and net.lstm.hidden_size == 600 and net.lstm.bidirectional
    assert net.lstm.dropout == 0.3
    with pytest.raises(ValueError, match="unknown preset"):
        M.preset_config("huge")


def _model(seed=0) -> M.SeparationModel:
    torch.manual_seed(seed)
    m = M.SeparationModel.new("tiny", "Bass", load_recipe("band"))
    m.net.mean.uniform_(-8, -2)
    m.net.std.uniform_(1, 3)
    return m


def test_mask_shape_and_range():
    m = _model()
    X = S.stft(torch.randn(16000))
    mask = m.mask(X)
    assert mask.shape == X.shape[-2:] and float(mask.min()) > 0 and float(mask.max()) < 1
    assert torch.allclose(m.mask(X[None].expand(2, -1, -1))[1], mask, atol=1e-6)


def test_saved_model_reloads_with_identical_output(tmp_path):
    m = _model(1)
    X = S.stft(torch.randn(24000))
    ref = m.mask(X)
    p32 = M.save_model(m, tmp_path / "m32.pt", weight_dtype="float32")
    back = M.load_model(p32)
    assert torch.equal(back.mask(X), ref)
    assert (back.target, back.preset, back.recipe.groups, back.path) == ("Bass", "tiny", m.recipe.groups, p32)
    assert torch.equal(back.net.mean, m.net.mean) and torch.equal(back.net.std, m.net.std)
    # float16 weights (the shipped files): half the size, output within rounding, and stable when saved again
    p16 = M.save_model(m, tmp_path / "m16.pt")
    assert p16.stat().st_size < 0.55 * p32.stat().st_size
    half = M.load_model(p16)
    assert torch.allclose(half.mask(X), ref, atol=2e-3)
    again = M.load_model(M.save_model(half, tmp_path / "again.pt"))
    assert torch.equal(again.mask(X), half.mask(X))
    assert 5.0e6 < p16.stat().st_size < 6.0e6  # a tiny model file is about 5.5 MB


def test_load_errors_are_one_line(tmp_path):
    m = _model()
    good = M.save_model(m, tmp_path / "good.pt")
    cases = {}
    (tmp_path / "text.pt").write_text("hello")
    cases["text.pt"] = "not a Slakh Studio model (unreadable"
    (tmp_path / "trunc.pt").write_bytes(good.read_bytes()[: 20000])
    cases["trunc.pt"] = "not a Slakh Studio model (unreadable"
    torch.save({"some": "dict"}, tmp_path / "other.pt")
    cases["other.pt"] = "not a Slakh Studio model (no format tag)"
    d = M.model_to_dict(m)
    torch.save({**d, "version": 4}, tmp_path / "v4.pt")
    cases["v4.pt"] = "model format version 4 is not supported"
    torch.save({**d, "version": 3}, tmp_path / "v3.pt")  # a bag's version without its members
    cases["v3.pt"] = "corrupt Slakh Studio model ('members')"
    bad = {**d, "state_dict": {k: v for k, v in d["state_dict"].items() if "dense" not in k}}
    torch.save(bad, tmp_path / "corrupt.pt")
    cases["corrupt.pt"] = "corrupt Slakh Studio model"
    torch.save({**d, "format": M.CHECKPOINT_FORMAT}, tmp_path / "ckpt.pt")
    cases["ckpt.pt"] = "a training checkpoint, not a model file"
    torch.save(torch.nn.Linear(2, 2), tmp_path / "pickled.pt")  # arbitrary objects are refused (weights_only)
    cases["pickled.pt"] = "not a Slakh Studio model (unreadable"
    for name, msg in cases.items():
        with pytest.raises(ModelLoadError) as info:
            M.load_model(tmp_path / name)
        text = str(info.value)
        assert msg in text and "\n" not in text and text.startswith(str(tmp_path / name)), (name, text)
    with pytest.raises(ModelLoadError, match="no such model file"):
        M.load_model(tmp_path / "missing.pt")
    with pytest.raises(ModelLoadError, match="no model 'violin'"):
        M.load_model("violin")


def test_shipped_names_resolve_to_resources_models(monkeypatch, tmp_path):
    monkeypatch.setattr(M, "models_dir", lambda: tmp_path)
    with pytest.raises(ModelLoadError, match="shipped model 'bass' is not installed"):
        M.load_model("bass")
    M.save_model(_model(), tmp_path / "bass.pt")
    assert M.resolve_model("Bass") == tmp_path / "bass.pt"
    assert M.load_model("bass").name == "bass"
    assert M.shipped_models() == {"bass": tmp_path / "bass.pt", "drums": None, "guitar": None, "piano": None}
    assert M.models_dir.__module__  # the real one points into the repo:
    monkeypatch.undo()
    assert M.models_dir() == M.paths.resources_dir() / "models"
