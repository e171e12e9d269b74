"""The wheel is the app: built from an sdist of this checkout, installed into a fresh venv, ``slakh-studio demo``
renders the demo song with the default bank from the package's own data (not the checkout's folders).

The fresh venv gets the project's dependencies (torch, PySide6, ... too big to install per test) through a ``.pth``
file naming a folder of links to this interpreter's site-packages entries, less the project's own (its editable
install) and, for the check without PyTorch, torch's; each check asserts where ``slakh_gui`` came from.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from slakh_gui import paths
from tests.conftest import REPO

RESOURCES = ["demo_song.mid", "phrases/bass.mid", "phrases/chords.mid", "phrases/drums.mid", "phrases/melody.mid",
             "submixes/band.yaml", "models/bass.pt", "models/drums.pt", "models/guitar.pt", "models/piano.pt",
             "models/bass.md", "models/evaluation.md"]
BANKS = ["default.yaml", "flakh.yaml"]
TORCH = ("torch", "functorch", "torchgen")  # top-level names of the torch wheel
PROBE = """import importlib.util, json, slakh_gui, slakh_gui.paths as p
from slakh_gui.core.dataset.recipes import shipped_recipes
print(json.dumps({"module": slakh_gui.__file__, "resources": str(p.resources_dir()), "patches": str(p.patches_dir()),
                  "recipes": shipped_recipes(),
                  "demo": str(p.demo_song()), "bank": str(p.default_bank()),
                  "installed": p.is_installed_data(p.default_bank()),
                  "torch": importlib.util.find_spec("torch") is not None}))"""


def _run(cmd: list, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "DISPLAY", "WAYLAND_DISPLAY")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd}: exit {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    return proc


def _probe(python: Path, cwd: Path) -> dict:
    return json.loads(_run([python, "-c", PROBE], cwd).stdout)


def _dependencies(where: Path, without: tuple[str, ...] = ()) -> Path:
    """A folder of links to this interpreter's site-packages entries, less the project's own and ``without``."""
    where.mkdir()
    skip = ("slakh_studio", "slakh_gui", "__editable__", *without)
    for site in dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib")):
        for entry in Path(site).iterdir():
            name = entry.name.lower()
            if not name.startswith(skip) and not (where / entry.name).exists():
                (where / entry.name).symlink_to(entry)
    return where


def _fresh_venv(where: Path, deps: Path) -> Path:
    """A venv without pip whose only view of the project's dependencies is a .pth file naming ``deps``."""
    _run([sys.executable, "-m", "venv", "--without-pip", where], where.parent)
    python = where / "bin" / "python"
    site = Path(_run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"], where).stdout.strip())
    (site / "_slakh_test_deps.pth").write_text(f"{deps}\n")
    return python


def _pip_install(python: Path, *args) -> None:
    _run([sys.executable, "-m", "pip", "--python", python, "install", "-q", "--no-deps", "--no-index",
          "--no-build-isolation", "--disable-pip-version-check", *args], python.parent)


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A copy of the checkout's files (tracked, plus new ones git does not ignore): builds never touch the checkout."""
    if not (REPO / ".git").exists() or shutil.which("git") is None:
        pytest.skip("needs a git checkout")
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                            capture_output=True, check=True).stdout.decode().split("\0")
    src = tmp_path_factory.mktemp("src")
    for rel in filter(None, listed):
        if (REPO / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / rel, src / rel)
    return src


def test_checkout_reads_the_top_level_folders():
    assert paths.resources_dir() == REPO / "resources" and paths.patches_dir() == REPO / "patches"
    assert not paths.is_installed_data(paths.default_bank())  # the source tree's banks are edited in place
    assert not (REPO / "slakh_gui" / "_resources").exists() and not (REPO / "slakh_gui" / "_patches").exists()


def test_wheel_from_sdist_installs_and_renders_the_demo(source, tmp_path):
    build = _run([sys.executable, "-c", "import setuptools.build_meta as b, sys; print(b.build_sdist(sys.argv[1]))",
                  tmp_path / "sdist"], source)
    sdist = tmp_path / "sdist" / build.stdout.strip().splitlines()[-1]
    with tarfile.open(sdist) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    assert {"setup.py", "MANIFEST.in", "resources/make_demo_song.py"} <= names
    assert {f"resources/{r}" for r in RESOURCES} | {f"patches/{b}" for b in BANKS} <= names

    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-index", "--no-build-isolation",
          "--disable-pip-version-check", "-w", tmp_path / "wheels", sdist], tmp_path)
    (wheel,) = (tmp_path / "wheels").glob("slakh_studio-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        inside = set(zf.namelist())
    assert {f"slakh_gui/_resources/{r}" for r in RESOURCES} | {f"slakh_gui/_patches/{b}" for b in BANKS} <= inside
    assert not [n for n in inside if n.startswith(("slakh_gui/_resources/", "slakh_gui/_patches/"))
                and n.endswith(".py")]  # the scripts that make the data stay in the repository
    assert not [n for n in inside if n.startswith(("resources/", "patches/", "tests/"))]

    # PyTorch is an extra: without it the app renders and its window works, and separation says what is missing
    python = _fresh_venv(tmp_path / "venv", _dependencies(tmp_path / "deps-no-torch", TORCH))
    _pip_install(python, wheel)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    where = _probe(python, elsewhere)
    site = (tmp_path / "venv").resolve()
    for key in ("module", "resources", "patches", "demo", "bank"):
        assert Path(where[key]).resolve().is_relative_to(site), (key, where[key])
    assert Path(where["demo"]).is_file() and where["installed"] is True and where["torch"] is False
    assert "band" in where["recipes"]  # the submix recipes travel too

    app = tmp_path / "venv" / "bin" / "slakh-studio"
    _run([app, "demo", "-o", elsewhere / "demo"], elsewhere)
    track = elsewhere / "demo" / "Track00001"
    assert (track / "mix.flac").stat().st_size > 10_000 and (track / "all_src.mid").is_file()
    stems = sorted(p.name for p in (track / "stems").glob("*.flac"))
    assert stems == [f"S{i:02d}.flac" for i in range(8)]  # the demo song's eight instruments
    meta = (track / "metadata.yaml").read_text()
    shipped = hashlib.sha256((REPO / "patches" / "default.yaml").read_bytes()).hexdigest()
    assert "bank: default\n" in meta and f"bank_sha256: {shipped}" in meta
    assert list(elsewhere.iterdir()) == [elsewhere / "demo"]  # nothing else written where it ran

    smoke = _run([app, "--smoke", elsewhere / "smoke"], elsewhere, 300)
    assert "smoke test passed: rendered 8 stems + mix" in smoke.stdout
    separate = [app, "separate", "--model", "bass", "-o", elsewhere / "bass.flac", track / "mix.flac"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = subprocess.run(separate, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "separation needs PyTorch" in proc.stderr and "internal error" not in proc.stderr

    # with PyTorch: a shipped separation model, found inside the package
    pth = next(site.glob("lib/python*/site-packages/_slakh_test_deps.pth"))
    pth.write_text(f"{_dependencies(tmp_path / 'deps')}\n")
    assert _probe(python, elsewhere)["torch"] is True
    assert "Bass estimate" in _run(separate, elsewhere).stdout and (elsewhere / "bass.flac").stat().st_size > 10_000


def test_editable_install_copies_nothing_and_reads_the_checkout(source, tmp_path):
    python = _fresh_venv(tmp_path / "venv", _dependencies(tmp_path / "deps"))
    _pip_install(python, "-e", source)
    where = _probe(python, tmp_path)
    assert Path(where["module"]).resolve() == (source / "slakh_gui" / "__init__.py").resolve()
    assert Path(where["resources"]) == source / "resources" and Path(where["patches"]) == source / "patches"
    assert where["installed"] is False
    assert not (source / "slakh_gui" / "_resources").exists() and not (source / "slakh_gui" / "_patches").exists()
