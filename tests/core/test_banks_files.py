"""The shipped bank files (patches/default.yaml, patches/flakh.yaml), read with plain PyYAML and checked rule by rule.

They are written by patches/build_banks.py; see docs/bank-format.md for the format and counting rules.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

PATCHES = Path(__file__).resolve().parents[2] / "patches"
SF_DIRS = (Path("/usr/share/sounds/sf2"), Path("/usr/share/sounds/sf3"))
FORMAT = "slakh-studio-bank/1"

FAMILIES = {  # GM family (Slakh's inst_class spelling) -> 0-based programs
    "Piano": range(0, 8), "Chromatic Percussion": range(8, 16), "Organ": range(16, 24), "Guitar": range(24, 32),
    "Bass": range(32, 40), "Strings": range(40, 48), "Strings (continued)": range(48, 56), "Brass": range(56, 64),
    "Reed": range(64, 72), "Pipe": range(72, 80), "Synth Lead": range(80, 88), "Synth Pad": range(88, 96),
    "Sound Effects": range(96, 104), "Ethnic": range(104, 112), "Percussive": range(112, 119),
    "Sound effects": range(119, 128), "Drums": range(128, 129),
}
FAMILY_OF = {p: fam for fam, progs in FAMILIES.items() for p in progs}
UNCOVERED_IN_DEFAULT = {55, *range(96, 128)}  # Orchestra Hit and the families Slakh left out
SF_PREFIX = {
    "FluidR3_GM.sf2": "fluidr3_gm", "FluidR3_GS.sf2": "fluidr3_gs", "TimGM6mb.sf2": "timgm6mb",
    "MuseScore_General.sf3": "musescore", "MuseScore_General_Full.sf3": "musescore_full",
    "Black_Pearl_4_LV2.sf2": "avl_black_pearl", "Red_Zeppelin_4_LV2.sf2": "avl_red_zeppelin",
}
EFFECT_PARAMS = {  # docs/bank-format.md
    "reverb": {"room_size", "damping", "wet_level", "dry_level", "width"},
    "compressor": {"threshold_db", "ratio", "attack_ms", "release_ms"},
    "gain": {"gain_db"},
    "chorus": {"rate_hz", "depth", "centre_delay_ms", "feedback", "mix"},
    "distortion": {"drive_db"},
    "highpass": {"cutoff_frequency_hz"}, "lowpass": {"cutoff_frequency_hz"},
    "lowshelf": {"cutoff_frequency_hz", "gain_db", "q"}, "highshelf": {"cutoff_frequency_hz", "gain_db", "q"},
    "peak": {"cutoff_frequency_hz", "gain_db", "q"},
    "delay": {"delay_seconds", "feedback", "mix"},
}
ID_RE = re.compile(r"^[a-z0-9][a-z0-9_]*\.[a-z0-9_]+(\.[a-z0-9_]+)?$")  # <soundfont>.<preset>[.<variant>]


class UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses a repeated mapping key (plain PyYAML keeps the last one silently)."""


def _mapping(loader, node, deep=False):
    keys = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in keys:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        keys.add(key)
    return loader.construct_mapping(node, deep)


UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping)


def load(name: str) -> dict:
    return yaml.load((PATCHES / name).read_text(encoding="utf-8"), Loader=UniqueKeyLoader)


@pytest.fixture(scope="module", params=["default.yaml", "flakh.yaml"])
def bank(request) -> dict:
    return load(request.param)


@pytest.fixture(scope="module")
def default() -> dict:
    return load("default.yaml")


@pytest.fixture(scope="module")
def flakh() -> dict:
    return load("flakh.yaml")


def is_drum(patch: dict) -> bool:
    return patch.get("drum", patch["bank"] == 128)


def pool(bank: dict, program: int) -> list[str]:
    """The bank format's pool rule: patches of every class covering the program, bank order, no duplicates."""
    ids: dict[str, None] = {}
    for cls in bank["classes"].values():
        if program in cls["programs"]:
            ids.update(dict.fromkeys(cls["patches"] or []))
    return list(ids)


def covered(bank: dict) -> set[int]:
    return {p for p in range(129) if pool(bank, p)}


# ---------------------------------------------------------------------------------------------- both files


def test_top_level(bank):
    assert bank["format"] == FORMAT
    assert isinstance(bank["name"], str) and bank["name"]
    assert set(bank) <= {"format", "name", "description", "patches", "classes", "soundfont_dirs"}
    assert isinstance(bank["patches"], dict) and bank["patches"]
    assert isinstance(bank["classes"], dict) and bank["classes"]


def test_patch_ids_and_fields(bank):
    for pid, p in bank["patches"].items():
        assert isinstance(pid, str) and ID_RE.match(pid), pid
        assert set(p) <= {"soundfont", "bank", "preset", "name", "drum", "kit", "kits", "effects"}, pid
        assert set(p) >= {"soundfont", "bank", "preset", "name"}, pid
        assert p["soundfont"] in SF_PREFIX, (pid, p["soundfont"])
        assert "/" not in p["soundfont"], pid  # file names only
        assert pid.split(".")[0] == SF_PREFIX[p["soundfont"]], pid
        assert type(p["bank"]) is int and 0 <= p["bank"] <= 128, pid
        assert type(p["preset"]) is int and 0 <= p["preset"] <= 127, pid
        assert isinstance(p["name"], str) and p["name"].strip(), pid
        assert isinstance(p.get("drum", False), bool), pid
        # an effect variant is "<base id>.<variant>": same preset as its base, plus an effect chain
        if pid.count(".") == 2:
            assert p.get("effects"), f"{pid}: variant id without effects"
            base = bank["patches"].get(pid.rsplit(".", 1)[0])
            if base is not None:
                assert {k: base[k] for k in ("soundfont", "bank", "preset")} == \
                       {k: p[k] for k in ("soundfont", "bank", "preset")}, pid
        else:
            assert not p.get("effects"), f"{pid}: effects on a plain preset id"


def test_effect_chains_use_documented_types_and_parameters(bank):
    for pid, p in bank["patches"].items():
        for fx in p.get("effects") or []:
            assert isinstance(fx, dict) and fx.get("type") in EFFECT_PARAMS, (pid, fx)
            params = {k: v for k, v in fx.items() if k != "type"}
            assert set(params) <= EFFECT_PARAMS[fx["type"]], (pid, fx)
            assert all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in params.values()), (pid, fx)


def test_classes_reference_existing_patches_and_valid_programs(bank):
    used = set()
    for cname, cls in bank["classes"].items():
        assert set(cls) == {"inst_class", "programs", "patches"}, cname
        assert cls["inst_class"] in FAMILIES, cname
        progs = cls["programs"]
        assert isinstance(progs, list) and progs, cname
        assert all(type(p) is int and 0 <= p <= 128 for p in progs), cname
        assert len(set(progs)) == len(progs), cname
        # each class lies inside its GM family
        assert all(FAMILY_OF[p] == cls["inst_class"] for p in progs), (cname, cls["inst_class"], progs)
        members = cls["patches"] or []
        assert isinstance(members, list), cname
        assert len(set(members)) == len(members), f"{cname}: a patch listed twice"
        for pid in members:
            assert pid in bank["patches"], f"{cname}: no patch {pid!r}"
        used.update(members)
    assert used == set(bank["patches"]), f"patches in no class: {sorted(set(bank['patches']) - used)}"


def test_drum_patches_only_in_drum_classes(bank):
    drum_classes = [c for c in bank["classes"].values() if 128 in c["programs"]]
    assert drum_classes and all(c["programs"] == [128] and c["inst_class"] == "Drums" for c in drum_classes)
    for cname, cls in bank["classes"].items():
        for pid in cls["patches"] or []:
            p = bank["patches"][pid]
            assert is_drum(p) == (cls["programs"] == [128]), (cname, pid)
            if is_drum(p) and p["bank"] != 128:  # kits stored outside bank 128 (the AVL kits) say so explicitly
                assert p.get("drum") is True, pid
    assert pool(bank, 128), "nothing plays drums"
    assert any(bank["patches"][pid]["bank"] == 128 for pid in pool(bank, 128))


def test_classes_in_gm_order(bank):
    firsts = [min(c["programs"]) for c in bank["classes"].values()]
    assert firsts == sorted(firsts)


def test_soundfonts_exist():
    if not any(d.is_dir() for d in SF_DIRS):
        pytest.skip("no /usr/share/sounds/sf2 or sf3 (SoundFont packages not installed)")
    names = {p["soundfont"] for f in ("default.yaml", "flakh.yaml") for p in load(f)["patches"].values()}
    missing = [n for n in sorted(names) if not any((d / n).is_file() for d in SF_DIRS)]
    assert not missing, f"SoundFonts not in {', '.join(map(str, SF_DIRS))}: {missing}"


def test_project_loader_agrees(bank):
    """The engine's own validator accepts the file and counts it the same way."""
    patches = pytest.importorskip("slakh_gui.core.bank.patches")
    name = "default.yaml" if bank["name"] == "default" else "flakh.yaml"
    loaded = patches.load_bank(PATCHES / name)
    assert loaded.class_count() == sum(1 for c in bank["classes"].values() if c["patches"])
    assert loaded.patch_count() == sum(len(c["patches"] or []) for c in bank["classes"].values())
    assert all([p.id for p in loaded.pool(prog)] == pool(bank, prog) for prog in range(129))


# ---------------------------------------------------------------------------------------------- default.yaml


def test_default_counts_like_slakh(default):
    with_patches = [c for c in default["classes"].values() if c["patches"]]
    assert len(with_patches) >= 34  # Slakh: 34 classes
    assert sum(len(c["patches"]) for c in with_patches) >= 187  # Slakh: 187 patches (sum of class lists)
    assert len(default["patches"]) >= 166  # Slakh: 166 unique patch files


def test_default_classes_include_slakhs(default):
    slakh = ["Acoustic Piano", "Electric Piano", "Chromatic Percussion", "Organ", "Acoustic Guitar",
             "Clean Electric Guitar", "Distorted Electric Guitar", "Acoustic Bass", "Electric Bass", "Violin",
             "Viola", "Cello", "Contrabass", "String Ensemble", "Timpani", "Orchestral Harp", "Synth Strings",
             "Choir and Voice", "Trumpet", "Trombone", "Tuba", "French Horn", "Brass Section", "Soprano/Alto Sax",
             "Tenor Sax", "Baritone Sax", "Oboe", "English Horn", "Bassoon", "Clarinet", "Pipe", "Synth Lead",
             "Synth Pad", "Drums", "Synth Bass", "Synth Brass"]
    for name in slakh:
        assert default["classes"].get(name, {}).get("patches"), f"class {name!r} missing or empty"


@pytest.mark.parametrize("program,cls", [
    (0, "Acoustic Piano"), (1, "Acoustic Piano"), (4, "Electric Piano"), (33, "Electric Bass"), (32, "Acoustic Bass"),
    (38, "Synth Bass"), (40, "Violin"), (47, "Timpani"), (46, "Orchestral Harp"), (48, "String Ensemble"),
    (52, "Choir and Voice"), (56, "Trumpet"), (62, "Synth Brass"), (70, "Bassoon"), (71, "Clarinet"),
    (128, "Drums"),
])
def test_default_programs_are_zero_based(default, program, cls):
    assert program in default["classes"][cls]["programs"]


def test_default_coverage_is_slakhs(default):
    cov = covered(default)
    assert not cov & UNCOVERED_IN_DEFAULT, sorted(cov & UNCOVERED_IN_DEFAULT)
    assert cov == set(range(129)) - UNCOVERED_IN_DEFAULT, sorted(set(range(129)) - UNCOVERED_IN_DEFAULT - cov)


def test_default_variety(default):
    pats = default["patches"]
    fonts = {p["soundfont"] for p in pats.values()}
    assert {"FluidR3_GM.sf2", "MuseScore_General.sf3", "TimGM6mb.sf2"} <= fonts
    presets = [(p["soundfont"], p["bank"], p["preset"]) for p in pats.values() if not p.get("effects")]
    assert len(presets) == len(set(presets)), "one preset under two plain ids"
    variants = sum(1 for c in default["classes"].values() for pid in c["patches"] or [] if pats[pid].get("effects"))
    total = sum(len(c["patches"] or []) for c in default["classes"].values())
    assert variants <= 0.3 * total, f"{variants} of {total} patches are effect variants"
    for cname, cls in default["classes"].items():  # effect variants stay a minority in every class
        members = cls["patches"] or []
        assert sum(1 for pid in members if pats[pid].get("effects")) * 2 <= len(members), cname


def test_default_drums(default):
    kits = pool(default, 128)
    assert len(kits) >= 8  # Slakh had 8 kits
    fonts = {default["patches"][k]["soundfont"] for k in kits}
    assert {"Black_Pearl_4_LV2.sf2", "Red_Zeppelin_4_LV2.sf2", "FluidR3_GM.sf2", "TimGM6mb.sf2"} <= fonts


# ---------------------------------------------------------------------------------------------- flakh.yaml


def test_flakh_is_timgm6mb_one_preset_per_program(flakh):
    assert {p["soundfont"] for p in flakh["patches"].values()} == {"TimGM6mb.sf2"}
    assert not any(p.get("effects") for p in flakh["patches"].values())
    assert covered(flakh) == set(range(129))
    for program in range(129):
        ids = pool(flakh, program)
        assert len(ids) == 1, (program, ids)
        p = flakh["patches"][ids[0]]
        want = (128, 0) if program == 128 else (0, program)
        assert (p["bank"], p["preset"]) == want, (program, ids[0])


def test_flakh_one_class_per_program(flakh):
    classes = list(flakh["classes"].values())
    assert len(classes) == 129
    assert sorted(c["programs"][0] for c in classes) == list(range(129))
    assert all(len(c["programs"]) == 1 and len(c["patches"]) == 1 for c in classes)
    assert "Acoustic Grand Piano" in flakh["classes"] and "Drums" in flakh["classes"]
