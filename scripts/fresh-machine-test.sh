#!/usr/bin/env bash
# Proves the README's commands on a FRESH minimal Debian 12: builds a `debootstrap --variant=minbase bookworm`
# chroot (no python, no gcc, no sudo, no SoundFonts, no pip config), copies this working tree into it and runs
# ./test.sh there as root, with a clean environment (pip talks to PyPI directly, as a new user's would).
#
# Run as root on a Debian/Ubuntu host (needs debootstrap, installed with apt if missing; ~1.5 GB of disk):
#   sudo scripts/fresh-machine-test.sh                       # new chroot in /tmp/fresh-debian, then ./test.sh
#   sudo scripts/fresh-machine-test.sh --reuse               # same chroot: re-copy the tree, run ./test.sh again
#   sudo scripts/fresh-machine-test.sh --reuse -- ./run.sh   # any command, run in the tree's copy
#   sudo scripts/fresh-machine-test.sh --reuse -- bash -c 'scripts/setup.sh && .venv/bin/python -V'
#   sudo scripts/fresh-machine-test.sh --reuse --shell       # interactive shell in the chroot
# Options:
#   --dir DIR         chroot location (default /tmp/fresh-debian; keep it outside the repo)
#   --reuse           use the existing chroot: re-copy the tree (its .venv is kept: tests the idempotent path)
#   --fresh-venv      with --reuse: also delete the copy's .venv
#   --recreate        delete DIR and build a new chroot
#   --mirror URL      Debian mirror (default: the one this host's apt uses)
#   --no-user-check   skip the check that a non-root user without sudo gets the "run this as root" message
#                     (done once, right after a new chroot is built, before anything is installed)
#   --shell           run an interactive bash instead of a command
#   --no-host-ca      do not add this host's trusted CA certificates to the chroot (by default they are
#                     added as a local CA, so that PyPI is reachable through a TLS-intercepting proxy)
# The tree is copied to DIR/root/slakh-studio: git's tracked and untracked-but-not-ignored files
# (so no .venv, .git, caches or build output), or a tar with those excluded when git is unavailable.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIR=/tmp/fresh-debian
REUSE=0
FRESH_VENV=0
RECREATE=0
USER_CHECK=1
HOST_CA=1
SHELL_MODE=0
MIRROR=
SUITE=bookworm
CMD=()

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; }
short() { # the command, on one line, at most 100 characters
    local c="$*"
    c="${c//$'\n'/ }"
    ((${#c} <= 100)) && printf '%s' "$c" || printf '%s...' "${c:0:97}"
}
log() { printf '\033[1mfresh-machine-test: %s\033[0m\n' "$*" >&2; }
die() {
    printf 'fresh-machine-test: error: %s\n' "$*" >&2
    exit 1
}

while (($#)); do
    case $1 in
    --dir) DIR=${2:?--dir needs a path}; shift 2 ;;
    --reuse) REUSE=1; shift ;;
    --fresh-venv) FRESH_VENV=1; shift ;;
    --recreate) RECREATE=1; shift ;;
    --mirror) MIRROR=${2:?--mirror needs a URL}; shift 2 ;;
    --no-user-check) USER_CHECK=0; shift ;;
    --shell) SHELL_MODE=1; shift ;;
    --no-host-ca) HOST_CA=0; shift ;;
    -h | --help) usage; exit 0 ;;
    --) shift; CMD=("$@"); break ;;
    *) die "unknown option '$1' (see --help)" ;;
    esac
done
((${#CMD[@]})) || CMD=(./test.sh)

[[ $EUID -eq 0 ]] || die "must run as root (debootstrap, chroot and mounts need it): sudo $0 $*"
DIR="$(realpath -m "$DIR")"
[[ $DIR != / && $DIR != "$REPO" && $DIR != "$REPO"/* ]] || die "--dir must be outside the repo and not /"
MARKER="$DIR/.fresh-machine-test-complete"
DEST=/root/slakh-studio

mounted_under() { awk -v d="$DIR" '$2 == d || index($2, d "/") == 1 { print $2 }' /proc/mounts; }

MOUNTS=()
# shellcheck disable=SC2317  # (invoked by the trap)
cleanup() {
    local pid root i
    # End processes still running inside the chroot (e.g. a test's Xvfb), so its mounts can go.
    for pid in /proc/[0-9]*; do
        root="$(readlink "$pid/root" 2>/dev/null || true)"
        if [[ $root == "$DIR" ]]; then
            kill "${pid#/proc/}" 2>/dev/null || true
        fi
    done
    for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do
        umount "${MOUNTS[i]}" 2>/dev/null || umount -l "${MOUNTS[i]}" 2>/dev/null || true
    done
    MOUNTS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM

do_mount() { # do_mount TARGET mount-args...
    local target=$1
    shift
    mkdir -p "$target"
    mount "$@" "$target"
    MOUNTS+=("$target")
    # Never let mounts/unmounts under the chroot propagate to the host's /dev (shared mount peers).
    mount --make-private "$target"
}

# ---------------------------------------------------------------------------------------------------------
# The chroot
# ---------------------------------------------------------------------------------------------------------
host_mirror() { # prints the host's Debian mirror for suite $1 (e.g. bookworm, bookworm-security)
    local suite=$1 f
    shopt -s nullglob
    for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -f $f ]] || continue
        awk -v s="$suite" '$1 == "deb" { i = 2; if ($2 ~ /^\[/) while (i <= NF && $(i-1) !~ /\]$/) i++;
            if ($(i+1) == s) { print $i; exit } }' "$f"
    done
    for f in /etc/apt/sources.list.d/*.sources; do
        awk -v s="$suite" 'BEGIN { RS = ""; FS = "\n" }
            { uris = ""; ok = 0; en = 1
              for (i = 1; i <= NF; i++) {
                if ($i ~ /^URIs:/) { uris = $i; sub(/^URIs:[ \t]*/, "", uris) }
                if ($i ~ /^Suites:/) { n = split(substr($i, 8), a, /[ \t]+/); for (j = 1; j <= n; j++) if (a[j] == s) ok = 1 }
                if ($i ~ /^Enabled:[ \t]*no/) en = 0 }
              if (ok && en && uris != "") { split(uris, u, /[ \t]+/); print u[1]; exit } }' "$f"
    done
    shopt -u nullglob
}

if [[ -e $DIR && $RECREATE == 1 ]]; then
    [[ -z "$(mounted_under)" ]] || die "something is still mounted under $DIR: $(mounted_under | tr '\n' ' ')"
    log "removing $DIR"
    rm -rf --one-file-system "$DIR"
fi

NEW=0
if [[ -f $MARKER ]]; then
    [[ $REUSE == 1 ]] || die "$DIR already holds a chroot: pass --reuse to use it, or --recreate to rebuild it"
else
    [[ ! -e $DIR || -z "$(ls -A "$DIR" 2>/dev/null)" ]] ||
        die "$DIR exists but is not a finished chroot (a failed debootstrap?): use --recreate"
    if ! command -v debootstrap >/dev/null 2>&1; then
        log "installing debootstrap"
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends debootstrap >/dev/null
    fi
    [[ -n $MIRROR ]] || MIRROR="$(host_mirror "$SUITE" | head -n1)"
    [[ -n $MIRROR ]] || MIRROR=http://deb.debian.org/debian
    keyring=()
    [[ -r /usr/share/keyrings/debian-archive-keyring.gpg ]] && keyring=(--keyring=/usr/share/keyrings/debian-archive-keyring.gpg)
    log "debootstrap --variant=minbase $SUITE $DIR $MIRROR"
    t0=$SECONDS
    debootstrap --variant=minbase "${keyring[@]}" "$SUITE" "$DIR" "$MIRROR" >"$DIR.debootstrap.log" 2>&1 ||
        { tail -n 30 "$DIR.debootstrap.log" >&2; die "debootstrap failed (log: $DIR.debootstrap.log)"; }
    security="$(host_mirror "$SUITE-security" | head -n1)"
    [[ -n $security ]] || security=http://deb.debian.org/debian-security
    cat >"$DIR/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $security $SUITE-security main
EOF
    # Harness only (not part of what is tested): packages must not try to start services in a chroot.
    printf '#!/bin/sh\nexit 101\n' >"$DIR/usr/sbin/policy-rc.d"
    chmod +x "$DIR/usr/sbin/policy-rc.d"
    date -u +%FT%TZ >"$MARKER"
    NEW=1
    log "chroot ready in $((SECONDS - t0))s ($(du -sh --one-file-system "$DIR" | cut -f1))"
    for tool in gcc cc python3 sudo pip3; do
        [[ ! -e $DIR/usr/bin/$tool ]] || log "note: the fresh chroot unexpectedly has /usr/bin/$tool"
    done
fi

[[ -z "$(mounted_under)" ]] || die "something is already mounted under $DIR (another run?): $(mounted_under | tr '\n' ' ')"
do_mount "$DIR/proc" -t proc proc
do_mount "$DIR/sys" -t sysfs sysfs
do_mount "$DIR/dev" --bind /dev
do_mount "$DIR/dev/pts" --bind /dev/pts
do_mount "$DIR/dev/shm" -t tmpfs -o mode=1777 shm
cp -L /etc/resolv.conf "$DIR/etc/resolv.conf"
if [[ $HOST_CA == 1 && -s /etc/ssl/certs/ca-certificates.crt ]]; then
    # Harness only: trust what this host trusts (e.g. the CA of a TLS-intercepting proxy on this network)
    # as a "local CA", the way an admin would. ca-certificates, once setup.sh installs it, picks it up.
    mkdir -p "$DIR/usr/local/share/ca-certificates"
    cp /etc/ssl/certs/ca-certificates.crt "$DIR/usr/local/share/ca-certificates/fresh-machine-test-host.crt"
    if [[ -x $DIR/usr/sbin/update-ca-certificates ]]; then
        chroot "$DIR" /usr/sbin/update-ca-certificates >/dev/null 2>&1 || log "warning: update-ca-certificates failed"
    fi
fi

# ---------------------------------------------------------------------------------------------------------
# Copy the working tree
# ---------------------------------------------------------------------------------------------------------
copy_tree() { # copy_tree DEST_IN_CHROOT
    local dest="$DIR$1"
    mkdir -p "$dest"
    if git -C "$REPO" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        (cd "$REPO" && git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' f; do [[ -e $f || -L $f ]] && printf '%s\0' "$f"; done |
            tar --null -T - -cf -) | tar -C "$dest" -xf -
    else
        tar -C "$REPO" --exclude=.git --exclude=.venv --exclude=__pycache__ --exclude=.pytest_cache \
            --exclude=.ruff_cache --exclude='*.egg-info' --exclude=./out --exclude=./build --exclude=./dist \
            -cf - . | tar -C "$dest" -xf -
    fi
}

env_for() { # env_for HOME: a clean environment, as on a new login
    echo env -i "HOME=$1" "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" LANG=C.UTF-8 \
        "TERM=${TERM:-dumb}"
}

if [[ $NEW == 1 && $USER_CHECK == 1 ]]; then
    log "check: a non-root user without sudo gets clear instructions (nothing is installed yet)"
    if ! grep -q '^slakhuser:' "$DIR/etc/passwd"; then
        echo 'slakhuser:x:1500:1500:Slakh test user:/home/slakhuser:/bin/bash' >>"$DIR/etc/passwd"
        echo 'slakhuser:x:1500:' >>"$DIR/etc/group"
        echo 'slakhuser:*:19000:0:99999:7:::' >>"$DIR/etc/shadow"
    fi
    rm -rf "$DIR/home/slakhuser"
    copy_tree /home/slakhuser/slakh-studio
    chown -R 1500:1500 "$DIR/home/slakhuser"
    set +e
    # shellcheck disable=SC2046
    out="$(chroot --userspec=1500:1500 "$DIR" $(env_for /home/slakhuser) \
        bash -c 'cd ~/slakh-studio && scripts/setup.sh' 2>&1)"
    rc=$?
    set -e
    printf '%s\n' "$out" | sed 's/^/    | /' >&2
    if [[ $rc -eq 1 ]] && grep -q 'Run this as root' <<<"$out" && grep -q 'apt-get install' <<<"$out"; then
        log "check passed: exit 1 with the list of missing packages and the command to run as root"
    else
        die "non-root check failed: expected exit 1 and a 'Run this as root' message, got exit $rc"
    fi
    rm -rf "$DIR/home/slakhuser/slakh-studio"
fi

if [[ -d $DIR$DEST ]]; then
    log "re-copying the working tree to $DEST$([[ $FRESH_VENV == 1 ]] && echo ' (and removing its .venv)' || echo ' (keeping its .venv)')"
    find "$DIR$DEST" -mindepth 1 -maxdepth 1 ! -name .venv -exec rm -rf {} +
    [[ $FRESH_VENV == 0 ]] || rm -rf "$DIR$DEST/.venv"
else
    log "copying the working tree to $DEST"
fi
copy_tree "$DEST"

# ---------------------------------------------------------------------------------------------------------
# Run
# ---------------------------------------------------------------------------------------------------------
set +e
t0=$SECONDS
if [[ $SHELL_MODE == 1 ]]; then
    log "interactive shell in $DIR (cwd $DEST); exit to leave"
    # shellcheck disable=SC2046
    chroot "$DIR" $(env_for /root) bash -c "cd $DEST && exec bash -i"
    rc=$?
    CMD=(bash -i)
else
    log "running in the chroot: $(short "${CMD[@]}")"
    # shellcheck disable=SC2046,SC2016
    chroot "$DIR" $(env_for /root) bash -c 'cd "$0" && exec "$@"' "$DEST" "${CMD[@]}"
    rc=$?
fi
set -e
log "'$(short "${CMD[@]}")' exited $rc after $((SECONDS - t0))s"
exit "$rc"
