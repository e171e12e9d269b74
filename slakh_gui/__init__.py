"""Slakh Studio: build and audition Slakh2100-style multitrack data from MIDI.

Render a MIDI file into per-instrument stems and a loudness-normalized mix, the way the
Slakh2100 dataset was made (Manilow et al., WASPAA 2019), with FluidSynth and SoundFonts:

>>> from slakh_gui.core.bank import patches
>>> from slakh_gui.core.midi import midifile
>>> from slakh_gui.core.render import pipeline
>>> song = midifile.load_song("resources/demo_song.mid")
>>> bank = patches.load_bank("patches/default.yaml")
>>> assignment = patches.assign_patches(song, bank, seed=0)
>>> result = pipeline.render_track(song, bank, assignment, "out/Track00001")
>>> result.metadata["overall_gain"]  # doctest: +SKIP

The same functions back the command line (``slakh-studio``) and the desktop app.
"""

__version__ = "0.1.0"


def _system_libsndfile_first() -> None:
    """Load the system's libsndfile before the soundfile wheel can load its own.

    FluidSynth decodes ``.sf3`` (Ogg Vorbis) samples through ``libsndfile.so.1``; the soundfile wheel bundles another
    libsndfile with the same SONAME, and whichever is loaded first serves FluidSynth too. The two decode Vorbis
    differently, so without this an ``.sf3`` patch's stem would depend on which module happened to be imported first.
    The system's copy is the one FluidSynth is built against (and the ``fluidsynth`` CLI uses).
    """
    import contextlib
    import ctypes
    import sys

    if "soundfile" in sys.modules:  # too late: soundfile came first (fluid.api() then warns in the log)
        return
    with contextlib.suppress(OSError):  # no system libsndfile: FluidSynth is missing too, and says so when needed
        ctypes.CDLL("libsndfile.so.1")


_system_libsndfile_first()
