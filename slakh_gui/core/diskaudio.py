"""Float32 audio in memory-mapped ``.npy`` files, walked in blocks, so memory does not grow with a song's length.

Pages of a file mapping that a process has touched count in its resident memory (RSS) for as long as they stay
mapped, even clean ones. Code that walks a long memory-mapped stem therefore calls :func:`release` behind itself
(``madvise(MADV_DONTNEED)``: the pages leave the process and stay in the page cache, dirty ones are still written to
the file), and :func:`blocks` / :func:`read_blocks` do that for it. On plain in-memory arrays both are no-ops.

Stereo audio is an ``(n, 2)`` array (interleaved frames, what ``soundfile`` reads and writes): every helper here
walks the first axis, so a block is ``BLOCK`` frames of every channel.

Files are opened and then unlinked (:func:`open_read` with ``unlink=True``): the mapping keeps the data for as long
as an array uses it, and nothing is left on disk when the process ends or dies. New files are filled by a
:class:`FrameWriter` (``pwrite``, no mapping) and mapped once written.
"""

from __future__ import annotations

import contextlib
import mmap
import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from slakh_gui.core.jobs import CancelToken, check

BLOCK = 1 << 18  # samples per block (1 MiB of float32): a multiple of pedalboard's and FluidSynth's buffers
_PAGE = mmap.PAGESIZE
# FLAC effort for stereo files (libsndfile's 0..1 scale; its default 0.625 is libFLAC's level 5, exhaustive mid/side):
# 0.5 is level 4, adaptive mid/side: 14 % less encoding CPU for 1.4 % larger files on rendered stems and mixes
# (mono files: the default, which costs the same there)
STEREO_FLAC_LEVEL = 0.5
_FAULT_AROUND = 2 << 20  # pages a read fault may map around itself (large folios: up to a 2 MiB PMD)


def create(path: str | Path, n_samples: int, channels: int = 1) -> np.memmap:
    """A new zero-filled float32 ``.npy`` file of ``n_samples`` frames, mapped for writing: shape ``(n,)`` for one
    channel, ``(n, channels)`` (interleaved) for more."""
    return np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=frame_shape(n_samples, channels))


class FrameWriter:
    """A new float32 ``.npy`` file of ``n_samples`` frames (zero until written), filled with :meth:`write` through
    ``os.pwrite`` instead of a mapping, then mapped with :meth:`open`.

    A full disk is an ``OSError`` here (ENOSPC), where a write through a mapping of the sparse file kills the process
    with SIGBUS. Writing a fresh file through a shared mapping also costs a page fault per page (the kernel zeroes the
    page, the file system reserves its block): 640 MB written in 64-KiB pieces took 0.26 s of system time with pwrite
    and 1.1-1.7 s through a mapping; in a whole render the difference was within the noise."""

    def __init__(self, path: str | Path, n_samples: int, channels: int = 1) -> None:
        self._fd: int | None = None
        mapped = create(path, n_samples, channels)  # the header and a sparse file of the full size; no page touched
        self.path, self.shape, self.offset = Path(path), mapped.shape, int(mapped.offset)
        del mapped
        self.frame_bytes = 4 * (self.shape[1] if len(self.shape) == 2 else 1)
        self._fd = os.open(self.path, os.O_WRONLY)

    def __len__(self) -> int:
        return self.shape[0]

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def write(self, start: int, block: np.ndarray) -> None:
        """Frames ``start : start + len(block)`` (float32, the file's channels)."""
        if self._fd is None:
            raise ValueError(f"{self.path.name} is closed")
        if len(block) > len(self) - start or start < 0:
            raise ValueError(f"frames {start}..{start + len(block)} are outside {self.path.name} ({len(self)} frames)")
        if np.shape(block)[1:] != self.shape[1:]:
            raise ValueError(f"blocks of shape {np.shape(block)} do not fit {self.path.name}'s frames {self.shape[1:]}")
        data = memoryview(np.ascontiguousarray(block, dtype=np.float32)).cast("B")
        at = self.offset + start * self.frame_bytes
        while data:
            n = os.pwrite(self._fd, data, at)
            data, at = data[n:], at + n

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    __del__ = close

    def open(self, mode: str = "r+") -> np.ndarray:
        """Close for writing and map the file (``r+``: writable, as :func:`create`'s arrays; ``r``: read-only)."""
        self.close()
        return np.load(self.path, mmap_mode=mode) if len(self) else np.load(self.path)


def store(out: np.ndarray | FrameWriter, start: int, block: np.ndarray) -> None:
    """``out[start : start + len(block)] = block`` for an array or a :class:`FrameWriter`."""
    if isinstance(out, FrameWriter):
        out.write(start, block)
    else:
        out[start : start + len(block)] = block


def frame_shape(n_samples: int, channels: int = 1) -> tuple[int, ...]:
    """``(n,)`` for mono, ``(n, channels)`` otherwise."""
    n = max(0, int(n_samples))
    return (n,) if channels == 1 else (n, int(channels))


def channels(a: np.ndarray) -> int:
    """1 for a 1-D array, else its second dimension."""
    return 1 if np.ndim(a) == 1 else int(np.shape(a)[1])


def open_read(path: str | Path, *, unlink: bool = False) -> np.ndarray:
    """A float32 ``.npy`` file mapped read-only; with ``unlink`` the file is removed at once (the mapping stays)."""
    path = Path(path)
    empty = path.stat().st_size <= 128  # numpy cannot map zero bytes
    arr = np.load(path) if empty else np.load(path, mmap_mode="r")
    if unlink:
        path.unlink()
    return arr


def _mapping(a: np.ndarray) -> mmap.mmap | None:
    """The ``mmap`` an array's memory belongs to (through views and ``np.asarray``), or None."""
    base = a
    while base is not None:
        if isinstance(base, mmap.mmap):
            return base
        if isinstance(base, np.memmap) and getattr(base, "_mmap", None) is not None:
            return base._mmap
        base = getattr(base, "base", None)
    return None


def release(a: np.ndarray, start: int = 0, stop: int | None = None) -> None:
    """Drop the pages of ``a[start:stop]`` (frames: the first axis; rows of a 2-D array must be contiguous) from this
    process's resident memory if ``a`` is memory-mapped."""
    if not isinstance(a, np.ndarray) or a.ndim not in (1, 2) or not a.size:
        return
    mm = _mapping(a)
    if mm is None or mm.closed:
        return
    stop = len(a) if stop is None else min(int(stop), len(a))
    start = max(0, int(start))
    if stop <= start:
        return
    base = np.frombuffer(mm, dtype=np.uint8).ctypes.data
    lo = a.ctypes.data + start * a.strides[0] - base
    hi = a.ctypes.data + (stop - 1) * a.strides[0] + a[0].nbytes - base  # the last frame's end
    # A read fault maps more than its page (fault-around, whole large folios of the page cache: measured up to 2 MiB
    # on Linux 6.18), pages before it that were released already among them: each release covers that much before.
    lo, hi = max(0, (lo - _FAULT_AROUND) // _PAGE * _PAGE), min(len(mm), -(-hi // _PAGE) * _PAGE)
    if hi > lo:
        with contextlib.suppress(OSError, ValueError):
            mm.madvise(mmap.MADV_DONTNEED, lo, hi - lo)


def blocks(n: int, size: int = BLOCK) -> Iterator[tuple[int, int]]:
    """(start, stop) of consecutive blocks covering ``range(n)``."""
    for start in range(0, n, size):
        yield start, min(n, start + size)


def read_blocks(a: np.ndarray, size: int = BLOCK, start: int = 0, stop: int | None = None
                ) -> Iterator[tuple[int, np.ndarray]]:
    """(start, view) of ``a`` block by block; each block's pages are released once the caller moves on."""
    stop = len(a) if stop is None else min(stop, len(a))
    for s in range(start, stop, size):
        e = min(stop, s + size)
        try:
            yield s, a[s:e]
        finally:
            release(a, s, e)
    release(a, start, stop)  # pages mapped around the blocks too (fault-around, readahead)


def any_nonzero(a: np.ndarray) -> bool:
    """``np.any(a)``, block by block (pages of a mapped array released behind)."""
    return any(bool(np.any(part)) for _, part in read_blocks(a))


def peak(a: np.ndarray) -> float:
    """The largest absolute sample of ``a`` (0.0 when empty), block by block."""
    tops = [np.max(np.abs(part)) for _, part in read_blocks(a) if len(part)]
    return float(np.max(tops)) if tops else 0.0  # NaN stays NaN


def spill(a: np.ndarray, path: str | Path) -> np.ndarray:
    """Write ``a`` (mono or ``(n, channels)``) to a float32 ``.npy`` file in blocks and return it mapped read-only
    (file unlinked)."""
    out = FrameWriter(path, len(a), channels(a))
    for s, part in read_blocks(a):
        out.write(s, part)
    out.close()  # no fsync: the page cache is the file for every mapping, and the kernel writes it back by itself
    return open_read(path, unlink=True)


def write_pcm(path: str | Path, source: np.ndarray, scale: Callable[[np.ndarray], np.ndarray], sample_rate: int,
              fmt: str, keep: np.ndarray | FrameWriter | None = None, cancel: CancelToken | None = None) -> float:
    """Write ``scale(block)`` of every block of ``source`` as 16-bit FLAC/WAV, atomically, converting each block
    with :func:`audio_io.to_int16`: mono for a 1-D source, one channel per column of an ``(n, channels)`` one. The
    scaled float32 blocks also go into ``keep`` if given (a 1-D ``keep`` of a stereo source gets the mono fold-down
    ``(L + R) / 2``). Returns the scaled audio's sample peak (over every channel). ``cancel`` is checked before
    every block (a cancelled write leaves no file)."""
    import soundfile as sf

    from slakh_gui.core.audio_io import FORMATS, _write_error, atomic_path, to_int16

    if fmt not in FORMATS:
        raise ValueError(f"unknown audio format {fmt!r} (use flac or wav)")
    top = 0.0
    with atomic_path(Path(path)) as tmp:
        try:
            level = {"compression_level": STEREO_FLAC_LEVEL} if fmt == "flac" and channels(source) == 2 else {}
            with sf.SoundFile(tmp, "w", sample_rate, channels(source), subtype="PCM_16", format=FORMATS[fmt],
                              **level) as f:
                for s, part in read_blocks(source):
                    check(cancel)
                    out = scale(part)
                    if len(out):
                        top = max(top, float(np.max(np.abs(out))))
                    f.write(to_int16(out))
                    if keep is not None:
                        store(keep, s, fold(out) if keep.ndim < out.ndim else out)
                        release(keep, s, s + len(out))
        except sf.LibsndfileError as exc:
            raise _write_error(Path(path), exc) from None
    return top


def fold(block: np.ndarray) -> np.ndarray:
    """The mono fold-down of a block: 1-D as it is, ``(L + R) * 0.5`` in float32 for stereo (what the mono renderer
    does with FluidSynth's two outputs), the mean of the channels otherwise."""
    if block.ndim == 1:
        return block
    if block.shape[1] == 2:
        return (block[:, 0] + block[:, 1]) * np.float32(0.5)
    return block.mean(axis=1, dtype=np.float32)


def fold_all(a: np.ndarray) -> np.ndarray:
    """The mono fold-down of a whole array (:func:`fold` block by block): 1-D as it is, else float32 in a scratch
    file, mapped read-only (memory does not grow with the song)."""
    if np.ndim(a) == 1:
        return a
    if len(a) < BLOCK:
        return fold(np.asarray(a, dtype=np.float32))
    path, out = new_file(len(a), "fold-")
    for s, part in read_blocks(a):
        out.write(s, fold(part))
    return finish(path, out)


_scratch: Path | None = None


def scratch_dir() -> Path:
    """This process's folder for temporary float files (one :func:`paths.render_cache_dir`, made on first use)."""
    global _scratch
    if _scratch is None or not _scratch.is_dir():
        from slakh_gui import paths

        _scratch = paths.render_cache_dir()
    return _scratch


def new_file(n_samples: int, prefix: str = "audio-", channels: int = 1) -> tuple[Path, FrameWriter]:
    """A fresh float32 ``.npy`` file of ``n_samples`` frames in :func:`scratch_dir`, open for writing."""
    import tempfile

    fd, name = tempfile.mkstemp(prefix=prefix, suffix=".npy", dir=scratch_dir())
    os.close(fd)
    return Path(name), FrameWriter(name, n_samples, channels)


def finish(path: Path, out: FrameWriter) -> np.ndarray:
    """A file made by :func:`new_file`, once written: mapped read-only, the file unlinked."""
    out.close()  # no fsync (see spill)
    return open_read(path, unlink=True)


def pad_to(a: np.ndarray, length: int) -> np.ndarray:
    """``a`` zero-padded to ``length``: in memory when short, else in a scratch file (mapped read-only)."""
    if length < BLOCK:
        return np.pad(np.asarray(a, dtype=np.float32), [(0, length - len(a))] + [(0, 0)] * (np.ndim(a) - 1))
    path, out = new_file(length, "pad-", channels(a))
    for s, part in read_blocks(a):
        out.write(s, part)
    return finish(path, out)


def work_dir(parent: str | Path) -> Path:
    """A fresh private folder under ``parent`` for one render's float files."""
    import tempfile

    Path(parent).mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f"work-{os.getpid()}-", dir=parent))
