"""Session files: save/load round trip, relative paths, clear errors, replay and range renders (real FluidSynth)."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import pytest
import soundfile as sf
import yaml

from slakh_gui.core.bank import patches
from slakh_gui.core.midi import midifile
from slakh_gui.core.render import synth
from slakh_gui.core.studio.session import (
    SESSION_FORMAT,
    Session,
    SessionError,
    default_options,
    load_session,
    render_session,
    save_session,
    session_assignment,
)

SMALL_BANK = Path(__file__).resolve().parent.parent / "data" / "small_bank.yaml"
MIXER = {"strips": {"S00": {"gain_db": -3.5, "mute": False, "solo": True}, "S01": {"gain_db": 0.0, "mute": True,
                                                                                   "solo": False}}}


def full_session(song: Path, tmp_path: Path) -> Session:
    return Session(song=song, seed=7, bank=SMALL_BANK, patches={"S00": "fluidr3_gm.piano", "S02": None},
                   locked=["S00", "S01"], mixer=MIXER, output_dir=tmp_path / "renders",
                   options={"format": "wav", "tail": 1.5, "fx": True, "flakh": False, "threads": 1},
                   range=(1.0, 2.5), track_number=12)


def test_round_trip_is_identical_and_stable(tmp_path, small_song_path):
    session = full_session(small_song_path, tmp_path)
    path = tmp_path / "a.slakh.json"
    save_session(session, path)
    loaded = load_session(path)
    assert loaded == session
    first = path.read_bytes()
    save_session(loaded, path)
    assert path.read_bytes() == first  # saving again gives the same bytes
    save_session(session, tmp_path / "b.slakh.json")
    assert (tmp_path / "b.slakh.json").read_bytes() == first
    # ints where floats are meant, a list for the range, partial options: the same session, the same bytes
    alike = dataclasses.replace(session, range=[1, 2.5], options={"format": "wav", "tail": 1.5, "fx": True,
                                                                  "threads": 1})
    assert alike == session
    save_session(alike, tmp_path / "c.slakh.json")
    assert (tmp_path / "c.slakh.json").read_bytes() == first
    data = json.loads(first)
    assert data["format"] == SESSION_FORMAT and isinstance(data["version"], str)
    assert list(data) == sorted(data) and list(data["options"]) == sorted(data["options"])
    assert data["patches"] == {"S00": "fluidr3_gm.piano", "S02": None} and data["range"] == [1.0, 2.5]
    assert data["mixer"] == MIXER and data["output_dir"] == "renders"  # inside the session's folder: relative
    assert data["song"] == str(small_song_path) and data["bank"] == str(SMALL_BANK)  # elsewhere: absolute
    assert first.endswith(b"}\n") and b'\n  "bank": ' in first  # pretty: two-space indent, one key a line


def test_minimal_file_gets_defaults(tmp_path, small_song_path):
    path = tmp_path / "min.json"
    path.write_text(json.dumps({"format": SESSION_FORMAT, "song": str(small_song_path)}))
    s = load_session(path)
    assert (s.seed, s.bank, s.patches, s.locked, s.mixer, s.output_dir, s.range, s.track_number) == (
        0, None, {}, [], {}, None, None, 1)
    assert s.options == default_options() == {"format": "flac", "tail": 5.0, "fx": False, "flakh": False,
                                              "stereo": False, "pan": "auto", "threads": 2}
    assert s.bank_path().name == "default.yaml"


def test_relative_paths_follow_the_moved_folder(tmp_path, small_song_path):
    proj = tmp_path / "proj"
    (proj / "midi").mkdir(parents=True)
    shutil.copy(small_song_path, proj / "midi" / "song.mid")
    shutil.copy(SMALL_BANK, proj / "bank.yaml")
    save_session(Session(song=proj / "midi" / "song.mid", bank=proj / "bank.yaml", output_dir=proj / "out",
                         range=(2.0, 3.0), options={"tail": 0.5}), proj / "s.slakh.json")
    data = json.loads((proj / "s.slakh.json").read_text())
    assert (data["song"], data["bank"], data["output_dir"]) == ("midi/song.mid", "bank.yaml", "out")

    moved = tmp_path / "elsewhere" / "renamed"
    moved.parent.mkdir()
    proj.rename(moved)
    s = load_session(moved / "s.slakh.json")
    assert (s.song, s.bank, s.output_dir) == (moved / "midi" / "song.mid", moved / "bank.yaml", moved / "out")
    result = render_session(s)
    assert result.path == moved / "out" / "Track00001" and (result.path / "mix.flac").is_file()

    # loading from another working folder with a relative session path gives the same absolute paths
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(moved.parent)
        assert load_session(Path("renamed") / "s.slakh.json") == s
    # Session.resolve: relative paths against any folder
    raw = Session(song=Path("midi/song.mid"), bank=Path("../b.yaml"), output_dir=None)
    r = raw.resolve(moved)
    assert (r.song, r.bank, r.output_dir) == (moved / "midi" / "song.mid", moved.parent / "b.yaml", None)


def _write(path: Path, data) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


@pytest.mark.parametrize("change,words", [
    ("{not json", ["invalid JSON", ":1:2:"]),
    ([1, 2], ["expected a JSON object"]),
    ({"format": "slakh-studio-bank/1"}, ["not a Slakh Studio session file", "slakh-studio-session/1"]),
    ({"format": "slakh-studio-session/2"}, ["not supported", "newer version"]),
    ({"seed": "4"}, ["seed: expected an integer, got '4'"]),
    ({"seed": True}, ["seed: expected an integer"]),
    ({"patches": ["S00"]}, ["patches: expected an object"]),
    ({"patches": {"piano": "x"}}, ["'piano' is not a stem key"]),
    ({"patches": {"S00": 3}}, ["patches/S00: expected a patch id or null"]),
    ({"locked": "S00"}, ["locked: expected a list"]),
    ({"mixer": []}, ["mixer: expected an object, got list"]),
    ({"options": {"thread": 2}}, ["unknown option 'thread'", "did you mean 'threads'"]),
    ({"options": {"format": "mp3"}}, ["options/format", "flac, wav", "'mp3'"]),
    ({"options": {"tail": -1}}, ["options/tail: expected seconds >= 0"]),
    ({"options": {"fx": "yes"}}, ["options/fx: expected true or false"]),
    ({"options": {"threads": 0}}, ["options/threads"]),
    ({"range": [3, 1]}, ["range: expected 0 <= start < end"]),
    ({"range": [1]}, ["range: expected [start, end]"]),
    ({"track_number": 0}, ["track_number: expected an integer 1..99999"]),
    ({"sed": 1}, ["unknown key 'sed'", "did you mean 'seed'"]),
    ({"song": None}, ["song: expected a path"]),
    ({"song": "gone/missing.mid"}, ["song: file not found:", "gone/missing.mid", "relative to the session file"]),
    ({"bank": "/nowhere/bank.yaml"}, ["bank: file not found: /nowhere/bank.yaml"]),
])
def test_bad_files_name_the_reason(tmp_path, small_song_path, change, words):
    if isinstance(change, dict):
        data = {"format": SESSION_FORMAT, "song": str(small_song_path), **change}
    else:
        data = change
    path = _write(tmp_path / "bad.json", data)
    with pytest.raises(SessionError) as info:
        load_session(path)
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith(str(path)), msg
    for w in words:
        assert w in msg, (w, msg)
    if "song: file not found" in msg:
        assert str(tmp_path / "gone" / "missing.mid") in msg  # the path tried


def test_unreadable_files(tmp_path):
    with pytest.raises(SessionError, match="cannot read session file"):
        load_session(tmp_path / "nope.json")
    (tmp_path / "bin.json").write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(SessionError, match="not UTF-8"):
        load_session(tmp_path / "bin.json")
    _write(tmp_path / "nan.json", '{"format": "slakh-studio-session/1", "song": "x.mid", "options": {"tail": NaN}}')
    with pytest.raises(SessionError, match="NaN"):
        load_session(tmp_path / "nan.json")


def test_save_refuses_invalid_sessions(tmp_path, small_song_path):
    with pytest.raises(SessionError, match="seed"):
        save_session(Session(song=small_song_path, seed="1"), tmp_path / "s.json")
    with pytest.raises(SessionError, match="mixer"):
        save_session(Session(song=small_song_path, mixer={"x": object()}), tmp_path / "s.json")
    with pytest.raises(SessionError, match="range"):
        save_session(Session(song=small_song_path, range=("a", "b")), tmp_path / "s.json")
    with pytest.raises(SessionError, match="unknown option 'tial'"):
        save_session(Session(song=small_song_path, options={"tial": 1}), tmp_path / "s.json")
    assert not (tmp_path / "s.json").exists()


def test_assignment_is_the_apps(small_song_path):
    song = midifile.load_song(small_song_path)
    bank = patches.load_bank(SMALL_BANK)
    s = Session(song=small_song_path, seed=3, bank=SMALL_BANK, patches={"S01": "fluidr3_gm.fingered_bass.comp",
                                                                        "S04": None}, locked=["S01", "S02"])
    got = session_assignment(s, song, bank)
    want = patches.assign_patches(song, bank, 3, fixed=s.patches, locked={"S01", "S02"})
    assert got == want
    assert got.patch_id("S01") == "fluidr3_gm.fingered_bass.comp" and got.patch_id("S04") is None
    assert got.tracks["S02"].locked and not got.tracks["S00"].locked
    with pytest.raises(SessionError, match="S09"):
        session_assignment(Session(song=small_song_path, patches={"S09": None}), song, bank)


@pytest.mark.parametrize("start,end", [(2.0, 3.25), (11.0, 13.5)])  # the second runs past the song's last note
def test_range_render_length_and_metadata(tmp_path, small_song_path, start, end):
    tail = 0.5
    s = Session(song=small_song_path, seed=1, bank=SMALL_BANK, range=(start, end), output_dir=tmp_path,
                track_number=3, options={"tail": tail})
    result = render_session(s)
    assert result.path == tmp_path / "Track00003"
    n = synth.length_samples(end - start + tail)
    assert abs(n / 44100 - (end - start + tail)) < synth.BLOCK / 44100
    meta = yaml.safe_load((result.path / "metadata.yaml").read_text())
    assert meta["slakh_studio"]["range_seconds"] == [start, end]
    assert meta["slakh_studio"]["tail_seconds"] == tail
    assert sf.info(result.path / "mix.flac").frames == n
    for stem in (result.path / "stems").iterdir():
        assert sf.info(stem).frames == n, stem
    # the range plays the patches of the whole song's draw
    full = patches.assign_patches(midifile.load_song(small_song_path), patches.load_bank(SMALL_BANK), 1)
    for key, stem in meta["stems"].items():
        assert stem["plugin_name"] == (full.patch_id(key) or "None"), key


def test_render_session_refusals(tmp_path, small_song_path):
    with pytest.raises(SessionError, match="no output folder"):
        render_session(Session(song=small_song_path, bank=SMALL_BANK))
    flakh = Session(song=small_song_path, range=(1.0, 2.0), options={"flakh": True})
    with pytest.raises(SessionError, match="Flakh"):
        render_session(flakh, out_dir=tmp_path / "Track00001")
    assert not (tmp_path / "Track00001").exists()
