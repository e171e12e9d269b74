"""SoundFont files and their presets: where they are, what they hold, which GM family a preset probably is.

:func:`list_presets` asks FluidSynth itself (its preset iteration, the SoundFont loaded with
``synth.dynamic-sample-loading`` so no sample data is read) and keeps the answer in a small JSON cache keyed by the
file's resolved path, size and modification time, so a second listing does not load the file at all. The cache lives
in the user cache folder (``platformdirs.user_cache_dir("slakh-studio")``) or in ``$SLAKH_STUDIO_CACHE``.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs

from slakh_gui import paths
from slakh_gui.core.constants import SAMPLE_RATE
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.midi import gm

CACHE_FORMAT = "slakh-studio-presets/1"
CACHE_FILE = "soundfont-presets.json"
SOUNDFONT_SUFFIXES = (".sf2", ".sf3")

# How many times a SoundFont was really loaded by list_presets (tests use it to see the cache work).
load_count = 0
_lock = threading.Lock()


class SoundFontError(SlakhError, RuntimeError):
    """FluidSynth cannot read a SoundFont file."""


@dataclass(frozen=True)
class Preset:
    """One preset of a SoundFont (bank 128 = FluidSynth's percussion bank)."""

    soundfont: Path
    bank: int
    preset: int
    name: str
    is_drum_bank: bool

    @property
    def family(self) -> str:
        return guess_family(self.bank, self.preset, self.is_drum_bank, self.name)


def cache_dir() -> Path:
    """Where the preset cache is kept (``$SLAKH_STUDIO_CACHE`` or the user cache folder)."""
    env = os.environ.get("SLAKH_STUDIO_CACHE")
    return Path(env) if env else Path(platformdirs.user_cache_dir(paths.APP_NAME, appauthor=False))


def _read_cache() -> dict:
    try:
        data = json.loads((cache_dir() / CACHE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or not isinstance(data.get("fonts"), dict):
        return {}
    return data["fonts"]


def _write_cache(fonts: dict) -> None:
    from slakh_gui.core.audio_io import atomic_write_text

    folder = cache_dir()
    with contextlib.suppress(OSError):  # a read-only cache folder only costs speed
        folder.mkdir(parents=True, exist_ok=True)
        atomic_write_text(folder / CACHE_FILE, json.dumps({"format": CACHE_FORMAT, "fonts": fonts}, indent=1))


def _load_presets(path: Path) -> list[tuple[int, int, str]]:
    """(bank, preset, name) of every preset, by FluidSynth's own iteration (no samples are loaded)."""
    global load_count
    from slakh_gui.core.render import fluid

    api = fluid.api()
    with fluid.sample_lock:
        synth = api.fs.Synth(gain=0.2, samplerate=float(SAMPLE_RATE), **{
            "synth.dynamic-sample-loading": 1, "synth.reverb.active": 0, "synth.chorus.active": 0})
    try:
        with fluid.sample_lock:
            sfid = synth.sfload(str(path))
        if sfid < 0:
            raise SoundFontError(f"FluidSynth cannot load SoundFont {path}")
        with _lock:
            load_count += 1
        sfont = api.get_sfont_by_id(synth.synth, sfid)
        if not sfont:
            raise SoundFontError(f"FluidSynth lost SoundFont {path}")
        api.sfont_iteration_start(sfont)
        found = []
        while True:
            preset = api.sfont_iteration_next(sfont)
            if not preset:
                break
            raw = api.preset_get_name(preset) or b""
            found.append((int(api.preset_get_banknum(preset)), int(api.preset_get_num(preset)),
                          raw.decode("latin-1").strip()))
    finally:
        with fluid.sample_lock:
            synth.delete()
    found.sort()
    return found


def list_presets(path: str | Path, *, use_cache: bool = True) -> list[Preset]:
    """Every preset of one SoundFont, sorted by (bank, preset); cached by (path, size, mtime)."""
    given = Path(path).expanduser()
    try:
        real = given.resolve(strict=True)
        st = real.stat()
    except OSError as exc:
        raise FileNotFoundError(f"SoundFont {given} not found") from exc
    if not real.is_file():
        raise SoundFontError(f"{given} is not a file")
    key = str(real)
    stamp = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    cached = _read_cache() if use_cache else {}
    entry = cached.get(key)
    if isinstance(entry, dict) and entry.get("size") == stamp["size"] and entry.get("mtime_ns") == stamp["mtime_ns"]:
        rows = entry.get("presets", [])
    else:
        rows = [list(r) for r in _load_presets(real)]
        if use_cache:
            cached = _read_cache()  # re-read: another listing may have added fonts meanwhile
            cached[key] = {**stamp, "presets": rows}
            _write_cache(cached)
    return [Preset(given, int(b), int(p), str(n), int(b) == 128) for b, p, n in rows]


def has_preset(path: str | Path, bank: int, preset: int) -> bool:
    return any(p.bank == bank and p.preset == preset for p in list_presets(path))


def find_soundfonts(extra_dirs: list[str | Path] | None = None) -> list[Path]:
    """SoundFont files (.sf2, .sf3) on the search path, symlinks resolved, each file once (first folder wins)."""
    seen: set[Path] = set()
    found: list[Path] = []
    for folder in paths.soundfont_search_path(extra_dirs):
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            continue
        for entry in entries:
            if entry.suffix.lower() not in SOUNDFONT_SUFFIXES:
                continue
            try:
                real = entry.resolve(strict=True)
            except OSError:  # a dangling link
                continue
            if real.is_file() and real not in seen:
                seen.add(real)
                found.append(real)
    return found


def guess_family(bank: int, preset: int, is_drum_bank: bool, name: str = "") -> str:
    """The GM family (Slakh ``inst_class``) a preset probably plays: Drums for the percussion bank (or a preset
    named a kit), else the GM family of its program number."""
    if is_drum_bank or bank == 128:
        return gm.family(gm.DRUMS)
    if _KIT_NAME.search(name):  # drum-only SoundFonts often keep their kit at bank 0 (the AVL "…_4pc" kits)
        return gm.family(gm.DRUMS)
    return gm.family(preset % 128)


_KIT_NAME = re.compile(r"(?i)(\bkit\b|drum ?set|drumkit|\b\d+ ?pc\b|_\d+pc\b)")


def preset_dict(p: Preset) -> dict:
    d = asdict(p)
    d["soundfont"] = str(p.soundfont)
    d["family"] = p.family
    return d
