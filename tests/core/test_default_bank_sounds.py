"""Every patch of the shipped banks renders a non-silent phrase through our renderer (real FluidSynth)."""

from __future__ import annotations

import numpy as np
import pretty_midi
import pytest

from slakh_gui import paths
from slakh_gui.core import effects, patches, render


def phrase(drum: bool) -> pretty_midi.Instrument:
    inst = pretty_midi.Instrument(0, is_drum=drum)
    pitches = [36, 42, 38, 42] * 2 if drum else [48, 55, 60, 64, 67, 72, 60, 52]
    for i, p in enumerate(pitches):
        inst.notes.append(pretty_midi.Note(100, p, 0.1 + 0.2 * i, 0.1 + 0.2 * i + 0.3))
    return inst


@pytest.mark.parametrize("bank_path", [paths.default_bank(), paths.flakh_bank()], ids=["default", "flakh"])
def test_every_patch_sounds(bank_path):
    bank = patches.load_bank(bank_path)
    melodic, drums = phrase(False), phrase(True)
    jobs = [render.StemJob(p.id, drums if p.drum else melodic, bank.resolve_soundfont(p), p.bank, p.preset,
                           p.drum, p.id) for p in bank.patches.values()]
    n = render.length_samples(2.5)
    audio = render.render_stems(jobs, n, threads=2)
    silent = []
    for job, row in zip(jobs, audio, strict=True):
        chain = bank.patches[job.key].effect_chain
        out = effects.apply_chain(row, chain, 44100) if chain else row
        assert np.all(np.isfinite(out)), job.key
        if np.max(np.abs(out)) < 1e-3:
            silent.append(job.key)
    assert not silent, f"silent patches: {silent}"
    if bank_path == paths.default_bank():
        assert bank.class_count() >= 34 and bank.patch_count() >= 187
