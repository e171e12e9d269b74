"""Patch banks (plain YAML files in ``patches/``) and seeded patch assignment, the Slakh way.

See ``docs/bank-format.md`` for the file format. A bank maps patch classes (a GM family and the 0-based programs they
cover) to patches (a SoundFont preset plus an optional effect chain). :func:`assign_patches` draws one patch per track
uniformly from the pool of its program, reusing the first draw for a program that repeats within the song.
"""

from __future__ import annotations

import difflib
import hashlib
import random
import re
import reprlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from slakh_gui import paths
from slakh_gui.core.bank.effects import make_plugin
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.midi import gm
from slakh_gui.core.midi.midifile import Song
from slakh_gui.core.safe_yaml import load_yaml

BANK_FORMAT = "slakh-studio-bank/1"
ASSIGNMENT_FORMAT = "slakh-studio-assignment/1"
_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")

_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother, _REPR.maxlong = 3, 80, 80, 40


def show(value) -> str:
    """``repr(value)`` cut to a short line (for messages about values read from a file)."""
    return _REPR.repr(value)


class BankError(SlakhError, ValueError):
    """A bank file is unreadable or invalid; the message names the file, line and key.

    Raised by the parser, it also carries them apart: ``line`` (1-based or None), ``key`` (the key path as a tuple,
    e.g. ``("patches", "x", "bank")``) and ``detail`` (the message without file, line and key).
    """

    def __init__(self, message: str, *, line: int | None = None, key: tuple = (), detail: str = "") -> None:
        super().__init__(message)
        self.line, self.key, self.detail = line, tuple(key), detail or message


class SoundFontMissing(SlakhError, FileNotFoundError):
    """A patch's SoundFont file is on none of the search folders."""


@dataclass(frozen=True)
class Patch:
    """A sample-based instrument: a SoundFont preset plus an optional effect chain."""

    id: str
    soundfont: str
    bank: int
    preset: int
    name: str = ""
    drum: bool = False
    effects: tuple[tuple[str, tuple[tuple[str, float], ...]], ...] = ()
    kit_follows: bool = False  # ``kit: follow``: bank 128, preset = the track's MIDI program (core.kits)
    kits: tuple[int, ...] = ()  # ``kits:``: the kit programs this drum patch suits (narrows the draw)

    @property
    def effect_chain(self) -> list[tuple[str, dict]]:
        return [(kind, dict(params)) for kind, params in self.effects]


@dataclass
class PatchClass:
    name: str
    inst_class: str
    programs: list[int]
    patches: list[str]


@dataclass
class Bank:
    path: Path | None
    name: str
    description: str
    patches: dict[str, Patch]
    classes: dict[str, PatchClass]
    sha256: str = ""
    soundfont_dirs: list[Path] = field(default_factory=list)

    def pool(self, program: int) -> list[Patch]:
        """Patches a track with this program may draw from (bank order, no duplicates)."""
        ids: dict[str, None] = {}
        for cls in self.classes.values():
            if program in cls.programs:
                ids.update(dict.fromkeys(cls.patches))
        return [self.patches[i] for i in ids]

    def covers(self, program: int) -> bool:
        return bool(self.pool(program))

    def class_count(self) -> int:
        """Classes with at least one patch (Slakh's "34 classes")."""
        return sum(1 for c in self.classes.values() if c.patches)

    def patch_count(self) -> int:
        """Sum of class patch lists (Slakh's "187 patches"); a patch in two classes counts twice."""
        return sum(len(c.patches) for c in self.classes.values())

    def resolve_soundfont(self, patch: Patch) -> Path:
        return find_soundfont(patch.soundfont, self.soundfont_dirs, patch_id=patch.id, bank_path=self.path)


def find_soundfont(name: str, extra_dirs: list[Path] | None = None, *, patch_id: str = "",
                   bank_path: Path | None = None) -> Path:
    """Locate a SoundFont by absolute path or file name on the search path."""
    folders = paths.soundfont_search_path(extra_dirs)
    try:  # a name no file can have ("~nobody/x", too long, a NUL) is a SoundFont not found, not a crash
        p = Path(name).expanduser()
        if p.is_absolute():
            if p.is_file():
                return p
        else:
            for folder in folders:
                if (folder / p).is_file():
                    return folder / p
    except (OSError, RuntimeError, ValueError):
        p = Path(name)
    where = f" (patch {show(patch_id)} of {bank_path})" if patch_id else ""
    searched = str(p) if p.is_absolute() else ", ".join(str(f) for f in folders)
    raise SoundFontMissing(f"SoundFont {show(name)}{where} not found; searched: {searched}")


# ---------------------------------------------------------------------------------------------- loading


def load_yaml_limited(text: str, source: str):
    """``(node, data)`` of YAML text read by :func:`slakh_gui.core.safe_yaml.load_yaml`; :class:`BankError` when
    it is not safe YAML."""
    return load_yaml(text, source, error=BankError)


def _compose_with_lines(text: str, source: str):
    """PyYAML data plus a map from key paths to line numbers (1-based), for error messages."""
    node, data = load_yaml_limited(text, source)
    lines: dict[tuple, int] = {}

    def walk(n, path):
        lines[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            seen: dict[str, int] = {}
            for k, v in n.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else show(k.value)
                if key in seen:  # PyYAML would silently keep the last one
                    where = "/".join(str(x) for x in path + (key,))
                    first = seen[key]
                    raise BankError(f"{source}:{k.start_mark.line + 1}: {_short(where)}: duplicate key {show(key)} "
                                    f"(first at line {first})", line=k.start_mark.line + 1, key=path + (key,),
                                    detail=f"duplicate key {show(key)} (first at line {first})")
                seen[key] = lines[path + (key,)] = k.start_mark.line + 1
                walk(v, path + (key,))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, path + (i,))

    if node is not None:
        walk(node, ())
    return data, lines


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


class _Checker:
    def __init__(self, source: str, lines: dict[tuple, int]):
        self.source, self.lines = source, lines

    def fail(self, path: tuple, message: str) -> BankError:
        line = None
        for i in range(len(path), -1, -1):
            if path[:i] in self.lines:
                line = self.lines[path[:i]]
                break
        where = f"{self.source}:{line}" if line else self.source
        key = _short("/".join(str(p) for p in path))
        return BankError(f"{where}: {key + ': ' if key else ''}{message}", line=line, key=path, detail=message)

    def mapping(self, value, path, required: set[str], optional: set[str]) -> dict:
        if not isinstance(value, dict):
            raise self.fail(path, f"expected a mapping, got {type(value).__name__}")
        for key in value:
            if key not in required | optional:
                guess = difflib.get_close_matches(str(key), sorted(required | optional), n=1)
                hint = f" (did you mean {guess[0]!r}?)" if guess else ""
                raise self.fail(path + (key,), f"unknown key{hint}; expected {', '.join(sorted(required | optional))}")
        for key in sorted(required):
            if key not in value:
                raise self.fail(path, f"missing key {key!r}")
        return value

    def integer(self, value, path, lo: int, hi: int) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
            raise self.fail(path, f"expected an integer {lo}..{hi}, got {show(value)}")
        return value

    def text(self, value, path) -> str:
        """An optional free text (a name, a description): a string, a number, or nothing."""
        if value is None or isinstance(value, (str, int, float)):
            return "" if value is None else str(value)
        raise self.fail(path, f"expected a text, got {show(value)}")

    def string(self, value, path) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(path, f"expected a non-empty string, got {show(value)}")
        return value


def load_bank(path: str | Path) -> Bank:
    """Read and validate a bank file; raise :class:`BankError` naming file, line and key on any fault."""
    from slakh_gui.core.audio_io import read_utf8

    path = Path(path)
    text = read_utf8(path, BankError, "cannot read bank file", "not a UTF-8 text file")
    bank = parse_bank(text, str(path))
    bank.path = path
    bank.sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()  # = the file's bytes (valid UTF-8 round-trips)
    return bank


def parse_bank(text: str, source: str = "<bank>") -> Bank:
    """Validate bank YAML text (see :func:`load_bank`)."""
    data, lines = _compose_with_lines(text, source)
    return _bank_from_data(data, lines, source)


def _bank_from_data(data, lines: dict[tuple, int], source: str) -> Bank:
    """The checks of :func:`parse_bank` on already-parsed YAML data (``lines``: key path -> line)."""
    c = _Checker(source, lines)
    top = c.mapping(data, (), {"format", "name", "patches", "classes"}, {"description", "soundfont_dirs"})
    if top["format"] != BANK_FORMAT:
        raise c.fail(("format",), f"expected {BANK_FORMAT!r}, got {show(top['format'])}")
    name = c.string(top["name"], ("name",))
    description = c.text(top.get("description"), ("description",))
    dirs = top.get("soundfont_dirs") or []
    if not isinstance(dirs, list):
        raise c.fail(("soundfont_dirs",), "expected a list of folders")
    for i, d in enumerate(dirs):
        if not isinstance(d, str) or not d.strip() or "\0" in d:
            raise c.fail(("soundfont_dirs", i), f"expected a folder path, got {show(d)}")
    if not isinstance(top["patches"], dict) or not top["patches"]:
        raise c.fail(("patches",), "expected a non-empty mapping of patch id -> patch")
    patches: dict[str, Patch] = {}
    for pid, spec in top["patches"].items():
        p = ("patches", pid)
        if not isinstance(pid, str) or not _ID.match(pid):
            raise c.fail(p, "patch id must match [a-z0-9][a-z0-9_.-]*")
        spec = c.mapping(spec, p, {"soundfont", "bank", "preset"}, {"name", "drum", "effects", "kit", "kits"})
        bank_no = c.integer(spec["bank"], p + ("bank",), 0, 16383)
        drum = spec.get("drum", bank_no == 128)
        if not isinstance(drum, bool):
            raise c.fail(p + ("drum",), f"expected true or false, got {show(drum)}")
        kit_follows, kits = _kit_keys(c, spec, p, bank_no, drum)
        effects = []
        chain = spec.get("effects") or []
        if not isinstance(chain, list):
            raise c.fail(p + ("effects",), "expected a list of effects")
        for i, fx in enumerate(chain):
            fp = p + ("effects", i)
            if not isinstance(fx, dict) or not isinstance(fx.get("type"), str):
                raise c.fail(fp, "each effect is a mapping with a 'type'")
            params = {k: v for k, v in fx.items() if k != "type"}
            odd = [k for k in params if not isinstance(k, str)]
            if odd:
                raise c.fail(fp + (odd[0],), "effect parameter names are words (e.g. gain_db)")
            try:
                make_plugin(fx["type"], params)
            except ValueError as exc:
                raise c.fail(fp, _short(str(exc))) from None
            effects.append((fx["type"], tuple(sorted((k, float(v)) for k, v in params.items()))))
        patches[pid] = Patch(
            id=pid,
            soundfont=c.string(spec["soundfont"], p + ("soundfont",)),
            bank=bank_no,
            preset=c.integer(spec["preset"], p + ("preset",), 0, 127),
            name=c.text(spec.get("name"), p + ("name",)),
            drum=drum,
            effects=tuple(effects),
            kit_follows=kit_follows,
            kits=kits,
        )
    if not isinstance(top["classes"], dict) or not top["classes"]:
        raise c.fail(("classes",), "expected a non-empty mapping of class name -> class")
    classes: dict[str, PatchClass] = {}
    for cname, spec in top["classes"].items():
        p = ("classes", cname)
        spec = c.mapping(spec, p, {"inst_class", "programs", "patches"}, set())
        inst_class = c.string(spec["inst_class"], p + ("inst_class",))
        if inst_class not in gm.FAMILIES:
            guess = difflib.get_close_matches(inst_class, gm.FAMILIES, n=1)
            hint = f" (did you mean {guess[0]!r}?)" if guess else ""
            raise c.fail(p + ("inst_class",), f"unknown GM family {show(inst_class)}{hint}")
        progs = spec["programs"]
        if not isinstance(progs, list):
            raise c.fail(p + ("programs",), "expected a list of 0-based programs (128 = drums)")
        programs = [c.integer(v, p + ("programs", i), 0, 128) for i, v in enumerate(progs)]
        members = spec["patches"] or []
        if not isinstance(members, list):
            raise c.fail(p + ("patches",), "expected a list of patch ids")
        for i, pid in enumerate(members):
            if not isinstance(pid, str) or pid not in patches:
                guess = difflib.get_close_matches(pid, list(patches), n=1) if isinstance(pid, str) else []
                hint = f" (did you mean {guess[0]!r}?)" if guess else ""
                raise c.fail(p + ("patches", i), f"no patch {show(pid)} in 'patches'{hint}")
            if (128 in programs) != patches[pid].drum:
                kind = "a drum class" if 128 in programs else "a melodic class"
                raise c.fail(p + ("patches", i), f"patch {show(pid)} ({'drum' if patches[pid].drum else 'melodic'}) in {kind}")
        classes[str(cname)] = PatchClass(str(cname), inst_class, programs, list(members))
    return Bank(None, name, description, patches, classes, soundfont_dirs=[Path(d) for d in dirs])


KIT_VALUES = ("follow", "fixed")


def _kit_keys(c: _Checker, spec: dict, p: tuple, bank_no: int, drum: bool) -> tuple[bool, tuple[int, ...]]:
    """``kit:`` (follow | fixed) and ``kits:`` (kit programs 0..127, no repeats) of a patch, checked."""
    kit = spec.get("kit", "fixed")
    if kit not in KIT_VALUES:
        raise c.fail(p + ("kit",), f"expected 'follow' or 'fixed', got {show(kit)}")
    if kit == "follow" and not drum:
        raise c.fail(p + ("kit",), "only a drum patch can follow the track's kit")
    if kit == "follow" and bank_no != 128:
        raise c.fail(p + ("kit",), f"a kit that follows the track's program is a bank 128 preset; this is bank {bank_no}")
    raw = spec.get("kits")
    if raw is None:
        return kit == "follow", ()
    if not isinstance(raw, list):
        raise c.fail(p + ("kits",), "expected a list of kit programs (0..127), e.g. [40] for brush kits")
    if raw and not drum:
        raise c.fail(p + ("kits",), "only a drum patch suits kits")
    kits = tuple(c.integer(v, p + ("kits", i), 0, 127) for i, v in enumerate(raw))
    if len(set(kits)) != len(kits):
        raise c.fail(p + ("kits",), f"lists a kit program twice: {show(list(kits))}")
    return kit == "follow", kits


# ---------------------------------------------------------------------------------------------- assignment


@dataclass
class TrackPatch:
    """The patch chosen for one track (``patch_id`` None: not rendered, ``reason`` says why)."""

    key: str
    patch_id: str | None
    locked: bool = False
    reason: str = ""


@dataclass
class Assignment:
    seed: int
    bank_name: str
    tracks: dict[str, TrackPatch]
    bank_sha256: str = ""

    def patch_id(self, key: str) -> str | None:
        return self.tracks[key].patch_id

    def to_dict(self) -> dict:
        return {
            "format": ASSIGNMENT_FORMAT,
            "seed": self.seed,
            "bank": {"name": self.bank_name, "sha256": self.bank_sha256},
            "tracks": {k: {"patch": t.patch_id, "locked": t.locked} for k, t in self.tracks.items()},
        }


def assign_patches(song: Song, bank: Bank, seed: int, *, fixed: dict[str, str | None] | None = None,
                   locked: set[str] | frozenset[str] = frozenset()) -> Assignment:
    """Draw a patch for every track, seeded and reproducible.

    ``fixed`` maps stem keys to a patch id the user chose (None = do not render); keys in ``locked`` keep their
    patch when the rest is re-rolled. A program repeated within the song reuses its first patch, as Slakh did.
    Each program's draw has its own random stream (seed and program), so fixing one track never changes another's.
    A drum track draws among the patches whose ``kits`` list its MIDI program when the bank narrows so
    (:func:`draw_pool`); banks without ``kits`` draw exactly as before.
    """
    fixed = dict(fixed or {})
    for key, pid in fixed.items():
        if pid is not None and pid not in bank.patches:
            raise BankError(f"track {key}: patch {show(pid)} is not in bank {show(bank.name)}")
    first: dict[tuple[int, ...], str] = {}
    for t in song.tracks:
        pid = fixed.get(t.key)
        draw, _ = draw_pool(bank, t)
        if pid is not None and draw not in first:
            first[draw] = pid
    result: dict[str, TrackPatch] = {}
    for t in song.tracks:
        is_locked = t.key in locked
        draw, pool = draw_pool(bank, t)
        if t.note_count == 0:
            reason = "the track has no notes"
        elif not pool:
            reason = f"program {t.program} ({t.program_name}) is not covered by bank {show(bank.name)}"
        else:
            reason = ""
        if t.key in fixed:
            pid = fixed[t.key]
            result[t.key] = TrackPatch(t.key, pid, is_locked, "" if pid else reason or "switched off by the user")
            continue
        if reason:
            result[t.key] = TrackPatch(t.key, None, is_locked, reason)
            continue
        if draw not in first:
            first[draw] = random.Random(":".join(map(str, (seed, *draw)))).choice(pool).id
        result[t.key] = TrackPatch(t.key, first[draw], is_locked)
    return Assignment(seed, bank.name, result, bank.sha256)


def draw_pool(bank: Bank, track) -> tuple[tuple[int, ...], list[Patch]]:
    """``(draw key, pool)`` of a track: the pool of its program, narrowed for a drum track to the patches whose
    ``kits`` list its MIDI program when the pool has any (then the key is (128, kit): one draw per kit), else whole
    (the key is (program,): one draw per program, Slakh's rule)."""
    pool = bank.pool(track.program)
    if track.is_drum and any(p.kits for p in pool):
        kit = int(track.instrument.program)
        suited = [p for p in pool if kit in p.kits]
        if suited:
            return (track.program, kit), suited
    return (track.program,), pool


def save_assignment(assignment: Assignment, path: str | Path) -> None:
    from slakh_gui.core.audio_io import atomic_write_text

    atomic_write_text(Path(path), yaml.safe_dump(assignment.to_dict(), sort_keys=False))


def load_assignment(path: str | Path, song: Song, bank: Bank) -> Assignment:
    """Read an assignment file and re-apply it to ``song`` (its patches fixed and its locks kept)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BankError(f"{path}: cannot read assignment: {getattr(exc, 'strerror', None) or exc}") from None
    _, data = load_yaml_limited(text, str(path))
    if not isinstance(data, dict) or data.get("format") != ASSIGNMENT_FORMAT or not isinstance(data.get("tracks"), dict):
        raise BankError(f"{path}: not a Slakh Studio assignment file ({ASSIGNMENT_FORMAT})")
    fixed, locked = {}, set()
    for key, spec in data["tracks"].items():
        if not isinstance(spec, dict):
            raise BankError(f"{path}: track {_short(str(key))}: expected a mapping")
        pid = spec.get("patch")
        if pid is not None and not isinstance(pid, str):
            raise BankError(f"{path}: track {_short(str(key))}: patch must be a patch id or null, got {show(pid)}")
        fixed[str(key)] = pid
        if spec.get("locked"):
            locked.add(str(key))
    unknown = set(fixed) - {t.key for t in song.tracks}
    if unknown:
        raise BankError(f"{path}: tracks {show(sorted(unknown))} are not in {song.path.name}")
    seed = data.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise BankError(f"{path}: seed must be an integer")
    try:
        return assign_patches(song, bank, seed, fixed=fixed, locked=locked)
    except BankError as exc:
        raise BankError(f"{path}: {exc}") from None
