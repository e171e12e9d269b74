#!/usr/bin/env bash
# Slakh Studio's checks. Sets everything up on first use (scripts/setup.sh), then runs, from the repo root:
#   .venv/bin/ruff check .
#   .venv/bin/python -m pytest ARGS...   (defaults from pyproject.toml; extra ARGS are passed through,
#                                         e.g. ./test.sh -x tests/core -k render)
# Both always run; exits non-zero if either fails. pytest collecting no tests (exit 5) counts as a failure.
# With no ARGS (what CI runs), it then builds the packaged app and runs its --smoke (packaging/build.sh);
# SLAKH_SKIP_BUNDLE=1 skips that step. `make help`-style single steps: see the Makefile.
# (ruff runs first so that pytest's summary is the last line printed on success.)
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$ROOT" || exit 1
scripts/setup.sh || exit $?

echo "test.sh: ruff check ."
.venv/bin/ruff check .
lint_rc=$?

export QT_QPA_PLATFORM=offscreen # Qt tests never need a display
.venv/bin/python -m pytest "$@"
tests_rc=$?

if [[ $tests_rc -ne 0 || $lint_rc -ne 0 ]]; then
    [[ $tests_rc -eq 5 ]] && echo "test.sh: pytest collected no tests (exit 5): counted as a failure" >&2
    echo "test.sh: FAILED (ruff exit $lint_rc, pytest exit $tests_rc)" >&2
    [[ $tests_rc -ne 0 ]] && exit "$tests_rc"
    exit "$lint_rc"
fi

if [[ $# -eq 0 && ${SLAKH_SKIP_BUNDLE:-} != 1 ]]; then
    echo "test.sh: packaging/build.sh (bundle + --smoke)"
    packaging/build.sh || {
        rc=$?
        echo "test.sh: FAILED (bundle build or its --smoke, exit $rc)" >&2
        exit "$rc"
    }
fi
echo "test.sh: all passed"
