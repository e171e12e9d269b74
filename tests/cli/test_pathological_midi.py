"""Pathological but valid MIDI files: refused before rendering, or rendered within the documented bounds."""

from __future__ import annotations

import time

import mido

from tests.cli.helpers import one_line_error, run
from tests.conftest import DATA


def _slowest_tempo(path):
    """0xFFFFFF us per beat (16.8 s, the slowest tempo MIDI can state), 1000 beats of piano: 4.7 hours."""
    mid = mido.MidiFile(ticks_per_beat=96)
    t = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=0xFFFFFF, time=0), mido.Message("program_change")])
    for _ in range(1000):
        t += [mido.Message("note_on", note=60, velocity=90), mido.Message("note_off", note=60, time=96)]
    mid.tracks.append(t)
    mid.save(path)
    return path


def _fastest_tempo(path, notes=20_000):
    """1 us per beat (the fastest tempo): thousands of notes squeezed into milliseconds."""
    mid = mido.MidiFile(ticks_per_beat=960)
    t = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=1, time=0), mido.Message("program_change")])
    for i in range(notes):
        t += [mido.Message("note_on", note=60 + i % 12, velocity=90), mido.Message("note_off", note=60 + i % 12, time=1)]
    t2 = mido.MidiTrack([mido.Message("program_change", program=33, channel=1),
                         mido.Message("note_on", note=40, velocity=90, channel=1),
                         mido.Message("note_off", note=40, channel=1, time=960)])
    mid.tracks += [t, t2]
    mid.save(path)
    return path


def test_hours_long_tempo_is_refused_at_once(tmp_path, capsys):
    t0 = time.perf_counter()
    code, _, err = run(["render", _slowest_tempo(tmp_path / "slow.mid"), "-o", tmp_path / "out"], capsys)
    assert code == 1 and "279.6 min, over the 60.0 min limit (--max-duration)" in one_line_error(err)
    assert time.perf_counter() - t0 < 10 and not (tmp_path / "out").exists()


def test_extreme_fast_tempo_renders_within_bounds(tmp_path, capsys):
    code, out, err = run(["render", _fastest_tempo(tmp_path / "fast.mid"), "-o", tmp_path / "out", "--bank",
                          DATA / "small_bank.yaml"], capsys)
    assert code == 0, err
    assert (tmp_path / "out" / "Track00001" / "stems" / "S00.flac").exists()
