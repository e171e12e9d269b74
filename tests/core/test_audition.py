"""Auditioning patches of the shipped bank on the bundled phrases, rendered by FluidSynth for real."""

from __future__ import annotations

import math

import numpy as np
import pretty_midi
import pytest

from slakh_gui import paths
from slakh_gui.core.bank import audition as au
from slakh_gui.core.bank.patches import Patch, load_bank
from slakh_gui.core.jobs import Cancelled, CancelToken


@pytest.fixture(scope="module")
def bank():
    return load_bank(paths.default_bank())


def test_phrase_files():
    for kind in au.KINDS:
        pm = pretty_midi.PrettyMIDI(str(au.phrase_path(kind)))
        assert len(pm.instruments) == 1 and 6.0 <= pm.get_end_time() <= 8.5
        assert pm.instruments[0].is_drum == (kind == "drums")
    drums = {n.pitch for n in pretty_midi.PrettyMIDI(str(au.phrase_path("drums"))).instruments[0].notes}
    assert {36, 38, 42, 49} <= drums  # kick, snare, closed hi-hat, crash
    with pytest.raises(ValueError):
        au.phrase_path("tuba")


@pytest.mark.parametrize("what,kind", [
    ("Bass", "bass"), (33, "bass"), ("Drums", "drums"), (128, "drums"), ("Piano", "chords"), (0, "chords"),
    ("Guitar", "chords"), ("Organ", "chords"), ("Synth Pad", "chords"), ("Chromatic Percussion", "chords"),
    ("Synth Lead", "melody"), ("Brass", "melody"), ("Reed", "melody"), ("Pipe", "melody"), ("Strings", "melody"),
    ("Strings (continued)", "melody"), (40, "melody"), (73, "melody"), (43, "bass"), (58, "bass"),
])
def test_phrase_kind(what, kind):
    assert au.phrase_kind(what) == kind


def test_phrase_kind_rejects():
    for bad in ("Banjo", 129, -1, True):
        with pytest.raises((ValueError, TypeError)):
            au.phrase_kind(bad)


def test_kind_for_patch(bank):
    assert au.kind_for_patch(bank.patches["fluidr3_gm.standard"], bank) == "drums"
    assert au.kind_for_patch(bank.patches["fluidr3_gm.fingered_bass"], bank) == "bass"
    assert au.kind_for_patch(bank.patches["timgm6mb.piano_1"], bank) == "chords"
    assert au.kind_for_patch(bank.patches["fluidr3_gm.contrabass"], bank) == "bass"  # class Contrabass: [43]
    assert au.kind_for_patch(Patch("x", "TimGM6mb.sf2", 0, 66)) == "melody"  # no bank: its preset's family


@pytest.mark.parametrize("pid,kind", [("fluidr3_gm.fingered_bass", "bass"), ("fluidr3_gm.standard", "drums"),
                                      ("timgm6mb.piano_1", "chords"), ("fluidr3_gm.tenor_sax", "melody")])
def test_each_kind_sounds(bank, pid, kind):
    result = au.audition(bank.patches[pid], bank)
    assert result.kind == kind
    assert result.audio.dtype == np.float32 and result.audio.ndim == 1 and result.sample_rate == 44100
    assert 7.0 < result.seconds < 10.0
    assert math.isfinite(result.lufs) and -60 < result.lufs < -10
    assert math.isfinite(result.peak_dbfs) and -50 < result.peak_dbfs < 0
    assert np.isclose(result.peak_dbfs, 20 * np.log10(np.abs(result.audio).max()))


def test_effects_on_and_off_differ(bank):
    patch = bank.patches["fluidr3_gm.acoustic_bass.room"]
    assert patch.effects
    wet = au.audition(patch, bank)
    dry = au.audition(patch, bank, with_effects=False)
    assert wet.audio.shape == dry.audio.shape and not np.array_equal(wet.audio, dry.audio)
    plain = au.audition(bank.patches["fluidr3_gm.acoustic_bass"], bank)
    assert np.array_equal(dry.audio, plain.audio)  # same preset, no chain: the same render


def test_kind_override_and_cancel(bank):
    result = au.audition(bank.patches["timgm6mb.piano_1"], bank, kind="melody")
    assert result.kind == "melody" and math.isfinite(result.lufs)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        au.audition(bank.patches["timgm6mb.piano_1"], bank, cancel=token)


def test_silent_render_measures_minus_inf():
    result = au.audition(Patch("contrabass", "FluidR3_GM.sf2", 0, 43), kind="melody")  # far above its range
    assert result.lufs == float("-inf") and result.peak_dbfs == float("-inf")
