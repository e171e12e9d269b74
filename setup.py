"""Build hook: the wheel carries the app's data inside the package.

The repository keeps ``resources/`` (demo song, audition phrases, submix recipes, shipped models) and ``patches/``
(the default and Flakh banks) at the top level; they stay the sources. A regular build copies them into the built
package as ``slakh_gui/_resources/`` and ``slakh_gui/_patches/`` (``slakh_gui.paths`` reads them there when the
package is installed). Editable installs copy nothing: a checkout reads the top-level folders. Everything else
(name, dependencies, entry points) is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
DATA = {"resources": "_resources", "patches": "_patches"}  # top-level source -> folder inside slakh_gui/
SKIP_SUFFIXES = {".py", ".pyc"}  # the scripts that regenerate the data stay in the repository
SKIP_DIRS = {"__pycache__", "soundfonts"}  # patches/soundfonts/ holds a user's own SoundFonts, never shipped


def data_files(src: Path) -> list[Path]:
    """The files of ``src`` that ship, relative to it (no scripts, caches or hidden files), sorted."""
    out = []
    for f in sorted(src.rglob("*")):
        rel = f.relative_to(src)
        if (f.is_file() and f.suffix not in SKIP_SUFFIXES and not any(p.startswith(".") for p in rel.parts)
                and not SKIP_DIRS.intersection(rel.parts[:-1])):
            out.append(rel)
    return out


class build_py_with_data(build_py):  # setuptools' command naming
    """``build_py`` that also copies ``resources/`` and ``patches/`` into the built ``slakh_gui`` package."""

    def _data_targets(self) -> list[tuple[Path, Path]]:
        if getattr(self, "editable_mode", False):
            return []
        pkg = Path(self.build_lib) / "slakh_gui"
        pairs = []
        for src_name, dst_name in DATA.items():
            src = ROOT / src_name
            if not src.is_dir():
                raise FileNotFoundError(f"{src} is missing: the package's data is built from it")
            pairs += [(src / rel, pkg / dst_name / rel) for rel in data_files(src)]
        return pairs

    def run(self) -> None:
        super().run()
        for src, dst in self._data_targets():
            dst.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(src, dst)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        return list(super().get_outputs(include_bytecode)) + [str(dst) for _, dst in self._data_targets()]


setup(cmdclass={"build_py": build_py_with_data})
