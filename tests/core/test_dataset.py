"""The dataset runner: layout, manifest, splits, determinism across workers, kill -9 + resume, Dask, mirdata."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from slakh_gui.core.bank.patches import load_bank
from slakh_gui.core.dataset import mirdata_index
from slakh_gui.core.dataset.builder import (
    REDUX_DIR,
    DatasetError,
    DatasetOptions,
    load_manifest,
    parse_split,
    run_dataset,
    split_counts,
)
from slakh_gui.core.dataset.dataset_exec import DaskUnavailable, run_dask
from slakh_gui.core.midi import corpus
from slakh_gui.core.render import automix, loudness
from tests.conftest import DATA, REPO

SONGS = 7
OPTIONS = {"count": None, "seed": 3, "min_notes": 10, "split": (4.0, 2.0, 1.0)}


def _options(**kw) -> DatasetOptions:
    return DatasetOptions(bank=DATA / "small_bank.yaml", **{**OPTIONS, **kw})


@pytest.fixture(scope="module")
def midi_dir(tmp_path_factory) -> Path:
    """Generated songs plus the usual dirt of a real collection: a duplicate and corrupt files."""
    d = tmp_path_factory.mktemp("corpus")
    files = corpus.generate_corpus(d, SONGS, seed=11, min_duration=8, max_duration=14)
    shutil.copy(files[0], d / "again.mid")
    (d / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00")
    (d / "sub").mkdir()
    (d / "sub" / "text.mid").write_text("not midi at all")
    return d


@pytest.fixture(scope="module")
def reference(midi_dir, tmp_path_factory):
    """An uninterrupted run with 2 local workers."""
    out = tmp_path_factory.mktemp("ref") / "ds"
    return run_dataset(midi_dir, out, _options(), workers=2)


def tree_bytes(root: Path) -> dict[str, bytes]:
    """Every file of a dataset (links followed once, the run log left out) -> its bytes."""
    out = {}
    for p in sorted(root.rglob("*")):
        rel = p.relative_to(root).as_posix()
        if p.is_file() and not rel.startswith("slakh2100_flac_redux/") and p.name != "run-log.jsonl":
            out[rel] = p.read_bytes()
    return out


def test_split_parsing_and_counts():
    assert parse_split("1500:375:225") == (1500, 375, 225) and parse_split("0.8,0.1,0.1") == (0.8, 0.1, 0.1)
    assert split_counts(2100, (1500, 375, 225)) == (1500, 375, 225)
    assert split_counts(10, (1500, 375, 225)) == (7, 2, 1) and sum(split_counts(101, (1, 1, 1))) == 101
    for bad in ("1:2", "a:b:c", "0:0:0", "-1:1:1"):
        with pytest.raises(DatasetError):
            parse_split(bad)


def test_layout_metadata_loudness_and_splits(reference, midi_dir):
    out = reference.out
    m = load_manifest(out)
    assert m["splits"] == {"train": 4, "validation": 2, "test": 1} and reference.counts == m["splits"]
    assert not reference.failed and len(reference.rendered) == SONGS
    names = [t["track"] for t in m["tracks"]]
    assert names == [f"Track{i:05d}" for i in range(1, SONGS + 1)]
    assert [t["split"] for t in m["tracks"]] == ["train"] * 4 + ["validation"] * 2 + ["test"]
    md5s = [t["md5"] for t in m["tracks"]]
    assert len(set(md5s)) == SONGS  # the duplicate file was not taken twice, so no MIDI crosses splits
    # no folder of this machine in the manifest: MIDI files relative to the collection, the bank copied beside it
    for f in out.rglob("*"):
        if f.suffix in (".yaml", ".json", ".jsonl", ".md", ".txt") and f.is_file():
            text = f.read_text(errors="replace")
            assert str(midi_dir.resolve()) not in text and str(midi_dir) not in text and str(REPO) not in text, f
    assert "midi_dir" not in m["options"]
    assert m["bank"]["file"] == "bank.yaml" and load_bank(out / "bank.yaml").sha256 == m["bank"]["sha256"]
    sel = yaml.safe_load((out / "selection.yaml").read_text())
    reasons = {Path(r["path"]).name: r["reason"] for r in sel["rejected"]}
    assert set(reasons) == {"song_00000.mid", "broken.mid", "text.mid"}  # "again.mid" sorts first
    assert reasons["song_00000.mid"].startswith("duplicate of") and "MIDI" in reasons["text.mid"]
    for t in m["tracks"]:
        d = out / t["split"] / t["track"]
        meta = yaml.safe_load((d / "metadata.yaml").read_text())
        assert meta["UUID"] == t["md5"] and meta["audio_dir"] == "stems" and meta["midi_dir"] == "MIDI"
        assert meta["normalized"] is True and meta["slakh_studio"]["seed"] == t["seed"]
        # portable: the MIDI file relative to the collection, no folder of this machine
        assert meta["lmd_midi_dir"] == t["midi"] and not Path(t["midi"]).is_absolute()
        assert str(midi_dir.resolve()) not in (d / "metadata.yaml").read_text()
        mix, sr = sf.read(d / "mix.flac", dtype="float64")
        assert sr == 44100
        total = np.zeros_like(mix)
        for key, stem in meta["stems"].items():
            assert (d / "MIDI" / f"{key}.mid").exists() == stem["midi_saved"]
            assert set(stem) >= {"audio_rendered", "inst_class", "is_drum", "midi_program_name", "plugin_name",
                                 "program_num"}
            if not stem["audio_rendered"]:
                continue
            audio, sr2 = sf.read(d / "stems" / f"{key}.flac", dtype="float64")
            assert sr2 == 44100 and len(audio) == len(mix)  # equal lengths
            # Loudness rule: the stem as written is the -13 LUFS stem times the one uniform gain (within 0.25 LU:
            # 16-bit rounding of quiet release tails moves a few blocks across BS.1770's -70 LUFS gate).
            expected = automix.NORMALIZATION_FACTOR + 20 * np.log10(meta["overall_gain"])
            assert abs(loudness.integrated_loudness(audio, sr) - expected) < 0.25
            total += audio
        assert np.max(np.abs(mix - total)) < 1e-3  # mix = sum of stems, up to 16-bit rounding
        assert np.max(np.abs(mix)) < 1.0
    log = [json.loads(line) for line in (out / "run-log.jsonl").read_text().splitlines()]
    assert sorted(r["name"] for r in log) == names and all(r["status"] == "done" for r in log)


def test_mirdata_reads_every_track_through_the_index(reference):
    mirdata = pytest.importorskip("mirdata")
    out = reference.out
    ds = mirdata.initialize("slakh", data_home=str(out), version="2100-redux")
    ds.index_path = str(out / "index_slakh.json")
    m = load_manifest(out)
    assert sorted(ds.mtrack_ids) == [t["track"] for t in m["tracks"]]
    for t in m["tracks"]:
        mt = ds.multitrack(t["track"])
        assert mt.split == t["split"] and mt.uuid == t["md5"]
        mix, sr = mt.audio
        assert sr == 44100 and mix.ndim == 1 and np.any(mix)
        for tid in mt.track_ids:
            track = ds.track(tid)
            audio, _ = track.audio
            assert track.split == t["split"] and audio.shape == mix.shape and track.midi is not None
    missing, invalid = ds.validate(verbose=False)
    assert missing == {"tracks": {}, "multitracks": {}} and invalid == {"tracks": {}, "multitracks": {}}


def test_one_worker_gives_the_same_bytes(reference, midi_dir, tmp_path):
    one = run_dataset(midi_dir, tmp_path / "ds", _options(), workers=1)
    assert tree_bytes(one.out) == tree_bytes(reference.out)


def test_resume_skips_finished_tracks_and_refuses_other_settings(reference, midi_dir, tmp_path):
    out = tmp_path / "ds"
    shutil.copytree(reference.out, out, symlinks=True)
    shutil.rmtree(out / "train" / "Track00002")
    again = run_dataset(midi_dir, out, _options(), workers=1)
    assert again.rendered == ["Track00002"] and len(again.skipped) == SONGS - 1
    assert tree_bytes(out) == tree_bytes(reference.out)
    with pytest.raises(DatasetError, match="other settings: seed 3 .now 4"):
        run_dataset(midi_dir, out, _options(seed=4), workers=1)
    # the manifest names no MIDI folder: resuming from a folder without the planned songs says so, renders nothing
    shutil.rmtree(out / "train" / "Track00002")
    (tmp_path / "elsewhere").mkdir()
    with pytest.raises(DatasetError, match="resume with the MIDI folder the dataset was made from"):
        run_dataset(tmp_path / "elsewhere", out, _options(), workers=1)
    assert not (out / "train" / "Track00002").exists()


def test_sigkill_then_resume_gives_the_same_bytes(reference, midi_dir, tmp_path):
    out = tmp_path / "ds"
    cmd = [sys.executable, "-m", "slakh_gui", "dataset", str(midi_dir), "-o", str(out), "--bank",
           str(DATA / "small_bank.yaml"), "--seed", "3", "--min-notes", "10", "--split", "4:2:1", "--workers", "2"]
    proc = subprocess.Popen(cmd, cwd=REPO, start_new_session=True, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            m = (out / "dataset.yaml").is_file() and load_manifest(out)
            if m and 2 <= sum(t["status"] == "done" for t in m["tracks"]) < SONGS:
                break
            assert proc.poll() is None, "the run ended before it could be killed"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the coordinator and its workers, mid-render
        proc.wait()
    m = load_manifest(out)
    assert sum(t["status"] == "done" for t in m["tracks"]) < SONGS
    result = subprocess.run(cmd + ["--json"], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    assert summary["already_done"] >= 2 and not summary["failed"]
    assert not list(out.rglob(".Track*"))  # no staging folder left
    assert tree_bytes(out) == tree_bytes(reference.out)


def test_dask_scheduler_and_two_workers(reference, midi_dir, tmp_path):
    pytest.importorskip("distributed")
    bindir = Path(sys.executable).parent
    sched_file = tmp_path / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__WORKER__DAEMON": "False"}
    procs = [subprocess.Popen([bindir / "dask", "scheduler", "--host", "127.0.0.1", "--port", "0",
                               "--no-dashboard", "--scheduler-file", sched_file], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)]
    try:
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(sched_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for _ in range(2):
            procs.append(subprocess.Popen([bindir / "dask", "worker", address, "--nthreads", "1", "--nworkers", "1",
                                           "--no-dashboard", "--host", "127.0.0.1"], cwd=REPO, env=env,
                                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                          start_new_session=True))
        from distributed import Client

        with Client(address, timeout=30) as client:
            client.wait_for_workers(2, timeout=60)
            assert len(client.scheduler_info()["workers"]) == 2
        result = run_dataset(midi_dir, tmp_path / "ds", _options(), scheduler=address)
        assert not result.failed and len(result.rendered) == SONGS
        workers = {json.loads(line).get("worker") for line in (result.out / "run-log.jsonl").read_text().splitlines()}
        assert len(workers) == 2  # both workers rendered tracks
        assert tree_bytes(result.out) == tree_bytes(reference.out)
    finally:
        for p in reversed(procs):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def test_unreachable_scheduler_is_one_clear_error(midi_dir, tmp_path):
    with pytest.raises(DaskUnavailable, match="cannot reach the Dask scheduler"):
        list(run_dask([{"name": "Track00001"}], "tcp://127.0.0.1:9", timeout=2))


def test_fix_rerolls_or_drops_a_stem_and_resume_keeps_it(reference, midi_dir, tmp_path, capsys):
    from tests.cli.helpers import one_line_error, run

    out = tmp_path / "ds"
    shutil.copytree(reference.out, out, symlinks=True)
    d = out / "train" / "Track00001"
    before = yaml.safe_load((d / "metadata.yaml").read_text())
    keys = [k for k, s in before["stems"].items() if s["audio_rendered"]]
    target, other = keys[0], keys[1]
    code, text, err = run(["fix", out, "Track00001", target, "--reroll"], capsys)
    assert code == 0, err
    after = yaml.safe_load((d / "metadata.yaml").read_text())
    assert after["stems"][target]["plugin_name"] != before["stems"][target]["plugin_name"]
    assert after["stems"][other]["plugin_name"] == before["stems"][other]["plugin_name"]
    assert after["lmd_midi_dir"] == before["lmd_midi_dir"]  # re-rendered from the track's own all_src.mid
    assert f"{target}: patch {after['stems'][target]['plugin_name']}" in text
    code, text, err = run(["fix", out, "Track00001", other, "--drop"], capsys)
    assert code == 0 and "no audio (dropped)" in text
    dropped = yaml.safe_load((d / "metadata.yaml").read_text())
    assert dropped["stems"][other]["audio_rendered"] is False and not (d / "stems" / f"{other}.flac").exists()
    entry = load_manifest(out)["tracks"][0]
    assert entry["fixed"] == {target: after["stems"][target]["plugin_name"], other: None}
    # the index was updated for the re-rendered track only, and equals one built from scratch
    assert json.loads((out / "index_slakh.json").read_text()) == mirdata_index.build_index(out, topdir=REDUX_DIR)
    snapshot = tree_bytes(out)
    again = run_dataset(midi_dir, out, _options(), workers=1)
    assert again.rendered == [] and tree_bytes(out) == snapshot
    shutil.rmtree(d)  # a resume re-renders the fixed track with the recorded choices
    run_dataset(midi_dir, out, _options(), workers=1)
    assert tree_bytes(out) == snapshot
    code, _, err = run(["fix", out, "Track00001", "S99", "--drop"], capsys)
    assert code == 1 and "has no stem S99" in one_line_error(err)
    code, text, err = run(["fix", out, "Track00002", "--drop-track"], capsys)
    assert code == 0 and not (out / "train" / "Track00002").exists(), err
    assert load_manifest(out)["tracks"][1]["status"] == "dropped"
    again = run_dataset(midi_dir, out, _options(), workers=1)
    assert again.rendered == [] and not (out / "train" / "Track00002").exists()
    index = json.loads((out / "index_slakh.json").read_text())
    assert "Track00002" not in index["multitracks"] and "Track00001" in index["multitracks"]


def test_lint_findings_are_written_and_kept_across_a_resume(midi_dir, tmp_path):
    """Pianos played by FluidR3's Contrabass (samples up to key 57 only): piano stems with higher notes are flagged."""
    import pretty_midi

    text = (DATA / "small_bank.yaml").read_text()
    for sf_name in ("TimGM6mb.sf2", "FluidR3_GM.sf2"):
        text = text.replace(f"soundfont: {sf_name}\n    bank: 0\n    preset: 0\n",
                            "soundfont: FluidR3_GM.sf2\n    bank: 0\n    preset: 43\n")
    bank = tmp_path / "contrabass_pianos.yaml"
    bank.write_text(text)
    out = tmp_path / "ds"
    opts = DatasetOptions(bank=bank, seed=3, min_notes=10, split=(1.0, 0.0, 1.0))
    run_dataset(midi_dir, out, opts, workers=2)
    lint = yaml.safe_load((out / "lint.yaml").read_text())
    assert lint["format"] == "slakh-studio-lint/1"
    ranges = [f for f in lint["findings"] if f["kind"] == "out_of_range"]
    expected = set()
    for d in sorted(out.glob("*/Track*")):
        meta = yaml.safe_load((d / "metadata.yaml").read_text())
        for key, stem in meta["stems"].items():
            if stem["inst_class"] == "Piano" and (d / "MIDI" / f"{key}.mid").exists():
                pm = pretty_midi.PrettyMIDI(str(d / "MIDI" / f"{key}.mid"))
                if max(n.pitch for i in pm.instruments for n in i.notes) > 57:
                    expected.add((f"{d.parent.name}/{d.name}", key))
    assert expected and {(f["track"], f["stem"]) for f in ranges} == expected
    for f in ranges:
        meta = yaml.safe_load((out / f["track"] / "metadata.yaml").read_text())
        assert meta["stems"][f["stem"]]["inst_class"] == "Piano" and "57" in f["message"]
    before = (out / "lint.yaml").read_bytes()
    redo = sorted(out.glob("*/Track*"))[-1]
    shutil.rmtree(redo)
    again = run_dataset(midi_dir, out, opts, workers=1)
    assert again.rendered == [redo.name] and (out / "lint.yaml").read_bytes() == before
