"""One MIDI file -> one Slakh2100 track: patches -> per-track stems -> BS.1770-4 mix -> ``TrackNNNNN/``.

:func:`render_track` is what the CLI, the desktop app and the dataset runner call.
"""

from __future__ import annotations

import os
import shutil
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from slakh_gui import __version__, paths
from slakh_gui.core import diskaudio
from slakh_gui.core.audio_io import FORMATS, atomic_write_bytes, atomic_write_text
from slakh_gui.core.bank import effects, kits
from slakh_gui.core.bank.patches import Assignment, Bank, find_soundfont
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.core.midi.midi_export import instrument_midi_bytes
from slakh_gui.core.midi.midifile import Song, sanitize_smf
from slakh_gui.core.render import automix, layout, loudness, panning, synth

DEFAULT_TAIL = 5.0  # seconds rendered after the song's end (Slakh: end time + 5 s)
MAX_DURATION = 3600.0  # seconds; longer songs are refused unless the limit is raised
MAX_MEMORY = 8 * 2**30  # kept for old sessions and scripts: renders stream through disk, memory no longer grows
FLAKH_SOUNDFONT = "TimGM6mb.sf2"


class RenderLimitError(SlakhError, ValueError):
    """The song is beyond the configured duration or memory limits."""


class NothingToRender(SlakhError, ValueError):
    """No track of the song has a patch, or every stem came out silent."""


@dataclass
class RenderOptions:
    fmt: str = "flac"
    tail: float = DEFAULT_TAIL
    fluid_effects: bool = False  # FluidSynth's own reverb/chorus, one effects group per track
    flakh: bool = False  # mix = the unsplit file rendered whole (Flakh2100), peak-normalized
    threads: int = 2
    overwrite: bool = False
    sample_rate: int = synth.SAMPLE_RATE
    max_duration: float = MAX_DURATION
    max_memory: int = MAX_MEMORY  # ignored: renders stream through files (see render_track)
    corpus_root: str | None = None  # the MIDI collection's folder: lmd_midi_dir is relative to it (else file name)
    source_name: str | None = None  # lmd_midi_dir as given (a re-render of a dataset track keeps its own)
    stereo: bool = False  # keep FluidSynth's left/right: (n, 2) stems and mix, stereo loudness (see panning)
    pan: str = "auto"  # stereo only: auto | midi | none (slakh_gui.core.render.panning)

    @property
    def channels(self) -> int:
        return 2 if self.stereo else 1


@dataclass
class TrackResult:
    path: Path
    metadata: dict
    rendered: list[str]
    skipped: dict[str, str] = field(default_factory=dict)  # stem key -> reason it has no audio
    duration: float = 0.0
    # float32 as written, read-only memory-mapped (with keep_audio): (n,) for a mono render, (n, 2) for a stereo one
    stems: dict[str, np.ndarray] | None = None
    mix: np.ndarray | None = None
    peaks: dict[str, float] = field(default_factory=dict)  # stem key -> sample peak of ``stems`` (with keep_audio)
    reused: list[str] = field(default_factory=list)  # stems taken from the cache, not rendered again
    channels: int = 1  # of the files written (2: stereo render)

    @property
    def kit_fallbacks(self) -> dict[str, str]:
        """Stem key -> why its drum kit was replaced by the standard kit (the SoundFont lacks the track's kit)."""
        return dict(self.metadata.get("slakh_studio", {}).get("kit_fallbacks", {}))


class StemCache:
    """Rendered stems (after their effect chain, before loudness normalization) kept between renders of one song,
    so that changing one track's patch re-renders only that track. Keyed by everything the audio depends on.

    Stems are float32 ``.npy`` files in ``spill_dir`` (default: a fresh :func:`paths.render_cache_dir`, made on
    first use), held memory-mapped read-only: the cache costs disk and page cache, never a copy of a stem in the
    process's own memory. :meth:`clear` drops everything (and the files)."""

    def __init__(self, spill_dir: str | Path | None = None) -> None:
        self._items: dict[tuple, tuple[np.ndarray, float | None]] = {}
        self._spill_dir = Path(spill_dir) if spill_dir is not None else None
        self._files: list[Path] = []
        self._lock = threading.Lock()

    @property
    def spill_dir(self) -> Path:
        with self._lock:
            if self._spill_dir is None:
                from slakh_gui import paths

                self._spill_dir = paths.render_cache_dir()
            return self._spill_dir

    @staticmethod
    def key(song: Song, job: synth.StemJob, n_samples: int, opt: RenderOptions, chain) -> tuple:
        return (song.md5, song.range, job.key, job.label, str(job.soundfont), job.bank, job.preset, job.drum,
                repr(chain), n_samples, opt.fluid_effects, opt.sample_rate, opt.channels, job.pan, job.drop_pan)

    def get(self, key: tuple):
        return self._items.get(key)

    def put(self, key: tuple, audio: np.ndarray, lufs: float | None, path: Path | None = None) -> None:
        """Keep ``audio``: the ``.npy`` file at ``path`` (already written, in ``spill_dir``) is taken over as it is;
        anything else is copied to a new file there, block by block."""
        folder = self.spill_dir
        folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            own = folder / f"stem-{len(self._files):05d}.npy"
            self._files.append(own)
        if path is not None and Path(path).parent.parent == folder:
            os.link(path, own)  # same file system: a second name for the finished stem, no copy
            arr = diskaudio.open_read(own)
        else:
            arr = diskaudio.spill(audio, own)
            self._files.remove(own)
        with self._lock:
            self._items[key] = (arr, lufs)

    def clear(self) -> None:
        self._items.clear()
        for path in self._files:
            path.unlink(missing_ok=True)
        self._files.clear()

    def __len__(self) -> int:
        return len(self._items)


def render_track(song: Song, bank: Bank, assignment: Assignment, out_dir: str | Path,
                 options: RenderOptions | None = None, *, progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None, cache: StemCache | None = None,
                 keep_audio: bool = False) -> TrackResult:
    """Render ``song`` with ``assignment``'s patches into the Slakh track folder ``out_dir`` (all or nothing).

    Stems are rendered, run through their effects, measured, mixed and written block by block through float32
    files in a private work folder (the cache's, or a fresh :func:`paths.render_cache_dir`), so memory does not
    grow with the song's length or its number of tracks. With a ``cache``, stems rendered before with the same
    patch and settings are reused; ``keep_audio`` returns the written stems and mix as read-only memory-mapped
    float32 arrays too (for the app's mixer and player; their files are already unlinked; ``(n, 2)`` for a stereo
    render, with ``peaks`` over both channels).

    With ``options.stereo`` every stem, the mix and the float files are ``(n, 2)``; each track is panned as
    ``options.pan`` says (:mod:`slakh_gui.core.render.panning`) and the Slakh rule runs on the stereo arrays."""
    opt = options or RenderOptions()
    if opt.fmt not in FORMATS:
        raise ValueError(f"unknown audio format {opt.fmt!r} (use flac or wav)")
    if opt.pan not in panning.MODES:
        raise ValueError(f"unknown pan mode {opt.pan!r} (use {', '.join(panning.MODES)})")
    out_dir = Path(out_dir)
    sr = opt.sample_rate
    end = float(song.pm.get_end_time())
    if end > opt.max_duration:
        raise RenderLimitError(
            f"{song.path.name} lasts {_duration(end)}, over the {_duration(opt.max_duration)} limit (--max-duration)")
    n_samples = synth.length_samples(end + opt.tail, sr)
    jobs = _stem_jobs(song, bank, assignment)
    pans = _pan_jobs(song, jobs, assignment.seed, opt.pan) if opt.stereo else {}
    if not jobs:
        programs = sorted({t.program for t in song.tracks})
        raise NothingToRender(f"{song.path.name}: bank {bank.name!r} has no patch for any of its tracks "
                              f"(programs {', '.join(map(str, programs))})")
    if opt.flakh:
        if song.range:
            raise ValueError("a range cannot be rendered in Flakh mode (its mix is the whole file rendered unsplit)")
        flakh_sf = find_soundfont(FLAKH_SOUNDFONT, bank.soundfont_dirs)
    if out_dir.exists() and not opt.overwrite:
        raise FileExistsError(f"{out_dir} already exists (use --overwrite to replace it)")
    layout.check_writable(out_dir.parent)
    check(cancel)
    work = diskaudio.work_dir(cache.spill_dir) if cache is not None else paths.render_cache_dir()
    try:
        _check_disk(song, work, 4 * n_samples * (len(jobs) * (opt.channels + (1 if keep_audio else 0)) + 2 * opt.channels))
        return _render(song, bank, assignment, out_dir, opt, jobs, n_samples, work, progress, cancel, cache,
                       keep_audio, flakh_sf if opt.flakh else None, pans)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _check_disk(song: Song, folder: Path, need: int) -> None:
    """Refuse early when the work folder's disk cannot hold the float files of the render."""
    try:
        st = os.statvfs(folder)
    except OSError:
        return
    free = st.f_bavail * st.f_frsize
    if need > free:
        raise RenderLimitError(f"{song.path.name}: rendering needs about {need / 2**30:.1f} GiB of scratch space in "
                               f"{folder.parent}, only {free / 2**30:.1f} GiB free (set SLAKH_STUDIO_CACHE_DIR)")


def _render(song: Song, bank: Bank, assignment: Assignment, out_dir: Path, opt: RenderOptions,
            jobs: list[synth.StemJob], n_samples: int, work: Path, progress: ProgressFn | None,
            cancel: CancelToken | None, cache: StemCache | None, keep_audio: bool,
            flakh_sf: Path | None, pans: dict[str, panning.Pan]) -> TrackResult:
    """render_track's work once the plan is checked: every float stem lives in a file in ``work``."""
    sr = opt.sample_rate
    ch = opt.channels
    if any(bank.patches[j.label].effects for j in jobs):
        threading.Thread(target=_preload, daemon=True).start()

    chains = {job.key: bank.patches[job.label].effect_chain for job in jobs}
    measured: dict[str, float] = {}
    cache_keys = {job.key: StemCache.key(song, job, n_samples, opt, chains[job.key]) for job in jobs} if cache is not None else {}
    cached = {k: cache.get(ck) for k, ck in cache_keys.items()} if cache is not None else {}
    cached = {k: v for k, v in cached.items() if v is not None}
    todo = [job for job in jobs if job.key not in cached]
    rows: dict[str, np.ndarray] = {}

    def output(i: int) -> diskaudio.FrameWriter:  # runs in the render worker: the stem's file
        return diskaudio.FrameWriter(work / f"{todo[i].key}.npy", n_samples, ch)

    def finish(key: str, row: np.ndarray) -> None:  # runs in the render worker, overlapping other stems
        rows[key] = row  # the stem's file, mapped
        if chains[key]:
            effects.apply_chain_in_place(row, chains[key], sr)
        if diskaudio.any_nonzero(row):
            measured[key] = loudness.integrated_loudness(row, sr)
        if cache is not None:
            cache.put(cache_keys[key], row, measured.get(key), work / f"{key}.npy")

    # Stem MIDI files are pure Python work: build them while the synths (which release the GIL) render.
    with ThreadPoolExecutor(max_workers=1) as side:
        midi_files = side.submit(lambda: {j.key: instrument_midi_bytes(song, song.track(j.key)) for j in jobs})
        synth.render_stems(todo, n_samples, sample_rate=sr, fluid_effects=opt.fluid_effects, threads=opt.threads,
                            finish=finish, progress=progress, cancel=cancel, outputs=output, stereo=opt.stereo)
        stem_midi = midi_files.result()
    for key, (audio_c, lufs) in cached.items():
        rows[key] = audio_c  # read-only memory-mapped: stream_mix only reads it
        if lufs is not None:
            measured[key] = lufs
    stems = {job.key: rows[job.key] for job in jobs}
    check(cancel)
    report(progress, "mix", 0, 1, "mixing")
    mixed = automix.stream_mix(stems, sr, diskaudio.FrameWriter(work / "mix.npy", n_samples, ch), threads=opt.threads,
                              loudness=measured)
    if not mixed.stems:
        raise NothingToRender(f"{song.path.name}: every stem came out silent or too quiet to measure")
    flakh_gain = None
    mix, mix_scale = mixed.mix, _scaler(mixed.overall_gain)
    if flakh_sf is not None:
        whole = synth.render_whole(sanitize_smf(song.data), flakh_sf, n_samples, sample_rate=sr,
                                    fluid_effects=opt.fluid_effects, progress=progress, cancel=cancel,
                                    out=diskaudio.FrameWriter(work / "flakh.npy", n_samples, ch), stereo=opt.stereo)
        flakh_gain = automix.peak_normalize_gain(diskaudio.peak(whole))
        mix, mix_scale = whole, _peak_scaler(flakh_gain)
    check(cancel)
    metadata = build_metadata(song, bank, assignment, mixed, opt, flakh_gain, pans)

    report(progress, "write", 0, 1, "writing files")
    ext = opt.fmt
    keep = {}
    with layout.staged_dir(out_dir, overwrite=opt.overwrite) as stage:
        (stage / "stems").mkdir()
        (stage / "MIDI").mkdir()
        writes = [("mix", stage / f"mix.{ext}", mix, mix_scale)] + [
            (k, stage / "stems" / f"{k}.{ext}", a, _scaler(mixed.gains[k])) for k, a in mixed.stems.items()]
        if keep_audio:
            keep = {w[0]: diskaudio.FrameWriter(work / f"keep-{w[0]}.npy", n_samples, ch) for w in writes}

        def write(w) -> float:
            check(cancel)
            return diskaudio.write_pcm(w[1], w[2], w[3], sr, ext, keep.get(w[0]), cancel)

        with ThreadPoolExecutor(max_workers=_writers(len(writes), opt.threads)) as pool:
            peaks = dict(zip([w[0] for w in writes], pool.map(write, writes), strict=True))
        check(cancel)
        for key, data in stem_midi.items():
            atomic_write_bytes(stage / "MIDI" / f"{key}.mid", data)
        atomic_write_bytes(stage / "all_src.mid", song.data)
        atomic_write_text(stage / "metadata.yaml", layout.dump_metadata(metadata))
        check(cancel)
    report(progress, "write", 1, 1, "done")
    skipped = {k: t.reason for k, t in assignment.tracks.items() if not t.patch_id}
    skipped.update(mixed.skipped)
    result = TrackResult(out_dir, metadata, list(mixed.stems), skipped, n_samples / sr, reused=sorted(cached),
                         channels=ch)
    if keep_audio:
        for writer in keep.values():
            writer.close()
        opened = {k: diskaudio.open_read(work / f"keep-{k}.npy", unlink=True) for k in keep}
        keep.clear()
        result.mix = opened.pop("mix")
        result.stems = opened
        result.peaks = {k: peaks[k] for k in opened}  # over both channels of a stereo stem
    return result


def _writers(files: int, threads: int) -> int:
    """Threads that encode the files at once. FLAC encoding releases the GIL, so two cores even with one synth
    thread; and several files per core at a time, in waves of equal size, so the cores share the work to the
    end instead of one core encoding the last file alone. Measured, 13 files of a 12-track song on 2 cores: the
    stereo files took 2.85 s instead of 3.13 s with 7 threads (waves of 7 and 6; mono: no change), and 8 threads
    raised peak memory by 18 MB (mono) and 39 MB (stereo)."""
    cap = 4 * max(2, threads)
    waves = -(-files // cap)
    return max(1, -(-files // max(1, waves)))


def _scaler(gain: float):
    """What the in-memory mix did to a stem: ``stem *= np.float32(gain)``."""
    g = np.float32(gain)
    return lambda block: block * g


def _peak_scaler(gain: float):
    """Peak normalization by :func:`automix.peak_normalize_gain`, block by block (float64 product, float32 out)."""
    return lambda block: (block.astype(np.float64) * gain).astype(np.float32)


def _preload() -> None:
    """Import the effects library (pedalboard) while the synths render."""
    import pedalboard  # noqa: F401


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _stem_jobs(song: Song, bank: Bank, assignment: Assignment) -> list[synth.StemJob]:
    """A render job per track that has a patch; SoundFonts are located first so a missing one fails early.
    A kit-following drum patch plays the track's own kit (or the standard kit, logged, when the SoundFont lacks it)."""
    plan = kits.kit_plan(song, bank, assignment)
    kits.log_fallbacks({k: c.fallback for k, c in plan.items() if c.fallback})
    jobs = []
    for track in song.tracks:
        pid = assignment.patch_id(track.key)
        if not pid:
            continue
        patch = bank.patches[pid]
        preset = plan[track.key].preset if track.key in plan else patch.preset
        jobs.append(synth.StemJob(track.key, track.instrument, bank.resolve_soundfont(patch),
                                   patch.bank, preset, patch.drum, pid))
    return jobs


def _pan_jobs(song: Song, jobs: list[synth.StemJob], seed: int, mode: str) -> dict[str, panning.Pan]:
    """Each job's pan (stereo): set on the job (the CC10 it sends, whether it drops the file's own) and returned."""
    pans = panning.plan(song, [j.key for j in jobs], seed, mode)
    for j in jobs:
        j.pan, j.drop_pan = pans[j.key].cc, pans[j.key].drop_file_pan
    return pans


def build_metadata(song: Song, bank: Bank, assignment: Assignment, mixed: automix.MixResult,
                   opt: RenderOptions, flakh_gain: float | None = None,
                   pans: dict[str, panning.Pan] | None = None) -> dict:
    """``metadata.yaml`` with Slakh2100's keys and meaning (see docs); our extras live under ``slakh_studio``."""
    stems = {}
    notes = {}
    for track in song.tracks:
        tp = assignment.tracks[track.key]
        rendered = track.key in mixed.stems
        entry = {
            "audio_rendered": rendered,
            "inst_class": track.inst_class,
            "is_drum": track.is_drum,
            "midi_program_name": track.program_name,
            "midi_saved": bool(tp.patch_id),
            "plugin_name": tp.patch_id or "None",
            "program_num": track.program,
        }
        if rendered:
            entry["integrated_loudness"] = float(mixed.loudness[track.key])
        stems[track.key] = entry
        why = tp.reason if not tp.patch_id else mixed.skipped.get(track.key)
        if why:
            notes[track.key] = why
    extras = {
        "version": __version__,
        "bank": bank.name,
        "bank_sha256": bank.sha256,
        "seed": assignment.seed,
        "tail_seconds": float(opt.tail),
        "fluidsynth_effects": bool(opt.fluid_effects),
        "sample_rate": int(opt.sample_rate),
        "track_names": {t.key: t.name for t in song.tracks},
        "not_rendered": notes,
        "flakh": bool(opt.flakh),
        "channels": opt.channels,
    }
    if opt.stereo:
        extras["pan_mode"] = opt.pan
        extras["pan"] = {k: p.as_dict() for k, p in (pans or {}).items() if k in mixed.stems}
    fallbacks = {k: v for k, v in kits.kit_fallbacks(song, bank, assignment).items() if k in mixed.stems}
    if fallbacks:
        extras["kit_fallbacks"] = fallbacks
    if song.range:
        extras["range_seconds"] = [song.range[0], song.range[1]]
    if opt.flakh:
        extras["mix"] = "Flakh: the unsplit MIDI file rendered whole with FluidSynth and TimGM6mb, peak-normalized"
        extras["mix_peak_gain"] = float(flakh_gain or 1.0)
    return {
        "UUID": song.md5,
        "audio_dir": "stems",
        "lmd_midi_dir": opt.source_name or layout.lmd_midi_dir(song.path, opt.corpus_root),
        "midi_dir": "MIDI",
        "normalization_factor": float(mixed.normalization_factor),
        "normalized": True,
        "overall_gain": float(mixed.overall_gain),
        "stems": stems,
        "target_peak": float(mixed.target_peak),
        "slakh_studio": extras,
    }
