"""The one-pass FluidSynth renderer: float output, drums, effects groups, >128 tracks, threads, cancel."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from slakh_gui.core.bank import patches
from slakh_gui.core.jobs import Cancelled, CancelToken
from slakh_gui.core.midi import midifile
from slakh_gui.core.render import pipeline, synth

SF2 = Path("/usr/share/sounds/sf2/TimGM6mb.sf2")


def job(inst, key="S00", bank=0, preset=None, drum=False, sf=SF2):
    return synth.StemJob(key, inst, sf, bank, inst.program if preset is None else preset, drum)


def notes_inst(program=0, is_drum=False, pitches=(60, 64, 67), start=0.5, count=8):
    inst = pretty_midi.Instrument(program, is_drum=is_drum)
    for i in range(count):
        t = start + 0.25 * i
        inst.notes.append(pretty_midi.Note(100, pitches[i % len(pitches)], t, t + 0.2))
    return inst


def test_threads_do_not_change_output():
    jobs = [job(notes_inst(p), f"S{i:02d}") for i, p in enumerate([0, 33, 25, 48, 56])]
    jobs.append(job(notes_inst(0, True, (36, 38, 42)), "S05", bank=128, drum=True))
    n = synth.length_samples(4.0)
    one = synth.render_stems(jobs, n, threads=1)
    two = synth.render_stems(jobs, n, threads=2)
    assert one.shape == (6, n) and one.dtype == np.float32
    assert np.array_equal(one, two)
    assert all(np.any(row) for row in one)


def test_one_thread_finishes_each_stem_beside_the_next_synthesis():
    """With one synth thread, ``finish`` runs in a side thread (overlapping the next stem); a failing finish is
    the error raised, and every finish has returned when render_stems does."""
    jobs = [job(notes_inst(p), f"S{i:02d}") for i, p in enumerate([0, 33, 25])]
    n = synth.length_samples(3.0)
    seen: dict[str, tuple[int, float]] = {}

    def finish(key, row):
        seen[key] = (threading.get_ident(), float(np.abs(row).max()))
        row *= 0.5  # in place, as the pipeline's effects do

    out = synth.render_stems(jobs, n, threads=1, finish=finish)
    ref = synth.render_stems(jobs, n, threads=1)
    assert sorted(seen) == ["S00", "S01", "S02"]
    assert {ident for ident, _ in seen.values()} != {threading.get_ident()}
    assert np.array_equal(out, ref * np.float32(0.5))

    def broken(key, row):
        raise ValueError(f"effect failed on {key}")

    with pytest.raises(ValueError, match="effect failed on S"):
        synth.render_stems(jobs, n, threads=1, finish=broken)


def test_drums_play_a_kit_not_a_melodic_preset():
    inst = notes_inst(0, True, (36, 38, 42))
    n = synth.length_samples(3.0)
    kit = synth.render_stems([job(inst, bank=128, preset=0, drum=True)], n)[0]
    piano = synth.render_stems([job(inst, bank=0, preset=0, drum=False)], n)[0]
    assert np.any(kit) and np.any(piano)
    corr = np.dot(kit, piano) / (np.linalg.norm(kit) * np.linalg.norm(piano))
    assert abs(corr) < 0.5


def test_float_output_silence_is_exact_and_fx_adds_tail():
    inst = notes_inst(48, count=2)  # strings, notes end at 0.95 s
    n = synth.length_samples(4.0)
    dry = synth.render_stems([job(inst)], n, fluid_effects=False)[0]
    wet = synth.render_stems([job(inst)], n, fluid_effects=True)[0]
    assert not np.any(dry[: int(0.49 * 44100)])  # before the first note: exactly zero, no dither
    last_dry = np.nonzero(np.abs(dry) > 1e-4)[0][-1]
    last_wet = np.nonzero(np.abs(wet) > 1e-4)[0][-1]
    assert last_wet > last_dry + 0.2 * 44100  # reverb rings on


def test_more_than_128_tracks_render():
    jobs = [job(notes_inst(i % 128, count=2, start=0.1 * (i % 10)), f"S{i:02d}") for i in range(130)]
    out = synth.render_stems(jobs, synth.length_samples(2.5))
    assert out.shape[0] == 130 and all(np.any(row) for row in out)


def test_two_render_threads_load_and_unload_samples_safely():
    """FluidSynth's dynamic sample loading is not safe across synths in two threads (fluid.sample_lock): without the
    lock, 130 stems on two threads printed "Unable to unload sample" in about half the runs and sometimes crashed.
    In a child process, so that a crash fails this test rather than the session."""
    import subprocess
    import sys

    script = (
        "from tests.core.test_render import job, notes_inst\n"
        "from slakh_gui.core.render import synth\n"
        "for _ in range(3):\n"
        "    jobs = [job(notes_inst(i % 128, count=2, start=0.1 * (i % 10)), f'S{i:02d}') for i in range(130)]\n"
        "    synth.render_stems(jobs, synth.length_samples(2.5), threads=2)\n"
        "print('rendered')\n")
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                              cwd=Path(__file__).resolve().parents[2])
        assert proc.returncode == 0 and "rendered" in proc.stdout, proc.stderr[-2000:]
        assert "Unable to unload sample" not in proc.stderr, proc.stderr[-2000:]


def test_bank_select_ccs_cannot_change_the_patch():
    inst = notes_inst(0)
    n = synth.length_samples(3.0)
    plain = synth.render_stems([job(inst)], n)[0]
    inst.control_changes.append(pretty_midi.ControlChange(0, 1, 0.0))  # would select bank 1 (no such bank)
    assert np.array_equal(plain, synth.render_stems([job(inst)], n)[0])


def test_a_stem_is_its_track_rendered_alone():
    jobs = [job(notes_inst(p), f"S{i:02d}") for i, p in enumerate([0, 48, 56])]
    n = synth.length_samples(3.0)
    together = synth.render_stems(jobs, n)
    assert np.array_equal(together[1], synth.render_one(jobs[1], n))


def test_cancel_stops_quickly():
    jobs = [job(notes_inst(p, count=400), f"S{i:02d}") for i, p in enumerate([0, 33, 25, 48])]
    token = CancelToken()
    calls = []

    def progress(p):
        calls.append(p.done)
        if len(calls) == 3:
            token.cancel()

    with pytest.raises(Cancelled):
        synth.render_stems(jobs, synth.length_samples(120.0), progress=progress, cancel=token)
    assert len(calls) < 10


def test_missing_preset_is_a_clear_error():
    with pytest.raises(synth.RenderError, match="no preset bank 5 program 3"):
        synth.render_stems([job(notes_inst(), bank=5, preset=3)], 4096)


def test_whole_file_render_runs_on_sample_timing(tmp_path, small_song_path):
    song = midifile.load_song(small_song_path)
    n = synth.length_samples(song.pm.get_end_time() + 1)
    a = synth.render_whole(song.data, SF2, n)
    b = synth.render_whole(song.data, SF2, n)
    assert np.array_equal(a, b) and np.any(a)
    assert not np.any(a[: int(0.45 * 44100)])  # float path: silence until the first note


def test_hours_long_song_is_refused_before_rendering(tmp_path, small_bank_path):
    pm = pretty_midi.PrettyMIDI()
    inst = pretty_midi.Instrument(0)
    inst.notes += [pretty_midi.Note(90, 60, 0, 1), pretty_midi.Note(90, 62, 7200, 7201)]
    pm.instruments.append(inst)
    pm.write(str(tmp_path / "long.mid"))
    song = midifile.load_song(tmp_path / "long.mid")
    bank = patches.load_bank(small_bank_path)
    started = threading.Event()
    with pytest.raises(pipeline.RenderLimitError, match="2.0 h|120.0 min"):
        pipeline.render_track(song, bank, patches.assign_patches(song, bank, 0), tmp_path / "Track00001",
                              progress=lambda p: started.set())
    assert not started.is_set() and not (tmp_path / "Track00001").exists()


SF3_PROBE = """import hashlib, sys
if sys.argv[1] == "soundfile first":
    import slakh_gui.core.audio_io  # loads soundfile and its bundled libsndfile
from pathlib import Path
import pretty_midi
from slakh_gui.core.render import synth
inst = pretty_midi.Instrument(0)
inst.notes += [pretty_midi.Note(100, 60 + i, 0.1 * i, 0.1 * i + 0.2) for i in range(6)]
job = synth.StemJob("S00", inst, Path("/usr/share/sounds/sf3/MuseScore_General.sf3"), 0, 0, False)
audio = synth.render_one(job, synth.length_samples(1.0))
libs = sorted({line.split()[-1] for line in open("/proc/self/maps") if "libsndfile" in line})
print("RESULT", hashlib.sha256(audio.tobytes()).hexdigest(), any("_soundfile_data" not in lib for lib in libs))
"""


@pytest.mark.skipif(not Path("/usr/share/sounds/sf3/MuseScore_General.sf3").exists(), reason="no MuseScore_General")
def test_sf3_render_does_not_depend_on_import_order():
    """The soundfile wheel bundles a libsndfile with the system's SONAME; FluidSynth decodes .sf3 samples with
    whichever loaded first. slakh_gui loads the system's first, so an .sf3 stem is the same whatever was imported."""
    import subprocess
    import sys

    runs = {}
    for order in ("soundfile first", "fluidsynth first"):
        out = subprocess.run([sys.executable, "-c", SF3_PROBE, order], capture_output=True, text=True, timeout=120,
                             check=True)
        # the last RESULT line: a library may print to stdout too
        _, digest, system_lib = [ln for ln in out.stdout.splitlines() if ln.startswith("RESULT ")][-1].split()
        assert system_lib == "True", order  # FluidSynth's libsndfile is the system's
        runs[order] = digest
    assert runs["soundfile first"] == runs["fluidsynth first"]
