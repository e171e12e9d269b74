"""Seeded band-song MIDI generator: original multitrack songs for demos, tests and benchmarks.

:func:`generate_song` arranges a small pop/rock band (piano, bass, guitar, drums and a few other GM instruments)
over common chord progressions in a random key, with intro/verse/chorus/bridge/outro sections. The same seed and
arguments give the same MIDI bytes. Pure Python + pretty_midi; no audio, no Qt.
"""

from __future__ import annotations

import os
import random
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import pretty_midi

from slakh_gui.core.midi import gm

DRUMS = gm.DRUMS
KICK, SNARE, HAT, OPEN_HAT, CRASH, LOW_TOM, MID_TOM, HIGH_TOM = 36, 38, 42, 46, 49, 45, 47, 50
DRUM_PITCHES = frozenset({KICK, SNARE, HAT, OPEN_HAT, CRASH, LOW_TOM, MID_TOM, HIGH_TOM})

_SCALES = {"major": (0, 2, 4, 5, 7, 9, 11), "minor": (0, 2, 3, 5, 7, 8, 10)}
_PROGRESSIONS = {  # scale degrees, 0 = tonic; one chord per bar
    "major": [(0, 4, 5, 3), (5, 3, 0, 4), (0, 5, 3, 4), (0, 3, 4, 3), (1, 4, 0, 0), (0, 3, 5, 4), (0, 2, 3, 4),
              (3, 0, 4, 5)],
    "minor": [(0, 5, 2, 6), (0, 3, 4, 0), (0, 6, 5, 6), (0, 5, 3, 4), (0, 2, 6, 3), (5, 6, 0, 0), (0, 3, 6, 2)],
}
# Programs drawn for the extra tracks, by GM family (oddities like timpani or orchestra hit left out).
_EXTRA_POOLS = {
    "Strings": (40, 41, 42, 44, 48, 49, 50, 51, 52), "Organ": (16, 17, 18, 19, 20, 21),
    "Brass": (56, 57, 60, 61, 62, 63), "Reed": (64, 65, 66, 68, 71), "Pipe": (72, 73, 74, 75),
    "Synth Lead": (80, 81, 82, 83, 84, 85, 87), "Synth Pad": (88, 89, 90, 91, 92, 94, 95),
    "Chromatic Percussion": (8, 11, 12, 13),
}
_FAMILY_RANGE = {
    "Piano": (36, 84), "Chromatic Percussion": (60, 96), "Organ": (48, 84), "Guitar": (40, 81), "Bass": (28, 55),
    "Strings": (48, 84), "Strings (continued)": (48, 84), "Brass": (52, 79), "Reed": (55, 84), "Pipe": (67, 96),
    "Synth Lead": (55, 88), "Synth Pad": (48, 79),
}
_PROGRAM_RANGE = {42: (36, 72), 43: (28, 55), 57: (40, 72), 58: (28, 55), 66: (44, 76), 67: (36, 64),
                  70: (34, 65), 71: (50, 89), 72: (74, 100), 73: (60, 96)}
_DYNAMICS = {"intro": -12, "verse": -4, "chorus": 8, "bridge": -6, "outro": -10}
_NAMES = {"Strings (continued)": "Strings", "Chromatic Percussion": "Mallets"}

# Rhythms as (onset, length) in beats within a 4/4 bar.
_COMPS = {
    "whole": ((0, 4),), "half": ((0, 2), (2, 2)), "quarter": ((0, 1), (1, 1), (2, 1), (3, 1)),
    "push": ((0, 1.5), (1.5, 1), (2.5, 1.5)), "eighths": ((0, 0.5), (1, 0.5), (1.5, 1), (2.5, 0.5), (3, 1)),
}
_COMP_CHOICES = {"intro": ("whole", "half"), "verse": ("half", "push", "quarter"),
                 "chorus": ("quarter", "push", "eighths"), "bridge": ("whole", "half"), "outro": ("half",)}
_CELLS = (((0, 1), (1, 1), (2, 1.5), (3.5, 0.5)), ((0, 0.5), (0.5, 0.5), (1, 1), (2, 2)),
          ((0, 1.5), (1.5, 0.5), (2, 1), (3, 1)), ((0.5, 0.5), (1, 0.5), (1.5, 1.5), (3, 1)),
          ((0, 2), (2, 1), (3, 1)), ((0, 1), (1, 0.5), (1.5, 0.5), (2, 0.5), (2.5, 1.5)))
_STRUMS = (((0, 1, 1), (1, 0.5, 1), (1.5, 0.5, -1), (2.5, 0.5, -1), (3, 1, 1)),  # D D U U D
           ((0, 1.5, 1), (1.5, 1, 1), (2.5, 1.5, 1)),
           ((0, 0.5, 1), (0.5, 0.5, -1), (1, 0.5, 1), (1.5, 0.5, -1), (2, 0.5, 1), (2.5, 0.5, -1), (3, 1, 1)))
_ARPS = ((0, 2, 3, 4, 2, 3, 4, 3), (0, 3, 2, 4, 1, 3, 2, 4), (0, 1, 2, 3, 4, 3, 2, 1))
_FILLS = ((SNARE, SNARE, HIGH_TOM, HIGH_TOM, MID_TOM, MID_TOM, LOW_TOM, LOW_TOM),
          (SNARE, SNARE, SNARE, SNARE, HIGH_TOM, MID_TOM, LOW_TOM, LOW_TOM),
          (HIGH_TOM, HIGH_TOM, SNARE, MID_TOM, MID_TOM, SNARE, LOW_TOM, LOW_TOM))


def pitch_range(program: int) -> tuple[int, int]:
    """Lowest and highest MIDI pitch the generator writes for a 0-based GM program (128 = drums)."""
    if program == DRUMS:
        return min(DRUM_PITCHES), max(DRUM_PITCHES)
    return _PROGRAM_RANGE.get(program) or _FAMILY_RANGE.get(gm.family(program), (48, 84))


def _role(program: int) -> str:
    if program == DRUMS:
        return "drums"
    fam = gm.family(program)
    if fam in ("Strings", "Strings (continued)", "Organ", "Synth Pad"):
        return "pad"
    return {"Piano": "piano", "Guitar": "guitar", "Bass": "bass", "Brass": "brass"}.get(fam, "melody")


@dataclass
class _Bar:
    start: float
    end: float
    kind: str  # section kind
    index: int  # bar number within its section
    length: int  # bars in the section
    chord: int  # root scale degree
    last: bool = False


@dataclass
class _Ctx:
    tonic: int
    scale: tuple[int, ...]
    beat: float
    duration: float
    bars: list[_Bar]
    phrases: dict[str, list[tuple[int, float, float, int]]] = field(default_factory=dict)

    def pcs(self, degree: int, n: int = 3) -> list[int]:
        """Pitch classes of the diatonic chord on ``degree`` (triad, or with 7th for ``n=4``)."""
        return [(self.tonic + self.scale[(degree + 2 * i) % 7]) % 12 for i in range(n)]

    def pitch(self, degree: int, base: int) -> int:
        return base + self.scale[degree % 7] + 12 * (degree // 7)


def _fit(pc: int, lo: int, hi: int, near: float) -> int:
    """The pitch of class ``pc`` in ``[lo, hi]`` closest to ``near``."""
    return min((p for p in range(lo, hi + 1) if p % 12 == pc), key=lambda p: (abs(p - near), p))


def _voicing(pcs: list[int], lo: int, hi: int, center: float) -> list[int]:
    """A close voicing of ``pcs`` (stacked upward, any inversion) whose mean pitch is nearest ``center``."""
    best: list[int] = []
    for r in range(len(pcs)):
        order = pcs[r:] + pcs[:r]
        notes = [_fit(order[0], lo, hi, center - 5)]
        for pc in order[1:]:
            notes.append(notes[-1] + 1 + (pc - notes[-1] - 1) % 12)
        notes = [p for p in notes if p <= hi]
        if len(notes) > len(best) or (len(notes) == len(best) and
                                      abs(sum(notes) / len(notes) - center) < abs(sum(best) / len(best) - center)):
            best = notes
    return best


class _Track:
    """One instrument being written: seeded humanizing plus clipping to the song length."""

    def __init__(self, program: int, rng: random.Random, ctx: _Ctx) -> None:
        self.program, self.rng, self.ctx = program, rng, ctx
        self.range = pitch_range(program)
        self.inst = pretty_midi.Instrument(program=0 if program == DRUMS else program, is_drum=program == DRUMS)

    def vel(self, base: float, kind: str) -> int:
        return int(min(127, max(1, round(base + _DYNAMICS[kind] + self.rng.gauss(0, 5)))))

    def add(self, pitch: int, start: float, end: float, vel: int, jitter: float = 0.005) -> None:
        start = max(0.0, start + (self.rng.gauss(0, jitter) if jitter else 0.0))
        end = min(end, self.ctx.duration)
        if end - start >= 0.03:
            self.inst.notes.append(pretty_midi.Note(vel, int(pitch), start, end))

    def cc(self, number: int, value: int, time: float) -> None:
        self.inst.control_changes.append(pretty_midi.ControlChange(number, value, min(time, self.ctx.duration)))

    def finish(self) -> pretty_midi.Instrument:
        """Trim same-pitch overlaps (a renderer would cut them anyway) and sort the notes."""
        notes = sorted(self.inst.notes, key=lambda n: (n.pitch, n.start))
        kept = []
        for i, a in enumerate(notes):
            b = notes[i + 1] if i + 1 < len(notes) else None
            if b is not None and b.pitch == a.pitch and b.start < a.end:
                a.end = b.start - 0.002
            if a.end - a.start >= 0.02:
                kept.append(a)
        self.inst.notes = sorted(kept, key=lambda n: (n.start, n.pitch))
        return self.inst


def _sections(rng: random.Random, n: int) -> list[tuple[str, int]]:
    """Section kinds and lengths in bars; the body always ends on a chorus."""
    edge = 4 if n >= 24 else 2 if n >= 10 else 0
    body, out = n - 2 * edge, []
    plan = ("verse", "chorus", "verse", "chorus", "bridge", "chorus")
    while body > 12:
        kind = plan[len(out)] if len(out) < len(plan) else ("verse", "chorus")[len(out) % 2]
        length = rng.choice((4, 8)) if kind == "bridge" else 8
        out.append((kind, length))
        body -= length
    if not out:
        out = [("verse", body // 2), ("chorus", body - body // 2)] if body >= 4 else [("verse", body)]
    elif out[-1][0] == "chorus" and body >= 8:
        out += [("bridge", 4), ("chorus", body - 4)]
    elif out[-1][0] == "chorus" or body < 3:
        out[-1] = (out[-1][0], out[-1][1] + body)
    else:
        out.append(("chorus", body))
    return ([("intro", edge)] if edge else []) + out + ([("outro", edge)] if edge else [])


def _phrase(rng: random.Random, prog: tuple[int, ...]) -> list[tuple[int, float, float, int]]:
    """A 4-bar melody as (bar, onset beat, length beats, scale degree), chord tones on beats 1 and 3."""
    notes, deg = [], rng.choice((2, 4, 7))
    for bar in range(4):
        cell = ((0, 1), (1, 1), (2, 2)) if bar == 3 else rng.choice(_CELLS)
        root = prog[bar % len(prog)]
        for onset, length in cell:
            deg = min(max(deg + rng.choice((-2, -1, -1, 0, 1, 1, 2, 3, -3)), -1), 10)
            if onset in (0, 2):
                deg = min((d for d in range(deg - 3, deg + 4) if (d - root) % 7 in (0, 2, 4)),
                          key=lambda d: (abs(d - deg), d))
            notes.append((bar, onset, length, deg))
    return notes


def _plan(rng: random.Random, tempo: float, key: int, duration: float) -> _Ctx:
    mode = "major" if key < 12 else "minor"
    beat = 60.0 / tempo
    n = max(1, round(duration / (4 * beat)))
    verse, chorus, bridge = rng.sample(_PROGRESSIONS[mode], 3)
    progs = {"intro": chorus, "verse": verse, "chorus": chorus, "bridge": bridge, "outro": verse}
    bars: list[_Bar] = []
    for kind, length in _sections(rng, n):
        for i in range(length):
            t = len(bars) * 4 * beat
            bars.append(_Bar(t, t + 4 * beat, kind, i, length, progs[kind][i % 4]))
    for a, b in zip(bars[:-1], bars[1:], strict=True):  # turnaround: V before a chorus, sometimes
        if b.kind == "chorus" and b.index == 0 and rng.random() < 0.5:
            a.chord = 4
    bars[-1].chord, bars[-1].end, bars[-1].last = 0, duration, True
    ctx = _Ctx(key % 12, _SCALES[mode], beat, duration, bars)
    ctx.phrases = {kind: _phrase(rng, progs[kind]) for kind in ("verse", "chorus", "bridge")}
    return ctx


def _piano(ctx: _Ctx, tr: _Track) -> None:
    comp = _COMPS["whole"]
    for bar in ctx.bars:
        if bar.index == 0:
            comp = _COMPS[tr.rng.choice(_COMP_CHOICES[bar.kind])]
        pcs = ctx.pcs(bar.chord, 4 if bar.kind == "bridge" else 3)
        if bar.kind == "chorus":
            pcs.append(pcs[0])
        rh = _voicing(pcs, 55, 79, 66)
        lh = _fit(pcs[0], 36, 50, 43)
        if bar.last:
            for p in [lh, lh + 12, *rh]:
                tr.add(p, bar.start, bar.end, tr.vel(78, bar.kind))
            continue
        for onset, length in comp:
            t0, t1 = bar.start + onset * ctx.beat, bar.start + (onset + length) * ctx.beat * 0.95
            for p in rh:
                tr.add(p, t0, t1, tr.vel(74 if onset % 1 else 80, bar.kind))
        for onset in (0, 2) if len(comp) > 1 else (0,):
            tr.add(lh, bar.start + onset * ctx.beat, bar.start + (onset + 2) * ctx.beat * 0.97, tr.vel(76, bar.kind))
        if bar.start > 0:  # pedal: lift on the chord change, press again just after
            tr.cc(64, 0, bar.start)
        tr.cc(64, 127, bar.start + 0.03)
    tr.cc(64, 0, ctx.duration)


def _bass(ctx: _Ctx, tr: _Track) -> None:
    style = "root"
    lo, hi = tr.range
    for bar, nxt in zip(ctx.bars, [*ctx.bars[1:], ctx.bars[-1]], strict=True):
        if bar.index == 0:
            style = tr.rng.choice({"intro": ("long",), "outro": ("long", "root")}.get(
                bar.kind, ("root", "root5", "octave", "walk")))
        root = _fit(ctx.pcs(bar.chord)[0], lo, min(hi, lo + 15), lo + 8)
        fifth = root + 7 if root + 7 <= hi else root - 5
        if bar.last:
            tr.add(root, bar.start, bar.end, tr.vel(90, bar.kind))
            continue
        if style == "long":
            notes = [(0, 2, root), (2, 2, fifth)]
        elif style == "root":
            notes = [(b, 1, root) for b in range(4)]
        elif style == "root5":
            notes = [(0, 1.5, root), (1.5, 0.5, root), (2, 1, fifth), (3, 1, root + 12 if root + 12 <= hi else root)]
        elif style == "octave":
            notes = [(b / 2, 0.5, root + 12 * (b % 2) if root + 12 <= hi else root) for b in range(8)]
        else:  # walking: root, third, fifth, chromatic approach to the next root
            third = _fit(ctx.pcs(bar.chord)[1], root, root + 11, root + 4)
            target = _fit(ctx.pcs(nxt.chord)[0], lo, min(hi, lo + 15), lo + 8)
            approach = min(max(target + tr.rng.choice((-1, 1)), lo), hi)
            notes = [(0, 1, root), (1, 1, third), (2, 1, fifth), (3, 1, approach)]
        for onset, length, p in notes:
            tr.add(p, bar.start + onset * ctx.beat, bar.start + (onset + length * 0.9) * ctx.beat,
                   tr.vel(92 if onset == 0 else 84, bar.kind))


def _guitar(ctx: _Ctx, tr: _Track) -> None:
    style, strum, arp = "arp", _STRUMS[0], _ARPS[0]
    for bar in ctx.bars:
        if bar.index == 0:
            style = {"intro": "arp", "bridge": "arp", "chorus": "strum", "outro": "strum"}.get(
                bar.kind, tr.rng.choice(("arp", "strum")))
            strum, arp = tr.rng.choice(_STRUMS), tr.rng.choice(_ARPS)
        pcs = ctx.pcs(bar.chord)
        shape = [_fit(pcs[0], 40, 52, 45)]
        for pc in (pcs[2], pcs[0], pcs[1], pcs[2]):
            shape.append(shape[-1] + 1 + (pc - shape[-1] - 1) % 12)
        shape = [p for p in shape if p <= tr.range[1]]
        hits = [(0, 4, 1)] if bar.last else strum if style == "strum" else []
        for onset, length, direction in hits:
            strings = shape if direction > 0 else shape[:0:-1]
            t0, t1 = bar.start + onset * ctx.beat, bar.start + (onset + length) * ctx.beat
            for i, p in enumerate(strings):
                tr.add(p, t0 + 0.012 * i, t1 if bar.last else t1 - 0.02,
                       tr.vel(86 if direction > 0 else 72, bar.kind))
        if not bar.last and style == "arp":
            for i, idx in enumerate(arp):
                t0 = bar.start + i * 0.5 * ctx.beat
                tr.add(shape[idx % len(shape)], t0, t0 + ctx.beat, tr.vel(80 if i % 2 == 0 else 70, bar.kind))


def _hitter(ctx: _Ctx, tr: _Track, bar: _Bar):
    """``hit(pitch, beat, base velocity)``: a short drum note at ``beat`` of ``bar``."""

    def hit(pitch: int, at: float, base: float) -> None:
        t = bar.start + at * ctx.beat
        tr.add(pitch, t, t + 0.08, tr.vel(base, bar.kind), jitter=0.003)
    return hit


def _drums(ctx: _Ctx, tr: _Track) -> None:
    kicks, open_hat, fill = (0, 2), False, _FILLS[0]
    for n, bar in enumerate(ctx.bars):
        hit = _hitter(ctx, tr, bar)
        if bar.index == 0:
            kicks = tr.rng.choice(((0, 2), (0, 1.5, 2), (0, 2, 2.5), (0, 0.75, 2, 2.5)))
            open_hat, fill = tr.rng.random() < 0.6, tr.rng.choice(_FILLS)
            if n > 0 or bar.kind != "intro":
                hit(CRASH, 0, 100)
        if bar.last:
            hit(CRASH, 0, 105)
            hit(KICK, 0, 105)
            continue
        if bar.kind == "intro":
            for q in range(4):
                hit(HAT, q, 70)
            for k in (0, 2):
                hit(KICK, k, 88)
            continue
        do_fill = bar.index == bar.length - 1 and bar.length >= 4
        groove_end = 2 if do_fill else 4
        for e in range(groove_end * 2):
            pitch = OPEN_HAT if open_hat and bar.kind == "chorus" and e == 7 else HAT
            hit(pitch, e / 2, 82 if e % 2 == 0 else 64)
        for k in kicks:
            if k < groove_end:
                hit(KICK, k, 100)
        for s in (1, 3):
            if s < groove_end:
                hit(SNARE, s, 102)
        if tr.rng.random() < 0.3 and groove_end == 4:
            hit(SNARE, 2.75, 45)  # ghost note
        if do_fill:
            hit(KICK, 2, 95)
            for i, pitch in enumerate(fill):
                hit(pitch, 2 + i / 4, 78 + 3 * i)


# "varied" drums: the kit's voices drawn per song, and hand percussion from the rest of the GM percussion map (pairs
# of neighbouring notes are one instrument's two strokes: bongos, congas, timbales, agogo, whistle, guiro, cuica ...).
_KICKS, _SNARES, _TOMS = (35, 36), (38, 40, 37, 39), (41, 43, 45, 47, 48, 50)
_TIMEKEEPERS = (42, 42, 44, 46, 51, 53, 59, 54, 69, 70, 82)  # hats, rides, ride bell, tambourine, cabasa, maracas
_CRASHES = (49, 57, 52, 55)
_HAND = (39, 54, 56, 58, 60, 61, 62, 63, 64, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81)
_PAIRS = {60: 61, 62: 63, 63: 64, 65: 66, 67: 68, 71: 72, 73: 74, 76: 77, 78: 79, 80: 81}
_FEELS = ("straight", "sixteenths", "shuffle", "halftime", "four", "swing")


def _varied_drums(ctx: _Ctx, tr: _Track) -> None:
    """Drums of several feels (straight or sixteenth rock, shuffle, half-time, four on the floor, swing ride) with
    kit voices drawn per song and 0-3 hand-percussion layers: repeating one-bar patterns of instruments drawn from
    the whole GM percussion map, so that a model trained on them has heard every drum sound, not one rock kit."""
    rng = tr.rng
    feel = rng.choice(_FEELS)
    kick, snare = rng.choice(_KICKS), rng.choice(_SNARES)
    keeper = 51 if feel == "swing" else rng.choice(_TIMEKEEPERS)
    crash, toms = rng.choice(_CRASHES), sorted(rng.sample(_TOMS, 3), reverse=True)
    grid = 12 if feel in ("shuffle", "swing") else 16  # steps per bar: triplet eighths or sixteenths
    step, beat_steps = 4.0 / grid, grid // 4

    def pattern(density: float) -> list[int]:
        return [i for i in range(grid) if rng.random() < density] or [0]

    extra_kicks = pattern(0.12)
    layers = []
    for _ in range(rng.choice((0, 1, 1, 2, 2, 3))):
        pitch = rng.choice(_HAND)
        steps = pattern(rng.uniform(0.15, 0.6))
        second = _PAIRS.get(pitch) if rng.random() < 0.6 else None
        layers.append((pitch, second, steps, set(rng.sample(steps, max(1, len(steps) // 3))),
                       rng.choice(("all", "all", "chorus", "verse"))))
    for bar in ctx.bars:
        hit = _hitter(ctx, tr, bar)
        if bar.index == 0 and bar.kind != "intro":
            hit(crash, 0, 100)
        if bar.last:
            hit(crash, 0, 105)
            hit(kick, 0, 105)
            continue
        fill = bar.index == bar.length - 1 and bar.length >= 4
        end = grid // 2 if fill else grid
        for i in range(end):  # the time keeper
            on_beat = i % beat_steps == 0
            if feel in ("shuffle", "swing"):
                if i % 3 == 1 or (feel == "swing" and i % 6 == 5 and not on_beat):
                    continue
            elif feel != "sixteenths" and i % 2:
                continue
            pitch = 46 if feel == "four" and i % beat_steps == beat_steps // 2 else keeper
            hit(pitch, i * step, 82 if on_beat else 62)
        kicks = [i * beat_steps for i in range(4)] if feel == "four" else [0, 2 * beat_steps] + extra_kicks
        snares = [2 * beat_steps] if feel == "halftime" else [beat_steps, 3 * beat_steps]
        if feel == "swing":
            kicks, snares = [0, *extra_kicks[:1]], list(extra_kicks[1:3]) or [3 * beat_steps - 1]
            hit(44, 1, 60)
            hit(44, 3, 60)
        for i in sorted(set(kicks)):
            if i < end:
                hit(kick, i * step, 100)
        for i in snares:
            if i < end:
                hit(snare, i * step, 100)
        if bar.kind != "intro":
            for pitch, second, steps, accents, when in layers:
                if when != "all" and bar.kind != when:
                    continue
                for n, i in enumerate(steps):
                    if i < end:
                        hit(second if second and n % 2 else pitch, i * step, 84 if i in accents else 64)
        if fill:
            for k in range(grid // 2):
                pitch = snare if k < 2 else toms[min(2, (k - 2) * 3 // max(1, grid // 2 - 2))]
                hit(pitch, 2 + k * step, 76 + 2 * k)


_DRUM_PARTS = {"rock": _drums, "varied": _varied_drums}
DRUM_STYLES = tuple(_DRUM_PARTS)


def _pad(ctx: _Ctx, tr: _Track) -> None:
    lo, hi = tr.range
    organ = gm.family(tr.program) == "Organ"
    for bar in ctx.bars:
        rh = _voicing(ctx.pcs(bar.chord, 4 if bar.kind == "bridge" else 3), lo + 7, hi, lo + 0.5 * (hi - lo))
        low = rh[0] - 3 - (rh[0] - 3 - ctx.pcs(bar.chord)[0]) % 12  # open it up with a low root
        rh = [low, *rh] if low >= lo else rh
        hits = ((0, 2), (2, 2)) if organ and bar.kind == "chorus" and not bar.last else ((0, 4),)
        for onset, length in hits:
            end = bar.end if bar.last else bar.start + (onset + length) * ctx.beat - 0.03
            for p in rh:
                tr.add(p, bar.start + onset * ctx.beat, end, tr.vel(72, bar.kind))


def _brass(ctx: _Ctx, tr: _Track) -> None:
    lo, hi = tr.range
    stabs = ((0, 0.75), (2.5, 0.5))
    for bar in ctx.bars:
        if bar.index == 0:
            stabs = tr.rng.choice((((0, 0.75), (2.5, 0.5)), ((1.5, 0.5), (2, 1)), ((0, 1.5), (3, 0.5))))
        rh = _voicing(ctx.pcs(bar.chord), lo, hi, lo + 0.55 * (hi - lo))
        if bar.last:
            hits = ((0, 4),)
        elif bar.kind in ("chorus", "bridge"):
            hits = stabs
        elif bar.kind == "verse" and bar.index % 2 == 1:
            hits = ((2, 2),)  # a swell answering the vocal line
        else:
            continue
        for onset, length in hits:
            end = bar.end if bar.last else bar.start + (onset + length * 0.9) * ctx.beat
            for p in rh:
                tr.add(p, bar.start + onset * ctx.beat, end, tr.vel(90, bar.kind))


def _melody(ctx: _Ctx, tr: _Track, k: int) -> None:
    """The song's melody (k = 0: verses and choruses) or a harmony part (k > 0: joins later in the song)."""
    lo, hi = tr.range
    base = _fit(ctx.tonic, lo, hi, (lo + hi) / 2 - 7)
    shift = (0, -2, 2, 0)[k % 4]
    active = ("verse", "chorus") if k == 0 else ("chorus", "bridge", "outro")
    long_notes: list[pretty_midi.Note] = []
    for bar in ctx.bars:
        if bar.kind not in active and not (k > 0 and bar.kind == "verse" and bar.index >= 4):
            continue
        if bar.last:
            tr.add(_fit(ctx.tonic, lo, hi, (lo + hi) / 2), bar.start, bar.end, tr.vel(80, bar.kind))
            continue
        phrase = ctx.phrases["chorus" if bar.kind == "outro" else bar.kind]
        for pb, onset, length, deg in phrase:
            if pb != bar.index % 4:
                continue
            if bar.index % 8 == 7 and (pb, onset) == phrase[-1][:2]:
                deg = 7 * round(deg / 7)  # close the 8-bar period on the tonic
            p = ctx.pitch(deg + shift, base)
            p += 12 * ((lo - p + 11) // 12) if p < lo else -12 * ((p - hi + 11) // 12) if p > hi else 0
            t0 = bar.start + onset * ctx.beat
            count = len(tr.inst.notes)
            tr.add(p, t0, t0 + length * ctx.beat * 0.92, tr.vel(88 if onset % 1 == 0 else 78, bar.kind))
            if length >= 1.5 and len(tr.inst.notes) > count:
                long_notes.append(tr.inst.notes[-1])
    if k == 0:  # a scoop into a couple of long notes
        for note in sorted(long_notes, key=lambda n: (n.start - n.end, n.start))[:2]:
            for i, value in enumerate((-1536, -1024, -512, -128, 0)):
                tr.inst.pitch_bends.append(pretty_midi.PitchBend(value, note.start + 0.03 * i))
        tr.inst.pitch_bends.sort(key=lambda b: b.time)


def _draw_programs(rng: random.Random, extra_tracks: int) -> list[int]:
    programs = [rng.randrange(0, 8), rng.randrange(32, 40), rng.randrange(24, 32), DRUMS]
    families = rng.sample(sorted(_EXTRA_POOLS), len(_EXTRA_POOLS))
    for i in range(extra_tracks):
        programs.append(rng.choice(_EXTRA_POOLS[families[i % len(families)]]))
    return programs


def generate_song(seed: int, *, duration_s: float = 90.0, tempo: float | None = None, key: int | None = None,
                  instruments: list[int] | None = None, extra_tracks: int = 3,
                  drums: str = "rock") -> pretty_midi.PrettyMIDI:
    """Generate an original multitrack band song.

    Parameters
    ----------
    seed : int
        Seed of every random choice; the same seed and arguments give identical MIDI.
    duration_s : float
        Length of the song in seconds; the last note ends at this time.
    tempo : float, optional
        Beats per minute (default: drawn from 80-150).
    key : int, optional
        pretty_midi key number: 0-11 = C..B major, 12-23 = C..B minor (default: drawn).
    instruments : list of int, optional
        0-based GM programs, 128 = drums, one track each; replaces the default band.
    extra_tracks : int
        Without ``instruments``: how many instruments from other GM families join piano, bass, guitar, drums.
    drums : str
        ``rock`` (default): rock-kit grooves (:data:`DRUM_PITCHES`); ``varied``: several feels, kit voices drawn
        per song and hand-percussion layers from the whole GM percussion map (notes 35-81, and GS's shaker, 82).

    Returns
    -------
    pretty_midi.PrettyMIDI
        The song, in 4/4 with tempo, time and key signatures, volume/pan/sustain controls and pitch bends.
    """
    if duration_s <= 0:
        raise ValueError("duration_s must be positive")
    rng = random.Random(seed)
    tempo = float(tempo) if tempo is not None else float(rng.randint(80, 150))
    key = rng.randrange(24) if key is None else key
    if not 0 <= key < 24:
        raise ValueError("key must be a pretty_midi key number, 0-23")
    programs = list(instruments) if instruments is not None else _draw_programs(rng, extra_tracks)
    if any(not 0 <= p <= DRUMS for p in programs):
        raise ValueError("instruments must be GM programs 0-127 or 128 for drums")
    if drums not in DRUM_STYLES:
        raise ValueError(f"drums must be one of {', '.join(DRUM_STYLES)}, not {drums!r}")
    ctx = _plan(rng, tempo, key, float(duration_s))
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
    pm.key_signature_changes.append(pretty_midi.KeySignature(key, 0.0))
    parts = {"piano": _piano, "bass": _bass, "guitar": _guitar, "drums": _DRUM_PARTS[drums], "pad": _pad,
             "brass": _brass}
    names: dict[str, int] = {}
    melodic = [i for i, p in enumerate(programs) if _role(p) == "melody"]  # a synth lead, if any, sings the tune
    melodic.sort(key=lambda i: (gm.family(programs[i]) != "Synth Lead", i))
    for idx, program in enumerate(programs):
        tr = _Track(program, random.Random(f"{seed}:{idx}:{program}"), ctx)
        role = _role(program)
        if role == "melody":
            _melody(ctx, tr, melodic.index(idx))
        else:
            parts[role](ctx, tr)
        name = _NAMES.get(gm.family(program), gm.family(program))
        names[name] = names.get(name, 0) + 1
        tr.inst.name = name if names[name] == 1 else f"{name} {names[name]}"
        tr.cc(7, tr.rng.randint(88, 110), 0.0)
        tr.cc(10, 64 if role in ("bass", "drums") else tr.rng.randint(28, 100), 0.0)
        tr.inst.control_changes.sort(key=lambda c: c.time)
        pm.instruments.append(tr.finish())
    return pm


def write_song(pm: pretty_midi.PrettyMIDI, path: str | os.PathLike[str]) -> Path:
    """Write ``pm`` to ``path`` atomically (a temporary file in the same folder, then ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(suffix=".mid", prefix=f".{path.stem}-", dir=path.parent)
    os.close(fd)
    try:
        pm.write(tmp)
        os.chmod(tmp, path.stat().st_mode & 0o777 if path.exists() else 0o644)  # mkstemp makes it 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path
