"""The Slakh2100 paper's statistics over the tracks of any Slakh-layout folder (found by :mod:`.walk`).

What :func:`compute_stats` measures (Manilow et al. 2019, "Cutting music source separation some Slakh"):

- Table 1's row: songs, hours of mixture audio, tracks per song (min-max, median), instrument categories. A song's
  "tracks" are its stems that have an audio file; categories are the distinct ``inst_class`` (GM family) of those
  stems. (The paper's "34" counts its patch classes, which ``metadata.yaml`` does not record; a real Slakh2100
  folder gives the GM families instead.)
- Fig. 1: how many mixtures contain at least one stem (with audio) of each ``inst_class``.
- Fig. 2: mean and standard deviation over songs of the normalized log-magnitude mixture spectrum. Per song: STFT
  of ``mix.*`` with 4096-sample Hann frames, 50 % overlap (hop 2048), magnitude averaged over all frames, that
  average spectrum scaled to unit energy (sum of squares 1), then 20·log10. Songs are grouped by sample rate and each
  group gets its own curve and frequency axis (4096 samples span a different band at 16 kHz than at 44.1 kHz);
  nothing is resampled, so each curve is exactly what that group's files hold.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from slakh_gui.core.constants import SPLITS_WITH_OMITTED
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.core.render.track_folder import (  # noqa: F401 (re-exported)
    AUDIO_EXTS,
    TrackFolderError,
    audio_file,
    read_metadata,
    read_mono,
)
from slakh_gui.core.walk import DatasetNotFoundError, TrackRef, discover_tracks, track_ref  # noqa: F401 (re-exported)

NO_SPLIT = "unsplit"  # the split name used for tracks outside split folders (BabySlakh, a single track)
N_FFT = 4096
HOP = 2048
_FRAMES_PER_CHUNK = 256


def stems_dir(track_dir: Path, metadata: dict) -> Path:
    """The stem folder: the basename of ``audio_dir`` (readers ignore the rest), else ``stems``."""
    d = Path(track_dir) / Path(str(metadata.get("audio_dir") or "stems")).name
    return d if d.is_dir() else Path(track_dir) / "stems"


def stem_files(track_dir: Path, metadata: dict) -> dict[str, Path]:
    """Stem key -> audio file, for the stems of ``metadata`` that have one (whatever ``audio_rendered`` says)."""
    folder = stems_dir(track_dir, metadata)
    out = {}
    for key in sorted(str(k) for k in metadata["stems"]):
        f = audio_file(folder / key)
        if f is not None:
            out[key] = f
    return out


def average_spectrum(audio: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray:
    """Magnitude STFT (Hann frames) averaged over frames, shape ``(n_fft // 2 + 1,)``; shorter audio is padded."""
    audio = np.asarray(audio, dtype=np.float32)
    if len(audio) < n_fft:
        audio = np.pad(audio, (0, n_fft - len(audio)))
    n_frames = 1 + (len(audio) - n_fft) // hop
    window = np.hanning(n_fft + 1)[:-1].astype(np.float32)  # periodic Hann
    frames = np.lib.stride_tricks.sliding_window_view(audio, n_fft)[::hop]
    total = np.zeros(n_fft // 2 + 1, dtype=np.float64)
    for start in range(0, n_frames, _FRAMES_PER_CHUNK):
        chunk = frames[start : start + _FRAMES_PER_CHUNK] * window
        total += np.abs(np.fft.rfft(chunk, axis=1)).sum(axis=0)
    return total / n_frames


def normalized_log_spectrum(audio: np.ndarray, n_fft: int = N_FFT, hop: int = HOP) -> np.ndarray | None:
    """Fig. 2's per-song curve: the average magnitude spectrum at unit energy, in dB; None for silence."""
    avg = average_spectrum(audio, n_fft, hop)
    energy = float(np.sqrt(np.sum(avg**2)))
    if energy <= 0.0:
        return None
    return 20.0 * np.log10(np.maximum(avg / energy, 1e-12))


@dataclass
class TrackStats:
    """One song's numbers."""

    label: str
    split: str
    seconds: float
    sample_rate: int
    stems: int  # stems with an audio file
    classes: list[str]
    patches: list[str]


@dataclass
class SplitStats:
    songs: int = 0
    seconds: float = 0.0
    stems: int = 0

    @property
    def hours(self) -> float:
        return self.seconds / 3600.0


@dataclass
class SpectrumStats:
    """Fig. 2 for the songs of one sample rate: frequency axis and mean/std in dB over songs."""

    sample_rate: int
    songs: int
    freqs: np.ndarray
    mean_db: np.ndarray
    std_db: np.ndarray
    n_fft: int = N_FFT
    hop: int = HOP


@dataclass
class DatasetStats:
    """Statistics of one dataset folder (see the module docstring for what each number means)."""

    root: str
    tracks: list[TrackStats]
    spectra: list[SpectrumStats]
    skipped: list[dict] = field(default_factory=list)  # {"track": label, "reason": ...}
    elapsed: float = 0.0

    @property
    def songs(self) -> int:
        return len(self.tracks)

    @property
    def seconds(self) -> float:
        return float(sum(t.seconds for t in self.tracks))

    @property
    def hours(self) -> float:
        return self.seconds / 3600.0

    @property
    def tracks_per_song(self) -> tuple[int, int, float]:
        """(min, max, median) stems with audio per song; zeros for an empty dataset."""
        counts = [t.stems for t in self.tracks]
        return (min(counts), max(counts), float(statistics.median(counts))) if counts else (0, 0, 0.0)

    @property
    def class_counts(self) -> dict[str, int]:
        """Fig. 1: inst_class -> number of mixtures with at least one stem of it; most frequent first."""
        counts: dict[str, int] = {}
        for t in self.tracks:
            for c in set(t.classes):
                counts[c] = counts.get(c, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    @property
    def instrument_classes(self) -> int:
        return len(self.class_counts)

    @property
    def patches(self) -> int:
        """Distinct ``plugin_name``s of stems with audio."""
        return len({p for t in self.tracks for p in t.patches})

    @property
    def splits(self) -> dict[str, SplitStats]:
        out: dict[str, SplitStats] = {}
        for t in self.tracks:
            s = out.setdefault(t.split, SplitStats())
            s.songs += 1
            s.seconds += t.seconds
            s.stems += t.stems
        order = {s: i for i, s in enumerate((*SPLITS_WITH_OMITTED, NO_SPLIT))}
        return dict(sorted(out.items(), key=lambda kv: order.get(kv[0], 99)))

    @property
    def sample_rates(self) -> dict[int, int]:
        out: dict[int, int] = {}
        for t in self.tracks:
            out[t.sample_rate] = out.get(t.sample_rate, 0) + 1
        return dict(sorted(out.items()))

    def table1_row(self) -> dict:
        """The paper's Table 1 columns for this dataset."""
        lo, hi, med = self.tracks_per_song
        return {"songs": self.songs, "hours": round(self.hours, 3), "tracks_min": lo, "tracks_max": hi,
                "tracks_median": med, "instrument_classes": self.instrument_classes}

    def as_dict(self, spectra: bool = True) -> dict:
        """Plain data for JSON; ``spectra=False`` leaves out the per-bin arrays of Fig. 2."""
        out = {
            "format": "slakh-studio-stats/1",
            "root": self.root,
            "table1": self.table1_row(),
            "patches": self.patches,
            "fig1_class_counts": self.class_counts,
            "splits": {k: {"songs": v.songs, "hours": round(v.hours, 4), "stems": v.stems}
                       for k, v in self.splits.items()},
            "sample_rates": {str(k): v for k, v in self.sample_rates.items()},
            "fig2_spectra": [],
            "skipped": list(self.skipped),
            "tracks": [asdict(t) for t in self.tracks],
            "elapsed_seconds": round(self.elapsed, 3),
        }
        for s in self.spectra:
            entry = {"sample_rate": s.sample_rate, "songs": s.songs, "n_fft": s.n_fft, "hop": s.hop}
            if spectra:
                entry.update(freqs_hz=[round(float(f), 3) for f in s.freqs],
                             mean_db=[round(float(v), 3) for v in s.mean_db],
                             std_db=[round(float(v), 3) for v in s.std_db])
            out["fig2_spectra"].append(entry)
        return out


def _track_stats(ref: TrackRef) -> tuple[TrackStats, np.ndarray | None]:
    metadata = read_metadata(ref.path)
    files = stem_files(ref.path, metadata)
    mix_path = audio_file(ref.path / "mix")
    if mix_path is None:
        raise TrackFolderError(f"{ref.path}: no mix.flac or mix.wav")
    try:
        mix, sr = read_mono(mix_path)
    except (RuntimeError, sf.LibsndfileError) as exc:
        raise TrackFolderError(f"{mix_path}: unreadable audio ({exc})") from None
    entries = metadata["stems"]
    classes = sorted({str(entries[k].get("inst_class", "Unknown")) for k in files})
    patches = sorted({str(entries[k].get("plugin_name")) for k in files if entries[k].get("plugin_name")})
    ts = TrackStats(ref.label, ref.split or NO_SPLIT, len(mix) / sr, sr, len(files), classes, patches)
    return ts, normalized_log_spectrum(mix)


def _track_stats_safe(ref: TrackRef) -> tuple[TrackStats, np.ndarray | None] | str:
    """:func:`_track_stats`, or the reason the track cannot be read (picklable, for worker processes)."""
    try:
        return _track_stats(ref)
    except TrackFolderError as exc:
        return str(exc)


def _results(refs: list[TrackRef], workers: int, cancel: CancelToken | None):
    """(index, result) for every track, in completion order; ``workers`` > 1 uses spawned processes."""
    if workers <= 1 or len(refs) < 2:
        for i, ref in enumerate(refs):
            check(cancel)
            yield i, _track_stats_safe(ref)
        return
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    # spawn, not fork: safe from a threaded caller (the desktop app)
    with ProcessPoolExecutor(min(workers, len(refs)), mp_context=multiprocessing.get_context("spawn")) as pool:
        pending = {pool.submit(_track_stats_safe, ref): i for i, ref in enumerate(refs)}
        try:
            while pending:
                done, _ = wait(pending, timeout=0.2, return_when=FIRST_COMPLETED)
                check(cancel)
                for fut in done:
                    yield pending.pop(fut), fut.result()
        finally:
            for fut in pending:
                fut.cancel()


def compute_stats(path: str | Path, progress: ProgressFn | None = None, cancel: CancelToken | None = None,
                  *, workers: int = 1) -> DatasetStats:
    """Statistics of every track under ``path`` (see :func:`discover_tracks`); unreadable tracks are listed in
    ``skipped`` with the reason instead of stopping the run. ``workers`` > 1 reads tracks in that many processes
    (the result does not depend on it)."""
    start = time.perf_counter()
    refs = discover_tracks(path)
    results: dict[int, tuple[TrackStats, np.ndarray | None] | str] = {}
    report(progress, "stats", 0, len(refs), "reading tracks")
    for i, res in _results(refs, workers, cancel):
        results[i] = res
        report(progress, "stats", len(results), len(refs), "reading tracks", item=refs[i].label)
    tracks: list[TrackStats] = []
    curves: dict[int, list[np.ndarray]] = {}
    skipped: list[dict] = []
    for i, ref in enumerate(refs):
        res = results[i]
        if isinstance(res, str):
            skipped.append({"track": ref.label, "reason": res})
            continue
        ts, curve = res
        tracks.append(ts)
        if curve is not None:
            curves.setdefault(ts.sample_rate, []).append(curve)
    report(progress, "stats", len(refs), len(refs), "done")
    spectra = []
    for sr, rows in sorted(curves.items()):
        arr = np.vstack(rows)
        spectra.append(SpectrumStats(sr, len(rows), np.fft.rfftfreq(N_FFT, 1.0 / sr), arr.mean(axis=0),
                                     arr.std(axis=0)))
    return DatasetStats(str(Path(path)), tracks, spectra, skipped, time.perf_counter() - start)


REPORT_FILES = ("stats.md", "stats.json", "fig1_classes.png", "fig2_spectra.png")


def report_markdown(stats: DatasetStats) -> str:
    """``stats.md``: Table 1's row, per-split counts, the figures, and the tracks that were skipped."""
    lo, hi, med = stats.tracks_per_song
    rates = ", ".join(f"{sr / 1000:g} kHz ({n})" for sr, n in stats.sample_rates.items()) or "-"
    lines = [
        f"# Dataset statistics: `{stats.root}`",
        "",
        "Table 1 of Manilow et al. 2019 for this dataset. Tracks = stems with an audio file; instrument categories =",
        "distinct `inst_class` (GM family) of those stems (the paper's 34 are Slakh2100's patch classes).",
        "",
        "| Dataset | # Songs | Size (h) | # Tracks (min–max) | Median tracks | # Instr. cat. |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
        f"| {Path(stats.root).name or stats.root} | {stats.songs} | {stats.hours:.2f} | {lo}–{hi} | {med:g} | "
        f"{stats.instrument_classes} |",
        "",
        f"Sample rates: {rates}. Distinct patches (`plugin_name`): {stats.patches}. "
        f"Computed in {stats.elapsed:.1f} s.",
        "",
        "## Splits",
        "",
        "| Split | Songs | Hours | Stems |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {k} | {v.songs} | {v.hours:.2f} | {v.stems} |" for k, v in stats.splits.items()]
    lines += ["", "## Fig. 1: mixtures containing each instrument class", "", "![Fig. 1](fig1_classes.png)", "",
              "| Class | Mixtures |", "| --- | ---: |"]
    lines += [f"| {c} | {n} |" for c, n in stats.class_counts.items()]
    lines += ["", "## Fig. 2: normalized log-magnitude mixture spectra", "", "![Fig. 2](fig2_spectra.png)", "",
              "Per song: STFT of the mix with 4096-sample Hann frames and 50 % overlap, magnitude averaged over frames, "
              "scaled to unit energy, in dB; mean ± one standard deviation over songs, one curve per sample rate.",
              ""]
    if stats.skipped:
        lines += ["## Skipped tracks", ""] + [f"- `{s['track']}`: {s['reason']}" for s in stats.skipped] + [""]
    return "\n".join(lines)


def write_report(stats: DatasetStats, out_dir: str | Path) -> dict[str, Path]:
    """Write ``stats.md``, ``stats.json``, ``fig1_classes.png`` and ``fig2_spectra.png`` into ``out_dir``
    (created if needed), each atomically; returns file name -> path."""
    import json

    from slakh_gui.core.audio_io import atomic_write_bytes, atomic_write_text
    from slakh_gui.core.dataset import stats_plots  # matplotlib only when writing a report
    from slakh_gui.core.render.layout import check_writable

    out = Path(out_dir)
    check_writable(out)
    paths = {name: out / name for name in REPORT_FILES}
    atomic_write_bytes(paths["fig1_classes.png"], stats_plots.figure_png(stats_plots.fig1_classes(stats)))
    atomic_write_bytes(paths["fig2_spectra.png"], stats_plots.figure_png(stats_plots.fig2_spectra(stats)))
    atomic_write_text(paths["stats.json"], json.dumps(stats.as_dict(), indent=1) + "\n")
    atomic_write_text(paths["stats.md"], report_markdown(stats))
    return paths
