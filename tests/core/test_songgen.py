"""The seeded band-song generator and the bundled demo song (real pretty_midi, no mocks)."""

from __future__ import annotations

from pathlib import Path

import pretty_midi
import pytest

from slakh_gui.core.midi.songgen import DRUM_PITCHES, DRUMS, generate_song, pitch_range, write_song

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo_song.mid"
BAND = ("Piano", "Bass", "Guitar", "Drums")


def _program(inst: pretty_midi.Instrument) -> int:
    return DRUMS if inst.is_drum else inst.program


@pytest.fixture(scope="module")
def songs() -> dict[int, pretty_midi.PrettyMIDI]:
    return {seed: generate_song(seed, duration_s=60.0) for seed in (0, 1, 7, 123)}


def test_same_seed_gives_identical_bytes(tmp_path: Path) -> None:
    a = write_song(generate_song(5, duration_s=30.0), tmp_path / "a.mid")
    b = write_song(generate_song(5, duration_s=30.0), tmp_path / "b.mid")
    assert a.read_bytes() == b.read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mid", "b.mid"]  # no temporary files left behind


def test_different_seeds_give_different_songs(tmp_path: Path) -> None:
    a = write_song(generate_song(1, duration_s=30.0), tmp_path / "a.mid").read_bytes()
    b = write_song(generate_song(2, duration_s=30.0), tmp_path / "b.mid").read_bytes()
    assert a != b


def test_band_tracks_and_note_counts(songs: dict[int, pretty_midi.PrettyMIDI]) -> None:
    for pm in songs.values():
        names = [inst.name for inst in pm.instruments]
        assert names[:4] == list(BAND) and len(names) == 7  # band + 3 extra tracks
        piano, bass, guitar, drums = pm.instruments[:4]
        assert 0 <= piano.program <= 7 and 32 <= bass.program <= 39 and 24 <= guitar.program <= 31
        assert drums.is_drum and drums.program == 0 and not any(i.is_drum for i in pm.instruments[4:])
        assert all(len(i.notes) >= 50 for i in pm.instruments[:4])
        assert all(len(i.notes) >= 20 for i in pm.instruments)


def test_pitches_inside_ranges(songs: dict[int, pretty_midi.PrettyMIDI]) -> None:
    for pm in songs.values():
        for inst in pm.instruments:
            lo, hi = pitch_range(_program(inst))
            assert all(lo <= n.pitch <= hi for n in inst.notes), inst.name
            assert all(0 <= n.start < n.end and 1 <= n.velocity <= 127 for n in inst.notes)
        bass = pm.instruments[1]
        assert all(28 <= n.pitch <= 55 for n in bass.notes)
        assert {n.pitch for n in pm.instruments[3].notes} <= DRUM_PITCHES
        assert {36, 38, 42, 49} <= {n.pitch for n in pm.instruments[3].notes}


def test_end_time_tempo_signatures_and_controls(songs: dict[int, pretty_midi.PrettyMIDI]) -> None:
    for pm in songs.values():
        assert pm.get_end_time() == pytest.approx(60.0, abs=0.1)
        assert 80 <= pm.get_tempo_changes()[1][0] <= 150
        assert [(t.numerator, t.denominator) for t in pm.time_signature_changes] == [(4, 4)]
        assert len(pm.key_signature_changes) == 1
        assert all({7, 10} <= {c.number for c in i.control_changes} for i in pm.instruments)
        assert 64 in {c.number for c in pm.instruments[0].control_changes}
    pm = generate_song(3, duration_s=45.0, tempo=100.0, key=14, instruments=[0, 33, 25, 128, 81])
    assert pm.get_tempo_changes()[1][0] == pytest.approx(100.0)
    assert pm.key_signature_changes[0].key_number == 14
    assert pm.get_end_time() == pytest.approx(45.0, abs=0.1)
    assert pm.instruments[-1].name == "Synth Lead" and pm.instruments[-1].pitch_bends


def test_explicit_instruments_override_the_band() -> None:
    programs = [4, 128, 40, 56, 66, 73, 90, 12, 19]
    pm = generate_song(11, duration_s=60.0, instruments=programs)
    assert [_program(i) for i in pm.instruments] == programs
    assert all(len(i.notes) >= 20 for i in pm.instruments)
    with pytest.raises(ValueError):
        generate_song(1, instruments=[200])


def test_demo_song() -> None:
    pm = pretty_midi.PrettyMIDI(str(DEMO))
    assert 60.0 <= pm.get_end_time() <= 120.0
    by_name = {i.name: i for i in pm.instruments}
    assert set(BAND) | {"Strings", "Organ", "Brass", "Synth Lead"} <= set(by_name)
    assert len(pm.instruments) == 8
    assert by_name["Drums"].is_drum
    assert all(len(by_name[name].notes) >= 50 for name in BAND)
    assert all(len(i.notes) >= 20 for i in pm.instruments)


def test_varied_drums_cover_the_percussion_map_and_leave_the_rest_alone() -> None:
    rock = generate_song(9, duration_s=60.0)
    varied = generate_song(9, duration_s=60.0, drums="varied")
    # only the drum track changes: the other parts and the song's plan are the same
    for a, b in zip(rock.instruments, varied.instruments, strict=True):
        assert a.is_drum == b.is_drum
        if not a.is_drum:
            assert [(n.pitch, n.start) for n in a.notes] == [(n.pitch, n.start) for n in b.notes]
    pitches, per_song = set(), []
    for seed in range(24):
        drums = next(i for i in generate_song(seed, duration_s=45.0, drums="varied").instruments if i.is_drum)
        song = {n.pitch for n in drums.notes}
        assert len(drums.notes) >= 50 and all(35 <= p <= 82 for p in song)
        assert all(0 <= n.start < n.end and 1 <= n.velocity <= 127 for n in drums.notes)
        pitches |= song
        per_song.append(frozenset(song))
    assert len(pitches) >= 35  # most of the GM percussion map, not the rock kit's 8 notes
    assert pitches - DRUM_PITCHES >= {39, 51, 54, 56, 62, 63, 69, 70, 82}  # claps, ride, tambourine, cowbell, congas, ...
    assert len(set(per_song)) == len(per_song)  # every song its own kit and layers
    a = generate_song(4, duration_s=30.0, drums="varied")
    b = generate_song(4, duration_s=30.0, drums="varied")
    assert [(n.pitch, n.start, n.velocity) for i in a.instruments for n in i.notes] == \
        [(n.pitch, n.start, n.velocity) for i in b.instruments for n in i.notes]
    with pytest.raises(ValueError, match="drums must be one of"):
        generate_song(1, drums="latin")
