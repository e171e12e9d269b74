#!/usr/bin/env bash
# Build the Slakh Studio bundle (PyInstaller, onedir) into dist/slakh-studio/, then run its smoke test.
#   packaging/build.sh [--no-smoke]
# Set-up (apt packages, .venv) is scripts/setup.sh's; this adds PyInstaller from requirements-build.txt.
# Output: dist/slakh-studio/slakh-studio (run it: `dist/slakh-studio/slakh-studio gui`), plus
# dist/slakh-studio/share/applications/slakh-studio.desktop and the icon, for a desktop menu entry.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
scripts/setup.sh
# PyInstaller embeds the Python shared library; Debian's python3 ships it in a separate package (libpython3.X).
pyver="$(.venv/bin/python -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
libdir="$(.venv/bin/python -c 'import sysconfig; print(sysconfig.get_config_var("LIBDIR") or "")')"
if ! compgen -G "$libdir/libpython$pyver.so*" >/dev/null && ! ldconfig -p 2>/dev/null | grep -q "libpython$pyver\.so"; then
    SLAKH_EXTRA_APT="libpython$pyver" scripts/setup.sh
fi
.venv/bin/python -m pip install -q --disable-pip-version-check --no-input --only-binary=:all: \
    -r requirements-build.txt 2>&1 | grep -v "is ignored" || true
start=$(date +%s)
rm -rf build/pyinstaller dist/slakh-studio
.venv/bin/pyinstaller --noconfirm --log-level WARN --workpath build/pyinstaller --distpath dist \
    packaging/slakh-studio.spec
share=dist/slakh-studio/share
mkdir -p "$share/applications" "$share/icons/hicolor/256x256/apps"
cp packaging/slakh-studio.desktop "$share/applications/"
cp packaging/slakh-studio.png "$share/icons/hicolor/256x256/apps/"
end=$(date +%s)
echo "build.sh: built dist/slakh-studio in $((end - start)) s, $(du -sh dist/slakh-studio | cut -f1)"
if [[ ${1:-} != --no-smoke ]]; then
    env -u DISPLAY -u WAYLAND_DISPLAY dist/slakh-studio/slakh-studio --smoke "${SMOKE_DIR:-build/smoke}"
fi
