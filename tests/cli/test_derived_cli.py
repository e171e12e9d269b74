"""``slakh-studio stats | convert | submix | lint``, run in-process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf
import yaml

from tests.cli.helpers import one_line_error, run
from tests.conftest import DATA, SLAKH_SAMPLES, needs_samples
from tests.core.test_dataset_stats import render_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return render_dataset(tmp_path_factory.mktemp("cli") / "ds", layout=[("train", 1, 1, 0), ("test", 2, 1, 3)])


def test_help_lists_commands(capsys):
    with pytest.raises(SystemExit):
        run(["--help"], capsys)
    out = capsys.readouterr().out
    for cmd in ("stats", "convert", "submix", "lint"):
        assert cmd in out


def test_stats(dataset, tmp_path, capsys):
    code, out, _ = run(["stats", dataset, "-o", tmp_path / "rep"], capsys)
    assert code == 0
    assert out.splitlines()[0].startswith("2 songs, ") and "5 instrument classes" in out
    assert sorted(p.name for p in (tmp_path / "rep").iterdir()) == [
        "fig1_classes.png", "fig2_spectra.png", "stats.json", "stats.md"]
    code, out, _ = run(["stats", dataset, "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["table1"]["songs"] == 2 and "mean_db" not in data["fig2_spectra"][0]
    assert (dataset / "stats" / "stats.md").is_file()  # default: PATH/stats


@needs_samples
def test_stats_real_samples_lists_skips(tmp_path, capsys):
    code, out, _ = run(["stats", SLAKH_SAMPLES / "babyslakh_16k", "-o", tmp_path], capsys)
    assert code == 0 and "1 songs" in out and "skipped Track00007" in out


def test_stats_errors(tmp_path, capsys):
    code, _, err = run(["stats", tmp_path / "nope"], capsys)
    assert code == 1 and "no such folder" in one_line_error(err)
    code, _, err = run(["stats", tmp_path], capsys)
    assert code == 1 and "no TrackNNNNN folders" in one_line_error(err)
    code, _, err = run(["stats", tmp_path, "--workers", "0"], capsys)
    assert code == 1 and "--workers must be at least 1" in one_line_error(err)


def test_convert_and_submix(dataset, tmp_path, capsys):
    code, out, _ = run(["convert", dataset, tmp_path / "o", "--sample-rate", "16000", "--format", "wav"], capsys)
    assert code == 0 and out.startswith("2 tracks -> ")
    assert sf.info(str(tmp_path / "o/test/Track00002/mix.wav")).samplerate == 16000
    code, out, _ = run(["convert", dataset, tmp_path / "o", "--sample-rate", "16000", "--format", "wav",
                        "--json"], capsys)
    assert code == 0 and json.loads(out)["written"] == 0
    code, out, _ = run(["submix", tmp_path / "o", "--recipe", "band", "--name", "band4"], capsys)
    assert code == 0 and "10 submix files written" in out
    assert sf.info(str(tmp_path / "o/train/Track00001/band4/residuals.wav")).samplerate == 16000


def test_convert_submix_errors(dataset, tmp_path, capsys):
    code, _, err = run(["convert", dataset, dataset / "x"], capsys)
    assert code == 1 and "must be outside" in one_line_error(err)
    code, _, err = run(["convert", dataset, tmp_path / "x", "--sample-rate", "-5"], capsys)
    assert code == 1 and "--sample-rate must be positive" in one_line_error(err)
    code, _, err = run(["submix", dataset, "--recipe", "nope"], capsys)
    assert code == 1 and "no recipe 'nope'" in one_line_error(err)
    bad = tmp_path / "bad.yaml"
    bad.write_text("Recipes: [1, 2]\n")
    code, _, err = run(["submix", dataset, "--recipe", bad], capsys)
    assert code == 1 and "needs a 'Recipes' mapping" in one_line_error(err)


def test_lint(dataset, tmp_path, capsys):
    root = tmp_path / "ds"
    shutil.copytree(dataset, root, ignore=shutil.ignore_patterns("stats"))
    (root / "train/Track00001/stems/S00.flac").unlink()
    code, out, _ = run(["lint", root, "--bank", DATA / "small_bank.yaml", "-o", tmp_path / "lint.yaml"], capsys)
    assert code == 0
    assert "train/Track00001/S00: missing_audio" in out
    assert "test/Track00002: cross_split_duplicate" in out
    assert "2 findings" in out
    data = yaml.safe_load((tmp_path / "lint.yaml").read_text())
    assert data["counts"] == {"missing_audio": 1, "cross_split_duplicate": 1}
    code, out, _ = run(["lint", root / "test", "--json"], capsys)
    assert code == 0 and json.loads(out) == []
    code, _, err = run(["lint", root, "--bank", tmp_path / "missing.yaml"], capsys)
    assert code == 1 and one_line_error(err)
