"""Lint checks on real renders, real white noise, real SoundFonts (key ranges checked against FluidSynth itself)
and the real Slakh2100 samples."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import yaml

from slakh_gui.core.bank import sf2_ranges
from slakh_gui.core.bank.patches import load_bank
from slakh_gui.core.dataset import lint
from slakh_gui.core.render.layout import dump_metadata
from tests.conftest import DATA, SLAKH_SAMPLES, needs_samples
from tests.core.test_dataset_stats import LAYOUT, render_dataset

TIMGM = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")
FLUIDR3 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
MUSESCORE = Path("/usr/share/sounds/sf3/MuseScore_General.sf3")


@pytest.fixture(scope="module")
def bank():
    return load_bank(DATA / "small_bank.yaml")


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    return render_dataset(tmp_path_factory.mktemp("lint") / "ds", layout=LAYOUT)


def _copy_track(dataset: Path, tmp_path: Path, name: str = "train/Track00001") -> Path:
    dst = tmp_path / name
    shutil.copytree(dataset / name, dst)
    return dst


def _meta(track: Path) -> dict:
    return yaml.safe_load((track / "metadata.yaml").read_text())


def _stem_of(track: Path, inst_class: str) -> str:
    return next(k for k, v in _meta(track)["stems"].items() if v["inst_class"] == inst_class and v["audio_rendered"])


# ---------------------------------------------------------------------------------------------- key ranges


def _fluid_peak(sf_path: Path, bank: int, preset: int, pitch: int, drum: bool) -> float:
    """Peak of one note rendered by FluidSynth itself with this preset."""
    from slakh_gui.core.render import synth

    inst = pretty_midi.Instrument(0, is_drum=drum)
    inst.notes.append(pretty_midi.Note(100, pitch, 0.05, 0.5))
    job = synth.StemJob("S00", inst, sf_path, bank, preset, drum)
    return float(np.max(np.abs(synth.render_one(job, 44100))))


@pytest.mark.parametrize(("sf_path", "bank", "preset", "drum", "inside", "outside"), [
    (TIMGM, 128, 0, True, 36, 90),  # standard kit: 27-87
    (FLUIDR3, 0, 33, False, 40, 96),  # fingered bass: 0-84
])
def test_key_ranges_agree_with_fluidsynth(sf_path, bank, preset, drum, inside, outside):
    r = sf2_ranges.key_ranges(sf_path, bank, preset)
    assert r.plays(inside) and not r.plays(outside)
    assert _fluid_peak(sf_path, bank, preset, inside, drum) > 0.01
    assert _fluid_peak(sf_path, bank, preset, outside, drum) == 0.0


def test_key_ranges_known_presets_sf2_and_sf3():
    assert sf2_ranges.key_ranges(TIMGM, 128, 0).ranges == ((27, 87),)
    assert sf2_ranges.key_ranges(FLUIDR3, 0, 33).ranges == ((0, 84),)
    assert sf2_ranges.key_ranges(TIMGM, 0, 0).name == "Piano 1"
    assert sf2_ranges.key_ranges(TIMGM, 5, 5) is None
    presets = sf2_ranges.preset_ranges(MUSESCORE)  # SF3 (Ogg samples): same preset data
    assert len(presets) > 100 and presets[(0, 0)].ranges == ((12, 108),)
    assert sf2_ranges.preset_ranges(MUSESCORE) is presets  # cached
    assert presets[(0, 0)].outside([11, 12, 60, 108, 109, 109]) == [11, 109]


def test_key_ranges_bad_files(tmp_path):
    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFX" + b"\0" * 100)
    with pytest.raises(sf2_ranges.SoundFontRangeError, match="not a SoundFont"):
        sf2_ranges.preset_ranges(bad)
    cut = tmp_path / "cut.sf2"
    cut.write_bytes(TIMGM.read_bytes()[:5000])
    with pytest.raises(sf2_ranges.SoundFontRangeError, match="no pdta"):
        sf2_ranges.preset_ranges(cut)
    with pytest.raises(sf2_ranges.SoundFontRangeError, match="cannot read"):
        sf2_ranges.preset_ranges(tmp_path / "missing.sf2")


# ---------------------------------------------------------------------------------------------- per track


def test_clean_render_has_no_findings(dataset, bank):
    for track in sorted(dataset.glob("*/Track*")):
        assert lint.lint_track(track, bank) == []


def test_white_noise_stem_is_flagged_instruments_are_not(dataset, tmp_path):
    track = _copy_track(dataset, tmp_path)
    key = _stem_of(track, "Guitar")
    info = sf.info(str(track / "stems" / f"{key}.flac"))
    noise = np.random.default_rng(0).standard_normal(info.frames) * 0.05
    sf.write(track / "stems" / f"{key}.flac", noise, info.samplerate, subtype="PCM_16")
    found = lint.lint_track(track)
    assert [(f.stem, f.kind) for f in found] == [(key, "noise")]
    assert found[0].details["noise_frames"] > 0.95 and found[0].track == "train/Track00001"
    # Every real rendered instrument (drums included) scores far from noise.
    for f in sorted(dataset.glob("*/Track*/stems/*.flac")):
        share, median = lint.noise_score(sf.read(f, dtype="float32")[0])
        assert share < 0.2 and median < 0.3, f


def test_silent_stem(dataset, tmp_path):
    track = _copy_track(dataset, tmp_path)
    key = _stem_of(track, "Bass")
    info = sf.info(str(track / "stems" / f"{key}.flac"))
    sf.write(track / "stems" / f"{key}.flac", np.zeros(info.frames), info.samplerate, subtype="PCM_16")
    found = lint.lint_track(track)
    assert [(f.stem, f.kind) for f in found] == [(key, "silent")]
    assert found[0].details["peak_db"] is None


def test_out_of_range_notes(tmp_path, bank):
    # The drum stem's MIDI (what the runner checks) gets keys 20 and 95 besides its 36/38/42: both kits of the
    # bank have samples for keys 27-87 only (FluidSynth renders such notes as silence, see above).
    root = tmp_path / "ds"
    render_dataset(root, layout=[("train", 1, 1, 0)])
    track = root / "train" / "Track00001"
    key = _stem_of(track, "Drums")
    mid = pretty_midi.PrettyMIDI(str(track / "MIDI" / f"{key}.mid"))
    mid.instruments[0].notes += [pretty_midi.Note(100, 20, 1.0, 1.2), pretty_midi.Note(100, 95, 2.0, 2.2)]
    mid.write(str(track / "MIDI" / f"{key}.mid"))
    assert lint.lint_track(track) == []  # no bank: no range check
    found = lint.lint_track(track, bank)
    assert [(f.stem, f.kind) for f in found] == [(key, "out_of_range")]
    d = found[0].details
    assert d["pitches_outside"] == [20, 95] and d["notes_outside"] == 2 and d["playable"] == [[27, 87]]
    assert d["patch"] == _meta(track)["stems"][key]["plugin_name"]


def test_unmeasured_loudness_is_measured_again(dataset, tmp_path):
    track = _copy_track(dataset, tmp_path)
    meta = _meta(track)
    key = _stem_of(track, "Piano")
    del meta["stems"][key]["integrated_loudness"]
    (track / "metadata.yaml").write_text(dump_metadata(meta))
    found = lint.lint_track(track)
    assert [(f.stem, f.kind) for f in found] == [(key, "unmeasured_loudness")]
    # The stem as written was normalized to -13 LUFS and then scaled by overall_gain.
    expected = -13.0 + 20 * math.log10(meta["overall_gain"])
    assert found[0].details["measured_lufs"] == pytest.approx(expected, abs=0.3)


def test_missing_audio_and_render_skips(dataset, tmp_path):
    track = _copy_track(dataset, tmp_path)
    meta = _meta(track)
    gone, silent, quiet = (_stem_of(track, c) for c in ("Guitar", "Bass", "Piano"))
    for k in (gone, silent, quiet):
        (track / "stems" / f"{k}.flac").unlink()
    # As the pipeline records stems that rendered silent or unmeasurable (audio_rendered false, reason kept).
    for k, why in ((silent, "silent: the render produced only digital silence"),
                   (quiet, "too quiet to measure: BS.1770 integrated loudness is -inf")):
        meta["stems"][k]["audio_rendered"] = False
        meta["slakh_studio"]["not_rendered"][k] = why
    (track / "metadata.yaml").write_text(dump_metadata(meta))
    found = {f.stem: f for f in lint.lint_track(track)}
    assert {k: f.kind for k, f in found.items()} == {gone: "missing_audio", silent: "silent",
                                                     quiet: "unmeasured_loudness"}
    assert found[silent].details["notes"] > 0 and found[gone].actions == ("reroll_patch", "drop_stem")
    # The FX track (no patch in the bank, no MIDI, no audio) is not a finding.
    fx = next(k for k, v in meta["stems"].items() if v["program_num"] == 103)
    assert fx not in found


@needs_samples
def test_real_slakh_samples():
    track = SLAKH_SAMPLES / "slakh2100_flac_redux" / "train" / "Track00001"
    found = lint.lint_track(track)
    # A 2-s excerpt: only S00 (guitar) sounds in it, the other stems are digital silence; S06 (Sound Effects,
    # plugin 'None', no audio by design) and the real guitar are not findings.
    assert {f.stem for f in found if f.kind == "silent"} == {"S01", "S02", "S03", "S04", "S05", "S07", "S08",
                                                             "S09", "S10"}
    assert all(f.kind == "silent" for f in found)
    baby = lint.lint_tree(SLAKH_SAMPLES / "babyslakh_16k")
    assert [(f.track, f.kind) for f in baby if f.kind != "silent"] == [("Track00007", "unreadable")]


# ---------------------------------------------------------------------------------------------- per dataset


def test_duplicates_within_and_across_splits(dataset, tmp_path):
    root = tmp_path / "ds"
    for name in ("train/Track00001", "train/Track00002", "validation/Track00003", "test/Track00004"):
        shutil.copytree(dataset / name, root / name)
    shutil.copytree(dataset / "train/Track00002", root / "train/Track00005")  # same UUID, same split
    # Same all_src.mid under another UUID (a re-saved copy): found by MD5.
    shutil.copytree(dataset / "validation/Track00003", root / "test/Track00006")
    meta = _meta(root / "test/Track00006")
    meta["UUID"] = "0" * 32
    (root / "test/Track00006/metadata.yaml").write_text(dump_metadata(meta))
    found = {f.track: f for f in lint.lint_dataset(lint.discover_tracks(root))}
    assert {t: f.kind for t, f in found.items()} == {
        "train/Track00005": "duplicate_midi",  # kept: train/Track00002
        "test/Track00004": "cross_split_duplicate",  # Track00001's MIDI rendered again, in test
        "test/Track00006": "cross_split_duplicate",  # validation/Track00003's file
    }
    assert found["test/Track00004"].details["duplicate_of"] == "train/Track00001"
    assert found["test/Track00006"].details["duplicate_of"] == "validation/Track00003"
    assert "all_src.mid MD5" in found["test/Track00006"].message and "UUID" not in found["test/Track00006"].message
    assert found["train/Track00005"].stem is None and found["train/Track00005"].actions == ("drop_track",)
    # Plain paths and (split, dir) pairs are accepted too.
    pairs = [("train", root / "train/Track00002"), ("train", root / "train/Track00005")]
    assert [f.kind for f in lint.lint_dataset(pairs)] == ["duplicate_midi"]


def test_lint_yaml_round_trip(dataset, tmp_path):
    findings = lint.lint_dataset(lint.discover_tracks(dataset))
    assert [f.kind for f in findings] == ["cross_split_duplicate"]
    path = lint.write_lint(tmp_path / "lint.yaml", findings)
    data = yaml.safe_load(path.read_text())
    assert data["format"] == lint.LINT_FORMAT and data["counts"] == {"cross_split_duplicate": 1}
    assert lint.read_lint(path) == findings
    (tmp_path / "other.yaml").write_text("findings: [{track: T, kind: silent, stem: S00, scope: track}]\n")
    assert lint.read_lint(tmp_path / "other.yaml") == [lint.Finding("T", "S00", "silent", "")]
    (tmp_path / "bad.yaml").write_text("just: text\n")
    with pytest.raises(lint.LintError, match="needs a 'findings' list"):
        lint.read_lint(tmp_path / "bad.yaml")


def test_lint_track_uses_audio_given_in_memory(dataset):
    track = dataset / "train" / "Track00002"
    key = _stem_of(track, "Piano")
    n = sf.info(str(track / "stems" / f"{key}.flac")).frames
    given = {key: (np.random.default_rng(1).standard_normal(n) * 0.05).astype(np.float32)}
    assert [(f.stem, f.kind) for f in lint.lint_track(track, audio=given)] == [(key, "noise")]
    real = {k: sf.read(f, dtype="float32")[0] for k in _meta(track)["stems"]
            if (f := track / "stems" / f"{k}.flac").is_file()}
    assert lint.lint_track(track, audio=real) == lint.lint_track(track) == []
