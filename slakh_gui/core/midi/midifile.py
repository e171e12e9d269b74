"""Load a MIDI file and list its tracks the Slakh way.

A track is one ``pretty_midi.Instrument``; its stem key ``SXX`` is its index in ``PrettyMIDI.instruments``
(as Slakh2100's generator numbers them). Files that pretty_midi or mido reject although the MIDI standard allows
them (unknown chunk types, SMPTE time division, a header that miscounts its tracks, a RIFF/RMID wrapper) are
repaired in memory first; anything else unreadable raises :class:`MidiLoadError` with one clear line.
"""

from __future__ import annotations

import hashlib
import io
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import mido
import pretty_midi

from slakh_gui.core.errors import SlakhError
from slakh_gui.core.midi import gm

MAX_FILE_BYTES = 64 * 1024 * 1024


class MidiLoadError(SlakhError):
    """A MIDI file could not be read; the message says why in one line."""


@dataclass
class Track:
    """One instrument of a song, in seconds."""

    index: int
    name: str
    program: int  # 0-based GM program; 128 for drums (Slakh's ``program_num``)
    is_drum: bool
    note_count: int
    pitch_min: int | None
    pitch_max: int | None
    start: float
    end: float
    instrument: pretty_midi.Instrument = field(repr=False, compare=False)

    @property
    def key(self) -> str:
        """Slakh stem key, ``S00`` for the first instrument."""
        return f"S{self.index:02d}"

    @property
    def inst_class(self) -> str:
        return gm.family(self.program)

    @property
    def program_name(self) -> str:
        return gm.program_name(self.program)

    def as_dict(self) -> dict:
        return {
            "key": self.key, "name": self.name, "program_num": self.program, "is_drum": self.is_drum,
            "inst_class": self.inst_class, "midi_program_name": self.program_name, "notes": self.note_count,
            "pitch_min": self.pitch_min, "pitch_max": self.pitch_max,
            "start": round(self.start, 3), "end": round(self.end, 3),
        }


@dataclass
class Song:
    """A loaded MIDI file: its pretty_midi object, tracks, MD5 (Slakh's ``UUID``) and raw bytes."""

    path: Path
    pm: pretty_midi.PrettyMIDI = field(repr=False)
    tracks: list[Track]
    md5: str
    data: bytes = field(repr=False)
    repairs: list[str] = field(default_factory=list)
    range: tuple[float, float] | None = None  # set on excerpts: the (start, end) seconds taken from the source

    @property
    def end_time(self) -> float:
        return max((t.end for t in self.tracks), default=0.0)

    def family_notes(self) -> dict[str, int]:
        """Notes played per instrument class (GM family; ``Drums``), over the tracks that play, in track order."""
        notes: dict[str, int] = {}
        for t in self.tracks:
            if t.note_count:
                notes[t.inst_class] = notes.get(t.inst_class, 0) + t.note_count
        return notes

    def track(self, key: str) -> Track:
        for t in self.tracks:
            if t.key == key:
                return t
        raise KeyError(key)


def load_song(path: str | Path) -> Song:
    """Read a Standard MIDI File; raise :class:`MidiLoadError` if it cannot be used."""
    path = Path(path)
    return load_song_bytes(read_midi_bytes(path), path)


def read_midi_bytes(path: str | Path) -> bytes:
    """The file's bytes; :class:`MidiLoadError` ("PATH: reason") if unreadable or over the 64 MB limit."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise MidiLoadError(f"{path}: {size / 2**20:.0f} MB is too large for a MIDI file (limit 64 MB)")
        return path.read_bytes()
    except OSError as exc:
        raise MidiLoadError(f"{path}: cannot read: {exc.strerror or exc}") from None


def load_song_bytes(data: bytes, path: str | Path = "<memory>") -> Song:
    """Like :func:`load_song` for bytes already in memory."""
    path = Path(path)
    repairs: list[str] = []
    try:
        clean = sanitize_smf(data, repairs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            pm = pretty_midi.PrettyMIDI(io.BytesIO(clean))
    except MidiLoadError as exc:
        raise MidiLoadError(f"{path}: {exc}") from None
    except Exception as exc:  # pretty_midi/mido raise many types on corrupt data
        reason = str(exc).strip() or type(exc).__name__
        if isinstance(exc, EOFError):
            reason = "the file ends in the middle of a track (truncated)"
        raise MidiLoadError(f"{path}: not a readable MIDI file: {reason}") from None
    tracks = [_track(i, inst) for i, inst in enumerate(pm.instruments)]
    if not any(t.note_count for t in tracks):
        raise MidiLoadError(f"{path}: the MIDI file has no notes")
    return Song(path, pm, tracks, hashlib.md5(data).hexdigest(), data, repairs)


def excerpt(song: Song, start: float, end: float) -> Song:
    """The part of ``song`` between ``start`` and ``end`` seconds, re-timed to begin at 0 (for quick tries).

    Notes sounding in the range are kept and cut at its edges; each controller's and the pitch wheel's last value
    before ``start`` is set at 0 so the excerpt sounds as it does in the song. Stem keys stay those of the source.
    The excerpt's MIDI has a constant 120 BPM at 960 ticks per beat (times in seconds are exact).
    """
    if not 0 <= start < end:
        raise ValueError(f"invalid range {start}..{end} s")
    pm = pretty_midi.PrettyMIDI(resolution=960, initial_tempo=120.0)
    for inst in song.pm.instruments:
        new = pretty_midi.Instrument(inst.program, is_drum=inst.is_drum, name=inst.name)
        new.notes = [pretty_midi.Note(n.velocity, n.pitch, max(n.start, start) - start, min(n.end, end) - start)
                     for n in inst.notes if n.end > start and n.start < end and min(n.end, end) > max(n.start, start)]
        before: dict[int, pretty_midi.ControlChange] = {}
        for cc in inst.control_changes:
            if cc.time < start:
                before[cc.number] = cc
            elif cc.time < end:
                new.control_changes.append(pretty_midi.ControlChange(cc.number, cc.value, cc.time - start))
        new.control_changes[:0] = [pretty_midi.ControlChange(c.number, c.value, 0.0) for c in before.values()]
        bends_before = [b for b in inst.pitch_bends if b.time < start]
        new.pitch_bends = [pretty_midi.PitchBend(bends_before[-1].pitch, 0.0)] if bends_before else []
        new.pitch_bends += [pretty_midi.PitchBend(b.pitch, b.time - start) for b in inst.pitch_bends
                            if start <= b.time < end]
        pm.instruments.append(new)
    pm.text_events.append(pretty_midi.Text("range end", end - start))  # the excerpt lasts the whole range
    tracks = [_track(i, inst) for i, inst in enumerate(pm.instruments)]
    return Song(song.path, pm, tracks, song.md5, song.data, list(song.repairs), (float(start), float(end)))


def _track(index: int, inst: pretty_midi.Instrument) -> Track:
    notes = inst.notes
    pitches = [n.pitch for n in notes]
    return Track(
        index=index,
        name=(inst.name or "").strip(),
        program=gm.DRUMS if inst.is_drum else int(inst.program),
        is_drum=bool(inst.is_drum),
        note_count=len(notes),
        pitch_min=min(pitches) if pitches else None,
        pitch_max=max(pitches) if pitches else None,
        start=float(min((n.start for n in notes), default=0.0)),
        end=float(max((n.end for n in notes), default=0.0)),
        instrument=inst,
    )


def sanitize_smf(data: bytes, repairs: list[str] | None = None) -> bytes:
    """Return an equivalent SMF that mido reads: header + ``MTrk`` chunks only, PPQ time division.

    Handles a RIFF/RMID wrapper, junk before ``MThd``, unknown chunk types, a header whose track count or length is
    wrong, and SMPTE time division (converted to a PPQ file with a constant tempo that gives the same timing).
    Appends a note per repair to ``repairs``.
    """
    repairs = [] if repairs is None else repairs
    if data[:4] == b"RIFF" and data[8:12] == b"RMID":
        pos = data.find(b"data", 12)
        if pos < 0:
            raise MidiLoadError("RIFF/RMID file without a data chunk")
        (length,) = struct.unpack("<I", data[pos + 4 : pos + 8])
        data = data[pos + 8 : pos + 8 + length]
        repairs.append("unwrapped a RIFF/RMID container")
    start = data.find(b"MThd", 0, 4096)
    if start < 0:
        raise MidiLoadError("not a Standard MIDI File (no 'MThd' header)")
    if start:
        repairs.append(f"skipped {start} bytes before the MIDI header")
    pos = start
    if len(data) < pos + 14:
        raise MidiLoadError("the MIDI header is truncated")
    (hlen,) = struct.unpack(">I", data[pos + 4 : pos + 8])
    if hlen < 6:
        raise MidiLoadError(f"invalid MIDI header length {hlen}")
    fmt, ntracks, division = struct.unpack(">HHH", data[pos + 8 : pos + 14])
    if fmt > 2:
        raise MidiLoadError(f"unknown MIDI file format {fmt}")
    pos += 8 + hlen
    chunks: list[bytes] = []
    while pos + 8 <= len(data):
        ctype, clen = data[pos : pos + 4], struct.unpack(">I", data[pos + 4 : pos + 8])[0]
        body = data[pos + 8 : pos + 8 + clen]
        if ctype == b"MTrk":
            if len(body) < clen:
                raise MidiLoadError("the file ends in the middle of a track (truncated)")
            chunks.append(body)
        elif not ctype.isascii() or not ctype.isalnum():
            repairs.append(f"ignored {len(data) - pos} bytes of trailing data")
            break
        else:
            repairs.append(f"skipped unknown chunk {ctype.decode('ascii')!r}")
        pos += 8 + clen
    else:
        if pos < len(data):
            repairs.append(f"ignored {len(data) - pos} bytes of trailing data")
    if not chunks:
        raise MidiLoadError("the MIDI file has no tracks")
    if ntracks != len(chunks):
        repairs.append(f"header says {ntracks} tracks, file has {len(chunks)}")
    if fmt == 0 and len(chunks) > 1:
        fmt = 1
    smpte = division & 0x8000
    out = b"MThd" + struct.pack(">IHHH", 6, fmt, len(chunks), 480 if smpte else division)
    out += b"".join(b"MTrk" + struct.pack(">I", len(c)) + c for c in chunks)
    if division == 0:
        raise MidiLoadError("the MIDI header's time division is 0")
    if smpte:
        out = _smpte_to_ppq(out, division)
        repairs.append("converted SMPTE time division to ticks per beat")
    return out


def _smpte_to_ppq(data: bytes, division: int) -> bytes:
    """Re-time a file whose division was SMPTE: ticks become PPQ ticks at one fixed tempo."""
    fps = {0xE8: 24.0, 0xE7: 25.0, 0xE3: 29.97, 0xE2: 30.0}.get(division >> 8)
    tpf = division & 0xFF
    if fps is None or tpf == 0:
        raise MidiLoadError(f"invalid SMPTE time division 0x{division:04x}")
    mid = mido.MidiFile(file=io.BytesIO(data))
    ppq = tpf * round(fps)
    tempo = round(1e6 * ppq / (tpf * fps))  # microseconds per beat so that one tick lasts 1/(fps*tpf) s
    mid.ticks_per_beat = ppq
    for i, track in enumerate(mid.tracks):
        kept, carry = [], 0
        for msg in track:
            if msg.type == "set_tempo":  # SMPTE timing ignores tempo events
                carry += msg.time
                continue
            kept.append(msg.copy(time=msg.time + carry))
            carry = 0
        if i == 0:
            kept.insert(0, mido.MetaMessage("set_tempo", tempo=tempo, time=0))
        track[:] = kept
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()
