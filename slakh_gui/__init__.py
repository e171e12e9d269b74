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
