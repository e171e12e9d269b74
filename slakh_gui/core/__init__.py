"""The engine: MIDI, patch banks, FluidSynth rendering, loudness mixing, Slakh layout. No Qt here."""
