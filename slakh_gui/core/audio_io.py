"""Audio and text files written atomically (temp file in the same folder, then ``os.replace``)."""

from __future__ import annotations

import contextlib
import errno
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

from slakh_gui.core.constants import SAMPLE_RATE

FORMATS = {"flac": "FLAC", "wav": "WAV"}
_CHUNK = 1 << 16  # samples per step in to_int16


_UMASK = os.umask(0)
os.umask(_UMASK)


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success it replaces ``path``, on error it is removed.

    The file gets the permissions of a plainly created one (0666 less the umask), not mkstemp's 0600."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def read_utf8(path: Path, error: type[Exception], cannot_read: str, not_text: str) -> str:
    """A small text file's contents, or ``error("{path}: {cannot_read}: reason")`` / ``error("{path}: {not_text}")``."""
    try:
        raw = Path(path).read_bytes()
    except OSError as exc:
        raise error(f"{path}: {cannot_read}: {exc.strerror or exc}") from None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise error(f"{path}: {not_text}") from None


def atomic_write_text(path: Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def to_int16(audio: np.ndarray) -> np.ndarray:
    """Float in [-1, 1) to 16-bit PCM, rounding to nearest and clipping (never wrapping).

    Works through one cache-sized buffer (the same arithmetic, in the input's precision, as
    ``np.clip(np.rint(audio * 32768.0), -32768, 32767).astype(np.int16)``, without its three signal-long
    temporaries): about 2-4x faster on a long stem."""
    src = np.asarray(audio).reshape(-1)
    out = np.empty(np.shape(audio), dtype=np.int16)
    dst = out.reshape(-1)
    n = src.size
    buf = np.empty(min(n, _CHUNK), dtype=(src[:1] * 32768.0).dtype)
    for start in range(0, n, _CHUNK):
        part = buf[: min(_CHUNK, n - start)]
        np.multiply(src[start : start + len(part)], 32768.0, out=part)
        np.rint(part, out=part)
        np.clip(part, -32768, 32767, out=part)
        dst[start : start + len(part)] = part
    return out


def write_audio(path: Path, pcm16: np.ndarray, sample_rate: int = SAMPLE_RATE, fmt: str | None = None) -> None:
    """Write mono 16-bit PCM as FLAC or WAV (format from ``fmt`` or the suffix), atomically."""
    fmt = (fmt or Path(path).suffix.lstrip(".")).lower()
    if fmt not in FORMATS:
        raise ValueError(f"unknown audio format {fmt!r} (use flac or wav)")
    with atomic_path(Path(path)) as tmp:
        try:
            sf.write(tmp, pcm16, sample_rate, subtype="PCM_16", format=FORMATS[fmt])
        except sf.LibsndfileError as exc:
            raise _write_error(Path(path), exc) from None


def _write_error(path: Path, exc: Exception) -> OSError:
    """libsndfile reports any failed write as "System error.": tell a full disk from other I/O errors."""
    try:
        st = os.statvfs(path.parent)
        full = st.f_bavail * st.f_frsize < 1 << 20
    except OSError:
        full = False
    if full:
        return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return OSError(errno.EIO, f"cannot write audio ({exc})", str(path))


def read_audio(path: Path, dtype: str = "float32") -> tuple[np.ndarray, int]:
    """Read a file as (samples[, channels]) and its sample rate."""
    data, sr = sf.read(path, dtype=dtype, always_2d=False)
    return data, sr
