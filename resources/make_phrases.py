"""Write the audition phrases ``resources/phrases/{bass,drums,chords,melody}.mid`` (original, free to use).

Run from anywhere: ``python resources/make_phrases.py``; the output is byte-identical every time. Each phrase is one
track, four bars of 4/4 at 140 bpm plus a two-beat ending (about 7.7 s), over the same progression (C, Am, F, G, back to C):

* bass: a walking bass line in quarter notes with chromatic approach notes (C2..D3);
* drums: a rock groove, eighth-note closed hi-hats, kick and snare, an open hat, a tom fill, crashes;
* chords: piano-style comping, seventh chords in a Charleston rhythm, ending on a held C major 9;
* melody: a singable tune in C in eighths and quarters (C4..A4).

The Patches view and ``slakh-studio patches audition`` play the phrase that fits a patch's class; the phrases are
not transposed, so the ranges are chosen to sit inside every instrument of their kind.
"""

from __future__ import annotations

from pathlib import Path

import pretty_midi

OUT = Path(__file__).resolve().parent / "phrases"
BPM = 140.0
BEAT = 60.0 / BPM
BAR = 4 * BEAT


def _note(inst: pretty_midi.Instrument, pitch: int, beat: float, beats: float, velocity: int) -> None:
    start = round(beat * BEAT, 6)
    inst.notes.append(pretty_midi.Note(velocity, pitch, start, round(start + beats * BEAT, 6)))


def bass() -> pretty_midi.Instrument:
    inst = pretty_midi.Instrument(33, name="Walking bass")
    line = [36, 40, 43, 44,   45, 43, 40, 42,   41, 45, 48, 44,   43, 47, 50, 37]  # C  Am  F  G, approach notes
    for i, pitch in enumerate(line):
        _note(inst, pitch, i, 0.9, 96 if i % 4 == 0 else 84)
    _note(inst, 36, 16, 2.0, 100)
    return inst


def drums() -> pretty_midi.Instrument:
    inst = pretty_midi.Instrument(0, is_drum=True, name="Rock groove")
    kick, snare, closed, opened, crash = 36, 38, 42, 46, 49
    for bar in range(3):
        for eighth in range(8):
            at = bar * 4 + eighth / 2
            hat = opened if (bar == 1 and eighth == 7) else closed
            _note(inst, hat, at, 0.25, 92 if eighth % 2 == 0 else 70)
            if eighth in (0, 4, 5):
                _note(inst, kick, at, 0.25, 110)
            if eighth in (2, 6):
                _note(inst, snare, at, 0.25, 108)
        if bar == 0:
            _note(inst, crash, 0, 1.0, 105)
    # bar 4: two beats of groove, then a tom fill into the final crash
    for eighth in range(4):
        _note(inst, closed, 12 + eighth / 2, 0.25, 90)
    _note(inst, kick, 12, 0.25, 110)
    _note(inst, snare, 13, 0.25, 108)
    for i, tom in enumerate((50, 48, 47, 45, 43, 41, 38, 38)):
        _note(inst, tom, 14 + i / 4, 0.2, 100)
    _note(inst, crash, 16, 2.0, 115)
    _note(inst, kick, 16, 0.25, 115)
    return inst


def chords() -> pretty_midi.Instrument:
    inst = pretty_midi.Instrument(0, name="Piano comping")
    voicings = [[48, 52, 55, 59], [45, 52, 55, 60], [45, 53, 57, 60], [47, 53, 55, 62]]  # Cmaj7 Am7 Fmaj7 G7
    for bar, chord in enumerate(voicings):
        for pitch in chord:
            _note(inst, pitch, bar * 4, 1.4, 80)  # beat 1, dotted quarter
            _note(inst, pitch, bar * 4 + 1.5, 2.2, 72)  # the "and" of 2, held
    for pitch in (48, 52, 55, 62, 64):  # C major 9 to end
        _note(inst, pitch, 16, 2.0, 78)
    return inst


def melody() -> pretty_midi.Instrument:
    inst = pretty_midi.Instrument(73, name="Melody")
    tune = [  # (pitch, beats)
        (64, 1), (67, 1), (69, 0.5), (67, 0.5), (64, 1),
        (65, 1.5), (64, 0.5), (62, 2),
        (60, 1), (62, 1), (64, 1), (67, 1),
        (69, 0.5), (67, 0.5), (64, 1), (62, 1), (64, 1),
        (60, 2),
    ]
    beat = 0.0
    for i, (pitch, beats) in enumerate(tune):
        _note(inst, pitch, beat, beats * 0.92, 96 if i % 3 == 0 else 86)
        beat += beats
    return inst


PHRASES = {"bass": bass, "drums": drums, "chords": chords, "melody": melody}


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for kind, make in PHRASES.items():
        pm = pretty_midi.PrettyMIDI(initial_tempo=BPM)
        pm.instruments.append(make())
        path = OUT / f"{kind}.mid"
        pm.write(str(path))
        print(f"wrote {path} ({pm.get_end_time():.2f} s, {len(pm.instruments[0].notes)} notes)")


if __name__ == "__main__":
    main()
