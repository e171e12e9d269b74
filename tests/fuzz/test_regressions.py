"""Replay every input in tests/data/fuzz-regressions/<target>/: each once crashed or hung a parser (or made it raise
an unclear error); now each must parse or fail with the parser's own one-line error, within the time limit.

Inputs named ``gap-*`` fail in code this suite may not change (see KNOWN_GAPS): they are strict xfails, so the day
the gap is fixed the test says so and the entry must go.
"""

from __future__ import annotations

import pytest

from fuzz import engine
from fuzz.targets import TARGETS

ROOT = engine.REGRESSIONS
KNOWN_GAPS: dict[str, str] = {}  # none left
CASES = sorted(p for d in ROOT.iterdir() if d.is_dir() for p in d.iterdir()) if ROOT.is_dir() else []


def test_regression_corpus_is_there():
    """Every target with fixtures is a known target, and the corpus holds the bugs this work fixed."""
    assert {d.name for d in ROOT.iterdir() if d.is_dir()} <= set(TARGETS)
    assert len(CASES) >= 20
    for gap in KNOWN_GAPS:
        assert (ROOT / gap).exists(), gap
    assert not [p for p in CASES if p.name.startswith("gap-") and f"{p.parent.name}/{p.name}" not in KNOWN_GAPS]


@pytest.mark.parametrize("path", CASES, ids=[f"{p.parent.name}/{p.name}" for p in CASES])
def test_replay(path, request):
    rel = f"{path.parent.name}/{path.name}"
    if rel in KNOWN_GAPS:
        request.applymarker(pytest.mark.xfail(reason=KNOWN_GAPS[rel], strict=True))
    target = TARGETS[path.parent.name]
    out = engine.run_case(target, engine.read_input(path), limit=engine.HANG_SECONDS)
    assert out.kind in ("ok", "clear"), f"{rel}: {out.kind}: {out.detail} at {out.where}"
