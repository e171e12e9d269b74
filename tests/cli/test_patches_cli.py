"""``slakh-studio patches list|validate|audition|stats``, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import soundfile as sf

from slakh_gui import paths
from tests.cli.helpers import one_line_error, run

DATA = Path(__file__).resolve().parent.parent / "data"
BANKS = DATA / "banks"
SMALL_BANK = DATA / "small_bank.yaml"


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SLAKH_STUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "sf-cache"))




def test_list_all_and_given(capsys):
    code, out, _ = run(["patches", "list", "--json"], capsys)
    rows = json.loads(out)
    assert code == 0
    per_font = {}
    for r in rows:
        per_font[Path(r["soundfont"]).name] = per_font.get(Path(r["soundfont"]).name, 0) + 1
    assert per_font["FluidR3_GM.sf2"] == 189 and per_font["TimGM6mb.sf2"] == 136
    assert "MuseScore_General.sf3" not in per_font and per_font["MuseScore_General_Full.sf3"] == 311
    assert {"bank", "preset", "name", "is_drum_bank", "family"} <= set(rows[0])
    code, out, _ = run(["patches", "list", "--soundfont", "TimGM6mb.sf2"], capsys)
    assert code == 0 and "(136 presets)" in out and "Piano 1" in out and "[drum bank]" in out
    code, _, err = run(["patches", "list", "--soundfont", "Nope.sf2"], capsys)
    assert code == 1 and "Nope.sf2" in one_line_error(err)


def test_validate_lines_and_exit_codes(capsys):
    bank = BANKS / "effect_out_of_range.yaml"
    code, out, _ = run(["patches", "validate", bank, "--no-render"], capsys)
    lines = out.splitlines()
    assert code == 1 and len(lines) == 4
    assert lines[0].startswith(f"{bank}:11: error: patches/timgm6mb.piano.room/effects/0/room_size: ")
    code, out, _ = run(["patches", "validate", BANKS / "program_twice.yaml", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["errors"] == 0 and data["warnings"] == 1
    assert data["findings"][0]["key"] == "classes/Bright Piano/programs/0" and data["findings"][0]["line"] == 20
    code, out, err = run(["patches", "validate", SMALL_BANK], capsys)
    assert code == 0 and out == "" and "0 error(s), 0 warning(s)" in err
    code, _, err = run(["patches", "validate", BANKS / "absent.yaml"], capsys)
    assert code == 1 and "absent.yaml" in one_line_error(err)


def test_validate_shipped_default_no_errors(capsys):
    code, out, _ = run(["patches", "validate", paths.default_bank(), "--no-render"], capsys)
    assert code == 0 and ": error:" not in out and out.count(": warning:") == 5


def test_audition_writes_wav(tmp_path, capsys):
    out_wav = tmp_path / "bass.wav"
    code, out, _ = run(["patches", "audition", "fluidr3_gm.fingered_bass.comp", "--bank", SMALL_BANK,
                        "-o", out_wav, "--json"], capsys)
    info = json.loads(out)
    assert code == 0 and info["kind"] == "bass" and info["effects"] is True
    assert -60 < info["lufs"] < -5 and info["peak_dbfs"] < 0
    audio, rate = sf.read(out_wav)
    assert rate == 44100 and audio.ndim == 1 and abs(len(audio) / rate - info["seconds"]) < 1e-3
    code, out, _ = run(["patches", "audition", "timgm6mb.piano", "--bank", SMALL_BANK, "--kind", "melody",
                        "--no-effects", "-o", tmp_path / "p.flac"], capsys)
    assert code == 0 and "melody phrase" in out and "LUFS" in out and "peak" in out
    assert (tmp_path / "p.flac").is_file()


@pytest.mark.parametrize("args,words", [
    (["patches", "audition", "timgm6mb.pian", "--bank", SMALL_BANK, "-o", "x.wav"], "did you mean 'timgm6mb.piano'"),
    (["patches", "audition", "timgm6mb.piano", "--bank", SMALL_BANK, "-o", "x.mp3"], ".wav or .flac"),
    (["patches", "audition", "timgm6mb.piano", "--bank", BANKS / "duplicate_id.yaml", "-o", "x.wav"], None),
    (["patches"], "needs an action"),
])
def test_audition_errors_one_line(args, words, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run(args, capsys)
    line = one_line_error(err)
    assert code == 1 and (words is None or words in line)
    assert not list(tmp_path.iterdir())


def test_audition_bad_bank_names_line(capsys, tmp_path):
    code, _, err = run(["patches", "audition", "x", "--bank", BANKS / "many_faults.yaml", "-o", tmp_path / "x.wav"],
                       capsys)
    assert code == 1 and "many_faults.yaml:12: patches/timgm6mb.bad_preset/preset" in one_line_error(err)


def test_stats(capsys):
    code, out, _ = run(["patches", "stats", SMALL_BANK, "--json"], capsys)
    info = json.loads(out)
    assert code == 0 and info["classes"] == 5 and info["patches"] == 9 and info["unique_patches"] == 9
    assert info["per_class"]["Piano"] == {"inst_class": "Piano", "programs": [0, 1, 2, 3], "patches": 2}
    assert info["programs_covered"] == 4 + 4 + 5 + 2 + 1
    code, out, _ = run(["patches", "stats"], capsys)
    assert code == 0 and out.startswith("default: 38 classes with patches") and "Acoustic Piano" in out
    code, out, _ = run(["bank", SMALL_BANK, "--json"], capsys)  # the older command still works
    assert code == 0 and json.loads(out)["patches"] == 9
