"""Display spectrograms: band placement per scale, levels, chunking, cache, progress and cancel (no Qt)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from slakh_gui.core.jobs import Cancelled, CancelToken
from slakh_gui.core.studio.spectrogram import (
    SpectrogramCache,
    audio_fingerprint,
    compute_spectrogram,
    hz_to_mel,
    mel_filterbank,
    mel_to_hz,
)

SR = 44100
SCALES = ("log", "mel", "linear")


def tone(freq: float, seconds: float = 1.0, amp: float = 0.5, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def peak_freq(spec) -> float:
    profile = spec.db[:, spec.n_frames // 4: 3 * spec.n_frames // 4].mean(axis=1)
    return float(spec.freqs[int(np.argmax(profile))])


@pytest.mark.parametrize("scale", SCALES)
def test_sine_peaks_in_its_band(scale):
    spec = compute_spectrogram(tone(1000.0), SR, scale=scale)
    assert spec.db.shape == (256, 1 + SR // 512) and spec.db.dtype == np.float32
    f = peak_freq(spec)
    row = int(round(float(spec.row_of(f))))
    # the peak band is the band whose centre is nearest to 1 kHz on this scale's axis
    assert row == int(round(float(spec.row_of(1000.0))))
    band = abs(spec.freqs[min(row + 1, 255)] - spec.freqs[max(row - 1, 0)])
    assert abs(f - 1000.0) <= band, (scale, f)
    assert spec.max_db == pytest.approx(0.0, abs=1e-4)  # default ref: this signal's loudest band


@pytest.mark.parametrize("scale", SCALES)
def test_two_tones_separate(scale):
    spec = compute_spectrogram(tone(220.0) + tone(3520.0), SR, scale=scale)
    profile = spec.db[:, 20:-20].mean(axis=1)
    r_lo, r_hi = (int(round(float(spec.row_of(f)))) for f in (220.0, 3520.0))
    mid = int(round(float(spec.row_of(np.sqrt(220.0 * 3520.0)))))
    assert profile[r_lo] > -10 and profile[r_hi] > -10
    assert profile[mid] < min(profile[r_lo], profile[r_hi]) - 40  # a deep valley between the two peaks


@pytest.mark.parametrize("scale", SCALES)
def test_silence_is_the_floor_and_finite(scale):
    spec = compute_spectrogram(np.zeros(SR, np.float32), SR, scale=scale, top_db=70.0)
    assert np.isfinite(spec.db).all()
    assert (spec.db == -70.0).all() and spec.floor_db == -70.0
    # with an explicit reference too, and with an empty or a NaN-carrying signal
    assert (compute_spectrogram(np.zeros(1000), SR, scale=scale, ref=1.0).db == -80.0).all()
    empty = compute_spectrogram(np.zeros(0, np.float32), SR, scale=scale)
    assert empty.db.shape == (256, 1) and np.isfinite(empty.db).all()
    noisy = tone(440.0)
    noisy[100] = np.nan
    assert np.isfinite(compute_spectrogram(noisy, SR, scale=scale).db).all()


def test_no_top_db_floors_at_amin():
    spec = compute_spectrogram(np.zeros(4096, np.float32), SR, top_db=None)
    assert np.isfinite(spec.db).all() and spec.db.max() == spec.db.min() == pytest.approx(-120.0)


def one_shot_linear_db(x: np.ndarray, n_fft: int, hop: int) -> np.ndarray:
    """Reference: the whole (centred, zero-padded) STFT at once, in numpy float64."""
    pad = n_fft // 2
    xp = np.pad(x.astype(np.float64), pad)
    n_frames = 1 + len(x) // hop
    idx = np.arange(n_fft)[None, :] + hop * np.arange(n_frames)[:, None]
    w = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    spec = np.fft.rfft(xp[idx] * w * (2.0 / w.sum()), axis=1)
    power = np.abs(spec.T) ** 2
    return 10 * np.log10(np.maximum(power, 1e-12) / power.max())


def test_chunked_equals_one_shot(monkeypatch):
    import slakh_gui.core.studio.spectrogram as mod

    monkeypatch.setattr(mod, "_BLOCK_VALUES", 16 * 256)  # 16 frames per block: many blocks, odd last block
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(20_011) * 0.2 + tone(880.0, 20_011 / SR)).astype(np.float32)
    spec = compute_spectrogram(x, SR, n_fft=256, hop=100, scale="linear", n_bins=129, top_db=None)
    ref = np.maximum(one_shot_linear_db(x, 256, 100), -120.0)
    assert spec.db.shape == ref.shape == (129, 1 + 20_011 // 100)
    assert np.allclose(spec.db, ref, atol=2e-3)
    # the pooled scales are the same power pooled: one block or many give the same result
    for scale in ("log", "mel"):
        many = compute_spectrogram(x, SR, n_fft=256, hop=100, scale=scale, n_bins=40, fmin=200.0)
        monkeypatch.setattr(mod, "_BLOCK_VALUES", 1 << 21)
        one = compute_spectrogram(x, SR, n_fft=256, hop=100, scale=scale, n_bins=40, fmin=200.0)
        monkeypatch.setattr(mod, "_BLOCK_VALUES", 16 * 256)
        assert np.allclose(many.db, one.db, atol=1e-4)


def test_full_scale_sine_reads_zero_db_re_full_scale():
    # 1 kHz is not on a bin centre at 2048 points; 43 bins * 44100/2048 is (scalloping loss is at most 1.42 dB)
    f = 43 * SR / 2048
    spec = compute_spectrogram(tone(f, amp=1.0), SR, scale="linear", n_bins=1025, ref=1.0)
    assert spec.db[:, 10:-10].max() == pytest.approx(0.0, abs=0.05)
    assert spec.freqs[43] == pytest.approx(f)


def test_shared_ref_gives_one_colour_scale():
    x = tone(500.0) + tone(2000.0, amp=0.1)
    mix = compute_spectrogram(x, SR)
    stem = compute_spectrogram(0.5 * x, SR, ref=mix.ref)
    alone = compute_spectrogram(0.5 * x, SR)
    assert stem.ref == mix.ref and alone.ref == pytest.approx(mix.ref / 4, rel=1e-5)
    loud = mix.db > -40
    assert np.allclose(stem.db[loud] - mix.db[loud], 20 * np.log10(0.5), atol=1e-3)  # -6.02 dB
    assert np.allclose(alone.db[loud], mix.db[loud], atol=1e-3)  # its own ref hides the level difference


def test_time_axis():
    for n, hop in ((SR, 512), (SR + 1, 512), (1000, 256), (511, 512)):
        spec = compute_spectrogram(np.ones(n, np.float32) * 0.1, SR, hop=hop)
        assert spec.n_frames == len(spec.times) == 1 + n // hop
        assert np.allclose(np.diff(spec.times), hop / SR)
        assert spec.times[0] == 0.0 and spec.duration == pytest.approx(n / SR)
        assert len(spec.freqs) == spec.n_bins == 256


def test_stereo_is_averaged():
    x = tone(1000.0)
    st = np.stack([x, x], axis=1)
    assert np.allclose(compute_spectrogram(st, SR).db, compute_spectrogram(x, SR).db)
    assert np.allclose(compute_spectrogram(st.T, SR).db, compute_spectrogram(x, SR).db)


@pytest.mark.parametrize("scale", SCALES)
def test_row_of_and_freq_of_invert(scale):
    spec = compute_spectrogram(tone(100.0, 0.1), SR, scale=scale, n_bins=200)
    rows = np.arange(200)
    assert np.allclose(spec.row_of(spec.freqs), rows, atol=1e-6)
    assert np.allclose(spec.freq_of(rows), spec.freqs, rtol=1e-9)
    assert np.all(np.diff(spec.freqs) > 0)
    lo = 30.0 if scale != "linear" else 0.0
    assert lo <= spec.freqs[0] < spec.freqs[-1] <= SR / 2


def test_mel_formulas():
    assert hz_to_mel(1000.0) == pytest.approx(15.0)
    assert hz_to_mel(1000.0, htk=True) == pytest.approx(1000.0, abs=0.1)
    f = np.array([0.0, 30.0, 440.0, 1000.0, 5000.0, 22050.0])
    for htk in (False, True):
        assert np.allclose(mel_to_hz(hz_to_mel(f, htk), htk), f)


@pytest.mark.parametrize("htk", [False, True])
@pytest.mark.parametrize("norm", ["slaney", None])
def test_mel_filterbank_matches_librosa(htk, norm):
    librosa = pytest.importorskip("librosa")
    mine = mel_filterbank(22050, 2048, n_mels=64, fmin=20.0, fmax=8000.0, htk=htk, norm=norm)
    theirs = librosa.filters.mel(sr=22050, n_fft=2048, n_mels=64, fmin=20.0, fmax=8000.0, htk=htk, norm=norm)
    assert mine.shape == theirs.shape
    assert np.allclose(mine, theirs, rtol=1e-5, atol=1e-8)


def test_progress_and_cancel(monkeypatch):
    import slakh_gui.core.studio.spectrogram as mod

    monkeypatch.setattr(mod, "_BLOCK_VALUES", 64 * 2048)
    seen = []
    spec = compute_spectrogram(tone(300.0, 3.0), SR, progress=seen.append)
    assert seen[0].stage == "spectrogram" and seen[0].done == 0
    assert seen[-1].done == seen[-1].total == spec.n_frames and len(seen) > 3
    assert [p.done for p in seen] == sorted(p.done for p in seen)

    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        compute_spectrogram(tone(300.0, 3.0), SR, cancel=token)

    token = CancelToken()

    def cancel_after_second(p):
        if p.done > 0 and p.done >= 128:
            token.cancel()

    with pytest.raises(Cancelled):
        compute_spectrogram(tone(300.0, 3.0), SR, progress=cancel_after_second, cancel=token)


def test_bad_arguments():
    with pytest.raises(ValueError, match="scale"):
        compute_spectrogram(tone(100.0, 0.1), SR, scale="bark")
    with pytest.raises(ValueError, match="fmin"):
        compute_spectrogram(tone(100.0, 0.1), SR, fmin=30000.0)
    with pytest.raises(ValueError, match="ref"):
        compute_spectrogram(tone(100.0, 0.1), SR, ref=0.0)


def test_long_file_memory_is_bounded():
    """A 5-minute mono file: peak allocation stays far below the full complex STFT (~210 MB complex64)."""
    x = np.zeros(300 * SR, np.float32)
    x[::1000] = 0.5
    tracemalloc.start()
    try:
        spec = compute_spectrogram(x, SR)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert spec.db.shape == (256, 1 + 300 * SR // 512)
    assert peak < spec.db.nbytes + 60e6, peak / 1e6


def test_cache_lru_and_keys():
    cache = SpectrogramCache(max_entries=2)
    a, b, c = tone(200.0, 0.2), tone(300.0, 0.2), tone(400.0, 0.2)
    assert audio_fingerprint(a) == audio_fingerprint(a.copy()) != audio_fingerprint(b)
    sa = cache.compute(a, SR, scale="mel")
    assert cache.compute(a.copy(), SR, scale="mel") is sa  # same content, another array: a hit
    assert cache.compute(a, SR, scale="log") is not sa  # other parameters: another entry
    cache.compute(b, SR)
    assert len(cache) == 2 and cache.get(cache.key(a, SR, scale="mel")) is None  # least recently used went
    assert cache.get(cache.key(b, SR)) is not None
    cache.compute(c, SR)
    assert cache.get(cache.key(a, SR, scale="log")) is None
    with pytest.raises(TypeError):
        cache.key(a, SR, colour="red")
    long = tone(200.0, 3.0)
    changed = long.copy()
    changed[12345] += 0.25  # not one of the sampled values (every 2nd): the full sum still tells
    assert audio_fingerprint(changed) != audio_fingerprint(long)
    cache.clear()
    assert len(cache) == 0


def test_channels_of_a_stereo_signal():
    from slakh_gui.core.studio.spectrogram import compute_spectrogram as cs

    rng = np.random.default_rng(5)
    lr = (0.2 * rng.uniform(-1, 1, (20000, 2))).astype(np.float32)
    for channel, mono in (("left", lr[:, 0]), ("right", lr[:, 1]), ("mono", (lr[:, 0] + lr[:, 1]) / 2),
                          ("side", (lr[:, 0] - lr[:, 1]) / 2)):
        got = cs(lr, 44100, channel=channel, ref=1.0)
        assert got.channel == channel
        np.testing.assert_allclose(got.db, cs(mono.astype(np.float32), 44100, ref=1.0).db, atol=1e-3)
    assert cs(lr[:, 0].copy(), 44100, channel="side").channel == "mono"  # mono audio is itself
    with pytest.raises(ValueError, match="channel"):
        cs(lr, 44100, channel="centre")
