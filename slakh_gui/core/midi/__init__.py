"""MIDI in: load a file and list its tracks, General MIDI, per-track MIDI files, generated songs."""
