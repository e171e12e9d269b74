"""The fuzz smoke: a bounded campaign (a few hundred inputs, seeded, well under 30 s) over every parser of outside
input. The full campaign is ``fuzz/run.py`` (see its docstring); both use the same targets and oracle."""

from __future__ import annotations

import time

import pytest

from fuzz import engine
from fuzz.targets import TARGETS

SEED = 9
# (mutants of real files, hypothesis-generated inputs) per target
COUNTS = {"midi": (45, 25), "bank": (50, 30), "assignment": (20, 10), "session": (60, 30), "recipe": (25, 15),
          "track_folder": (25, 10), "audio": (40, 20)}
# failures in code this suite may not change (tests/fuzz/test_regressions.py KNOWN_GAPS): the signature it may show
KNOWN_GAP_SIGNATURES = {"audio": {"MemoryError@separation.py:_read_input"}}


@pytest.mark.parametrize("name", list(COUNTS))
def test_fuzz_smoke(name, tmp_path):
    target = TARGETS[name]
    n_mut, n_hyp = COUNTS[name]
    stats = engine.Stats(name)
    deadline = time.monotonic() + 60
    log: list[str] = []
    engine.mutation_campaign(target, n_mut, SEED, deadline, stats, save=False, fixtures=tmp_path, log=log.append)
    engine.hypothesis_campaign(target, n_hyp, SEED, deadline, stats, save=False, fixtures=tmp_path, log=log.append)
    assert stats.tried >= n_mut + min(n_hyp, 5), stats.line()  # the budget was not hit: every input ran
    assert stats.ok + stats.clear + len(stats.failures) <= stats.tried
    assert stats.ok >= 1 and stats.clear >= 1, stats.line()  # the seeds parse, and mutants reach the error paths
    allowed = KNOWN_GAP_SIGNATURES.get(name, set())
    unexpected = [f for f in stats.failures if not any(sig.split("@")[0] in f[1] for sig in allowed)]
    assert not unexpected, "\n".join(f"{k}: {d}" for k, d, _ in unexpected) + "\n" + "\n".join(log)
    assert stats.slowest[0] < engine.HANG_SECONDS, stats.slowest


def test_the_oracle_catches_a_crash_and_a_hang(tmp_path):
    """The oracle itself: an unexpected exception is a bug, a clear error is not, a slow parser is a hang."""
    import dataclasses

    def crash(data, work):
        raise KeyError("x")

    def slow(data, work):
        time.sleep(5)

    def clear(data, work):
        raise ValueError(f"{work}/fuzz-input.bin: bad")

    base = dataclasses.replace(TARGETS["bank"], clear=(ValueError,))
    assert engine.run_case(dataclasses.replace(base, check=crash), b"").kind == "bug"
    assert engine.run_case(dataclasses.replace(base, check=clear), b"").kind == "clear"
    assert engine.run_case(dataclasses.replace(base, check=slow), b"", limit=0.2).kind == "hang"
    out = engine.run_case(dataclasses.replace(base, check=lambda d, w: (_ for _ in ()).throw(ValueError("a\nb"))), b"")
    assert out.kind == "bug" and "one short line" in out.detail


def test_minimize_and_save(tmp_path):
    """A failing input is shrunk to what still fails and written where the regression test replays it."""
    import dataclasses

    def check(data, work):
        if b"BOOM" in data:
            raise KeyError("boom")

    target = dataclasses.replace(TARGETS["bank"], check=check, name="demo")
    small = engine.minimize(target, b"x" * 300 + b"BOOM" + b"y" * 300, "KeyError@" + "test_fuzz_smoke.py:check",
                            budget=20)
    assert small == b"BOOM"
    path = engine.save_fixture(target, small, "seed:x", "bug", tmp_path)
    assert path.parent == tmp_path / "demo" and path.read_bytes() == b"BOOM"
