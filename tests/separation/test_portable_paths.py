"""Shipped model files, cards and evaluations, and what training and evaluation write, hold no path of the machine
that made them: datasets by folder name, the model a run started from by file name, no cache folder."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
import torch

from slakh_gui.separation.evaluate import EvalReport, evaluate
from slakh_gui.separation.model import load_model

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT / "resources" / "models"
# "/a/b", "/a", "~/a" or "C:\a" where a path starts: not after a letter, digit, dot, colon, slash or dash
# ("SI-SDR/SI-SDRi", "test/Track00090", "32 / 16 ms" and "1/2" are not paths of the machine)
ABSOLUTE = re.compile(r"(?<![\w.:/\\-])(?:~?/[\w.+-]+(?:/[\w.+-]*)*|[A-Za-z]:\\[\w.+-]+(?:\\[\w.+-]*)*)")


def machine_paths(text: str, extra: tuple[str, ...] = ()) -> list[str]:
    """The absolute paths in ``text``, and any of the checkout's, the home folder's or ``extra`` it contains."""
    home = os.path.expanduser("~")
    named = [p for p in (str(ROOT), home if len(home) > 1 else "", *extra) if p and p in text]
    return list(dict.fromkeys(ABSOLUTE.findall(text) + named))


def strings(value) -> list[str]:
    """Every string in a loaded model file's dict (keys included), tensors left out."""
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in strings(k) + strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in strings(v)]
    return [value] if isinstance(value, str) else []


def file_paths(path: Path, extra: tuple[str, ...] = ()) -> list[str]:
    """The machine paths a shipped or written file holds (a model file: in the strings of its dict)."""
    if path.suffix == ".pt":
        return [p for s in strings(torch.load(path, map_location="cpu", weights_only=True))
                for p in machine_paths(s, extra)]
    return machine_paths(path.read_text(encoding="utf-8"), extra)


def test_the_check_finds_machine_paths_and_nothing_else():
    found = machine_paths('"data": "/work/data/ds100", x ~/models/bass.pt, `C:\\data\\ds100`, (/root)')
    assert found == ["/work/data/ds100", "~/models/bass.pt", "C:\\data\\ds100", "/root"]
    assert machine_paths(f"x {ROOT / 'resources'} y")  # the checkout's path, however it is written
    assert machine_paths("ds100 at /tmp/pytest-1/sepdata0", ("sepdata0",)) == ["/tmp/pytest-1/sepdata0", "sepdata0"]
    fine = ("| Model (tiny) | 2.7 / +8.1 | SI-SDR / SI-SDRi | STFT 512 / hop 256 (32 / 16 ms) | test/Track00090 | "
            "[resources/models/evaluation.md](resources/models/evaluation.md) | 1/2 | dB/s | `extra-4200` | bass.pt")
    assert machine_paths(fine) == []


def test_shipped_model_files_hold_no_machine_paths():
    files = sorted(p for p in MODELS.rglob("*") if p.is_file())
    assert {p.suffix for p in files} >= {".pt", ".json", ".csv", ".md"} and len(files) >= 20
    found = {p.name: file_paths(p) for p in files}
    assert {k: v for k, v in found.items() if v} == {}
    # what the shipped files say instead: the dataset's and the earlier model's names
    t = load_model(MODELS / "bass.pt").training
    assert t["data"] == t["config"]["data"] == "ds100" and t["config"]["init_from"] == "bass.pt"
    assert json.loads((MODELS / "bass-evaluation.json").read_text())["model_info"]["training"] == t


def test_written_model_and_evaluation_hold_no_machine_paths(trained, dataset, cache_dir, tmp_path):
    """A model trained on a dataset in a temporary folder, and its evaluation written with --out: names only."""
    result, config = trained
    assert config.data == str(dataset) and config.cache_dir == str(cache_dir)  # absolute paths went in
    here = (str(dataset), str(cache_dir), str(result.run_dir), str(tmp_path))
    assert file_paths(result.model_path, here) == []
    rep = evaluate(dataset, "test", model=load_model(result.model_path), cache_dir=cache_dir)
    written = rep.write(tmp_path / "report")
    assert sorted(p.suffix for p in written) == [".csv", ".json", ".md"]
    for p in written:
        assert file_paths(p, here) == [], p.name
    data = json.loads((tmp_path / "report" / "evaluation.json").read_text())
    assert data["data"] == data["model_info"]["training"]["data"] == dataset.name


def test_an_older_models_training_paths_are_not_written():
    """A model file written before names were stored: its evaluation still writes only names."""
    training = {"data": "/home/someone/data/ds100", "config": {
        "data": "/home/someone/data/ds100", "cache_dir": "/home/someone/.cache/slakh", "init_from": "/w/prev/bass.pt",
        "extra_train": ["/w/extra-4200", "/w/extra-5200"]}}
    rep = EvalReport("Bass", "test", "clips", ["mixture"], "bass", {"training": training},
                     rows=[{"track": "test/T1", "offset_s": 0.0, "seconds": 10.0, "mixture": -5.0}])
    text = rep.to_json()
    assert machine_paths(text) == [] and "/home/someone" not in text
    config = json.loads(text)["model_info"]["training"]["config"]
    assert config == {"data": "ds100", "init_from": "bass.pt", "extra_train": ["extra-4200", "extra-5200"]}
    assert rep.model_info["training"] is training and training["data"].startswith("/")  # the report's own is kept


@pytest.mark.parametrize("given, name", [("/data/ds100/", "ds100"), ("ds100", "ds100"), ("bass", "bass")])
def test_folder_name(given, name):
    from slakh_gui.separation.model import folder_name

    assert folder_name(given) == name
