#!/usr/bin/env bash
# Slakh Studio set-up: Debian packages, the .venv, the Python packages. run.sh and test.sh call it first.
#
# Idempotent and non-interactive: when everything is in place it prints nothing and takes about a second.
#   (a) apt: installs whichever packages of scripts/apt-packages.txt are missing (as root, or via `sudo -n`;
#       otherwise it prints the command to run as root and exits 1).
#   (b) Python: `python3` (or $PYTHON), >= 3.10; creates .venv in the repo root if missing or broken.
#   (c) pip: `pip install -r requirements-dev.txt` (which pulls in requirements.txt via -r),
#       `pip install --no-deps -r requirements-nodeps.txt` (openunmix, demucs: their declared dependencies would
#       replace torch) and `pip install -e . --no-deps`; skipped while .venv/.stamp matches a hash of the requirement files
#       and pyproject.toml.
#
# pip uses --only-binary=:all: so a fresh machine needs no compiler: every pinned package and every
# dependency has a wheel on PyPI for CPython 3.10+ on x86_64/aarch64 Linux. If a future pin is a pure-Python
# package published only as an sdist, add a line `--no-binary NAME` to the requirements file that pins it:
# that lets pip build just that package from source (pure Python builds need no gcc).
#
# Environment:
#   PYTHON=/path/to/python3.X   the interpreter to build .venv from (default: python3)
#   SLAKH_SKIP_APT=1            skip the Debian package check (you installed the equivalents yourself)
#   SLAKH_FORCE_PIP=1           re-run the pip step even if the stamp matches
#   SLAKH_EXTRA_APT="pkg ..."   Debian packages to install on top of scripts/apt-packages.txt
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
STAMP="$VENV/.stamp"
PKG_FILE="$ROOT/scripts/apt-packages.txt"
PY="${PYTHON:-python3}"
MIN_PY=(3 10)
# Bump when the pip command line below changes, so existing stamps are invalidated.
PIP_STEP_REV=3

say() { printf 'setup: %s\n' "$*" >&2; }
die() {
    printf 'setup: error: %s\n' "$*" >&2
    exit 1
}

cd "$ROOT"

# One set-up at a time per checkout (run.sh and test.sh started together must not race on .venv).
if command -v flock >/dev/null 2>&1; then
    lock="${TMPDIR:-/tmp}/slakh-studio-setup-$(id -u)-$(printf '%s' "$ROOT" | cksum | cut -d' ' -f1).lock"
    if (: >>"$lock") 2>/dev/null; then
        exec 9>>"$lock"
        flock 9 || true
    fi
fi

# ---------------------------------------------------------------------------------------------------------
# (a) Debian packages
# ---------------------------------------------------------------------------------------------------------
read_packages() { sed -e 's/#.*//' "$PKG_FILE" | tr -s ' \t' '\n' | sed '/^$/d'; }

# Prints the packages of "$@" that are not installed, one per line.
missing_packages() {
    local installed
    # One dpkg-query for all names (unknown names are simply absent from its output).
    installed="$(dpkg-query -W -f='${Package} ${Status}\n' "$@" 2>/dev/null |
        awk '$NF == "installed" && $(NF-1) == "ok" { print $1 }' || true)"
    local p
    for p in "$@"; do
        grep -qxF -- "$p" <<<"$installed" || printf '%s\n' "$p"
    done
}

# apt_install PKG...: apt-get update + install, as root or via sudo -n; exits 1 with instructions otherwise.
apt_install() {
    local -a as_root
    local cmd="apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $*"
    if [[ $EUID -eq 0 ]]; then
        as_root=()
    elif command -v sudo >/dev/null 2>&1 && sudo -n true >/dev/null 2>&1; then
        as_root=(sudo -n)
    else
        {
            printf 'setup: error: these Debian packages are missing and this user cannot install them\n'
            printf '       (not root, and no password-less sudo):\n\n'
            printf '         %s\n' "$*" | fold -s -w 100 | sed -e 's/ *$//' -e '2,$s/^/         /'
            printf '\n       Run this as root (e.g. with sudo), then re-run this command:\n\n'
            printf '         %s\n\n' "$cmd"
        } >&2
        exit 1
    fi
    local log
    log="$(mktemp "${TMPDIR:-/tmp}/slakh-setup-apt.XXXXXX")"
    say "installing $# Debian package(s): $*"
    if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q >"$log" 2>&1; then
        tail -n 30 "$log" >&2
        die "apt-get update failed (full log: $log). Fix the apt sources/network and re-run, or run: $cmd"
    fi
    if ! "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -q --no-install-recommends "$@" >>"$log" 2>&1; then
        tail -n 40 "$log" >&2
        die "apt-get install failed (full log: $log)"
    fi
    rm -f "$log"
}

if [[ ${SLAKH_SKIP_APT:-} == 1 ]]; then
    :
elif ! command -v dpkg-query >/dev/null 2>&1; then
    say "no dpkg-query: not a Debian-based system. Make sure the equivalents of the packages in"
    say "scripts/apt-packages.txt are installed (Python >= 3.10 with venv, FluidSynth 2, SoundFonts, libsndfile,"
    say "PortAudio, Qt's X11/xcb libraries). Continuing."
else
    [[ -r $PKG_FILE ]] || die "missing $PKG_FILE"
    mapfile -t wanted < <(read_packages)
    # Extra packages a caller needs (packaging/build.sh asks for libpython3.X, which PyInstaller links).
    read -r -a extra <<<"${SLAKH_EXTRA_APT:-}"
    wanted+=("${extra[@]}")
    mapfile -t missing < <(missing_packages "${wanted[@]}")
    if ((${#missing[@]})); then
        apt_install "${missing[@]}"
        mapfile -t still < <(missing_packages "${missing[@]}")
        ((${#still[@]} == 0)) || die "still missing after apt-get install: ${still[*]}"
    fi
fi

# ---------------------------------------------------------------------------------------------------------
# (b) Python and .venv
# ---------------------------------------------------------------------------------------------------------
command -v "$PY" >/dev/null 2>&1 ||
    die "'$PY' not found. Install Python >= ${MIN_PY[0]}.${MIN_PY[1]} (Debian: apt-get install python3 python3-venv) or set PYTHON=/path/to/python3.X"
if ! "$PY" -c "import sys; sys.exit(0 if sys.version_info >= (${MIN_PY[0]}, ${MIN_PY[1]}) else 1)" 2>/dev/null; then
    die "Slakh Studio needs Python >= ${MIN_PY[0]}.${MIN_PY[1]}, but '$PY' is $("$PY" -V 2>&1 || echo '?')." \
        "Install a newer Python and re-run with PYTHON=/path/to/python3.X"
fi

venv_ok() {
    [[ -x $VENV/bin/python ]] &&
        "$VENV/bin/python" -c "import sys, pip; sys.exit(0 if sys.version_info >= (${MIN_PY[0]}, ${MIN_PY[1]}) else 1)" \
            >/dev/null 2>&1
}

make_venv() {
    local out
    rm -rf "$VENV"
    if out="$("$PY" -m venv "$VENV" 2>&1)"; then
        return 0
    fi
    rm -rf "$VENV"
    if grep -qiE 'ensurepip|python3(\.[0-9]+)?-venv|No module named venv' <<<"$out"; then
        # Debian/Ubuntu split venv/ensurepip out of python3 itself.
        local ver
        ver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
        say "'$PY -m venv' needs the venv/ensurepip package; installing it"
        command -v dpkg-query >/dev/null 2>&1 || { printf '%s\n' "$out" >&2; die "'$PY -m venv' failed"; }
        apt_install python3-venv "python$ver-venv"
        out="$("$PY" -m venv "$VENV" 2>&1)" && return 0
        rm -rf "$VENV"
    fi
    printf '%s\n' "$out" >&2
    die "could not create $VENV with '$PY -m venv'"
}

if ! venv_ok; then
    if [[ -e $VENV || -L $VENV ]]; then
        say ".venv is missing its Python or pip (broken or made by a removed Python); re-creating it"
    else
        say "creating .venv with $("$PY" -V 2>&1) ($(command -v "$PY"))"
    fi
    make_venv
    venv_ok || die "$VENV was created but its python/pip does not work"
fi

# ---------------------------------------------------------------------------------------------------------
# (c) Python packages
# ---------------------------------------------------------------------------------------------------------
if [[ -f requirements-dev.txt ]]; then
    REQ=requirements-dev.txt
elif [[ -f requirements.txt ]]; then
    REQ=requirements.txt
else
    REQ=
fi

current_hash() {
    {
        echo "pip-step-rev $PIP_STEP_REV"
        "$VENV/bin/python" -VV
        local f
        for f in requirements*.txt pyproject.toml setup.cfg setup.py; do
            [[ -f $f ]] || continue
            echo "== $f"
            cat "$f"
        done
    } | sha256sum | cut -d' ' -f1
}

want="$(current_hash)"
have="$(cat "$STAMP" 2>/dev/null || true)"
entry_ok=1
[[ -f pyproject.toml && ! -x $VENV/bin/slakh-studio ]] && entry_ok=0
if [[ $want == "$have" && $entry_ok == 1 && ${SLAKH_FORCE_PIP:-} != 1 ]]; then
    exit 0
fi

PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input)
log="$VENV/.setup-pip.log"
: >"$log"
run_pip() {
    if ! "${PIP[@]}" install -q "$@" >>"$log" 2>&1; then
        grep -v -E "^WARNING: Location '.*' is ignored" "$log" | tail -n 60 >&2
        rm -f "$STAMP"
        die "pip install $* failed (full log: $log)"
    fi
}

# PyTorch: PyPI's Linux x86_64 wheel of torch is the CUDA build (several GB with its nvidia-* packages). Take the
# CPU build from PyTorch's own index first when it can be reached (a GPU user sets SLAKH_TORCH_INDEX= to skip
# this and get PyPI's CUDA build); pip's find-links (a local wheel) still apply. On failure, the requirements
# install below takes torch from wherever pip is configured to look.
TORCH_PIN="$(grep -hoE '^torch==[^ #]+' requirements*.txt 2>/dev/null | head -n 1 || true)"
TORCH_INDEX="${SLAKH_TORCH_INDEX-https://download.pytorch.org/whl/cpu}"
if [[ -n $TORCH_PIN && -n $TORCH_INDEX && $(uname -m) == x86_64 ]] &&
    ! "$VENV/bin/python" -c "import sys, importlib.metadata as m; sys.exit(m.version('torch').split('+')[0] != '${TORCH_PIN#torch==}')" 2>/dev/null; then
    say "installing $TORCH_PIN (CPU build) from $TORCH_INDEX"
    "${PIP[@]}" install -q --only-binary=:all: --timeout 20 --retries 1 --index-url "$TORCH_INDEX" "$TORCH_PIN" \
        >>"$log" 2>&1 || say "could not get $TORCH_PIN from $TORCH_INDEX; pip will take it from its usual index"
fi

if [[ -n $REQ ]]; then
    if [[ -n $have ]]; then
        say "requirements or pyproject.toml changed: updating .venv from $REQ"
    else
        say "installing Python packages from $REQ into .venv (first run: a few minutes)"
    fi
    run_pip --only-binary=:all: -r "$REQ"
else
    say "note: no requirements-dev.txt or requirements.txt yet; skipping the dependency install"
fi
if [[ -f requirements-nodeps.txt ]]; then
    run_pip --only-binary=:all: --no-deps -r requirements-nodeps.txt
fi
if [[ -f pyproject.toml ]]; then
    run_pip --no-deps -e .
else
    say "note: no pyproject.toml yet; skipping 'pip install -e .'"
fi
printf '%s\n' "$want" >"$STAMP"
say "Python environment ready: $VENV"
