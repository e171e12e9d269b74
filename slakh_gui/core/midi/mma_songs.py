"""Band songs from Debian's MMA (Musical MIDI Accompaniment): a second source of MIDI, unlike our own generator.

A song is a chord chart (a progression in a key, sections of 4-8 bars) played by one of MMA's library grooves and
its variations (intro, sustained, "plus", fills, ending), written to MIDI by the ``mma`` program. Only grooves whose
own arrangement plays piano, guitar, bass and drums (:data:`BAND_GROOVES`, found by rendering every groove of MMA
21.09's library on 16 bars) are used, so every song covers Slakh's band without reassigning instruments: the voicings,
rhythms and instrument choices are MMA's, not ours. Song ``i`` of a corpus with seed ``S`` depends only on
``(S, i)``, the duration bounds and the MMA version (``RndSeed`` fixes MMA's own humanizing); a chart whose song
misses the band rule (50 notes per family) is drawn again.

Groove families are split in two pools so that separation models can be trained on MMA songs and still be scored on
grooves they never heard: :data:`HELD_OUT_FAMILIES` (soul/R&B, latin, bolero, boogie, twist, folk rock) play only
``grooves="held-out"`` corpora (the unseen-source test set), the rest only ``grooves="train"`` corpora;
``grooves="all"`` (the default) draws from every family, as before.
"""

from __future__ import annotations

import random
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from slakh_gui.core.errors import SlakhError
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report

_BAND_GROOVES = """
50sRock1Plus 50sRock1SusPlus 50sRockPlus 50sRockSusPlus 68Swing1Plus 68Swing1SusPlus 68Swing2Plus 68Swing2SusPlus
68SwingPlus 68SwingSusPlus 8Beat 8Beat1 8Beat1Plus 8Beat1Sus 8Beat1SusPlus 8BeatFill 8BeatIntro 8BeatPlus 8BeatSus
8BeatSusPlus 8BeatWalk 8BeatWalkPlus 8BeatWalkSus 8BeatWalkSusPlus BigBand1Plus BigBand1SusPlus Blues128Plus
Blues128SusPlus DSoul DSoulEnd DSoulFill DSoulIntro DSoulPlus DSoulSus DSoulSusPlus FastBlues FastBlues1
FastBlues1Sus FastBluesEnd FastBluesSus FastBluesWalk FastBluesWalkSus FastJazzWaltz FastJazzWaltz1
FastJazzWaltz1Sus FastJazzWaltz2 FastJazzWaltz2Sus FastJazzWaltzIntro FastJazzWaltzIntro8 FastJazzWaltzSus FastSwing
FastSwingEnd FastSwingIntro FastSwingIntro8 FastSwingSus FastSwingWalk FastSwingWalkSus FolkRockPlus FolkRockSusPlus
FoxTrot1End FoxTrot1Intro FoxTrot1Plus FoxTrot1Sus FoxTrot1SusPlus FoxTrotEnd FoxTrotIntro FoxTrotPlus FoxTrotSusPlus
Foxtrot Foxtrot1 FoxtrotFill FoxtrotSus GuitarBalladEnd JazzCombo JazzCombo1 JazzCombo1Plus JazzCombo1Sus
JazzCombo1SusPlus JazzCombo2 JazzCombo2Plus JazzCombo2Sus JazzCombo2SusPlus JazzComboIntro2 JazzComboPlus
JazzComboSus JazzComboSusPlus JazzWaltz JazzWaltz1 JazzWaltz1Sus JazzWaltz2 JazzWaltz2Sus JazzWaltzFill
JazzWaltzIntro JazzWaltzIntro8 JazzWaltzSus LatinWaltzPlus LatinWaltzSusPlus LightTango LightTango1 LightTango1Sus
LightTangoFill LightTangoIntro LightTangoSus MellowJazz MellowJazzEnd MellowJazzPlus MellowJazzSus MellowJazzSusPlus
ModernJazz ModernJazz1 ModernJazz1Sus ModernJazz2 ModernJazz2Sus ModernJazzEnd ModernJazzFill ModernJazzIntro
ModernJazzSus ModernJazzWaltz ModernJazzWaltz1 ModernJazzWaltz1Sus ModernJazzWaltz2 ModernJazzWaltz2Sus
ModernJazzWaltzEnd ModernJazzWaltzFill ModernJazzWaltzIntro ModernJazzWaltzSus NiteJazzPlus NiteJazzSusPlus
PopBallad1Plus PopBallad2Plus PopBallad2SusPlus PopBalladPlus PopBalladSusPlus QuickStep QuickStepDuh QuickStepDuhSus
QuickStepDuhSusWalk QuickStepDuhWalk QuickStepEnd QuickStepHit QuickStepHitSus QuickStepHitSusWalk QuickStepHitWalk
QuickStepIntro QuickStepIntro8 QuickStepSus QuickStepSusWalk QuickStepWalk R&B R&B-BalladPlus R&B-BalladSusPlus R&BEnd
R&BFill R&BPlus R&BSus R&BSusPlus Rhumba3 Rhumba3Sus Samba SambaEnd SambaFill SambaIntro SambaIntro1 SambaIntro8
SambaSus SambaSusFill ShuffleBoggie ShuffleBoggie1 ShuffleBoggieEnd ShuffleBoggieFill ShuffleBoggieIntro
ShuffleBoggieIntro4 ShuffleBoggieSus SlowBolero SlowBolero1 SlowBolero1Sus SlowBoleroEnd SlowBoleroIntro
SlowBoleroIntroSus SlowBoleroPlus SlowBoleroSus SlowBoleroSusPlus SlowCountryFill SlowCountryFillPlus
SlowCountryWalkFill SlowCountryWalkFillPlus SlowJazz1Plus SlowJazz1SusPlus SlowJazzPlus SlowJazzSusPlus SoftRock2
SoftRock2Sus Swing1 Swing1End Swing1Plus Swing1PlusSus Swing1Sus Swing1Triple Swing1Walk Swing1WalkPlus
Swing1WalkPlusSus Swing1WalkSus Twist Twist4 Twist4Sus TwistEnd TwistIntro TwistSus
"""
BAND_GROOVES = tuple(_BAND_GROOVES.split())

HELD_OUT_FAMILIES = frozenset({"DSoul", "R&B", "R&B-Ballad", "Samba", "Rhumba", "LightTango", "SlowBolero",
                               "ShuffleBoggie", "Twist", "FolkRock"})
GROOVE_POOLS = ("all", "train", "held-out")
MAX_ATTEMPTS = 8  # charts tried per song until one plays the band (a sparse groove on a short song may not)
BAND_NOTES = 50  # notes each band family must play (the dataset's default --min-notes)
_ROLE = re.compile(r"(Intro\d*|End|Fill)")
_NOTES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
# Progressions as (semitones above the key's root, chord quality in MMA's spelling), one chord per bar.
_PROGRESSIONS = (
    ((0, ""), (9, "m"), (5, ""), (7, "")),  # I vi IV V
    ((2, "m7"), (7, "7"), (0, "M7"), (0, "M7")),  # ii V I
    ((0, ""), (5, ""), (7, ""), (5, "")),  # I IV V IV
    ((9, "m"), (5, ""), (0, ""), (7, "")),  # vi IV I V
    ((0, "7"), (0, "7"), (0, "7"), (0, "7"), (5, "7"), (5, "7"), (0, "7"), (0, "7"), (7, "7"), (5, "7"), (0, "7"),
     (7, "7")),  # twelve-bar blues
    ((0, "m"), (8, ""), (3, ""), (10, "")),  # i VI III VII
    ((0, "M7"), (9, "7"), (2, "m7"), (7, "7")),  # I VI ii V (rhythm changes A)
    ((0, "m7"), (5, "m7"), (10, "7"), (3, "M7"), (8, "M7"), (2, "m7b5"), (7, "7"), (0, "m7")),  # minor cycle
)


MMA_TIMEOUT = 120.0  # seconds of wall time for one chart (a stopped job counts them too)


class MmaMissing(SlakhError, RuntimeError):
    """The ``mma`` program (Debian package ``mma``) is not installed, or failed on a chart."""


def families(grooves: str = "all") -> dict[str, dict[str, list[str]]]:
    """Groove family -> {"main": grooves to play sections with, "intro"/"end"/"fill": its other variations}, for
    the families of pool ``grooves`` (one of :data:`GROOVE_POOLS`)."""
    if grooves not in GROOVE_POOLS:
        raise ValueError(f"grooves must be one of {', '.join(GROOVE_POOLS)}, not {grooves!r}")
    out: dict[str, dict[str, list[str]]] = {}
    for g in BAND_GROOVES:
        base = re.sub(r"(Intro\d*|End|Fill|SusPlus|PlusSus|Sus|Plus|Walk|Duh|Hit|Triple|\d)+$", "", g)
        role = m.group(1).rstrip("0123456789").lower() if (m := _ROLE.search(g)) else "main"
        out.setdefault(base, {"main": [], "intro": [], "end": [], "fill": []})[role].append(g)
    keep = {"all": lambda k: True, "train": lambda k: k not in HELD_OUT_FAMILIES,
            "held-out": lambda k: k in HELD_OUT_FAMILIES}[grooves]
    return {k: v for k, v in out.items() if v["main"] and keep(k)}


def chart(seed: int, index: int, min_duration: float = 60.0, max_duration: float = 150.0, attempt: int = 0,
          grooves: str = "all") -> str:
    """The MMA chart of song ``index`` of the corpus with ``seed`` (``attempt`` > 0: the next draws, for a song
    whose first chart missed the band rule), played by a groove family of pool ``grooves``."""
    rng = random.Random(f"slakh-studio-mma:{seed}:{index}" + (f":{attempt}" if attempt else "")
                        + (f":{grooves}" if grooves != "all" else ""))
    fams = families(grooves)
    fam = fams[rng.choice(sorted(fams))]
    tempo = rng.randint(72, 168)
    key = rng.randrange(12)
    beats = 3 if "Waltz" in fam["main"][0] else 4
    bars = max(8, round(rng.uniform(min_duration, max_duration) * tempo / 60 / beats))
    prog = rng.choice(_PROGRESSIONS)
    lines = [f"// slakh-studio mma song {index} of corpus seed {seed}", f"RndSeed {rng.getrandbits(31)}",
             f"Tempo {tempo}"]
    bar = 0

    def play(groove: str, n: int) -> None:
        nonlocal bar
        lines.append(f"Groove {groove}")
        for _ in range(n):
            step, quality = prog[bar % len(prog)]
            lines.append(f"{_NOTES[(key + step) % 12]}{quality}")
            bar += 1

    end_bars = 2 if fam["end"] else 0
    if fam["intro"]:
        play(rng.choice(fam["intro"]), 4)
    while bar < bars - end_bars:
        length = min(rng.choice((4, 8, 8)), bars - end_bars - bar)
        if fam["fill"] and length == 8 and rng.random() < 0.3:
            play(rng.choice(fam["main"]), 7)
            play(rng.choice(fam["fill"]), 1)
        else:
            play(rng.choice(fam["main"]), length)
    if end_bars:
        play(rng.choice(fam["end"]), end_bars)
    return "\n".join(lines) + "\n"


def song_name(index: int) -> str:
    """File name of song ``index`` of an MMA corpus: ``mma_00000.mid``."""
    return f"mma_{index:05d}.mid"


def write_song(text: str, out: Path) -> Path:
    """Run ``mma`` on the chart ``text`` and write its MIDI file to ``out`` (atomically). mma names the chart in
    the file, so it runs on ``<stem>.mma`` in a scratch folder: the bytes do not depend on where they are made."""
    exe = shutil.which("mma")
    if exe is None:
        raise MmaMissing("the mma program is not installed (Debian: apt-get install mma)")
    out = Path(out)
    with tempfile.TemporaryDirectory(prefix=".mma-", dir=out.parent) as tmp:
        src, mid = Path(tmp) / f"{out.stem}.mma", Path(tmp) / f"{out.stem}.mid"
        src.write_text(text)
        try:
            proc = subprocess.run([exe, "-f", mid.name, src.name], cwd=tmp, capture_output=True, text=True,
                                  timeout=MMA_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise MmaMissing(f"mma did not write {out.name} within {MMA_TIMEOUT:g} s (a chart takes about a second: "
                             "was the machine overloaded, or the job stopped?); run the same command again, the "
                             "songs come out the same from the seed") from None
        if proc.returncode != 0 or not mid.is_file():
            why = (proc.stderr or proc.stdout).strip().splitlines()
            raise MmaMissing(f"mma could not write {out.name}: {why[-1] if why else 'no output'}")
        mid.replace(out)
    return out


def generate_mma_corpus(out_dir: str | Path, count: int, seed: int, *, min_duration: float = 60.0,
                        max_duration: float = 150.0, grooves: str = "all", progress: ProgressFn | None = None,
                        cancel: CancelToken | None = None) -> list[Path]:
    """Write ``count`` MMA songs to ``out_dir/mma_{i:05d}.mid`` (groove families of pool ``grooves``) and return
    their paths."""
    families(grooves)  # a bad pool name fails before any file is written
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = []
    for i in range(count):
        check(cancel)
        for attempt in range(MAX_ATTEMPTS):
            path = write_song(chart(seed, i, min_duration, max_duration, attempt, grooves), out / song_name(i))
            if plays_the_band(path):
                break
        files.append(path)
        report(progress, "generate", i + 1, count, "writing MMA songs")
    return files


def plays_the_band(path: Path, min_notes: int = BAND_NOTES) -> bool:
    """Whether piano, guitar, bass and drums each play ``min_notes`` notes in the MIDI file (Slakh's band rule)."""
    from slakh_gui.core.midi.midifile import load_song

    notes = load_song(path).family_notes()
    return all(notes.get(f, 0) >= min_notes for f in ("Piano", "Guitar", "Bass", "Drums"))
