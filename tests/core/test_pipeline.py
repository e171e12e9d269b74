"""End-to-end renders through real FluidSynth, pyloudnorm and soundfile: the Slakh2100 rules hold."""

from __future__ import annotations

import filecmp
import math
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import yaml

from slakh_gui.core.bank import patches
from slakh_gui.core.jobs import Cancelled, CancelToken
from slakh_gui.core.midi import midifile
from slakh_gui.core.render import automix, loudness, pipeline

STEM_KEYS = {"audio_rendered", "inst_class", "integrated_loudness", "is_drum", "midi_program_name", "midi_saved",
             "plugin_name", "program_num"}
TOP_KEYS = {"UUID", "audio_dir", "lmd_midi_dir", "midi_dir", "normalization_factor", "normalized", "overall_gain",
            "stems", "target_peak"}


def read(path: Path) -> np.ndarray:
    data, sr = sf.read(path, dtype="int16")
    assert sr == 44100
    return data


def test_layout_and_metadata_schema(rendered):
    result, song, _ = rendered
    track = result.path
    meta = yaml.safe_load((track / "metadata.yaml").read_text())
    assert set(meta) >= TOP_KEYS
    assert meta["UUID"] == song.md5
    assert meta["lmd_midi_dir"] == song.path.name  # one file rendered: its name, no folder of this machine
    assert meta["normalization_factor"] == -13.0 and meta["target_peak"] == -1.0 and meta["normalized"] is True
    assert set(meta["stems"]) == {t.key for t in song.tracks}
    for key, stem in meta["stems"].items():
        expected = STEM_KEYS if stem["audio_rendered"] else STEM_KEYS - {"integrated_loudness"}
        assert set(stem) == expected, key
        assert (track / "stems" / f"{key}.flac").exists() == stem["audio_rendered"]
        assert (track / "MIDI" / f"{key}.mid").exists() == stem["midi_saved"]
    fx = meta["stems"]["S05"]  # program 103 is not in the bank: Slakh's skipped-stem entry
    assert fx == {"audio_rendered": False, "inst_class": "Sound Effects", "is_drum": False,
                  "midi_program_name": "FX 8 (sci-fi)", "midi_saved": False, "plugin_name": "None", "program_num": 103}
    assert meta["stems"]["S03"]["program_num"] == 128 and meta["stems"]["S03"]["is_drum"] is True
    assert (track / "all_src.mid").read_bytes() == song.path.read_bytes()
    # key order is alphabetical and block style, as in the released files
    text = (track / "metadata.yaml").read_text()
    assert text.index("UUID") < text.index("audio_dir") < text.index("stems:") < text.index("target_peak")
    assert "{" not in text


def test_loudness_rule_sum_and_peak(rendered):
    result, _, _ = rendered
    track = result.path
    meta = yaml.safe_load((track / "metadata.yaml").read_text())
    gain = meta["overall_gain"]
    expected = -13.0 + 20 * math.log10(gain)
    stems = {k: read(track / "stems" / f"{k}.flac") for k, s in meta["stems"].items() if s["audio_rendered"]}
    assert len(stems) == 5
    mix = read(track / "mix.flac")
    for key, audio in stems.items():
        assert len(audio) == len(mix), key
        lufs = loudness.integrated_loudness(audio / 32768.0, 44100)
        assert abs(lufs - expected) < 0.1, (key, lufs, expected)
    total = np.sum([a.astype(np.int64) for a in stems.values()], axis=0)
    assert np.max(np.abs(total - mix)) <= (len(stems) + 1) / 2  # equal within 16-bit rounding
    assert np.max(np.abs(mix)) < 32767 and np.max(np.abs(mix)) <= round(32768 * 10 ** (-1 / 20)) + 1
    for audio in stems.values():
        assert np.max(np.abs(audio)) < 32767
    assert gain < 1.0  # five stems at -13 LUFS clip without it


def test_length_is_song_end_plus_tail(rendered):
    result, song, _ = rendered
    n = len(read(result.path / "mix.flac"))
    assert n % 64 == 0
    assert abs(n / 44100 - (song.pm.get_end_time() + 5.0)) < 64 / 44100 + 1e-9


def test_silence_stays_digital_zero(rendered):
    """Float rendering: no dither noise, so silence before the first note is exactly 0 after normalization."""
    result, _, _ = rendered
    for path in (result.path / "stems").iterdir():
        audio = read(path)
        assert not np.any(audio[: int(0.45 * 44100)]), path.name  # notes start at 0.5 s
        assert not np.any(audio[-44100:]), path.name  # the last second of the 5-s tail has decayed to zero
    assert not np.any(read(result.path / "mix.flac")[: int(0.45 * 44100)])


def test_same_seed_is_byte_identical_and_other_seed_differs(tmp_path, small_song_path, small_bank_path):
    song = midifile.load_song(small_song_path)
    bank = patches.load_bank(small_bank_path)
    a = pipeline.render_track(song, bank, patches.assign_patches(song, bank, 7), tmp_path / "a" / "Track00001")
    b = pipeline.render_track(song, bank, patches.assign_patches(song, bank, 7), tmp_path / "b" / "Track00001",
                              pipeline.RenderOptions(threads=1))
    files = sorted(p.relative_to(a.path) for p in a.path.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(b.path) for p in b.path.rglob("*") if p.is_file())
    match, mismatch, errors = filecmp.cmpfiles(a.path, b.path, [str(f) for f in files], shallow=False)
    assert not mismatch and not errors and len(match) == len(files)
    plugins = lambda seed: [t.patch_id for t in patches.assign_patches(song, bank, seed).tracks.values()]  # noqa: E731
    assert any(plugins(7) != plugins(s) for s in range(8, 12))


def test_cancel_leaves_nothing(tmp_path, small_song_path, small_bank_path):
    song = midifile.load_song(small_song_path)
    bank = patches.load_bank(small_bank_path)
    token = CancelToken()
    seen = []

    def progress(p):
        seen.append(p.stage)
        token.cancel()

    with pytest.raises(Cancelled):
        pipeline.render_track(song, bank, patches.assign_patches(song, bank, 0), tmp_path / "Track00001",
                              progress=progress, cancel=token)
    assert seen and list(tmp_path.iterdir()) == []


def test_missing_soundfont_names_file_and_folders(tmp_path, small_song_path):
    text = (Path(__file__).parent.parent / "data" / "small_bank.yaml").read_text()
    bank = patches.parse_bank(text.replace("FluidR3_GM.sf2", "NoSuchFont.sf2"), "bad.yaml")
    song = midifile.load_song(small_song_path)
    fixed = {"S00": "fluidr3_gm.piano"}
    with pytest.raises(patches.SoundFontMissing) as exc:
        pipeline.render_track(song, bank, patches.assign_patches(song, bank, 0, fixed=fixed), tmp_path / "Track00001")
    msg = str(exc.value)
    assert "NoSuchFont.sf2" in msg and "/usr/share/sounds/sf2" in msg and "fluidr3_gm.piano" in msg
    assert list(tmp_path.iterdir()) == []


def test_all_silent_and_unmeasurable_stems_are_not_rendered():
    rng = np.random.default_rng(0)
    loud = (rng.standard_normal(44100 * 3) * 0.1).astype(np.float32)
    quiet = np.zeros(44100 * 3, dtype=np.float32)
    quiet[1000:1100] = 1e-5  # far under the -70 LUFS gate
    result = automix.loudness_mix({"S00": loud, "S01": np.zeros_like(loud), "S02": quiet}, 44100)
    assert list(result.stems) == ["S00"]
    assert "silent" in result.skipped["S01"] and "-inf" in result.skipped["S02"]
    assert np.all(np.isfinite(result.mix))


def test_flakh_mix_is_unsplit_render_peak_normalized(tmp_path, small_song_path):
    from slakh_gui import paths

    song = midifile.load_song(small_song_path)
    bank = patches.load_bank(paths.flakh_bank()) if paths.flakh_bank().exists() else None
    if bank is None:
        pytest.skip("patches/flakh.yaml not built")
    res = pipeline.render_track(song, bank, patches.assign_patches(song, bank, 0), tmp_path / "Track00001",
                                pipeline.RenderOptions(flakh=True))
    meta = yaml.safe_load((res.path / "metadata.yaml").read_text())
    assert meta["slakh_studio"]["flakh"] is True and "unsplit" in meta["slakh_studio"]["mix"]
    assert all(s["plugin_name"].startswith("timgm6mb.") for s in meta["stems"].values() if s["audio_rendered"])
    mix = read(res.path / "mix.flac")
    assert abs(np.max(np.abs(mix)) / 32768 - 10 ** (-1 / 20)) < 2e-4
    stems = [read(p).astype(np.int64) for p in (res.path / "stems").iterdir()]
    assert len(mix) == len(stems[0])
    assert not np.array_equal(np.sum(stems, axis=0), mix)  # the mix is its own render, not the sum


@pytest.mark.parametrize("spill", [False, True], ids=["default-cache-folder", "given-folder"])
def test_cache_rerenders_only_changed_stems_with_identical_output(tmp_path, small_song_path, small_bank_path, spill):
    song = midifile.load_song(small_song_path)
    bank = patches.load_bank(small_bank_path)
    cache = pipeline.StemCache(spill_dir=tmp_path / "cache" if spill else None)
    first = patches.assign_patches(song, bank, 2)
    a = pipeline.render_track(song, bank, first, tmp_path / "a" / "Track00001", cache=cache, keep_audio=True)
    assert a.reused == [] and len(cache) == 5 and set(a.stems) == set(a.rendered)
    other = next(p.id for p in bank.pool(33) if p.id != first.patch_id("S01"))
    changed = patches.assign_patches(song, bank, 2, fixed={"S01": other})
    b = pipeline.render_track(song, bank, changed, tmp_path / "b" / "Track00001", cache=cache)
    assert b.reused == ["S00", "S02", "S03", "S04"]
    fresh = pipeline.render_track(song, bank, changed, tmp_path / "c" / "Track00001")
    for rel in ["mix.flac", "stems/S00.flac", "stems/S01.flac", "metadata.yaml"]:
        assert (b.path / rel).read_bytes() == (fresh.path / rel).read_bytes(), rel
    if spill:  # the cache held files, memory-mapped, not copies in memory; clear() removes them
        assert len(list((tmp_path / "cache").glob("*.npy"))) == 6
        assert isinstance(cache.get(next(iter(cache._items)))[0], np.memmap)
        cache.clear()
        assert len(cache) == 0 and not list((tmp_path / "cache").glob("*.npy"))


def test_lmd_midi_dir_names_no_folder_of_the_machine(tmp_path):
    from slakh_gui.core.render.layout import lmd_midi_dir

    corpus = tmp_path / "lmd_full"
    song = corpus / "a" / "b" / "song.mid"
    assert lmd_midi_dir(song, corpus) == "a/b/song.mid"  # relative to the collection, as Slakh2100 stores it
    assert lmd_midi_dir(song) == "song.mid"  # a single file: its name alone
    assert lmd_midi_dir(tmp_path / "elsewhere.mid", corpus) == "elsewhere.mid"  # outside the collection

