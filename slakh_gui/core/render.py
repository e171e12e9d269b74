"""Render tracks to per-track mono float stems with FluidSynth, in one pass per synth.

One synth renders many tracks at once: every track gets its own MIDI channel and its own audio group (a stereo
output of ``fluid_synth_process``), optionally its own reverb/chorus group, so a song costs about one render of the
mix rather than one per track. Output is float (FluidSynth's 16-bit path adds dither noise), folded to mono by
averaging left and right. Tracks are split over ``threads`` synths run side by side; each track's audio does not
depend on that split.
"""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from ctypes import POINTER, c_float
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pretty_midi

from slakh_gui.core import fluid
from slakh_gui.core.jobs import Cancelled, CancelToken, ProgressFn, check, report

SAMPLE_RATE = 44100
MAX_GROUPS = 128  # FluidSynth's limit on synth.audio-groups / synth.audio-channels
RENDER_GROUPS = 2  # tracks are split over this many synths, so output never depends on the thread count
CHUNK = 8192  # frames rendered between progress reports and cancel checks
BLOCK = 64  # FluidSynth's internal block; render lengths are kept a multiple of it
SKIPPED_CCS = {0, 32}  # bank select would override the patch's bank


class RenderError(RuntimeError):
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


def length_samples(seconds: float, sample_rate: int = SAMPLE_RATE) -> int:
    """Samples for ``seconds``, rounded up to whole FluidSynth blocks."""
    return max(BLOCK, math.ceil(seconds * sample_rate / BLOCK) * BLOCK)


def _events(jobs: list[StemJob], sample_rate: int) -> list[tuple]:
    """All events of the jobs (channel = job index), sorted by time; offs before controls before ons."""
    times, prio, kind, chan, a, b = [], [], [], [], [], []

    def add(t, p, k, c, x, y):
        times.append(t)
        prio.append(p)
        kind.append(k)
        chan.append(c)
        a.append(x)
        b.append(y)

    for ch, job in enumerate(jobs):
        inst = job.instrument
        for cc in inst.control_changes:
            if cc.number not in SKIPPED_CCS:
                add(round(cc.time * sample_rate), 1, 1, ch, cc.number, cc.value)
        for pb in inst.pitch_bends:
            add(round(pb.time * sample_rate), 1, 2, ch, max(0, min(16383, pb.pitch + 8192)), 0)
        for n in inst.notes:
            on = round(n.start * sample_rate)
            add(on, 2, 3, ch, n.pitch, max(1, min(127, n.velocity)))
            add(max(on + 1, round(n.end * sample_rate)), 0, 0, ch, n.pitch, 0)
    if not times:
        return []
    t = np.asarray(times, dtype=np.int64)
    order = np.lexsort((np.asarray(prio), t))  # stable: same time and priority keep file order
    cols = [np.asarray(x)[order].tolist() for x in (times, kind, chan, a, b)]
    return list(zip(*cols, strict=True))


class _Synth:
    """A FluidSynth instance with one audio group (and optionally one effects group) per track."""

    def __init__(self, jobs: list[StemJob], sample_rate: int, fluid_effects: bool):
        api = fluid.api()
        n = len(jobs)
        settings = {
            "synth.audio-groups": n,
            "synth.audio-channels": n,
            "synth.effects-groups": n if fluid_effects else 1,
            "synth.reverb.active": int(fluid_effects),
            "synth.chorus.active": int(fluid_effects),
            "synth.polyphony": 4096,
            "synth.dynamic-sample-loading": 1,
            "synth.cpu-cores": 1,
        }
        self.api, self.n, self.fx = api, n, fluid_effects
        self.synth = api.fs.Synth(gain=0.2, samplerate=float(sample_rate), channels=16 * math.ceil(n / 16), **settings)
        self.ptr = self.synth.synth
        try:
            sfids: dict[Path, int] = {}
            for ch, job in enumerate(jobs):
                if job.soundfont not in sfids:
                    sfid = self.synth.sfload(str(job.soundfont))
                    if sfid < 0:
                        raise RenderError(f"FluidSynth cannot load SoundFont {job.soundfont}")
                    sfids[job.soundfont] = sfid
                ctype = fluid.CHANNEL_TYPE_DRUM if job.drum else fluid.CHANNEL_TYPE_MELODIC
                api.set_channel_type(self.ptr, ch, ctype)
                if self.synth.program_select(ch, sfids[job.soundfont], job.bank, job.preset) != 0:
                    raise RenderError(
                        f"{job.soundfont.name} has no preset bank {job.bank} program {job.preset}"
                        f"{f' (patch {job.label!r})' if job.label else ''}"
                    )
        except BaseException:
            self.synth.delete()
            raise

    def close(self) -> None:
        self.synth.delete()


def _render_group(jobs: list[StemJob], out: np.ndarray, rows: list[int], n_samples: int, sample_rate: int,
                  fluid_effects: bool, tick) -> None:
    """Render ``jobs`` into ``out[rows]`` (mono float32); ``tick(frames)`` reports and may raise Cancelled."""
    events = _events(jobs, sample_rate)
    synth = _Synth(jobs, sample_rate, fluid_effects)
    try:
        fs, ptr, n = synth.api.fs, synth.ptr, synth.n
        noteon, noteoff = fs.fluid_synth_noteon, fs.fluid_synth_noteoff
        cc, bend = fs.fluid_synth_cc, fs.fluid_synth_pitch_bend
        process = synth.api.process
        buf = np.zeros((2 * n, CHUNK), dtype=np.float32)
        row_bytes = CHUNK * 4
        bases = buf.ctypes.data + np.arange(2 * n, dtype=np.uint64) * np.uint64(row_bytes)
        out_ptrs = np.empty(2 * n, dtype=np.uint64)
        out_arg = out_ptrs.ctypes.data_as(POINTER(POINTER(c_float)))
        if fluid_effects:  # per effects group: reverb L, reverb R, chorus L, chorus R -> that group's dry L/R
            fx_index = np.array([[2 * g, 2 * g + 1, 2 * g, 2 * g + 1] for g in range(n)], dtype=np.int64).ravel()
            fx_ptrs = np.empty(4 * n, dtype=np.uint64)
            fx_arg, nfx = fx_ptrs.ctypes.data_as(POINTER(POINTER(c_float))), 4 * n
        else:
            fx_index, fx_ptrs, fx_arg, nfx = None, None, None, 0
        rows_arr = np.asarray(rows)
        n_ev, ev_i, cur, chunk_start = len(events), 0, 0, 0
        while cur < n_samples:
            while ev_i < n_ev and events[ev_i][0] <= cur:
                _, k, ch, x, y = events[ev_i]
                if k == 3:
                    noteon(ptr, ch, x, y)
                elif k == 0:
                    noteoff(ptr, ch, x)
                elif k == 1:
                    cc(ptr, ch, x, y)
                else:
                    bend(ptr, ch, x)
                ev_i += 1
            nxt = events[ev_i][0] if ev_i < n_ev else n_samples
            target = min(nxt, n_samples, chunk_start + CHUNK)
            frames = target - cur
            if frames > 0:
                offset = np.uint64((cur - chunk_start) * 4)
                np.add(bases, offset, out=out_ptrs)
                if nfx:
                    np.take(out_ptrs, fx_index, out=fx_ptrs)
                if process(ptr, frames, nfx, fx_arg, 2 * n, out_arg) != 0:
                    raise RenderError("fluid_synth_process failed")
                cur = target
            if cur - chunk_start == CHUNK or cur == n_samples:
                width = cur - chunk_start
                block = buf[:, :width]
                out[rows_arr, chunk_start:cur] = (block[0::2] + block[1::2]) * np.float32(0.5)
                block[:] = 0.0
                tick(width * n)
                chunk_start = cur
    finally:
        synth.close()


def _partition(jobs: list[StemJob], groups: int) -> list[list[int]]:
    """Split job indices into ``groups`` lists of similar note load, each at most MAX_GROUPS long."""
    groups = max(groups, math.ceil(len(jobs) / MAX_GROUPS))
    load = [0] * groups
    parts: list[list[int]] = [[] for _ in range(groups)]
    for i in sorted(range(len(jobs)), key=lambda j: -len(jobs[j].instrument.notes)):
        g = min((g for g in range(groups) if len(parts[g]) < MAX_GROUPS), key=lambda g: load[g])
        parts[g].append(i)
        load[g] += len(jobs[i].instrument.notes) + 1
    return [sorted(p) for p in parts if p]


def render_stems(jobs: list[StemJob], n_samples: int, *, sample_rate: int = SAMPLE_RATE,
                 fluid_effects: bool = False, threads: int | None = None,
                 progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> np.ndarray:
    """Render every job to a mono float32 stem, all ``n_samples`` long: array (len(jobs), n_samples).

    Jobs are split into :data:`RENDER_GROUPS` synths (more past 128 tracks); ``threads`` of them run at once.
    """
    out = np.zeros((len(jobs), n_samples), dtype=np.float32)
    if not jobs:
        return out
    threads = threads or min(RENDER_GROUPS, os.cpu_count() or 1)
    parts = _partition(jobs, min(RENDER_GROUPS, len(jobs)))
    total = n_samples * len(jobs)
    done = [0]
    lock = threading.Lock()
    failed = threading.Event()  # one group failed: stop the others

    def tick(frames: int) -> None:
        with lock:
            done[0] += frames
            report(progress, "render", done[0], total, "rendering stems")
        check(cancel)
        if failed.is_set():
            raise Cancelled("another render group failed")

    def run(rows: list[int]) -> None:
        try:
            _render_group([jobs[i] for i in rows], out, rows, n_samples, sample_rate, fluid_effects, tick)
        except BaseException:
            failed.set()
            raise

    if threads == 1 or len(parts) == 1:
        for p in parts:
            run(p)
    else:
        with ThreadPoolExecutor(max_workers=min(threads, len(parts))) as pool:
            futures = [pool.submit(run, p) for p in parts]
            errors = [f.exception() for f in futures]
        real = [e for e in errors if e is not None and not isinstance(e, Cancelled)]
        if real:
            raise real[0]
        if any(errors):
            raise Cancelled("cancelled")
    return out


def render_whole(midi_bytes: bytes, soundfont: Path, n_samples: int, *, sample_rate: int = SAMPLE_RATE,
                 fluid_effects: bool = False, progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None) -> np.ndarray:
    """Render a whole MIDI file through FluidSynth's own player (Flakh's mix): mono float32, ``n_samples`` long."""
    api = fluid.api()
    fs = api.fs
    settings = {
        "synth.reverb.active": int(fluid_effects),
        "synth.chorus.active": int(fluid_effects),
        "synth.dynamic-sample-loading": 1,
        "player.timing-source": "sample",
    }
    synth = fs.Synth(gain=0.2, samplerate=float(sample_rate), channels=16, **settings)
    player = None
    try:
        if synth.sfload(str(soundfont)) < 0:
            raise RenderError(f"FluidSynth cannot load SoundFont {soundfont}")
        player = fs.new_fluid_player(synth.synth)
        if api.player_add_mem(player, midi_bytes, len(midi_bytes)) != 0:
            raise RenderError("FluidSynth's player rejected the MIDI file")
        fs.fluid_player_play(player)
        out = np.zeros(n_samples, dtype=np.float32)
        buf = np.zeros((2, CHUNK), dtype=np.float32)
        ptrs = np.array([buf.ctypes.data, buf.ctypes.data + CHUNK * 4], dtype=np.uint64)
        arg = ptrs.ctypes.data_as(POINTER(POINTER(c_float)))
        nfx, fx_arg = (2, arg) if fluid_effects else (0, None)
        for start in range(0, n_samples, CHUNK):
            width = min(CHUNK, n_samples - start)
            buf[:] = 0.0
            if api.process(synth.synth, width, nfx, fx_arg, 2, arg) != 0:
                raise RenderError("fluid_synth_process failed")
            out[start : start + width] = (buf[0, :width] + buf[1, :width]) * np.float32(0.5)
            report(progress, "render", start + width, n_samples, "rendering the unsplit file")
            check(cancel)
        return out
    finally:
        if player is not None:
            fs.fluid_player_stop(player)
            fs.delete_fluid_player(player)
        synth.delete()
