"""The Patches view with real parts: SoundFonts listed by FluidSynth, auditions rendered and played on the null ALSA
device, bank edits saved and loaded again, live validation, and the dock in the main window."""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt

from slakh_gui.core.bank.patches import load_bank

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
    from slakh_gui.gui.patches import PatchesView

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
    p = v.browser.preset_proxy
    return [[p.index(r, c).data() or "" for c in range(p.columnCount())] for r in range(p.rowCount())]


def test_browser_lists_every_preset_and_filters(view):
    rows = shown_rows(view)
    assert sum(1 for r in rows if r[0] == "FluidR3_GM") == 189
    total = len(rows)
    assert "in" in view.browser.browser_label.text() and str(total) in view.browser.browser_label.text()
    piano = next(r for r in rows if r[0] == "FluidR3_GM" and r[1:3] == ["0", "0"])
    assert piano[5] == "fluidr3_gm.piano"
    # text: every word must match somewhere in the row
    view.browser.filter_edit.setText("piano fluidr3_gm")
    narrowed = shown_rows(view)
    assert 0 < len(narrowed) < total
    assert all(r[0] == "FluidR3_GM" and "piano" in " ".join(r).lower() for r in narrowed)
    view.browser.filter_edit.clear()
    # family
    view.browser.family_combo.setCurrentText("Bass")
    basses = shown_rows(view)
    assert basses and all(r[4] == "Bass" for r in basses)
    view.browser.family_combo.setCurrentIndex(0)
    # in bank / not in bank: the small bank uses 9 distinct presets
    view.browser.inbank_combo.setCurrentIndex(1)
    assert len(shown_rows(view)) == 9
    view.browser.inbank_combo.setCurrentIndex(2)
    rest = shown_rows(view)
    assert len(rest) == total - 9 and all(r[5] == "" for r in rest)
    assert not any(r[0] == "FluidR3_GM" and r[1:3] == ["0", "0"] for r in rest)


def test_bank_tree_counts_and_coverage(view):
    assert view.bank_tree.counts_label.text().startswith("5 classes, 9 patches (9 unique)")
    assert view.bank_tree.tree.topLevelItemCount() == 5
    bass = view.bank_tree.tree.topLevelItem(1)
    assert bass.text(1) == "Bass" and bass.text(2) == "32-35" and bass.childCount() == 2
    assert bass.child(1).text(3) == "compressor"
    cov = view.coverage_table
    assert cov.rowCount() == 129
    assert cov.item(33, 2).text() == "Bass" and cov.item(33, 3).text() == "2"
    assert cov.item(103, 2).text() == "— not covered —"
    assert cov.item(103, 0).background().color().name() != cov.item(33, 0).background().color().name()


def test_add_preset_to_class_and_save(qtbot, view, bank_copy):
    assert view.bank_tree.select_class("Bass")
    assert view.browser.select_preset("FluidR3_GM.sf2", 0, 35)
    view.browser.add_to_class_button.click()
    new = [p for p in view.bank.classes["Bass"].patches if p not in ("timgm6mb.fingered_bass",
                                                                      "fluidr3_gm.fingered_bass.comp")]
    assert len(new) == 1 and new[0].startswith("fluidr3_gm.")
    pid = new[0]
    assert view.modified and view.bank_label.text().endswith("*")
    assert view.bank_tree.selected_patch() == pid
    # a drum kit refuses to join a melodic class; the bank stays as it was
    assert view.bank_tree.select_class("Piano")
    assert view.browser.select_preset("FluidR3_GM.sf2", 128, 0)
    assert view.add_selected_to_class() is None
    assert "drum" in view.bank_tree.edit_note.text() and len(view.bank.classes["Piano"].patches) == 2
    wait_checked(qtbot, view)
    assert view.save() == bank_copy
    assert not view.modified
    saved = load_bank(bank_copy)
    assert pid in saved.classes["Bass"].patches
    assert saved.patches[pid].soundfont == "FluidR3_GM.sf2" and saved.patches[pid].preset == 35
    # the browser now shows where the preset is used
    view.browser.inbank_combo.setCurrentIndex(1)
    assert len(shown_rows(view)) == 10
    # remove it again
    assert view.bank_tree.remove_from_class(pid, "Bass") and pid not in view.bank.patches


def test_create_edit_delete_class_and_a_warning_appears(qtbot, view):
    from slakh_gui.gui.patches import ClassDialog, parse_programs

    assert parse_programs("32-37, 39") == [32, 33, 34, 35, 36, 37, 39]
    dlg = ClassDialog(view)
    dlg.family_combo.setCurrentText("Organ")
    assert dlg.programs_edit.text() == "16-23"
    assert view.bank_tree.add_class("Organs", "Organ", "16-19, 21")
    assert view.bank.classes["Organs"].programs == [16, 17, 18, 19, 21]
    assert view.bank_tree.selected_class() == "Organs"
    assert not view.bank_tree.set_programs("Organs", "16-x")  # refused with a message
    assert "cannot read programs" in view.bank_tree.edit_note.text()
    assert view.bank_tree.set_programs("Organs", "16-18")
    assert view.coverage_table.item(17, 2).text() == "Organs"
    wait_checked(qtbot, view)
    keys = [(f.severity, f.key) for f in view.findings]
    assert ("warning", "classes/Organs/patches") in keys
    assert view.validation.findings_list.topLevelItemCount() == len(view.findings)
    assert view.bank_tree.delete_class("Organs") and "Organs" not in view.bank.classes
    wait_checked(qtbot, view)
    assert all("Organs" not in f.key for f in view.findings)


def test_effect_chain_editor_preset_and_save(qtbot, view, bank_copy):
    assert view.bank_tree.select_patch("timgm6mb.piano")
    combo = view.effects.fx_preset_combo
    combo.activated.emit(combo.findText("Warm"))
    assert view.bank.patches["timgm6mb.piano"].effect_chain == [
        ("lowshelf", {"cutoff_frequency_hz": 200.0, "gain_db": 3.0}),
        ("highshelf", {"cutoff_frequency_hz": 6000.0, "gain_db": -2.0})]
    assert view.effects.fx_list.count() == 2
    # edit a parameter in the form, then move the second effect up
    view.effects.fx_list.setCurrentRow(1)
    params = view.effects.fx_params
    row = next(r for r in range(params.rowCount()) if params.item(r, 0).text() == "gain_db")
    params.item(row, 1).setText("-3")
    assert dict(view.bank.patches["timgm6mb.piano"].effect_chain[1][1])["gain_db"] == -3.0
    view.effects.fx_up_button.click()
    assert [k for k, _ in view.bank.patches["timgm6mb.piano"].effect_chain] == ["highshelf", "lowshelf"]
    # Small room on another patch, through the API the combo uses
    assert view.effects.apply_effect_preset("timgm6mb.strings", "Small room")
    wait_checked(qtbot, view)
    view.save()
    text = bank_copy.read_text()
    assert "{type: reverb, room_size: 0.3, wet_level: 0.15, dry_level: 0.85}" in text
    assert "{type: highshelf, cutoff_frequency_hz: 6000.0, gain_db: -3.0}" in text
    assert load_bank(bank_copy).patches["timgm6mb.strings"].effect_chain[0][0] == "reverb"


def test_validation_error_and_draft_save(qtbot, view, bank_copy):
    assert view.bank_tree.select_patch("timgm6mb.strings")
    view.effects.fx_add_button.click()  # a reverb with defaults
    view.effects.fx_type_combo.setCurrentText("gain")
    view.effects.fx_type_combo.activated.emit(view.effects.fx_type_combo.currentIndex())
    assert view.bank.patches["timgm6mb.strings"].effect_chain == [("gain", {})]
    view.effects.fx_params.item(0, 1).setText("100")  # pedalboard takes it; the bank's range is ±48 dB
    wait_checked(qtbot, view)
    errors = [f for f in view.findings if f.severity == "error"]
    assert len(errors) == 1 and errors[0].key == "patches/timgm6mb.strings/effects/0/gain_db"
    assert errors[0].line and "1 error" in view.validation.findings_label.text()
    # the editor and the findings list number the effect as the editor's list does ("1. gain"), not "effect 0"
    assert view.effects.fx_list.item(0).text().startswith("1. gain")
    note = view.effects.fx_note.text()
    assert "effect 1 (gain): gain gain_db = 100 is out of range" in note and "effect 0" not in note
    where = view.validation.findings_list.topLevelItem(0).text(2)
    assert where == "timgm6mb.strings › effect 1 (gain) › gain_db"
    # a chain the bank refuses names the effect by its place in the list too
    assert not view.effects.set_effect_chain("timgm6mb.strings", [{"type": "gain"}, {"type": "reverb", "bogus": 1}])
    assert "effect 2: effect 'reverb' has no parameter 'bogus'" in view.effects.fx_note.text()
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
    qtbot.waitUntil(lambda: pv.bank is not None and pv.browser.preset_model.rowCount() > 0, timeout=20000)
    assert pv.bank.name == "default" and pv.isVisible()
    # audition a default-bank patch with Enter in the tree
    cls = next(c for c in pv.bank.classes.values() if c.inst_class == "Bass" and c.patches)
    assert pv.bank_tree.select_patch(cls.patches[0], cls.name)
    pv.bank_tree.tree.setFocus()
    with qtbot.waitSignal(pv.auditionReady, timeout=20000) as blocker:
        qtbot.keyClick(pv.bank_tree.tree, Qt.Key.Key_Return)
    aud = blocker.args[0]
    assert aud.kind == "bass" and math.isfinite(aud.lufs) and aud.peak_dbfs < 0
    assert "LUFS" in pv.audition.audition_label.text() and not pv.audition.ab_button.isEnabled()
    if win.player is not None:
        qtbot.waitUntil(lambda: win.player.frames_delivered > 0, timeout=5000)
    # a browser preset becomes B, the patch A; A/B switches what plays
    assert pv.browser.select_preset("TimGM6mb.sf2", 0, 33)
    pv.browser.preset_table.setFocus()
    with qtbot.waitSignal(pv.auditionReady, timeout=20000):
        qtbot.keyClick(pv.browser.preset_table, Qt.Key.Key_Enter)
    assert pv.audition.ab_button.isEnabled() and pv.audition.playing_slot == "B"
    pv.audition.ab_button.click()
    assert pv.audition.playing_slot == "A" and "<b>▶ A:" in pv.audition.audition_label.text()
    if win.player is not None:
        assert len(win.player._sources["audition"]) == len(aud.audio)
    # the window's bank, edited and saved in the view: the song is loaded again with it
    bank = tmp_path / "small.yaml"
    shutil.copyfile(SMALL_BANK, bank)
    with qtbot.waitSignal(win.songLoaded, timeout=20000):
        win.open_path(small_song_path, bank)
    with qtbot.waitSignal(pv.bankLoaded, timeout=20000):
        pv.load_bank(bank)
    assert pv.bank_tree.add_class("Organs", "Organ", "16-19")
    with qtbot.waitSignal(win.songLoaded, timeout=20000):
        assert pv.save() == bank
    assert "Organs" in win.bank.classes


def test_move_patch_between_classes(qtbot, view, bank_copy):
    assert view.bank_tree.move_patch("timgm6mb.strings", "Strings", "Piano")
    assert "timgm6mb.strings" in view.bank.classes["Piano"].patches
    assert "timgm6mb.strings" not in view.bank.classes["Strings"].patches
    assert view.bank_tree.selected_patch() == "timgm6mb.strings" and view.modified
    # a drum kit cannot move into a melodic class: nothing changes
    assert not view.bank_tree.move_patch("timgm6mb.standard_kit", "Drums", "Bass")
    assert "timgm6mb.standard_kit" in view.bank.classes["Drums"].patches
    assert "timgm6mb.standard_kit" not in view.bank.classes["Bass"].patches
    wait_checked(qtbot, view)
    view.save()
    saved = load_bank(bank_copy)
    assert "timgm6mb.strings" in saved.classes["Piano"].patches and saved.classes["Strings"].patches == []


# ---------------------------------------------------------------------------------------------- defects and safety


def test_family_filter_lists_each_family_once(view):
    combo = view.browser.family_combo
    items = [combo.itemText(i) for i in range(combo.count())]
    assert len({i.casefold() for i in items}) == len(items) == 1 + 16
    assert "Sound Effects" in items and "Sound effects" not in items
    combo.setCurrentText("Sound Effects")
    rows = shown_rows(view)
    fluid = {int(r[2]) for r in rows if r[0] == "FluidR3_GM" and r[1] == "0"}
    assert {100, 120} <= fluid  # GM's FX 5 (96-103) and Guitar Fret Noise (119-127) are both sound effects
    assert all(r[4] == "Sound Effects" for r in rows)


def test_effect_parameters_show_their_values(view):
    assert view.bank_tree.select_patch("fluidr3_gm.fingered_bass.comp")
    t = view.effects.fx_params
    cells = {t.item(r, 0).text(): t.item(r, 1) for r in range(t.rowCount())}
    assert list(cells) == ["threshold_db", "ratio", "attack_ms", "release_ms"]
    assert all(item.text() for item in cells.values())  # every parameter shows the value in use
    assert cells["threshold_db"].text() == "-20" and not cells["threshold_db"].font().italic()
    assert cells["attack_ms"].text() == "1" and cells["attack_ms"].font().italic()  # pedalboard's default
    # clearing a value goes back to the default, which is then shown
    cells["ratio"].setText("")
    assert view.bank.patches["fluidr3_gm.fingered_bass.comp"].effect_chain == [("compressor", {"threshold_db": -20.0})]
    ratio = next(t.item(r, 1) for r in range(t.rowCount()) if t.item(r, 0).text() == "ratio")
    assert ratio.text() == "1" and ratio.font().italic()


def test_editing_a_parameter_in_its_cell_gives_no_qt_warning(qtbot, view):
    from PySide6.QtCore import qInstallMessageHandler
    from PySide6.QtWidgets import QApplication

    messages: list[str] = []
    previous = qInstallMessageHandler(lambda _mode, _ctx, text: messages.append(text))
    try:
        assert view.bank_tree.select_patch("fluidr3_gm.fingered_bass.comp")
        t = view.effects.fx_params
        for value in ("-12", "-6"):
            index = t.model().index(0, 1)
            t.setCurrentIndex(index)
            t.setFocus()
            t.edit(index)
            editor = QApplication.focusWidget()
            assert editor is not None and editor is not t
            editor.selectAll()
            qtbot.keyClicks(editor, value)
            qtbot.keyClick(editor, Qt.Key.Key_Return)
            qtbot.wait(20)
            assert view.bank.patches["fluidr3_gm.fingered_bass.comp"].effect_chain[0][1]["threshold_db"] == float(value)
            assert t.item(0, 1).text() == value
    finally:
        qInstallMessageHandler(previous)
    assert not [m for m in messages if "commitData" in m or "does not belong" in m], messages


def test_first_audition_is_a_and_the_second_b(qtbot, view):
    assert view.browser.select_preset("TimGM6mb.sf2", 0, 33)
    with qtbot.waitSignal(view.auditionReady, timeout=20000):
        view.audition_selected()
    text = view.audition.audition_label.text()
    assert "<b>▶ A: TimGM6mb 0:33" in text and "B:" not in text and not view.audition.ab_button.isEnabled()
    assert view.bank_tree.select_patch("timgm6mb.piano")
    with qtbot.waitSignal(view.auditionReady, timeout=20000):
        view.audition_selected()
    text = view.audition.audition_label.text()
    assert "A: TimGM6mb 0:33" in text and "<b>▶ B: timgm6mb.piano" in text and view.audition.playing_slot == "B"
    view.audition.ab_button.click()
    assert view.audition.playing_slot == "A"


def _answer(monkeypatch, view, button) -> list[str]:
    """Make the unsaved-changes question answer ``button``; the names it was asked about are returned."""
    asked: list[str] = []

    def ask(name, parent=None):
        asked.append(name)
        return button

    monkeypatch.setattr(view, "_ask_unsaved", ask)
    return asked


def test_confirm_discard_asks_only_with_unsaved_edits(monkeypatch, view, bank_copy):
    from PySide6.QtWidgets import QMessageBox

    Button = QMessageBox.StandardButton
    asked = _answer(monkeypatch, view, Button.Cancel)
    assert not view.has_unsaved_changes() and view.confirm_discard() and asked == []
    before = bank_copy.read_text()
    assert view.bank_tree.add_class("Organs", "Organ", "16-19")
    assert view.has_unsaved_changes()
    assert view.confirm_discard() is False and asked == ["small-test"]
    assert "Organs" in view.bank.classes and view.modified  # Cancel keeps the edits
    _answer(monkeypatch, view, Button.Discard)
    assert view.confirm_discard() is True and bank_copy.read_text() == before  # Discard writes nothing
    _answer(monkeypatch, view, Button.Save)
    assert view.confirm_discard() is True
    assert "Organs" in load_bank(bank_copy).classes and not view.modified


def test_confirm_discard_save_that_fails_or_is_cancelled_keeps_the_edits(monkeypatch, view, tmp_path):
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    _answer(monkeypatch, view, QMessageBox.StandardButton.Save)
    assert view.bank_tree.add_class("Organs", "Organ", "16-19")
    offered = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: offered.append(1) or ("", ""))
    monkeypatch.setattr(view.doc, "path", tmp_path / "missing-folder" / "bank.yaml")
    assert view.confirm_discard() is False and view.modified  # the write failed; Save As offered, cancelled
    assert "Not saved" in view.save_label.text() and offered == [1]
    monkeypatch.setattr(view.doc, "path", None)  # never saved: Save asks for a file, and the user cancels
    assert view.confirm_discard() is False and view.modified and "Organs" in view.bank.classes
    # a bank that cannot be written where it is (a read-only install) is saved where the user says instead
    monkeypatch.setattr(view.doc, "path", tmp_path / "missing-folder" / "bank.yaml")
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "elsewhere.yaml"), ""))
    assert view.confirm_discard() is True and not view.modified
    assert "Organs" in (tmp_path / "elsewhere.yaml").read_text()


def test_a_shipped_bank_of_an_installed_app_is_saved_in_the_users_banks(monkeypatch, view, tmp_path):
    """From a wheel (pip/pipx), the shipped banks sit inside the package, often writable: Save never writes there
    (an upgrade would drop the edits), it asks where, starting in the user's banks folder."""
    from PySide6.QtWidgets import QFileDialog, QMessageBox

    from slakh_gui import paths

    package = tmp_path / "site-packages" / "slakh_gui"  # an installed package: no pyproject.toml beside it
    shipped = package / "_patches" / "bank.yaml"
    shipped.parent.mkdir(parents=True)
    shutil.copyfile(view.bank_path, shipped)
    before = shipped.read_text()
    monkeypatch.setattr(paths, "_PACKAGE", package)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setattr(view.doc, "path", shipped)
    assert paths.is_installed_data(shipped) and not paths.is_installed_data(tmp_path / "bank.yaml")
    assert view.bank_tree.add_class("Organs", "Organ", "16-19")
    starts: list[str] = []
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda _w, _t, start, *a: starts.append(start) or ("", ""))
    assert view.save() is None and view.modified  # Save became Save As, cancelled
    _answer(monkeypatch, view, QMessageBox.StandardButton.Save)
    assert view.confirm_discard() is False and view.modified  # asked once, cancelled: the edits stay
    mine = tmp_path / "data" / "slakh-studio" / "banks" / "bank.yaml"
    assert starts == [str(mine)] * 2 and mine.parent.is_dir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda _w, _t, start, *a: (start, ""))
    assert view.save() == mine and not view.modified and view.bank_path == mine
    assert "Organs" in mine.read_text() and shipped.read_text() == before


def test_loading_another_bank_asks_first(qtbot, monkeypatch, view, tmp_path):
    from PySide6.QtWidgets import QMessageBox

    other = tmp_path / "other.yaml"
    shutil.copyfile(SMALL_BANK, other)
    asked = _answer(monkeypatch, view, QMessageBox.StandardButton.Cancel)
    assert view.bank_tree.add_class("Organs", "Organ", "16-19")
    assert view.load_bank(other) is None and asked == ["small-test"]
    assert "Organs" in view.bank.classes and view.modified and view.bank_path.name == "bank.yaml"
    _answer(monkeypatch, view, QMessageBox.StandardButton.Discard)
    with qtbot.waitSignal(view.bankLoaded, timeout=20000):
        assert view.load_bank(other) is not None
    assert view.bank_path == other and "Organs" not in view.bank.classes and not view.modified


def test_undo_and_redo_bank_edits(qtbot, view):
    assert view.bank_tree.add_class("Organs", "Organ", "16-19")
    assert view.bank_tree.move_patch("timgm6mb.strings", "Strings", "Piano")
    assert view.undo_button.isEnabled() and "Moved timgm6mb.strings" in view.undo_button.toolTip()
    view.undo_button.click()
    assert "timgm6mb.strings" in view.bank.classes["Strings"].patches and "Organs" in view.bank.classes
    view.undo_button.click()
    assert "Organs" not in view.bank.classes and not view.modified and not view.bank_label.text().endswith("*")
    assert view.bank_tree.tree.topLevelItemCount() == 5
    view.redo_button.click()
    assert "Organs" in view.bank.classes and view.modified
    assert view.bank_tree.tree.topLevelItemCount() == 6
    # a refused edit is no step and changes nothing
    assert not view.bank_tree.move_patch("timgm6mb.standard_kit", "Drums", "Bass")
    assert view.undo_stack.count() == 2
    # Delete in the tree removes the selected patch from its class; undo brings it back
    assert view.bank_tree.select_patch("timgm6mb.piano")
    view.bank_tree.tree.setFocus()
    qtbot.keyClick(view.bank_tree.tree, Qt.Key.Key_Delete)
    assert "timgm6mb.piano" not in view.bank.classes["Piano"].patches
    view.undo_stack.undo()
    assert view.bank.classes["Piano"].patches[0] == "timgm6mb.piano" and "timgm6mb.piano" in view.bank.patches
    wait_checked(qtbot, view)


def test_fits_a_laptop_dock_of_1000_by_300(qtbot, view):
    """At 1280×720 the Patches dock gets about 1000×300 px: nothing may overlap or be squeezed."""
    from PySide6.QtCore import QSize
    from PySide6.QtWidgets import QApplication, QVBoxLayout, QWidget

    from tests.gui.layout_checks import assert_no_overlap

    dock = QWidget()  # a fixed-size holder clips like a dock does instead of growing to the view's minimum
    qtbot.addWidget(dock)
    dock.setFixedSize(1000, 300)
    lay = QVBoxLayout(dock)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(view)
    assert view.bank_tree.select_patch("fluidr3_gm.fingered_bass.comp")  # a chain in the effect editor
    view.bank_tree.set_programs("Bass", "32-x")  # a long message under the tree
    dock.show()
    qtbot.waitExposed(dock)
    try:
        QApplication.processEvents()
        assert view.size() == QSize(1000, 300)
        assert_no_overlap(view)
        for tab in range(view.tabs.count()):
            view.tabs.setCurrentIndex(tab)
            QApplication.processEvents()
            assert_no_overlap(view)
    finally:
        view.setParent(None)  # the fixture, not the holder, deletes the view


def test_kit_rule_edit_undo_and_save(qtbot, view, bank_copy):
    """A drum patch's kit rule: the checkbox and the kits list edit the bank, undo restores, saving writes the keys."""
    kit = view.kit_editor
    assert view.bank_tree.select_patch("timgm6mb.piano")
    assert kit.isHidden()  # a melodic patch has no kit rule
    assert view.bank_tree.select_patch("timgm6mb.standard_kit")
    assert not kit.isHidden() and kit.follow_box.isEnabled() and not kit.follow_box.isChecked()
    qtbot.mouseClick(kit.follow_box, Qt.MouseButton.LeftButton)
    assert view.bank.patches["timgm6mb.standard_kit"].kit_follows
    assert "Kit of timgm6mb.standard_kit: follows the track" in view.undo_button.toolTip()
    kit.kits_edit.setText("40-41")
    kit.kits_edit.editingFinished.emit()
    assert view.bank.patches["timgm6mb.standard_kit"].kits == (40, 41)
    assert view.undo_stack.count() == 2
    item = view.bank_tree.tree.currentItem()
    assert item.text(2).endswith("· kit follows · kits 40, 41")
    kit.kits_edit.setText("40, 200")  # out of range: refused with a message, the bank unchanged
    kit.kits_edit.editingFinished.emit()
    assert view.bank.patches["timgm6mb.standard_kit"].kits == (40, 41) and "0..127" in kit.note.text()
    view.undo_stack.undo()
    assert view.bank.patches["timgm6mb.standard_kit"].kits == () and kit.kits_edit.text() == ""
    view.undo_stack.undo()
    assert not view.bank.patches["timgm6mb.standard_kit"].kit_follows and not kit.follow_box.isChecked()
    assert not view.modified
    view.undo_stack.redo()
    view.undo_stack.redo()
    assert kit.follow_box.isChecked() and kit.kits_edit.text() == "40, 41"
    wait_checked(qtbot, view)
    # live validation: 41 (FluidR3's "Brush 1" variation) is no GM/GS kit program, a warning
    found = [f for f in view.findings if f.key.startswith("patches/timgm6mb.standard_kit")]
    assert [(f.severity, f.key) for f in found] == [("warning", "patches/timgm6mb.standard_kit/kits/1")]
    assert "program 41 is no GM/GS drum kit" in found[0].message
    view.save()
    text = bank_copy.read_text()
    assert "    preset: 0\n    kit: follow\n    kits: [40, 41]\n" in text
    saved = load_bank(bank_copy).patches["timgm6mb.standard_kit"]
    assert saved.kit_follows and saved.kits == (40, 41)
