"""The engine: MIDI, patch banks, FluidSynth rendering, loudness mixing, Slakh layout. No Qt here."""

import contextlib as _contextlib
import io as _io
import os as _os

if _os.environ.get("CI"):
    # pyfluidsynth prints "'fluidsynth' was found at ..." to stdout on import when $CI is set, whoever imports it
    # first (pretty_midi does): import it here, quietly, so --json output and tables stay clean.
    with _contextlib.redirect_stdout(_io.StringIO()), _contextlib.suppress(ImportError, OSError):
        import fluidsynth  # noqa: F401
