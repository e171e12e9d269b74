"""Bank files: validation with file:line and key in every message; seeded Slakh-style assignment."""

from __future__ import annotations

import pytest

from slakh_gui.core.bank import patches
from slakh_gui.core.midi import midifile

GOOD = """\
format: slakh-studio-bank/1
name: t
patches:
  a.piano: {soundfont: TimGM6mb.sf2, bank: 0, preset: 0}
  b.piano: {soundfont: TimGM6mb.sf2, bank: 0, preset: 1}
  a.kit: {soundfont: TimGM6mb.sf2, bank: 128, preset: 0}
classes:
  Piano:
    inst_class: Piano
    programs: [0, 1]
    patches: [a.piano, b.piano]
  Drums:
    inst_class: Drums
    programs: [128]
    patches: [a.kit]
"""


def test_good_bank_counts():
    bank = patches.parse_bank(GOOD, "t.yaml")
    assert bank.class_count() == 2 and bank.patch_count() == 3
    assert [p.id for p in bank.pool(1)] == ["a.piano", "b.piano"] and bank.pool(128)[0].drum
    assert not bank.covers(33)


@pytest.mark.parametrize("edit,where,words", [
    (("programs: [0, 1]", "programms: [0, 1]"), ":10:", "unknown key (did you mean 'programs'?)"),
    (("patches: [a.piano, b.piano]", "patches: [a.piano, c.piano]"), ":11:", "no patch 'c.piano'"),
    (("inst_class: Piano", "inst_class: Pianos"), ":9:", "did you mean 'Piano'"),
    (("bank: 0, preset: 1}", "bank: 0, preset: 200}"), ":5:", "expected an integer 0..127"),
    (("format: slakh-studio-bank/1", "format: other"), ":1:", "expected 'slakh-studio-bank/1'"),
    (("name: t", "name: [t"), ":", "YAML syntax error"),
    (("patches: [a.kit]", "patches: [a.piano]"), ":15:", "melodic"),
    (("  a.kit: {soundfont: TimGM6mb.sf2, bank: 128, preset: 0}",
      "  a.kit: {soundfont: TimGM6mb.sf2, bank: 128, preset: 0, effects: [{type: reverb, size: 2}]}"),
     ":6:", "no parameter 'size'"),
    (("  a.kit: {soundfont: TimGM6mb.sf2, bank: 128, preset: 0}",
      "  a.kit: {soundfont: TimGM6mb.sf2, bank: 128, preset: 0, effects: [{type: flanger}]}"),
     ":6:", "unknown effect type 'flanger'"),
    (("  a.kit:", "  A Kit:"), ":6:", "patch id must match"),
])
def test_bank_faults_are_named(edit, where, words):
    with pytest.raises(patches.BankError) as exc:
        patches.parse_bank(GOOD.replace(*edit), "bank.yaml")
    msg = str(exc.value)
    assert msg.startswith("bank.yaml" + where) and words in msg, msg


def test_unreadable_bank_file(tmp_path):
    (tmp_path / "b.yaml").write_bytes(b"\xff\xfe\x00binary")
    with pytest.raises(patches.BankError, match="UTF-8"):
        patches.load_bank(tmp_path / "b.yaml")
    with pytest.raises(patches.BankError, match="cannot read"):
        patches.load_bank(tmp_path / "missing.yaml")


def test_assignment_is_seeded_and_slakh_like(small_song_path, small_bank_path):
    song = midifile.load_song(small_song_path)
    bank = patches.load_bank(small_bank_path)
    a = patches.assign_patches(song, bank, 3)
    assert a.to_dict() == patches.assign_patches(song, bank, 3).to_dict()
    for t in song.tracks:
        tp = a.tracks[t.key]
        if t.program == 103:
            assert tp.patch_id is None and "not covered" in tp.reason
        else:
            assert tp.patch_id in {p.id for p in bank.pool(t.program)}
    draws = {patches.assign_patches(song, bank, s).patch_id("S00") for s in range(30)}
    assert draws == {"timgm6mb.piano", "fluidr3_gm.piano"}  # uniform over the class pool


def test_same_program_reuses_first_patch(tmp_path, small_bank_path):
    from tests.conftest import make_song

    path = make_song(tmp_path / "two_pianos.mid", seconds=3, extra=[(0, False, "Piano 2"), (1, False, "Piano 3")])
    song = midifile.load_song(path)
    bank = patches.load_bank(small_bank_path)
    for seed in range(10):
        a = patches.assign_patches(song, bank, seed)
        assert a.patch_id("S00") == a.patch_id("S06")  # both program 0


def test_override_lock_and_roundtrip(tmp_path, small_song_path, small_bank_path):
    song = midifile.load_song(small_song_path)
    bank = patches.load_bank(small_bank_path)
    a = patches.assign_patches(song, bank, 1, fixed={"S01": "timgm6mb.fingered_bass", "S02": None}, locked={"S01"})
    assert a.patch_id("S01") == "timgm6mb.fingered_bass" and a.tracks["S01"].locked
    assert a.patch_id("S02") is None and "switched off" in a.tracks["S02"].reason
    patches.save_assignment(a, tmp_path / "a.yaml")
    b = patches.load_assignment(tmp_path / "a.yaml", song, bank)
    assert b.to_dict()["tracks"] == a.to_dict()["tracks"]
    with pytest.raises(patches.BankError, match="not in bank"):
        patches.assign_patches(song, bank, 1, fixed={"S00": "nope"})
    (tmp_path / "bad.yaml").write_text("just text")
    with pytest.raises(patches.BankError, match="not a Slakh Studio assignment"):
        patches.load_assignment(tmp_path / "bad.yaml", song, bank)


def test_fixing_one_track_leaves_the_others(small_song_path, small_bank_path):
    song = midifile.load_song(small_song_path)
    bank = patches.load_bank(small_bank_path)
    for seed in range(6):
        base = patches.assign_patches(song, bank, seed)
        other = next(p.id for p in bank.pool(33) if p.id != base.patch_id("S01"))
        changed = patches.assign_patches(song, bank, seed, fixed={"S01": other})
        assert changed.patch_id("S01") == other
        assert all(changed.patch_id(k) == base.patch_id(k) for k in ["S00", "S02", "S03", "S04", "S05"])
