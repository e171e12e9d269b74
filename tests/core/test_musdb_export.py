"""MUSDB18-HQ export (issue #19 part 4): a really rendered dataset exported, then read back by the real musdb,
Open-Unmix and Demucs dataset loaders; stereo stems, resuming, refusals and bad input."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from slakh_gui.core.dataset.musdb_export import (
    MusdbExportError,
    export_musdb,
    parse_targets,
    target_groups,
)
from slakh_gui.core.dataset.recipes import RESIDUAL, RecipeError, load_recipe
from slakh_gui.core.jobs import Cancelled, CancelToken
from slakh_gui.core.render.track_folder import read_metadata
from slakh_gui.core.walk import DatasetNotFoundError
from tests.conftest import SLAKH_SAMPLES, needs_samples
from tests.core.test_dataset_stats import render_dataset

os.environ.setdefault("OMP_NUM_THREADS", "1")

LAYOUT = [("train", 1, 1, 0), ("train", 2, 2, 1), ("validation", 3, 3, 2), ("test", 4, 4, 3)]
TARGETS = ["bass", "drums", "guitar", "piano", "other"]
FILES = sorted([*TARGETS, "mixture"])


@pytest.fixture(scope="module")
def slakh(tmp_path_factory) -> Path:
    """Four tracks rendered by the real pipeline (piano, bass, guitar, drums, strings; 6 s of notes + 5 s tail)."""
    return render_dataset(tmp_path_factory.mktemp("musdb") / "ds", layout=LAYOUT)


@pytest.fixture(scope="module")
def exported(slakh, tmp_path_factory):
    seen = []
    out = tmp_path_factory.mktemp("musdb-out") / "mus"
    result = export_musdb(slakh, out, progress=seen.append)
    return out, result, seen


def read_int(path: Path) -> np.ndarray:
    return sf.read(str(path), dtype="int16", always_2d=True)[0]


def expected_targets(track: Path, targets: dict[str, list[str]]) -> dict[str, np.ndarray]:
    """Each target's stems summed as integers, straight from the track's 16-bit stem files (mono)."""
    metadata = read_metadata(track)
    groups = load_recipe("band").stem_groups(metadata)
    frames = sf.info(str(track / "mix.flac")).frames
    out = {}
    for target, gs in targets.items():
        acc = np.zeros(frames, dtype=np.int64)
        for g in gs:
            for key in groups[g]:
                f = track / "stems" / f"{key}.flac"
                if f.is_file():
                    a = read_int(f)[:, 0]
                    acc[: len(a)] += a
        out[target] = acc
    return out


# ---------------------------------------------------------------------------------------------- what is written


def test_export_writes_stereo_targets_that_sum_to_the_mixture(slakh, exported):
    out, result, seen = exported
    assert result.targets == TARGETS
    assert result.exported == ["train/Track00001", "train/Track00002", "train/Track00003", "test/Track00004"]
    assert result.counts == {"train": 3, "test": 1} and result.validation == ["Track00003"]
    assert sorted(p.name for p in out.iterdir()) == ["setup.yaml", "test", "train"]
    groups = target_groups(load_recipe("band"), TARGETS)
    assert groups == {"bass": ["Bass"], "drums": ["Drums"], "guitar": ["Guitar"], "piano": ["Piano"],
                      "other": [RESIDUAL]}
    for label, source in [("train/Track00001", "train/Track00001"), ("train/Track00003", "validation/Track00003"),
                          ("test/Track00004", "test/Track00004")]:
        folder = out / label
        assert sorted(p.stem for p in folder.iterdir()) == FILES
        frames = sf.info(str(slakh / source / "mix.flac")).frames
        for f in folder.iterdir():
            info = sf.info(str(f))
            assert (info.samplerate, info.channels, info.subtype, info.format, info.frames) == (
                44100, 2, "PCM_16", "WAV", frames), f
        audio = {f.stem: read_int(f) for f in folder.iterdir()}
        for target, want in expected_targets(slakh / source, groups).items():
            assert np.array_equal(audio[target][:, 0], audio[target][:, 1])  # mono stems on both channels
            assert np.array_equal(audio[target][:, 0].astype(np.int64), want), (label, target)
            assert np.abs(want).max() > 1000, (label, target)  # every target really plays (strings in other)
        total = sum(audio[t].astype(np.int64) for t in TARGETS)
        assert np.array_equal(audio["mixture"].astype(np.int64), total)  # exactly the sum of the target files
        mix = read_int(slakh / source / "mix.flac")[:, 0].astype(np.int64)
        assert np.abs(total[:, 0] - mix).max() <= 3  # Slakh's mix is the sum of its 16-bit stems, rounded
        assert result.mix_deviation[label] * 32768 <= 3
    assert result.clipped == {} and result.deviating() == {}
    assert [p.done for p in seen if p.stage == "musdb"][-1] == 4 and seen[-1].total == 4
    assert [p.item for p in seen if p.item] == result.exported


def test_musdb_reads_the_export(exported):
    import musdb

    out = exported[0]
    db = musdb.DB(root=str(out), is_wav=True, setup_file="setup.yaml")
    assert [(t.name, t.subset) for t in db] == [("Track00001", "train"), ("Track00002", "train"),
                                               ("Track00003", "train"), ("Track00004", "test")]
    assert db.sources_names == TARGETS
    valid = musdb.DB(root=str(out), is_wav=True, setup_file="setup.yaml", subsets="train", split="valid")
    train = musdb.DB(root=str(out), is_wav=True, setup_file="setup.yaml", subsets="train", split="train")
    assert [t.name for t in valid] == ["Track00003"] and [t.name for t in train] == ["Track00001", "Track00002"]
    assert [t.name for t in musdb.DB(root=str(out), is_wav=True, setup_file="setup.yaml", subsets="test")] == [
        "Track00004"]
    track = valid[0]
    mixture = track.audio
    assert mixture.shape == (track.samples, 2) and track.rate == 44100 and track.samples > 11 * 44100
    assert list(track.targets) == [*TARGETS, "linear_mixture"]
    bass = track.targets["bass"].audio
    assert bass.shape == mixture.shape
    assert np.array_equal(bass, sf.read(str(out / "train/Track00003/bass.wav"), always_2d=True)[0])
    total = sum(track.sources[s].audio for s in TARGETS)
    assert np.abs(total - mixture).max() < 1e-9
    assert np.abs(track.targets["linear_mixture"].audio - mixture).max() < 1e-9
    track.chunk_start, track.chunk_duration = 1.0, 2.0  # what Open-Unmix's training does
    assert track.targets["drums"].audio.shape == (88200, 2)


def test_openunmix_loaders_read_the_export(exported):
    import torch

    from tests.audio_loaders import openunmix_data

    out = exported[0]
    data = openunmix_data()
    # its MUSDB loader (train.py --dataset musdb --is-wav), given our setup file
    valid = data.MUSDBDataset(target="bass", root=str(out), is_wav=True, subsets="train", split="valid",
                              setup_file="setup.yaml", seq_duration=None, samples_per_track=1)
    assert len(valid) == 1
    x, y = valid[0]
    mixture = sf.read(str(out / "train/Track00003/mixture.wav"), dtype="float32")[0].T
    assert x.shape == y.shape == mixture.shape and torch.allclose(x, torch.from_numpy(mixture))
    train = data.MUSDBDataset(target="drums", root=str(out), is_wav=True, subsets="train", split="train",
                              setup_file="setup.yaml", seq_duration=2.0, samples_per_track=4)
    assert len(train) == 8
    x, y = train[5]
    assert x.shape == y.shape == (2, 88200) and x.dtype == torch.float32
    # its track-folder loader (--dataset trackfolder_fix): mixes target + interferers on the fly
    fixed = data.FixedSourcesTrackFolderDataset(root=str(out), split="train", target_file="bass.wav",
                                                interferer_files=["drums.wav", "guitar.wav", "piano.wav", "other.wav"])
    assert sorted(p["path"].name for p in fixed.tracks) == ["Track00001", "Track00002", "Track00003"]
    index = [p["path"].name for p in fixed.tracks].index("Track00003")
    x, y = fixed[index]
    assert torch.allclose(x, torch.from_numpy(mixture), atol=1e-6)
    assert torch.equal(y, torch.from_numpy(sf.read(str(out / "train/Track00003/bass.wav"), dtype="float32")[0].T))
    aligned = data.AlignedDataset(root=str(out), split="test", input_file="mixture.wav", output_file="drums.wav")
    x, y = aligned[0]
    assert len(aligned) == 1 and x.shape == y.shape and x.shape[0] == 2


def test_demucs_wav_loader_reads_the_export(exported):
    from tests.audio_loaders import demucs_wav

    out = exported[0]
    wav = demucs_wav()
    meta = wav.build_metadata(out / "train", TARGETS)
    assert sorted(meta) == ["Track00001", "Track00002", "Track00003"]
    assert {m["samplerate"] for m in meta.values()} == {44100}
    assert meta["Track00001"]["length"] == sf.info(str(out / "train/Track00001/mixture.wav")).frames
    full = wav.Wavset(out / "train", meta, ["mixture", *TARGETS], normalize=False, samplerate=44100, channels=2)
    example = full[0]
    assert example.shape == (6, 2, meta[next(iter(meta))]["length"])
    assert (example[0] - example[1:].sum(0)).abs().max().item() < 1e-6  # mixture = sum of the sources
    segments = wav.Wavset(out / "train", meta, TARGETS, segment=2.0, shift=1.0, samplerate=44100, channels=2)
    assert len(segments) > 3 * 9 and segments[4].shape == (5, 2, 88200)


# ---------------------------------------------------------------------------------------------- options


def test_targets_option_other_float_and_song_names(slakh, tmp_path):
    assert parse_targets("Drums, bass") == ["drums", "bass", "other"]
    groups = target_groups(load_recipe("band"), parse_targets("drums,bass"))
    assert groups["other"] == ["Piano", "Guitar", RESIDUAL]
    out = tmp_path / "mus"
    result = export_musdb(slakh / "test", out, targets="drums,bass", sample_format="float32", song_names=True)
    name = "Track00004 - ds-song4"  # the source MIDI file's name (metadata lmd_midi_dir)
    assert result.exported == [f"train/{name}"]  # tracks outside split folders go to train/
    folder = out / "train" / name
    assert sorted(p.stem for p in folder.iterdir()) == ["bass", "drums", "mixture", "other"]
    audio = {}
    for f in folder.iterdir():
        info = sf.info(str(f))
        assert (info.subtype, info.channels, info.samplerate) == ("FLOAT", 2, 44100)
        audio[f.stem] = sf.read(str(f), dtype="float64")[0]
    assert np.abs(audio["mixture"] - audio["bass"] - audio["drums"] - audio["other"]).max() < 1e-6
    want = expected_targets(slakh / "test/Track00004", groups)
    assert np.array_equal(audio["other"][:, 0] * 32768, want["other"])  # piano + guitar + strings, exactly
    import musdb

    track = musdb.DB(root=str(out), is_wav=True, setup_file="setup.yaml")[0]
    assert (track.name, track.artist, track.title) == (name, "Track00004", "ds-song4")
    assert list(track.sources) == ["drums", "bass", "other"]


def test_stereo_stems_are_written_as_they_are(slakh, tmp_path):
    """A stereo render's track (issue #19 part 1): stems of 2 channels, a stereo mix; mono stems beside them."""
    src = tmp_path / "stereo" / "Track00009"
    shutil.copytree(slakh / "train" / "Track00001", src)
    groups = load_recipe("band").stem_groups(read_metadata(src))
    stereo = {groups["Piano"][0], groups["Drums"][0]}
    stems = {}
    for f in sorted((src / "stems").glob("*.flac")):
        mono = read_int(f)[:, 0]
        if f.stem in stereo:  # a panned stem: left and right differ
            stems[f.stem] = np.stack([mono, (mono // 2).astype(np.int16)], axis=1)
            sf.write(str(f), stems[f.stem], 44100, subtype="PCM_16")
        else:
            stems[f.stem] = np.stack([mono, mono], axis=1)
    mix = np.clip(sum(s.astype(np.int64) for s in stems.values()), -32768, 32767).astype(np.int16)
    sf.write(str(src / "mix.flac"), mix, 44100, subtype="PCM_16")
    out = tmp_path / "mus"
    result = export_musdb(src, out)
    folder = out / "train" / "Track00009"
    piano, drums, bass = (read_int(folder / f"{t}.wav") for t in ("piano", "drums", "bass"))
    assert np.array_equal(piano, stems[groups["Piano"][0]]) and np.array_equal(drums, stems[groups["Drums"][0]])
    assert not np.array_equal(piano[:, 0], piano[:, 1])
    assert np.array_equal(bass[:, 0], bass[:, 1])  # a mono stem of the same track: on both channels
    total = sum(read_int(folder / f"{t}.wav").astype(np.int64) for t in TARGETS)
    assert np.array_equal(read_int(folder / "mixture.wav").astype(np.int64), total)
    assert np.array_equal(total, mix)  # here the stereo mix is the plain sum of the stems
    assert result.mix_deviation["train/Track00009"] == 0.0


def test_a_mix_that_is_not_the_sum_of_its_stems_is_reported(slakh, tmp_path):
    src = tmp_path / "flakh" / "Track00001"
    shutil.copytree(slakh / "train" / "Track00001", src)
    mix = read_int(src / "mix.flac")
    sf.write(str(src / "mix.flac"), (mix // 2).astype(np.int16), 44100, subtype="PCM_16")  # not the stems' sum
    result = export_musdb(src, tmp_path / "mus")
    assert list(result.deviating()) == ["train/Track00001"]
    folder = tmp_path / "mus" / "train" / "Track00001"
    total = sum(read_int(folder / f"{t}.wav").astype(np.int64) for t in TARGETS)
    assert np.array_equal(read_int(folder / "mixture.wav").astype(np.int64), total)  # still the sum


# ---------------------------------------------------------------------------------------------- resume, refusals


def test_resume_keeps_finished_tracks_and_refuses_other_settings(slakh, exported, tmp_path):
    out = tmp_path / "mus"
    shutil.copytree(exported[0], out)
    stamp = {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")}
    again = export_musdb(slakh, out)
    assert again.exported == [] and len(again.already_done) == 4
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.wav")} == stamp
    shutil.rmtree(out / "train" / "Track00002")
    (out / "train" / ".Track00001.partial-x1").mkdir()  # left by a killed run: musdb would list it
    again = export_musdb(slakh, out)
    assert again.exported == ["train/Track00002"] and not list(out.rglob(".*partial*"))
    assert [read_int(p).tolist() == read_int(exported[0] / p.relative_to(out)).tolist()
            for p in sorted((out / "train/Track00002").iterdir())] == [True] * 6
    with pytest.raises(MusdbExportError, match=r"other settings \(targets\): use --overwrite"):
        export_musdb(slakh, out, targets="drums")
    with pytest.raises(MusdbExportError, match=r"other tracks \(train/Track00001 is not in the source\)"):
        export_musdb(slakh / "test", out)
    over = export_musdb(slakh / "test", out, targets="drums", overwrite=True)
    assert over.exported == ["train/Track00004"]
    assert sorted(over.removed) == ["test/Track00004", "train/Track00001", "train/Track00002", "train/Track00003"]
    assert sorted(p.relative_to(out).as_posix() for p in out.glob("*/*")) == ["train/Track00004"]
    assert sorted(p.stem for p in (out / "train/Track00004").iterdir()) == ["drums", "mixture", "other"]


def test_a_folder_that_is_not_an_export_is_refused(slakh, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep me")
    with pytest.raises(MusdbExportError, match="not empty and holds no Slakh Studio MUSDB export"):
        export_musdb(slakh / "test", out)
    assert sorted(p.name for p in out.iterdir()) == ["notes.txt"]
    result = export_musdb(slakh / "test", out, overwrite=True)
    assert result.exported == ["train/Track00004"] and (out / "notes.txt").read_text() == "keep me"
    with pytest.raises(MusdbExportError, match="must be outside the source"):
        export_musdb(slakh, slakh / "mus")


def test_cancel_leaves_finished_tracks_and_resumes(slakh, tmp_path):
    token = CancelToken()

    def progress(p):
        if p.item == "train/Track00002":
            token.cancel()

    out = tmp_path / "mus"
    with pytest.raises(Cancelled):
        export_musdb(slakh, out, progress=progress, cancel=token)
    assert sorted(p.name for p in (out / "train").iterdir()) == ["Track00001"]  # nothing half-written
    result = export_musdb(slakh, out)
    assert result.already_done == ["train/Track00001"] and len(result.exported) == 3


# ---------------------------------------------------------------------------------------------- bad input


def test_bad_input_is_one_clear_error(slakh, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(DatasetNotFoundError, match="no TrackNNNNN folders"):
        export_musdb(empty, tmp_path / "o1")
    broken = tmp_path / "broken"
    shutil.copytree(slakh, broken)
    key = sorted((broken / "train/Track00002/stems").glob("*.flac"))[1]
    key.unlink()
    with pytest.raises(MusdbExportError) as info:
        export_musdb(broken, tmp_path / "o2")
    message = str(info.value)
    assert "\n" not in message and "Track00002" in message and f"stem {key.stem} rendered" in message
    assert "nothing was written" in message and not (tmp_path / "o2").exists()
    with pytest.raises(RecipeError, match="has no group 'vocals'"):
        export_musdb(slakh, tmp_path / "o3", targets="vocals,drums")
    with pytest.raises(MusdbExportError, match="listed twice"):
        export_musdb(slakh, tmp_path / "o3", targets="drums,Drums")
    with pytest.raises(MusdbExportError, match="reserved by musdb"):
        export_musdb(slakh, tmp_path / "o3", targets="mixture")
    wide = tmp_path / "wide" / "Track00001"
    shutil.copytree(slakh / "train/Track00001", wide)
    f = next((wide / "stems").glob("*.flac"))
    sf.write(str(f), np.zeros((100, 3), dtype=np.int16), 44100, subtype="PCM_16")
    with pytest.raises(MusdbExportError, match="3 channels"):
        export_musdb(wide, tmp_path / "o4")


@needs_samples
def test_real_slakh2100_and_babyslakh_tracks(tmp_path):
    import musdb

    redux = SLAKH_SAMPLES / "slakh2100_flac_redux"  # S06 has metadata but no audio (audio_rendered: false)
    result = export_musdb(redux, tmp_path / "redux")
    assert result.exported == ["train/Track00001"] and result.mix_deviation["train/Track00001"] == 0.0
    baby = SLAKH_SAMPLES / "babyslakh_16k"  # 16 kHz WAV; Track00007 has only MIDI: not a track
    with pytest.raises(MusdbExportError, match="Track00007: not a Slakh track folder: no metadata.yaml"):
        export_musdb(baby, tmp_path / "baby")
    result = export_musdb(baby / "Track00001", tmp_path / "baby")  # stems say audio_rendered: false, files exist
    assert result.exported == ["train/Track00001"]
    for root, frames in ((tmp_path / "redux", 88200), (tmp_path / "baby", 88200)):  # 2 s, 16 kHz resampled
        track = musdb.DB(root=str(root), is_wav=True, setup_file="setup.yaml")[0]
        assert track.audio.shape == (frames, 2) and track.rate == 44100
        assert np.abs(sum(track.sources[s].audio for s in TARGETS) - track.audio).max() < 1e-9
        assert np.abs(track.audio).max() > 0.01
