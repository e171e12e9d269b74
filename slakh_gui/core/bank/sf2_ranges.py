"""Which MIDI keys each SoundFont preset has samples for, read from the file's ``pdta`` chunk (SF2 and SF3).

FluidSynth's API lists presets but not their key ranges, so the preset and instrument zones are read here: a key
sounds in a preset when a preset zone's ``keyRange`` (generator 43) holds it and the zone's instrument has a sample
zone whose ``keyRange`` holds it too (a zone without ``keyRange`` takes its global zone's, else 0-127). Velocity
ranges are ignored (a key counts if any velocity plays it). Only the preset data is read, never the sample data
(``sdta`` is skipped with a seek), so a 150 MB SoundFont takes milliseconds; results are cached per
(path, size, mtime).

Why not a library: ``sf2utils`` 1.0.0 (the PyPI SF2 parser, pure-Python wheel) reads the SF2 files here but raises
``IndexError`` on ``MuseScore_General.sf3``; the bank uses SF3 files, and this reader is 100 lines.
"""

from __future__ import annotations

import struct
import threading
from dataclasses import dataclass
from pathlib import Path

from slakh_gui.core.errors import SlakhError

GEN_INSTRUMENT = 41
GEN_KEY_RANGE = 43
GEN_SAMPLE_ID = 53
FULL = (0, 127)

_cache: dict[tuple, dict[tuple[int, int], PresetRanges]] = {}
_lock = threading.Lock()


class SoundFontRangeError(SlakhError, ValueError):
    """The file is not a readable SF2/SF3 SoundFont (its preset data cannot be parsed)."""


@dataclass(frozen=True)
class PresetRanges:
    """One preset: the keys it has samples for, as sorted, disjoint, inclusive ``(lo, hi)`` ranges."""

    bank: int
    preset: int
    name: str
    ranges: tuple[tuple[int, int], ...]

    def plays(self, key: int) -> bool:
        return any(lo <= key <= hi for lo, hi in self.ranges)

    def outside(self, keys) -> list[int]:
        """The distinct keys of ``keys`` this preset has no sample for, sorted."""
        return sorted(k for k in {int(k) for k in keys} if not self.plays(k))

    def describe(self) -> str:
        return ", ".join(f"{lo}-{hi}" if lo != hi else str(lo) for lo, hi in self.ranges) or "none"


def _read_pdta(path: Path) -> dict[str, bytes]:
    with open(path, "rb") as f:
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"sfbk":
            raise SoundFontRangeError(f"{path}: not a SoundFont (no RIFF sfbk header)")
        while True:
            hdr = f.read(8)
            if len(hdr) < 8:
                raise SoundFontRangeError(f"{path}: no pdta chunk (truncated SoundFont?)")
            cid, size = hdr[:4], struct.unpack("<I", hdr[4:])[0]
            if cid == b"LIST" and f.read(4) == b"pdta":
                data = f.read(size - 4)
                break
            f.seek(size - (4 if cid == b"LIST" else 0) + (size & 1), 1)
    subs: dict[str, bytes] = {}
    pos = 0
    while pos + 8 <= len(data):
        cid = data[pos : pos + 4].decode("latin-1")
        size = struct.unpack("<I", data[pos + 4 : pos + 8])[0]
        subs[cid] = data[pos + 8 : pos + 8 + size]
        pos += 8 + size + (size & 1)
    for need in ("phdr", "pbag", "pgen", "inst", "ibag", "igen"):
        if need not in subs:
            raise SoundFontRangeError(f"{path}: pdta has no {need} sub-chunk")
    return subs


def _zones(bag: bytes, gen: bytes, first: int, last: int) -> list[dict[int, tuple[int, int]]]:
    """Generators of bags ``first``..``last - 1``: for each zone, operator -> (lo byte, hi byte) of the amount."""
    zones = []
    for b in range(first, last):
        g0 = struct.unpack_from("<H", bag, 4 * b)[0]
        g1 = struct.unpack_from("<H", bag, 4 * (b + 1))[0]
        zone = {}
        for g in range(g0, g1):
            op, lo, hi = struct.unpack_from("<HBB", gen, 4 * g)
            zone[op] = (lo, hi)
        zones.append(zone)
    return zones


def _keys(zones: list[dict], terminal: int) -> set[int]:
    """Keys covered by the local zones (those with the ``terminal`` generator), global keyRange as default."""
    default = FULL
    if zones and terminal not in zones[0]:
        default = zones[0].get(GEN_KEY_RANGE, FULL)
    keys: set[int] = set()
    for z in zones:
        if terminal in z:
            lo, hi = z.get(GEN_KEY_RANGE, default)
            keys.update(range(lo, min(hi, 127) + 1))
    return keys


def _ranges(keys: set[int]) -> tuple[tuple[int, int], ...]:
    out: list[list[int]] = []
    for k in sorted(keys):
        if out and k == out[-1][1] + 1:
            out[-1][1] = k
        else:
            out.append([k, k])
    return tuple((lo, hi) for lo, hi in out)


def _parse(path: Path) -> dict[tuple[int, int], PresetRanges]:
    s = _read_pdta(path)
    try:
        n_inst = len(s["inst"]) // 22 - 1  # the last record is the terminal "EOI"
        inst_keys = []
        for i in range(n_inst):
            b0 = struct.unpack_from("<H", s["inst"], 22 * i + 20)[0]
            b1 = struct.unpack_from("<H", s["inst"], 22 * (i + 1) + 20)[0]
            z = _zones(s["ibag"], s["igen"], b0, b1)
            inst_keys.append(_keys(z, GEN_SAMPLE_ID))
        out: dict[tuple[int, int], PresetRanges] = {}
        n_presets = len(s["phdr"]) // 38 - 1  # ... and "EOP"
        for i in range(n_presets):
            name, preset, bank, b0 = struct.unpack_from("<20sHHH", s["phdr"], 38 * i)
            b1 = struct.unpack_from("<H", s["phdr"], 38 * (i + 1) + 24)[0]
            zones = _zones(s["pbag"], s["pgen"], b0, b1)
            default = zones[0].get(GEN_KEY_RANGE, FULL) if zones and GEN_INSTRUMENT not in zones[0] else FULL
            keys: set[int] = set()
            for z in zones:
                if GEN_INSTRUMENT not in z:
                    continue
                lo, hi = z.get(GEN_KEY_RANGE, default)
                inst = z[GEN_INSTRUMENT][0] | (z[GEN_INSTRUMENT][1] << 8)
                if inst < n_inst:
                    keys |= inst_keys[inst] & set(range(lo, hi + 1))
            label = name.split(b"\0", 1)[0].decode("latin-1").strip()
            out[(bank, preset)] = PresetRanges(bank, preset, label, _ranges(keys))
    except struct.error:
        raise SoundFontRangeError(f"{path}: corrupt preset data (index past the end of a pdta sub-chunk)") from None
    return out


def preset_ranges(path: str | Path) -> dict[tuple[int, int], PresetRanges]:
    """Every preset of a SoundFont, keyed by ``(bank, preset)``; cached by (path, size, mtime)."""
    path = Path(path).resolve()
    try:
        st = path.stat()
    except OSError as exc:
        raise SoundFontRangeError(f"{path}: cannot read SoundFont: {exc.strerror or exc}") from None
    key = (str(path), st.st_size, st.st_mtime_ns)
    with _lock:
        hit = _cache.get(key)
    if hit is None:
        try:
            hit = _parse(path)
        except OSError as exc:
            raise SoundFontRangeError(f"{path}: cannot read SoundFont: {exc.strerror or exc}") from None
        with _lock:
            _cache[key] = hit
    return hit


def key_ranges(path: str | Path, bank: int, preset: int) -> PresetRanges | None:
    """The key ranges of one preset, or None when the SoundFont has no such preset."""
    return preset_ranges(path).get((int(bank), int(preset)))
