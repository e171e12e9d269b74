"""Drum kits that follow the track's MIDI program (GM/GS kits live in SoundFont bank 128 at their program number).

A drum patch with ``kit: follow`` (bank 128) plays the kit of the track's own program rather than its ``preset``;
when the SoundFont lacks that kit the standard kit (program 0) plays instead, and the fallback is logged and recorded
(``metadata.yaml``: ``slakh_studio.kit_fallbacks``). See ``docs/bank-format.md``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from slakh_gui.core.bank.patches import Assignment, Bank, Patch

log = logging.getLogger(__name__)

DRUM_BANK = 128
STANDARD_KIT = 0
# The GM2/GS drum kit programs (0-based), as GM SoundFonts (TimGM6mb, FluidR3_GM, MuseScore_General) place them.
GM_KITS: dict[int, str] = {0: "Standard", 8: "Room", 16: "Power", 24: "Electronic", 25: "TR-808", 32: "Jazz",
                           40: "Brush", 48: "Orchestra"}
KITS: dict[int, str] = {**GM_KITS, 56: "SFX", 127: "CM-64/CM-32L"}  # plus Roland GS's two


def kit_name(program: int) -> str:
    """"TR-808 (program 25)"; a program that is no GS kit: "kit program 26"."""
    return f"{KITS[program]} (program {program})" if program in KITS else f"kit program {program}"


@dataclass(frozen=True)
class KitChoice:
    """The preset a kit-following drum track plays, and why it is not its own program's (empty: it is)."""

    preset: int
    fallback: str = ""


def has_kit(soundfont: Path, program: int) -> bool:
    """Whether the SoundFont has bank 128 preset ``program`` (FluidSynth's preset listing, cached)."""
    from slakh_gui.core.bank.soundfont import has_preset

    return has_preset(soundfont, DRUM_BANK, program)


def choose_kit(patch: Patch, program: int, soundfont: Path) -> KitChoice:
    """The bank-128 preset for a track on ``program`` with a kit-following ``patch``: the program's kit if the
    SoundFont has it, else the standard kit, else (no standard kit either) the patch's own preset."""
    if has_kit(soundfont, program):
        return KitChoice(program)
    if has_kit(soundfont, STANDARD_KIT):
        return KitChoice(STANDARD_KIT, f"{kit_name(program)} not in {soundfont.name}: standard kit used")
    return KitChoice(patch.preset, f"{kit_name(program)} not in {soundfont.name}: its preset {patch.preset} used "
                                   f"(no standard kit either)")


def kit_plan(song, bank: Bank, assignment: Assignment) -> dict[str, KitChoice]:
    """Stem key -> kit choice, for every track whose patch follows the kit (SoundFonts must be found)."""
    plan: dict[str, KitChoice] = {}
    for track in song.tracks:
        pid = assignment.patch_id(track.key) if track.key in assignment.tracks else None
        patch = bank.patches.get(pid) if pid else None
        if patch is None or not patch.kit_follows:
            continue
        plan[track.key] = choose_kit(patch, int(track.instrument.program), bank.resolve_soundfont(patch))
    return plan


def kit_fallbacks(song, bank: Bank, assignment: Assignment) -> dict[str, str]:
    """Stem key -> why the track's kit was replaced (only the tracks whose kit is missing)."""
    return {k: c.fallback for k, c in kit_plan(song, bank, assignment).items() if c.fallback}


def log_fallbacks(fallbacks: dict[str, str]) -> None:
    for key, why in fallbacks.items():
        log.warning("%s: %s", key, why)
