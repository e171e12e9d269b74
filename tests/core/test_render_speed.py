"""The speed work keeps the audio: synths that borrow a SoundFont loaded once per process (with pinned presets) and
the chunked int16 conversion give the same samples as the plain ways (real FluidSynth, real SoundFonts, a generated
band song)."""

from __future__ import annotations

from ctypes import POINTER, c_float
from pathlib import Path

import numpy as np
import pretty_midi
import pytest

from slakh_gui.core.audio_io import read_audio, to_int16, write_audio
from slakh_gui.core.midi.songgen import generate_song
from slakh_gui.core.render import fluid, fontcache
from slakh_gui.core.render import synth as render

SF2 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
SF3 = Path("/usr/share/sounds/sf3/MuseScore_General.sf3")  # Ogg-compressed samples, decoded on load


def fresh_synth(job: render.StemJob, sr: int, fluid_effects: bool):
    """A synth that loads its own SoundFont (how every stem was rendered before the font cache)."""
    api = fluid.api()
    synth = api.fs.Synth(gain=0.2, samplerate=float(sr), channels=16, **{
        "synth.reverb.active": int(fluid_effects), "synth.chorus.active": int(fluid_effects),
        "synth.polyphony": 1024, "synth.dynamic-sample-loading": 1})
    sfid = synth.sfload(str(job.soundfont))
    assert sfid >= 0
    api.set_channel_type(synth.synth, 0, fluid.CHANNEL_TYPE_DRUM if job.drum else fluid.CHANNEL_TYPE_MELODIC)
    assert synth.program_select(0, sfid, job.bank, job.preset) == 0
    return synth


def reference_render(job: render.StemJob, n: int, fluid_effects: bool, stereo: bool = False) -> np.ndarray:
    """A plain renderer: a fresh synth loading its own SoundFont, every event dispatched at its own sample, one
    process call per event time, the whole render in one buffer; the mono fold-down, or ``(n, 2)``."""
    inst, sr = job.instrument, render.SAMPLE_RATE
    skipped = render.SKIPPED_CCS | ({render.PAN_CC} if stereo and job.drop_pan else set())
    ev = [(round(c.time * sr), 1, 1, c.number, c.value) for c in inst.control_changes if c.number not in skipped]
    ev += [(round(p.time * sr), 1, 2, max(0, min(16383, p.pitch + 8192)), 0) for p in inst.pitch_bends]
    for note in inst.notes:
        on = round(note.start * sr)
        ev += [(on, 2, 3, note.pitch, max(1, min(127, note.velocity))),
               (max(on + 1, round(note.end * sr)), 0, 0, note.pitch, 0)]
    if stereo and job.pan is not None:
        ev.append((0, -1, 1, render.PAN_CC, job.pan))  # the auto-pan's CC10, before anything else
    ev.sort(key=lambda e: (e[0], e[1]))  # stable: file order within equal keys
    api = fluid.api()
    synth = fresh_synth(job, sr, fluid_effects)
    buf = np.zeros((2, n), dtype=np.float32)
    try:
        cur = 0
        for t in [e[0] for e in ev if e[0] < n] + [n]:
            if t > cur:
                ptrs = np.array([buf[0, cur:].ctypes.data, buf[1, cur:].ctypes.data], dtype=np.uint64)
                arg = ptrs.ctypes.data_as(POINTER(POINTER(c_float)))
                fx = np.array([ptrs[0], ptrs[1], ptrs[0], ptrs[1]], dtype=np.uint64)
                fx_arg = fx.ctypes.data_as(POINTER(POINTER(c_float))) if fluid_effects else None
                assert api.process(synth.synth, t - cur, 4 if fluid_effects else 0, fx_arg, 2, arg) == 0
                cur = t
            for e in [e for e in ev if e[0] == t]:
                _, _, k, x, y = e
                if k == 3:
                    api.fs.fluid_synth_noteon(synth.synth, 0, x, y)
                elif k == 0:
                    api.fs.fluid_synth_noteoff(synth.synth, 0, x)
                elif k == 1:
                    api.fs.fluid_synth_cc(synth.synth, 0, x, y)
                else:
                    api.fs.fluid_synth_pitch_bend(synth.synth, 0, x)
            ev = [e for e in ev if e[0] != t]
    finally:
        synth.delete()
    return buf.T.copy() if stereo else (buf[0] + buf[1]) * np.float32(0.5)


@pytest.fixture(scope="module")
def band() -> pretty_midi.PrettyMIDI:
    # piano, bass, guitar (pitch bends), drums, strings: sustain CCs, bends, chords, odd note times
    return generate_song(7, duration_s=8.0, tempo=97.0, instruments=[0, 33, 29, 128, 48])


@pytest.mark.parametrize("fx", [False, True])
def test_stems_are_the_same_samples_as_with_a_fresh_synth(band, fx):
    n = render.length_samples(band.get_end_time() + 1.0) + 37  # also a length that is not whole blocks
    for inst in band.instruments:
        drum = inst.is_drum
        job = render.StemJob("S", inst, SF2, 128 if drum else 0, 0 if drum else inst.program, drum)
        ours = render.render_one(job, n, fluid_effects=fx)
        ref = reference_render(job, n, fx)
        assert np.any(ours)
        assert np.array_equal(ours, ref), f"program {inst.program} drum={drum} fx={fx}"
        again = render.render_one(job, n, fluid_effects=fx)  # this time the preset's samples were already pinned
        assert np.array_equal(again, ref)


def test_dry_stems_are_written_straight_into_any_output(band):
    """Dry renders go from fluid_synth_write_float straight into the stem (stereo: interleaved): the same samples
    as the plain process-call renderer, in stereo too, and into outputs that take no raw writes (strided views)."""
    n = render.length_samples(3.0) + 11
    for inst in band.instruments[:2] + [i for i in band.instruments if i.is_drum]:
        drum = inst.is_drum
        job = render.StemJob("S", inst, SF2, 128 if drum else 0, 0 if drum else inst.program, drum, pan=30,
                              drop_pan=True)  # the song's own CC10 (centre) left out
        ref = reference_render(job, n, False, stereo=True)
        assert np.any(ref) and np.any(ref[:, 0] != ref[:, 1]), "panned left: the channels differ"
        assert np.array_equal(render.render_one(job, n, stereo=True), ref)
        wide = np.zeros((n, 3), dtype=np.float32)
        out = render.render_one(job, n, stereo=True, out=wide[:, 1:])  # rows not contiguous
        assert out.base is wide and np.array_equal(wide[:, 1:], ref) and not np.any(wide[:, 0])
        mono = np.zeros(2 * n, dtype=np.float32)
        render.render_one(job, n, out=mono[::2])
        assert np.array_equal(mono[::2], reference_render(job, n, False)) and not np.any(mono[1::2])  # no pan


@pytest.mark.skipif(not SF3.exists(), reason="musescore-general-soundfont is not installed")
def test_sf3_stems_are_the_same_samples_as_with_a_fresh_synth(band):
    n = render.length_samples(4.0)
    for inst in band.instruments[:1] + [i for i in band.instruments if i.is_drum]:
        drum = inst.is_drum
        job = render.StemJob("S", inst, SF3, 128 if drum else 0, 0 if drum else inst.program, drum)
        ref = reference_render(job, n, False)
        for _ in range(2):  # decoded by the first render, pinned for the second
            ours = render.render_one(job, n)
            assert np.any(ours) and np.array_equal(ours, ref)


def test_the_font_cache_pins_recent_presets_only(band):
    inst = band.instruments[0]
    n = render.length_samples(1.0)
    fontcache.clear()
    first = render.render_one(render.StemJob("S", inst, SF2, 0, 0, False), n)
    for p in range(1, fontcache.MAX_PINNED + 4):  # one holder lent again and again: one load, bounded pins
        assert np.any(render.render_one(render.StemJob("S", inst, SF2, 0, p, False), n))
    holder = fontcache.borrow()
    try:
        assert len(holder._fonts) == 1
        pinned = holder._pinned[holder._key(SF2)]
        assert len(pinned) == fontcache.MAX_PINNED and (0, 1) not in pinned and (0, fontcache.MAX_PINNED + 3) in pinned
    finally:
        fontcache.give_back(holder)
    again = render.render_one(render.StemJob("S", inst, SF2, 0, 0, False), n)
    assert np.any(first) and np.array_equal(first, again)
    fontcache.clear()


def test_to_int16_matches_the_plain_formula(tmp_path):
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(200_003) * 0.6).astype(np.float32)  # clips, and not a whole number of chunks
    x[:5] = [0.0, 1.0, -1.0, -1.5, 32767.5 / 32768]
    x[5:9] = np.array([0.5, 1.5, 2.5, -0.5]) / 32768  # halves round to even
    for a in (x, x.astype(np.float64), x[:10].reshape(2, 5), x[:0]):
        plain = np.clip(np.rint(a * 32768.0), -32768, 32767).astype(np.int16)
        got = to_int16(a)
        assert got.dtype == np.int16 and got.shape == plain.shape
        assert np.array_equal(got, plain)
    assert to_int16(x)[1:5].tolist() == [32767, -32768, -32768, 32767]
    write_audio(tmp_path / "a.flac", to_int16(x))
    back, sr = read_audio(tmp_path / "a.flac", dtype="int16")
    assert sr == 44100 and np.array_equal(back, to_int16(x))


def test_a_holder_is_lent_to_one_render_at_a_time():
    a, b = fontcache.borrow(), fontcache.borrow()
    try:
        assert a is not b  # two synths rendering at once never share FluidSynth's (thread-unsafe) font objects
    finally:
        fontcache.give_back(a)
        fontcache.give_back(b)
    again = [fontcache.borrow(), fontcache.borrow()]
    assert {id(h) for h in again} == {id(a), id(b)}  # given back, reused
    for h in again:
        fontcache.give_back(h)
    fontcache.clear()


def test_a_kit_soundfont_without_bank_128_renders_without_a_fluidsynth_error():
    """The AVL drumkits keep their kits in bank 0: loading one used to print FluidSynth's 'no preset with bank
    number 128' error (channel 10's reset, and our pin of the standard kit) although the stem rendered fine."""
    import subprocess
    import sys

    from slakh_gui.core.bank.patches import find_soundfont
    from tests.conftest import REPO

    try:
        kit = find_soundfont("Red_Zeppelin_4_LV2.sf2")
    except Exception:
        pytest.skip("avldrums.lv2-soundfont is not installed")
    code = f"""
import numpy as np, pretty_midi
from pathlib import Path
from slakh_gui.core.render import synth
inst = pretty_midi.Instrument(0, is_drum=True)
inst.notes += [pretty_midi.Note(100, 36 + i % 3, i * 0.25, i * 0.25 + 0.1) for i in range(8)]
for font, bank in ((Path({str(kit)!r}), 0), (Path({str(SF2)!r}), 128)):
    audio = synth.render_one(synth.StemJob("S00", inst, font, bank, 0, True), 44100 * 3)
    print("RESULT", font.name, bool(np.any(audio)))
"""
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    results = [line.split()[1:] for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert results == [[kit.name, "True"], [SF2.name, "True"]]  # (pyfluidsynth may print a line of its own)
    assert "fluidsynth: error" not in proc.stderr, proc.stderr
