"""Session files: what the desktop app saves so work can be resumed, and a job the CLI replays headless.

A session is one small JSON file (format in ``docs/session-format.md``): the song, the bank, the seed, the user's
fixed patch choices and locks, the mixer state, the output folder, the render options and an optional time range.
Replaying it (:func:`render_session`, ``slakh-studio render --session FILE``) draws the same patches as the app
showed (:func:`session_assignment`) and writes the same bytes.

Paths inside the session file's folder (or below it) are stored relative to that folder, so a project folder can be
moved or copied as a whole; other paths are stored absolute. In memory, a loaded :class:`Session` holds absolute
paths.
"""

from __future__ import annotations

import dataclasses
import difflib
import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from slakh_gui import __version__, paths
from slakh_gui.core.audio_io import FORMATS, atomic_write_text, read_utf8
from slakh_gui.core.bank.patches import Assignment, Bank, assign_patches, load_bank, show
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.jobs import CancelToken, ProgressFn
from slakh_gui.core.midi import midifile
from slakh_gui.core.midi.midifile import Song
from slakh_gui.core.render.layout import track_name
from slakh_gui.core.render.panning import MODES as PAN_MODES
from slakh_gui.core.render.pipeline import (
    DEFAULT_TAIL,
    MAX_DURATION,
    MAX_MEMORY,
    RenderOptions,
    TrackResult,
    render_track,
)

SESSION_FORMAT = "slakh-studio-session/1"
SESSION_SUFFIX = ".slakh.json"  # what the app proposes when saving; any name loads
_FORMAT_PREFIX = "slakh-studio-session/"
_STEM_KEY = re.compile(r"^S\d{2,}$")
_TOP_KEYS = {"format", "version", "song", "seed", "bank", "patches", "locked", "mixer", "output_dir", "options",
             "range", "track_number"}
_REQUIRED = {"format", "song"}
MAX_TRACK_NUMBER = 99999
MAX_JSON_DEPTH = 64  # a session nests 4 deep; the mixer state is opaque but not arbitrarily deep


class SessionError(SlakhError, ValueError):
    """A session file is unreadable or invalid, or cannot be replayed; the message says why in one line."""


# Render options saved with a session (RenderOptions under the CLI's names), with their defaults.
DEFAULT_OPTIONS = {
    "format": "flac",  # flac | wav
    "tail": DEFAULT_TAIL,  # seconds rendered after the song's (or the range's) end
    "fx": False,  # FluidSynth's own reverb/chorus, per track
    "flakh": False,  # Flakh2100 mode: mix = the unsplit file rendered whole
    "stereo": False,  # stereo stems and mix (files without it are mono)
    "pan": "auto",  # stereo: auto | midi | none (slakh_gui.core.render.panning)
    "threads": 2,  # synths at once; the output does not depend on it
}


def default_options() -> dict:
    return dict(DEFAULT_OPTIONS)


@dataclass
class Session:
    """One song's work in the app. Relative paths are relative to the current folder until :meth:`resolve`."""

    song: Path
    seed: int = 0
    bank: Path | None = None  # None: the default bank (patches/flakh.yaml with options.flakh)
    patches: dict[str, str | None] = field(default_factory=dict)  # stem key -> patch id the user fixed, None = off
    locked: list[str] = field(default_factory=list)  # stem keys that keep their patch when the rest is re-rolled
    mixer: dict = field(default_factory=dict)  # the app's mixer state, opaque here (not applied to renders)
    output_dir: Path | None = None  # where TrackNNNNN/ is written
    options: dict = field(default_factory=default_options)  # keys of DEFAULT_OPTIONS; missing ones get defaults
    range: tuple[float, float] | None = None  # render only [start, end) seconds of the song (a list is accepted)
    track_number: int = 1  # NNNNN of TrackNNNNN
    version: str = __version__  # the Slakh Studio version that wrote the file (informational)

    def __post_init__(self) -> None:  # the same session compares equal however it was built
        if isinstance(self.options, dict):
            self.options = {**DEFAULT_OPTIONS, **self.options}
        if isinstance(self.range, list):
            self.range = tuple(self.range)

    @property
    def flakh(self) -> bool:
        return bool(self.options.get("flakh"))

    @property
    def stereo(self) -> bool:
        return bool(self.options.get("stereo"))

    def resolve(self, base: str | Path) -> Session:
        """A copy whose relative paths (song, bank, output folder) are made absolute against ``base``."""
        base = Path(base)
        return dataclasses.replace(
            self,
            song=_absolute(self.song, base),
            bank=None if self.bank is None else _absolute(self.bank, base),
            output_dir=None if self.output_dir is None else _absolute(self.output_dir, base),
        )

    def bank_path(self) -> Path:
        """The bank file to load (the default bank when none is set)."""
        if self.bank is not None:
            return Path(self.bank)
        return paths.mode_bank(self.flakh)

    def track_dir(self) -> Path | None:
        """``output_dir/TrackNNNNN`` (None without an output folder)."""
        return None if self.output_dir is None else Path(self.output_dir) / track_name(self.track_number)

    def render_options(self, *, overwrite: bool = False, threads: int | None = None,
                       max_duration: float = MAX_DURATION, max_memory: int = MAX_MEMORY) -> RenderOptions:
        o = _parse_options(self.options, "session")
        return RenderOptions(fmt=o["format"], tail=o["tail"], fluid_effects=o["fx"], flakh=o["flakh"],
                             stereo=o["stereo"], pan=o["pan"], threads=max(1, threads or o["threads"]), overwrite=overwrite,
                             max_duration=max_duration, max_memory=max_memory)

    def to_dict(self, base: str | Path | None = None) -> dict:
        """The JSON object of the file; paths inside ``base`` (the session file's folder) are made relative."""
        base_abs = _absolute(Path(base), Path.cwd()) if base is not None else None
        data = {
            "format": SESSION_FORMAT,
            "version": __version__,
            "song": _stored(self.song, base_abs),
            "seed": self.seed,
            "bank": None if self.bank is None else _stored(self.bank, base_abs),
            "patches": dict(self.patches),
            "locked": list(self.locked),
            "mixer": self.mixer,
            "output_dir": None if self.output_dir is None else _stored(self.output_dir, base_abs),
            "options": ({k: _as_float(v) if k == "tail" else v for k, v in self.options.items()}
                        if isinstance(self.options, dict) else self.options),
            "range": [_as_float(v) for v in self.range] if isinstance(self.range, (list, tuple)) else self.range,
            "track_number": self.track_number,
        }
        return data

    @classmethod
    def from_dict(cls, data, *, source: str = "<session>") -> Session:
        """Validate a session's JSON object (paths as written, not resolved); :class:`SessionError` on a fault."""
        return _parse(data, source)


# ---------------------------------------------------------------------------------------------- paths


def _absolute(p: str | Path, base: Path) -> Path:
    """``p`` made absolute against ``base`` and normalized (``..`` removed; symlinks are left alone)."""
    p = Path(p).expanduser()
    if not p.is_absolute():
        p = Path(os.path.abspath(base)) / p
    return Path(os.path.normpath(p))


def _stored(p: str | Path, base: Path | None) -> str:
    """How a path is written: relative (with ``/``) when inside ``base``, else absolute."""
    full = _absolute(p, Path.cwd())
    if base is not None:
        try:
            return full.relative_to(base).as_posix()
        except ValueError:
            pass
    return str(full)


# ---------------------------------------------------------------------------------------------- validation


def _as_float(v):
    """Numbers as floats (so 2 and 2.0 are written alike); anything else as it is, for validation to report."""
    return float(v) if _is_number(v) else v


def _fail(source: str, key: str, message: str) -> SessionError:
    return SessionError(f"{source}: {key + ': ' if key else ''}{message}")


def _check_keys(value: dict, allowed: set[str], required: set[str], source: str, where: str, what: str) -> None:
    for key in value:
        if key not in allowed:
            guess = difflib.get_close_matches(str(key), sorted(allowed), n=1)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            raise _fail(source, where, f"unknown {what} {show(key)}{hint}; expected {', '.join(sorted(allowed))}")
    for key in sorted(required):
        if key not in value:
            raise _fail(source, where, f"missing key {show(key)}")


def _is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_number(v) -> bool:
    return (isinstance(v, (int, float)) and not isinstance(v, bool)) and math.isfinite(v)


def _path(value, source: str, key: str, optional: bool) -> Path | None:
    if value is None and optional:
        return None
    if isinstance(value, Path):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        need = "a path or null" if optional else "a path"
        raise _fail(source, key, f"expected {need}, got {show(value)}")
    if "\0" in value:
        raise _fail(source, key, f"a path cannot contain a NUL character: {show(value)}")
    try:
        Path(value).expanduser()
    except RuntimeError:  # "~nobody/x" with no user nobody
        raise _fail(source, key, f"cannot expand the user's home folder in {show(value)}") from None
    return Path(value)


def _parse(data, source: str) -> Session:
    if not isinstance(data, dict):
        raise _fail(source, "", f"expected a JSON object, got {type(data).__name__}")
    fmt = data.get("format")
    if fmt != SESSION_FORMAT:
        if isinstance(fmt, str) and fmt.startswith(_FORMAT_PREFIX):
            raise _fail(source, "format", f"{show(fmt)} is not supported by Slakh Studio {__version__} "
                        f"(it reads {show(SESSION_FORMAT)}); written by a newer version?")
        raise _fail(source, "", f"not a Slakh Studio session file (format {show(fmt)}, expected {show(SESSION_FORMAT)})")
    _check_keys(data, _TOP_KEYS, _REQUIRED, source, "", "key")

    version = data.get("version", "")
    if not isinstance(version, str):
        raise _fail(source, "version", f"expected a string, got {show(version)}")
    song = _path(data["song"], source, "song", optional=False)
    bank = _path(data.get("bank"), source, "bank", optional=True)
    output_dir = _path(data.get("output_dir"), source, "output_dir", optional=True)

    seed = data.get("seed", 0)
    if not _is_int(seed):
        raise _fail(source, "seed", f"expected an integer, got {show(seed)}")

    patches = data.get("patches", {})
    if not isinstance(patches, dict):
        raise _fail(source, "patches", f"expected an object of stem key -> patch id or null, got {show(patches)}")
    for key, pid in patches.items():
        if not isinstance(key, str) or not _STEM_KEY.match(key):
            raise _fail(source, "patches", f"{show(key)} is not a stem key (S00, S01, ...)")
        if pid is not None and (not isinstance(pid, str) or not pid):
            raise _fail(source, f"patches/{key}", f"expected a patch id or null, got {show(pid)}")

    locked = data.get("locked", [])
    if not isinstance(locked, list):
        raise _fail(source, "locked", f"expected a list of stem keys, got {show(locked)}")
    for key in locked:
        if not isinstance(key, str) or not _STEM_KEY.match(key):
            raise _fail(source, "locked", f"{show(key)} is not a stem key (S00, S01, ...)")

    mixer = data.get("mixer", {})
    if not isinstance(mixer, dict):
        raise _fail(source, "mixer", f"expected an object, got {type(mixer).__name__}")

    options = _parse_options(data.get("options", {}), source)

    rng = data.get("range")
    if rng is not None:
        if isinstance(rng, tuple):
            rng = list(rng)
        if not (isinstance(rng, list) and len(rng) == 2 and all(_is_number(v) for v in rng)):
            raise _fail(source, "range", f"expected [start, end] in seconds or null, got {show(rng)}")
        if not 0 <= rng[0] < rng[1]:
            raise _fail(source, "range", f"expected 0 <= start < end, got {show(rng)}")
        rng = (float(rng[0]), float(rng[1]))

    number = data.get("track_number", 1)
    if not _is_int(number) or not 1 <= number <= MAX_TRACK_NUMBER:
        raise _fail(source, "track_number", f"expected an integer 1..{MAX_TRACK_NUMBER}, got {show(number)}")

    return Session(song=song, seed=seed, bank=bank, patches=dict(patches), locked=list(locked), mixer=mixer,
                   output_dir=output_dir, options=options, range=rng, track_number=number,
                   version=version or __version__)


def _parse_options(value, source: str) -> dict:
    if not isinstance(value, dict):
        raise _fail(source, "options", f"expected an object, got {show(value)}")
    _check_keys(value, set(DEFAULT_OPTIONS), set(), source, "options", "option")
    opt = DEFAULT_OPTIONS
    fmt = value.get("format", opt["format"])
    if not isinstance(fmt, str) or fmt not in FORMATS:
        raise _fail(source, "options/format", f"expected one of {', '.join(FORMATS)}, got {show(fmt)}")
    tail = value.get("tail", opt["tail"])
    if not _is_number(tail) or tail < 0:
        raise _fail(source, "options/tail", f"expected seconds >= 0, got {show(tail)}")
    flags = {}
    for name in ("fx", "flakh", "stereo"):
        flags[name] = value.get(name, opt[name])
        if not isinstance(flags[name], bool):
            raise _fail(source, f"options/{name}", f"expected true or false, got {show(flags[name])}")
    pan = value.get("pan", opt["pan"])
    if not isinstance(pan, str) or pan not in PAN_MODES:
        raise _fail(source, "options/pan", f"expected one of {', '.join(PAN_MODES)}, got {show(pan)}")
    threads = value.get("threads", opt["threads"])
    if not _is_int(threads) or threads < 1:
        raise _fail(source, "options/threads", f"expected an integer >= 1, got {show(threads)}")
    return {"format": fmt, "tail": float(tail), "fx": flags["fx"], "flakh": flags["flakh"],
            "stereo": flags["stereo"], "pan": pan, "threads": threads}


# ---------------------------------------------------------------------------------------------- files


def save_session(session: Session, path: str | Path) -> None:
    """Write ``session`` to ``path`` atomically: pretty JSON, sorted keys (the same session gives the same bytes).

    Song, bank and output folder are stored relative to the file's folder when they lie inside it.
    """
    path = Path(path)
    data = session.to_dict(path.parent)
    _parse(data, str(path))  # never write a file that would not load
    try:
        text = json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False, allow_nan=False) + "\n"
    except (TypeError, ValueError) as exc:
        raise SessionError(f"{path}: cannot save session: the mixer state is not plain JSON ({exc})") from None
    try:
        atomic_write_text(path, text)
    except OSError as exc:
        raise SessionError(f"{path}: cannot write session file: {exc.strerror or exc}") from None


def load_session(path: str | Path, *, check_files: bool = True) -> Session:
    """Read and validate a session file; its relative paths are resolved against the file's folder.

    With ``check_files`` (the default) the song file and a bank file named in the session must exist.
    Raises :class:`SessionError` with one line naming the file and the reason.
    """
    path = Path(path)
    text = read_utf8(path, SessionError, "cannot read session file", "not a session file (not UTF-8 text)")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise SessionError(f"{path}:{exc.lineno}:{exc.colno}: not a session file (invalid JSON: {exc.msg})") from None
    except ValueError as exc:
        raise SessionError(f"{path}: invalid JSON: {exc}") from None
    except RecursionError:
        raise SessionError(f"{path}: not a session file (JSON nested too deep)") from None
    if _depth(data) > MAX_JSON_DEPTH:
        raise SessionError(f"{path}: not a session file (JSON nested more than {MAX_JSON_DEPTH} levels deep)")
    raw_session = _parse(data, str(path))
    session = raw_session.resolve(path.parent)
    if check_files:
        _check_file(path, "song", raw_session.song, session.song)
        if session.bank is not None:
            _check_file(path, "bank", raw_session.bank, session.bank)
    return session


def _depth(data) -> int:
    """How deep lists and objects nest in ``data`` (without recursion)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, (dict, list)):
            deepest = max(deepest, depth)
            if depth <= MAX_JSON_DEPTH:
                stack.extend((v, depth + 1) for v in (value.values() if isinstance(value, dict) else value))
    return deepest


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def _check_file(path: Path, key: str, written: Path, tried: Path) -> None:
    try:
        if tried.is_file():
            return
        what = "not a file" if tried.exists() else "file not found"
    except OSError as exc:  # e.g. a name too long for the file system
        what = f"cannot be used ({exc.strerror or exc})"
    how = "" if written.is_absolute() else f" ({show(str(written))} relative to the session file's folder)"
    shown = str(tried) if len(str(tried)) <= 300 else str(tried)[:297] + "..."
    raise SessionError(f"{path}: {key}: {what}: {shown}{how}")


# ---------------------------------------------------------------------------------------------- replay


def session_assignment(session: Session, song: Song, bank: Bank) -> Assignment:
    """The patches the app showed: the seed's draw with the user's fixed choices and locks applied."""
    keys = {t.key for t in song.tracks}
    unknown = sorted((set(session.patches) | set(session.locked)) - keys, key=_key_order)
    if unknown:
        raise SessionError(f"session names tracks {', '.join(unknown)} that {song.path.name} does not have "
                           f"({len(keys)} tracks: S00..S{len(keys) - 1:02d})")
    return assign_patches(song, bank, session.seed, fixed=session.patches, locked=set(session.locked))


def _key_order(key: str) -> int:
    return int(key[1:])


def range_excerpt(song: Song, start: float, end: float) -> Song:
    """:func:`midifile.excerpt` of ``[start, end)``, lasting exactly ``end - start`` seconds.

    The excerpt of a range that ends in a pause (or beyond the song) would otherwise end at its last event; a marker
    at ``end - start`` (a MIDI text event, not written to any output file) keeps the range's length.
    """
    return midifile.excerpt(song, start, end)


def render_session(session: Session, *, out_dir: str | Path | None = None, overwrite: bool = False,
                   threads: int | None = None, max_duration: float = MAX_DURATION, max_memory: int = MAX_MEMORY,
                   progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> TrackResult:
    """Render a session into ``out_dir`` (a track folder) or ``session.output_dir/TrackNNNNN``.

    Loads the song and bank, draws the session's patches on the whole song (so a range sounds as it does in the
    full render), cuts the range if one is set, and calls :func:`pipeline.render_track`.
    """
    target = Path(out_dir) if out_dir is not None else session.track_dir()
    if target is None:
        raise SessionError("the session has no output folder; give one (-o OUT)")
    if session.range is not None and session.flakh:
        raise SessionError("a range cannot be rendered in Flakh mode (its mix is the whole MIDI file rendered "
                           "unsplit); clear the range or switch Flakh off")
    song = midifile.load_song(session.song)
    bank = load_bank(session.bank_path())
    assignment = session_assignment(session, song, bank)
    if session.range is not None:
        song = range_excerpt(song, *session.range)
    options = session.render_options(overwrite=overwrite, threads=threads, max_duration=max_duration,
                                     max_memory=max_memory)
    return render_track(song, bank, assignment, target, options, progress=progress, cancel=cancel)
