"""The Patches view with real parts: SoundFonts listed by FluidSynth, auditions rendered and played on the null ALSA
device, bank edits saved and loaded again, live validation, and the dock in the main window."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt  # noqa: E402

from slakh_gui.core.patches import load_bank  # noqa: E402

SMALL_BANK = Path(__file__).resolve().parent.parent / "data" / "small_bank.yaml"


@pytest.fixture(autouse=True)
def _preset_cache(monkeypatch, tmp_path_factory):
    monkeypatch.setenv("SLAKH_STUDIO_CACHE", str(tmp_path_factory.getbasetemp() / "sf-cache"))


@pytest.fixture
def bank_copy(tmp_path) -> Path:
    path = tmp_path / "bank.yaml"
    shutil.copyfile(SMALL_BANK, path)
    return path


@pytest.fixture
def view(qtbot, tmp_path, bank_copy):
    from slakh_gui.gui.app import make_app
    from slakh_gui.gui.patches_view import PatchesView

    make_app()
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    v = PatchesView(settings=settings, autoload=False)
    qtbot.addWidget(v)
    v.resize(1400, 700)
    v.show()
    with qtbot.waitSignals([v.presetsLoaded, v.bankLoaded], timeout=20000):
        v.refresh_presets()
        v.load_bank(bank_copy)
    wait_checked(qtbot, v)
    yield v
    v.cancel_jobs()




def wait_checked(qtbot, v) -> None:
    qtbot.waitUntil(v.validation_current, timeout=15000)


def shown_rows(v) -> list[list[str]]:
    p = v.preset_proxy
    return [[p.index(r, c).data() or "" for c in range(p.columnCount())] for r in range(p.rowCount())]


def test_browser_lists_every_preset_and_filters(view):
    rows = shown_rows(view)
    assert sum(1 for r in rows if r[0] == "FluidR3_GM") == 189
    total = len(rows)
    assert "in" in view.browser_label.text() and str(total) in view.browser_label.text()
    piano = next(r for r in rows if r[0] == "FluidR3_GM" and r[1:3] == ["0", "0"])
    assert piano[5] == "fluidr3_gm.piano"
    # text: every word must match somewhere in the row
    view.filter_edit.setText("piano fluidr3_gm")
    narrowed = shown_rows(view)
    assert 0 < len(narrowed) < total
    assert all(r[0] == "FluidR3_GM" and "piano" in " ".join(r).lower() for r in narrowed)
    view.filter_edit.clear()
    # family
    view.family_combo.setCurrentText("Bass")
    basses = shown_rows(view)
    assert basses and all(r[4] == "Bass" for r in basses)
    view.family_combo.setCurrentIndex(0)
    # in bank / not in bank: the small bank uses 9 distinct presets
    view.inbank_combo.setCurrentIndex(1)
    assert len(shown_rows(view)) == 9
    view.inbank_combo.setCurrentIndex(2)
    rest = shown_rows(view)
    assert len(rest) == total - 9 and all(r[5] == "" for r in rest)
    assert not any(r[0] == "FluidR3_GM" and r[1:3] == ["0", "0"] for r in rest)


def test_bank_tree_counts_and_coverage(view):
    assert view.counts_label.text().startswith("5 classes, 9 patches (9 unique)")
    assert view.tree.topLevelItemCount() == 5
    bass = view.tree.topLevelItem(1)
    assert bass.text(1) == "Bass" and bass.text(2) == "32-35" and bass.childCount() == 2
    assert bass.child(1).text(3) == "compressor"
    cov = view.coverage_table
    assert cov.rowCount() == 129
    assert cov.item(33, 2).text() == "Bass" and cov.item(33, 3).text() == "2"
    assert cov.item(103, 2).text() == "— not covered —"
    assert cov.item(103, 0).background().color().name() != cov.item(33, 0).background().color().name()


def test_add_preset_to_class_and_save(qtbot, view, bank_copy):
    assert view.select_class("Bass")
    assert view.select_preset("FluidR3_GM.sf2", 0, 35)
    view.add_to_class_button.click()
    new = [p for p in view.bank.classes["Bass"].patches if p not in ("timgm6mb.fingered_bass",
                                                                      "fluidr3_gm.fingered_bass.comp")]
    assert len(new) == 1 and new[0].startswith("fluidr3_gm.")
    pid = new[0]
    assert view.modified and view.bank_label.text().endswith("*")
    assert view.selected_patch() == pid
    # a drum kit refuses to join a melodic class; the bank stays as it was
    assert view.select_class("Piano")
    assert view.select_preset("FluidR3_GM.sf2", 128, 0)
    assert view.add_selected_to_class() is None
    assert "drum" in view.edit_note.text() and len(view.bank.classes["Piano"].patches) == 2
    wait_checked(qtbot, view)
    assert view.save() == bank_copy
    assert not view.modified
    saved = load_bank(bank_copy)
    assert pid in saved.classes["Bass"].patches
    assert saved.patches[pid].soundfont == "FluidR3_GM.sf2" and saved.patches[pid].preset == 35
    # the browser now shows where the preset is used
    view.inbank_combo.setCurrentIndex(1)
    assert len(shown_rows(view)) == 10
    # remove it again
    assert view.remove_from_class(pid, "Bass") and pid not in view.bank.patches


def test_create_edit_delete_class_and_a_warning_appears(qtbot, view):
    from slakh_gui.gui.patches_view import ClassDialog, parse_programs

    assert parse_programs("32-37, 39") == [32, 33, 34, 35, 36, 37, 39]
    dlg = ClassDialog(view)
    dlg.family_combo.setCurrentText("Organ")
    assert dlg.programs_edit.text() == "16-23"
    assert view.add_class("Organs", "Organ", "16-19, 21")
    assert view.bank.classes["Organs"].programs == [16, 17, 18, 19, 21]
    assert view.selected_class() == "Organs"
    assert not view.set_programs("Organs", "16-x")  # refused with a message
    assert "cannot read programs" in view.edit_note.text()
    assert view.set_programs("Organs", "16-18")
    assert view.coverage_table.item(17, 2).text() == "Organs"
    wait_checked(qtbot, view)
    keys = [(f.severity, f.key) for f in view.findings]
    assert ("warning", "classes/Organs/patches") in keys
    assert view.findings_list.topLevelItemCount() == len(view.findings)
    assert view.delete_class("Organs") and "Organs" not in view.bank.classes
    wait_checked(qtbot, view)
    assert all("Organs" not in f.key for f in view.findings)


def test_effect_chain_editor_preset_and_save(qtbot, view, bank_copy):
    assert view.select_patch("timgm6mb.piano")
    combo = view.fx_preset_combo
    combo.activated.emit(combo.findText("Warm"))
    assert view.bank.patches["timgm6mb.piano"].effect_chain == [
        ("lowshelf", {"cutoff_frequency_hz": 200.0, "gain_db": 3.0}),
        ("highshelf", {"cutoff_frequency_hz": 6000.0, "gain_db": -2.0})]
    assert view.fx_list.count() == 2
    # edit a parameter in the form, then move the second effect up
    view.fx_list.setCurrentRow(1)
    row = next(r for r in range(view.fx_params.rowCount()) if view.fx_params.item(r, 0).text() == "gain_db")
    view.fx_params.item(row, 1).setText("-3")
    assert dict(view.bank.patches["timgm6mb.piano"].effect_chain[1][1])["gain_db"] == -3.0
    view.fx_up_button.click()
    assert [k for k, _ in view.bank.patches["timgm6mb.piano"].effect_chain] == ["highshelf", "lowshelf"]
    # Small room on another patch, through the API the combo uses
    assert view.apply_effect_preset("timgm6mb.strings", "Small room")
    wait_checked(qtbot, view)
    view.save()
    text = bank_copy.read_text()
    assert "{type: reverb, room_size: 0.3, wet_level: 0.15, dry_level: 0.85}" in text
    assert "{type: highshelf, cutoff_frequency_hz: 6000.0, gain_db: -3.0}" in text
    assert load_bank(bank_copy).patches["timgm6mb.strings"].effect_chain[0][0] == "reverb"


def test_validation_error_and_draft_save(qtbot, view, bank_copy):
    assert view.select_patch("timgm6mb.strings")
    view.fx_add_button.click()  # a reverb with defaults
    view.fx_type_combo.setCurrentText("gain")
    view.fx_type_combo.activated.emit(view.fx_type_combo.currentIndex())
    assert view.bank.patches["timgm6mb.strings"].effect_chain == [("gain", {})]
    view.fx_params.item(0, 1).setText("100")  # pedalboard takes it; the bank's range is ±48 dB
    wait_checked(qtbot, view)
    errors = [f for f in view.findings if f.severity == "error"]
    assert len(errors) == 1 and errors[0].key == "patches/timgm6mb.strings/effects/0/gain_db"
    assert errors[0].line and "1 error" in view.findings_label.text()
    assert view.save() == bank_copy
    assert "saved as draft: 1 error" in view.save_label.text()
    assert load_bank(bank_copy).patches["timgm6mb.strings"].effect_chain == [("gain", {"gain_db": 100.0})]


def test_patches_dock_audition_plays_and_saving_reloads_the_song(qtbot, window, tmp_path, small_song_path):
    win, pv = window, window.patches_view
    assert win.patches_dock.widget() is pv and pv.player is win.player
    assert pv in [d.widget() for d in win.tabifiedDockWidgets(win.tracks_dock)]
    assert win.patches_dock.toggleViewAction() in win.menuBar().actions()[-2].menu().actions()
    assert pv.bank is None  # nothing is read while the dock is behind the Tracks tab
    win.patches_dock.raise_()
    qtbot.waitUntil(lambda: pv.bank is not None and pv.preset_model.rowCount() > 0, timeout=20000)
    assert pv.bank.name == "default" and pv.isVisible()
    # audition a default-bank patch with Enter in the tree
    cls = next(c for c in pv.bank.classes.values() if c.inst_class == "Bass" and c.patches)
    assert pv.select_patch(cls.patches[0], cls.name)
    pv.tree.setFocus()
    with qtbot.waitSignal(pv.auditionReady, timeout=20000) as blocker:
        qtbot.keyClick(pv.tree, Qt.Key.Key_Return)
    aud = blocker.args[0]
    assert aud.kind == "bass" and math.isfinite(aud.lufs) and aud.peak_dbfs < 0
    assert "LUFS" in pv.audition_label.text() and not pv.ab_button.isEnabled()
    if win.player is not None:
        qtbot.waitUntil(lambda: win.player.frames_delivered > 0, timeout=5000)
    # a browser preset becomes B, the patch A; A/B switches what plays
    assert pv.select_preset("TimGM6mb.sf2", 0, 33)
    pv.preset_table.setFocus()
    with qtbot.waitSignal(pv.auditionReady, timeout=20000):
        qtbot.keyClick(pv.preset_table, Qt.Key.Key_Enter)
    assert pv.ab_button.isEnabled() and pv.playing_slot == "B"
    pv.ab_button.click()
    assert pv.playing_slot == "A" and "<b>▶ A:" in pv.audition_label.text()
    if win.player is not None:
        assert len(win.player._sources["audition"]) == len(aud.audio)
    # the window's bank, edited and saved in the view: the song is loaded again with it
    bank = tmp_path / "small.yaml"
    shutil.copyfile(SMALL_BANK, bank)
    with qtbot.waitSignal(win.songLoaded, timeout=20000):
        win.open_path(small_song_path, bank)
    with qtbot.waitSignal(pv.bankLoaded, timeout=20000):
        pv.load_bank(bank)
    assert pv.add_class("Organs", "Organ", "16-19")
    with qtbot.waitSignal(win.songLoaded, timeout=20000):
        assert pv.save() == bank
    assert "Organs" in win.bank.classes


def test_move_patch_between_classes(qtbot, view, bank_copy):
    assert view.move_patch("timgm6mb.strings", "Strings", "Piano")
    assert "timgm6mb.strings" in view.bank.classes["Piano"].patches
    assert "timgm6mb.strings" not in view.bank.classes["Strings"].patches
    assert view.selected_patch() == "timgm6mb.strings" and view.modified
    # a drum kit cannot move into a melodic class: nothing changes
    assert not view.move_patch("timgm6mb.standard_kit", "Drums", "Bass")
    assert "timgm6mb.standard_kit" in view.bank.classes["Drums"].patches
    assert "timgm6mb.standard_kit" not in view.bank.classes["Bass"].patches
    wait_checked(qtbot, view)
    view.save()
    saved = load_bank(bank_copy)
    assert "timgm6mb.strings" in saved.classes["Piano"].patches and saved.classes["Strings"].patches == []
