"""Where Slakh Studio finds its files: bundled resources, patch banks, SoundFonts, user folders.

The shipped data (``resources/``, ``patches/``) is read from the top-level folders of a checkout (plain or editable
install) or of a frozen bundle (PyInstaller, ``packaging/``), and from inside the package when installed from a wheel
(``slakh_gui/_resources``, ``slakh_gui/_patches``, copied there by ``setup.py``'s build hook)."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import sys
import tempfile
from importlib.resources import as_file, files
from pathlib import Path

import platformdirs

APP_NAME = "slakh-studio"


_PACKAGE = Path(__file__).resolve().parent
_EXTRACTED = contextlib.ExitStack()  # package data extracted from a zipped install, kept until exit
atexit.register(_EXTRACTED.close)


def repo_root() -> Path:
    """The folder holding ``resources/`` and ``patches/`` in a checkout or a frozen bundle (for an installed wheel,
    the folder holding the package: the data is inside the package there, see :func:`resources_dir`)."""
    if getattr(sys, "frozen", False):  # PyInstaller
        return Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent))
    return _PACKAGE.parent


def _in_checkout() -> bool:
    """True when this package runs from the source tree (plain or editable), which has the data folders."""
    root = _PACKAGE.parent
    return (root / "pyproject.toml").is_file() and (root / "resources").is_dir()


def _package_data(name: str) -> Path:
    """``slakh_gui/<name>``, the data a wheel carries (setup.py copies it in at build time), as a real folder."""
    folder = files("slakh_gui").joinpath(name)
    if isinstance(folder, Path):
        return folder
    # a zipped package (Python 3.12+ extracts folders): extracted once per process
    return Path(_EXTRACTED.enter_context(as_file(folder)))


def _shipped(name: str) -> Path:
    """The shipped folder ``name`` (``resources`` or ``patches``): the frozen bundle's or the checkout's top-level
    one, else the installed package's copy (``slakh_gui/_resources``, ``slakh_gui/_patches``)."""
    if getattr(sys, "frozen", False) or _in_checkout():
        return repo_root() / name
    return _package_data(f"_{name}")


def resources_dir() -> Path:
    """Demo song, audition phrases, submix recipes and shipped models."""
    return _shipped("resources")


def patches_dir() -> Path:
    """The shipped patch banks (``$SLAKH_STUDIO_PATCHES`` moves them)."""
    env = os.environ.get("SLAKH_STUDIO_PATCHES")
    return Path(env) if env else _shipped("patches")


def is_installed_data(path: str | Path) -> bool:
    """True for a file inside the installed app (a wheel's package data or a frozen bundle): the user's edits never
    go there (an upgrade would replace them). A checkout's ``patches/`` is the source tree and does not count."""
    if not getattr(sys, "frozen", False) and _in_checkout():
        return False
    root = repo_root() if getattr(sys, "frozen", False) else _PACKAGE
    return Path(path).resolve().is_relative_to(root.resolve())


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


def user_banks_dir() -> Path:
    """Where the app offers to save banks the user edited (a shipped bank of an installed app is read-only)."""
    return user_data_dir() / "banks"


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
