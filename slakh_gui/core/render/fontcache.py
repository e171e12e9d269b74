"""SoundFonts loaded once per process and lent to every per-track synth, with their recent presets kept decoded.

A per-track synth that loads its SoundFont itself parses the file's headers (about 17 ms for FluidR3_GM) and, with
dynamic sample loading, reads or decodes the samples of its preset (up to seconds for an Ogg-compressed ``.sf3``),
once per stem of every song. Instead, a *holder* synth (never rendered) loads each SoundFont once; a render synth
borrows the loaded ``fluid_sfont_t`` (``fluid_synth_add_sfont``) and gives it back before it is deleted
(``fluid_synth_remove_sfont``, so deleting the render synth never frees it). The holder pins the last
``MAX_PINNED`` presets used (``fluid_synth_pin_preset``) so their samples stay in memory between stems and songs.
The samples are the same bytes a fresh load reads, so the audio is the same samples.

FluidSynth's SoundFont objects are not thread-safe (sample reference counts are plain integers), so a holder is
lent to one render at a time: :func:`borrow` takes a free holder or makes one, :func:`give_back` returns it; two
synths rendering at once use two holders.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path

from slakh_gui.core.constants import SAMPLE_RATE
from slakh_gui.core.render import fluid

MAX_PINNED = 32  # presets per SoundFont kept decoded by a holder (least recently used dropped first)
MAX_HOLDERS = 8  # idle holders kept (one per synth that rendered at once)


class Holder:
    """A never-rendered synth owning loaded SoundFonts; it pins the recent presets of each.

    FluidSynth gives a SoundFont the id of the synth it was last added to, so the holder keeps pointers, not ids,
    and pins or unpins presets through the synth the font is lent to (a pin belongs to the font's preset, whichever
    synth set it)."""

    def __init__(self) -> None:
        api = fluid.api()
        self._api = api
        with fluid.sample_lock:
            self.synth = api.fs.Synth(gain=0.2, samplerate=float(SAMPLE_RATE), channels=16,
                                      **{"synth.dynamic-sample-loading": 1})
            fluid.quiet_drum_channel(self.synth.synth)
        self._fonts: dict[tuple, int] = {}  # (path, mtime_ns, size) -> fluid_sfont_t pointer
        self._pinned: dict[tuple, OrderedDict[tuple[int, int], None]] = {}  # font key -> (bank, preset), oldest first

    @staticmethod
    def _key(path: Path) -> tuple:
        st = os.stat(path)
        return (str(Path(path).resolve()), st.st_mtime_ns, st.st_size)

    def font(self, path: Path) -> int | None:
        """The loaded SoundFont ``path`` (a ``fluid_sfont_t`` pointer), loaded on first use; None if FluidSynth
        cannot load it."""
        key = self._key(path)
        if key not in self._fonts:
            with fluid.sample_lock:
                sfid = self.synth.sfload(str(path))
            if sfid < 0:
                return None
            ptr = self._api.get_sfont_by_id(self.synth.synth, sfid)  # the holder's id, before any lending
            if not ptr:
                return None
            self._fonts[key] = ptr
        return self._fonts[key]

    def lent(self, path: Path, synth, sfid: int, bank: int, preset: int) -> None:
        """``path``'s font was just added to ``synth`` as ``sfid`` for ``bank``/``preset``: pin that preset's samples
        (and, the first time, bank 0 program 0, which FluidSynth selects on every channel when a synth gets the font:
        channel 10 is typed melodic on our synths, see :func:`fluid.quiet_drum_channel`); beyond ``MAX_PINNED``
        presets of the font, unpin the least recently used."""
        key = self._key(path)
        pinned = self._pinned.get(key)
        if pinned is None:
            pinned = self._pinned[key] = OrderedDict()
            self._api.pin_preset(synth, sfid, 0, 0)
        item = (bank, preset)
        if item == (0, 0):
            return
        if item in pinned:
            pinned.move_to_end(item)
            return
        if self._api.pin_preset(synth, sfid, bank, preset) != 0:
            return
        pinned[item] = None
        while len(pinned) > MAX_PINNED:
            (old_bank, old_preset), _ = pinned.popitem(last=False)
            self._api.unpin_preset(synth, sfid, old_bank, old_preset)

    def delete(self) -> None:
        with fluid.sample_lock:
            self.synth.delete()  # deletes the fonts: no synth has them any more


_lock = threading.Lock()
_idle: list[Holder] = []


def borrow() -> Holder:
    """A holder no other render is using."""
    with _lock:
        if _idle:
            return _idle.pop()
    return Holder()


def give_back(holder: Holder) -> None:
    with _lock:
        if len(_idle) < MAX_HOLDERS:
            _idle.append(holder)
            return
    holder.delete()


def clear() -> None:
    """Delete the idle holders (their SoundFonts and pinned samples)."""
    with _lock:
        idle = list(_idle)
        _idle.clear()
    for holder in idle:
        holder.delete()
