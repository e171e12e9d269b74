"""Render tracks to per-track float stems with FluidSynth: mono, or stereo ``(n, 2)``.

Each track is rendered alone by its own synth (so a stem is exactly that track, whatever else the song holds and
however many threads run), on a channel typed melodic or drum, as float samples (FluidSynth's 16-bit path adds
dither noise): ``fluid_synth_write_float`` writes them straight into the stem (stereo interleaved, no copy); renders
with FluidSynth's own reverb/chorus go through ``fluid_synth_process`` and its effects buffers. Mono folds left and
right by averaging them (``(L + R) * 0.5`` in float32); stereo keeps them as the two columns of an ``(n, 2)`` array,
so the mono fold-down of a stereo render is the mono render, bit for bit, when the same events are played. A job's
``pan`` (a CC10 value sent at time 0, see :mod:`slakh_gui.core.render.panning`) and ``drop_pan`` (the file's own
CC10 left out) only exist for stereo. A pool of ``threads`` workers takes the tracks longest-first;
``finish(key, audio)`` runs in the worker right after a track is rendered,
so per-stem work (effects, loudness) overlaps the rendering of the others.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from ctypes import POINTER, c_float
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi

from slakh_gui.core import diskaudio
from slakh_gui.core.constants import SAMPLE_RATE
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.core.render import fluid, fontcache

CHUNK = 8192  # frames rendered between progress reports and cancel checks
BLOCK = 64  # FluidSynth's internal block; render lengths are kept a multiple of it
POLYPHONY = 1024  # voices per synth: a dense track never loses notes to voice stealing
SKIPPED_CCS = {0, 32}  # bank select would override the patch's bank


class RenderError(SlakhError, RuntimeError):
    """FluidSynth could not render (unloadable SoundFont, missing preset...)."""


@dataclass
class StemJob:
    """One track to render with one SoundFont preset."""

    key: str
    instrument: pretty_midi.Instrument
    soundfont: Path
    bank: int
    preset: int
    drum: bool
    label: str = ""  # patch id, for messages
    pan: int | None = None  # a CC10 value sent before anything else (stereo auto-pan); None: none
    drop_pan: bool = False  # leave out the track's own CC10 events (stereo with pan "none")


def length_samples(seconds: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Samples for ``seconds``, rounded up to whole FluidSynth blocks."""
    return max(BLOCK, math.ceil(seconds * sample_rate / BLOCK) * BLOCK)


PAN_CC = 10


def _events(inst: pretty_midi.Instrument, sample_rate: int, pan: int | None = None, drop_pan: bool = False
            ) -> list[tuple]:
    """(sample, kind, a, b) sorted by time; at one sample: note-offs, then controls, then note-ons (file order kept).
    ``pan``: a CC10 of that value first, at sample 0; ``drop_pan``: the instrument's own CC10 left out."""
    times, prio, kind, a, b = [], [], [], [], []

    def add(t, p, k, x, y):
        times.append(t)
        prio.append(p)
        kind.append(k)
        a.append(x)
        b.append(y)

    if pan is not None:
        add(0, 1, 1, PAN_CC, int(pan))
    skipped = SKIPPED_CCS | {PAN_CC} if drop_pan else SKIPPED_CCS
    for cc in inst.control_changes:
        if cc.number not in skipped:
            add(round(cc.time * sample_rate), 1, 1, cc.number, cc.value)
    for pb in inst.pitch_bends:
        add(round(pb.time * sample_rate), 1, 2, max(0, min(16383, pb.pitch + 8192)), 0)
    for n in inst.notes:
        on = round(n.start * sample_rate)
        add(on, 2, 3, n.pitch, max(1, min(127, n.velocity)))
        add(max(on + 1, round(n.end * sample_rate)), 0, 0, n.pitch, 0)
    if not times:
        return []
    order = np.lexsort((np.asarray(prio), np.asarray(times, dtype=np.int64)))  # stable within equal keys
    cols = [np.asarray(x)[order].tolist() for x in (times, kind, a, b)]
    return list(zip(*cols, strict=True))


class _Synth:
    """A per-track synth whose SoundFont is borrowed from :mod:`slakh_gui.core.render.fontcache` (loaded once per
    process); :meth:`delete` gives the font back before deleting the synth."""

    def __init__(self, job: StemJob, sample_rate: int, fluid_effects: bool) -> None:
        api = fluid.api()
        settings = {
            "synth.reverb.active": int(fluid_effects),
            "synth.chorus.active": int(fluid_effects),
            "synth.polyphony": POLYPHONY,
            "synth.dynamic-sample-loading": 1,
        }
        self._api = api
        self._holder = fontcache.borrow()
        self._font = None
        with fluid.sample_lock:
            self.fs = api.fs.Synth(gain=0.2, samplerate=float(sample_rate), channels=16, **settings)
            self.synth = self.fs.synth
            fluid.quiet_drum_channel(self.synth)
            self._lend(job)

    def _lend(self, job: StemJob) -> None:
        api = self._api
        try:
            font = self._holder.font(job.soundfont)
            if font is None:
                raise RenderError(f"FluidSynth cannot load SoundFont {job.soundfont}")
            sfid = api.add_sfont(self.synth, font)
            if sfid < 0:
                raise RenderError(f"FluidSynth cannot use SoundFont {job.soundfont}")
            self._font = font
            self._holder.lent(job.soundfont, self.synth, sfid, job.bank, job.preset)
            ctype = fluid.CHANNEL_TYPE_DRUM if job.drum else fluid.CHANNEL_TYPE_MELODIC
            api.set_channel_type(self.synth, 0, ctype)
            if self.fs.program_select(0, sfid, job.bank, job.preset) != 0:
                raise RenderError(f"{job.soundfont.name} has no preset bank {job.bank} program {job.preset}"
                                  f"{f' (patch {job.label!r})' if job.label else ''}")
        except BaseException:
            self.delete()
            raise

    def delete(self) -> None:
        with fluid.sample_lock:
            if self._font is not None:
                self._api.remove_sfont(self.synth, self._font)  # unselects its presets; never frees the font
                self._font = None
            self.fs.delete()  # stops the voices (their sample references dropped), then frees the synth
        fontcache.give_back(self._holder)


def _new_synth(job: StemJob, sample_rate: int, fluid_effects: bool) -> _Synth:
    """A synth with ``job``'s preset on channel 0 (typed drum or melodic); ``.synth`` is the fluid_synth_t."""
    return _Synth(job, sample_rate, fluid_effects)


class _Written:
    """FluidSynth's dry output, written by ``fluid_synth_write_float`` straight into ``out``: stereo interleaved
    (left at even, right at odd offsets), mono the left channel into ``out`` and the right one into a chunk buffer,
    folded ``(L + R) / 2`` at the chunk's end. Through a chunk buffer when ``out`` cannot take raw writes (or is a
    :class:`diskaudio.FrameWriter`: the chunk is then written to its file)."""

    def __init__(self, api, synth, out: np.ndarray, stereo: bool) -> None:
        self.write, self.synth, self.out, self.stereo = api.write_float, synth, out, stereo
        self.direct = (isinstance(out, np.ndarray) and out.flags.c_contiguous and out.flags.writeable
                       and out.dtype == np.float32)
        self.dst = out if self.direct else np.empty(diskaudio.frame_shape(CHUNK, 2 if stereo else 1), np.float32)
        self.right = None if stereo else np.empty(CHUNK, dtype=np.float32)
        self.dptr, self.rptr = self.dst.ctypes.data, (0 if stereo else self.right.ctypes.data)

    def render(self, cur: int, target: int, chunk_start: int) -> None:
        at, d = (cur if self.direct else cur - chunk_start), self.dptr
        if self.stereo:
            rc = self.write(self.synth, target - cur, d, 2 * at, 2, d, 2 * at + 1, 2)
        else:
            rc = self.write(self.synth, target - cur, d, at, 1, self.rptr, cur - chunk_start, 1)
        if rc != 0:
            raise RenderError("fluid_synth_write_float failed")

    def land(self, chunk_start: int, end: int) -> None:
        seg = self.out[chunk_start:end] if self.direct else self.dst[: end - chunk_start]
        if not self.stereo:
            np.add(seg, self.right[: end - chunk_start], out=seg)
            seg *= np.float32(0.5)
        if not self.direct:
            diskaudio.store(self.out, chunk_start, seg)


class _Mixed:
    """Dry output with FluidSynth's effects: ``fluid_synth_process`` adds dry and ``fx_channels`` effects buffers
    (reverb L/R, chorus L/R) into zeroed chunk buffers (``write_float`` sums them in another order: such renders keep
    their samples), copied into ``out`` (or written to a :class:`diskaudio.FrameWriter`'s file) at the chunk's end."""

    def __init__(self, api, synth, out: np.ndarray, stereo: bool, fx_channels: int = 4) -> None:
        self.process, self.synth, self.out, self.stereo = api.process, synth, out, stereo
        self.fx_channels = fx_channels
        self.buf = np.zeros((2, CHUNK), dtype=np.float32)
        self.base = np.array([self.buf.ctypes.data, self.buf.ctypes.data + CHUNK * 4], dtype=np.uint64)
        self.ptrs, self.fx_ptrs = np.empty(2, dtype=np.uint64), np.empty(4, dtype=np.uint64)
        self.out_arg = self.ptrs.ctypes.data_as(POINTER(POINTER(c_float)))
        self.fx_arg = self.fx_ptrs.ctypes.data_as(POINTER(POINTER(c_float)))
        self.seg = None if isinstance(out, np.ndarray) else np.empty(diskaudio.frame_shape(CHUNK, 2 if stereo else 1),
                                                                     dtype=np.float32)

    def render(self, cur: int, target: int, chunk_start: int) -> None:
        np.add(self.base, np.uint64((cur - chunk_start) * 4), out=self.ptrs)
        self.fx_ptrs[:] = (self.ptrs[0], self.ptrs[1], self.ptrs[0], self.ptrs[1])  # reverb, chorus L/R into dry
        if self.process(self.synth, target - cur, self.fx_channels, self.fx_arg, 2, self.out_arg) != 0:
            raise RenderError("fluid_synth_process failed")

    def land(self, chunk_start: int, end: int) -> None:
        width, buf = end - chunk_start, self.buf
        dst = self.out[chunk_start:end] if self.seg is None else self.seg[:width]
        if self.stereo:  # column by column: ~5x faster than a transposed copy
            dst[:, 0] = buf[0, :width]
            dst[:, 1] = buf[1, :width]
        else:
            np.add(buf[0, :width], buf[1, :width], out=dst)
            dst *= np.float32(0.5)
        if self.seg is not None:
            diskaudio.store(self.out, chunk_start, dst)
        buf[:, :width] = 0.0


def render_one(job: StemJob, n_samples: int, *, sample_rate: int = SAMPLE_RATE, fluid_effects: bool = False,
               out: np.ndarray | diskaudio.FrameWriter | None = None, tick: Callable[[int], None] | None = None,
               stereo: bool = False) -> np.ndarray:
    """Render one track alone to float32, ``n_samples`` frames: mono ``(n,)``, or ``(n, 2)`` (left, right) with
    ``stereo``; ``tick(frames)`` may raise to stop. Into ``out`` if given; a :class:`diskaudio.FrameWriter` is
    filled and returned mapped (:meth:`~diskaudio.FrameWriter.open`)."""
    api = fluid.api()
    fs = api.fs
    out = np.zeros(diskaudio.frame_shape(n_samples, 2 if stereo else 1), dtype=np.float32) if out is None else out
    events = _events(job.instrument, sample_rate, job.pan, job.drop_pan) if stereo else _events(job.instrument,
                                                                                                 sample_rate)
    synth = _new_synth(job, sample_rate, fluid_effects)
    try:
        ptr = synth.synth  # the raw fluid_synth_t
        noteon, noteoff, cc, bend = fs.fluid_synth_noteon, fs.fluid_synth_noteoff, fs.fluid_synth_cc, fs.fluid_synth_pitch_bend
        sink = (_Mixed if fluid_effects else _Written)(api, ptr, out, stereo)
        n_ev, ev_i, cur, chunk_start = len(events), 0, 0, 0
        while cur < n_samples:
            while ev_i < n_ev and events[ev_i][0] <= cur:
                _, k, x, y = events[ev_i]
                if k == 3:
                    noteon(ptr, 0, x, y)
                elif k == 0:
                    noteoff(ptr, 0, x)
                elif k == 1:
                    cc(ptr, 0, x, y)
                else:
                    bend(ptr, 0, x)
                ev_i += 1
            nxt = events[ev_i][0] if ev_i < n_ev else n_samples
            target = min(nxt, n_samples, chunk_start + CHUNK)
            if target > cur:
                sink.render(cur, target, chunk_start)
                cur = target
            if cur - chunk_start == CHUNK or cur == n_samples:
                sink.land(chunk_start, cur)
                width = cur - chunk_start
                chunk_start = cur
                if tick is not None:
                    tick(width)
    finally:
        synth.delete()
        _close(out)
    return _opened(out)


def _close(out) -> None:
    if isinstance(out, diskaudio.FrameWriter):
        out.close()


def _opened(out: np.ndarray | diskaudio.FrameWriter) -> np.ndarray:
    """The rendered audio: ``out`` itself, or a FrameWriter's file mapped."""
    return out.open() if isinstance(out, diskaudio.FrameWriter) else out


def _cost(job: StemJob) -> float:
    """Rough render cost, to start the longest tracks first."""
    return sum(n.end - n.start + 0.5 for n in job.instrument.notes)


def render_stems(jobs: list[StemJob], n_samples: int, *, sample_rate: int = SAMPLE_RATE,
                 fluid_effects: bool = False, threads: int | None = None,
                 finish: Callable[[str, np.ndarray], None] | None = None,
                 progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                 outputs: Callable[[int], np.ndarray | diskaudio.FrameWriter] | None = None,
                 stereo: bool = False) -> np.ndarray | None:
    """Render every job to a float32 stem, all ``n_samples`` long: array (len(jobs), n_samples), or
    (len(jobs), n_samples, 2) with ``stereo``.

    ``threads`` synths run at once (default: up to 2); the output does not depend on it. ``finish(key, row)`` is
    called as soon as a stem is done (it may modify the row in place): in the worker thread, or with one thread in a
    side thread, so that it overlaps the next stem's synthesis; all have returned when this does. With ``outputs``, job
    ``i`` is rendered into ``outputs(i)`` (called in the worker: a :class:`diskaudio.FrameWriter`, whose file is
    mapped for ``finish``, or an array, e.g. a memory-mapped file whose pages are released behind the synth as it
    goes) and None is returned.
    """
    shape = (len(jobs), *diskaudio.frame_shape(n_samples, 2 if stereo else 1))
    out = np.zeros(shape, dtype=np.float32) if outputs is None else None
    if not jobs:
        return out
    threads = max(1, threads or min(2, os.cpu_count() or 1))
    total = n_samples * len(jobs)
    done = [0]
    lock = threading.Lock()
    failed = threading.Event()  # one stem failed: stop the others

    def tick(i: int, frames: int, stem_done: int) -> None:
        with lock:
            done[0] += frames
            report(progress, "render", done[0], total, "rendering stems", jobs[i].key, stem_done / n_samples)
        check(cancel)
        if failed.is_set():
            raise RenderError("stopped: another stem failed")

    def finish_one(i: int, row: np.ndarray) -> None:
        try:
            finish(jobs[i].key, row)
        except BaseException:
            failed.set()
            raise

    def run(i: int, side: ThreadPoolExecutor | None = None, later: list | None = None) -> None:
        try:
            check(cancel)
            row = out[i] if outputs is None else outputs(i)
            stem_done = [0, 0]  # frames rendered, frames released

            def stem_tick(frames: int) -> None:
                stem_done[0] += frames
                if stem_done[0] - stem_done[1] >= diskaudio.BLOCK:
                    diskaudio.release(row, stem_done[1], stem_done[0])
                    stem_done[1] = stem_done[0]
                tick(i, frames, stem_done[0])

            row = render_one(jobs[i], n_samples, sample_rate=sample_rate, fluid_effects=fluid_effects, out=row,
                             tick=stem_tick, stereo=stereo)
            diskaudio.release(row, stem_done[1])
        except BaseException:
            failed.set()
            raise
        if finish is not None:
            if side is not None:
                later.append(side.submit(finish_one, i, row))
            else:
                finish_one(i, row)

    order = sorted(range(len(jobs)), key=lambda i: -_cost(jobs[i]))
    later: list = []  # finishes run on the side thread
    with ThreadPoolExecutor(max_workers=threads) as pool, ThreadPoolExecutor(max_workers=1) as side:
        # with one synth, each stem's finish (effects, loudness) runs beside the next stem's synthesis
        futures = [pool.submit(run, i, side if threads == 1 else None, later) for i in order]
        errors = [f.exception() for f in futures]
    errors += [f.exception() for f in later]  # the side thread is done too (the with block waited for it)
    first = next((e for e in errors if e is not None and not (isinstance(e, RenderError) and "stopped:" in str(e))),
                 None)
    if first is not None:
        raise first
    return out


def render_whole(midi_bytes: bytes, soundfont: Path, n_samples: int, *, sample_rate: int = SAMPLE_RATE,
                 fluid_effects: bool = False, progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None, out: np.ndarray | diskaudio.FrameWriter | None = None,
                 stereo: bool = False) -> np.ndarray:
    """Render a whole MIDI file through FluidSynth's own player (Flakh's mix): float32, ``n_samples`` frames, mono
    or ``(n, 2)`` with ``stereo`` (into ``out`` if given: a memory-mapped one is released block by block, a
    :class:`diskaudio.FrameWriter` is returned mapped)."""
    api = fluid.api()
    fs = api.fs
    settings = {
        "synth.reverb.active": int(fluid_effects),
        "synth.chorus.active": int(fluid_effects),
        "synth.dynamic-sample-loading": 1,
        "player.timing-source": "sample",
    }
    with fluid.sample_lock:
        synth = fs.Synth(gain=0.2, samplerate=float(sample_rate), channels=16, **settings)
    player = None
    try:
        with fluid.sample_lock:
            loaded = synth.sfload(str(soundfont))
        if loaded < 0:
            raise RenderError(f"FluidSynth cannot load SoundFont {soundfont}")
        player = fs.new_fluid_player(synth.synth)
        if api.player_add_mem(player, midi_bytes, len(midi_bytes)) != 0:
            raise RenderError("FluidSynth's player rejected the MIDI file")
        fs.fluid_player_play(player)
        if out is None:
            out = np.zeros(diskaudio.frame_shape(n_samples, 2 if stereo else 1), dtype=np.float32)
        # the dry output straight into ``out``; with effects, reverb L/R added into the dry buffers (as Flakh always did)
        sink = _Mixed(api, synth.synth, out, stereo, fx_channels=2) if fluid_effects else _Written(
            api, synth.synth, out, stereo)
        for start in range(0, n_samples, CHUNK):
            width = min(CHUNK, n_samples - start)
            sink.render(start, start + width, start)
            sink.land(start, start + width)
            if (start + width) % diskaudio.BLOCK == 0 or start + width == n_samples:
                diskaudio.release(out, (start + width - 1) // diskaudio.BLOCK * diskaudio.BLOCK, start + width)
            report(progress, "render", start + width, n_samples, "rendering the unsplit file")
            check(cancel)
        return _opened(out)
    finally:
        _close(out)
        with fluid.sample_lock:
            if player is not None:
                fs.fluid_player_stop(player)
                fs.delete_fluid_player(player)
            synth.delete()
