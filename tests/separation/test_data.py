"""Slakh-layout datasets, the 16-kHz cache and the seeded coherent / incoherent clips (−30 dB rule)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from slakh_gui.core.dataset.recipes import load_recipe
from slakh_gui.separation.data import (
    ClipSampler,
    TrackAudio,
    find_tracks,
    load_split,
    load_split_groups,
    load_track_audio,
    qualifying_offsets,
    rms_db,
)
from slakh_gui.separation.separation_errors import DatasetError
from tests.conftest import SLAKH_SAMPLES, needs_samples

SR = 16000


def _tone(seconds: float, level_db: float, freq: float = 110.0) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return (np.sqrt(2) * 10 ** (level_db / 20) * np.sin(2 * np.pi * freq * t)).astype(np.float32)  # RMS = level


def _track(name: str, target: np.ndarray, interference: np.ndarray | None = None) -> TrackAudio:
    inter = interference if interference is not None else _tone(len(target) / SR, -20, 440.0)
    return TrackAudio(name, Path(name), np.stack([target, inter]))


def test_rms_reference_is_dbfs():
    assert rms_db(np.ones(100)) == pytest.approx(0.0)
    assert rms_db(_tone(1, -30)) == pytest.approx(-30.0, abs=0.01)
    assert rms_db(np.zeros(10)) == -np.inf


def test_coherent_clips_honour_the_minus_30_db_rule():
    # 15 s at -40 dB then 15 s at -20 dB: a 10-s clip qualifies once enough of it lies in the loud half
    target = np.concatenate([_tone(15, -40), _tone(15, -20)])
    offsets = qualifying_offsets(target, 10 * SR)
    assert len(offsets) > 0
    for o in offsets[::7]:
        assert rms_db(target[o : o + 10 * SR]) >= -30.0
    # every start on the hop grid that is left out is below the threshold
    grid = np.arange(0, len(target) - 10 * SR + 1, 256)
    for o in np.setdiff1d(grid, offsets)[::50]:
        assert rms_db(target[o : o + 10 * SR]) < -30.0
    # energy 10^-4 (1 - f) + 10^-2 f >= 10^-3 when the clip's loud fraction f >= 0.9 / 9.9, i.e. start >= 5.91 s
    assert offsets.min() / SR == pytest.approx(5 + 10 * 0.9 / 9.9, abs=0.02)
    sampler = ClipSampler([_track("loud", target), _track("quiet", _tone(30, -35))])
    assert sampler.skipped == ["quiet"]
    for clip in sampler.clips(40, seed=3):
        assert clip.track == "loud" and rms_db(clip.target) >= -30.0
        assert len(clip.target) == len(clip.interference) == 10 * SR


def test_short_tracks_and_no_qualifying_track():
    # a 4-s track: RMS over the zero-padded 10-s clip is 4 dB below the tone's
    assert list(qualifying_offsets(_tone(4, -24), 10 * SR)) == [0]  # -28 dB
    assert list(qualifying_offsets(_tone(4, -27), 10 * SR)) == []  # -31 dB
    with pytest.raises(DatasetError, match="-30 dBFS"):
        ClipSampler([_track("a", _tone(20, -33)), _track("b", np.zeros(SR * 20, np.float32))])


def test_samples_are_seeded():
    tracks = [_track(f"t{i}", np.concatenate([_tone(12, -45), _tone(20, -15 - i, 100 + 20 * i)]),
                     _tone(32, -18 - i, 300 + 50 * i)) for i in range(3)]
    sampler = ClipSampler(tracks)
    a, b, c = sampler.clips(6, 7, 0.5), sampler.clips(6, 7, 0.5), sampler.clips(6, 8, 0.5)
    assert [(x.track, x.offset, x.kind) for x in a] == [(x.track, x.offset, x.kind) for x in b]
    assert all(np.array_equal(x.mixture, y.mixture) for x, y in zip(a, b, strict=True))
    assert [(x.track, x.offset) for x in a] != [(x.track, x.offset) for x in c]
    assert {x.kind for x in sampler.clips(30, 1, 0.5)} == {"coherent", "incoherent"}


def test_incoherent_clips_mix_two_songs_at_equal_loudness():
    from slakh_gui.core.render.loudness import integrated_loudness

    tracks = [_track(f"t{i}", _tone(30, -20 - 4 * i, 100 + 30 * i), _tone(30, -12 - 3 * i, 500 + 40 * i))
              for i in range(3)]
    sampler = ClipSampler(tracks)
    for clip in sampler.clips(5, 11, incoherent_fraction=1.0):
        assert clip.kind == "incoherent" and clip.interference_track != clip.track
        assert rms_db(clip.target) >= -30
        assert integrated_loudness(clip.interference, SR) == pytest.approx(integrated_loudness(clip.target, SR),
                                                                            abs=0.05)


def test_rendered_dataset_and_cache(dataset, tmp_path):
    assert [p.name for p in find_tracks(dataset, "train")] == ["Track00001", "Track00002", "Track00003"]
    assert len(find_tracks(dataset, "all")) == 5
    with pytest.raises(DatasetError, match="not a Slakh-layout dataset"):
        find_tracks(dataset / "midi", "train")
    with pytest.raises(DatasetError, match="no such dataset folder"):
        find_tracks(dataset / "nope", "train")
    only_test = tmp_path / "only-test"  # a test set of another source: a split asked for that it lacks
    only_test.mkdir()
    (only_test / "test").symlink_to(dataset / "test")
    with pytest.raises(DatasetError, match=r"only-test: has no 'train' split \(its splits: test\)"):
        find_tracks(only_test, "train")
    recipe = load_recipe("band")
    from slakh_gui.core.render.track_folder import load_track_folder

    folder = load_track_folder(dataset / "test" / "Track00005")
    ta = load_track_audio(dataset / "test" / "Track00005", recipe, "Bass", tmp_path)
    assert ta.name == "test/Track00005" and ta.audio.shape[0] == 2
    assert ta.samples == pytest.approx(len(folder.mix) * SR / folder.sample_rate, abs=1)
    # target + interference is the mix (resampled): the sum of all stems
    from slakh_gui.separation.resample import resample

    mix16 = resample(folder.mix, folder.sample_rate, SR)
    assert np.max(np.abs(ta.target + ta.interference - mix16)) < 2e-3
    bass_keys = recipe.stem_groups(folder.metadata)["Bass"]
    assert rms_db(ta.target) == pytest.approx(rms_db(resample(sum(folder.stems[k] for k in bass_keys),
                                                              folder.sample_rate, SR)), abs=1e-3)
    cached = list(tmp_path.glob("*.npy"))
    assert len(cached) == 1
    again = load_track_audio(dataset / "test" / "Track00005", recipe, "Bass", tmp_path)
    assert isinstance(again.audio, np.memmap) and np.array_equal(again.audio, ta.audio)
    load_track_audio(dataset / "test" / "Track00005", recipe, "Drums", tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 2  # keyed by group (and recipe, path, file times)



def test_tracks_load_on_two_threads_in_order_with_progress(dataset, tmp_path):
    """The cache fills two tracks at a time: the same arrays, in the split's order, progress up to the total."""
    recipe = load_recipe("band")
    seen = []
    two = load_split_groups(dataset, "all", recipe, ["Bass", "Drums"], cache_dir=tmp_path / "two", workers=2,
                            progress=lambda p: seen.append((p.stage, p.done, p.total)))
    one = load_split_groups(dataset, "all", recipe, ["Bass", "Drums"], cache_dir=tmp_path / "one", workers=1)
    names = [f"{t.parent.name}/{t.name}" for t in find_tracks(dataset, "all")]
    for a, b in zip(two, one, strict=True):
        assert [t.name for t in a] == [t.name for t in b] == names
        assert all(np.array_equal(x.audio, y.audio) for x, y in zip(a, b, strict=True))
    assert seen[0][1] == 0 and seen[-1][1:] == (len(names), len(names))
    assert sorted(d for _, d, _ in seen[1:-1]) == list(range(1, len(names) + 1))

@needs_samples
def test_real_slakh_layouts(tmp_path):
    recipe = load_recipe("band")
    # a mirdata data_home: slakh2100_flac_redux/train/Track00001 (44.1 kHz FLAC, S06 has no audio)
    redux = load_split(SLAKH_SAMPLES, "train", recipe, "Guitar", cache_dir=tmp_path)
    assert [t.name for t in redux] == ["train/Track00001"]
    assert redux[0].samples == 32000  # 2 s at 16 kHz
    # BabySlakh: no split folders, read with split 'all' (16 kHz WAV)
    with pytest.raises(DatasetError, match="split 'all'"):
        find_tracks(SLAKH_SAMPLES / "babyslakh_16k", "test")
    baby = load_split(SLAKH_SAMPLES / "babyslakh_16k", "all", recipe, "Guitar", cache_dir=tmp_path)
    assert [t.name for t in baby] == ["babyslakh_16k/Track00001"]
    assert rms_db(baby[0].target) == pytest.approx(rms_db(redux[0].target), abs=0.2)  # same excerpt, same level
