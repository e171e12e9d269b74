"""Generating a MIDI corpus and selecting songs from a folder the Slakh2100 way, on real files."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from slakh_gui.core.dataset.selection import (
    DEFAULT_BAND,
    Rejection,
    check_song,
    parse_band,
    read_report,
    rejection_kind,
    select_songs,
    write_report,
)
from slakh_gui.core.jobs import Cancelled, CancelToken
from slakh_gui.core.midi import songgen
from slakh_gui.core.midi.corpus import generate_corpus, song_params
from slakh_gui.core.midi.midifile import load_song

# The shortest songs that reliably give the bass 50+ notes (at 40-60 s, 1% of the bass parts play 49).
SHORT = {"min_duration": 60.0, "max_duration": 66.0}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> list[Path]:
    return generate_corpus(tmp_path_factory.mktemp("corpus"), 6, 7, **SHORT)


@pytest.fixture(scope="module")
def messy(tmp_path_factory, corpus) -> dict[str, Path]:
    """The 6 good songs plus one file of every kind Slakh's filter rejects."""
    root = tmp_path_factory.mktemp("messy")
    good = [shutil.copy(p, root / p.name) for p in corpus]
    (root / "sub").mkdir()
    files = {
        "duplicate": Path(shutil.copy(corpus[2], root / "sub" / "copy_of_2.mid")),
        "text": root / "notes.mid",
        "truncated": root / "truncated.MIDI",
        "one": root / "one_instrument.mid",
        "drums2": root / "two_drums.mid",
        "nobass": root / "no_bass.mid",
    }
    files["text"].write_text("this is not a MIDI file\n")
    data = corpus[0].read_bytes()
    files["truncated"].write_bytes(data[: len(data) // 2])
    songgen.write_song(songgen.generate_song(11, duration_s=60, instruments=[0]), files["one"])
    songgen.write_song(songgen.generate_song(12, duration_s=60, instruments=[0, 33, 25, 128, 128]), files["drums2"])
    songgen.write_song(songgen.generate_song(13, duration_s=60, instruments=[0, 25, 128, 48]), files["nobass"])
    (root / "readme.txt").write_text("not scanned")
    return {"root": root, "good": [Path(g) for g in good], **files}


def test_generate_is_deterministic_and_loadable(corpus, tmp_path):
    assert [p.name for p in corpus] == [f"song_{i:05d}.mid" for i in range(6)]
    again = generate_corpus(tmp_path / "again", 6, 7, **SHORT)
    assert [p.read_bytes() for p in again] == [p.read_bytes() for p in corpus]
    other = generate_corpus(tmp_path / "other", 2, 8, **SHORT)
    assert other[0].read_bytes() != corpus[0].read_bytes()
    prefix = generate_corpus(tmp_path / "prefix", 3, 7, **SHORT)  # song i depends on (seed, i) only
    assert [p.read_bytes() for p in prefix] == [p.read_bytes() for p in corpus[:3]]
    n_tracks = set()
    for i, path in enumerate(corpus):
        song = load_song(path)
        assert check_song(song, DEFAULT_BAND) is None, path
        assert 60.0 <= song.end_time <= 66.5
        n_tracks.add(len(song.tracks))
        params = song_params(7, i, **SHORT)
        assert 1 <= params["extra_tracks"] <= 5 and len(song.tracks) == 4 + params["extra_tracks"]
    assert len(n_tracks) > 1  # extra tracks are drawn per song
    assert not list(corpus[0].parent.glob(".*"))  # no temporary files left


def test_generate_progress_cancel_and_bad_arguments(tmp_path):
    seen = []
    generate_corpus(tmp_path / "p", 2, 1, **SHORT, progress=lambda p: seen.append((p.done, p.total)))
    assert seen[0] == (0, 2) and seen[-1] == (2, 2)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        generate_corpus(tmp_path / "c", 3, 1, **SHORT, cancel=token)
    assert not list((tmp_path / "c").iterdir())
    with pytest.raises(ValueError):
        generate_corpus(tmp_path / "x", 1, 1, min_duration=30, max_duration=20)
    with pytest.raises(ValueError):
        generate_corpus(tmp_path / "x", -1, 1)


def test_selection_keeps_exactly_the_good_files(messy):
    sel = select_songs(messy["root"])
    assert sorted(c.path for c in sel.selected) == sorted(messy["good"])
    assert sel.scanned == 12 and sel.eligible == 6
    reasons = {r.path: r.reason for r in sel.rejected}
    assert set(reasons) == {messy[k] for k in ("duplicate", "text", "truncated", "one", "drums2", "nobass")}
    assert reasons[messy["duplicate"]] == f"duplicate of {messy['root'] / 'song_00002.mid'}"
    assert sel.duplicates == [(messy["duplicate"], messy["root"] / "song_00002.mid")]
    assert "no 'MThd' header" in reasons[messy["text"]]
    assert "truncated" in reasons[messy["truncated"]]
    assert reasons[messy["one"]] == "fewer than 2 instruments (1)"
    assert reasons[messy["drums2"]] == "2 drum tracks (more than one)"
    assert reasons[messy["nobass"]].startswith("does not cover the band: no Bass track")
    for c in sel.selected:
        assert len(c.md5) == 32 and c.duration > 59 and c.n_tracks >= 5
        assert all(c.families[f] >= 50 for f in DEFAULT_BAND)


def test_selection_rules_can_be_relaxed(messy):
    sel = select_songs(messy["root"], allow_multiple_drums=True)
    assert messy["drums2"] in {c.path for c in sel.selected}
    sel = select_songs(messy["root"], band=["piano", "drums"])
    assert messy["nobass"] in {c.path for c in sel.selected}
    sel = select_songs(messy["root"], min_notes=100000)
    assert not sel.selected and sel.eligible == 0
    assert "Piano plays" in {r.path: r.reason for r in sel.rejected}[messy["good"][0]]


def test_selection_count_and_seed_shuffle(messy):
    a = [c.path for c in select_songs(messy["root"], count=4, seed=1).selected]
    assert len(a) == 4 and a == [c.path for c in select_songs(messy["root"], count=4, seed=1).selected]
    orders = {tuple(c.path for c in select_songs(messy["root"], seed=s).selected) for s in range(3)}
    assert len(orders) > 1
    full = [c.path for c in select_songs(messy["root"], seed=1).selected]
    assert full[:4] == a  # count takes a prefix of the seeded shuffle
    assert len(select_songs(messy["root"], count=50).selected) == 6


def test_band_parsing():
    assert parse_band("piano, GUITAR,bass,drums") == DEFAULT_BAND
    assert parse_band(["strings (continued)"]) == ("Strings (continued)",)
    assert parse_band("Sound effects") == ("Sound effects",)
    with pytest.raises(ValueError, match="unknown GM family 'kazoo'"):
        parse_band("piano,kazoo")
    with pytest.raises(ValueError, match="ambiguous"):
        parse_band("sound EFFECTS")


def test_report_lists_every_reject(messy, tmp_path):
    sel = select_songs(messy["root"], count=3, seed=2)
    path = write_report(sel, tmp_path / "r" / "report.yaml")
    data = yaml.safe_load(path.read_text())
    assert [s["path"] for s in data["selected"]] == [str(c.path) for c in sel.selected]
    assert all(len(s["md5"]) == 32 for s in data["selected"])
    assert {r["path"]: r["reason"] for r in data["rejected"]} == {str(r.path): r.reason for r in sel.rejected}
    assert len(data["rejected"]) == 6
    assert data["duplicates"] == [{"path": str(messy["duplicate"]),
                                   "duplicate_of": str(messy["root"] / "song_00002.mid")}]
    assert data["band"] == list(DEFAULT_BAND) and data["seed"] == 2 and data["eligible"] == 6


def test_report_reads_back_with_the_rule_of_each_reject(messy, tmp_path):
    """What the Dataset dialog's Rejected tab shows: every rejected file, relative to the MIDI folder, its reason and
    the rule it broke."""
    sel = select_songs(messy["root"], count=3, seed=2)
    report = read_report(write_report(sel, tmp_path / "selection.yaml"))
    assert (report.scanned, report.eligible, report.selected) == (12, 6, 3)
    assert report.midi_dir == str(messy["root"]) and report.rejected == sel.rejected
    shown = {report.display_path(r): rejection_kind(r.reason) for r in report.rejected}
    assert shown == {"sub/copy_of_2.mid": "duplicate", "notes.mid": "unreadable", "truncated.MIDI": "unreadable",
                     "one_instrument.mid": "fewer than 2 instruments", "two_drums.mid": "more than one drum track",
                     "no_bass.mid": "band not covered"}
    assert report.kinds() == {"unreadable": 2, "duplicate": 1, "fewer than 2 instruments": 1,
                              "more than one drum track": 1, "band not covered": 1}
    outside = Rejection(tmp_path / "elsewhere.mid", "x")
    assert report.display_path(outside) == str(tmp_path / "elsewhere.mid")
    for text in ("[1, 2", "- just\n- a list\n", "rejected:\n- reason: no path\n"):
        (tmp_path / "bad.yaml").write_text(text)
        with pytest.raises(ValueError, match="bad.yaml"):
            read_report(tmp_path / "bad.yaml")
    with pytest.raises(ValueError, match="unreadable"):
        read_report(tmp_path / "missing.yaml")


def test_selection_of_a_missing_folder_raises(tmp_path):
    with pytest.raises(NotADirectoryError):
        select_songs(tmp_path / "nope")
