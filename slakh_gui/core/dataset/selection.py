"""Choose the MIDI files of a dataset the way Slakh2100's generator did (``check_midi_file`` + band definition).

A folder is scanned recursively for ``.mid``/``.midi`` files in sorted order. A file is rejected when it

- has the same MD5 (Slakh's ``UUID``) as a file seen before (``duplicate of <first path>``),
- cannot be read (the :class:`~slakh_gui.core.midi.midifile.MidiLoadError` text),
- has fewer than 2 instruments with notes,
- has more than one drum track (unless ``allow_multiple_drums``; Slakh's ``separate_drums: false``),
- does not cover the band: every GM family of ``band`` must play at least ``min_notes`` notes (summed over its
  tracks). Slakh's README adds the 50-notes rule to the generator's family check (reference §1c).

The files that pass are shuffled with ``random.Random(seed)`` and the first ``count`` are taken.
"""

from __future__ import annotations

import hashlib
import os
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from slakh_gui.core.audio_io import atomic_write_text
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.core.midi import gm
from slakh_gui.core.midi.midifile import MidiLoadError, Song, load_song_bytes, read_midi_bytes
from slakh_gui.core.safe_yaml import YamlError, read_yaml

DEFAULT_BAND = ("Piano", "Guitar", "Bass", "Drums")
MIDI_SUFFIXES = (".mid", ".midi")


class SelectionError(SlakhError, ValueError):
    """A band, count or selection report that cannot be used; the message says why in one line."""


@dataclass
class Candidate:
    """A file that passed every rule. ``families``: GM family -> notes played, in track order."""

    path: Path
    md5: str
    duration: float
    n_tracks: int
    families: dict[str, int]

    def as_dict(self) -> dict:
        return {"path": str(self.path), "md5": self.md5, "duration": round(self.duration, 3),
                "n_tracks": self.n_tracks, "families": dict(self.families)}


@dataclass(frozen=True)
class Rejection:
    path: Path
    reason: str


@dataclass
class Selection:
    """The outcome of :func:`select_songs`. ``eligible``: how many files passed (``selected`` is at most that)."""

    selected: list[Candidate]
    rejected: list[Rejection]
    duplicates: list[tuple[Path, Path]]  # (path, the first file with the same MD5)
    scanned: int = 0
    eligible: int = 0
    settings: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            **self.settings, "scanned": self.scanned, "eligible": self.eligible,
            "selected": [c.as_dict() for c in self.selected],
            "rejected": [{"path": str(r.path), "reason": r.reason} for r in self.rejected],
            "duplicates": [{"path": str(p), "duplicate_of": str(first)} for p, first in self.duplicates],
        }


def resolve_family(name: str) -> str:
    """The GM family (Slakh ``inst_class`` spelling) named ``name``, case-insensitively; :class:`SelectionError`
    if none.

    "Sound Effects" (96-103) and "Sound effects" (119-127) differ only in case: those need the exact spelling.
    """
    name = name.strip()
    if name in gm.FAMILIES:
        return name
    matches = [f for f in gm.FAMILIES if f.lower() == name.lower()]
    if len(matches) == 1:
        return matches[0]
    if matches:
        raise SelectionError(f"family {name!r} is ambiguous: write it exactly as one of "
                             f"{', '.join(map(repr, matches))}")
    raise SelectionError(f"unknown GM family {name!r}; known: {', '.join(gm.FAMILIES)}")


def parse_band(text: str | Iterable[str]) -> tuple[str, ...]:
    """A band definition from ``"piano,guitar,bass,drums"`` (or a list of names) as GM family names."""
    names = text.split(",") if isinstance(text, str) else list(text)
    band = tuple(dict.fromkeys(resolve_family(n) for n in names if n.strip()))
    if not band:
        raise SelectionError("the band needs at least one GM family")
    return band


def find_midi_files(midi_dir: str | Path) -> list[Path]:
    """Every ``.mid``/``.midi`` file (any case) under ``midi_dir``, sorted by relative path."""
    root = Path(midi_dir)
    if not root.is_dir():
        raise NotADirectoryError(f"{root}: not a folder")
    files = [p for p in root.rglob("*") if p.suffix.lower() in MIDI_SUFFIXES and p.is_file()]
    return sorted(files, key=lambda p: p.relative_to(root).as_posix())


def check_song(song: Song, band: Sequence[str], min_notes: int = 50, allow_multiple_drums: bool = False) -> str | None:
    """Why ``song`` fails Slakh's rules, or None if it passes.

    Slakh's ``check_midi_file`` also rejects files whose instruments are all in distinct GM families
    (``unique classes == n instruments``). We do not: that rule threw out many good band files — a plain
    piano/guitar/bass/drums song has four distinct families and was rejected for it — and nothing in rendering
    needs two instruments of one family.
    """
    tracks = [t for t in song.tracks if t.note_count]
    if len(tracks) < 2:
        return f"fewer than 2 instruments ({len(tracks)})"
    drums = sum(t.is_drum for t in tracks)
    if drums > 1 and not allow_multiple_drums:
        return f"{drums} drum tracks (more than one)"
    notes = song.family_notes()
    missing = [f for f in band if f not in notes]
    few = [f"{f} plays {notes[f]} notes" for f in band if f in notes and notes[f] < min_notes]
    if missing or few:
        parts = ([f"no {', '.join(missing)} track"] if missing else []) + few
        return f"does not cover the band: {'; '.join(parts)} (each needs at least {min_notes} notes)"
    return None


def _load_error_text(exc: MidiLoadError, path: Path) -> str:
    text = str(exc)
    prefix = f"{path}: "
    return text[len(prefix):] if text.startswith(prefix) else text


def select_songs(midi_dir: str | Path, *, count: int | None = None, seed: int = 0,
                 band: Iterable[str] = DEFAULT_BAND, min_notes: int = 50, allow_multiple_drums: bool = False,
                 progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> Selection:
    """Scan ``midi_dir``, reject what Slakh's generator would (see the module doc), shuffle, take ``count``."""
    if count is not None and count < 0:
        raise SelectionError(f"count must be 0 or more, not {count}")
    if min_notes < 0:
        raise SelectionError(f"min_notes must be 0 or more, not {min_notes}")
    band = parse_band(band)
    files = find_midi_files(midi_dir)
    rejected: list[Rejection] = []
    duplicates: list[tuple[Path, Path]] = []
    passed: list[Candidate] = []
    first_by_md5: dict[str, Path] = {}
    report(progress, "scan", 0, len(files))
    for i, path in enumerate(files):
        check(cancel)
        reason = None
        try:
            data = read_midi_bytes(path)
        except MidiLoadError as exc:
            reason = _load_error_text(exc, path)
        if reason is None:
            md5 = hashlib.md5(data).hexdigest()
            if md5 in first_by_md5:
                duplicates.append((path, first_by_md5[md5]))
                reason = f"duplicate of {first_by_md5[md5]}"
            else:
                first_by_md5[md5] = path
                try:
                    song = load_song_bytes(data, path)
                except MidiLoadError as exc:
                    reason = _load_error_text(exc, path)
                else:
                    reason = check_song(song, band, min_notes, allow_multiple_drums)
                    if reason is None:
                        passed.append(Candidate(path, md5, song.end_time, len(song.tracks), song.family_notes()))
        if reason is not None:
            rejected.append(Rejection(path, reason))
        report(progress, "scan", i + 1, len(files), item=path.name)
    order = list(passed)
    random.Random(seed).shuffle(order)
    selected = order if count is None else order[:count]
    settings = {"midi_dir": str(midi_dir), "band": list(band), "min_notes": min_notes,
                "allow_multiple_drums": allow_multiple_drums, "seed": seed, "count": count}
    return Selection(selected, rejected, duplicates, scanned=len(files), eligible=len(passed), settings=settings)


@dataclass
class SelectionReport:
    """``selection.yaml`` read back: the MIDI folder, the counts, and every rejected file with its reason."""

    midi_dir: str
    scanned: int
    eligible: int
    selected: int
    rejected: list[Rejection]

    def kinds(self) -> dict[str, int]:
        """How many files each kind of reason rejected (see :func:`rejection_kind`), most first."""
        counts: dict[str, int] = {}
        for r in self.rejected:
            kind = rejection_kind(r.reason)
            counts[kind] = counts.get(kind, 0) + 1
        return dict(sorted(counts.items(), key=lambda kv: -kv[1]))

    def display_path(self, rejection: Rejection) -> str:
        """The rejected file relative to the MIDI folder when it lies inside it, else as written."""
        try:
            return rejection.path.relative_to(self.midi_dir).as_posix() if self.midi_dir else str(rejection.path)
        except ValueError:
            return str(rejection.path)


def rejection_kind(reason: str) -> str:
    """The rule a rejection reason (as :func:`select_songs` words it) stands for, in a few words."""
    if reason.startswith("duplicate of "):
        return "duplicate"
    if reason.startswith("fewer than 2 instruments"):
        return "fewer than 2 instruments"
    if reason.endswith("drum tracks (more than one)"):
        return "more than one drum track"
    if reason.startswith("does not cover the band"):
        return "band not covered"
    return "unreadable"


def read_report(path: str | Path) -> SelectionReport:
    """Read back a report :func:`write_report` wrote; :class:`SelectionError` (one line) when it is unreadable or
    not one."""
    path = Path(path)
    try:
        data = read_yaml(path)
    except YamlError as exc:
        raise SelectionError(f"{path}: unreadable: {exc.detail}") from None
    if not isinstance(data, dict) or not isinstance(data.get("rejected", []), list):
        raise SelectionError(f"{path}: not a selection report")
    rejected = []
    for entry in data.get("rejected") or []:
        if not isinstance(entry, dict) or not isinstance(entry.get("path"), str):
            raise SelectionError(f"{path}: not a selection report (a rejected entry without a path)")
        rejected.append(Rejection(Path(entry["path"]), str(entry.get("reason", ""))))

    def count(key: str) -> int:
        value = data.get(key)
        value = len(value) if isinstance(value, list) else value
        return value if isinstance(value, int) and not isinstance(value, bool) else 0

    return SelectionReport(str(data.get("midi_dir") or ""), count("scanned"), count("eligible"), count("selected"),
                           rejected)


def write_report(selection: Selection, path: str | Path, *, relative_to: str | Path | None = None) -> Path:
    """Write ``selection`` as YAML: settings, counts, the selected files with MD5, every reject with its reason,
    the duplicates with the file they repeat. Atomic. With ``relative_to`` (a dataset's MIDI folder) every path,
    in the lists and in the reasons, is written relative to it and ``midi_dir`` is ``.``: a dataset that people
    share names no folder of the machine that made it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = selection.as_dict()
    if relative_to is not None:
        data = _portable(data, Path(relative_to))
    atomic_write_text(path, yaml.safe_dump(data, sort_keys=False, allow_unicode=True))
    return path


def _portable(data: dict, root: Path) -> dict:
    prefixes = sorted({f"{root}{os.sep}", f"{root.resolve()}{os.sep}"}, key=len, reverse=True)

    def rel(text: str) -> str:
        for prefix in prefixes:
            text = text.replace(prefix, "")
        return text

    data = dict(data, midi_dir=".")
    data["selected"] = [dict(c, path=rel(c["path"])) for c in data["selected"]]
    data["rejected"] = [{"path": rel(r["path"]), "reason": rel(r["reason"])} for r in data["rejected"]]
    data["duplicates"] = [{"path": rel(d["path"]), "duplicate_of": rel(d["duplicate_of"])} for d in data["duplicates"]]
    return data
