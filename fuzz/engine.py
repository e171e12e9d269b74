"""The fuzz loop: run one input through a target's parser with a time limit, classify the outcome, minimize and
keep failing inputs as regression fixtures, and count per target.

An outcome is ``ok`` (parsed), ``clear`` (one of the target's documented errors, one line, naming the file),
``bug`` (any other exception, or a clear error whose message is not one short line naming the file) or ``hang``
(longer than the time limit).
"""

from __future__ import annotations

import contextlib
import hashlib
import random
import shutil
import signal
import tempfile
import time
import traceback
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REGRESSIONS = Path(__file__).resolve().parent.parent / "tests" / "data" / "fuzz-regressions"
HANG_SECONDS = 10.0
MAX_MESSAGE = 2000

Input = bytes | dict  # one file's bytes, or a folder: relative path -> bytes (None: an empty directory)


class Hang(BaseException):
    """Raised by the alarm inside a parser that runs too long (a BaseException: parsers' ``except`` miss it)."""


@dataclass
class Target:
    name: str
    clear: tuple[type[BaseException], ...]
    check: Callable[[Input, Path], str]  # runs the parser on the input written under the folder; returns its name
    seeds: Callable[[], list[tuple[str, Input]]]
    mutate: Callable[[random.Random, Input, list], tuple[Input, str]]
    strategy: Callable[[], object] | None = None  # hypothesis strategy of inputs
    suffix: str = ".bin"
    names_file: bool = True  # a clear error must name the file


@dataclass
class Outcome:
    kind: str  # ok | clear | bug | hang
    seconds: float
    detail: str = ""  # exception type and message, for bug/hang/clear
    where: str = ""  # the innermost frame (file:function), the bug's signature with the type


@dataclass
class Stats:
    target: str
    tried: int = 0
    ok: int = 0
    clear: int = 0
    failures: list[tuple[str, str, str]] = field(default_factory=list)  # (kind, detail, fixture path)
    slowest: tuple[float, str] = (0.0, "")
    seconds: float = 0.0
    signatures: set = field(default_factory=set)

    def add(self, out: Outcome, label: str) -> None:
        self.tried += 1
        if out.kind == "ok":
            self.ok += 1
        elif out.kind == "clear":
            self.clear += 1
        if out.seconds > self.slowest[0]:
            self.slowest = (out.seconds, label)

    def line(self) -> str:
        return (f"{self.target:13s} tried {self.tried:6d}  parsed {self.ok:6d}  clear errors {self.clear:6d}  "
                f"failures {len(self.failures):3d}  slowest {self.slowest[0]:6.2f} s ({self.slowest[1]})  "
                f"[{self.seconds:.0f} s]")


@contextlib.contextmanager
def time_limit(seconds: float):
    def on_alarm(signum, frame):
        raise Hang(f"took more than {seconds:g} s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def write_input(data: Input, folder: Path, name: str) -> Path:
    """Write an input under ``folder`` as ``name`` (a file, or a folder of files); returns its path."""
    path = folder / name
    if isinstance(data, dict):
        path.mkdir(parents=True, exist_ok=True)
        for rel, content in data.items():
            p = path / rel
            if content is None:
                p.mkdir(parents=True, exist_ok=True)
            else:
                p.parent.mkdir(parents=True, exist_ok=True)
                p.write_bytes(content)
    else:
        path.write_bytes(data)
    return path


def read_input(path: Path) -> Input:
    if path.is_dir():
        return {p.relative_to(path).as_posix(): (None if p.is_dir() else p.read_bytes())
                for p in sorted(path.rglob("*"))}
    return path.read_bytes()


def run_case(target: Target, data: Input, *, limit: float = HANG_SECONDS) -> Outcome:
    """Run one input; never raises (but KeyboardInterrupt)."""
    work = Path(tempfile.mkdtemp(prefix=f"fuzz-{target.name}-"))
    t0 = time.perf_counter()
    try:
        with time_limit(limit):
            target.check(data, work)
        return Outcome("ok", time.perf_counter() - t0)
    except Hang as exc:
        return Outcome("hang", time.perf_counter() - t0, f"hang: {exc}", _where(exc))
    except target.clear as exc:
        seconds = time.perf_counter() - t0
        msg = str(exc)
        detail = f"{type(exc).__name__}: {msg[:300]}"
        if "\n" in msg or len(msg) > MAX_MESSAGE:
            return Outcome("bug", seconds, f"message not one short line ({len(msg)} chars): {detail}",
                           "message:" + type(exc).__name__)
        if target.names_file and "fuzz-input" not in msg:
            return Outcome("bug", seconds, f"message does not name the file: {detail}", "message-name")
        return Outcome("clear", seconds, detail)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # the point: anything else is a bug
        return Outcome("bug", time.perf_counter() - t0, f"{type(exc).__name__}: {str(exc)[:300]}",
                       f"{type(exc).__name__}@{_where(exc)}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _where(exc: BaseException) -> str:
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if "slakh_gui" in f.filename] or frames
    f = ours[-1] if ours else None
    return f"{Path(f.filename).name}:{f.name}" if f else "?"


def minimize(target: Target, data: Input, signature: str, budget: float = 30.0) -> Input:
    """A smaller input with the same failure signature (delta debugging on bytes / files), within ``budget`` s."""
    deadline = time.monotonic() + budget
    limit = 3.0 if signature.startswith("Hang") else HANG_SECONDS

    def same(candidate: Input) -> bool:
        if time.monotonic() > deadline:
            return False
        out = run_case(target, candidate, limit=limit)
        sig = out.where if out.kind == "bug" else ("Hang" if out.kind == "hang" else "")
        return out.kind in ("bug", "hang") and (sig == signature or signature.startswith("Hang") and sig == "Hang")

    if isinstance(data, dict):
        for rel in list(data):
            if rel in data and len(data) > 1:
                trial = {k: v for k, v in data.items() if k != rel and not k.startswith(rel + "/")}
                if same(trial):
                    data = trial
        for rel, content in list(data.items()):
            if content:
                data = dict(data)
                data[rel] = _ddmin(content, lambda b, rel=rel, d=data: same({**d, rel: b}), deadline)
        return data
    return _ddmin(data, same, deadline)


def _ddmin(data: bytes, same: Callable[[bytes], bool], deadline: float) -> bytes:
    chunk = max(1, len(data) // 2)
    while chunk >= 1 and time.monotonic() < deadline:
        i, changed = 0, False
        while i < len(data) and time.monotonic() < deadline:
            trial = data[:i] + data[i + chunk:]
            if trial and same(trial):
                data, changed = trial, True
            else:
                i += chunk
        if not changed:
            chunk //= 2
    return data


def save_fixture(target: Target, data: Input, label: str, kind: str, root: Path = REGRESSIONS) -> Path:
    folder = root / target.name
    folder.mkdir(parents=True, exist_ok=True)
    raw = repr(sorted(data.items())).encode() if isinstance(data, dict) else data
    digest = hashlib.sha1(raw).hexdigest()[:10]
    slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in label)[:40].strip("-")
    name = f"{kind}-{slug}-{digest}" + ("" if isinstance(data, dict) else target.suffix)
    path = folder / name
    if path.exists():
        return path
    if isinstance(data, dict):
        write_input(data, folder, name)
    else:
        path.write_bytes(data)
    return path


def report_failure(target: Target, stats: Stats, data: Input, out: Outcome, label: str, *, save: bool,
                   fixtures: Path, log: Callable[[str], None], minimize_budget: float = 30.0) -> None:
    signature = out.where if out.kind == "bug" else "Hang"
    if signature in stats.signatures:  # one fixture per distinct bug
        stats.failures.append((out.kind, out.detail, "(same as an earlier failure)"))
        return
    stats.signatures.add(signature)
    path = ""
    if save:
        small = minimize(target, data, signature, minimize_budget) if minimize_budget > 0 else data
        path = str(save_fixture(target, small, label, out.kind, fixtures))
    stats.failures.append((out.kind, out.detail, path))
    log(f"  {target.name}: {out.kind.upper()} {out.detail} at {out.where}  [{label}] -> {path or 'not saved'}")


def mutation_campaign(target: Target, count: int, seed: int, deadline: float, stats: Stats, *, save: bool,
                      fixtures: Path, log: Callable[[str], None], minimize_budget: float = 30.0) -> None:
    """``count`` mutants of the seed corpus (fewer if ``deadline`` (monotonic) passes)."""
    rng = random.Random(f"{seed}:{target.name}")
    seeds = target.seeds()
    pool = [d for _, d in seeds]
    for i in range(count):
        if time.monotonic() > deadline:
            log(f"  {target.name}: time budget reached after {i} mutants")
            break
        name, base = seeds[rng.randrange(len(seeds))] if i >= len(seeds) else seeds[i]
        data, label = (base, "seed") if i < len(seeds) else target.mutate(rng, base, pool)
        label = f"{name}:{label}"
        out = run_case(target, data)
        stats.add(out, label)
        if out.kind in ("bug", "hang"):
            report_failure(target, stats, data, out, label, save=save, fixtures=fixtures, log=log,
                           minimize_budget=minimize_budget)


def hypothesis_campaign(target: Target, count: int, seed: int, deadline: float, stats: Stats, *, save: bool,
                        fixtures: Path, log: Callable[[str], None], minimize_budget: float = 30.0) -> None:
    """``count`` hypothesis-generated inputs; a failure is shrunk by hypothesis and kept."""
    if target.strategy is None or count <= 0:
        return
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed

    last: dict = {}

    @hseed(seed)
    @settings(max_examples=count, database=None, deadline=None, suppress_health_check=list(HealthCheck),
              phases=(Phase.generate, Phase.shrink), report_multiple_bugs=False)
    @given(target.strategy())
    def prop(data):
        if time.monotonic() > deadline:
            return
        out = run_case(target, data)
        stats.add(out, "hypothesis")
        if out.kind in ("bug", "hang"):
            last["case"] = (data, out)
            raise AssertionError(out.detail)

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # hypothesis warns about the repr of large inputs
            prop()
    except AssertionError:
        data, out = last["case"]  # hypothesis replays the shrunk example last
        report_failure(target, stats, data, out, "hypothesis", save=save, fixtures=fixtures, log=log,
                       minimize_budget=minimize_budget)
