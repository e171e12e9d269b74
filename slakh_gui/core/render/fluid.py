"""The few libfluidsynth calls pyfluidsynth lacks, declared on pyfluidsynth's own library handle.

pyfluidsynth 1.4.0 renders only through ``fluid_synth_write_s16`` (dithered 16-bit stereo) and binds neither
``fluid_synth_process`` (float output, one stereo pair per audio group, per-group effects buffers) nor
``fluid_synth_write_float`` (float output at any offset and stride, effects mixed in) nor
``fluid_synth_set_channel_type`` (drums on any channel) nor ``fluid_player_add_mem`` (play a file from memory)
nor ``fluid_synth_add_sfont``/``remove_sfont``/``pin_preset``/``unpin_preset`` (one loaded SoundFont shared by
many synths) nor the SoundFont preset iteration (``fluid_sfont_iteration_start``/``_next``, ``fluid_preset_get_banknum``/``_num``;
pyfluidsynth declares ``fluid_synth_get_sfont_by_id`` and ``fluid_preset_get_name`` with types unfit for iterating,
so they are declared here too, on their own function objects).
Everything else (settings, SoundFont loading, program select, note/CC events) goes through pyfluidsynth.
"""

from __future__ import annotations

import ctypes
import logging
import threading
from ctypes import POINTER, c_char_p, c_float, c_int, c_size_t, c_void_p

from slakh_gui.core.errors import SlakhError


class FluidSynthMissing(SlakhError, RuntimeError):
    """libfluidsynth (Debian: ``libfluidsynth3``) or pyfluidsynth is not installed."""


def _load():
    try:
        import fluidsynth  # pyfluidsynth; raises ImportError without the C library
    except (ImportError, OSError) as exc:
        raise FluidSynthMissing(
            f"FluidSynth is not available ({exc}); install it with: apt-get install libfluidsynth3"
        ) from None
    return fluidsynth


_lock = threading.Lock()
_api = None
# Held around every call that loads or unloads SoundFont samples: sfload, lending a font to a synth (add_sfont,
# program select, pin) and giving it back (remove_sfont, deleting the synth). FluidSynth's dynamic sample loading is
# not safe across synths in two threads: without this lock, two render threads printed "Unable to unload sample"
# in about half the runs of a 130-stem render and now and then crashed (segfault in delete_fluid_settings while the
# other thread rendered). Synthesis itself (fluid_synth_process) runs without it, in parallel.
sample_lock = threading.RLock()


class _Api:
    def __init__(self) -> None:
        fs = _load()
        self.fs = fs
        lib = fs._fl
        self.process = lib.fluid_synth_process
        self.process.argtypes = [c_void_p, c_int, c_int, POINTER(POINTER(c_float)), c_int, POINTER(POINTER(c_float))]
        self.process.restype = c_int
        # float output written (not added) at an offset and stride: straight into an interleaved (n, 2) stem
        self.write_float = self._func(lib, "fluid_synth_write_float", c_int,
                                      [c_void_p, c_int, c_void_p, c_int, c_int, c_void_p, c_int, c_int])
        self.set_channel_type = lib.fluid_synth_set_channel_type
        self.set_channel_type.argtypes = [c_void_p, c_int, c_int]
        self.set_channel_type.restype = c_int
        self.player_add_mem = lib.fluid_player_add_mem
        self.player_add_mem.argtypes = [c_void_p, c_char_p, c_size_t]
        self.player_add_mem.restype = c_int
        # SoundFont preset iteration (slakh_gui.core.bank.soundfont.list_presets). Fresh function objects from the
        # library (not the attributes pyfluidsynth configured) so our argtypes never change pyfluidsynth's.
        self.get_sfont_by_id = self._func(lib, "fluid_synth_get_sfont_by_id", c_void_p, [c_void_p, c_int])
        self.sfont_iteration_start = self._func(lib, "fluid_sfont_iteration_start", None, [c_void_p])
        self.sfont_iteration_next = self._func(lib, "fluid_sfont_iteration_next", c_void_p, [c_void_p])
        self.preset_get_name = self._func(lib, "fluid_preset_get_name", c_char_p, [c_void_p])
        self.preset_get_banknum = self._func(lib, "fluid_preset_get_banknum", c_int, [c_void_p])
        self.preset_get_num = self._func(lib, "fluid_preset_get_num", c_int, [c_void_p])
        # One loaded SoundFont lent to many synths (slakh_gui.core.render.fontcache), its presets' samples pinned.
        self.add_sfont = self._func(lib, "fluid_synth_add_sfont", c_int, [c_void_p, c_void_p])
        self.remove_sfont = self._func(lib, "fluid_synth_remove_sfont", c_int, [c_void_p, c_void_p])
        self.pin_preset = self._func(lib, "fluid_synth_pin_preset", c_int, [c_void_p, c_int, c_int, c_int])
        self.unpin_preset = self._func(lib, "fluid_synth_unpin_preset", c_int, [c_void_p, c_int, c_int, c_int])
        set_log = lib.fluid_set_log_function
        set_log.argtypes = [c_int, c_void_p, c_void_p]
        for level in (2, 3, 4):  # FLUID_WARN, FLUID_INFO, FLUID_DBG: keep stderr quiet; errors still print
            set_log(level, None, None)
        _check_libsndfile()
        major, minor, micro = c_int(), c_int(), c_int()
        lib.fluid_version(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(micro))
        self.version = f"{major.value}.{minor.value}.{micro.value}"

    @staticmethod
    def _func(lib, name: str, restype, argtypes):
        func = type(lib.fluid_version)((name, lib))  # a new ctypes function object for the same symbol
        func.restype = restype
        func.argtypes = argtypes
        return func


def _check_libsndfile() -> None:
    """Warn when FluidSynth got the soundfile wheel's libsndfile instead of the system's (see slakh_gui/__init__.py):
    ``.sf3`` samples then decode differently from the ``fluidsynth`` CLI and from other runs of the app."""
    try:
        with open("/proc/self/maps") as maps:
            libs = {line.split()[-1] for line in maps if "libsndfile" in line}
    except OSError:  # not Linux: nothing to check
        return
    if libs and all("_soundfile_data" in lib for lib in libs):
        logging.getLogger(__name__).warning(
            "FluidSynth is using the soundfile package's libsndfile (soundfile was loaded before slakh_gui): "
            ".sf3 SoundFonts may render differently from the fluidsynth CLI")


def api() -> _Api:
    """The loaded library (loaded once, thread-safe)."""
    global _api
    with _lock:
        if _api is None:
            _api = _Api()
        return _api


def version() -> str:
    """libfluidsynth's version string."""
    return api().version


CHANNEL_TYPE_MELODIC = 0
CHANNEL_TYPE_DRUM = 1


def quiet_drum_channel(synth) -> None:
    """Type MIDI channel 10 (index 9) melodic on a synth that renders on channel 0 only (or never renders): loading a
    SoundFont resets every channel's preset, and a drum-typed channel 10 then asks for bank 128 preset 0, which kit
    SoundFonts with their kits in bank 0 (the AVL drumkits) lack — FluidSynth printed an error for nothing."""
    api().set_channel_type(synth, 9, CHANNEL_TYPE_MELODIC)
