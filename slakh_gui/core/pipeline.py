"""One MIDI file -> one Slakh2100 track: patches -> per-track stems -> BS.1770-4 mix -> ``TrackNNNNN/``.

:func:`render_track` is what the CLI, the desktop app and the dataset runner call.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from slakh_gui import __version__
from slakh_gui.core import effects, kits, layout, mixing, render
from slakh_gui.core.audio_io import FORMATS, atomic_write_bytes, atomic_write_text, to_int16, write_audio
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.core.midi import Song, sanitize_smf
from slakh_gui.core.midi_export import instrument_midi_bytes
from slakh_gui.core.patches import Assignment, Bank, find_soundfont

DEFAULT_TAIL = 5.0  # seconds rendered after the song's end (Slakh: end time + 5 s)
MAX_DURATION = 3600.0  # seconds; longer songs are refused unless the limit is raised
MAX_MEMORY = 8 * 2**30  # bytes of float stems a render may hold at once
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
    sample_rate: int = render.SAMPLE_RATE
    max_duration: float = MAX_DURATION
    max_memory: int = MAX_MEMORY
    corpus_root: str | None = None  # the MIDI collection's folder: lmd_midi_dir is relative to it (else file name)
    source_name: str | None = None  # lmd_midi_dir as given (a re-render of a dataset track keeps its own)


@dataclass
class TrackResult:
    path: Path
    metadata: dict
    rendered: list[str]
    skipped: dict[str, str] = field(default_factory=dict)  # stem key -> reason it has no audio
    duration: float = 0.0
    stems: dict[str, np.ndarray] | None = None  # float32 as written (with keep_audio)
    mix: np.ndarray | None = None
    reused: list[str] = field(default_factory=list)  # stems taken from the cache, not rendered again

    @property
    def kit_fallbacks(self) -> dict[str, str]:
        """Stem key -> why its drum kit was replaced by the standard kit (the SoundFont lacks the track's kit)."""
        return dict(self.metadata.get("slakh_studio", {}).get("kit_fallbacks", {}))


class StemCache:
    """Rendered stems (after their effect chain, before loudness normalization) kept between renders of one song,
    so that changing one track's patch re-renders only that track. Keyed by everything the audio depends on.

    With ``spill_dir`` (the app's), each stem is written there as a float32 ``.npy`` file and read back memory-mapped:
    the cache costs disk and page cache, not a second copy of every stem in the process's own memory. Without it the
    arrays are kept in memory. :meth:`clear` drops everything (and the files)."""

    def __init__(self, spill_dir: str | Path | None = None) -> None:
        self._items: dict[tuple, tuple[np.ndarray, float | None]] = {}
        self.spill_dir = Path(spill_dir) if spill_dir is not None else None
        self._files: list[Path] = []
        self._lock = threading.Lock()

    @staticmethod
    def key(song: Song, job: render.StemJob, n_samples: int, opt: RenderOptions, chain) -> tuple:
        return (song.md5, song.range, job.key, job.label, str(job.soundfont), job.bank, job.preset, job.drum,
                repr(chain), n_samples, opt.fluid_effects, opt.sample_rate)

    def get(self, key: tuple):
        return self._items.get(key)

    def put(self, key: tuple, audio: np.ndarray, lufs: float | None) -> None:
        if self.spill_dir is None:
            self._items[key] = (audio.copy(), lufs)
            return
        self.spill_dir.mkdir(parents=True, exist_ok=True)
        with self._lock:
            path = self.spill_dir / f"stem-{len(self._files):05d}.npy"
            self._files.append(path)
        np.save(path, np.ascontiguousarray(audio, dtype=np.float32))
        self._items[key] = (np.load(path, mmap_mode="r"), lufs)

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

    With a ``cache``, stems rendered before with the same patch and settings are reused; ``keep_audio`` returns
    the written stems and mix as float arrays too (for the app's mixer and player)."""
    opt = options or RenderOptions()
    if opt.fmt not in FORMATS:
        raise ValueError(f"unknown audio format {opt.fmt!r} (use flac or wav)")
    out_dir = Path(out_dir)
    sr = opt.sample_rate
    end = float(song.pm.get_end_time())
    if end > opt.max_duration:
        raise RenderLimitError(
            f"{song.path.name} lasts {_duration(end)}, over the {_duration(opt.max_duration)} limit (--max-duration)")
    n_samples = render.length_samples(end + opt.tail, sr)
    jobs = _stem_jobs(song, bank, assignment)
    if not jobs:
        programs = sorted({t.program for t in song.tracks})
        raise NothingToRender(f"{song.path.name}: bank {bank.name!r} has no patch for any of its tracks "
                              f"(programs {', '.join(map(str, programs))})")
    need = 3 * 4 * n_samples * max(1, len(jobs))  # rendered + gained float32 stems + chunk/encode buffers
    if need > opt.max_memory:
        raise RenderLimitError(
            f"{song.path.name}: {len(jobs)} stems of {_duration(n_samples / sr)} need about {need / 2**30:.1f} GiB, "
            f"over the {opt.max_memory / 2**30:.1f} GiB limit (--max-memory)")
    if opt.flakh:
        if song.range:
            raise ValueError("a range cannot be rendered in Flakh mode (its mix is the whole file rendered unsplit)")
        flakh_sf = find_soundfont(FLAKH_SOUNDFONT, bank.soundfont_dirs)
    if out_dir.exists() and not opt.overwrite:
        raise FileExistsError(f"{out_dir} already exists (use --overwrite to replace it)")
    layout.check_writable(out_dir.parent)
    check(cancel)
    threading.Thread(target=_preload, args=(any(bank.patches[j.label].effects for j in jobs),), daemon=True).start()

    chains = {job.key: bank.patches[job.label].effect_chain for job in jobs}
    measured: dict[str, float] = {}
    cache_keys = {job.key: StemCache.key(song, job, n_samples, opt, chains[job.key]) for job in jobs} if cache is not None else {}
    cached = {k: cache.get(ck) for k, ck in cache_keys.items()} if cache is not None else {}
    cached = {k: v for k, v in cached.items() if v is not None}
    todo = [job for job in jobs if job.key not in cached]

    def finish(key: str, row: np.ndarray) -> None:  # runs in the render worker, overlapping other stems
        if chains[key]:
            row[:] = effects.apply_chain(row, chains[key], sr)
        if np.any(row):
            measured[key] = mixing.integrated_loudness(row, sr)
        if cache is not None:
            cache.put(cache_keys[key], row, measured.get(key))

    # Stem MIDI files are pure Python work: build them while the synths (which release the GIL) render.
    with ThreadPoolExecutor(max_workers=1) as side:
        midi_files = side.submit(lambda: {j.key: instrument_midi_bytes(song, song.track(j.key)) for j in jobs})
        fresh = render.render_stems(todo, n_samples, sample_rate=sr, fluid_effects=opt.fluid_effects,
                                    threads=opt.threads, finish=finish, progress=progress, cancel=cancel)
        stem_midi = midi_files.result()
    rows = {job.key: fresh[i] for i, job in enumerate(todo)}
    for key, (audio_c, lufs) in cached.items():
        rows[key] = np.array(audio_c, dtype=np.float32)  # a private copy (the cache may be memory-mapped)
        if lufs is not None:
            measured[key] = lufs
    audio = [rows[job.key] for job in jobs]
    stems = {job.key: audio[i] for i, job in enumerate(jobs)}
    check(cancel)
    report(progress, "mix", 0, 1, "mixing")
    mixed = mixing.loudness_mix(stems, sr, threads=opt.threads, loudness=measured, in_place=True)
    del audio, stems, fresh, rows
    if not mixed.stems:
        raise NothingToRender(f"{song.path.name}: every stem came out silent or too quiet to measure")
    flakh_gain = None
    if opt.flakh:
        whole = render.render_whole(sanitize_smf(song.data), flakh_sf, n_samples, sample_rate=sr,
                                    fluid_effects=opt.fluid_effects, progress=progress, cancel=cancel)
        mix, flakh_gain = mixing.peak_normalize(whole, mixing.TARGET_PEAK)
    else:
        mix = mixed.mix
    check(cancel)
    metadata = build_metadata(song, bank, assignment, mixed, opt, flakh_gain)

    report(progress, "write", 0, 1, "writing files")
    ext = opt.fmt
    with layout.staged_dir(out_dir, overwrite=opt.overwrite) as stage:
        (stage / "stems").mkdir()
        (stage / "MIDI").mkdir()
        writes = [(stage / f"mix.{ext}", mix)] + [(stage / "stems" / f"{k}.{ext}", a) for k, a in mixed.stems.items()]
        # FLAC encoding releases the GIL: two writers even with one synth thread (same files, half the wait)
        with ThreadPoolExecutor(max_workers=max(2, opt.threads)) as pool:
            list(pool.map(lambda w: write_audio(w[0], to_int16(w[1]), sr, ext), writes))
        check(cancel)
        for key, data in stem_midi.items():
            atomic_write_bytes(stage / "MIDI" / f"{key}.mid", data)
        atomic_write_bytes(stage / "all_src.mid", song.data)
        atomic_write_text(stage / "metadata.yaml", layout.dump_metadata(metadata))
        check(cancel)
    report(progress, "write", 1, 1, "done")
    skipped = {k: t.reason for k, t in assignment.tracks.items() if not t.patch_id}
    skipped.update(mixed.skipped)
    result = TrackResult(out_dir, metadata, list(mixed.stems), skipped, n_samples / sr, reused=sorted(cached))
    if keep_audio:
        result.stems, result.mix = mixed.stems, mix
    return result


def _preload(with_effects: bool) -> None:
    """Import the loudness (scipy.signal) and effects (pedalboard) libraries while the synths render."""
    import pyloudnorm  # noqa: F401

    if with_effects:
        import pedalboard  # noqa: F401


def _duration(seconds: float) -> str:
    return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def _stem_jobs(song: Song, bank: Bank, assignment: Assignment) -> list[render.StemJob]:
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
        jobs.append(render.StemJob(track.key, track.instrument, bank.resolve_soundfont(patch),
                                   patch.bank, preset, patch.drum, pid))
    return jobs


def build_metadata(song: Song, bank: Bank, assignment: Assignment, mixed: mixing.MixResult,
                   opt: RenderOptions, flakh_gain: float | None = None) -> dict:
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
    }
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
