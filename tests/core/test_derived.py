"""Derived data (slakh-utils style): format/sample-rate conversion and submixes, on real renders and real Slakh."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from slakh_gui.core.dataset import derived
from slakh_gui.core.dataset.recipes import load_recipe
from slakh_gui.core.jobs import Cancelled, CancelToken
from tests.conftest import SLAKH_SAMPLES, needs_samples
from tests.core.test_dataset_stats import LAYOUT, render_dataset

REDUX_TRACK = SLAKH_SAMPLES / "slakh2100_flac_redux" / "train" / "Track00001"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return render_dataset(tmp_path_factory.mktemp("derived") / "ds", layout=LAYOUT[:3])


def _int16(path: Path) -> tuple[np.ndarray, int]:
    data, sr = sf.read(path, dtype="int16")
    return data, sr


def _tree(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


# ---------------------------------------------------------------------------------------------- convert


def test_convert_to_16k_wav_keeps_layout(dataset, tmp_path):
    out = tmp_path / "out"
    seen = []
    res = derived.convert(dataset, out, sample_rate=16000, fmt="wav", progress=seen.append)
    assert res.tracks == 3 and not res.failed and res.up_to_date == 0
    expected = sorted(p.replace(".flac", ".wav") for p in _tree(dataset))
    assert _tree(out) == expected  # same splits, tracks, stems, MIDI; audio as .wav
    for src in dataset.rglob("*.flac"):
        dst = out / src.relative_to(dataset).with_suffix(".wav")
        info = sf.info(str(dst))
        assert (info.samplerate, info.subtype, info.channels, info.format) == (16000, "PCM_16", 1, "WAV")
        n = sf.info(str(src)).frames
        assert info.frames == math.ceil(n * 160 / 441)  # resample_poly's output length
    # Resampled content: the same samples scipy gives for the original, to within the 16-bit rounding.
    from scipy.signal import resample_poly

    x, _ = sf.read(dataset / "train/Track00001/mix.flac", dtype="float32")
    ref = np.clip(np.rint(resample_poly(x.astype(np.float64), 160, 441) * 32768), -32768, 32767)
    got, _ = _int16(out / "train/Track00001/mix.wav")
    assert np.max(np.abs(got - ref)) <= 1
    for name in ("all_src.mid", "MIDI/S00.mid"):
        assert (out / "train/Track00001" / name).read_bytes() == (dataset / "train/Track00001" / name).read_bytes()
    meta = yaml.safe_load((out / "train/Track00001/metadata.yaml").read_text())
    orig = yaml.safe_load((dataset / "train/Track00001/metadata.yaml").read_text())
    assert meta["slakh_studio"]["sample_rate"] == 16000
    meta["slakh_studio"]["sample_rate"] = 44100
    assert meta == orig
    assert seen[-1].done == seen[-1].total == 3


def test_convert_flac_to_wav_is_lossless_and_idempotent(dataset, tmp_path):
    out = tmp_path / "wav"
    first = derived.convert(dataset / "validation", out, fmt="wav")
    assert first.written > 0
    for src in (dataset / "validation").rglob("*.flac"):
        a, sra = _int16(src)
        b, srb = _int16(out / src.relative_to(dataset / "validation").with_suffix(".wav"))
        assert sra == srb == 44100 and np.array_equal(a, b)
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()}
    again = derived.convert(dataset / "validation", out, fmt="wav")
    assert (again.written, again.up_to_date) == (0, first.written)
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*") if p.is_file()} == stamps
    (out / "Track00003" / "stems" / "S01.wav").unlink()
    assert derived.convert(dataset / "validation", out, fmt="wav").written == 1


@needs_samples
def test_convert_real_slakh_track(tmp_path):
    res = derived.convert(REDUX_TRACK, tmp_path / "o", sample_rate=16000, fmt="wav")
    track = tmp_path / "o" / "train" / "Track00001"
    assert res.tracks == 1 and not res.failed
    assert sorted(p.name for p in (track / "stems").iterdir()) == sorted(
        p.name.replace(".flac", ".wav") for p in (REDUX_TRACK / "stems").iterdir())
    assert (track / "metadata.yaml").read_bytes() == (REDUX_TRACK / "metadata.yaml").read_bytes()
    # BabySlakh is Slakh2100 at 16 kHz: our 16 kHz guitar stem matches its S00.wav closely.
    ours, _ = sf.read(track / "stems" / "S00.wav")
    baby, _ = sf.read(SLAKH_SAMPLES / "babyslakh_16k" / "Track00001" / "stems" / "S00.wav")
    n = min(len(ours), len(baby))
    assert abs(len(ours) - len(baby)) <= 1
    assert np.corrcoef(ours[:n], baby[:n])[0, 1] > 0.99


def test_convert_data_home_with_linked_splits(dataset, tmp_path):
    home = tmp_path / "home" / "slakh2100_flac_redux"
    home.mkdir(parents=True)
    (home / "train").symlink_to(dataset / "train")  # as the dataset runner links its split folders for mirdata
    res = derived.convert(tmp_path / "home", tmp_path / "o")
    assert res.tracks == 2 and not res.failed
    assert (tmp_path / "o/slakh2100_flac_redux/train/Track00002/mix.flac").is_file()
    assert not (tmp_path / "o/slakh2100_flac_redux/train").is_symlink()


def test_convert_skips_unreadable_tracks_and_checks_options(dataset, tmp_path):
    src = tmp_path / "src"
    shutil.copytree(dataset / "train", src / "train")
    (src / "train" / "Track00002" / "mix.flac").write_bytes(b"garbage")
    (src / "train" / "Track00008").mkdir()
    res = derived.convert(src, tmp_path / "o")
    assert res.tracks == 1
    assert [t for t, _ in res.failed] == ["train/Track00002", "train/Track00008"]
    assert "no metadata.yaml" in res.failed[1][1]
    assert (tmp_path / "o" / "train" / "Track00001" / "metadata.yaml").is_file()
    assert not (tmp_path / "o" / "train" / "Track00002" / "metadata.yaml").exists()  # written last: not done
    with pytest.raises(derived.DerivedError, match="must be outside"):
        derived.convert(src, src / "inside")
    with pytest.raises(derived.DerivedError, match="unknown audio format"):
        derived.convert(src, tmp_path / "x", fmt="mp3")
    with pytest.raises(derived.DerivedError, match="out of range"):
        derived.convert(src, tmp_path / "x", sample_rate=10)


def test_convert_cancel_leaves_no_partial_files(dataset, tmp_path):
    token = CancelToken()
    calls = []

    def progress(p):
        calls.append(p)
        if len(calls) == 2:
            token.cancel()

    with pytest.raises(Cancelled):
        derived.convert(dataset, tmp_path / "o", progress=progress, cancel=token)
    names = [p.name for p in (tmp_path / "o").rglob("*")]
    assert not any(n.endswith(".part") for n in names)
    assert (tmp_path / "o" / "train" / "Track00001" / "metadata.yaml").is_file()
    assert not (tmp_path / "o" / "validation").exists()


# ---------------------------------------------------------------------------------------------- submix


def test_band_submix_sums_stems_like_slakh_utils(dataset, tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(dataset / "train", root / "train")
    res = derived.submix(root, "band")
    assert res.tracks == 2 and res.written == 10 and not res.failed
    track = root / "train" / "Track00001"
    assert sorted(p.name for p in (track / "band").iterdir()) == [
        "bass.flac", "drums.flac", "guitar.flac", "piano.flac", "residuals.flac"]
    meta = yaml.safe_load((track / "metadata.yaml").read_text())
    groups = load_recipe("band").stem_groups(meta)
    mix, _ = sf.read(track / "mix.flac", dtype="float64")
    total = np.zeros_like(mix)
    for group, keys in groups.items():
        name = "residuals" if group == "residual" else group.lower()
        got, sr = sf.read(track / "band" / f"{name}.flac", dtype="float64")
        assert sr == 44100 and len(got) == len(mix)
        want = sum((sf.read(track / "stems" / f"{k}.flac", dtype="float64")[0] for k in keys
                    if (track / "stems" / f"{k}.flac").is_file()), np.zeros_like(mix))
        assert np.max(np.abs(got - want)) <= 1.01 / 32768, group  # one 16-bit rounding
        total += got
    assert np.max(np.abs(total - mix)) < 8 / 32768  # the submixes add up to the mix
    # The strings stem (program 48) is the residual; the FX track has no audio and adds nothing.
    assert groups["residual"] == [k for k, v in meta["stems"].items() if v["program_num"] in (48, 103)]
    again = derived.submix(root, "band")
    assert (again.written, again.up_to_date) == (0, 10)
    assert derived.submix(root, "band", overwrite=True).written == 10


def test_custom_recipe_names_and_empty_group(dataset, tmp_path):
    root = tmp_path / "ds"
    shutil.copytree(dataset / "validation", root / "validation")
    recipe = tmp_path / "my_pianos.yaml"
    recipe.write_text('Mixing key: "program_num"\nRecipes:\n  Favorite Piano Sounds: [0, 1]\n  Brass: [56, 57]\n')
    res = derived.submix(root, recipe, fmt="wav")
    out = root / "validation" / "Track00003" / "my_pianos"
    assert res.written == 3 and sorted(os.listdir(out)) == ["brass.wav", "favorite_piano_sounds.wav",
                                                            "residuals.wav"]
    brass, _ = sf.read(out / "brass.wav")
    assert len(brass) == sf.info(str(root / "validation/Track00003/mix.flac")).frames and not brass.any()
    derived.submix(root, "band", name="Four Piece")
    assert (root / "validation" / "Track00003" / "four_piece" / "drums.flac").is_file()
    with pytest.raises(derived.DerivedError, match="clash"):
        derived.submix(root, "band", name="stems")


@needs_samples
def test_submix_real_slakh_track(tmp_path):
    track = tmp_path / "train" / "Track00001"
    shutil.copytree(REDUX_TRACK, track)
    res = derived.submix(tmp_path, "band")
    assert res.tracks == 1 and not res.failed
    guitar, _ = sf.read(track / "band" / "guitar.flac", dtype="float64")
    # Real metadata: guitars are S00 (Distortion), S07 (jazz) and S08 (Distortion).
    want = sum(sf.read(track / "stems" / f"S0{k}.flac", dtype="float64")[0] for k in (0, 7, 8))
    assert np.max(np.abs(guitar - want)) <= 1.01 / 32768 and np.any(guitar)
