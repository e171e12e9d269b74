"""Stereo renders (issue #19): FluidSynth's L/R kept per stem, CC10 and the seeded auto-pan, stereo BS.1770-4
loudness, the Slakh mix rule in stereo, stereo files read by our loaders and mirdata, the mono fold-down."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pretty_midi
import pytest
import soundfile as sf
import yaml

from slakh_gui.core import diskaudio
from slakh_gui.core.bank import effects, patches
from slakh_gui.core.constants import NORMALIZATION_FACTOR, TARGET_PEAK
from slakh_gui.core.midi import midifile
from slakh_gui.core.render import automix, loudness, panning, pipeline, synth
from slakh_gui.core.render.track_folder import load_track_folder
from tests.conftest import DATA, render_small

SF2 = Path("/usr/share/sounds/sf2")
TIM, FLUID = SF2 / "TimGM6mb.sf2", SF2 / "FluidR3_GM.sf2"
SR = 44100


def notes_inst(program=33, is_drum=False, pitches=(40, 43, 47), start=0.5, count=8, step=0.25, pans=()):
    inst = pretty_midi.Instrument(program, is_drum=is_drum)
    for t, value in pans:
        inst.control_changes.append(pretty_midi.ControlChange(10, value, t))
    for i in range(count):
        t = start + step * i
        inst.notes.append(pretty_midi.Note(100, pitches[i % len(pitches)], t, t + 0.2))
    return inst


def stem_job(inst, key="S00", font=TIM, bank=0, preset=None, drum=False, pan=None, drop_pan=False):
    return synth.StemJob(key, inst, font, bank, inst.program if preset is None else preset, drum, pan=pan,
                         drop_pan=drop_pan)


def energy_db(x: np.ndarray) -> float:
    return 10 * np.log10(np.sum(np.square(x, dtype=np.float64)) + 1e-30)


def no_effects_bank(tmp_path: Path) -> Path:
    """The small bank without its two effect chains (so stereo and mono differ by panning only)."""
    data = yaml.safe_load((DATA / "small_bank.yaml").read_text())
    for p in data["patches"].values():
        p.pop("effects", None)
    path = tmp_path / "plain_bank.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


# ---------------------------------------------------------------------------------------------- FluidSynth pan


@pytest.mark.parametrize("font", [TIM, FLUID])
def test_cc10_hard_left_leaves_the_right_channel_silent(font):
    """Fingered bass (program 33) has one mono sample per note and no pan generator in both fonts, so FluidSynth's
    pan is the channel's alone: CC10 = 0 puts everything left and the right channel is digital silence. (Presets
    with stereo samples, e.g. FluidR3_GM's grand piano and strings, pan each sample of the pair from its own
    -500/+500 generator plus the CC: hard left still leaves the right sample at the centre, so they are not used
    here.) CC10 follows the file over time: set back to 127 at 1.5 s, the right channel plays from then on."""
    n = synth.length_samples(3.5)
    centre = synth.render_one(stem_job(notes_inst(), font=font), n, sample_rate=SR, stereo=True)
    left = synth.render_one(stem_job(notes_inst(pans=[(0.0, 0)]), font=font), n, sample_rate=SR, stereo=True)
    assert centre.shape == left.shape == (n, 2) and left.dtype == np.float32
    assert np.array_equal(centre[:, 0], centre[:, 1]) and np.any(centre)  # centred mono sample: L == R
    assert np.any(left[:, 0]) and not np.any(left[:, 1])
    # constant-power pan law: hard left carries the centre's power of both channels (+3 dB on the left)
    assert abs(energy_db(left[:, 0]) - energy_db(centre[:, 0]) - 3.01) < 0.05
    moving = notes_inst(pans=[(0.0, 0), (1.5, 127)], count=12)
    audio = synth.render_one(stem_job(moving, font=font), n, sample_rate=SR, stereo=True)
    cut = int(1.5 * SR)
    assert not np.any(audio[:cut, 1]) and np.any(audio[cut:, 1])
    assert energy_db(audio[cut + SR // 4 :, 1]) - energy_db(audio[cut + SR // 4 :, 0]) > 15  # mostly right now


def test_drum_kits_keep_kick_and_snare_centred():
    """The drum track is never auto-panned; the kit's own per-piece pan stays. In both GM kits kick (36) and
    snare (38) come out with equal left/right energy (within 1 dB; measured ~0.1 dB) and the closed hi-hat
    (42) off-centre (measured 3-8 dB)."""
    n = synth.length_samples(3.0)
    for font in (TIM, FLUID):
        spread = {}
        for pitch in (36, 38, 42):
            a = synth.render_one(stem_job(notes_inst(0, True, (pitch,)), font=font, bank=128, preset=0, drum=True), n,
                                 sample_rate=SR, stereo=True)
            spread[pitch] = energy_db(a[:, 0]) - energy_db(a[:, 1])
        assert abs(spread[36]) < 1.0 and abs(spread[38]) < 1.0, (font.name, spread)
        assert abs(spread[42]) > 2.0, (font.name, spread)


# ---------------------------------------------------------------------------------------------- auto-pan rule


def pan_song(tmp_path: Path, with_cc: bool = False) -> midifile.Song:
    """Bass, drums, a low piano, a high flute (the lead), a synth lead, strings and guitar; optionally a CC10 on
    the guitar."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    spec = [(33, False, (36, 40)), (0, True, (36, 38)), (0, False, (48, 52, 55)), (73, False, (76, 79, 84)),
            (81, False, (60, 64)), (48, False, (60, 67, 74)), (25, False, (52, 55))]
    for i, (prog, drum, pitches) in enumerate(spec):
        pans = [(0.0, 10)] if with_cc and i == 6 else ()
        pm.instruments.append(notes_inst(prog, drum, pitches, count=12, pans=pans))
    path = tmp_path / f"pan{int(with_cc)}.mid"
    pm.write(str(path))
    return midifile.load_song(path)


def test_auto_pan_is_seeded_centres_bass_drums_leads_and_spreads_the_rest(tmp_path):
    song = pan_song(tmp_path)
    keys = [t.key for t in song.tracks]
    plan = panning.plan(song, keys, seed=7)
    assert plan == panning.plan(song, keys, seed=7)  # deterministic
    roles = {k: p.role for k, p in plan.items()}
    assert roles == {"S00": "bass", "S01": "drums", "S02": "spread", "S03": "lead", "S04": "lead",
                     "S05": "spread", "S06": "spread"}
    for p in plan.values():
        assert p.source == "auto"
        if p.role == "spread":
            assert p.cc == p.value and 20 <= abs(p.value - 64) <= 60
        else:
            assert p.cc is None and p.value == 64  # centre: nothing sent, FluidSynth's default pan
    # seeded per track: a track's pan depends on the seed and its key only, not on the other tracks
    assert panning.plan(song, ["S05"], seed=7)["S05"] == plan["S05"]
    assert all(plan[k].cc == panning.auto_pan(7, k) for k in ("S02", "S05", "S06"))
    draws = {tuple(panning.plan(song, keys, seed=s)[k].value for k in ("S02", "S05", "S06")) for s in range(20)}
    assert len(draws) > 10  # another seed, other pans
    sides = {np.sign(panning.auto_pan(s, "S02") - 64) for s in range(20)}
    assert sides == {-1, 1}
    # the file's own CC10 wins; "midi" adds nothing; "none" drops the file's
    own = pan_song(tmp_path, with_cc=True)
    auto = panning.plan(own, keys, seed=7)
    assert auto["S06"] == panning.Pan("midi", 10, changes=1) and auto["S05"] == plan["S05"]
    midi = panning.plan(own, keys, seed=7, mode="midi")
    assert midi["S06"].value == 10 and all(p.cc is None for p in midi.values())
    assert {p.source for k, p in midi.items() if k != "S06"} == {"midi"}
    none = panning.plan(own, keys, seed=7, mode="none")
    assert all(p.drop_file_pan and p.cc is None and p.value == 64 for p in none.values())
    with pytest.raises(ValueError, match="pan mode"):
        panning.plan(own, keys, seed=7, mode="wide")


def test_auto_pan_in_a_render_keeps_the_bass_centred_and_pans_the_rest(tmp_path):
    song = pan_song(tmp_path)
    bank = patches.load_bank(DATA / "small_bank.yaml")
    assignment = patches.assign_patches(song, bank, seed=3)
    result = pipeline.render_track(song, bank, assignment, tmp_path / "Track00001",
                                   pipeline.RenderOptions(stereo=True, tail=1.0), keep_audio=True)
    meta = yaml.safe_load((result.path / "metadata.yaml").read_text())
    extras = meta["slakh_studio"]
    assert extras["channels"] == 2 and extras["pan_mode"] == "auto"
    pans = extras["pan"]
    assert set(pans) == set(result.rendered)
    assert pans["S00"] == {"source": "auto", "value": 64, "role": "bass"}
    assert pans["S01"] == {"source": "auto", "value": 64, "role": "drums"}
    bass, _ = sf.read(result.path / "stems" / "S00.flac", dtype="float32")
    assert bass.shape[1] == 2 and np.array_equal(bass[:, 0], bass[:, 1])  # mono samples, centred: L == R
    for key in ("S02", "S05"):  # piano, strings: spread to the side the rule drew
        assert pans[key]["role"] == "spread" and pans[key]["value"] == panning.auto_pan(3, key)
        audio, _ = sf.read(result.path / "stems" / f"{key}.flac", dtype="float32")
        tilt = energy_db(audio[:, 1]) - energy_db(audio[:, 0])
        assert np.sign(tilt) == np.sign(pans[key]["value"] - 64) and abs(tilt) > 3, (key, tilt, pans[key])


# ---------------------------------------------------------------------------------------------- loudness


@pytest.mark.parametrize("rate", [44100, 48000])
def test_stereo_loudness_matches_pyloudnorm(rate):
    pytest.importorskip("pyloudnorm")
    rng = np.random.default_rng(5)
    n = rate * 7 + 1234
    audio = np.zeros((n, 2), dtype=np.float32)
    audio[rate // 2 :, 0] = rng.normal(0, 0.1, n - rate // 2)
    audio[rate:, 1] = rng.normal(0, 0.02, n - rate) * np.sin(np.arange(n - rate) / rate * 3) ** 2
    audio[3 * rate : 4 * rate] = 0.0  # a gap: blocks under the gates
    ours = loudness.integrated_loudness(audio, rate)
    assert abs(ours - loudness.pyloudnorm_reference(audio, rate)) < 1e-6
    assert abs(loudness.integrated_loudness(audio[:, :1], rate) - loudness.pyloudnorm_reference(audio[:, 0], rate)) < 1e-6
    # same signal in both channels: +10 log10(2) over the mono measure (channel weights 1.0, powers summed)
    both = np.repeat(audio[:, :1], 2, axis=1)
    assert abs(loudness.integrated_loudness(both, rate) - loudness.integrated_loudness(audio[:, 0], rate)
               - 10 * np.log10(2)) < 1e-6


def test_stereo_loudness_over_several_chunks_matches_pyloudnorm():
    """Each channel keeps its own filter state from chunk to chunk (a signal of 3.5 chunks, channels unlike)."""
    pytest.importorskip("pyloudnorm")
    rng = np.random.default_rng(3)
    x = rng.normal(0, 0.2, (int(3.5 * loudness._CHUNK), 2)).astype(np.float32)
    x[:, 1] *= np.linspace(0.1, 1.0, len(x), dtype=np.float32)  # the right channel swells
    assert abs(loudness.integrated_loudness(x, SR) - loudness.pyloudnorm_reference(x, SR)) < 1e-6
    left = loudness.integrated_loudness(x[:, 0], SR)
    assert loudness.integrated_loudness(x, SR) > left + 0.5  # both channels count


def test_stereo_loudness_of_a_rendered_stem_matches_pyloudnorm():
    pytest.importorskip("pyloudnorm")
    n = synth.length_samples(4.0)
    audio = synth.render_one(stem_job(notes_inst(0, pitches=(60, 64, 67)), font=FLUID, pan=30), n, stereo=True)
    assert abs(loudness.integrated_loudness(audio, SR) - loudness.pyloudnorm_reference(audio, SR)) < 1e-6


# ---------------------------------------------------------------------------------------------- mix rule


def test_stream_mix_obeys_the_slakh_rule_in_stereo(tmp_path):
    rng = np.random.default_rng(2)
    n = SR * 3
    stems = {f"S{i:02d}": (rng.normal(0, 0.3, (n, 2)) * [1.0, 0.2 + 0.3 * i]).astype(np.float32) for i in range(4)}
    stems["S04"] = np.zeros((n, 2), np.float32)  # silent: left out
    mixed = automix.stream_mix(stems, SR, diskaudio.create(tmp_path / "mix.npy", n, 2))
    assert mixed.mix.shape == (n, 2) and mixed.skipped == {"S04": "silent: the render produced only digital silence"}
    limit = 10 ** (TARGET_PEAK / 20)
    final_mix = mixed.mix * np.float32(mixed.overall_gain)
    assert np.max(np.abs(final_mix)) <= limit * (1 + 1e-6) and mixed.overall_gain < 1.0  # loud: the gain bites
    assert abs(np.max(np.abs(final_mix)) - limit) < 1e-6  # ... exactly to the limit, over both channels
    for k, g in mixed.gains.items():
        out = stems[k] * np.float32(g)
        expected = NORMALIZATION_FACTOR + 20 * np.log10(mixed.overall_gain)
        assert abs(loudness.integrated_loudness(out, SR) - expected) < 1e-3
        assert mixed.loudness[k] == loudness.integrated_loudness(stems[k], SR)
    in_memory = automix.loudness_mix(stems, SR)
    assert in_memory.mix.shape == (n, 2) and in_memory.overall_gain == mixed.overall_gain


@pytest.fixture(scope="module")
def stereo_render(tmp_path_factory, small_song_path, small_bank_path):
    """The conftest song rendered in stereo with the small bank (patch effects included)."""
    return render_small(tmp_path_factory.mktemp("stereo"), small_song_path, small_bank_path,
                        pipeline.RenderOptions(stereo=True))


def test_stereo_track_folder_layout_loudness_and_peak(stereo_render):
    result, song, _ = stereo_render
    d = result.path
    meta = yaml.safe_load((d / "metadata.yaml").read_text())
    assert meta["slakh_studio"]["channels"] == 2 and result.channels == 2
    assert set(meta) >= {"UUID", "audio_dir", "lmd_midi_dir", "midi_dir", "normalization_factor", "normalized",
                         "overall_gain", "stems", "target_peak"}
    mix, sr = sf.read(d / "mix.flac", dtype="float64")
    assert sr == SR and mix.ndim == 2 and mix.shape[1] == 2 and sf.info(str(d / "mix.flac")).subtype == "PCM_16"
    assert np.max(np.abs(mix)) <= 10 ** (TARGET_PEAK / 20) + 1 / 32768  # -1 dBFS over both channels (16-bit)
    total = np.zeros_like(mix)
    for key in result.rendered:
        audio, _ = sf.read(d / "stems" / f"{key}.flac", dtype="float64")
        assert audio.shape == mix.shape
        expected = NORMALIZATION_FACTOR + 20 * np.log10(meta["overall_gain"])
        assert abs(loudness.integrated_loudness(audio, sr) - expected) < 0.25  # stereo BS.1770-4, 16-bit rounding
        total += audio
    assert np.max(np.abs(mix - total)) < 1e-3
    assert (d / "all_src.mid").is_file() and (d / "MIDI" / "S00.mid").is_file()


def test_flakh_stereo_mix_is_the_whole_file_in_stereo(tmp_path, small_song_path, small_bank_path):
    song = midifile.load_song(small_song_path)
    bank = patches.load_bank(small_bank_path)
    result = pipeline.render_track(song, bank, patches.assign_patches(song, bank, 0), tmp_path / "Track00001",
                                   pipeline.RenderOptions(stereo=True, flakh=True, tail=0.5))
    mix, _ = sf.read(result.path / "mix.flac", dtype="float64")
    assert mix.shape[1] == 2 and not np.array_equal(mix[:, 0], mix[:, 1])
    assert abs(np.max(np.abs(mix)) - 10 ** (TARGET_PEAK / 20)) < 1e-3  # peak-normalized over both channels


def test_stereo_patch_effects_stream_like_one_call():
    """pedalboard runs the chain on both channels at once; block by block in place equals one call."""
    rng = np.random.default_rng(1)
    audio = (rng.normal(0, 0.1, (50_000, 2)) * [1.0, 0.3]).astype(np.float32)
    audio[:5000] = 0.0
    chain = [("compressor", {"threshold_db": -20.0, "ratio": 4.0}), ("reverb", {"room_size": 0.5})]
    whole = effects.apply_chain(audio, chain, SR)
    assert whole.shape == audio.shape and whole.dtype == np.float32
    assert not np.allclose(whole[:, 0], whole[:, 1])
    inplace = audio.copy()
    effects.apply_chain_in_place(inplace, chain, SR, block=8192)
    assert np.array_equal(inplace, whole)


# ---------------------------------------------------------------------------------------------- fold-down


def test_mono_fold_down_of_the_raw_stereo_render_is_the_mono_render_bit_for_bit(tmp_path):
    """Same events, same synth: mono is (L + R) * 0.5 of the stereo render, in float32, exactly. With pan "none"
    on a file without CC10, and with pan "midi" on one with CC10 (both play exactly the mono render's events)."""
    jobs = [stem_job(notes_inst(p, pitches=(48, 60, 67)), f"S{i:02d}", font=FLUID) for i, p in enumerate((0, 33, 48))]
    jobs.append(stem_job(notes_inst(0, True, (36, 38, 42)), "S03", bank=128, drum=True))
    jobs.append(stem_job(notes_inst(25, pans=[(0.0, 20), (1.0, 100)]), "S04"))  # its own CC10, kept by "midi"
    n = synth.length_samples(3.0)
    mono = synth.render_stems(jobs, n)
    stereo = synth.render_stems(jobs, n, stereo=True)  # pan None and drop_pan False: "midi" and "none" alike
    assert stereo.shape == (5, n, 2)
    fold = (stereo[:, :, 0] + stereo[:, :, 1]) * np.float32(0.5)
    assert np.array_equal(fold, mono)
    assert not np.array_equal(stereo[4, :, 0], stereo[4, :, 1])
    with_fx = synth.render_stems(jobs[:2], n, fluid_effects=True)
    stereo_fx = synth.render_stems(jobs[:2], n, fluid_effects=True, stereo=True)
    assert np.array_equal(diskaudio.fold(stereo_fx[0]), with_fx[0])


def test_mono_fold_down_of_the_written_stereo_track_is_the_mono_track_up_to_its_gain(tmp_path, small_song_path):
    """Through the pipeline (pan "none", no patch effects: they process the channels together and a stereo reverb
    is not its mono twin), each written stereo stem folded to mono is the mono render's stem times the ratio of
    the two normalization gains (within 1e-6 relative: float32 rounding). The gains themselves differ: a stereo
    stem's BS.1770-4 loudness sums both channels' power, P_L + P_R >= 2 P_fold in every block (equal when
    L == R): about 3.01 LU or more over the loudness of its fold-down, exactly 3.01 LU more for a stem with
    L == R."""
    song = midifile.load_song(small_song_path)
    bank = patches.load_bank(no_effects_bank(tmp_path))
    assignment = patches.assign_patches(song, bank, seed=1)
    kw = {"tail": 1.0}
    mono = pipeline.render_track(song, bank, assignment, tmp_path / "mono" / "Track00001",
                                 pipeline.RenderOptions(**kw), keep_audio=True)
    st = pipeline.render_track(song, bank, assignment, tmp_path / "st" / "Track00001",
                               pipeline.RenderOptions(stereo=True, pan="none", **kw), keep_audio=True)
    assert st.rendered == mono.rendered and st.channels == 2
    assert st.metadata["slakh_studio"]["pan"]["S00"] == {"source": "none", "value": 64}

    def gain(md, key):
        return 10 ** ((NORMALIZATION_FACTOR - md["stems"][key]["integrated_loudness"]) / 20) * md["overall_gain"]

    equal_channels = 0
    for key in mono.rendered:
        a = diskaudio.fold(st.stems[key]).astype(np.float64) / gain(st.metadata, key)  # kept audio, folded
        b = mono.stems[key].astype(np.float64) / gain(mono.metadata, key)
        assert np.max(np.abs(a - b)) <= 1e-6 * np.max(np.abs(b)), key
        difference = st.metadata["stems"][key]["integrated_loudness"] - mono.metadata["stems"][key]["integrated_loudness"]
        a, _ = sf.read(st.path / "stems" / f"{key}.flac", dtype="float64")
        if np.array_equal(a[:, 0], a[:, 1]):
            equal_channels += 1
            assert abs(difference - 10 * np.log10(2)) < 1e-6, key
        else:
            # every 400 ms block is >= 3.01 LU louder; the gates may then keep other blocks (drums: 2.84 LU)
            assert difference > 10 * np.log10(2) - 0.5, key
        # and the written files: fold-down / gain equal within 16-bit rounding
        b, _ = sf.read(mono.path / "stems" / f"{key}.flac", dtype="float64")
        assert np.max(np.abs(a.mean(axis=1) / gain(st.metadata, key) - b / gain(mono.metadata, key))) < \
            2 / 32768 / min(gain(st.metadata, key), gain(mono.metadata, key))
    assert equal_channels >= 1  # the bass (one mono sample per note, centred)


# ---------------------------------------------------------------------------------------------- readers


def test_track_folder_reads_stereo_as_mono_or_keeps_the_channels(stereo_render):
    result, _, _ = stereo_render
    mono = load_track_folder(result.path)
    kept = load_track_folder(result.path, keep_channels=True)
    assert mono.channels == kept.channels == 2
    for key in result.rendered:
        audio, _ = sf.read(result.path / "stems" / f"{key}.flac", dtype="float32")
        assert kept.stems[key].shape == audio.shape and np.array_equal(kept.stems[key], audio)
        assert mono.stems[key].shape == (len(audio),)
        assert np.allclose(mono.stems[key], audio.mean(axis=1), atol=1e-7)
    assert kept.mix.shape[1] == 2 and mono.mix.ndim == 1


def test_long_stereo_file_decodes_through_a_scratch_file(tmp_path):
    from slakh_gui.core.render.track_folder import read_audio, read_mono

    n = diskaudio.BLOCK * 2 + 77
    rng = np.random.default_rng(0)
    data = (rng.integers(-20000, 20000, (n, 2)) / 32768).astype(np.float32)
    sf.write(tmp_path / "x.flac", data, SR, subtype="PCM_16")
    kept, sr, chans = read_audio(tmp_path / "x.flac", keep_channels=True)
    assert sr == SR and chans == 2 and kept.shape == (n, 2) and np.array_equal(kept, data)
    mono, _ = read_mono(tmp_path / "x.flac")
    assert mono.shape == (n,) and np.allclose(mono, data.mean(axis=1), atol=1e-7)


def test_mirdata_loads_a_stereo_track(stereo_render, tmp_path):
    """mirdata's slakh loader reads our stereo folder; its audio is librosa's (channels, samples) float32."""
    pytest.importorskip("mirdata")
    from slakh_gui.core.dataset import mirdata_index

    result, song, _ = stereo_render
    home = tmp_path / "home"
    shutil.copytree(result.path, home / "slakh2100_flac_redux" / "train" / "Track00001")
    ds = mirdata_index.open_with_mirdata(home, mirdata_index.write_index(home))
    mtrack = ds.multitrack("Track00001")
    mix, sr = mtrack.audio
    frames = int(round(result.duration * SR))
    assert sr == SR and mix.shape == (2, frames)
    file_mix, _ = sf.read(result.path / "mix.flac", dtype="float32")
    assert np.allclose(mix, file_mix.T, atol=1e-6)
    for tid in mtrack.track_ids:
        audio, _ = ds.track(tid).audio
        assert audio.shape == (2, frames) and np.any(audio)
    submixes, groups = mtrack.get_submix_by_group(["bass", "drums"])
    assert groups["bass"] == ["Track00001-S01"] and submixes["bass"].shape == (2, frames)
    assert ds.validate(verbose=False) == ({"tracks": {}, "multitracks": {}}, {"tracks": {}, "multitracks": {}})


def test_write_pcm_stereo_and_its_mono_keep(tmp_path):
    n = 3000
    src = np.stack([np.linspace(-0.5, 0.5, n), np.linspace(0.25, -0.25, n)], axis=1).astype(np.float32)
    keep = np.zeros(n, np.float32)
    top = diskaudio.write_pcm(tmp_path / "x.wav", src, lambda b: b * np.float32(2), SR, "wav", keep)
    back, _ = sf.read(tmp_path / "x.wav", dtype="float32")
    assert back.shape == (n, 2) and np.allclose(back, src * 2, atol=1 / 32768)
    assert top == pytest.approx(1.0) and np.array_equal(keep, (src[:, 0] * 2 + src[:, 1] * 2) * np.float32(0.5))
