"""What the desktop app works on, without Qt: the document, sessions, the user's mixer, playback, spectrograms."""
