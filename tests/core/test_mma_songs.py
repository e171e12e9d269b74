"""Songs written by Debian's mma from generated chord charts: a second MIDI source, deterministic, band-complete."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from slakh_gui.core.dataset.selection import check_song
from slakh_gui.core.midi import midifile, mma_songs
from tests.cli.helpers import run
from tests.conftest import REPO

pytestmark = pytest.mark.skipif(not mma_songs.shutil.which("mma"), reason="Debian's mma is not installed")
BAND = ["Piano", "Guitar", "Bass", "Drums"]


def test_every_song_covers_the_band_with_mmas_own_arrangement(tmp_path):
    files = mma_songs.generate_mma_corpus(tmp_path, 6, seed=3, min_duration=40, max_duration=60)
    assert [f.name for f in files] == [f"mma_{i:05d}.mid" for i in range(6)]
    grooves = set()
    for f in files:
        song = midifile.load_song(f)
        assert check_song(song, BAND) is None, f.name
        assert 30 < song.pm.get_end_time() < 120, f.name
        names = {t.name for t in song.tracks}
        assert any("-" in n or n in ("Bass", "Walk", "Drum") for n in names), names  # mma's track names
        grooves.add(tuple(sorted((t.program, t.is_drum) for t in song.tracks)))
    assert len(grooves) > 1  # not one arrangement for every song


def test_mma_past_its_time_is_a_clear_error_and_leaves_nothing(tmp_path, monkeypatch):
    """A chart mma does not finish in time (here: a limit no real run meets; in use: a stopped or starved job)
    is the one-line error of a failed chart, not a crash, and no song file or scratch folder is left."""
    monkeypatch.setattr(mma_songs, "MMA_TIMEOUT", 0.001)
    with pytest.raises(mma_songs.MmaMissing, match=r"mma did not write mma_00000\.mid within 0\.001 s.*again"):
        mma_songs.generate_mma_corpus(tmp_path, 2, seed=3)
    assert list(tmp_path.iterdir()) == []


def test_same_seed_same_bytes_other_seed_other_songs(tmp_path):
    a = mma_songs.generate_mma_corpus(tmp_path / "a", 2, seed=7, min_duration=30, max_duration=40)
    b = mma_songs.generate_mma_corpus(tmp_path / "b", 3, seed=7, min_duration=30, max_duration=40)
    c = mma_songs.generate_mma_corpus(tmp_path / "c", 2, seed=8, min_duration=30, max_duration=40)
    assert [f.read_bytes() for f in a] == [f.read_bytes() for f in b[:2]]  # mma's humanizing is seeded too
    assert [f.read_bytes() for f in a] != [f.read_bytes() for f in c]


def test_every_listed_groove_is_in_this_mma_and_families_are_whole():
    fams = mma_songs.families()
    listed = {g for f in fams.values() for role in f.values() for g in role}
    assert listed <= set(mma_songs.BAND_GROOVES) and len(listed) > 190  # fills of a family without main grooves left
    assert all(f["main"] for f in fams.values())
    text = mma_songs.chart(0, 0)
    assert text.startswith("// slakh-studio mma song 0") and "RndSeed" in text and "Tempo" in text


def test_cli_source_mma_and_missing_mma(tmp_path, capsys):
    code, text, err = run(["midi", "generate", "-o", tmp_path / "m", "--count", 2, "--seed", 1, "--source", "mma",
                           "--min-duration", 30, "--max-duration", 40, "--json"], capsys)
    assert code == 0, err
    info = json.loads(text)
    assert info["source"] == "mma" and [p.rsplit("/", 1)[1] for p in info["files"]] == ["mma_00000.mid",
                                                                                          "mma_00001.mid"]
    env = dict(os.environ, PATH=os.path.dirname(sys.executable))  # no /usr/bin: no mma
    proc = subprocess.run([sys.executable, "-m", "slakh_gui", "midi", "generate", "-o", str(tmp_path / "n"),
                           "--count", "1", "--source", "mma"], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode != 0
    assert "mma program is not installed" in proc.stderr and "Traceback" not in proc.stderr


def test_groove_pools_split_the_families_and_keep_all_unchanged():
    every, train, held = (mma_songs.families(g) for g in mma_songs.GROOVE_POOLS)
    assert set(held) == set(mma_songs.HELD_OUT_FAMILIES) and not set(train) & set(held)
    assert set(train) | set(held) == set(every) and len(train) > len(held) >= 8
    # the training pool's charts never name a held-out groove, and the held-out pool's only held-out ones
    held_grooves = {g for f in held.values() for role in f.values() for g in role}
    for i in range(40):
        named = {line.split()[1] for line in mma_songs.chart(5, i, grooves="train").splitlines()
                 if line.startswith("Groove ")}
        assert named and not named & held_grooves
        named = {line.split()[1] for line in mma_songs.chart(5, i, grooves="held-out").splitlines()
                 if line.startswith("Groove ")}
        assert named <= held_grooves
    assert mma_songs.chart(5, 3) == mma_songs.chart(5, 3, grooves="all")  # the default pool's songs did not change
    with pytest.raises(ValueError, match="grooves must be one of"):
        mma_songs.families("jazz")


def test_cli_grooves_needs_mma(tmp_path, capsys):
    code, _, err = run(["midi", "generate", "-o", tmp_path / "m", "--count", 1, "--grooves", "held-out"], capsys)
    assert code != 0 and "--grooves" in err
