#!/usr/bin/env python3
"""Build the shipped patch banks ``patches/default.yaml`` and ``patches/flakh.yaml`` from the SoundFonts Debian installs.

Run from the repository root:  ``.venv/bin/python patches/build_banks.py``  (about 30 s on 2 cores).

``default.yaml`` models Slakh2100's ``komplete_strict.json`` (34 patch classes, 187 patches) with free SoundFonts:

* the classes and the GM programs they cover follow Slakh's, but with the programs read the way Slakh meant them
  (its file is 1-based and was shifted by one; e.g. "Acoustic Piano" = Acoustic Grand, Bright, Honky-tonk,
  Harpsichord = 0, 1, 3, 6), plus "Synth Bass" (38, 39) and "Synth Brass" (62, 63), which Slakh lost to the shift.
  A class lies inside one GM family, so Slakh's "String Ensemble" (44, 45, 48, 49) is split into "Tremolo Strings",
  "Pizzicato Strings" and "String Ensemble". Orchestra Hit (55) and programs 96-127 stay uncovered, as in Slakh
  (their classes are written with no patches, so those tracks are not rendered);
* a class's candidates are the presets of its programs in FluidR3_GM, MuseScore_General and TimGM6mb (GM bank 0
  and the variation banks 8 and 16), plus hand-picked extras (MuseScore's section strings, the feedback guitars);
  MuseScore's "... Expr." presets are left out: their loudness follows CC 2/11 and they are silent in plain MIDI;
* every candidate is rendered (a short phrase in the class's range; a groove for kits) and kept only if it sounds:
  finite, peak > 1e-3 of full scale overall and on each test note (kits: on kick, snare and closed hi-hat alone);
* a candidate whose phrase correlates >= 0.9 with one already in its class is the same samples (MuseScore_General
  is built on FluidR3's samples for many programs) and is dropped; distinct samples come first;
* classes still thinner than 5 patches get effect-chain variants (``<id>.room``, ``.comp``, ``.eq``), checked
  the same way through the effect chain.

``flakh.yaml`` is "Flakh": TimGM6mb.sf2 only, one class per GM program (named after it) with that program's own
bank-0 preset, plus Drums -> bank 128 preset 0 with ``kit: follow`` (a drum track plays the TimGM6mb kit of its own
program, the Standard kit when TimGM6mb lacks it); i.e. pretty_midi's default rendering.

The output is deterministic (no times, no paths); the summary goes to stdout.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from slakh_gui.core.bank import effects  # noqa: E402
from slakh_gui.core.bank.patches import BANK_FORMAT, find_soundfont  # noqa: E402
from slakh_gui.core.midi import gm  # noqa: E402
from slakh_gui.core.render import fluid  # noqa: E402

SR = 44100
BLOCK = 64  # FluidSynth renders in 64-frame blocks: keep every segment a multiple of it
PEAK_MIN = 1e-3  # of full scale
DUP_CORR = 0.9  # phrase correlation at which two presets count as the same samples
MIN_PATCHES = 5  # classes thinner than this get effect variants

# SoundFont file -> short name used in patch ids (order = preference when two presets share samples)
SOUNDFONTS = {
    "FluidR3_GM.sf2": "fluidr3_gm",
    "MuseScore_General.sf3": "musescore",
    "TimGM6mb.sf2": "timgm6mb",
    "FluidR3_GS.sf2": "fluidr3_gs",
    "Black_Pearl_4_LV2.sf2": "avl_black_pearl",
    "Red_Zeppelin_4_LV2.sf2": "avl_red_zeppelin",
}
MELODIC_SOURCES = {"FluidR3_GM.sf2": (0, 8, 16), "MuseScore_General.sf3": (0, 8, 16), "TimGM6mb.sf2": (0,)}
AVL_KITS = ("Black_Pearl_4_LV2.sf2", "Red_Zeppelin_4_LV2.sf2")  # drum kits stored as bank 0 preset 0

MS = "MuseScore_General.sf3"
FL = "FluidR3_GM.sf2"


@dataclass
class ClassDef:
    name: str
    programs: list[int]
    test_range: tuple[int, int] = (48, 72)  # lowest, highest test note (MIDI)
    extra: list[tuple[str, int, int]] = field(default_factory=list)  # (soundfont, bank, preset) added
    exclude: list[tuple[str, int, int]] = field(default_factory=list)  # (soundfont, bank, preset) left out


# Slakh's komplete_strict classes with its intended (0-based) programs, in GM order.
CLASSES: list[ClassDef] = [
    ClassDef("Acoustic Piano", [0, 1, 3, 6], (36, 84)),
    ClassDef("Electric Piano", [2, 4, 5, 7], (36, 84)),
    ClassDef("Chromatic Percussion", list(range(8, 16)), (60, 84)),
    ClassDef("Organ", list(range(16, 24)), (48, 79)),
    ClassDef("Acoustic Guitar", [24, 25], (40, 76)),
    ClassDef("Clean Electric Guitar", [26, 27, 28, 31], (40, 76), exclude=[(FL, 8, 31), (MS, 8, 31)]),
    ClassDef("Distorted Electric Guitar", [29, 30], (40, 76), extra=[(FL, 8, 31), (MS, 8, 31)]),
    ClassDef("Acoustic Bass", [32], (28, 52), extra=[(MS, 50, 45)]),  # + Basses Pizzicato
    ClassDef("Electric Bass", list(range(33, 38)), (28, 52)),
    ClassDef("Synth Bass", [38, 39], (28, 52)),
    ClassDef("Violin", [40], (55, 88), extra=[(MS, 20, 48), (MS, 25, 48)]),
    ClassDef("Viola", [41], (48, 76), extra=[(MS, 30, 48)]),
    ClassDef("Cello", [42], (36, 67), extra=[(MS, 40, 48)]),
    ClassDef("Contrabass", [43], (28, 55), extra=[(MS, 50, 48)]),
    ClassDef("Tremolo Strings", [44], (48, 79), extra=[(MS, 20, 44), (MS, 25, 44), (MS, 30, 44)]),
    ClassDef("Pizzicato Strings", [45], (48, 79), extra=[(MS, 20, 45), (MS, 25, 45), (MS, 30, 45)]),
    ClassDef("Orchestral Harp", [46], (36, 84)),
    ClassDef("Timpani", [47], (40, 55)),
    ClassDef("String Ensemble", [48, 49], (48, 79),
             extra=[(MS, 20, 48), (MS, 20, 49), (MS, 25, 48), (MS, 25, 49), (MS, 30, 48), (MS, 30, 49)]),
    ClassDef("Synth Strings", [50, 51], (48, 79)),
    ClassDef("Choir and Voice", [52, 53, 54], (52, 76)),
    ClassDef("Orchestra Hit", [55]),  # uncovered, as in Slakh
    ClassDef("Trumpet", [56, 59], (55, 82)),
    ClassDef("Trombone", [57], (40, 70)),
    ClassDef("Tuba", [58], (28, 55)),
    ClassDef("French Horn", [60], (41, 72)),
    ClassDef("Brass Section", [61], (48, 76)),
    ClassDef("Synth Brass", [62, 63], (48, 76)),
    ClassDef("Soprano/Alto Sax", [64, 65], (56, 80)),
    ClassDef("Tenor Sax", [66], (44, 75)),
    ClassDef("Baritone Sax", [67], (36, 68)),
    ClassDef("Oboe", [68], (58, 88)),
    ClassDef("English Horn", [69], (52, 79)),
    ClassDef("Bassoon", [70], (34, 70)),
    ClassDef("Clarinet", [71], (50, 84)),
    ClassDef("Pipe", list(range(72, 80)), (60, 88)),
    ClassDef("Synth Lead", list(range(80, 88)), (55, 84), extra=[(MS, 20, 81)]),
    ClassDef("Synth Pad", list(range(88, 96)), (48, 79)),
    ClassDef("Sound Effects", list(range(96, 104))),  # uncovered, as in Slakh
    ClassDef("Ethnic", list(range(104, 112))),
    ClassDef("Percussive", list(range(112, 119))),
    ClassDef("Sound effects", list(range(119, 128))),
    ClassDef("Drums", [gm.DRUMS]),
]
UNCOVERED = {"Orchestra Hit", "Sound Effects", "Ethnic", "Percussive", "Sound effects"}

# test note range per GM family, for flakh.yaml
FAMILY_RANGE = {
    "Piano": (36, 84), "Chromatic Percussion": (60, 84), "Organ": (48, 79), "Guitar": (40, 76), "Bass": (28, 52),
    "Strings": (40, 76), "Strings (continued)": (48, 76), "Brass": (41, 76), "Reed": (48, 79), "Pipe": (60, 88),
    "Synth Lead": (55, 84), "Synth Pad": (48, 79), "Sound Effects": (48, 72), "Ethnic": (48, 76),
    "Percussive": (48, 72), "Sound effects": (48, 72),
}

# effect variants (pedalboard chains), in the order they are handed out. Stems peak around -25 dBFS before
# normalization (FluidSynth gain 0.2), hence the low compressor threshold.
VARIANTS: dict[str, list[dict]] = {
    "room": [{"type": "reverb", "room_size": 0.3, "damping": 0.5, "wet_level": 0.15, "dry_level": 0.85}],
    "comp": [{"type": "compressor", "threshold_db": -36.0, "ratio": 3.0, "attack_ms": 10.0, "release_ms": 150.0}],
    "eq": [{"type": "peak", "cutoff_frequency_hz": 2500.0, "gain_db": 3.0, "q": 0.8},
           {"type": "highshelf", "cutoff_frequency_hz": 8000.0, "gain_db": 2.0}],
}


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "preset"


def frames(seconds: float) -> int:
    return max(BLOCK, int(round(seconds * SR / BLOCK)) * BLOCK)


# ---------------------------------------------------------------------------------------------- SoundFonts


class Fonts:
    """All SoundFonts in one synth (effects off), their preset tables, and a renderer for test phrases."""

    def __init__(self) -> None:
        api = fluid.api()  # also quiets FluidSynth's warnings
        self.fs = api.fs
        self.api = api
        self.synth = self.fs.Synth(gain=0.2, samplerate=float(SR), **{
            "synth.reverb.active": 0, "synth.chorus.active": 0, "synth.polyphony": 256,
            "synth.dynamic-sample-loading": 1,
        })
        self.sfid: dict[str, int] = {}
        self.paths: dict[str, Path] = {}
        self.presets: dict[str, dict[tuple[int, int], str]] = {}
        for name in SOUNDFONTS:
            path = find_soundfont(name)
            sfid = self.synth.sfload(str(path))
            if sfid < 0:
                raise SystemExit(f"FluidSynth cannot load {path}")
            self.sfid[name], self.paths[name] = sfid, path
            table = {}
            for bank in range(129):
                for preset in range(128):
                    label = self.synth.sfpreset_name(sfid, bank, preset)
                    if label:
                        table[(bank, preset)] = label.strip()
            self.presets[name] = table

    def render(self, sf: str, bank: int, preset: int, drum: bool, events: list[tuple[int, int, int]],
               total: int) -> np.ndarray:
        """Mono float32 render of (frame, note, velocity; 0 = off) events, ``total`` frames long."""
        s = self.synth
        s.system_reset()
        ch = 9 if drum else 0
        self.api.set_channel_type(s.synth, ch, fluid.CHANNEL_TYPE_DRUM if drum else fluid.CHANNEL_TYPE_MELODIC)
        if s.program_select(ch, self.sfid[sf], bank, preset) != 0:
            raise RuntimeError(f"{sf} has no preset {bank}:{preset}")
        out, cur = [], 0
        for at, note, vel in sorted(events, key=lambda e: (e[0], e[2] > 0)):
            if at > cur:
                out.append(s.get_samples(at - cur))
                cur = at
            if vel:
                s.noteon(ch, note, vel)
            else:
                s.noteoff(ch, note)
        if total > cur:
            out.append(s.get_samples(total - cur))
        s.system_reset()
        stereo = np.concatenate(out).astype(np.float32).reshape(-1, 2)
        return stereo.mean(axis=1) / 32768.0


# ---------------------------------------------------------------------------------------------- test phrases


@dataclass
class Phrase:
    events: list[tuple[int, int, int]]
    total: int
    checks: list[tuple[str, int, int]]  # (label, start frame, end frame) that must each sound


def melodic_phrase(lo: int, hi: int) -> Phrase:
    """Low, middle and high note, then a triad on the middle note, then a release tail."""
    mid = (lo + hi) // 2
    step, hold = frames(0.5), frames(0.45)
    events, checks, t = [], [], 0
    for note in (lo, mid, hi):
        events += [(t, note, 100), (t + hold, note, 0)]
        checks.append((f"note {note}", t, t + step))
        t += step
    chord = [mid, min(mid + 4, 127), min(mid + 7, 127)]
    for note in chord:
        events += [(t, note, 90), (t + frames(0.9), note, 0)]
    checks.append(("chord", t, t + frames(1.0)))
    return Phrase(events, t + frames(1.5), checks)


def drum_phrase() -> Phrase:
    """Kick, snare and closed hi-hat alone, then two bars at 120 bpm: hi-hat groove, ride, a tom fill, crash."""
    events, checks, t = [], [], 0
    for label, note in (("kick", 36), ("snare", 38), ("closed hi-hat", 42)):
        events += [(t, note, 100), (t + frames(0.1), note, 0)]
        checks.append((label, t, t + frames(0.4)))
        t += frames(0.4)
    start, eighth = t, frames(0.25)
    for i in range(17):
        if i == 16:
            hits = [36, 49]
        else:
            hits = [46 if i == 7 else 42] if i < 8 else [51] if i < 12 else [(50, 48, 45, 43)[i - 12]]
            hits += [36] * (i in (0, 4, 5, 8)) + [38] * (i in (2, 6, 10)) + [49] * (i == 0)
        for note in hits:
            events += [(start + i * eighth, note, 80 if note in (42, 46, 51) else 110),
                       (start + i * eighth + frames(0.1), note, 0)]
    checks.append(("groove", start, start + 17 * eighth))
    return Phrase(events, start + 17 * eighth + frames(1.5), checks)


def sound_problem(audio: np.ndarray, phrase: Phrase) -> str:
    """'' if the render sounds, else why not."""
    if not np.all(np.isfinite(audio)):
        return "NaN/inf in output"
    peak = float(np.abs(audio).max())
    if peak <= PEAK_MIN:
        return f"silent (peak {peak:.1e})"
    quiet = [label for label, a, b in phrase.checks if float(np.abs(audio[a:b]).max()) <= PEAK_MIN]
    return f"silent on {', '.join(quiet)}" if quiet else ""


def correlation(a: np.ndarray, b: np.ndarray) -> float:
    den = float(np.sqrt(np.dot(a, a) * np.dot(b, b)))
    return float(np.dot(a, b)) / den if den > 0 else 0.0


# ---------------------------------------------------------------------------------------------- building


@dataclass
class PatchDef:
    id: str
    soundfont: str
    bank: int
    preset: int
    name: str
    drum: bool = False
    effects: list[dict] = field(default_factory=list)
    variant: str = ""
    kit_follows: bool = False


class Builder:
    def __init__(self, fonts: Fonts) -> None:
        self.fonts = fonts
        self.ids: dict[tuple[str, int, int], str] = {}  # preset -> base id
        self.taken: set[str] = set()
        self.renders: dict[tuple, np.ndarray] = {}
        self.failed: dict[tuple[str, int, int], str] = {}  # preset -> reason (first failure)
        self.duplicates: list[tuple[str, str, str, float]] = []  # (class, dropped id, kept id, corr)
        self.excluded: list[str] = []
        self.checked = 0

    def base_id(self, sf: str, bank: int, preset: int) -> str:
        key = (sf, bank, preset)
        if key not in self.ids:
            pid = f"{SOUNDFONTS[sf]}.{slug(self.fonts.presets[sf][(bank, preset)])}"
            if pid in self.taken:
                pid = f"{pid}_b{bank}_p{preset}"
            self.taken.add(pid)
            self.ids[key] = pid
        return self.ids[key]

    def make(self, sf: str, bank: int, preset: int, drum: bool) -> PatchDef:
        return PatchDef(self.base_id(sf, bank, preset), sf, bank, preset, self.fonts.presets[sf][(bank, preset)],
                        drum=drum)

    def audio(self, patch: PatchDef, phrase_key: tuple, phrase: Phrase) -> np.ndarray:
        key = (patch.soundfont, patch.bank, patch.preset, patch.drum, phrase_key)
        if key not in self.renders:
            self.checked += 1
            self.renders[key] = self.fonts.render(patch.soundfont, patch.bank, patch.preset, patch.drum,
                                                  phrase.events, phrase.total)
        audio = self.renders[key]
        if patch.effects:
            chain = [(fx["type"], {k: v for k, v in fx.items() if k != "type"}) for fx in patch.effects]
            audio = effects.apply_chain(audio.copy(), chain, SR)
        return audio

    def verify(self, patch: PatchDef, phrase_key: tuple, phrase: Phrase) -> tuple[str, np.ndarray]:
        audio = self.audio(patch, phrase_key, phrase)
        problem = sound_problem(audio, phrase)
        if problem:
            self.failed.setdefault((patch.soundfont, patch.bank, patch.preset), f"{patch.id}: {problem}")
        return problem, audio

    def candidates(self, cdef: ClassDef) -> list[tuple[str, int, int]]:
        found = []
        for sf, banks in MELODIC_SOURCES.items():
            table = self.fonts.presets[sf]
            mine = [(sf, b, p) for (b, p) in table if b in banks and p in cdef.programs]
            mine += [e for e in cdef.extra if e[0] == sf]
            for key in sorted(set(mine), key=lambda k: (cdef.programs.index(k[2]) if k[2] in cdef.programs
                                                         else len(cdef.programs), k[1], k[2])):
                if key in cdef.exclude:
                    continue
                if key[1:] not in table:
                    raise SystemExit(f"{cdef.name}: {sf} has no preset {key[1]}:{key[2]}")
                if table[key[1:]].endswith("Expr."):
                    self.excluded.append(f"{sf} {key[1]}:{key[2]} {table[key[1:]]!r} (expression preset)")
                    continue
                found.append(key)
        return found

    def drum_candidates(self) -> list[tuple[str, int, int]]:
        found = []
        for sf in SOUNDFONTS:
            table = self.fonts.presets[sf]
            if sf in AVL_KITS:
                found += sorted((sf, b, p) for (b, p) in table)
            else:
                found += sorted((sf, b, p) for (b, p) in table if b == 128)
        return found

    def pick(self, cname: str, keys: list[tuple[str, int, int]], phrase_key: tuple, phrase: Phrase,
             drum: bool) -> list[PatchDef]:
        """Presets that sound, without near-duplicates (same samples), in candidate order."""
        kept: list[tuple[PatchDef, np.ndarray]] = []
        for sf, bank, preset in keys:
            patch = self.make(sf, bank, preset, drum)
            problem, audio = self.verify(patch, phrase_key, phrase)
            if problem:
                continue
            best = max(((correlation(audio, a), p.id) for p, a in kept), default=(0.0, ""))
            if best[0] >= DUP_CORR:
                self.duplicates.append((cname, patch.id, best[1], best[0]))
                continue
            kept.append((patch, audio))
        return [p for p, _ in kept]

    def add_variants(self, base: list[PatchDef], phrase_key: tuple, phrase: Phrase) -> list[PatchDef]:
        """Effect variants of ``base`` up to MIN_PATCHES, never more than the class has distinct presets."""
        kinds = list(VARIANTS)
        want = min(MIN_PATCHES - len(base), len(base))
        # round r gives base j the kind (j + r) mod 3: kinds mix within a class and no (base, kind) repeats
        pairs = [(src, kinds[(j + r) % len(kinds)]) for r in range(len(kinds)) for j, src in enumerate(base)]
        out: list[PatchDef] = []
        for src, kind in pairs:
            if len(out) >= want:
                break
            patch = PatchDef(f"{src.id}.{kind}", src.soundfont, src.bank, src.preset, src.name, src.drum,
                             effects=[dict(fx) for fx in VARIANTS[kind]], variant=kind)
            problem, _ = self.verify(patch, phrase_key, phrase)
            if not problem:
                out.append(patch)
        return out

    def build_default(self) -> tuple[dict[str, PatchDef], list[tuple[str, str, list[int], list[str]]]]:
        patches: dict[str, PatchDef] = {}
        classes = []
        for cdef in CLASSES:
            families = {gm.family(p) for p in cdef.programs}
            assert len(families) == 1, (cdef.name, families)
            inst_class = families.pop()
            members: list[PatchDef] = []
            if cdef.name == "Drums":
                members = self.pick(cdef.name, self.drum_candidates(), ("drums",), drum_phrase(), drum=True)
            elif cdef.name not in UNCOVERED:
                phrase_key = ("melodic", *cdef.test_range)
                phrase = melodic_phrase(*cdef.test_range)
                members = self.pick(cdef.name, self.candidates(cdef), phrase_key, phrase, drum=False)
                if len(members) < MIN_PATCHES:
                    members += self.add_variants(members, phrase_key, phrase)
            for p in members:
                patches.setdefault(p.id, p)
            classes.append((cdef.name, inst_class, cdef.programs, [p.id for p in members]))
        return patches, classes

    def build_flakh(self) -> tuple[dict[str, PatchDef], list[tuple[str, str, list[int], list[str]]]]:
        sf = "TimGM6mb.sf2"
        patches: dict[str, PatchDef] = {}
        classes = []
        for program in range(129):
            drum = program == gm.DRUMS
            patch = self.make(sf, 128 if drum else 0, 0 if drum else program, drum)
            if drum:
                self.verify(patch, ("drums",), drum_phrase())
                patch.kit_follows = True  # Flakh: the whole file through one GM SoundFont, kits included
            else:
                rng = FAMILY_RANGE[gm.family(program)]
                self.verify(patch, ("melodic", *rng), melodic_phrase(*rng))
            patches[patch.id] = patch
            classes.append((gm.program_name(program), gm.family(program), [program], [patch.id]))
        assert len({c[0] for c in classes}) == 129
        return patches, classes


# ---------------------------------------------------------------------------------------------- YAML


def scalar(text: str) -> str:
    """A YAML scalar for ``text``: plain where that reads back unchanged, else double-quoted."""
    try:
        plain = "\n" not in text and yaml.safe_load(f"k: {text}") == {"k": text}
    except yaml.YAMLError:
        plain = False
    return text if plain else json.dumps(text)


def number(v: float) -> str:
    return repr(float(v)) if isinstance(v, float) else str(v)


def dump_bank(name: str, description: str, patches: dict[str, PatchDef],
              classes: list[tuple[str, str, list[int], list[str]]]) -> str:
    lines = [
        "# Generated by patches/build_banks.py -- rerun it rather than editing by hand.",
        "# Format: docs/bank-format.md",
        f"format: {BANK_FORMAT}",
        f"name: {scalar(name)}",
        f"description: {scalar(description)}",
        "patches:",
    ]
    for p in patches.values():
        lines += [f"  {p.id}:", f"    soundfont: {scalar(p.soundfont)}", f"    bank: {p.bank}",
                  f"    preset: {p.preset}", f"    name: {scalar(p.name)}"]
        if p.drum != (p.bank == 128):
            lines.append(f"    drum: {'true' if p.drum else 'false'}")
        if p.kit_follows:
            lines.append("    kit: follow")
        if p.effects:
            lines.append("    effects:")
            for fx in p.effects:
                inner = ", ".join([f"type: {fx['type']}"] + [f"{k}: {number(v)}" for k, v in fx.items() if k != "type"])
                lines.append(f"      - {{{inner}}}")
    lines.append("classes:")
    for cname, inst_class, programs, members in classes:
        lines += [f"  {scalar(cname)}:", f"    inst_class: {scalar(inst_class)}",
                  f"    programs: [{', '.join(str(p) for p in programs)}]"]
        if members:
            lines.append("    patches:")
            lines += [f"      - {m}" for m in members]
        else:
            lines.append("    patches: []")
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------- main


def summarize(label: str, patches: dict[str, PatchDef], classes) -> None:
    with_patches = [c for c in classes if c[3]]
    total = sum(len(c[3]) for c in with_patches)
    variants = [p for p in patches.values() if p.variant]
    listed_variants = sum(1 for c in classes for m in c[3] if patches[m].variant)
    per_sf: dict[str, int] = {}
    for p in patches.values():
        per_sf[p.soundfont] = per_sf.get(p.soundfont, 0) + 1
    print(f"\n== {label}: {len(with_patches)} classes with patches ({len(classes)} in all), "
          f"{total} patches counted Slakh's way, {len(patches)} unique")
    print("   per SoundFont (unique): " + ", ".join(f"{k} {v}" for k, v in per_sf.items()))
    if variants or label.startswith("default"):
        print(f"   effect variants: {len(variants)} unique ({100 * len(variants) / len(patches):.1f} %), "
              f"{listed_variants} of {total} listed ({100 * listed_variants / max(total, 1):.1f} %)")
    if label.startswith("default"):
        for cname, inst_class, programs, members in classes:
            fx = sum(1 for m in members if patches[m].variant)
            progs = ", ".join(str(p) for p in programs) if len(programs) < 5 else f"{programs[0]}-{programs[-1]}"
            print(f"   {cname:<26} {inst_class:<21} [{progs}]  {len(members)} patches" + (f" ({fx} fx)" if fx else ""))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", type=Path, default=Path(__file__).resolve().parent,
                    help="where default.yaml and flakh.yaml go (default: this script's folder)")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    fonts = Fonts()
    t_load = time.perf_counter() - t0
    print("SoundFonts (bank:preset counts):")
    for name, table in fonts.presets.items():
        banks = sorted({b for b, _ in table})
        print(f"   {name:<24} {len(table):>3} presets, banks {banks}  ({fonts.paths[name]})")

    builder = Builder(fonts)
    d_patches, d_classes = builder.build_default()
    f_patches, f_classes = builder.build_flakh()

    args.out_dir.mkdir(parents=True, exist_ok=True)
    d_text = dump_bank("default", "Slakh2100's komplete_strict classes (programs fixed to 0-based, plus Synth Bass "
                       "and Synth Brass) with the free SoundFonts Debian packages: FluidR3_GM, MuseScore_General, "
                       "TimGM6mb, AVL drum kits", d_patches, d_classes)
    f_text = dump_bank("flakh", "Flakh: every GM program on its own TimGM6mb.sf2 preset, drums on the kit of "
                       "their program (pretty_midi's default SoundFont)", f_patches, f_classes)
    for fname, text in (("default.yaml", d_text), ("flakh.yaml", f_text)):
        yaml.safe_load(text)  # must read back
        (args.out_dir / fname).write_text(text, encoding="utf-8")

    summarize("default.yaml", d_patches, d_classes)
    summarize("flakh.yaml", f_patches, f_classes)
    print(f"\nSound check: {builder.checked} renders; presets that failed it ({len(builder.failed)}):")
    for reason in builder.failed.values():
        print(f"   {reason}")
    print(f"Near-duplicates dropped (phrase correlation >= {DUP_CORR}): {len(builder.duplicates)}")
    for cname, dropped, kept, corr in builder.duplicates:
        print(f"   {cname}: {dropped} ~ {kept} ({corr:.3f})")
    for line in builder.excluded:
        print(f"Excluded: {line}")
    used = {(p.soundfont, p.bank, p.preset) for p in [*d_patches.values(), *f_patches.values()]}
    unused = {sf: sum(1 for k in t if (sf, *k) not in used) for sf, t in fonts.presets.items()}
    print("Presets used in no bank: " + ", ".join(f"{k} {v}" for k, v in unused.items()))
    problems = []
    n_classes = sum(1 for c in d_classes if c[3])
    n_patches = sum(len(c[3]) for c in d_classes)
    if n_classes < 34 or n_patches < 187:
        problems.append(f"default.yaml has {n_classes} classes / {n_patches} patches (Slakh: 34 / 187)")
    problems += [f"flakh patch failed the sound check: {reason}" for (sf, _, _), reason in builder.failed.items()
                 if sf == "TimGM6mb.sf2" and reason.split(":")[0] in f_patches]
    for line in problems:
        print(f"PROBLEM: {line}")
    print(f"\nWrote {args.out_dir / 'default.yaml'} and {args.out_dir / 'flakh.yaml'} in "
          f"{time.perf_counter() - t0:.1f} s (SoundFont loading {t_load:.2f} s)")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
