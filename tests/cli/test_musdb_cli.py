"""``slakh-studio export-musdb`` and ``slakh-studio dataset --musdb``, run in-process."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf

from tests.cli.helpers import one_line_error, run
from tests.conftest import DATA
from tests.core.test_dataset_stats import render_dataset


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return render_dataset(tmp_path_factory.mktemp("cli-musdb") / "ds",
                          layout=[("train", 1, 1, 0), ("validation", 2, 2, 0), ("test", 3, 3, 0)])


def test_export_musdb_then_resume(dataset, tmp_path, capsys):
    with pytest.raises(SystemExit):
        run(["--help"], capsys)
    assert "export-musdb" in capsys.readouterr().out
    out = tmp_path / "mus"
    code, text, err = run(["export-musdb", dataset, "-o", out], capsys)
    assert code == 0, err
    lines = text.splitlines()
    assert lines[0] == (f"MUSDB export {out}/: 2 train (1 of them validation), 1 test tracks (3 exported now, 0 "
                        "already done); targets bass, drums, guitar, piano, other")
    assert "by at most" in lines[1] and f"musdb.DB(root='{out}', is_wav=True, setup_file='setup.yaml')" in lines[2]
    assert "warning" not in err
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("*/*/mixture.wav")) == [
        "test/Track00003/mixture.wav", "train/Track00001/mixture.wav", "train/Track00002/mixture.wav"]
    code, text, _ = run(["export-musdb", dataset, "-o", out, "--json"], capsys)
    result = json.loads(text)
    assert code == 0 and result["exported"] == [] and len(result["already_done"]) == 3
    assert result["validation"] == ["Track00002"] and result["counts"] == {"train": 2, "test": 1}
    code, text, _ = run(["export-musdb", dataset / "test", "-o", out, "--targets", "drums,bass", "--float32",
                         "--overwrite"], capsys)
    assert code == 0 and "(1 exported now, 0 already done); targets drums, bass, other" in text
    assert "removed 3 tracks of the earlier export" in text
    assert sf.info(str(out / "train/Track00003/drums.wav")).subtype == "FLOAT"


def test_export_musdb_errors_are_one_line(dataset, tmp_path, capsys):
    code, _, err = run(["export-musdb", tmp_path, "-o", tmp_path / "o"], capsys)
    assert code == 1 and "no TrackNNNNN folders" in one_line_error(err)
    broken = tmp_path / "broken"
    shutil.copytree(dataset, broken)
    next((broken / "test/Track00003/stems").glob("*.flac")).unlink()
    code, _, err = run(["export-musdb", broken, "-o", tmp_path / "o"], capsys)
    line = one_line_error(err)
    assert code == 1 and "Track00003" in line and "rendered (metadata.yaml) but no audio file found" in line
    code, _, err = run(["export-musdb", dataset, "-o", tmp_path / "o", "--targets", "vocals"], capsys)
    assert code == 1 and "recipe 'band' has no group 'vocals'" in one_line_error(err)
    code, _, err = run(["export-musdb", dataset, "-o", tmp_path / "o", "--recipe", "nope"], capsys)
    assert code == 1 and "no recipe 'nope'" in one_line_error(err)
    code, _, err = run(["export-musdb", dataset, "-o", broken], capsys)
    assert code == 1 and "not empty and holds no Slakh Studio MUSDB export" in one_line_error(err)
    assert not (tmp_path / "o").exists()


def test_dataset_then_musdb_export(tmp_path, capsys):
    from slakh_gui.core.midi import corpus

    midi = tmp_path / "corpus"
    corpus.generate_corpus(midi, 3, seed=11, min_duration=8, max_duration=10)
    base = ["dataset", midi, "-o", tmp_path / "ds", "--bank", DATA / "small_bank.yaml", "--min-notes", 10,
            "--split", "1:1:1", "--workers", 1]
    code, _, err = run([*base, "--musdb", tmp_path / "mus", "--musdb-targets", "vocals"], capsys)
    assert code == 1 and "has no group 'vocals'" in one_line_error(err)
    assert not (tmp_path / "ds").exists()  # refused before rendering anything
    code, text, err = run([*base, "--musdb", tmp_path / "mus", "--json"], capsys)
    assert code == 0, err
    summary = json.loads(text)
    assert summary["splits"] == {"train": 1, "validation": 1, "test": 1}
    musdb = summary["musdb"]
    assert len(musdb["exported"]) == 3 and musdb["counts"] == {"train": 2, "test": 1} and len(musdb["validation"]) == 1
    import musdb as musdb_package

    db = musdb_package.DB(root=str(tmp_path / "mus"), is_wav=True, setup_file="setup.yaml", subsets="train",
                          split="valid")
    assert [t.name for t in db] == musdb["validation"] and db[0].audio.shape[1] == 2
    code, text, _ = run([*base, "--musdb", tmp_path / "mus"], capsys)  # resumed: nothing to render or export
    assert code == 0 and "(0 rendered now, 3 already done" in text and "(0 exported now, 3 already done)" in text
