"""Dataset discovery and the paper's statistics (Table 1, Fig. 1, Fig. 2), on real renders and real Slakh samples."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from slakh_gui.core.dataset import dataset_stats as ds
from slakh_gui.core.jobs import Cancelled, CancelToken
from tests.conftest import SLAKH_SAMPLES, make_song, needs_samples

REDUX = SLAKH_SAMPLES / "slakh2100_flac_redux"
BABY = SLAKH_SAMPLES / "babyslakh_16k"
# (split, track number, song seed, patch seed): Track00004 renders Track00001's MIDI again with other patches.
LAYOUT = [("train", 1, 1, 0), ("train", 2, 2, 0), ("validation", 3, 3, 0), ("test", 4, 1, 5)]


def render_dataset(root: Path, seconds: float = 6.0, layout=LAYOUT, extra=None) -> Path:
    """A real small dataset: make_song MIDI rendered with the small bank into ``root/<split>/TrackNNNNN``."""
    from slakh_gui.core.bank import patches
    from slakh_gui.core.midi import midifile
    from slakh_gui.core.render import pipeline

    bank = patches.load_bank(Path(__file__).resolve().parents[1] / "data" / "small_bank.yaml")
    for split, number, song_seed, patch_seed in layout:
        src = make_song(root.parent / f"{root.name}-song{song_seed}.mid", seconds=seconds, seed=song_seed,
                        extra=extra)
        song = midifile.load_song(src)
        assignment = patches.assign_patches(song, bank, seed=patch_seed)
        pipeline.render_track(song, bank, assignment, root / split / f"Track{number:05d}")
    return root


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return render_dataset(tmp_path_factory.mktemp("stats") / "ds")


# ---------------------------------------------------------------------------------------------- discovery


def test_discover_dataset_root_in_split_order(dataset):
    refs = ds.discover_tracks(dataset)
    assert [r.label for r in refs] == ["train/Track00001", "train/Track00002", "validation/Track00003",
                                       "test/Track00004"]
    split, path = refs[2]  # unpacks as a (split, track_dir) pair
    assert split == "validation" and path == dataset / "validation" / "Track00003"


def test_discover_single_track_flat_folder_and_data_home(dataset, tmp_path):
    assert ds.discover_tracks(dataset / "test" / "Track00004") == [("test", dataset / "test" / "Track00004")]
    flat = tmp_path / "flat"
    flat.mkdir()
    for t in ("Track00002", "Track00001"):
        (flat / t).symlink_to(dataset / "train" / t)
    (flat / "notes").mkdir()  # not a track
    assert [(r.split, r.name) for r in ds.discover_tracks(flat)] == [(None, "Track00001"), (None, "Track00002")]
    home = tmp_path / "home"
    (home / "slakh2100_flac_redux").mkdir(parents=True)
    (home / "slakh2100_flac_redux" / "train").symlink_to(dataset / "train")
    (home / "slakh2100_flac_redux" / "test").symlink_to(dataset / "test")
    assert [r.label for r in ds.discover_tracks(home)] == ["train/Track00001", "train/Track00002", "test/Track00004"]


@needs_samples
def test_discover_real_samples():
    assert [r.label for r in ds.discover_tracks(BABY)] == ["Track00001", "Track00007"]
    assert [r.label for r in ds.discover_tracks(REDUX)] == ["train/Track00001"]
    assert [r.label for r in ds.discover_tracks(REDUX / "train" / "Track00001")] == ["train/Track00001"]


def test_discover_errors(tmp_path):
    with pytest.raises(ds.DatasetNotFoundError, match="no such folder"):
        ds.discover_tracks(tmp_path / "missing")
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    with pytest.raises(ds.DatasetNotFoundError, match="no TrackNNNNN folders"):
        ds.discover_tracks(tmp_path / "empty")


# ---------------------------------------------------------------------------------------------- statistics


def test_stats_of_rendered_dataset(dataset):
    seen = []
    stats = ds.compute_stats(dataset, progress=seen.append)
    assert stats.songs == 4 and not stats.skipped
    # Hours, stems per song and classes, counted independently from the files and metadata.
    seconds, stems, classes = 0.0, [], []
    for track in sorted(dataset.glob("*/Track*")):
        seconds += sf.info(str(track / "mix.flac")).duration
        meta = yaml.safe_load((track / "metadata.yaml").read_text())
        files = sorted(p.stem for p in (track / "stems").glob("*.flac"))
        stems.append(len(files))
        classes.append({meta["stems"][k]["inst_class"] for k in files})
    assert stats.seconds == pytest.approx(seconds, rel=1e-9)
    assert stats.tracks_per_song == (min(stems), max(stems), float(np.median(stems)))
    assert stats.table1_row()["songs"] == 4
    # make_song: piano, bass, guitar, drums, strings render; the FX track (program 103) has no patch, no audio.
    assert stats.class_counts == {"Bass": 4, "Drums": 4, "Guitar": 4, "Piano": 4, "Strings (continued)": 4}
    assert all(c == set(stats.class_counts) for c in classes)
    assert "Sound Effects" not in stats.class_counts
    assert stats.instrument_classes == 5
    assert {k: (v.songs, v.stems) for k, v in stats.splits.items()} == {
        "train": (2, stems[1] + stems[2]), "validation": (1, stems[3]), "test": (1, stems[0])}  # path order
    assert stats.sample_rates == {44100: 4}
    assert [s.sample_rate for s in stats.spectra] == [44100] and stats.spectra[0].songs == 4
    assert [p.done for p in seen] == [0, 1, 2, 3, 4, 4] and seen[-1].total == 4
    assert [p.item for p in seen[1:5]] == [r.label for r in ds.discover_tracks(dataset)]


def test_stats_with_worker_processes_equal_sequential(dataset, tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(dataset, root)
    (root / "train" / "Track00002" / "metadata.yaml").write_text("stems: 3\n")
    one = ds.compute_stats(root).as_dict()
    two = ds.compute_stats(root, workers=2).as_dict()
    one.pop("elapsed_seconds"), two.pop("elapsed_seconds")
    assert one == two and one["table1"]["songs"] == 3
    assert one["skipped"][0]["track"] == "train/Track00002"


def test_average_spectrum_matches_scipy_stft():
    from scipy.signal import stft

    rng = np.random.default_rng(3)
    x = (rng.standard_normal(30000) * 0.1).astype(np.float32)
    mine = ds.average_spectrum(x)
    win = np.hanning(ds.N_FFT + 1)[:-1]
    _, _, z = stft(x, window=win, nperseg=4096, noverlap=2048, boundary=None, padded=False, detrend=False)
    ref = np.abs(z).mean(axis=1) * win.sum()  # scipy scales each frame by 1/sum(window)
    np.testing.assert_allclose(mine, ref, rtol=1e-4)


def test_normalized_log_spectrum_unit_energy_and_peak():
    sr = 44100
    f0 = 100 * sr / ds.N_FFT  # exactly on bin 100
    t = np.arange(sr * 2) / sr
    db = ds.normalized_log_spectrum((0.3 * np.sin(2 * np.pi * f0 * t)).astype(np.float32))
    assert np.sum(10 ** (db / 10)) == pytest.approx(1.0, rel=1e-6)
    assert int(np.argmax(db)) == 100
    assert ds.normalized_log_spectrum(np.zeros(10000, dtype=np.float32)) is None


@needs_samples
def test_stats_on_real_slakh_samples_group_by_sample_rate():
    stats = ds.compute_stats(SLAKH_SAMPLES)
    assert stats.songs == 2
    assert [s["track"] for s in stats.skipped] == ["Track00007"]  # BabySlakh's MIDI-only fixture folder
    assert "no metadata.yaml" in stats.skipped[0]["reason"]
    # Both excerpts are Slakh2100's Track00001: 10 stems with audio (S06 has none), the same 6 GM families.
    assert stats.tracks_per_song == (10, 10, 10.0)
    assert set(stats.class_counts) == {"Guitar", "Drums", "Piano", "Bass", "Strings (continued)", "Organ"}
    by_rate = {s.sample_rate: s for s in stats.spectra}
    assert sorted(by_rate) == [16000, 44100]
    assert by_rate[16000].freqs[-1] == 8000.0 and by_rate[44100].freqs[-1] == 22050.0
    # The same music at two rates: each curve on its own frequency axis must agree below BabySlakh's Nyquist.
    f = np.geomspace(150, 7000, 200)
    a = np.interp(f, by_rate[16000].freqs, by_rate[16000].mean_db)
    b = np.interp(f, by_rate[44100].freqs, by_rate[44100].mean_db)
    assert np.corrcoef(a, b)[0, 1] > 0.9


def test_cancel_stops_stats(dataset):
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        ds.compute_stats(dataset, cancel=token)


def test_write_report_files(dataset, tmp_path):
    stats = ds.compute_stats(dataset)
    paths = ds.write_report(stats, tmp_path / "report")
    assert sorted(p.name for p in (tmp_path / "report").iterdir()) == sorted(ds.REPORT_FILES)
    for name in ("fig1_classes.png", "fig2_spectra.png"):
        data = paths[name].read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = struct.unpack(">II", data[16:24])
        assert width >= 600 and height >= 400
    saved = json.loads(paths["stats.json"].read_text())
    assert saved == json.loads(json.dumps(stats.as_dict()))
    assert saved["table1"]["songs"] == 4
    spec = saved["fig2_spectra"][0]
    assert len(spec["freqs_hz"]) == len(spec["mean_db"]) == ds.N_FFT // 2 + 1
    md = paths["stats.md"].read_text()
    lo, hi, med = stats.tracks_per_song
    assert f"| 4 | {stats.hours:.2f} | {lo}–{hi} | {med:g} | 5 |" in md
    assert "![Fig. 1](fig1_classes.png)" in md and "![Fig. 2](fig2_spectra.png)" in md


def test_unreadable_tracks_are_skipped_not_fatal(dataset, tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(dataset / "train", root / "train")
    (root / "train" / "Track00002" / "mix.flac").write_bytes(b"not audio")
    (root / "train" / "Track00009").mkdir()
    stats = ds.compute_stats(root)
    assert stats.songs == 1 and stats.tracks[0].label == "train/Track00001"
    reasons = {s["track"]: s["reason"] for s in stats.skipped}
    assert sorted(reasons) == ["train/Track00002", "train/Track00009"]
    assert "mix.flac: unreadable audio" in reasons["train/Track00002"]
    assert reasons["train/Track00009"].endswith("no metadata.yaml")
