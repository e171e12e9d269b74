"""Shared fixtures: a small generated song, a small real bank, one real render (FluidSynth) per session."""

from __future__ import annotations

import os
from pathlib import Path

import pretty_midi
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SLAKH_SAMPLES = REPO.parent / "shared" / "data" / "slakh-samples"


def make_song(path: Path, seconds: float = 12.0, seed: int = 1, extra: list[tuple[int, bool, str]] | None = None) -> Path:
    """Piano, bass, guitar, drums, strings and an uncovered FX track; notes start at 0.5 s."""
    import numpy as np

    rng = np.random.default_rng(seed)
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    spec = [(0, False, "Piano"), (33, False, "Bass"), (25, False, "Guitar"), (0, True, "Drums"),
            (48, False, "Strings"), (103, False, "FX")] + (extra or [])
    for prog, drum, name in spec:
        inst = pretty_midi.Instrument(prog, is_drum=drum, name=name)
        t = 0.5
        while t < seconds:
            pitch = int(rng.choice([36, 38, 42])) if drum else int(rng.integers(40, 76))
            inst.notes.append(pretty_midi.Note(int(rng.integers(60, 110)), pitch, t, t + 0.4))
            t += 0.25
        pm.instruments.append(inst)
    pm.write(str(path))
    return path


@pytest.fixture(scope="session")
def small_bank_path() -> Path:
    return DATA / "small_bank.yaml"


@pytest.fixture(scope="session")
def small_song_path(tmp_path_factory) -> Path:
    return make_song(tmp_path_factory.mktemp("song") / "small.mid")


@pytest.fixture(scope="session")
def rendered(tmp_path_factory, small_song_path, small_bank_path):
    """One real render of the small song: (TrackResult, song, bank)."""
    from slakh_gui.core import midi, patches, pipeline

    song = midi.load_song(small_song_path)
    bank = patches.load_bank(small_bank_path)
    assignment = patches.assign_patches(song, bank, seed=0)
    out = tmp_path_factory.mktemp("render") / "Track00001"
    result = pipeline.render_track(song, bank, assignment, out)
    return result, song, bank
