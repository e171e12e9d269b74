"""Qt-free helpers of the bank editor (the Patches view): copies of a bank a worker may read, program lists as
text, patch ids for presets, the SoundFont listing and validating a bank that is only in memory.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from slakh_gui.core.bank import bank_edit
from slakh_gui.core.bank.patches import Bank, BankError, PatchClass
from slakh_gui.core.jobs import CancelToken, Progress, ProgressFn
from slakh_gui.core.midi import gm


def snapshot(bank: Bank) -> Bank:
    """A copy a worker thread may read while the UI thread edits the original (patches are immutable)."""
    classes = {n: PatchClass(c.name, c.inst_class, list(c.programs), list(c.patches)) for n, c in bank.classes.items()}
    return Bank(bank.path, bank.name, bank.description, dict(bank.patches), classes, bank.sha256,
                list(bank.soundfont_dirs))


def restore(bank: Bank, copy: Bank) -> None:
    """Give ``bank`` the content of ``copy`` (a :func:`snapshot`), in place; its path stays."""
    fresh = snapshot(copy)
    bank.name, bank.description = fresh.name, fresh.description
    bank.patches, bank.classes, bank.soundfont_dirs = fresh.patches, fresh.classes, fresh.soundfont_dirs


def parse_programs(text: str) -> list[int]:
    """"32-37, 39" -> [32, 33, 34, 35, 36, 37, 39]; "drums" means 128. BankError on bad text."""
    out: list[int] = []
    for part in re.split(r"[,\s]+", text.strip()):
        if not part:
            continue
        if part.lower() in ("drums", "drum"):
            out.append(gm.DRUMS)
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise BankError(f"cannot read programs {text!r}: write them like '32-37, 39' (0-based, 128 = drums)")
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise BankError(f"range {part!r} runs backwards")
        out.extend(range(lo, hi + 1))
    if not out:
        raise BankError("a class covers at least one program")
    return out


def format_programs(programs: list[int]) -> str:
    """[32, 33, 34, 39] -> "32-34, 39"."""
    out: list[str] = []
    run: list[int] = []
    for p in [*sorted(programs), None]:
        if p is not None and run and p == run[-1] + 1:
            run.append(p)
            continue
        if run:
            out.append(f"{run[0]}-{run[-1]}" if len(run) > 2 else ", ".join(map(str, run)))
        run = [p] if p is not None else []
    return ", ".join(out)


def slug(text: str) -> str:
    """Lower-case words joined by ``_`` ("Yamaha Grand Piano" -> "yamaha_grand_piano")."""
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") or "x"


def patch_id_for(preset, taken) -> str:
    """``<sf-short>.<slug>`` for a preset (``fluidr3_gm.yamaha_grand_piano``), made unique against ``taken``."""
    base = f"{slug(Path(preset.soundfont).stem)}.{slug(preset.name or f'b{preset.bank}p{preset.preset}')}"
    pid, n = base, 2
    while pid in taken:
        pid, n = f"{base}_{n}", n + 1
    return pid


def chain_text(effects) -> str:
    """"lowshelf → highshelf" for a chain of ``(type, params)``."""
    return " → ".join(kind for kind, _ in effects)


def effect_key_label(key: str, bank: Bank | None = None) -> str:
    """A finding's key as the editor shows it: "patches/p/effects/0/gain_db" -> "p › effect 1 (gain) › gain_db".

    Effects are numbered from 1, as in the effect editor's list; other keys come back unchanged."""
    parts = key.split("/")
    if len(parts) < 4 or parts[0] != "patches" or parts[2] != "effects" or not parts[3].isdigit():
        return key
    pid, index = parts[1], int(parts[3])
    kind = ""
    if bank is not None and pid in bank.patches and index < len(bank.patches[pid].effects):
        kind = f" ({bank.patches[pid].effects[index][0]})"
    return " › ".join([pid, f"effect {index + 1}{kind}", *parts[4:]])


def enumerate_presets(extra_dirs: list[str], progress: ProgressFn | None = None,
                      cancel: CancelToken | None = None) -> tuple[list, list[str]]:
    """Every preset of every SoundFont on the search path (plus ``extra_dirs``): (presets, problems)."""
    from slakh_gui.core.bank import soundfont

    found, problems = [], []
    fonts = soundfont.find_soundfonts(extra_dirs)
    for i, path in enumerate(fonts):
        if cancel is not None:
            cancel.raise_if_cancelled()
        try:
            found.extend(soundfont.list_presets(path))
        except (OSError, soundfont.SoundFontError) as exc:
            problems.append(f"{path.name}: {exc}")
        if progress is not None:
            progress(Progress("presets", i + 1, len(fonts), path.name))
    return found, problems


def validate_in_memory(bank: Bank, dirs: list[Path], render_check: bool, progress: ProgressFn | None = None,
                       cancel: CancelToken | None = None) -> list:
    """Write ``bank`` to a temporary file (the bytes Save would write) and validate that file: its findings."""
    from slakh_gui.core.bank.bank_validate import validate_bank

    fd, name = tempfile.mkstemp(prefix="slakh-bank-", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(bank_edit.bank_to_yaml(bank))

        def hook(done: int, total: int) -> None:
            if progress is not None:
                progress(Progress("validate", done, total))

        return validate_bank(name, render_check=render_check, soundfont_dirs=dirs, progress=hook, cancel=cancel)
    finally:
        Path(name).unlink(missing_ok=True)
