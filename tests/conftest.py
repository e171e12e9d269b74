"""Shared fixtures: a small generated song, a small real bank, one real render (FluidSynth) per session."""

from __future__ import annotations

import os
from pathlib import Path

import pretty_midi
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
_log_dir = __import__("tempfile").mkdtemp(prefix="slakh-test-logs-")
os.environ["SLAKH_STUDIO_LOG_DIR"] = _log_dir  # tests never write the user's log file
os.environ["SLAKH_STUDIO_CACHE_DIR"] = __import__("tempfile").mkdtemp(prefix="slakh-test-cache-")  # nor its cache

REPO = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"
SLAKH_SAMPLES = REPO.parent / "shared" / "data" / "slakh-samples"
# Tests that read the real Slakh2100 excerpts (../shared beside the checkout, as CI has it) skip without them.
needs_samples = pytest.mark.skipif(not SLAKH_SAMPLES.is_dir(), reason=f"no Slakh samples at {SLAKH_SAMPLES}")


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


def render_small(out_parent: Path, song_path: Path, bank_path: Path, options=None):
    """A real render of ``song_path`` with ``bank_path`` (seed 0) into ``out_parent/Track00001``:
    (TrackResult, song, bank)."""
    from slakh_gui.core.bank import patches
    from slakh_gui.core.midi import midifile
    from slakh_gui.core.render import pipeline

    song = midifile.load_song(song_path)
    bank = patches.load_bank(bank_path)
    assignment = patches.assign_patches(song, bank, seed=0)
    result = pipeline.render_track(song, bank, assignment, out_parent / "Track00001", options)
    return result, song, bank


@pytest.fixture(scope="session")
def rendered(tmp_path_factory, small_song_path, small_bank_path):
    """One real render of the small song: (TrackResult, song, bank)."""
    return render_small(tmp_path_factory.mktemp("render"), small_song_path, small_bank_path)


# --- Audio output for the playback tests: a real PortAudio stream on ALSA's null device --------------------------
# PortAudio lists its devices once, when sounddevice is first imported, so ALSA must be pointed at this file before
# any test module imports sounddevice: it is done here, at conftest import time, for the whole session (it also keeps
# the suite silent on machines that do have a sound card). What the file needs, found on Debian 12 (alsa-lib 1.2.8,
# PortAudio 19.6): ALSA_CONFIG_PATH *replaces* /usr/share/alsa/alsa.conf, and this one line is enough; no ctl entry
# and nothing from alsa.conf is needed (PortAudio then lists exactly one device, "default", and the null plugin
# swallows audio as fast as the callback makes it: count frames, never seconds). Beware: a config whose pcm entries
# are all of types PortAudio skips (an empty file, or only `pcm.null { type null }`) makes PortAudio abort the whole
# process in Pa_Initialize (assertion `devIdx < numDeviceNames` in pa_linux_alsa.c), hence the name "default".
import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402

ALSA_NULL_CONFIG = "pcm.!default { type null }\n"
_alsa_dir = Path(tempfile.mkdtemp(prefix="slakh-test-alsa-"))
ALSA_NULL_CONFIG_PATH = _alsa_dir / "asound-null.conf"
ALSA_NULL_CONFIG_PATH.write_text(ALSA_NULL_CONFIG)
os.environ["ALSA_CONFIG_PATH"] = str(ALSA_NULL_CONFIG_PATH)
atexit.register(shutil.rmtree, _alsa_dir, True)


@pytest.fixture(scope="session")
def null_audio_device() -> Path:
    """The ALSA config in effect (PortAudio's only device: ALSA "default", the null plugin)."""
    assert os.environ.get("ALSA_CONFIG_PATH") == str(ALSA_NULL_CONFIG_PATH)
    assert ALSA_NULL_CONFIG_PATH.read_text() == ALSA_NULL_CONFIG
    return ALSA_NULL_CONFIG_PATH
