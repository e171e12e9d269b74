"""Where Slakh Studio finds its files: bundled resources, patch banks, SoundFonts, user folders."""

from __future__ import annotations

import os
import sys
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


def user_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


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
