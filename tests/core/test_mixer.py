"""The user's mixer: solo/mute rules, fader math checked on exported files, clipping policies, atomic writes."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import soundfile as sf

from slakh_gui.core.studio import mixer
from slakh_gui.core.studio.mixer import ClippingError, MixerState, Strip, export_mix, levels, mix_block

SR = 44100
LSB = 1.0 / 32768.0


def make_stems(seconds: float = 2.0, amp: float = 0.1, seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    return {
        "S00": (amp * np.sin(2 * np.pi * 220 * t)).astype(np.float32),
        "S01": (amp * rng.uniform(-1, 1, n)).astype(np.float32),
        "S02": (amp * np.sign(np.sin(2 * np.pi * 3 * t))).astype(np.float32),
    }


def read(path) -> np.ndarray:
    data, sr = sf.read(path, dtype="int16")
    assert sr == SR and data.ndim == 1
    return data.astype(np.float64) / 32768.0


def ls(folder) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*"))


# ---- state ------------------------------------------------------------------------------------------------------


def test_default_state_is_the_auto_mix():
    state = MixerState.for_stems(["S00", "S01"])
    assert state.linear_gains() == {"S00": 1.0, "S01": 1.0}
    assert state.linear_gains(["S00", "S01", "S09"]) == {"S00": 1.0, "S01": 1.0, "S09": 1.0}


def test_mute_and_solo_rules():
    state = MixerState.for_stems(["A", "B", "C"])
    state.set_mute("B", True)
    assert state.linear_gains() == {"A": 1.0, "B": 0.0, "C": 1.0}
    state.set_solo("C", True)  # only soloed strips sound
    assert state.linear_gains() == {"A": 0.0, "B": 0.0, "C": 1.0}
    assert state.linear_gains(["A", "C", "X"])["X"] == 0.0  # a stem without a strip is not soloed either
    state.set_solo("B", True)  # soloed but muted: mute wins
    assert state.linear_gains() == {"A": 0.0, "B": 0.0, "C": 1.0}
    state.set_mute("B", False)
    assert state.linear_gains() == {"A": 0.0, "B": 1.0, "C": 1.0}
    assert state.sounds("B") and not state.sounds("A")
    state.reset()
    assert state.linear_gains() == {"A": 1.0, "B": 1.0, "C": 1.0}
    assert all(s == Strip() for s in state.strips.values())


def test_fader_db_math_and_master():
    state = MixerState.for_stems(["A", "B"])
    state.set_gain("A", 6.0)
    state.set_gain("B", -20.0)
    g = state.linear_gains()
    assert g["A"] == pytest.approx(10 ** (6 / 20), rel=1e-12)
    assert g["B"] == pytest.approx(0.1, rel=1e-12)
    state.set_master(-6.0)
    g = state.linear_gains()
    assert g["A"] == pytest.approx(1.0, rel=1e-12) and g["B"] == pytest.approx(10 ** (-26 / 20), rel=1e-12)
    state.reset()
    assert state.master_db == 0.0 and state.linear_gains() == {"A": 1.0, "B": 1.0}


def test_setters_validate():
    state = MixerState.for_stems(["A"])
    with pytest.raises(KeyError, match="no mixer strip 'Z'"):
        state.set_gain("Z", 1.0)
    for bad in (float("nan"), float("inf"), float("-inf"), 500.0, "3", True):
        with pytest.raises(ValueError, match="gain_db"):
            state.set_gain("A", bad)
    with pytest.raises(ValueError, match="master_db"):
        state.set_master(100.0)


def test_dict_round_trip_through_json():
    state = MixerState.for_stems(["S00", "S01"])
    state.set_gain("S00", -3.5)
    state.set_solo("S01", True)
    state.set_master(-1.0)
    again = MixerState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state
    assert MixerState.from_dict({"strips": {"S00": {}}}).strips == {"S00": Strip()}  # fields default


@pytest.mark.parametrize("data, message", [
    ([], "mixer state must be a mapping"),
    ({"strips": []}, "strips must be a mapping"),
    ({"strips": {"S00": 3}}, "strip 'S00' must be a mapping"),
    ({"strips": {"S00": {"gain_db": "loud"}}}, r"strip 'S00': gain_db must be a number of dB, got 'loud'"),
    ({"strips": {"S00": {"gain_db": None}}}, "gain_db must be a number"),
    ({"strips": {"S00": {"gain_db": 1e9}}}, "gain_db must be between"),
    ({"strips": {"S00": {"mute": "yes"}}}, r"strip 'S00': mute must be true or false, got 'yes'"),
    ({"strips": {"S00": {"solo": 1}}}, "solo must be true or false"),
    ({"strips": {"S00": {"gain": 1.0}}}, r"unknown field\(s\) gain"),
    ({"strips": {"": {}}}, "non-empty strings"),
    ({"strips": {}, "volume": 3}, r"unknown key\(s\) volume"),
    ({"version": 7, "strips": {}}, "unsupported version 7"),
    ({"master_db": "x"}, "master_db must be a number"),
])
def test_from_dict_errors(data, message):
    with pytest.raises(ValueError, match=message):
        MixerState.from_dict(data)


# ---- mixing -----------------------------------------------------------------------------------------------------


def test_mix_block_sums_gained_stems_and_zero_pads():
    stems = {"a": np.arange(10, dtype=np.float32), "b": np.ones(6, dtype=np.float32)}
    out = mix_block(stems, {"a": 0.5, "b": 2.0, "missing": 1.0}, 4, 8)
    expected = np.zeros(8)
    expected[:6] += 0.5 * np.arange(4, 10)
    expected[:2] += 2.0
    assert out.dtype == np.float32 and np.array_equal(out, expected.astype(np.float32))
    assert np.array_equal(mix_block(stems, {"a": 1.0}, 100, 5), np.zeros(5, np.float32))  # past the end


def test_mix_block_writes_into_out_without_allocating():
    stems = make_stems(0.5)
    gains = {"S00": 0.7, "S01": 1.0, "S02": 0.0}
    out = np.full(2048, 99.0, dtype=np.float32)
    scratch = np.empty(2048, dtype=np.float32)
    res = mix_block(stems, gains, 1000, 1024, out, scratch=scratch)
    assert np.shares_memory(res, out) and len(res) == 1024
    expected = np.float32(0.7) * stems["S00"][1000:2024] + stems["S01"][1000:2024]
    np.testing.assert_allclose(res, expected, atol=1e-7)
    res2 = mix_block(stems, gains, 1000, 1024, out)  # the per-thread scratch buffer: same numbers
    assert np.array_equal(res, res2)


def test_levels():
    stems = make_stems(3.0)
    lv = levels(stems["S00"], SR)
    assert lv.peak_dbfs == pytest.approx(20 * math.log10(float(np.max(np.abs(stems["S00"])))))
    assert lv.lufs == pytest.approx(mixer.integrated_loudness(stems["S00"], SR))
    assert math.isfinite(lv.lufs)
    for silent in (np.zeros(SR, np.float32), np.zeros(0, np.float32)):
        lv = levels(silent, SR)
        assert lv.lufs == float("-inf") and lv.peak_dbfs == float("-inf")
    short = levels(stems["S00"][:1000], SR)  # under one 400 ms block: no loudness, but a peak
    assert short.lufs == float("-inf") and math.isfinite(short.peak_dbfs)
    with pytest.raises(ValueError, match="NaN"):
        levels(np.array([0.0, np.nan] * SR), SR)


# ---- export -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["wav", "flac"])
def test_export_fader_changes_that_stem_by_exactly_its_factor(tmp_path, fmt):
    stems = make_stems()
    state = MixerState.for_stems(stems)
    base = export_mix(tmp_path / f"base.{fmt}", stems, state, SR)
    state.set_gain("S01", 6.0)
    boosted = export_mix(tmp_path / f"boost.{fmt}", stems, state, SR, stems_dir=tmp_path / "stems")
    assert base.paths == [tmp_path / f"base.{fmt}"] and base.clipped_samples == 0 and base.gain_applied_db == 0.0
    g = 10 ** (6 / 20)
    a, b = read(base.paths[0]), read(boosted.paths[0])
    s01 = stems["S01"].astype(np.float64)
    assert np.max(np.abs(a - sum(s.astype(np.float64) for s in stems.values()))) <= LSB  # unity = the auto-mix
    # The difference of the two mixes is exactly (g - 1) * S01, up to one quantization step each.
    assert np.max(np.abs((b - a) - (g - 1) * s01)) <= 1.01 * LSB
    ratio = np.dot(b - a, s01) / np.dot(s01, s01)
    assert ratio == pytest.approx(g - 1, abs=1e-4)
    # The gained stem file is g * S01 to half a step; the others untouched; together they make the mix.
    stem_files = {p.stem: read(p) for p in boosted.paths[1:]}
    assert sorted(stem_files) == ["S00", "S01", "S02"]
    assert np.max(np.abs(stem_files["S01"] - g * s01)) <= 0.5 * LSB + 1e-6
    assert np.max(np.abs(stem_files["S00"] - stems["S00"])) <= 0.5 * LSB + 1e-6
    assert np.max(np.abs(sum(stem_files.values()) - b)) <= 2 * LSB
    assert boosted.peak_dbfs == pytest.approx(20 * math.log10(np.max(np.abs(sum(
        stems[k].astype(np.float64) * (g if k == "S01" else 1.0) for k in stems)))), abs=1e-3)


def test_export_writes_only_sounding_stems(tmp_path):
    stems = make_stems()
    state = MixerState.for_stems(stems)
    state.set_mute("S00", True)
    report = export_mix(tmp_path / "mix.wav", stems, state, SR, stems_dir=tmp_path / "st")
    assert [p.name for p in report.paths] == ["mix.wav", "S01.wav", "S02.wav"]
    state.set_solo("S02", True)
    report = export_mix(tmp_path / "solo.flac", stems, state, SR)
    np.testing.assert_allclose(read(report.paths[0]), stems["S02"], atol=0.5 * LSB + 1e-6)


def hot_stems() -> dict[str, np.ndarray]:
    """Two in-phase sines at 0.6: the mix peaks at 1.2 (+1.58 dBFS)."""
    t = np.arange(SR) / SR
    s = (0.6 * np.sin(2 * np.pi * 100 * t)).astype(np.float32)
    return {"S00": s, "S01": s.copy()}


def test_export_refuses_clipping_and_writes_nothing(tmp_path):
    stems = hot_stems()
    mix = stems["S00"].astype(np.float64) * 2
    with pytest.raises(ClippingError) as info:
        export_mix(tmp_path / "mix.wav", stems, MixerState.for_stems(stems), SR, stems_dir=tmp_path / "stems")
    err = info.value
    over = int(np.count_nonzero(np.abs(mix.astype(np.float32)) > 32767 / 32768))
    assert err.clipped_samples == over > 0 and err.per_file == {"mix.wav": over}
    assert err.peak_dbfs == pytest.approx(20 * math.log10(1.2), abs=1e-3)
    msg = str(err)
    assert "+1.58 dBFS" in msg and f"{over} sample(s)" in msg and "on_clip='normalize'" in msg
    assert "faders" in msg and "Nothing was written" in msg
    assert ls(tmp_path) == []  # no mix, no stems folder, no temp files


def test_export_refuses_a_clipping_stem_even_if_the_mix_does_not(tmp_path):
    t = np.arange(SR) / SR
    s = (0.6 * np.sin(2 * np.pi * 100 * t)).astype(np.float32)
    stems = {"S00": s, "S01": -s}  # cancel in the mix
    state = MixerState.for_stems(stems)
    state.set_gain("S00", 6.0)
    state.set_gain("S01", 6.0)
    export_mix(tmp_path / "mix.wav", stems, state, SR)  # mix alone is fine (silence)
    with pytest.raises(ClippingError) as info:
        export_mix(tmp_path / "again.wav", stems, state, SR, stems_dir=tmp_path / "stems")
    assert set(info.value.per_file) == {"S00.wav", "S01.wav"}
    assert ls(tmp_path) == ["mix.wav"]


def test_export_normalize_policy(tmp_path):
    stems = hot_stems()
    report = export_mix(tmp_path / "mix.wav", stems, MixerState.for_stems(stems), SR,
                        stems_dir=tmp_path / "stems", on_clip="normalize")
    expected_gain_db = -1.0 - 20 * math.log10(1.2)
    assert report.gain_applied_db == pytest.approx(expected_gain_db, abs=1e-3)
    assert report.clipped_samples == 0 and report.over_samples > 0
    assert report.peak_dbfs == pytest.approx(20 * math.log10(1.2), abs=1e-3)
    mix = read(report.paths[0])
    assert 20 * math.log10(np.max(np.abs(mix))) == pytest.approx(-1.0, abs=0.01)
    # one gain for everything: each stem is scaled by the same factor
    k = 10 ** (report.gain_applied_db / 20)
    for p in report.paths[1:]:
        assert np.max(np.abs(read(p) - k * stems[p.stem])) <= 0.5 * LSB + 1e-6
    assert ls(tmp_path) == ["mix.wav", "stems", "stems/S00.wav", "stems/S01.wav"]


def test_export_clip_policy(tmp_path):
    stems = hot_stems()
    report = export_mix(tmp_path / "mix.flac", stems, MixerState.for_stems(stems), SR, on_clip="clip")
    mix = (stems["S00"].astype(np.float64) * 2).astype(np.float32)
    over = int(np.count_nonzero(np.abs(mix) > 32767 / 32768))
    assert report.clipped_samples == over == report.over_samples and report.gain_applied_db == 0.0
    data, _ = sf.read(report.paths[0], dtype="int16")
    assert data.max() == 32767 and data.min() == -32767
    assert int(np.count_nonzero(np.abs(data.astype(np.int32)) == 32767)) >= over
    assert ls(tmp_path) == ["mix.flac"]


def test_export_that_fits_needs_no_policy(tmp_path):
    stems = hot_stems()
    state = MixerState.for_stems(stems)
    state.set_master(-3.0)  # 1.2 * 0.708 = 0.85: fits
    report = export_mix(tmp_path / "mix.wav", stems, state, SR, on_clip="normalize")
    assert report.gain_applied_db == 0.0 and report.over_samples == 0
    assert report.peak_dbfs == pytest.approx(20 * math.log10(1.2) - 3.0, abs=1e-3)


def test_export_is_atomic_and_validates_first(tmp_path):
    stems = make_stems(0.5)
    state = MixerState.for_stems(stems)
    target = tmp_path / "mix.wav"
    target.write_bytes(b"old")
    export_mix(target, stems, state, SR, stems_dir=tmp_path / "stems")
    export_mix(target, stems, state, SR, stems_dir=tmp_path / "stems")  # replaces in place
    assert ls(tmp_path) == ["mix.wav", "stems", "stems/S00.wav", "stems/S01.wav", "stems/S02.wav"]
    assert sf.info(target).frames == len(stems["S00"])
    with pytest.raises(ValueError, match="unknown audio format 'mp3'"):
        export_mix(tmp_path / "mix.mp3", stems, state, SR)
    with pytest.raises(ValueError, match="on_clip"):
        export_mix(tmp_path / "x.wav", stems, state, SR, on_clip="ignore")
    with pytest.raises(OSError):
        export_mix(tmp_path / "no" / "such" / "mix.wav", stems, state, SR)
    assert ls(tmp_path) == ["mix.wav", "stems", "stems/S00.wav", "stems/S01.wav", "stems/S02.wav"]
    assert not any(".part" in name for name in ls(tmp_path))
