"""Saving banks (round trip, byte-stable) and the editing helpers, with their errors."""

from __future__ import annotations

import pytest

from slakh_gui import paths
from slakh_gui.core.bank import bank_edit as be
from slakh_gui.core.bank.patches import BankError, load_bank, parse_bank

SMALL = paths.repo_root() / "tests" / "data" / "small_bank.yaml"


@pytest.fixture
def small():
    return load_bank(SMALL)


@pytest.mark.parametrize("path", [paths.default_bank(), paths.flakh_bank(), SMALL])
def test_round_trip_unchanged_and_byte_stable(tmp_path, path):
    bank = load_bank(path)
    out = be.save_bank(bank, tmp_path / "saved.yaml")
    again = load_bank(out)
    assert be.same_bank(bank, again)
    assert (again.name, again.description, again.patches, again.classes) == \
        (bank.name, bank.description, bank.patches, bank.classes)
    first = out.read_bytes()
    be.save_bank(again, out)
    assert out.read_bytes() == first
    assert [p.name for p in tmp_path.iterdir()] == ["saved.yaml"]  # atomic: no temp file left


def test_saved_default_matches_shipped_layout(tmp_path):
    """build_banks.py and save_bank write the same layout: only the header comment differs."""
    shipped = paths.default_bank().read_text().splitlines()
    saved = be.bank_to_yaml(load_bank(paths.default_bank())).splitlines()
    strip = [line for line in shipped if not line.startswith("#")]
    assert [line for line in saved if not line.startswith("#")] == strip


def test_bank_to_dict_order_and_optional_keys(small):
    d = be.bank_to_dict(small)
    assert list(d) == ["format", "name", "description", "patches", "classes"]
    assert list(d["patches"]["fluidr3_gm.fingered_bass.comp"]) == ["soundfont", "bank", "preset", "effects"]
    assert d["patches"]["fluidr3_gm.fingered_bass.comp"]["effects"] == [
        {"type": "compressor", "threshold_db": -20.0, "ratio": 4.0}]
    assert "drum" not in d["patches"]["timgm6mb.standard_kit"]  # default for bank 128
    assert list(d["classes"]["Piano"]) == ["inst_class", "programs", "patches"]


def test_odd_strings_and_soundfont_dirs_round_trip(small, tmp_path):
    small.description = 'quotes " and: colons, # hashes\nand a new line'
    small.soundfont_dirs = [tmp_path / "my fonts"]
    be.add_patch(small, "x.odd", "/abs/path/With Space.sf2", 0, 1, name="yes")
    be.add_class(small, "Strings (continued): 2", "Strings (continued)", [50])
    again = parse_bank(be.bank_to_yaml(small))
    assert be.same_bank(small, again) and again.patches["x.odd"].name == "yes"


def test_add_remove_rename_patch(small):
    p = be.add_patch(small, "timgm6mb.organ", "TimGM6mb.sf2", 0, 16, name="Organ 1",
                     effects=[{"type": "reverb", "room_size": 0.4}])
    assert small.patches["timgm6mb.organ"] == p and not p.drum and p.effect_chain == [("reverb", {"room_size": 0.4})]
    assert be.add_patch(small, "kit2", "TimGM6mb.sf2", 128, 1).drum
    be.assign(small, "timgm6mb.piano", "Guitar")
    be.rename_patch(small, "timgm6mb.piano", "timgm6mb.piano_one")
    assert list(small.patches).index("timgm6mb.piano_one") == 0  # keeps its place
    assert small.classes["Piano"].patches[0] == "timgm6mb.piano_one"
    assert small.classes["Guitar"].patches[-1] == "timgm6mb.piano_one"
    assert small.patches["timgm6mb.piano_one"].id == "timgm6mb.piano_one"
    be.remove_patch(small, "timgm6mb.piano_one")
    assert "timgm6mb.piano_one" not in small.patches
    assert all("timgm6mb.piano_one" not in c.patches for c in small.classes.values())


@pytest.mark.parametrize("call,words", [
    (lambda b: be.add_patch(b, "timgm6mb.piano", "TimGM6mb.sf2", 0, 0), "already in bank"),
    (lambda b: be.add_patch(b, "Bad Id", "TimGM6mb.sf2", 0, 0), "must match"),
    (lambda b: be.add_patch(b, "x", "TimGM6mb.sf2", 0, 128), "preset must be an integer 0..127"),
    (lambda b: be.add_patch(b, "x", "TimGM6mb.sf2", -1, 0), "bank must be an integer"),
    (lambda b: be.add_patch(b, "x", " ", 0, 0), "soundfont"),
    (lambda b: be.add_patch(b, "x", "TimGM6mb.sf2", 0, 0, drum="yes"), "drum must be true or false"),
    (lambda b: be.add_patch(b, "x", "TimGM6mb.sf2", 0, 0, effects=[{"type": "flanger"}]), "unknown effect type"),
    (lambda b: be.add_patch(b, "x", "TimGM6mb.sf2", 0, 0, effects=[{"type": "reverb", "size": 1}]),
     "has no parameter 'size'"),
    (lambda b: be.remove_patch(b, "nope"), "no patch 'nope'"),
    (lambda b: be.rename_patch(b, "nope", "x"), "no patch 'nope'"),
    (lambda b: be.rename_patch(b, "timgm6mb.piano", "fluidr3_gm.piano"), "already in bank"),
    (lambda b: be.rename_patch(b, "timgm6mb.piano", "UPPER"), "must match"),
    (lambda b: be.assign(b, "timgm6mb.standard_kit", "Piano"), "drum patch; class 'Piano' is a melodic class"),
    (lambda b: be.assign(b, "timgm6mb.piano", "Drums"), "melodic patch; class 'Drums' is a drum class"),
    (lambda b: be.assign(b, "timgm6mb.piano", "Piano"), "already in class"),
    (lambda b: be.assign(b, "timgm6mb.piano", "Nope"), "no class 'Nope'"),
    (lambda b: be.unassign(b, "timgm6mb.piano", "Bass"), "is not in class 'Bass'"),
    (lambda b: be.add_class(b, "Piano", "Piano", [0]), "already in bank"),
    (lambda b: be.add_class(b, "New", "Pianos", [0]), "unknown GM family"),
    (lambda b: be.add_class(b, "New", "Piano", [0, 129]), "a program must be an integer 0..128"),
    (lambda b: be.add_class(b, "", "Piano", [0]), "non-empty"),
    (lambda b: be.remove_class(b, "Nope"), "no class 'Nope'"),
    (lambda b: be.rename_class(b, "Piano", "Bass"), "already in bank"),
    (lambda b: be.rename_class(b, "Nope", "X"), "no class 'Nope'"),
    (lambda b: be.set_programs(b, "Piano", [0, 128]), "holds melodic patch(es)"),
    (lambda b: be.set_programs(b, "Drums", [0]), "holds drum patch(es)"),
    (lambda b: be.set_programs(b, "Piano", [0, 0]), "twice"),
    (lambda b: be.set_programs(b, "Piano", "0, 1"), "must be a list"),
    (lambda b: be.set_effects(b, "nope", []), "no patch 'nope'"),
    (lambda b: be.set_effects(b, "timgm6mb.piano", [{"type": "gain", "gain_db": "loud"}]), "must be a number"),
    (lambda b: be.set_effects(b, "timgm6mb.piano", [{"room_size": 0.3}]), "with a 'type'"),
])
def test_edit_errors(small, call, words):
    before = be.bank_to_dict(small)
    with pytest.raises(BankError, match=None) as info:
        call(small)
    assert words in str(info.value)
    assert be.bank_to_dict(small) == before  # a failed edit changes nothing


def test_assign_unassign_and_classes(small):
    be.unassign(small, "timgm6mb.piano", "Piano")
    assert small.classes["Piano"].patches == ["fluidr3_gm.piano"]
    be.assign(small, "timgm6mb.piano", "Piano")
    assert small.classes["Piano"].patches == ["fluidr3_gm.piano", "timgm6mb.piano"]
    cls = be.add_class(small, "Organ", "Organ", [16, 17])
    assert list(small.classes)[-1] == "Organ" and cls.patches == []
    be.rename_class(small, "Piano", "Keys")
    assert list(small.classes)[0] == "Keys" and small.classes["Keys"].name == "Keys"
    be.set_programs(small, "Keys", [0, 1, 2, 3, 4])
    assert small.pool(4) and small.classes["Keys"].programs == [0, 1, 2, 3, 4]
    be.remove_class(small, "Organ")
    assert "Organ" not in small.classes


def test_set_effects(small):
    p = be.set_effects(small, "timgm6mb.piano", [("gain", {"gain_db": -3}), {"type": "lowpass",
                                                                               "cutoff_frequency_hz": 5000}])
    assert small.patches["timgm6mb.piano"] is p
    assert p.effect_chain == [("gain", {"gain_db": -3.0}), ("lowpass", {"cutoff_frequency_hz": 5000.0})]
    assert be.set_effects(small, "timgm6mb.piano", None).effects == ()


def test_coverage(small):
    rows = be.coverage(small)
    assert len(rows) == 129 and [r[0] for r in rows] == list(range(129))
    assert rows[0] == (0, ["Piano"], 2)
    assert rows[128] == (128, ["Drums"], 2)
    assert rows[100] == (100, [], 0)
    be.add_class(small, "More Piano", "Piano", [0])
    be.assign(small, "timgm6mb.piano", "More Piano")
    assert be.coverage(small)[0] == (0, ["Piano", "More Piano"], 2)  # pool without duplicates
