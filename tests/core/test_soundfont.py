"""SoundFont preset listing through FluidSynth's own iteration, its cache, the search and family guesses."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from slakh_gui.core.bank import soundfont
from slakh_gui.core.bank.patches import find_soundfont

SF2 = Path("/usr/share/sounds/sf2")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("SLAKH_STUDIO_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.parametrize("name,count,drums", [("FluidR3_GM.sf2", 189, 31), ("TimGM6mb.sf2", 136, 8),
                                              ("MuseScore_General.sf3", 311, 38)])
def test_preset_counts(name, count, drums):
    presets = soundfont.list_presets(find_soundfont(name))
    assert len(presets) == count
    assert sum(p.is_drum_bank for p in presets) == drums
    assert presets == sorted(presets, key=lambda p: (p.bank, p.preset))
    assert len({(p.bank, p.preset) for p in presets}) == count


def test_preset_fields():
    presets = soundfont.list_presets(find_soundfont("FluidR3_GM.sf2"))
    first = presets[0]
    assert (first.bank, first.preset, first.name, first.is_drum_bank) == (0, 0, "Yamaha Grand Piano", False)
    assert first.family == "Piano"
    kit = next(p for p in presets if p.bank == 128 and p.preset == 0)
    assert kit.is_drum_bank and kit.family == "Drums" and kit.name == "Standard"
    assert soundfont.preset_dict(kit)["soundfont"].endswith("FluidR3_GM.sf2")


def test_cache_hit_does_not_load(cache, tmp_path):
    font = tmp_path / "fonts" / "Tim.sf2"
    font.parent.mkdir()
    shutil.copy(SF2 / "TimGM6mb.sf2", font)
    before = soundfont.load_count
    cold = soundfont.list_presets(font)
    assert soundfont.load_count == before + 1
    assert (cache / soundfont.CACHE_FILE).is_file()
    warm = soundfont.list_presets(font)
    assert warm == cold and soundfont.load_count == before + 1  # from the JSON cache, FluidSynth not asked
    st = font.stat()
    os.utime(font, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))  # a changed file is listed again
    assert soundfont.list_presets(font) == cold and soundfont.load_count == before + 2
    assert soundfont.list_presets(font, use_cache=False) == cold and soundfont.load_count == before + 3


def test_corrupt_cache_and_bad_files(cache, tmp_path):
    cache.mkdir(parents=True)
    (cache / soundfont.CACHE_FILE).write_text("{not json")
    assert len(soundfont.list_presets(SF2 / "TimGM6mb.sf2")) == 136
    with pytest.raises(FileNotFoundError):
        soundfont.list_presets(tmp_path / "nope.sf2")
    junk = tmp_path / "junk.sf2"
    junk.write_bytes(b"RIFF0000 this is not a SoundFont")
    with pytest.raises(soundfont.SoundFontError):
        soundfont.list_presets(junk)


def test_find_soundfonts_debian_and_symlinks(tmp_path):
    found = soundfont.find_soundfonts()
    names = [p.name for p in found]
    for name in ("FluidR3_GM.sf2", "TimGM6mb.sf2", "MuseScore_General_Full.sf3", "Black_Pearl_4_LV2.sf2"):
        assert name in names
    assert "MuseScore_General.sf3" not in names  # a symlink to MuseScore_General_Full.sf3: listed once, resolved
    assert len(found) == len(set(found)) and all(p.is_absolute() and not p.is_symlink() for p in found)
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "link.sf2").symlink_to(SF2 / "TimGM6mb.sf2")
    (extra / "dangling.sf2").symlink_to(tmp_path / "gone.sf2")
    (extra / "notes.txt").write_text("x")
    with_extra = soundfont.find_soundfonts([extra])
    assert sorted(with_extra) == sorted(found)


def test_guess_family():
    assert soundfont.guess_family(0, 0, False) == "Piano"
    assert soundfont.guess_family(8, 33, False) == "Bass"
    assert soundfont.guess_family(128, 0, True) == "Drums"
    assert soundfont.guess_family(128, 25, False) == "Drums"
    assert soundfont.guess_family(0, 127, False) == "Sound effects"
    assert soundfont.guess_family(1, 48, False, "Orchestra Kit") == "Drums"


def test_guess_family_sees_kits_at_bank_0():
    from slakh_gui.core.bank.soundfont import guess_family

    assert guess_family(0, 0, False, "Black_Pearl_4pc") == "Drums"
    assert guess_family(0, 0, False, "Red_Zeppelin_4pc") == "Drums"
    assert guess_family(8, 0, False, "Jazz Kit") == "Drums"
    assert guess_family(0, 0, False, "Yamaha Grand Piano") == "Piano"
    assert guess_family(0, 33, False, "Fingered Bass") == "Bass"
