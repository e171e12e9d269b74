#!/usr/bin/env bash
# Slakh Studio. Sets everything up on first use (scripts/setup.sh: Debian packages, .venv, Python packages),
# then runs the app.
#   ./run.sh              the app's main job on the bundled demo song (`slakh-studio demo`)
#   ./run.sh ARGS...      `slakh-studio ARGS...`, e.g. ./run.sh render song.mid -o out/  (./run.sh --help)
# Relative paths in ARGS are relative to the directory you run it from.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
"$ROOT/scripts/setup.sh"

if [[ $# -eq 0 ]]; then
    set -- demo
fi

# GUI hook: when the demo/main job opens the Qt window, a machine without a display (no X11, no Wayland)
# must use Qt's offscreen platform instead of failing on the xcb plugin. Enable this when the GUI lands:
# if [[ -z ${DISPLAY:-} && -z ${WAYLAND_DISPLAY:-} ]]; then
#     export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
# fi

exec "$ROOT/.venv/bin/slakh-studio" "$@"
