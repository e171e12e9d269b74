"""The document model without Qt: patches, locks, re-rolls, render plans that never replace a folder silently,
mixer, sessions replayed by the CLI's code path; and slakh_gui.core importing no Qt at all."""

from __future__ import annotations

import random
import subprocess
import sys

import numpy as np
import pytest

from slakh_gui.core.bank import patches
from slakh_gui.core.midi import midifile
from slakh_gui.core.studio import session as sess
from slakh_gui.core.studio.project import Project, ProjectError, next_free_track_number
from tests.conftest import make_song


@pytest.fixture
def project(tmp_path, small_song_path, small_bank_path):
    p = Project(output_dir=tmp_path / "out")
    events: list[str] = []
    p.subscribe(events.append)
    p.load_song(midifile.load_song(small_song_path), patches.load_bank(small_bank_path))
    p.events = events
    return p


def test_core_imports_no_qt():
    """Every module of slakh_gui.core (and the project model) imports without PySide6 or the GUI package."""
    code = ("import importlib, pkgutil, sys, slakh_gui.core as c\n"
            "names = [m.name for m in pkgutil.walk_packages(c.__path__, 'slakh_gui.core.')]\n"
            "for name in names:\n"
            "    importlib.import_module(name)\n"
            "bad = sorted(k for k in sys.modules if k.startswith(('PySide6', 'shiboken6', 'slakh_gui.gui', 'superqt')))\n"
            "print(len(names), bad)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, check=True)
    count, bad = out.stdout.strip().split(" ", 1)
    assert int(count) > 30 and bad == "[]", out.stdout


def test_load_song_is_clean_and_tells_observers(project):
    assert project.events == ["loaded"] and not project.dirty and project.can_render
    assert project.assignment is not None and project.track_number == 1
    assert project.display_name == "small.mid"


def test_patch_lock_seed_and_undo_state(project):
    key = "S01"
    pool = [p.id for p in project.bank.pool(project.song.track(key).program)]
    other = next(p for p in pool if p != project.assignment.patch_id(key))
    before = project.patch_state()
    project.set_patch(key, other)
    assert project.assignment.patch_id(key) == other and project.dirty and "assignment" in project.events
    project.set_lock(key, True)
    locked_patch = project.assignment.patch_id(key)
    others_before = {k: t.patch_id for k, t in project.assignment.tracks.items() if k != key}
    seeds_tried = 0
    while {k: t.patch_id for k, t in project.assignment.tracks.items() if k != key} == others_before:
        project.reroll_unlocked(random.Random(seeds_tried))
        seeds_tried += 1
        assert seeds_tried < 20
    assert project.assignment.patch_id(key) == locked_patch  # the lock held through re-rolls
    with pytest.raises(ProjectError, match="locked"):
        project.reroll_track(key)
    project.restore_patch_state(before)
    assert project.patch_state() == before and project.assignment.patch_id(key) != other


def test_render_plan_never_replaces_a_folder_silently(project, tmp_path):
    plan = project.render_plan()
    assert plan.out_dir == tmp_path / "out" / "Track00001" and not plan.options.overwrite
    plan.out_dir.mkdir(parents=True)
    (plan.out_dir / "mix.flac").write_bytes(b"earlier work")
    with pytest.raises(FileExistsError):
        project.render_plan()
    assert project.next_free_track_number() == 2
    assert project.render_plan(overwrite=True).options.overwrite  # only when asked for
    # a new song starts at the next free number: opening song B never aims at song A's folder
    b = make_song(tmp_path / "b.mid", seconds=4.0, seed=7)
    project.load_song(midifile.load_song(b), project.bank)
    assert project.track_number == 2 and project.render_plan().out_dir.name == "Track00002"
    assert next_free_track_number(tmp_path / "nowhere", 5) == 5


def test_render_twice_keeps_both_folders(project, tmp_path):
    """Render, open another song, render: two intact track folders (real FluidSynth)."""
    r1, peaks = project.render(project.render_plan())
    project.set_render_result(r1, peaks)
    assert project.audio.name == "Track00001" and set(project.mixer.strips) == set(r1.stems)
    b = make_song(tmp_path / "b.mid", seconds=3.0, seed=3)
    project.load_song(midifile.load_song(b), project.bank)
    r2, _ = project.render(project.render_plan())
    assert r2.path.name == "Track00002"
    md1 = (tmp_path / "out" / "Track00001" / "metadata.yaml").read_text()
    md2 = (tmp_path / "out" / "Track00002" / "metadata.yaml").read_text()
    assert "small.mid" in md1 and "b.mid" in md2


def test_range_and_flakh_rules(project):
    project.update_settings(range_only=True)
    with pytest.raises(ProjectError, match="Shift\\+drag"):
        project.render_plan()
    project.set_region((1.0, 3.0))
    plan = project.render_plan()
    assert plan.song.range is not None
    project.update_settings(flakh=True)
    with pytest.raises(ProjectError, match="Flakh"):
        project.render_plan()


def test_mixer_edits_and_export_sources(project):
    with pytest.raises(ProjectError, match="nothing to export"):
        project.export_sources()
    stems = {"S00": np.ones(100, np.float32) * 0.1, "S01": np.ones(100, np.float32) * 0.2}
    from slakh_gui.core.studio.project import Audio

    project.audio = Audio(stems, None, 44100)
    project.mixer = type(project.mixer).for_stems(stems)
    project.set_dirty(False)
    project.set_strip("S01", mute=True)
    assert project.dirty and project.gains() == {"S00": 1.0, "S01": 0.0}
    assert np.allclose(project.current_mix(), 0.1)
    saved = project.mixer_copy()
    project.set_strip("S00", gain_db=-6.0)
    assert project.mixer != saved
    project.set_mixer(saved)
    assert project.mixer == saved and project.mixer.strips["S00"].gain_db == 0.0


def test_session_round_trip_through_the_cli_replay(project, tmp_path):
    project.set_seed(11)
    project.set_lock("S02", True)
    project.update_settings(fmt="wav", tail=1.0)
    path = tmp_path / "s.slakh.json"
    project.save_session(path)
    assert not project.dirty and project.session_path == path
    s = sess.load_session(path)
    # the CLI's replay draws the same patches the document shows
    assignment = sess.session_assignment(s, project.song, project.bank)
    assert assignment.to_dict()["tracks"] == project.assignment.to_dict()["tracks"]
    fresh = Project(output_dir=tmp_path / "other")
    fresh.load_song(midifile.load_song(s.song), patches.load_bank(s.bank_path()))
    fresh.apply_session(s, path)
    assert fresh.patch_state() == project.patch_state() and fresh.settings.fmt == "wav"
    assert fresh.output_dir == project.output_dir and not fresh.dirty


def test_opened_track_folder_is_read_only(rendered):
    from slakh_gui.core.render.track_folder import load_track_folder

    result, _song, _bank = rendered
    p = Project()
    p.load_folder(load_track_folder(result.path))
    assert p.is_folder and not p.can_render and p.display_name == result.path.name
    assert set(p.audio.stems) == set(result.rendered) and p.sample_rate == 44100
    with pytest.raises(ProjectError, match="already rendered"):
        p.render_plan()
    with pytest.raises(ProjectError):
        p.set_seed(3)


def test_render_cache_lives_in_the_cache_folder_and_goes_with_the_document(tmp_path, monkeypatch):
    import gc
    import os

    monkeypatch.setenv("SLAKH_STUDIO_CACHE_DIR", str(tmp_path / "cache"))
    dead = tmp_path / "cache" / "render-cache" / "pid-999999999-x"  # left by a process that died
    dead.mkdir(parents=True)
    p = Project()
    folder = p.cache.spill_dir
    assert folder.parent == tmp_path / "cache" / "render-cache" and folder.name.startswith(f"pid-{os.getpid()}-")
    assert folder.is_dir() and not dead.exists()
    del p
    gc.collect()
    assert not folder.exists()


def test_session_mixer_comes_back_once_the_stems_are_rendered(project, tmp_path):
    from slakh_gui.core.render import pipeline
    from slakh_gui.core.studio.project import Audio

    stems = {"S00": np.full(100, 0.1, np.float32), "S01": np.full(100, 0.2, np.float32)}
    project.audio = Audio(stems, None, 44100)
    project.mixer = type(project.mixer).for_stems(stems)
    project.set_strip("S01", gain_db=-4.5, solo=True)
    path = tmp_path / "mix.slakh.json"
    project.save_session(path)
    fresh = Project(output_dir=tmp_path / "o")
    s = sess.load_session(path)
    fresh.load_song(midifile.load_song(s.song), patches.load_bank(s.bank_path()))
    fresh.apply_session(s, path)
    assert fresh.mixer.strips == {}  # nothing rendered yet: the mixer waits for the stems
    md = {"normalization_factor": -13.0, "overall_gain": 1.0, "stems": {}}
    fresh.set_render_result(pipeline.TrackResult(tmp_path / "o" / "Track00001", md, list(stems), stems=stems), {})
    assert fresh.mixer.strips["S01"].gain_db == -4.5 and fresh.mixer.strips["S01"].solo
    assert fresh.gains() == {"S00": 0.0, "S01": pytest.approx(10 ** (-4.5 / 20))}
