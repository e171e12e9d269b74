"""Our output read by the real mirdata slakh loader; real Slakh2100 files read by our code."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import yaml

from slakh_gui.core.dataset import mirdata_index
from slakh_gui.core.midi import midifile
from tests.conftest import SLAKH_SAMPLES

pytest.importorskip("mirdata")


def test_mirdata_reads_every_stem_midi_metadata_and_mix(rendered, tmp_path):
    result, song, _ = rendered
    home = tmp_path / "home"
    shutil.copytree(result.path, home / "slakh2100_flac_redux" / "train" / "Track00001")
    index = mirdata_index.write_index(home)
    ds = mirdata_index.open_with_mirdata(home, index)
    meta = yaml.safe_load((result.path / "metadata.yaml").read_text())
    mtrack = ds.multitrack("Track00001")
    assert mtrack.uuid == song.md5 and mtrack.overall_gain == meta["overall_gain"] and mtrack.normalized is True
    mix, sr = mtrack.audio
    assert sr == 44100 and mix.ndim == 1 and len(mix) == int(round(result.duration * 44100))
    assert mtrack.midi is not None and len(mtrack.midi.instruments) == len(song.tracks)
    rendered_keys = [k for k, s in meta["stems"].items() if s["audio_rendered"]]
    assert sorted(t.split("-")[1] for t in mtrack.track_ids) == sorted(rendered_keys)  # S05 has no MIDI: not listed
    for tid in mtrack.track_ids:
        track = ds.track(tid)
        stem = meta["stems"][tid.split("-")[1]]
        audio, sr = track.audio
        assert sr == 44100 and audio.shape == mix.shape and np.any(audio)
        assert track.instrument == stem["inst_class"] and track.program_number == stem["program_num"]
        assert track.integrated_loudness == stem["integrated_loudness"] and track.plugin_name == stem["plugin_name"]
        assert track.is_drum == stem["is_drum"] and track.split == "train"
        assert track.midi is not None and track.midi.instruments[0].notes
    submixes, groups = mtrack.get_submix_by_group(["bass", "drums"])
    assert groups["bass"] == ["Track00001-S01"] and groups["drums"] == ["Track00001-S03"]
    assert submixes["bass"].shape[-1] == len(mix) and np.any(submixes["other"])
    assert ds.validate(verbose=False) == ({"tracks": {}, "multitracks": {}}, {"tracks": {}, "multitracks": {}})


def test_real_slakh_midi_lists_like_its_metadata():
    """Our loader on real Slakh2100 all_src.mid gives the same stems, programs, families and drum flags."""
    track = SLAKH_SAMPLES / "slakh2100_flac_redux" / "train" / "Track00001"
    if not track.exists():
        pytest.skip("shared Slakh samples not present")
    meta = yaml.safe_load((track / "metadata.yaml").read_text())
    song = midifile.load_song(track / "all_src.mid")
    assert song.md5 == meta["UUID"]
    assert [t.key for t in song.tracks] == list(meta["stems"])
    for t in song.tracks:
        stem = meta["stems"][t.key]
        assert (t.program, t.inst_class, t.program_name, t.is_drum) == (
            stem["program_num"], stem["inst_class"], stem["midi_program_name"], stem["is_drum"]), t.key


def test_index_of_real_redux_sample_reads_in_mirdata(tmp_path):
    """Our index builder follows mirdata's rules on the real redux layout (S06 has no MIDI: left out)."""
    src = SLAKH_SAMPLES / "slakh2100_flac_redux"
    if not src.exists():
        pytest.skip("shared Slakh samples not present")
    shutil.copytree(src, tmp_path / "slakh2100_flac_redux")
    index = mirdata_index.build_index(tmp_path)
    assert "Track00001-S06" not in index["tracks"] and "Track00001-S00" in index["tracks"]
    path = mirdata_index.write_index(tmp_path)
    ds = mirdata_index.open_with_mirdata(tmp_path, path)
    t = ds.track("Track00001-S00")
    assert t.instrument == "Guitar" and t.program_number == 30 and t.mixing_group == "guitar"
