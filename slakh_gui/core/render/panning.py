"""Where each stem of a stereo render sits: the MIDI file's own CC10, or a seeded auto-pan rule.

Modes (``RenderOptions.pan``, ``--pan``):

- ``auto`` (the default): a track with any CC10 (pan) event in the file plays it (over time, as FluidSynth does);
  a track without one gets one CC10 at time 0 from the auto-pan rule below.
- ``midi``: the file's CC10 only (exactly the events the mono render plays); tracks without one stay centred.
- ``none``: no pan control at all: the file's CC10 events are left out and nothing is added, so every stem is
  FluidSynth's own output with the channel's pan at its centre default (64).

In every mode what the SoundFont itself does stays: presets with stereo samples or their own pan generators (e.g.
FluidR3_GM's pianos and strings) are wide or off-centre by themselves, and drum kits pan their pieces (hi-hats,
toms, cymbals) while kick and snare sit in the middle.

The auto-pan rule, per track (independent of the other tracks: a track's pan depends only on the assignment seed,
the track's key and the track itself, so re-rolling or fixing one track never moves another):

- **centre** (no CC10 sent; FluidSynth's default pan): the drum track (the whole kit, whose own per-piece panning
  stays), every bass track (GM Bass family, programs 32-39), every GM Synth Lead (programs 80-87), and **the lead**:
  the melodic, non-bass track with the most notes at or above C5 (MIDI pitch 72) (ties: the earlier track; none when
  no such track plays a note that high);
- **spread**, every other track: one CC10 at time 0 of ``64 - w`` (left) or ``64 + w`` (right), the side and the
  width ``w`` in 20..60 drawn from ``random.Random(f"{seed}:{key}:pan")``.

Metadata (``slakh_studio.pan``) records per rendered stem ``{source, value}``: source ``midi`` (value: the first
CC10 of the track; ``changes``: how many it has), ``auto`` (value: the CC10 sent, 64 for centre; ``role``: drums,
bass, lead or spread) or ``none`` (value 64).
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from slakh_gui.core.midi import gm
from slakh_gui.core.midi.midifile import Song, Track

MODES = ("auto", "midi", "none")
PAN_CC = 10
CENTRE = 64
SPREAD = (20, 60)  # CC10 steps from the centre, drawn per track
LEAD_PITCH = 72  # C5: "the song's highest register" for the lead rule
BASS = "Bass"
SYNTH_LEAD = "Synth Lead"


@dataclass(frozen=True)
class Pan:
    """One stem's pan: what the renderer sends (``cc``: a CC10 at time 0, or None) and what metadata records."""

    source: str  # midi | auto | none
    value: int  # midi: the track's first CC10; else the CC10 in effect (64: centre)
    cc: int | None = None  # CC10 sent at time 0 (auto spread only)
    drop_file_pan: bool = False  # leave out the file's own CC10 (mode none)
    role: str | None = None  # auto: drums | bass | lead | spread
    changes: int = 0  # midi: how many CC10 events the track has

    def as_dict(self) -> dict:
        d: dict = {"source": self.source, "value": int(self.value)}
        if self.role is not None:
            d["role"] = self.role
        if self.source == "midi":
            d["changes"] = int(self.changes)
        return d


def file_pans(track: Track) -> list:
    """The track's own CC10 events, in time order."""
    return sorted((cc for cc in track.instrument.control_changes if cc.number == PAN_CC), key=lambda c: c.time)


def lead_key(song: Song) -> str | None:
    """The lead: the melodic, non-bass track with the most notes at or above :data:`LEAD_PITCH` (earliest on ties)."""
    best, best_count = None, 0
    for t in song.tracks:
        if t.is_drum or gm.family(t.program) == BASS:
            continue
        count = sum(1 for n in t.instrument.notes if n.pitch >= LEAD_PITCH)
        if count > best_count:
            best, best_count = t.key, count
    return best


def role(track: Track, lead: str | None) -> str:
    """drums, bass, lead (centred) or spread."""
    if track.is_drum:
        return "drums"
    family = gm.family(track.program)
    if family == BASS:
        return "bass"
    if family == SYNTH_LEAD or track.key == lead:
        return "lead"
    return "spread"


def auto_pan(seed: int, key: str) -> int:
    """The spread rule's CC10 for one track: seeded by the assignment seed and the track key only."""
    rng = random.Random(f"{seed}:{key}:pan")
    side = rng.choice((-1, 1))
    return CENTRE + side * rng.randint(*SPREAD)


def plan(song: Song, keys: list[str], seed: int, mode: str = "auto") -> dict[str, Pan]:
    """Each of ``keys``' pan under ``mode`` (see the module doc)."""
    if mode not in MODES:
        raise ValueError(f"unknown pan mode {mode!r} (use {', '.join(MODES)})")
    lead = lead_key(song) if mode == "auto" else None
    out = {}
    for key in keys:
        track = song.track(key)
        own = file_pans(track)
        if mode == "none":
            out[key] = Pan("none", CENTRE, drop_file_pan=True)
        elif own:
            out[key] = Pan("midi", int(own[0].value), changes=len(own))
        elif mode == "midi":
            out[key] = Pan("midi", CENTRE)
        else:
            r = role(track, lead)
            cc = auto_pan(seed, key) if r == "spread" else None
            out[key] = Pan("auto", CENTRE if cc is None else cc, cc=cc, role=r)
    return out
