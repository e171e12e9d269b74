"""``--stereo`` / ``--pan`` on ``render`` and ``dataset``, the session field, and a stereo dataset read by the
dataset runner's resume, mirdata, the separation data loader and the dataset statistics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from slakh_gui.core.dataset import mirdata_index
from slakh_gui.core.dataset.builder import DatasetError, DatasetOptions, load_manifest, run_dataset
from slakh_gui.core.midi import corpus
from slakh_gui.core.studio.session import SESSION_FORMAT, Session, SessionError, load_session, save_session
from tests.cli.helpers import one_line_error, run

DATA = Path(__file__).resolve().parent.parent / "data"
SMALL_BANK = DATA / "small_bank.yaml"


def test_render_stereo_json_files_and_pan_errors(tmp_path, small_song_path, capsys):
    code, out, err = run(["render", small_song_path, "-o", tmp_path, "--bank", SMALL_BANK, "--stereo", "--pan", "midi",
                          "--tail", "1", "--json"], capsys)
    assert code == 0, err
    info = json.loads(out)
    assert info["channels"] == 2
    track = tmp_path / "Track00001"
    assert sf.info(str(track / "mix.flac")).channels == 2
    assert all(sf.info(str(track / "stems" / f"{k}.flac")).channels == 2 for k in info["rendered"])
    meta = yaml.safe_load((track / "metadata.yaml").read_text())
    assert meta["slakh_studio"]["channels"] == 2 and meta["slakh_studio"]["pan_mode"] == "midi"
    assert {p["source"] for p in meta["slakh_studio"]["pan"].values()} == {"midi"}
    code, out, _ = run(["render", small_song_path, "-o", tmp_path / "m", "--bank", SMALL_BANK, "--tail", "1"], capsys)
    assert code == 0 and ", stereo" not in out
    meta = yaml.safe_load((tmp_path / "m" / "Track00001" / "metadata.yaml").read_text())
    assert meta["slakh_studio"]["channels"] == 1 and "pan" not in meta["slakh_studio"]
    assert sf.info(str(tmp_path / "m" / "Track00001" / "mix.flac")).channels == 1
    code, _, err = run(["render", small_song_path, "-o", tmp_path / "x", "--pan", "none"], capsys)
    assert code == 1 and "add --stereo" in one_line_error(err)


def test_session_stereo_field_saved_loaded_and_replayed(tmp_path, small_song_path, capsys):
    old = tmp_path / "old.json"
    old.write_text(json.dumps({"format": SESSION_FORMAT, "song": str(small_song_path), "options": {"fx": True}}))
    s = load_session(old)
    assert s.stereo is False and s.options["stereo"] is False and not s.render_options().stereo  # old files: mono
    stereo = Session(song=small_song_path, bank=SMALL_BANK, output_dir=tmp_path / "o",
                     options={"tail": 1.0, "stereo": True, "pan": "none"})
    save_session(stereo, tmp_path / "s.json")
    data = json.loads((tmp_path / "s.json").read_text())
    assert data["options"]["stereo"] is True and data["options"]["pan"] == "none"
    back = load_session(tmp_path / "s.json")
    assert back == stereo.resolve(tmp_path) or back.options == stereo.options
    opts = back.render_options()
    assert opts.stereo and opts.pan == "none"
    code, out, err = run(["render", "--session", tmp_path / "s.json"], capsys)
    assert code == 0, err
    assert ", stereo" in out and sf.info(str(tmp_path / "o" / "Track00001" / "mix.flac")).channels == 2
    code, _, err = run(["render", "--session", tmp_path / "s.json", "--stereo"], capsys)
    assert code == 1 and "--stereo cannot be combined" in one_line_error(err)
    for bad, words in (({"stereo": "yes"}, "options/stereo"), ({"pan": "wide"}, "options/pan")):
        (tmp_path / "bad.json").write_text(json.dumps({"format": SESSION_FORMAT, "song": str(small_song_path),
                                                       "options": bad}))
        with pytest.raises(SessionError, match=words):
            load_session(tmp_path / "bad.json")


def test_project_settings_keep_stereo_through_a_session_and_render_stereo_audio(tmp_path, small_song_path):
    """The app's document: the stereo setting goes to the session and back; a stereo render writes stereo files
    and hands the app (mixer, player) the stereo (n, 2) audio, with its peaks over both channels."""
    from slakh_gui.core.bank import patches
    from slakh_gui.core.midi import midifile
    from slakh_gui.core.studio.project import Project

    song, bank = midifile.load_song(small_song_path), patches.load_bank(SMALL_BANK)
    project = Project(output_dir=tmp_path / "out")
    project.load_song(song, bank)
    project.update_settings(stereo=True, pan="midi", tail=0.5)
    assert project.settings.options().stereo and project.settings.options().pan == "midi"
    s = project.to_session()
    assert s.options["stereo"] is True and s.options["pan"] == "midi"
    other = Project(output_dir=tmp_path / "other")
    other.load_song(song, bank)
    other.apply_session(s)
    assert other.settings.stereo and other.settings.pan == "midi"
    result, peaks = project.render(project.render_plan())
    assert result.channels == 2 and sf.info(str(result.path / "mix.flac")).channels == 2
    assert all(a.shape[1] == 2 for a in result.stems.values()) and result.mix.shape[1] == 2
    assert set(peaks) == set(result.stems)
    for key, a in result.stems.items():
        assert peaks[key] == pytest.approx(20 * np.log10(np.max(np.abs(a))), abs=1e-4)
    project.set_render_result(result, peaks)
    assert project.audio.frames == len(result.mix) and project.audio.stereo
    assert all(len(g) == 2 for g in project.gains().values())  # (left, right) for the stereo player


@pytest.fixture(scope="module")
def stereo_dataset(tmp_path_factory):
    """A 3-song stereo dataset made by the CLI."""
    root = tmp_path_factory.mktemp("stereo_ds")
    midi = root / "midi"
    corpus.generate_corpus(midi, 3, seed=4, min_duration=6, max_duration=8)
    out = root / "ds"
    args = ["dataset", midi, "-o", out, "--bank", SMALL_BANK, "--seed", "2", "--min-notes", "5", "--split", "1:1:1",
            "--workers", "1", "--stereo", "--json"]
    return midi, out, args


def test_dataset_stereo_manifest_resume_and_readers(stereo_dataset, capsys, tmp_path):
    midi, out, args = stereo_dataset
    code, text, err = run(args, capsys)
    assert code == 0, err
    summary = json.loads(text)
    assert not summary["failed"] and sum(summary["splits"].values()) == 3
    m = load_manifest(out)
    assert m["options"]["stereo"] is True and m["options"]["pan"] == "auto"
    tracks = sorted(out.glob("*/Track*"))
    assert len(tracks) == 3
    for t in tracks:
        meta = yaml.safe_load((t / "metadata.yaml").read_text())
        assert meta["slakh_studio"]["channels"] == 2 and sf.info(str(t / "mix.flac")).channels == 2
    # a resume keeps it: without --stereo the run is refused, with it nothing is rendered again
    code, _, err = run([a for a in args if a != "--stereo"], capsys)
    assert code == 1 and "stereo True (now False)" in one_line_error(err)
    code, text, _ = run(args, capsys)
    assert code == 0 and json.loads(text)["already_done"] == 3
    # an old mono manifest (no stereo/pan keys) resumes as mono
    mono_opts = DatasetOptions(bank=SMALL_BANK, seed=2, min_notes=5, split=(1.0, 1.0, 1.0), count=1)
    mono_out = tmp_path / "mono"
    run_dataset(midi, mono_out, mono_opts, workers=1)
    manifest = yaml.safe_load((mono_out / "dataset.yaml").read_text())
    for key in ("stereo", "pan"):
        manifest["options"].pop(key)
    (mono_out / "dataset.yaml").write_text(yaml.safe_dump(manifest))
    assert run_dataset(midi, mono_out, mono_opts, workers=1).skipped
    with pytest.raises(DatasetError, match="stereo False"):
        run_dataset(midi, mono_out, DatasetOptions(**{**mono_opts.__dict__, "stereo": True}), workers=1)

    # mirdata through the dataset's own index: (2, n) audio
    mirdata = pytest.importorskip("mirdata")
    ds = mirdata.initialize("slakh", data_home=str(out), version="2100-redux")
    ds.index_path = str(out / "index_slakh.json")
    assert len(ds.mtrack_ids) == 3
    mix, sr = ds.multitrack(ds.mtrack_ids[0]).audio
    assert mix.ndim == 2 and mix.shape[0] == 2 and sr == 44100
    assert mirdata_index.build_index(out)["multitracks"]


def test_separation_loader_and_stats_read_a_stereo_dataset(stereo_dataset, capsys, tmp_path):
    midi, out, args = stereo_dataset
    if not (out / "dataset.yaml").is_file():
        assert run(args, capsys)[0] == 0
    from slakh_gui.core.dataset import dataset_stats
    from slakh_gui.core.dataset.recipes import load_recipe
    from slakh_gui.separation import data

    stats = dataset_stats.compute_stats(out, workers=1)
    assert not stats.skipped and sum(s.songs for s in stats.splits.values()) == 3
    assert stats.sample_rates == {44100: 3}
    recipe = load_recipe("band")
    audio = data.load_split(out, "train", recipe, "Bass", cache_dir=tmp_path)
    assert len(audio) == 1
    track = audio[0]
    assert track.target.ndim == 1 and np.any(track.target) and np.any(track.interference)
