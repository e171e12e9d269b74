"""Spectrograms for display: a Hann-windowed STFT, pooled into log, mel or linear frequency bands, in dB.

No Qt here: :func:`compute_spectrogram` is a plain function with keyword-only ``progress``/``cancel`` hooks, run by
the GUI on a worker thread. The STFT is computed in blocks of frames and pooled band by band as it goes, so a long
file never has its whole complex STFT in memory (a 5-minute mono file: about 26 MB of float32 bands instead of
210 MB of complex bins).

Levels: the spectrum is scaled so that a full-scale sine centred on a bin reads 1.0 (0 dB) in that bin, and bands
average the power of the bins they cover (weights sum to 1), so levels are comparable across scales and sizes. dB are
relative to ``ref`` (a power): by default the loudest band of this signal, so the result spans ``[-top_db, 0]``;
pass one explicit ``ref`` (``1.0`` = full scale, or another spectrogram's ``.ref``) to give a mix and its stems one
colour scale. Nothing is ever NaN or -inf: silence is the floor (``-top_db``).

Example::

    spec = compute_spectrogram(audio, SAMPLE_RATE, scale="mel", n_bins=128)
    spec.db.shape            # (128, 1 + len(audio) // 512)
    spec.row_of(1000.0)      # fractional image row of 1 kHz (for axis ticks)
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from slakh_gui.core import diskaudio
from slakh_gui.core.constants import SAMPLE_RATE
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report

SCALES = ("log", "mel", "linear")
AMIN = 1e-12  # smallest power before dB (-120 dB re full scale)
_BLOCK_VALUES = 1 << 19  # frames per STFT block = this / n_fft (256 frames of 2048): short GIL-holding FFT calls

# Slaney's Auditory Toolbox mel scale (librosa's default): linear below 1 kHz, logarithmic above.
_F_SP = 200.0 / 3.0
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # 15
_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(freq, htk: bool = False):
    """Hz to mel: Slaney's formula (default, as librosa) or HTK's ``2595 log10(1 + f / 700)``."""
    f = np.asarray(freq, dtype=np.float64)
    if htk:
        return 2595.0 * np.log10(1.0 + f / 700.0)
    safe = np.maximum(f, _MIN_LOG_HZ)
    return np.where(f >= _MIN_LOG_HZ, _MIN_LOG_MEL + np.log(safe / _MIN_LOG_HZ) / _LOGSTEP, f / _F_SP)


def mel_to_hz(mel, htk: bool = False):
    """Inverse of :func:`hz_to_mel`."""
    m = np.asarray(mel, dtype=np.float64)
    if htk:
        return 700.0 * (10.0 ** (m / 2595.0) - 1.0)
    return np.where(m >= _MIN_LOG_MEL, _MIN_LOG_HZ * np.exp(_LOGSTEP * (m - _MIN_LOG_MEL)), _F_SP * m)


def mel_filterbank(sample_rate: int, n_fft: int, n_mels: int = 128, fmin: float = 0.0, fmax: float | None = None,
                   htk: bool = False, norm: str | None = "slaney") -> np.ndarray:
    """Triangular mel filters, shape ``(n_mels, n_fft // 2 + 1)``: the same matrix as ``librosa.filters.mel``.

    ``norm="slaney"`` divides each triangle by its width in Hz (constant energy per band), ``None`` leaves peaks at 1.
    Filters narrower than the FFT bin spacing can be all zero here, as in librosa; :func:`compute_spectrogram` uses
    the same band edges but interpolates such narrow bands instead.
    """
    fmax = sample_rate / 2.0 if fmax is None else float(fmax)
    fft_freqs = np.fft.rfftfreq(n_fft, 1.0 / sample_rate)
    mel_f = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(fmax, htk), n_mels + 2), htk)
    fdiff = np.diff(mel_f)
    ramps = mel_f[:, None] - fft_freqs[None, :]
    lower = -ramps[:-2] / fdiff[:-1, None]
    upper = ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    if norm == "slaney":
        weights *= (2.0 / (mel_f[2:] - mel_f[:-2]))[:, None]
    elif norm is not None:
        raise ValueError(f"unknown mel norm {norm!r} (use 'slaney' or None)")
    return weights.astype(np.float32)


def _warp(freq, scale: str, htk: bool = False):
    f = np.asarray(freq, dtype=np.float64)
    if scale == "log":
        return np.log(np.maximum(f, 1e-6))
    if scale == "mel":
        return hz_to_mel(f, htk)
    return f


def _unwarp(value, scale: str, htk: bool = False):
    v = np.asarray(value, dtype=np.float64)
    if scale == "log":
        return np.exp(v)
    if scale == "mel":
        return mel_to_hz(v, htk)
    return v


@dataclass
class Spectrogram:
    """A display spectrogram: ``db[band, frame]`` with band 0 the lowest frequency.

    ``times`` are frame centres (s; frame ``i`` is centred on sample ``i * hop``), ``freqs`` band centres (Hz), uniform
    on the ``scale``'s warped axis (log Hz, mel, or Hz), which :meth:`row_of` and :meth:`freq_of` invert exactly.
    ``ref`` is the power that reads 0 dB and ``floor_db`` the lowest value in ``db``.
    """

    db: np.ndarray
    times: np.ndarray
    freqs: np.ndarray
    scale: str
    sample_rate: int = SAMPLE_RATE
    n_fft: int = 2048
    hop: int = 512
    ref: float = 1.0
    floor_db: float = -80.0
    duration: float = 0.0
    htk: bool = False
    channel: str = "mono"  # of a stereo signal: mono (mid), left, right or side (see CHANNELS)

    @property
    def n_bins(self) -> int:
        return int(self.db.shape[0])

    @property
    def n_frames(self) -> int:
        return int(self.db.shape[1])

    @property
    def max_db(self) -> float:
        return float(self.db.max()) if self.db.size else self.floor_db

    def row_of(self, freq_hz):
        """Fractional band index of a frequency (band ``i``'s centre is ``i``); extrapolates past both ends."""
        w = _warp(self.freqs[[0, -1]], self.scale, self.htk)
        if self.n_bins < 2 or w[1] == w[0]:
            return np.zeros_like(np.asarray(freq_hz, dtype=np.float64))
        return (_warp(freq_hz, self.scale, self.htk) - w[0]) / (w[1] - w[0]) * (self.n_bins - 1)

    def freq_of(self, row):
        """Frequency (Hz) at a fractional band index: the inverse of :meth:`row_of`."""
        w = _warp(self.freqs[[0, -1]], self.scale, self.htk)
        if self.n_bins < 2:
            return np.full_like(np.asarray(row, dtype=np.float64), self.freqs[0])
        return _unwarp(w[0] + np.asarray(row, dtype=np.float64) / (self.n_bins - 1) * (w[1] - w[0]),
                       self.scale, self.htk)


def _band_weights(points: np.ndarray, n_fft: int, sample_rate: int):
    """Sparse ``(n_bands, n_fft//2+1)`` pooling matrix for triangles ``points[i] < points[i+1] < points[i+2]`` (Hz).

    A triangle that spans at least two FFT bins averages them with triangular weights; a narrower one (low bands of
    a fine log or mel axis) linearly interpolates the power at its centre. Every row sums to 1.
    """
    from scipy import sparse  # 0.2 s import, only when computing

    n_freq = n_fft // 2 + 1
    df = sample_rate / n_fft
    fft_freqs = np.arange(n_freq) * df
    rows, cols, vals = [], [], []
    for i in range(len(points) - 2):
        lo, c, hi = points[i], points[i + 1], points[i + 2]
        k0, k1 = max(0, int(math.ceil(lo / df))), min(n_freq - 1, int(math.floor(hi / df)))
        w = None
        if hi - lo >= 2.0 * df and k1 >= k0:
            f = fft_freqs[k0:k1 + 1]
            w = np.maximum(0.0, np.minimum((f - lo) / max(c - lo, 1e-9), (hi - f) / max(hi - c, 1e-9)))
            if w.sum() <= 0:
                w = None
        if w is None:  # interpolate the power at the band centre
            x = min(max(c / df, 0.0), n_freq - 1.0)
            k0 = min(int(math.floor(x)), n_freq - 2)
            frac = x - k0
            w = np.array([1.0 - frac, frac])
        nz = np.nonzero(w)[0]
        rows.append(np.full(len(nz), i))
        cols.append(k0 + nz)
        vals.append(w[nz] / w.sum())
    return sparse.csr_matrix((np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
                             shape=(len(points) - 2, n_freq))


def band_layout(scale: str, sample_rate: int, n_fft: int, n_bins: int, fmin: float, htk: bool = False):
    """``(weights or None, centre freqs)`` for a scale; ``None`` means the FFT bins themselves (no pooling)."""
    from scipy import sparse

    if scale not in SCALES:
        raise ValueError(f"unknown scale {scale!r} (use one of {', '.join(SCALES)})")
    if n_bins < 1:
        raise ValueError("n_bins must be at least 1")
    nyquist = sample_rate / 2.0
    n_freq = n_fft // 2 + 1
    if scale == "linear":
        if n_bins >= n_freq:
            return None, np.arange(n_freq) * (sample_rate / n_fft)
        # boxcar pooling: bin k covers [k - 1/2, k + 1/2) on the bin axis, band i covers [e_i, e_i+1)
        edges = np.linspace(-0.5, n_freq - 0.5, n_bins + 1)
        k = np.arange(n_freq)
        overlap = np.clip(np.minimum(edges[1:, None], k + 0.5) - np.maximum(edges[:-1, None], k - 0.5), 0.0, None)
        overlap /= overlap.sum(axis=1, keepdims=True)
        centres = (edges[:-1] + edges[1:]) / 2.0 * (sample_rate / n_fft)
        return sparse.csr_matrix(overlap.astype(np.float32)), centres
    fmin = float(fmin)
    if not 0.0 < fmin < nyquist:
        raise ValueError(f"fmin must be between 0 and the Nyquist frequency ({nyquist:g} Hz)")
    if scale == "log":
        points = np.geomspace(fmin, nyquist, n_bins + 2)
    else:
        points = mel_to_hz(np.linspace(hz_to_mel(fmin, htk), hz_to_mel(nyquist, htk), n_bins + 2), htk)
    return _band_weights(points, n_fft, sample_rate), points[1:-1]


CHANNELS = ("mono", "left", "right", "side")  # what of a stereo signal a spectrogram shows (mono = mid, (L + R) / 2)


def _frames_first(audio: np.ndarray) -> np.ndarray:
    a = np.asarray(audio)
    if a.ndim == 1:
        return a
    if a.ndim != 2:
        raise ValueError("audio must be 1-D (mono) or 2-D (samples, channels)")
    return a.T if a.shape[0] < a.shape[1] and a.shape[0] <= 8 else a  # (channels, samples) or (samples, channels)


def _reader(a: np.ndarray, channel: str):
    """``read(start, stop)`` -> float32 1-D samples of ``channel`` of ``a`` (frames first), computed per block:
    mono = the mean of the channels (the mid, (L + R) / 2, of stereo), left / right = a column, side = (L - R) / 2.
    A mono signal is itself whatever the channel."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r} (use {', '.join(CHANNELS)})")
    if a.ndim == 1:
        return lambda lo, hi: a[lo:hi]
    if channel == "mono" or a.shape[1] < 2:
        return lambda lo, hi: a[lo:hi].mean(axis=1, dtype=np.float32)
    if channel in ("left", "right"):
        col = 0 if channel == "left" else 1
        return lambda lo, hi: a[lo:hi, col]
    return lambda lo, hi: (a[lo:hi, 0] - a[lo:hi, 1]) * np.float32(0.5)


def compute_spectrogram(audio: np.ndarray, sample_rate: int, *, n_fft: int = 2048, hop: int = 512,
                        scale: str = "log", n_bins: int = 256, fmin: float = 30.0, top_db: float | None = 80.0,
                        ref: float | None = None, htk: bool = False, channel: str = "mono",
                        progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> Spectrogram:
    """The dB spectrogram of mono ``audio``, or of ``channel`` of a stereo one (:data:`CHANNELS`: ``"mono"``, the
    default, averages the channels: the mid; ``"left"``, ``"right"``; ``"side"`` = (L - R) / 2), ``n_bins`` bands
    on a log, mel or linear axis.

    Frames are centred (``1 + len(audio) // hop`` of them, zero padding at both ends), windowed with a periodic Hann
    window and transformed in blocks of about a thousand frames; each block's power is pooled into bands at once.
    ``scale``: ``"log"`` = log-spaced bands from ``fmin`` to Nyquist, ``"mel"`` = mel bands (Slaney's formula, or HTK's
    with ``htk=True``) from ``fmin`` to Nyquist, ``"linear"`` = FFT bins pooled into ``n_bins`` equal bands from 0 Hz
    (the bins themselves when ``n_bins >= n_fft // 2 + 1``). ``ref``: the power that reads 0 dB (default: this
    signal's loudest band; ``1.0`` = full-scale sine). Values are clipped below at ``-top_db`` (``None``: at -120 dB
    re full scale). Reports ``progress`` per block (stage ``"spectrogram"``, frames) and checks ``cancel`` between
    blocks (raises :class:`~slakh_gui.core.jobs.Cancelled`).
    """
    from scipy import fft as sfft
    from scipy.signal import get_window

    if n_fft < 16 or hop < 1:
        raise ValueError("n_fft must be at least 16 and hop at least 1")
    if sample_rate <= 0:
        raise ValueError("sample_rate must be positive")
    if ref is not None and not ref > 0:
        raise ValueError("ref must be a positive power (or None)")
    x = _frames_first(audio)
    read = _reader(x, channel)
    weights, freqs = band_layout(scale, sample_rate, n_fft, n_bins, fmin, htk)
    n = len(x)
    pad = n_fft // 2
    n_frames = 1 + n // hop
    out_bins = len(freqs)
    out = np.empty((out_bins, n_frames), dtype=np.float32)
    window = get_window("hann", n_fft, fftbins=True).astype(np.float32)
    window *= np.float32(2.0 / window.sum())  # a full-scale sine on a bin reads magnitude 1
    wt = weights.T.tocsr() if weights is not None else None  # power (frames, bins) @ wt -> (frames, bands)
    block = max(16, _BLOCK_VALUES // n_fft)
    peak = 0.0
    report(progress, "spectrogram", 0, n_frames)
    for f0 in range(0, n_frames, block):
        check(cancel)
        f1 = min(n_frames, f0 + block)
        s0, s1 = f0 * hop - pad, (f1 - 1) * hop - pad + n_fft
        seg = np.zeros(s1 - s0, dtype=np.float32)
        a, b = max(s0, 0), min(s1, n)
        if b > a:
            seg[a - s0:b - s0] = read(a, b)
            diskaudio.release(x, a, b)
        frames = np.lib.stride_tricks.sliding_window_view(seg, n_fft)[::hop] * window
        np.nan_to_num(frames, copy=False, posinf=0.0, neginf=0.0)
        spec = sfft.rfft(frames, axis=1)
        del frames
        power = np.square(spec.real, dtype=np.float32)
        power += np.square(spec.imag, dtype=np.float32)
        del spec
        pooled = (power @ wt) if wt is not None else power  # (frames, bands)
        out[:, f0:f1] = pooled.T
        peak = max(peak, float(pooled.max()))
        report(progress, "spectrogram", f1, n_frames)
    diskaudio.release(x)
    if ref is None:
        ref = peak if peak > AMIN else 1.0  # silence: full scale, so everything reads the floor
    floor_db = -float(top_db) if top_db is not None else 10.0 * math.log10(AMIN / ref)
    np.maximum(out, AMIN, out=out)
    np.log10(out, out=out)
    out *= np.float32(10.0)
    out -= np.float32(10.0 * math.log10(ref))
    np.maximum(out, np.float32(floor_db), out=out)
    times = np.arange(n_frames) * (hop / sample_rate)
    return Spectrogram(db=out, times=times, freqs=np.asarray(freqs, dtype=np.float64), scale=scale,
                       sample_rate=int(sample_rate), n_fft=n_fft, hop=hop, ref=float(ref), floor_db=floor_db,
                       duration=n / sample_rate, htk=htk, channel=channel if x.ndim == 2 else "mono")


def audio_fingerprint(audio: np.ndarray) -> str:
    """A cheap content key for an audio array: shape, dtype, the float64 sum of all samples and a hash of up to
    65,536 evenly spaced ones (about 5 ms for 3 minutes). Equal arrays always match; different real recordings in
    practice never do."""
    a = np.asarray(audio)
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((a.shape, a.dtype.str)).encode())
    flat = a.reshape(-1)
    if flat.size:
        step = max(1, flat.size // 65536)
        # block by block (each a whole number of steps), so a memory-mapped stem is never resident as a whole
        picks, total = [], 0.0
        for _, part in diskaudio.read_blocks(flat, step * max(1, diskaudio.BLOCK // step)):
            picks.append(np.array(part[::step]))
            total += float(np.sum(part, dtype=np.float64))
        h.update(np.concatenate(picks).tobytes())
        h.update(np.ascontiguousarray(flat[-64:]).tobytes())
        h.update(repr(total).encode())
        diskaudio.release(flat)
    return h.hexdigest()


MAX_FRAMES = 1 << 15  # frames a display spectrogram has at most (256 bands: 32 MiB), whatever the song's length


def display_hop(n_samples: int, hop: int, max_frames: int = MAX_FRAMES) -> int:
    """``hop``, or a whole multiple of it, so that a spectrogram of ``n_samples`` has at most ``max_frames``
    frames: a 30-minute song is drawn at the same memory cost as a 3-minute one (each frame still sees ``n_fft``
    samples; only fewer of them are taken)."""
    frames = 1 + max(0, n_samples) // hop
    return hop * max(1, math.ceil(frames / max_frames))


_DEFAULTS = dict(n_fft=2048, hop=512, scale="log", n_bins=256, fmin=30.0, top_db=80.0, ref=None, htk=False,
                 channel="mono")


@dataclass
class SpectrogramCache:
    """A small thread-safe LRU of spectrograms keyed by (audio content, sample rate, parameters).

    ``cache.compute(audio, sr, scale="mel")`` returns the cached result or computes and stores it (it takes
    ``progress``/``cancel`` like :func:`compute_spectrogram`, so it can run as a job). ``key()`` + ``get()`` lets a
    view look up a result on the GUI thread without computing.
    """

    max_entries: int = 24
    max_bytes: int = 512 << 20
    _items: OrderedDict = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @staticmethod
    def key(audio: np.ndarray, sample_rate: int, fingerprint: str | None = None, **params) -> tuple:
        unknown = set(params) - set(_DEFAULTS)
        if unknown:
            raise TypeError(f"unknown spectrogram parameters: {', '.join(sorted(unknown))}")
        merged = {**_DEFAULTS, **params}
        return (fingerprint or audio_fingerprint(audio), int(sample_rate), tuple(sorted(merged.items())))

    def get(self, key: tuple) -> Spectrogram | None:
        with self._lock:
            spec = self._items.get(key)
            if spec is not None:
                self._items.move_to_end(key)
            return spec

    def put(self, key: tuple, spec: Spectrogram) -> None:
        with self._lock:
            self._items[key] = spec
            self._items.move_to_end(key)
            while len(self._items) > 1 and (len(self._items) > self.max_entries or self.nbytes > self.max_bytes):
                self._items.popitem(last=False)

    def compute(self, audio: np.ndarray, sample_rate: int, *, fingerprint: str | None = None,
                progress: ProgressFn | None = None, cancel: CancelToken | None = None, **params) -> Spectrogram:
        key = self.key(audio, sample_rate, fingerprint, **params)
        spec = self.get(key)
        if spec is None:
            spec = compute_spectrogram(audio, sample_rate, progress=progress, cancel=cancel, **params)
            self.put(key, spec)
        return spec

    @property
    def nbytes(self) -> int:
        return sum(s.db.nbytes for s in self._items.values())

    def clear(self) -> None:
        with self._lock:
            self._items.clear()

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: tuple) -> bool:
        return key in self._items
