"""Audition a patch: render a short phrase that fits its class (bass line, drum groove, chords or melody).

The phrases are ``resources/phrases/{bass,drums,chords,melody}.mid`` (written by ``resources/make_phrases.py``),
played untransposed through :func:`slakh_gui.core.render.synth.render_one` exactly as a stem is rendered, then through the
patch's effect chain when asked; the result is measured like a stem (BS.1770 loudness, sample peak).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from slakh_gui import paths
from slakh_gui.core.bank.patches import Bank, Patch, find_soundfont
from slakh_gui.core.constants import SAMPLE_RATE
from slakh_gui.core.jobs import CancelToken, check
from slakh_gui.core.midi import gm

KINDS = ("bass", "drums", "chords", "melody")
TAIL_S = 1.0  # rendered after the phrase's last note-off (release, reverb)

_KIND_OF_FAMILY = {
    "Bass": "bass",
    "Drums": "drums",
    "Piano": "chords", "Chromatic Percussion": "chords", "Organ": "chords", "Guitar": "chords",
    "Synth Pad": "chords",
}  # everything else (strings, brass, reeds, pipes, leads, ethnic, effects) plays the melody
# Bass-register instruments outside the Bass family: the melody (C4..A4) lies above their presets' key ranges
# (FluidR3's Contrabass is silent there), so they play the bass line.
BASS_REGISTER_PROGRAMS = {43: "Contrabass", 58: "Tuba"}


@dataclass
class Audition:
    audio: np.ndarray  # float32 mono, 44.1 kHz
    lufs: float  # BS.1770 integrated loudness; -inf when silent
    peak_dbfs: float  # sample peak; -inf when silent
    kind: str
    sample_rate: int = SAMPLE_RATE

    @property
    def seconds(self) -> float:
        return len(self.audio) / self.sample_rate


def phrase_kind(what: str | int) -> str:
    """The phrase for a GM family name (Slakh ``inst_class``) or a 0-based program (128 = drums).

    Basses and drums get their own phrases; pianos, chromatic percussion, organs, guitars and pads the chords;
    the rest the melody, except the bass-register programs Contrabass (43) and Tuba (58), which get the bass line.
    """
    if isinstance(what, bool):
        raise TypeError("phrase_kind takes a GM family name or a program number")
    if isinstance(what, int):
        if not 0 <= what <= gm.DRUMS:
            raise ValueError(f"program must be 0..128, got {what}")
        if what in BASS_REGISTER_PROGRAMS:
            return "bass"
        what = gm.family(what)
    if what not in gm.FAMILIES:
        raise ValueError(f"unknown GM family {what!r}")
    return _KIND_OF_FAMILY.get(what, "melody")


def phrase_path(kind: str) -> Path:
    if kind not in KINDS:
        raise ValueError(f"unknown phrase kind {kind!r} (known: {', '.join(KINDS)})")
    return paths.resources_dir() / "phrases" / f"{kind}.mid"


@lru_cache(maxsize=8)
def _phrase(kind: str):
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(phrase_path(kind)))
    return pm.instruments[0], pm.get_end_time()


def kind_for_patch(patch: Patch, bank: Bank | None = None) -> str:
    """Drums for a drum patch; else the phrase of the first class of ``bank`` listing it (the one its programs
    share, else its family's); else the phrase of its preset number."""
    if patch.drum:
        return "drums"
    if bank is not None:
        for cls in bank.classes.values():
            if patch.id in cls.patches:
                kinds = {phrase_kind(p) for p in cls.programs}
                return kinds.pop() if len(kinds) == 1 else phrase_kind(cls.inst_class)
    return phrase_kind(patch.preset if patch.bank != 128 else gm.DRUMS)


def measure(audio: np.ndarray, sample_rate: int = SAMPLE_RATE) -> tuple[float, float]:
    """(integrated loudness LUFS, sample peak dBFS); -inf for silence."""
    from slakh_gui.core.render.loudness import integrated_loudness

    peak = float(np.max(np.abs(audio))) if len(audio) else 0.0
    peak_db = 20.0 * math.log10(peak) if peak > 0 else float("-inf")
    lufs = integrated_loudness(audio, sample_rate) if peak > 0 else float("-inf")
    return lufs, peak_db


def audition(patch: Patch, bank: Bank | None = None, *, kind: str | None = None, with_effects: bool = True,
             soundfont_dirs: list[Path] | None = None, cancel: CancelToken | None = None) -> Audition:
    """Render ``patch`` playing the phrase of ``kind`` (default: the one that fits it, see :func:`kind_for_patch`).

    The SoundFont is looked up on the search path plus ``soundfont_dirs`` (and the bank's own folders);
    ``cancel`` stops the render between chunks (raising :class:`slakh_gui.core.jobs.Cancelled`).
    """
    from slakh_gui.core.bank.effects import apply_chain
    from slakh_gui.core.render import synth

    kind = kind or kind_for_patch(patch, bank)
    instrument, end = _phrase(kind)
    dirs = list(soundfont_dirs or []) + (list(bank.soundfont_dirs) if bank is not None else [])
    sf_path = find_soundfont(patch.soundfont, dirs, patch_id=patch.id, bank_path=bank.path if bank else None)
    job = synth.StemJob(key="audition", instrument=instrument, soundfont=sf_path, bank=patch.bank,
                         preset=patch.preset, drum=patch.drum, label=patch.id)
    n = synth.length_samples(end + TAIL_S)
    check(cancel)
    audio = synth.render_one(job, n, tick=(lambda _frames: check(cancel)) if cancel is not None else None)
    if with_effects and patch.effects:
        audio = apply_chain(audio, patch.effect_chain, synth.SAMPLE_RATE)
    check(cancel)
    lufs, peak = measure(audio, synth.SAMPLE_RATE)
    return Audition(audio, lufs, peak, kind, synth.SAMPLE_RATE)
