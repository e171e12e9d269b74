"""Edit and save patch banks (the engine of the Patches view and ``slakh-studio patches``).

:func:`save_bank` writes the layout of ``docs/bank-format.md`` (and of ``patches/build_banks.py``): block style,
keys in a fixed order, programs and each effect on one line; loading what it wrote gives an equal bank, and saving
that again gives the same bytes. Saving does not validate beyond what a :class:`Bank` already guarantees: a bank with
findings (see :mod:`slakh_gui.core.bank.bank_validate`) can still be saved.

The editing helpers change a :class:`Bank` in place and raise :class:`BankError` with a clear message on bad input
(unknown or duplicate ids, a drum patch in a melodic class, out-of-range numbers, a bad effect).
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path

from slakh_gui.core.bank.effects import make_plugin
from slakh_gui.core.bank.patches import BANK_FORMAT, Bank, BankError, Patch, PatchClass
from slakh_gui.core.midi import gm
from slakh_gui.core.safe_yaml import YamlError, load_yaml

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")

# Parameter order per effect type when written (docs/bank-format.md's order); others follow, sorted.
PARAM_ORDER = {
    "reverb": ["room_size", "damping", "wet_level", "dry_level", "width", "freeze_mode"],
    "compressor": ["threshold_db", "ratio", "attack_ms", "release_ms"],
    "gain": ["gain_db"],
    "chorus": ["rate_hz", "depth", "centre_delay_ms", "feedback", "mix"],
    "distortion": ["drive_db"],
    "highpass": ["cutoff_frequency_hz"],
    "lowpass": ["cutoff_frequency_hz"],
    "lowshelf": ["cutoff_frequency_hz", "gain_db", "q"],
    "highshelf": ["cutoff_frequency_hz", "gain_db", "q"],
    "peak": ["cutoff_frequency_hz", "gain_db", "q"],
    "delay": ["delay_seconds", "feedback", "mix"],
}


# ---------------------------------------------------------------------------------------------- saving


def _ordered_params(kind: str, params: dict) -> list[tuple[str, float]]:
    order = PARAM_ORDER.get(kind, [])
    known = [k for k in order if k in params]
    return [(k, params[k]) for k in known + sorted(k for k in params if k not in order)]


def bank_to_dict(bank: Bank) -> dict:
    """The bank as plain data, keys in the order they are written (a YAML/JSON-ready dict)."""
    out: dict = {"format": BANK_FORMAT, "name": bank.name}
    if bank.description:
        out["description"] = bank.description
    if bank.soundfont_dirs:
        out["soundfont_dirs"] = [str(d) for d in bank.soundfont_dirs]
    patches: dict = {}
    for pid, p in bank.patches.items():
        spec: dict = {"soundfont": p.soundfont, "bank": p.bank, "preset": p.preset}
        if p.name:
            spec["name"] = p.name
        if p.drum != (p.bank == 128):
            spec["drum"] = p.drum
        if p.kit_follows:
            spec["kit"] = "follow"
        if p.kits:
            spec["kits"] = list(p.kits)
        if p.effects:
            spec["effects"] = [{"type": kind, **dict(_ordered_params(kind, dict(params)))}
                               for kind, params in p.effects]
        patches[pid] = spec
    out["patches"] = patches
    out["classes"] = {name: {"inst_class": c.inst_class, "programs": list(c.programs), "patches": list(c.patches)}
                      for name, c in bank.classes.items()}
    return out


def _scalar(value) -> str:
    """A YAML scalar: plain where that reads back unchanged, else double-quoted (JSON escapes are valid YAML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int):
        return str(value)
    text = str(value)
    try:
        plain = text != "" and "\n" not in text and load_yaml(f"k: {text}", "value")[1] == {"k": text}
    except YamlError:
        plain = False
    return text if plain else json.dumps(text, ensure_ascii=False)


def bank_to_yaml(bank: Bank) -> str:
    """The bank file's text (docs/bank-format.md layout; deterministic)."""
    d = bank_to_dict(bank)
    lines = ["# Slakh Studio patch bank. Format: docs/bank-format.md", f"format: {d['format']}",
             f"name: {_scalar(d['name'])}"]
    if "description" in d:
        lines.append(f"description: {_scalar(d['description'])}")
    if "soundfont_dirs" in d:
        lines.append("soundfont_dirs:")
        lines += [f"  - {_scalar(x)}" for x in d["soundfont_dirs"]]
    lines.append("patches:")
    for pid, spec in d["patches"].items():
        lines.append(f"  {_scalar(pid)}:")
        for key in ("soundfont", "bank", "preset", "name", "drum", "kit"):
            if key in spec:
                lines.append(f"    {key}: {_scalar(spec[key])}")
        if "kits" in spec:
            lines.append(f"    kits: [{', '.join(str(k) for k in spec['kits'])}]")
        if "effects" in spec:
            lines.append("    effects:")
            for fx in spec["effects"]:
                inner = ", ".join(f"{k}: {_scalar(v)}" for k, v in fx.items())
                lines.append(f"      - {{{inner}}}")
    lines.append("classes:")
    for cname, c in d["classes"].items():
        lines += [f"  {_scalar(cname)}:", f"    inst_class: {_scalar(c['inst_class'])}",
                  f"    programs: [{', '.join(str(p) for p in c['programs'])}]"]
        if c["patches"]:
            lines.append("    patches:")
            lines += [f"      - {_scalar(m)}" for m in c["patches"]]
        else:
            lines.append("    patches: []")
    return "\n".join(lines) + "\n"


def save_bank(bank: Bank, path: str | Path) -> Path:
    """Write ``bank`` to ``path`` atomically (no validation: a bank with findings can be saved)."""
    from slakh_gui.core.audio_io import atomic_write_text

    path = Path(path)
    atomic_write_text(path, bank_to_yaml(bank))
    return path


def same_bank(a: Bank, b: Bank) -> bool:
    """Equal content (name, description, folders, patches, classes), whatever the file paths and hashes."""
    return bank_to_dict(a) == bank_to_dict(b)


# ---------------------------------------------------------------------------------------------- editing


def _patch(bank: Bank, patch_id: str) -> Patch:
    if patch_id not in bank.patches:
        raise BankError(f"no patch {patch_id!r} in bank {bank.name!r}")
    return bank.patches[patch_id]


def _class(bank: Bank, name: str) -> PatchClass:
    if name not in bank.classes:
        raise BankError(f"no class {name!r} in bank {bank.name!r}")
    return bank.classes[name]


def _check_id(patch_id) -> str:
    if not isinstance(patch_id, str) or not _ID.match(patch_id):
        raise BankError(f"patch id {patch_id!r} must match [a-z0-9][a-z0-9_.-]*")
    return patch_id


def _check_int(value, what: str, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise BankError(f"{what} must be an integer {lo}..{hi}, got {value!r}")
    return value


def _check_programs(programs) -> list[int]:
    if isinstance(programs, (str, bytes)) or not hasattr(programs, "__iter__"):
        raise BankError(f"programs must be a list of 0-based programs (128 = drums), got {programs!r}")
    out = [_check_int(p, "a program", 0, 128) for p in programs]
    if len(set(out)) != len(out):
        raise BankError(f"programs {out} list a program twice")
    return out


def normalize_chain(chain) -> tuple[tuple[str, tuple[tuple[str, float], ...]], ...]:
    """An effect chain from ``[{"type": ..., param: value}]`` or ``[(type, {param: value})]``, checked."""
    if chain is None:
        return ()
    if isinstance(chain, (str, bytes, dict)) or not hasattr(chain, "__iter__"):
        raise BankError(f"effects must be a list, got {chain!r}")
    out = []
    for i, fx in enumerate(chain):  # messages number effects from 1, as the effect editor's list does
        if isinstance(fx, dict):
            if "type" not in fx:
                raise BankError(f"effect {i + 1}: a mapping with a 'type'")
            kind, params = fx["type"], {k: v for k, v in fx.items() if k != "type"}
        elif isinstance(fx, (tuple, list)) and len(fx) == 2 and isinstance(fx[1], dict):
            kind, params = fx
        else:
            raise BankError(f"effect {i + 1}: expected {{'type': ..., param: value}} or (type, params), got {fx!r}")
        try:
            make_plugin(kind, params)
        except ValueError as exc:
            raise BankError(f"effect {i + 1}: {exc}") from None
        out.append((kind, tuple(sorted((k, float(v)) for k, v in params.items()))))
    return tuple(out)


def add_patch(bank: Bank, patch_id: str, soundfont: str | Path, bank_number: int, preset: int, name: str = "",
              drum: bool | None = None, effects=None) -> Patch:
    """Add a patch (not yet in any class). ``drum`` defaults to ``bank_number == 128``."""
    _check_id(patch_id)
    if patch_id in bank.patches:
        raise BankError(f"patch id {patch_id!r} is already in bank {bank.name!r}")
    if not str(soundfont).strip():
        raise BankError("soundfont must be a file name or path")
    _check_int(bank_number, "bank", 0, 16383)
    _check_int(preset, "preset", 0, 127)
    drum = bank_number == 128 if drum is None else drum
    if not isinstance(drum, bool):
        raise BankError(f"drum must be true or false, got {drum!r}")
    patch = Patch(patch_id, str(soundfont), bank_number, preset, str(name or ""), drum, normalize_chain(effects))
    bank.patches[patch_id] = patch
    return patch


def remove_patch(bank: Bank, patch_id: str) -> None:
    """Remove a patch and its entries in every class."""
    _patch(bank, patch_id)
    del bank.patches[patch_id]
    for cls in bank.classes.values():
        cls.patches = [m for m in cls.patches if m != patch_id]


def rename_patch(bank: Bank, old_id: str, new_id: str) -> Patch:
    """Give a patch a new id (same place in the bank); classes follow."""
    patch = _patch(bank, old_id)
    _check_id(new_id)
    if new_id == old_id:
        return patch
    if new_id in bank.patches:
        raise BankError(f"patch id {new_id!r} is already in bank {bank.name!r}")
    renamed = replace(patch, id=new_id)
    bank.patches = {(new_id if k == old_id else k): (renamed if k == old_id else v) for k, v in bank.patches.items()}
    for cls in bank.classes.values():
        cls.patches = [new_id if m == old_id else m for m in cls.patches]
    return renamed


def set_effects(bank: Bank, patch_id: str, chain) -> Patch:
    """Replace a patch's effect chain (``[]`` or None: no effects)."""
    patch = replace(_patch(bank, patch_id), effects=normalize_chain(chain))
    bank.patches[patch_id] = patch
    return patch


def set_kit(bank: Bank, patch_id: str, follows: bool | None = None, kits=None) -> Patch:
    """Set a drum patch's kit rule: ``follows`` (``kit: follow``: bank 128, the preset becomes the track's
    program) and/or ``kits`` (the kit programs 0..127 it suits; ``[]``: any). None leaves that part as it is."""
    patch = _patch(bank, patch_id)
    follows = patch.kit_follows if follows is None else follows
    if not isinstance(follows, bool):
        raise BankError(f"kit follows must be true or false, got {follows!r}")
    if kits is None:
        new_kits = patch.kits
    elif isinstance(kits, (str, bytes)) or not hasattr(kits, "__iter__"):
        raise BankError(f"kits must be a list of kit programs 0..127, got {kits!r}")
    else:
        new_kits = tuple(_check_int(k, "a kit program", 0, 127) for k in kits)
    if len(set(new_kits)) != len(new_kits):
        raise BankError(f"kits {list(new_kits)} list a kit program twice")
    if (follows or new_kits) and not patch.drum:
        raise BankError(f"patch {patch_id!r} is not a drum patch: kits are for drum patches")
    if follows and patch.bank != 128:
        raise BankError(f"patch {patch_id!r} is bank {patch.bank}: only a bank 128 kit can follow the track's program")
    new = replace(patch, kit_follows=follows, kits=new_kits)
    bank.patches[patch_id] = new
    return new


def assign(bank: Bank, patch_id: str, class_name: str) -> None:
    """Append a patch to a class's pool."""
    patch, cls = _patch(bank, patch_id), _class(bank, class_name)
    if patch_id in cls.patches:
        raise BankError(f"patch {patch_id!r} is already in class {class_name!r}")
    drum_class = gm.DRUMS in cls.programs
    if drum_class != patch.drum:
        raise BankError(f"patch {patch_id!r} is a {'drum' if patch.drum else 'melodic'} patch; class {class_name!r} "
                        f"is a {'drum' if drum_class else 'melodic'} class")
    cls.patches.append(patch_id)


def unassign(bank: Bank, patch_id: str, class_name: str) -> None:
    """Take a patch out of a class's pool (the patch stays in the bank)."""
    _patch(bank, patch_id)
    cls = _class(bank, class_name)
    if patch_id not in cls.patches:
        raise BankError(f"patch {patch_id!r} is not in class {class_name!r}")
    cls.patches = [m for m in cls.patches if m != patch_id]


def add_class(bank: Bank, name: str, inst_class: str, programs) -> PatchClass:
    """Add an empty class (appended: class order matters for the pools)."""
    if not isinstance(name, str) or not name.strip():
        raise BankError(f"class name must be a non-empty string, got {name!r}")
    if name in bank.classes:
        raise BankError(f"class {name!r} is already in bank {bank.name!r}")
    if inst_class not in gm.FAMILIES:
        raise BankError(f"unknown GM family {inst_class!r} (known: {', '.join(gm.FAMILIES)})")
    cls = PatchClass(name, inst_class, _check_programs(programs), [])
    bank.classes[name] = cls
    return cls


def remove_class(bank: Bank, name: str) -> None:
    _class(bank, name)
    del bank.classes[name]


def rename_class(bank: Bank, old: str, new: str) -> PatchClass:
    """Rename a class, keeping its place in the bank."""
    cls = _class(bank, old)
    if not isinstance(new, str) or not new.strip():
        raise BankError(f"class name must be a non-empty string, got {new!r}")
    if new == old:
        return cls
    if new in bank.classes:
        raise BankError(f"class {new!r} is already in bank {bank.name!r}")
    cls.name = new
    bank.classes = {(new if k == old else k): v for k, v in bank.classes.items()}
    return cls


def set_programs(bank: Bank, class_name: str, programs) -> PatchClass:
    """Change the programs a class covers (drum classes cover 128; their patches must stay drum patches)."""
    cls = _class(bank, class_name)
    new = _check_programs(programs)
    drum_class = gm.DRUMS in new
    wrong = [m for m in cls.patches if bank.patches[m].drum != drum_class]
    if wrong:
        raise BankError(f"class {class_name!r} would become a {'drum' if drum_class else 'melodic'} class but holds "
                        f"{'melodic' if drum_class else 'drum'} patch(es) {', '.join(wrong)}")
    cls.programs = new
    return cls


def coverage(bank: Bank) -> list[tuple[int, list[str], int]]:
    """For every program 0..128: (program, names of the classes covering it, patches in its pool)."""
    rows = []
    for program in range(gm.DRUMS + 1):
        names = [c.name for c in bank.classes.values() if program in c.programs]
        rows.append((program, names, len(bank.pool(program))))
    return rows
