"""Write one instrument of a song as its own MIDI file (Slakh's ``MIDI/SXX.mid``).

pretty_midi's writer sorts control changes that share a tick by controller number, which scrambles RPN sequences
(CC 101/100/6: a pitch-bend range written at one tick plays back with the default ±2 semitones). This writer keeps
the file order of events at a tick, the tempo map, time and key signatures, and the song's resolution.
"""

from __future__ import annotations

import io

import mido
import numpy as np

from slakh_gui.core.midi.midifile import Song, Track


def instrument_midi_bytes(song: Song, track: Track) -> bytes:
    """A type-1 SMF with a conductor track and the one instrument, timed exactly like the source."""
    pm = song.pm
    tick = pm.time_to_tick
    inst = track.instrument
    note_ticks = times_to_ticks(pm, np.array([t for n in inst.notes for t in (n.start, n.end)], dtype=np.float64))
    cc_ticks = times_to_ticks(pm, np.array([c.time for c in inst.control_changes], dtype=np.float64))
    pb_ticks = times_to_ticks(pm, np.array([b.time for b in inst.pitch_bends], dtype=np.float64))
    mid = mido.MidiFile(type=1, ticks_per_beat=pm.resolution)
    conductor: list[tuple[int, int, mido.MetaMessage]] = []
    times, tempi = pm.get_tempo_changes()
    for t, bpm in zip(times, tempi, strict=True):
        conductor.append((tick(t), 0, mido.MetaMessage("set_tempo", tempo=int(round(60e6 / bpm)))))
    for ts in pm.time_signature_changes:
        conductor.append((tick(ts.time), 1, mido.MetaMessage(
            "time_signature", numerator=ts.numerator, denominator=ts.denominator)))
    for ks in pm.key_signature_changes:
        name = _key_name(ks.key_number)
        if name:
            conductor.append((tick(ks.time), 2, mido.MetaMessage("key_signature", key=name)))
    mid.tracks.append(_track_from(conductor))

    channel = 9 if inst.is_drum else 0
    events: list[tuple[int, int, mido.Message | mido.MetaMessage]] = []
    if inst.name:
        events.append((0, 0, mido.MetaMessage("track_name", name=inst.name)))
    events.append((0, 0, mido.Message("program_change", channel=channel, program=inst.program)))
    for cc, t in zip(inst.control_changes, cc_ticks.tolist(), strict=True):
        events.append((t, 2, mido.Message("control_change", channel=channel, control=cc.number, value=cc.value)))
    for pb, t in zip(inst.pitch_bends, pb_ticks.tolist(), strict=True):
        events.append((t, 2, mido.Message("pitchwheel", channel=channel, pitch=max(-8192, min(8191, pb.pitch)))))
    ticks = note_ticks.tolist()
    for i, n in enumerate(inst.notes):
        on, off = ticks[2 * i], ticks[2 * i + 1]
        events.append((on, 3, mido.Message("note_on", channel=channel, note=n.pitch, velocity=max(1, n.velocity))))
        events.append((max(on + 1, off), 1, mido.Message("note_off", channel=channel, note=n.pitch, velocity=0)))
    mid.tracks.append(_track_from(events))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def times_to_ticks(pm, times: np.ndarray) -> np.ndarray:
    """``pm.time_to_tick`` for an array of times (same nearest-tick rule), one searchsorted instead of one per event."""
    table = getattr(pm, "_PrettyMIDI__tick_to_time", None)
    if table is None or len(times) == 0:  # other pretty_midi versions: the scalar method
        return np.array([pm.time_to_tick(t) for t in times], dtype=np.int64)
    table = np.asarray(table, dtype=np.float64)  # a PrettyMIDI built in memory keeps a short list here
    last = len(table) - 1
    tick = np.searchsorted(table, times, side="left")
    beyond = tick > last
    inner = np.minimum(tick, last)
    prev = np.maximum(tick - 1, 0)
    prev_closer = (tick > 0) & ~beyond & (np.abs(times - table[prev]) < np.abs(times - table[inner]))
    out = (tick - prev_closer).astype(np.int64)
    if beyond.any():
        scale = pm._tick_scales[-1][1]
        out[beyond] = np.round(last + (times[beyond] - table[last]) / scale).astype(np.int64)
    return out


def _track_from(events: list[tuple[int, int, object]]) -> mido.MidiTrack:
    """Events (tick, priority, message) -> a delta-timed track; ties keep priority, then insertion order."""
    order = sorted(range(len(events)), key=lambda i: (events[i][0], events[i][1], i))
    track, now = mido.MidiTrack(), 0
    for i in order:
        t, _, msg = events[i]
        track.append(msg.copy(time=t - now))
        now = t
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


_MAJOR = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
_MINOR = ["Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm"]


def _key_name(key_number: int) -> str | None:
    """pretty_midi key number (0-11 major, 12-23 minor) -> mido key name."""
    if 0 <= key_number < 12:
        return _MAJOR[key_number]
    if 12 <= key_number < 24:
        return _MINOR[key_number - 12]
    return None
