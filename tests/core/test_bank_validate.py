"""validate_bank on one fixture per fault (tests/data/banks/): every finding names the right line and key."""

from __future__ import annotations

import pytest

from slakh_gui import paths
from slakh_gui.core.bank.bank_validate import Finding, effect_problems, has_errors, validate_bank

BANKS = paths.repo_root() / "tests" / "data" / "banks"


@pytest.fixture(autouse=True)
def cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SLAKH_STUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "sf-cache"))


def line_of(name: str, needle: str, nth: int = 1) -> int:
    hits = [i for i, line in enumerate((BANKS / name).read_text().splitlines(), 1) if needle in line]
    return hits[nth - 1]


def found(name: str, render: bool = False) -> list[tuple[str, int, str]]:
    findings = validate_bank(BANKS / name, render_check=render)
    assert all(f.file == str(BANKS / name) for f in findings)
    return [(f.severity, f.line, f.key) for f in findings]


def test_missing_soundfont():
    findings = validate_bank(BANKS / "missing_soundfont.yaml", render_check=False)
    assert [(f.severity, f.line, f.key) for f in findings] == [
        ("error", line_of("missing_soundfont.yaml", "No_Such_Font"), "patches/nowhere.piano/soundfont")]
    assert "No_Such_Font_Anywhere.sf2" in findings[0].message and "/usr/share/sounds/sf2" in findings[0].message


def test_missing_preset():
    findings = validate_bank(BANKS / "missing_preset.yaml", render_check=False)
    assert [(f.severity, f.line, f.key) for f in findings] == [
        ("error", line_of("missing_preset.yaml", "preset: 0", 2), "patches/timgm6mb.variation_piano/preset")]
    assert "has no preset bank 1 preset 0" in findings[0].message


def test_duplicate_ids_and_class_names():
    findings = validate_bank(BANKS / "duplicate_id.yaml", render_check=False)
    assert [(f.severity, f.line, f.key) for f in findings] == [
        ("error", line_of("duplicate_id.yaml", "timgm6mb.piano:", 2), "patches/timgm6mb.piano"),
        ("error", line_of("duplicate_id.yaml", "Piano:", 2), "classes/Piano"),
    ]
    assert f"first at line {line_of('duplicate_id.yaml', 'timgm6mb.piano:')}" in findings[0].message
    assert "duplicate class name 'Piano'" in findings[1].message


def test_program_covered_twice_is_a_warning():
    assert found("program_twice.yaml") == [
        ("warning", line_of("program_twice.yaml", "programs: [1, 2]"), "classes/Bright Piano/programs/0")]


def test_empty_class_and_unlisted_patch():
    assert found("empty_class.yaml") == [
        ("warning", line_of("empty_class.yaml", "timgm6mb.organ:"), "patches/timgm6mb.organ"),
        ("warning", line_of("empty_class.yaml", "patches: []"), "classes/Organ/patches"),
    ]


def test_silent_patch():
    assert found("silent_patch.yaml") == []  # only the render check finds it
    findings = validate_bank(BANKS / "silent_patch.yaml")
    assert [(f.severity, f.line, f.key) for f in findings] == [
        ("error", line_of("silent_patch.yaml", "fluidr3_gm.contrabass:"), "patches/fluidr3_gm.contrabass")]
    assert "silent" in findings[0].message and "melody" in findings[0].message


def test_effect_out_of_range():
    name = "effect_out_of_range.yaml"
    findings = validate_bank(BANKS / name, render_check=False)
    assert [(f.severity, f.line, f.key) for f in findings] == [
        ("error", line_of(name, "room_size: 1.5"), "patches/timgm6mb.piano.room/effects/0/room_size"),
        ("error", line_of(name, "gain_db: 60"), "patches/timgm6mb.piano.room/effects/1/gain_db"),
        ("error", line_of(name, "30000"), "patches/timgm6mb.piano.eq/effects/0/cutoff_frequency_hz"),
        ("error", line_of(name, "ratio: 0.5"), "patches/timgm6mb.piano.eq/effects/1/ratio"),
    ]
    assert "out of range (0..1)" in findings[0].message and "(1..22050)" in findings[2].message


def test_many_faults_all_reported():
    name = "many_faults.yaml"
    assert found(name) == [
        ("error", line_of(name, "preset: 300"), "patches/timgm6mb.bad_preset/preset"),
        ("error", line_of(name, "No_Such_Font"), "patches/nowhere.piano/soundfont"),
        ("error", line_of(name, "damping: 2.0"), "patches/timgm6mb.kit/effects/0/damping"),
        ("error", line_of(name, "timgm6mb.pianoo"), "classes/Piano/patches/3"),
        ("error", line_of(name, "timgm6mb.pianoo"), "classes/Piano/patches/4"),
    ]


def test_syntax_and_schema_errors_are_one_finding(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("format: slakh-studio-bank/1\nname: x\npatches: {a: [1, 2\n")
    (f,) = validate_bank(bad)
    assert f.severity == "error" and f.line and "YAML syntax error" in f.message
    bad.write_text("format: slakh-studio-bank/1\nname: x\npatches:\n  a: {soundfont: TimGM6mb.sf2, bank: 0, "
                   "preset: 0}\nclasses:\n  C: {inst_class: Pianoo, programs: [0], patches: [a]}\n")
    (f,) = validate_bank(bad)
    assert (f.line, f.key) == (6, "classes/C/inst_class") and "did you mean 'Piano'" in f.message
    (f,) = validate_bank(tmp_path / "absent.yaml")
    assert f.severity == "error" and "cannot read" in f.message
    assert str(Finding("error", 3, "a/b", "msg", "f.yaml")) == "f.yaml:3: error: a/b: msg"


def test_effect_problems_table():
    assert effect_problems("reverb", {"room_size": 0.5, "width": 1.0}) == []
    assert [p for p, _ in effect_problems("reverb", {"wet_level": -0.1, "dry_level": 1.1})] == ["wet_level",
                                                                                               "dry_level"]
    assert effect_problems("compressor", {"ratio": 1.0}) == []
    assert effect_problems("highpass", {"cutoff_frequency_hz": 0.5})
    assert effect_problems("peak", {"gain_db": -49})
    assert effect_problems("gain", {"gain_db": float("nan")})
    assert effect_problems("gain", {"gain_db": "x"})


@pytest.mark.parametrize("bank", [paths.default_bank(), paths.flakh_bank()])
def test_shipped_banks_have_no_errors(bank):
    """With the render check: every patch auditions its class-typical phrase non-silently (real FluidSynth)."""
    findings = validate_bank(bank, render_check=True)
    assert not has_errors(findings), [str(f) for f in findings if f.severity == "error"]
    if bank == paths.default_bank():  # the uncovered classes Slakh also left empty, and loudness outliers
        empty = {f"classes/{c}/patches" for c in (
            "Orchestra Hit", "Sound Effects", "Ethnic", "Percussive", "Sound effects")}
        assert empty <= {f.key for f in findings}
        assert all(f.key in empty or "LU" in f.message for f in findings), [str(f) for f in findings]


def test_small_bank_render_check_passes_with_progress():
    seen = []
    findings = validate_bank(paths.repo_root() / "tests" / "data" / "small_bank.yaml",
                             progress=lambda done, total: seen.append((done, total)))
    assert findings == []
    assert sorted(seen)[-1] == (9, 9)


def test_load_bank_rejects_duplicate_keys():
    from slakh_gui.core.bank.patches import BankError, load_bank

    with pytest.raises(BankError, match=r"duplicate_id\.yaml:9: patches/timgm6mb\.piano: duplicate key .*line 5"):
        load_bank(BANKS / "duplicate_id.yaml")
