"""Render the stream reference songs and write ``reference.json``: sha256 of every decoded int16 stem and mix.

Run once with the in-memory pipeline (before block-wise rendering): the test holds the streaming pipeline to these
bytes. Usage: ``PYTHONPATH=. python tests/data/stream/make_reference.py``
"""

from __future__ import annotations

import hashlib
import json
import sys
import tempfile
from pathlib import Path

import soundfile as sf

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent.parent
sys.path.insert(0, str(REPO))

from slakh_gui.core.bank import patches  # noqa: E402
from slakh_gui.core.midi import midifile  # noqa: E402
from slakh_gui.core.midi.songgen import generate_song, write_song  # noqa: E402
from slakh_gui.core.render import pipeline  # noqa: E402

# SoundFonts are .sf2 only: FluidSynth decodes .sf3 (Ogg Vorbis) with whichever libsndfile/libvorbis the process
# loaded first (soundfile's wheel bundles its own), so .sf3 samples may differ in the last bit between processes.
# name -> (song seed, seconds, bank, assignment seed, format, FluidSynth effects, Flakh)
CASES = {
    "fx_flac": (11, 22.0, "tests/data/stream_bank.yaml", 0, "flac", False, False),
    "fluidfx_wav": (12, 17.0, "tests/data/stream_bank.yaml", 0, "wav", True, False),
    "flakh_wav": (14, 15.0, "patches/flakh.yaml", 1, "wav", False, True),
}
INSTRUMENTS = [0, 33, 27, 128, 48]


def song_path(name: str) -> Path:
    return HERE / f"{name}.mid"


def render_case(name: str, out: Path) -> dict[str, str]:
    """Render one case into ``out`` and return {file: sha256 of its decoded int16 samples}."""
    _, _, bank_path, seed, fmt, fx, flakh = CASES[name]
    song = midifile.load_song(song_path(name))
    bank = patches.load_bank(REPO / bank_path)
    assignment = patches.assign_patches(song, bank, seed=seed)
    opt = pipeline.RenderOptions(fmt=fmt, fluid_effects=fx, flakh=flakh)
    pipeline.render_track(song, bank, assignment, out, opt)
    return digests(out)


def digests(track: Path) -> dict[str, str]:
    files = sorted(track.glob("stems/*")) + sorted(track.glob("mix.*"))
    return {f.relative_to(track).as_posix(): hashlib.sha256(sf.read(f, dtype="int16")[0].tobytes()).hexdigest()
            for f in files}


def main() -> int:
    ref = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, (song_seed, seconds, *_rest) in CASES.items():
            if not song_path(name).exists():
                write_song(generate_song(song_seed, duration_s=seconds, tempo=120.0, instruments=INSTRUMENTS),
                           song_path(name))
            ref[name] = render_case(name, Path(tmp) / name / "Track00001")
            print(name, len(ref[name]), "files")
    (HERE / "reference.json").write_text(json.dumps(ref, indent=1, sort_keys=True) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
