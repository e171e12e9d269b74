#!/usr/bin/env bash
# Slakh Studio. Sets everything up on first use (scripts/setup.sh: Debian packages, .venv, Python packages),
# then runs the app.
#   ./run.sh              the desktop app on the bundled demo song (`slakh-studio gui`); without a display,
#                         the command-line render of the demo song (`slakh-studio demo`)
#   ./run.sh ARGS...      `slakh-studio ARGS...`, e.g. ./run.sh render song.mid -o out/  (./run.sh --help)
# Relative paths in ARGS are relative to the directory you run it from.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$ROOT/scripts/setup.sh"

if [[ $# -eq 0 ]]; then
    if [[ -n ${DISPLAY:-} || -n ${WAYLAND_DISPLAY:-} ]]; then
        set -- gui # the desktop app on the demo song
    else
        echo "run.sh: no display (DISPLAY/WAYLAND_DISPLAY unset): rendering the demo song on the command line." >&2
        echo "run.sh: on a desktop this opens the app; './run.sh gui' under xvfb-run works too." >&2
        set -- demo
    fi
fi

exec "$ROOT/.venv/bin/slakh-studio" "$@"
