"""Where Slakh Studio finds its files: bundled resources, patch banks, SoundFonts, user folders."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import platformdirs

APP_NAME = "slakh-studio"


def repo_root() -> Path:
    """The folder holding ``resources/`` and ``patches/`` (the source tree, or a frozen bundle)."""
    if getattr(sys, "frozen", False):  # PyInstaller
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return Path(__file__).resolve().parent.parent


def resources_dir() -> Path:
    return repo_root() / "resources"


def patches_dir() -> Path:
    return Path(os.environ.get("SLAKH_STUDIO_PATCHES", repo_root() / "patches"))


def demo_song() -> Path:
    return resources_dir() / "demo_song.mid"


def default_bank() -> Path:
    return patches_dir() / "default.yaml"


def flakh_bank() -> Path:
    return patches_dir() / "flakh.yaml"


def mode_bank(flakh: bool) -> Path:
    """The bank used when none is named: Flakh's for Flakh mode, else the default bank."""
    return flakh_bank() if flakh else default_bank()


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def render_cache_dir() -> Path:
    """A fresh folder for this process's render cache (stems kept between renders, memory-mapped), in the user's
    cache folder rather than /tmp (which may be RAM); folders left by processes that died are removed first.
    ``$SLAKH_STUDIO_CACHE_DIR`` moves it."""
    root = Path(os.environ.get("SLAKH_STUDIO_CACHE_DIR") or platformdirs.user_cache_dir(APP_NAME, appauthor=False))
    root = root / "render-cache"
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob("pid-*"):
        pid = old.name.split("-")[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"pid-{os.getpid()}-", dir=root))


def soundfont_search_path(extra: list[str | Path] | None = None) -> list[Path]:
    """Folders searched for SoundFont files, first hit wins (see docs/bank-format.md)."""
    folders: list[Path] = [Path(p) for p in extra or []]
    env = os.environ.get("SLAKH_STUDIO_SOUNDFONTS", "")
    folders += [Path(p) for p in env.split(os.pathsep) if p]
    folders += [
        patches_dir() / "soundfonts",
        user_data_dir() / "soundfonts",
        Path("/usr/share/sounds/sf2"),
        Path("/usr/share/sounds/sf3"),
        Path("/usr/share/soundfonts"),
    ]
    seen: set[Path] = set()
    unique = []
    for f in folders:
        if f not in seen:
            seen.add(f)
            unique.append(f)
    return unique
