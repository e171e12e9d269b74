"""The command line, in-process (``main([...])``) and once as the installed entry point."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import one_line_error, run

SMALL_BANK = Path(__file__).resolve().parent.parent / "data" / "small_bank.yaml"




def test_info_table_and_json(small_song_path, capsys):
    code, out, _ = run(["info", small_song_path, "--bank", SMALL_BANK], capsys)
    assert code == 0 and "S03" in out and "Sound Effects" in out and "not covered" in out
    code, out, _ = run(["info", small_song_path, "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and [t["key"] for t in data["tracks"]][:2] == ["S00", "S01"]
    assert data["tracks"][3]["program_num"] == 128 and data["tracks"][3]["inst_class"] == "Drums"


def test_render_json_and_assignment_replay(tmp_path, small_song_path, capsys):
    code, out, _ = run(["render", small_song_path, "-o", tmp_path / "a", "--bank", SMALL_BANK, "--seed", "4",
                        "--save-assignment", tmp_path / "as.yaml", "--json", "--format", "wav"], capsys)
    res = json.loads(out)
    assert code == 0 and res["track"].endswith("a/Track00001") and "S05" in res["skipped"]
    assert (tmp_path / "a" / "Track00001" / "mix.wav").exists()
    code, _, _ = run(["render", small_song_path, "-o", tmp_path / "b" / "Track00009", "--bank", SMALL_BANK,
                      "--assignment", tmp_path / "as.yaml", "--format", "wav"], capsys)
    assert code == 0
    a, b = tmp_path / "a" / "Track00001", tmp_path / "b" / "Track00009"
    for rel in ["mix.wav", "stems/S00.wav", "metadata.yaml"]:
        assert (a / rel).read_bytes() == (b / rel).read_bytes(), rel


@pytest.mark.parametrize("setup,words", [
    (lambda d: (d / "x.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00\x60MTrk\x00\x00\x00\x20\x00\x90"),
     "truncated"),
    (lambda d: (d / "x.mid").write_text("hello, I am a text file\n"), "not a Standard MIDI File"),
    (lambda d: (d / "x.mid").write_bytes(
        b"MThd\x00\x00\x00\x06\x00\x00\x00\x01\x00\x60MTrk\x00\x00\x00\x07\x00\xc0\x05\x00\xff\x2f\x00"),
     "has no notes"),
])
def test_bad_midi_one_line_nonzero_nothing_left(tmp_path, capsys, setup, words):
    setup(tmp_path)
    out = tmp_path / "out"
    code, _, err = run(["render", tmp_path / "x.mid", "-o", out, "--bank", SMALL_BANK], capsys)
    assert code == 1 and words in one_line_error(err)
    assert not out.exists() or not any(out.iterdir())


def test_bank_typo_and_missing_soundfont(tmp_path, small_song_path, capsys):
    bad = tmp_path / "typo.yaml"
    bad.write_text(SMALL_BANK.read_text().replace("preset: 33", "presett: 33", 1))
    code, _, err = run(["render", small_song_path, "-o", tmp_path / "o", "--bank", bad], capsys)
    line = one_line_error(err)
    assert code == 1 and "typo.yaml:" in line and "presett" in line and "did you mean 'preset'" in line
    gone = tmp_path / "gone.yaml"
    gone.write_text(SMALL_BANK.read_text().replace("TimGM6mb.sf2", "Missing.sf2"))
    code, _, err = run(["render", small_song_path, "-o", tmp_path / "o", "--bank", gone, "--seed", "1"], capsys)
    line = one_line_error(err)
    assert code == 1 and "Missing.sf2" in line and "searched:" in line and "/usr/share/sounds/sf2" in line
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_song_the_bank_cannot_play(tmp_path, capsys):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(125, name="Helicopter")
    inst.notes.append(pretty_midi.Note(100, 60, 0.0, 1.0))
    pm.instruments.append(inst)
    pm.write(str(tmp_path / "fx.mid"))
    code, _, err = run(["render", tmp_path / "fx.mid", "-o", tmp_path / "o", "--bank", SMALL_BANK], capsys)
    assert code == 1 and "no patch for any of its tracks (programs 125)" in one_line_error(err)
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())


def test_unwritable_output(tmp_path, small_song_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("a file where a folder should be")
    code, _, err = run(["render", small_song_path, "-o", blocker / "out", "--bank", SMALL_BANK], capsys)
    assert code == 1 and "cannot write to output folder" in one_line_error(err)
    if os.geteuid() != 0:  # root ignores permission bits
        ro = tmp_path / "ro"
        ro.mkdir(mode=0o555)
        code, _, err = run(["render", small_song_path, "-o", ro, "--bank", SMALL_BANK], capsys)
        assert code == 1 and "cannot write" in one_line_error(err)


def test_existing_track_needs_overwrite(tmp_path, small_song_path, capsys):
    args = ["render", small_song_path, "-o", tmp_path, "--bank", SMALL_BANK, "--format", "wav"]
    assert run(args, capsys)[0] == 0
    code, _, err = run(args, capsys)
    assert code == 1 and "already exists" in one_line_error(err)
    assert run([*args, "--overwrite"], capsys)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Track00001"]


def test_limits_are_enforced_with_a_clear_line(tmp_path, small_song_path, capsys):
    code, _, err = run(["render", small_song_path, "-o", tmp_path, "--bank", SMALL_BANK, "--max-duration", "5"],
                       capsys)
    assert code == 1 and "over the 5.0 s limit (--max-duration)" in one_line_error(err)
    # --max-memory is accepted and ignored: renders stream through files, memory no longer grows with the song
    code, _, err = run(["render", small_song_path, "-o", tmp_path, "--bank", SMALL_BANK, "--max-memory", "0.001"],
                       capsys)
    assert code == 0 and (tmp_path / "Track00001" / "mix.flac").is_file()


def test_entry_point_subprocess(tmp_path, small_song_path):
    exe = Path(sys.executable).parent / "slakh-studio"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "slakh_gui"]
    proc = subprocess.run([*cmd, "render", str(small_song_path), "-o", str(tmp_path), "--bank", str(SMALL_BANK)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Track00001" in proc.stdout and "LUFS" in proc.stdout
    assert (tmp_path / "Track00001" / "mix.flac").exists()


# ---------------------------------------------------------------------------------------------- sessions


def _track_files(track: Path) -> dict[str, bytes]:
    return {p.relative_to(track).as_posix(): p.read_bytes() for p in sorted(track.rglob("*")) if p.is_file()}


def test_session_render_equals_in_process_and_plain_render(tmp_path, small_song_path, capsys):
    from slakh_gui.core.bank import patches
    from slakh_gui.core.midi import midifile
    from slakh_gui.core.studio.session import Session, load_session, render_session, save_session

    options = {"format": "flac", "tail": 1.0, "fx": False, "flakh": False, "threads": 2}
    save_session(Session(song=small_song_path, seed=5, bank=SMALL_BANK, options=options, output_dir=tmp_path / "o"),
                 tmp_path / "s.slakh.json")
    code, out, _ = run(["render", "--session", tmp_path / "s.slakh.json"], capsys)
    assert code == 0 and "Rendered session s.slakh.json" in out and "LUFS" in out
    via_cli = tmp_path / "o" / "Track00001"
    in_process = render_session(load_session(tmp_path / "s.slakh.json"), out_dir=tmp_path / "p" / "Track00001")
    code, _, _ = run(["render", small_song_path, "-o", tmp_path / "plain", "--bank", SMALL_BANK, "--seed", "5",
                      "--tail", "1"], capsys)
    assert code == 0
    # the same patches fixed by the user (and locked) in the session: the same output again
    drawn = patches.assign_patches(midifile.load_song(small_song_path), patches.load_bank(SMALL_BANK), 5)
    fixed = Session(song=small_song_path, seed=5, bank=SMALL_BANK, options=options,
                    patches={k: t.patch_id for k, t in drawn.tracks.items()}, locked=["S00", "S03"])
    save_session(fixed, tmp_path / "fixed.json")
    code, _, _ = run(["render", "--session", tmp_path / "fixed.json", "-o", tmp_path / "f"], capsys)
    assert code == 0

    reference = _track_files(via_cli)
    assert {"mix.flac", "metadata.yaml", "all_src.mid", "stems/S00.flac", "MIDI/S00.mid"} <= set(reference)
    for other in (in_process.path, tmp_path / "plain" / "Track00001", tmp_path / "f" / "Track00001"):
        files = _track_files(other)
        assert set(files) == set(reference), other
        for rel, data in reference.items():
            assert files[rel] == data, (other, rel)


def test_session_cli_errors_are_one_line(tmp_path, small_song_path, capsys):
    from slakh_gui.core.studio.session import Session, save_session

    session = tmp_path / "s.json"
    save_session(Session(song=small_song_path, bank=SMALL_BANK, options={"tail": 0.5}, range=(1.0, 2.0)), session)
    cases = [
        (["render", "-o", tmp_path / "x"], "a MIDI file or --session FILE"),
        (["render", small_song_path], "-o OUT"),
        (["render", small_song_path, "--session", session, "-o", tmp_path / "x"], "not both"),
        (["render", "--session", session, "-o", tmp_path / "x", "--seed", "3"], "--seed cannot be combined"),
        (["render", "--session", session, "-o", tmp_path / "x", "--format", "wav"], "--format cannot be combined"),
        (["render", "--session", session], "no output folder"),
        (["render", "--session", tmp_path / "missing.json", "-o", tmp_path / "x"], "cannot read session file"),
    ]
    for args, words in cases:
        code, _, err = run(args, capsys)
        assert code == 1 and words in one_line_error(err), (args, err)
    (tmp_path / "bad.json").write_text('{"format": "slakh-studio-session/1", "song": "nope.mid"}')
    code, _, err = run(["render", "--session", tmp_path / "bad.json", "-o", tmp_path / "x"], capsys)
    line = one_line_error(err)
    assert code == 1 and "song: file not found" in line and str(tmp_path / "nope.mid") in line
    assert not (tmp_path / "x").exists()


def test_session_cli_output_track_number_and_overwrite(tmp_path, small_song_path, capsys):
    from slakh_gui.core.studio.session import Session, save_session

    save_session(Session(song=small_song_path, bank=SMALL_BANK, options={"tail": 0.5, "format": "wav"},
                         range=(1.0, 2.0), output_dir=tmp_path / "out", track_number=7), tmp_path / "s.json")
    args = ["render", "--session", tmp_path / "s.json", "--json"]
    code, out, _ = run(args, capsys)
    res = json.loads(out)
    assert code == 0 and res["track"] == str(tmp_path / "out" / "Track00007")
    assert abs(res["seconds"] - 1.5) < 64 / 44100
    code, _, err = run(args, capsys)
    assert code == 1 and "already exists" in one_line_error(err)
    assert run([*args, "--overwrite"], capsys)[0] == 0
    code, out, _ = run([*args, "--track-number", "9"], capsys)
    assert code == 0 and json.loads(out)["track"] == str(tmp_path / "out" / "Track00009")
    code, out, _ = run([*args, "-o", tmp_path / "else" / "Track00002", "--threads", "1"], capsys)
    assert code == 0 and (tmp_path / "else" / "Track00002" / "mix.wav").is_file()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["Track00007", "Track00009"]
