"""``slakh-studio midi generate`` and ``slakh-studio midi select``."""

from __future__ import annotations

import json
import shutil

import yaml

from tests.cli.helpers import one_line_error, run

SHORT = ["--min-duration", 60, "--max-duration", 62]


def test_midi_generate_then_select(tmp_path, capsys):
    out = tmp_path / "corpus"
    code, text, _ = run(["midi", "generate", "-o", out, "--count", 3, "--seed", 5, *SHORT], capsys)
    assert code == 0 and f"Generated 3 songs in {out}" in text
    files = sorted(out.glob("*.mid"))
    assert [f.name for f in files] == ["song_00000.mid", "song_00001.mid", "song_00002.mid"]
    code, text, _ = run(["midi", "generate", "-o", tmp_path / "again", "--count", 3, "--seed", 5, *SHORT,
                         "--json"], capsys)
    info = json.loads(text)
    assert code == 0 and info["count"] == 3
    assert [(tmp_path / "again" / f.name).read_bytes() for f in files] == [f.read_bytes() for f in files]

    shutil.copy(files[0], out / "z_copy.mid")
    (out / "bad.mid").write_text("hello")
    report = tmp_path / "report.yaml"
    code, text, err = run(["midi", "select", out, "--count", 2, "--seed", 3, "--report", report], capsys)
    assert code == 0, err
    assert "Scanned 5 MIDI files" in text and "3 pass, 2 selected" in text and "2 rejected" in text
    assert "rejected 1: duplicate" in text
    data = yaml.safe_load(report.read_text())
    assert len(data["selected"]) == 2 and len(data["rejected"]) == 2
    assert {r["path"] for r in data["rejected"]} == {str(out / "z_copy.mid"), str(out / "bad.mid")}

    code, text, err = run(["midi", "select", out, "--band", "Piano,BASS", "--min-notes", 10, "--json"], capsys)
    sel = json.loads(text)
    assert code == 0 and sel["band"] == ["Piano", "Bass"] and len(sel["selected"]) == 3
    assert sel["duplicates"] == [{"path": str(out / "z_copy.mid"), "duplicate_of": str(files[0])}]

    code, _, err = run(["midi", "select", out, "--count", 10], capsys)
    assert code == 0 and "only 3 of the 10" in err


def test_midi_cli_errors(tmp_path, capsys):
    (tmp_path / "a.mid").write_text("x")
    code, _, err = run(["midi", "select", tmp_path, "--band", "piano,kazoo"], capsys)
    assert code == 1 and "unknown GM family 'kazoo'" in one_line_error(err)
    code, _, err = run(["midi", "select", tmp_path / "missing"], capsys)
    assert code == 1 and "not a folder" in one_line_error(err)
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = run(["midi", "select", empty], capsys)
    assert code == 1 and "no .mid or .midi files" in one_line_error(err)
    code, _, err = run(["midi", "generate", "-o", tmp_path / "g", "--count", 0], capsys)
    assert code == 1 and "--count" in one_line_error(err)
    code, _, err = run(["midi", "generate", "-o", tmp_path / "g", "--count", 1, "--min-duration", 30,
                        "--max-duration", 20], capsys)
    assert code == 1 and "durations" in one_line_error(err)
    code, _, err = run(["midi", "generate", "-o", tmp_path / "a.mid", "--count", 1], capsys)
    assert code == 1 and "not a folder" in one_line_error(err)
    code, _, err = run(["midi"], capsys)
    assert code == 1 and "generate or select" in one_line_error(err)


def test_midi_generate_varied_drums(tmp_path, capsys):
    import pretty_midi

    code, text, err = run(["midi", "generate", "-o", tmp_path / "rock", "--count", 2, "--seed", 4, *SHORT], capsys)
    assert code == 0, err
    code, text, err = run(["midi", "generate", "-o", tmp_path / "varied", "--count", 2, "--seed", 4, *SHORT,
                           "--drums", "varied", "--json"], capsys)
    assert code == 0 and json.loads(text)["drums"] == "varied", err
    for name in ("song_00000.mid", "song_00001.mid"):
        rock, varied = (pretty_midi.PrettyMIDI(str(tmp_path / d / name)) for d in ("rock", "varied"))
        kit = {n.pitch for i in rock.instruments if i.is_drum for n in i.notes}
        wide = {n.pitch for i in varied.instruments if i.is_drum for n in i.notes}
        assert kit != wide and [i.program for i in rock.instruments] == [i.program for i in varied.instruments]
    code, _, err = run(["midi", "generate", "-o", tmp_path / "m", "--count", 1, "--source", "mma", "--drums",
                        "varied"], capsys)
    assert code != 0 and "mma plays its grooves' own drums" in one_line_error(err)
