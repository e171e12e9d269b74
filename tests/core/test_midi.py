"""MIDI loading: the Slakh track list, repairs of legal-but-unusual files, one-line errors for broken ones."""

from __future__ import annotations

import io
import struct

import mido
import pretty_midi
import pytest

from slakh_gui.core.midi import gm, midifile
from slakh_gui.core.midi.midi_export import instrument_midi_bytes

NOTE = b"\x00\x90\x3c\x64\x60\x80\x3c\x00"
END = b"\x00\xff\x2f\x00"


def hdr(fmt: int, n: int, division: int) -> bytes:
    return b"MThd" + struct.pack(">IHHH", 6, fmt, n, division)


def trk(events: bytes) -> bytes:
    return b"MTrk" + struct.pack(">I", len(events)) + events


def test_track_list_the_slakh_way(small_song_path):
    song = midifile.load_song(small_song_path)
    keys = [t.key for t in song.tracks]
    assert keys == ["S00", "S01", "S02", "S03", "S04", "S05"]
    drums = song.track("S03")
    assert drums.is_drum and drums.program == 128 and drums.inst_class == "Drums" and drums.program_name == "Drums"
    fx = song.track("S05")
    assert (fx.program, fx.inst_class, fx.program_name) == (103, "Sound Effects", "FX 8 (sci-fi)")
    assert song.track("S04").inst_class == "Strings (continued)"
    assert all(t.note_count == 46 for t in song.tracks)
    assert song.track("S01").pitch_min >= 40 and song.track("S01").pitch_max <= 75
    assert song.md5 == __import__("hashlib").md5(small_song_path.read_bytes()).hexdigest()


def test_gm_table_matches_slakh_spelling():
    assert gm.family(119) == "Sound effects" and gm.family(96) == "Sound Effects"
    assert gm.program_name(30) == "Distortion Guitar" and gm.program_name(33) == "Electric Bass (finger)"
    assert len(gm.FAMILIES) == 17 and gm.family_programs("Percussive") == list(range(112, 119))


@pytest.mark.parametrize("name,data,repair", [
    ("unknown chunk", hdr(1, 2, 96) + b"XFIH" + struct.pack(">I", 4) + b"abcd" + trk(NOTE + END) + trk(NOTE + END),
     "skipped unknown chunk"),
    ("empty track", hdr(1, 2, 96) + trk(END) + trk(NOTE + END), None),
    ("miscounted header", hdr(1, 5, 96) + trk(NOTE + END), "header says 5 tracks"),
    ("junk before header", b"\0" * 128 + hdr(0, 1, 96) + trk(NOTE + END), "skipped 128 bytes"),
    ("trailing garbage", hdr(0, 1, 96) + trk(NOTE + END) + b"\xff\xfe\x00", "trailing data"),
])
def test_legal_or_harmless_oddities_load(name, data, repair):
    song = midifile.load_song_bytes(data, name)
    assert sum(t.note_count for t in song.tracks) >= 1
    if repair:
        assert any(repair in r for r in song.repairs), song.repairs


def test_smpte_division_keeps_timing():
    # 25 fps x 40 ticks per frame = 1000 ticks/s; the note lasts 0x60 = 96 ticks = 0.096 s
    song = midifile.load_song_bytes(hdr(0, 1, (0xE7 << 8) | 40) + trk(NOTE + END), "smpte")
    note = song.tracks[0].instrument.notes[0]
    assert note.start == 0 and abs(note.end - 0.096) < 1e-6


def test_rmid_wrapper():
    smf = hdr(0, 1, 96) + trk(NOTE + END)
    riff = b"RIFF" + struct.pack("<I", len(smf) + 12) + b"RMID" + b"data" + struct.pack("<I", len(smf)) + smf
    assert midifile.load_song_bytes(riff, "x.rmi").tracks[0].note_count == 1


@pytest.mark.parametrize("data,words", [
    (b"this is a text file, not MIDI\n", "not a Standard MIDI File"),
    ((hdr(1, 1, 96) + trk(NOTE + END))[:-5], "truncated"),
    (b"", "not a Standard MIDI File"),
    (hdr(1, 1, 96) + trk(b"\x00\xc0\x05" + END), "has no notes"),
    (hdr(1, 1, 0) + trk(NOTE + END), "time division is 0"),
    (hdr(1, 1, 96) + trk(b"\x00\x90\x3c"), "not a readable MIDI file"),
])
def test_broken_files_give_one_clear_line(data, words):
    with pytest.raises(midifile.MidiLoadError) as exc:
        midifile.load_song_bytes(data, "bad.mid")
    msg = str(exc.value)
    assert words in msg and msg.startswith("bad.mid:") and "\n" not in msg


def test_missing_file(tmp_path):
    with pytest.raises(midifile.MidiLoadError, match="cannot read"):
        midifile.load_song(tmp_path / "nope.mid")


def test_more_than_100_tracks(tmp_path):
    pm = pretty_midi.PrettyMIDI()
    for i in range(130):
        inst = pretty_midi.Instrument(i % 128)
        inst.notes.append(pretty_midi.Note(90, 60, 0.1 * (i % 10), 0.1 * (i % 10) + 0.5))
        pm.instruments.append(inst)
    pm.write(str(tmp_path / "many.mid"))
    song = midifile.load_song(tmp_path / "many.mid")
    assert len(song.tracks) == 130 and song.tracks[100].key == "S100" and song.tracks[9].key == "S09"


def test_stem_midi_keeps_rpn_order_tempo_and_notes(tmp_path):
    """pretty_midi's writer would sort CC 101/100/6 at one tick by number; ours keeps the file order."""
    mid = mido.MidiFile(type=1, ticks_per_beat=480)
    conductor = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=600000, time=0),
                                mido.MetaMessage("time_signature", numerator=3, denominator=4, time=0)])
    part = mido.MidiTrack([mido.MetaMessage("track_name", name="Bass", time=0),
                           mido.Message("program_change", channel=2, program=33, time=0)])
    for number, value in [(101, 0), (100, 0), (6, 12), (38, 0)]:  # RPN 0 = pitch-bend range 12 semitones
        part.append(mido.Message("control_change", channel=2, control=number, value=value, time=0))
    part.append(mido.Message("pitchwheel", channel=2, pitch=4096, time=0))
    for i in range(8):
        part.append(mido.Message("note_on", channel=2, note=40 + i, velocity=80, time=0))
        part.append(mido.Message("note_off", channel=2, note=40 + i, velocity=0, time=240))
    mid.tracks += [conductor, part]
    mid.save(str(tmp_path / "b.mid"))
    song = midifile.load_song(tmp_path / "b.mid")
    data = instrument_midi_bytes(song, song.tracks[0])
    ccs = [m.control for m in mido.MidiFile(file=io.BytesIO(data)).tracks[1] if m.type == "control_change"]
    assert ccs == [101, 100, 6, 38]
    back = pretty_midi.PrettyMIDI(io.BytesIO(data))
    a, b = song.tracks[0].instrument, back.instruments[0]
    assert [(n.pitch, round(n.start, 4), round(n.end, 4)) for n in a.notes] == \
           [(n.pitch, round(n.start, 4), round(n.end, 4)) for n in b.notes]
    assert b.program == 33 and b.name == "Bass" and b.pitch_bends[0].pitch == 4096
    assert abs(back.get_tempo_changes()[1][0] - 100) < 1e-6 and back.time_signature_changes[0].numerator == 3


def test_excerpt_keeps_state_and_cuts_notes(tmp_path):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(33, name="Bass")
    inst.control_changes += [pretty_midi.ControlChange(7, 90, 0.0), pretty_midi.ControlChange(10, 20, 1.0),
                             pretty_midi.ControlChange(7, 60, 2.0), pretty_midi.ControlChange(7, 30, 12.0)]
    inst.pitch_bends += [pretty_midi.PitchBend(1000, 3.0), pretty_midi.PitchBend(0, 6.0)]
    inst.notes += [pretty_midi.Note(90, 40, 4.0, 6.0), pretty_midi.Note(90, 41, 6.0, 7.0),
                   pretty_midi.Note(90, 42, 9.5, 11.0), pretty_midi.Note(90, 43, 11.0, 12.0)]
    pm.instruments.append(inst)
    pm.write(str(tmp_path / "x.mid"))
    song = midifile.load_song(tmp_path / "x.mid")
    ex = midifile.excerpt(song, 5.0, 10.0)
    notes = [(n.pitch, round(n.start, 3), round(n.end, 3)) for n in ex.tracks[0].instrument.notes]
    assert notes == [(40, 0.0, 1.0), (41, 1.0, 2.0), (42, 4.5, 5.0)]
    ccs = [(c.number, c.value, round(c.time, 3)) for c in ex.tracks[0].instrument.control_changes]
    assert ccs == [(7, 60, 0.0), (10, 20, 0.0)]
    assert [(b.pitch, round(b.time, 3)) for b in ex.tracks[0].instrument.pitch_bends] == [(1000, 0.0), (0, 1.0)]
    assert ex.range == (5.0, 10.0) and ex.md5 == song.md5 and ex.tracks[0].key == "S00"
