"""General MIDI programs and families as Slakh2100's ``metadata.yaml`` spells them.

Slakh's ``inst_class`` is the GM family and ``midi_program_name`` the GM name (0-based programs, drums = 128).
Its spelling differs from pretty_midi's: e.g. "Strings (continued)" for 48-55 and both "Sound Effects" (96-103) and
"Sound effects" (119-127).
"""

from __future__ import annotations

DRUMS = 128

_TABLE = """
Piano: Acoustic Grand Piano|Bright Acoustic Piano|Electric Grand Piano|Honky-tonk Piano|Electric Piano 1|Electric Piano 2|Harpsichord|Clavinet
Chromatic Percussion: Celesta|Glockenspiel|Music Box|Vibraphone|Marimba|Xylophone|Tubular Bells|Dulcimer
Organ: Drawbar Organ|Percussive Organ|Rock Organ|Church Organ|Reed Organ|Accordion|Harmonica|Tango Accordion
Guitar: Acoustic Guitar (nylon)|Acoustic Guitar (steel)|Electric Guitar (jazz)|Electric Guitar (clean)|Electric Guitar (muted)|Overdriven Guitar|Distortion Guitar|Guitar harmonics
Bass: Acoustic Bass|Electric Bass (finger)|Electric Bass (pick)|Fretless Bass|Slap Bass 1|Slap Bass 2|Synth Bass 1|Synth Bass 2
Strings: Violin|Viola|Cello|Contrabass|Tremolo Strings|Pizzicato Strings|Orchestral Harp|Timpani
Strings (continued): String Ensemble 1|String Ensemble 2|Synth Strings 1|Synth Strings 2|Choir Aahs|Voice Oohs|Synth Voice|Orchestra Hit
Brass: Trumpet|Trombone|Tuba|Muted Trumpet|French Horn|Brass Section|Synth Brass 1|Synth Brass 2
Reed: Soprano Sax|Alto Sax|Tenor Sax|Baritone Sax|Oboe|English Horn|Bassoon|Clarinet
Pipe: Piccolo|Flute|Recorder|Pan Flute|Blown Bottle|Shakuhachi|Whistle|Ocarina
Synth Lead: Lead 1 (square)|Lead 2 (sawtooth)|Lead 3 (calliope)|Lead 4 (chiff)|Lead 5 (charang)|Lead 6 (voice)|Lead 7 (fifths)|Lead 8 (bass + lead)
Synth Pad: Pad 1 (new age)|Pad 2 (warm)|Pad 3 (polysynth)|Pad 4 (choir)|Pad 5 (bowed)|Pad 6 (metallic)|Pad 7 (halo)|Pad 8 (sweep)
Sound Effects: FX 1 (rain)|FX 2 (soundtrack)|FX 3 (crystal)|FX 4 (atmosphere)|FX 5 (brightness)|FX 6 (goblins)|FX 7 (echoes)|FX 8 (sci-fi)
Ethnic: Sitar|Banjo|Shamisen|Koto|Kalimba|Bag pipe|Fiddle|Shanai
Percussive: Tinkle Bell|Agogo|Steel Drums|Woodblock|Taiko Drum|Melodic Tom|Synth Drum
Sound effects: Reverse Cymbal|Guitar Fret Noise|Breath Noise|Seashore|Bird Tweet|Telephone Ring|Helicopter|Applause|Gunshot
Drums: Drums
"""


def _parse() -> tuple[list[str], list[str]]:
    families, names = [], []
    for line in _TABLE.strip().splitlines():
        family, members = line.split(": ", 1)
        for name in members.split("|"):
            families.append(family)
            names.append(name)
    assert len(names) == 129
    return families, names


FAMILY, PROGRAM_NAME = _parse()
FAMILIES: list[str] = list(dict.fromkeys(FAMILY))


def family(program: int) -> str:
    """GM family (Slakh ``inst_class``) of a 0-based program; 128 = drums."""
    return FAMILY[program]


def program_name(program: int) -> str:
    """GM program name (Slakh ``midi_program_name``) of a 0-based program; 128 = "Drums"."""
    return PROGRAM_NAME[program]


def family_programs(name: str) -> list[int]:
    """The 0-based programs of a GM family."""
    return [p for p, f in enumerate(FAMILY) if f == name]
