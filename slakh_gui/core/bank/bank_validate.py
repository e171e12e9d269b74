"""Check a patch bank file and report every problem found, each with its line and key path.

Unlike :func:`slakh_gui.core.bank.patches.load_bank`, which stops at the first fault, :func:`validate_bank` goes on:

* errors: YAML syntax and schema faults (the parser's message; a faulty patch, effect or class entry is set aside
  and the rest is checked), duplicate keys in a mapping (two patches or classes with one name: PyYAML silently keeps
  the last one), SoundFont files not found, presets their SoundFont does not have, effect parameters out of range,
  patches that render silent on their audition phrase;
* warnings: a program covered by two classes, classes with no patches, patches listed in no class, a preset name
  that differs from the SoundFont's, a patch whose audition loudness is far (> 12 LU) from the bank's median, a
  ``kits`` list naming a program that is no GM/GS kit, a kit-following patch whose SoundFont lacks GM kits.
  (A bad ``kit``/``kits`` value, or either key on a patch that is no drum patch, is a schema error.)

Findings never stop a bank from being saved; the GUI shows them, ``slakh-studio patches validate`` prints them.
"""

from __future__ import annotations

import copy
import math
import statistics
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import yaml

from slakh_gui.core.bank.patches import (
    Bank,
    BankError,
    SoundFontMissing,
    _bank_from_data,
    load_yaml_limited,
    show,
)
from slakh_gui.core.constants import SAMPLE_RATE
from slakh_gui.core.jobs import CancelToken, check
from slakh_gui.core.midi import gm

SILENT_PEAK_DBFS = -60.0  # a phrase whose peak stays below this is silent (build_banks.py: 1e-3 of full scale)
LOUDNESS_SPREAD_LU = 12.0  # audition loudness further than this from the bank's median: a warning
MAX_RECOVERIES = 1000

_UNIT = (0.0, 1.0)
# (low, high) inclusive; None = unbounded. "nyquist" is replaced by the sample rate / 2.
PARAM_RANGES: dict[str, dict[str, tuple]] = {
    "reverb": {"room_size": _UNIT, "damping": _UNIT, "wet_level": _UNIT, "dry_level": _UNIT, "width": _UNIT,
               "freeze_mode": _UNIT},
    "compressor": {"threshold_db": (-100.0, 0.0), "ratio": (1.0, None), "attack_ms": (0.0, 10000.0),
                   "release_ms": (0.0, 10000.0)},
    "gain": {"gain_db": (-48.0, 48.0)},
    "chorus": {"rate_hz": (0.0, 100.0), "depth": _UNIT, "centre_delay_ms": (0.0, 100.0), "feedback": (-1.0, 1.0),
               "mix": _UNIT},
    "distortion": {"drive_db": (0.0, 100.0)},
    "highpass": {"cutoff_frequency_hz": (1.0, "nyquist")},
    "lowpass": {"cutoff_frequency_hz": (1.0, "nyquist")},
    "lowshelf": {"cutoff_frequency_hz": (1.0, "nyquist"), "gain_db": (-48.0, 48.0), "q": (0.01, 100.0)},
    "highshelf": {"cutoff_frequency_hz": (1.0, "nyquist"), "gain_db": (-48.0, 48.0), "q": (0.01, 100.0)},
    "peak": {"cutoff_frequency_hz": (1.0, "nyquist"), "gain_db": (-48.0, 48.0), "q": (0.01, 100.0)},
    "delay": {"delay_seconds": (0.0, 30.0), "feedback": _UNIT, "mix": _UNIT},
}


@dataclass(frozen=True)
class Finding:
    severity: str  # "error" | "warning"
    line: int | None  # 1-based line in the bank file
    key: str  # key path, e.g. "patches/fluidr3_gm.piano/effects/0/room_size"
    message: str
    file: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.severity}: {self.key or '-'}: {self.message}"

    def as_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "severity": self.severity, "key": self.key,
                "message": self.message}


class _Report:
    def __init__(self, source: str) -> None:
        self.source = source
        self.lines: dict[tuple, int] = {}
        self.findings: list[Finding] = []

    def line_of(self, path: tuple) -> int | None:
        for i in range(len(path), -1, -1):
            if path[:i] in self.lines:
                return self.lines[path[:i]]
        return None

    def add(self, severity: str, path: tuple, message: str, line: int | None = None) -> None:
        self.findings.append(Finding(severity, line if line is not None else self.line_of(path),
                                     "/".join(str(p) for p in path), message, self.source))


def _walk_nodes(node, report: _Report) -> None:
    """Line numbers of every key path, and an error for each duplicate key in a mapping."""

    def walk(n, path):
        report.lines.setdefault(path, n.start_mark.line + 1)  # a key's own line, not its value's
        if isinstance(n, yaml.MappingNode):
            first: dict = {}
            for k, v in n.value:
                key = k.value if isinstance(k, yaml.ScalarNode) else show(k.value)
                line = k.start_mark.line + 1
                if key in first:
                    what = {(): "top-level key", ("patches",): "patch id", ("classes",): "class name"}.get(path, "key")
                    report.add("error", path + (key,), f"duplicate {what} {show(key)} (first at line {first[key]}); "
                               f"YAML keeps only the last one", line)
                else:
                    first[key] = line
                report.lines[path + (key,)] = line
                walk(v, path + (key,))
        elif isinstance(n, yaml.SequenceNode):
            for i, v in enumerate(n.value):
                walk(v, path + (i,))

    walk(node, ())


def effect_problems(kind: str, params: dict, sample_rate: int = SAMPLE_RATE) -> list[tuple[str, str]]:
    """(parameter, message) for each parameter of a known effect type that is not a finite number in range."""
    ranges = PARAM_RANGES.get(kind, {})
    out = []
    for name, value in params.items():
        if name not in ranges:
            continue  # unknown parameters are the parser's business
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            out.append((name, f"{kind} {name} must be a finite number, got {show(value)}"))
            continue
        lo, hi = ranges[name]
        hi = sample_rate / 2 if hi == "nyquist" else hi
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            bounds = f">= {lo:g}" if hi is None else f"{lo:g}..{hi:g}"
            out.append((name, f"{kind} {name} = {value:g} is out of range ({bounds})"))
    return out


def _check_effects(work: dict, report: _Report, fixed: set) -> None:
    """Range-check every effect in the raw data; an effect with a problem is replaced by a neutral one."""
    pats = work.get("patches")
    if not isinstance(pats, dict):
        return
    for pid, spec in pats.items():
        chain = spec.get("effects") if isinstance(spec, dict) else None
        if not isinstance(chain, list):
            continue
        for i, fx in enumerate(chain):
            if not isinstance(fx, dict) or not isinstance(fx.get("type"), str):
                continue
            problems = effect_problems(fx["type"], {k: v for k, v in fx.items() if k != "type"})
            for param, message in problems:
                report.add("error", ("patches", pid, "effects", i, param), message)
            if problems:
                chain[i] = {"type": "gain"}
                fixed.add(("patches", pid, "effects", i))


def _placeholder(spec) -> dict:
    bank = spec.get("bank") if isinstance(spec, dict) else None
    drum = spec.get("drum") if isinstance(spec, dict) else None
    if not isinstance(drum, bool):
        drum = bank == 128
    return {"soundfont": "<invalid>", "bank": 128 if drum else 0, "preset": 0, "drum": drum}


def _parse_tolerant(work, report: _Report, fixed: set) -> tuple[Bank | None, set[str]]:
    """Parse, setting aside each faulty patch, effect or class member (reported once) until the rest parses."""
    invalid: set[str] = set()
    members: dict[str, list[int]] = {}  # class -> original index of each remaining member
    classes = work.get("classes") if isinstance(work, dict) else None
    if isinstance(classes, dict):
        for name, spec in classes.items():
            if isinstance(spec, dict) and isinstance(spec.get("patches"), list):
                members[name] = list(range(len(spec["patches"])))
    for _ in range(MAX_RECOVERIES):
        try:
            return _bank_from_data(work, report.lines, report.source), invalid
        except BankError as exc:
            key, detail = exc.key, exc.detail
            if len(key) >= 4 and key[0] == "patches" and key[2] == "effects" and isinstance(key[3], int):
                if key[:4] not in fixed:
                    report.add("error", key, detail)
                work["patches"][key[1]]["effects"][key[3]] = {"type": "gain"}
                fixed.add(key[:4])
            elif len(key) >= 2 and key[0] == "patches" and key[1] not in invalid:
                report.add("error", key, detail)
                invalid.add(key[1])
                work["patches"][key[1]] = _placeholder(work["patches"][key[1]])
            elif len(key) >= 4 and key[0] == "classes" and key[2] == "patches" and key[1] in members:
                cname, i = key[1], key[3]
                original = ("classes", cname, "patches", members[cname][i])
                member = work["classes"][cname]["patches"][i]
                if not isinstance(member, str) or member not in invalid:
                    report.add("error", original, detail)
                del work["classes"][cname]["patches"][i]
                del members[cname][i]
            else:
                report.add("error", key, detail, exc.line)
                return None, invalid
    return None, invalid


def validate_bank(path: str | Path, *, render_check: bool = True, soundfont_dirs: list[Path] | None = None,
                  progress: Callable[[int, int], None] | None = None,
                  cancel: CancelToken | None = None) -> list[Finding]:
    """Every problem of the bank file at ``path`` (see the module doc), errors and warnings, in file order.

    ``render_check`` renders each patch's audition phrase (silence: error; loudness far from the median: warning);
    ``progress(done, total)`` follows those renders; ``cancel`` stops them.
    """
    path = Path(path)
    report = _Report(str(path))
    try:
        text = path.read_bytes().decode("utf-8")
    except OSError as exc:
        report.add("error", (), f"cannot read bank file: {exc.strerror or exc}")
        return report.findings
    except UnicodeDecodeError:
        report.add("error", (), "not a UTF-8 text file")
        return report.findings
    try:  # syntax errors, too deep nesting and aliases that expand too far ("billion laughs") are one finding
        node, data = load_yaml_limited(text, str(path))
    except BankError as exc:
        report.add("error", (), exc.detail, exc.line)
        return report.findings
    if node is not None:
        _walk_nodes(node, report)
    work = copy.deepcopy(data)
    fixed: set = set()
    if isinstance(work, dict):
        _check_effects(work, report, fixed)
    bank, invalid = _parse_tolerant(work, report, fixed)
    if bank is not None:
        bank.path = path
        playable = _check_bank(bank, invalid, report, soundfont_dirs)
        if render_check:
            _render_check(bank, playable, report, progress, cancel)
    return sorted(report.findings, key=lambda f: (f.line or 0, f.severity != "error"))


def _check_bank(bank: Bank, invalid: set[str], report: _Report, soundfont_dirs) -> list:
    """The static checks; returns the patches whose SoundFont and preset exist (for the render check)."""
    from slakh_gui.core.bank.soundfont import SoundFontError, list_presets

    bank.soundfont_dirs = list(soundfont_dirs or []) + list(bank.soundfont_dirs)
    playable = []
    tables: dict[Path, dict | str] = {}
    for pid, patch in bank.patches.items():
        if pid in invalid:
            continue
        try:
            sf = bank.resolve_soundfont(patch)
        except SoundFontMissing as exc:
            report.add("error", ("patches", pid, "soundfont"), str(exc).replace(f" (patch {show(pid)} of {bank.path})", ""))
            continue
        if sf not in tables:
            try:
                tables[sf] = {(p.bank, p.preset): p.name for p in list_presets(sf)}
            except (SoundFontError, OSError) as exc:
                tables[sf] = str(exc)
        table = tables[sf]
        if isinstance(table, str):
            report.add("error", ("patches", pid, "soundfont"), table)
            continue
        if (patch.bank, patch.preset) not in table:
            in_bank = sorted(p for b, p in table if b == patch.bank)
            hint = (f"bank {patch.bank} has presets {_ranges(in_bank)}" if in_bank
                    else f"it has banks {_ranges(sorted({b for b, _ in table}))}")
            report.add("error", ("patches", pid, "preset"),
                       f"{sf.name} has no preset bank {patch.bank} preset {patch.preset} ({hint})")
            continue
        actual = table[(patch.bank, patch.preset)]
        if patch.name and actual and patch.name.strip() != actual:
            report.add("warning", ("patches", pid, "name"), f"the SoundFont calls this preset {actual!r}")
        _check_kits(patch, sf, table, report)
        playable.append(patch)

    covered: dict[int, str] = {}
    listed: set[str] = set()
    for cname, cls in bank.classes.items():
        listed.update(cls.patches)
        if not cls.patches:
            report.add("warning", ("classes", cname, "patches"),
                       "class has no patches: tracks of its programs are not rendered")
        for i, program in enumerate(cls.programs):
            if program in covered and covered[program] != cname:
                report.add("warning", ("classes", cname, "programs", i),
                           f"program {program} ({gm.program_name(program)}) is also covered by class "
                           f"{covered[program]!r}: its pool joins both classes")
            covered.setdefault(program, cname)
    for pid in bank.patches:
        if pid not in listed and pid not in invalid:
            report.add("warning", ("patches", pid), "patch is in no class: no track can draw it")
    return playable


def _check_kits(patch, sf: Path, table: dict, report: _Report) -> None:
    """Warnings about a drum patch's kit keys: non-kit programs in ``kits``, GM kits a following patch's font lacks."""
    from slakh_gui.core.bank.kits import GM_KITS, KITS, kit_name

    for i, program in enumerate(patch.kits):
        if program not in KITS:
            known = ", ".join(f"{p} {n}" for p, n in KITS.items())
            report.add("warning", ("patches", patch.id, "kits", i),
                       f"program {program} is no GM/GS drum kit ({known}): only tracks on it draw this patch first")
    if patch.kit_follows:
        missing = [p for p in GM_KITS if (128, p) not in table]
        if missing:
            used = "the standard kit" if (128, 0) in table else f"its preset {patch.preset}"
            report.add("warning", ("patches", patch.id, "kit"),
                       f"{sf.name} lacks {', '.join(kit_name(p) for p in missing)}: tracks on those programs get {used}")


def _render_check(bank: Bank, playable: list, report: _Report, progress, cancel) -> None:
    from slakh_gui.core.bank.audition import audition

    total = len(playable)
    done = [0]

    def one(patch):
        check(cancel)
        result = audition(patch, bank, cancel=cancel)
        done[0] += 1
        if progress is not None:
            progress(done[0], total)
        return patch, result

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(one, playable))
    loud: dict[str, float] = {}
    for patch, result in results:
        if not math.isfinite(result.peak_dbfs) or result.peak_dbfs < SILENT_PEAK_DBFS or not math.isfinite(result.lufs):
            peak = "no signal" if not math.isfinite(result.peak_dbfs) else f"peak {result.peak_dbfs:.1f} dBFS"
            report.add("error", ("patches", patch.id),
                       f"silent: its {result.kind} phrase renders at {peak} (bank {patch.bank} preset {patch.preset})")
        else:
            loud[patch.id] = result.lufs
    if len(loud) >= 3:
        median = statistics.median(loud.values())
        for pid, lufs in loud.items():
            if abs(lufs - median) > LOUDNESS_SPREAD_LU:
                report.add("warning", ("patches", pid),
                           f"audition loudness {lufs:.1f} LUFS is {lufs - median:+.1f} LU from the bank's median "
                           f"({median:.1f} LUFS)")


def _ranges(values: list[int]) -> str:
    """[0, 1, 2, 5, 7, 8] -> '0-2, 5, 7-8'."""
    parts, start = [], None
    for i, v in enumerate(values):
        if start is None:
            start = v
        if i + 1 == len(values) or values[i + 1] != v + 1:
            parts.append(f"{start}" if start == v else f"{start}-{v}")
            start = None
    return ", ".join(parts) or "none"


def has_errors(findings: list[Finding]) -> bool:
    return any(f.severity == "error" for f in findings)
