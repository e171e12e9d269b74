"""The app as a daily tool: nothing lost (renders, unsaved edits, banks), undo/redo, errors shown and survived,
and a window that fits a 1280 × 720 laptop screen. Real window, real FluidSynth renders, pytest-qt."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt")

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from tests.conftest import make_song
from tests.gui.layout_checks import assert_no_overlap
from tests.gui.test_main_window import SMALL_BANK, open_and_wait, render_and_wait

Answer = QMessageBox.StandardButton


def test_render_after_opening_a_second_song_keeps_the_first(qtbot, window, small_song_path, tmp_path):
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    first = render_and_wait(qtbot, window)
    assert first.path.name == "Track00001"
    first_files = {p.relative_to(first.path): p.read_bytes() for p in first.path.rglob("*") if p.is_file()}
    other = make_song(tmp_path / "other.mid", seconds=4.0, seed=9)
    open_and_wait(qtbot, window, other, SMALL_BANK)
    assert window.track_spin.value() == 2  # the next free number, shown before rendering
    second = render_and_wait(qtbot, window)
    assert second is not None and second.path.name == "Track00002"
    now = {p.relative_to(first.path): p.read_bytes() for p in first.path.rglob("*") if p.is_file()}
    assert now == first_files  # Track00001 intact, byte for byte
    assert "other.mid" in (second.path / "metadata.yaml").read_text()
    assert (second.path / "all_src.mid").read_bytes() == other.read_bytes()


def test_render_onto_an_existing_folder_asks_and_cancel_keeps_it(qtbot, window, small_song_path):
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    target = window.output_track_dir()
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("someone's earlier work")
    asked = []
    window.renderer.ask_existing = lambda path, free: asked.append((path, free)) or "cancel"
    assert window.start_render() is None
    assert asked == [(target, 2)] and (target / "notes.txt").read_text() == "someone's earlier work"
    window.renderer.ask_existing = lambda path, free: "next"
    result = render_and_wait(qtbot, window)
    assert result.path.name == "Track00002" and (target / "notes.txt").exists()


def test_opening_another_song_with_unsaved_edits_asks_and_cancel_keeps_everything(qtbot, window, small_song_path,
                                                                                  tmp_path):
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    window.confirm_on_close = True
    window.seed_spin.setValue(7)
    window.model.setData(window.model.index(window.model.row_of("S02"), 8), 2, 10)  # lock S02 (CheckStateRole)
    assert window.dirty and "S02" in window.locked
    before = window.assignment.to_dict()
    questions = []
    window.documents.ask_unsaved = lambda title, text: questions.append(text) or Answer.Cancel
    other = make_song(tmp_path / "other.mid", seconds=3.0)
    assert window.open_path(other) is None
    assert len(questions) == 1 and "unsaved changes" in questions[0]
    assert window.song.path == small_song_path and window.assignment.to_dict() == before and window.dirty
    assert window.seed == 7 and window.locked == {"S02"}
    # Discard: the other song opens
    window.documents.ask_unsaved = lambda title, text: Answer.Discard
    with qtbot.waitSignal(window.songLoaded, timeout=20000):
        assert window.open_path(other) is not None
    assert window.song.path == other and not window.dirty


def test_quit_asks_about_unsaved_session_and_bank(qtbot, window, small_song_path, tmp_path):
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    window.confirm_on_close = True
    window.seed_spin.setValue(3)
    asked = []
    window.documents.ask_unsaved = lambda title, text: asked.append(text) or Answer.Cancel
    window.close()
    assert asked and window.isVisible()  # the quit was cancelled
    window.documents.ask_unsaved = lambda title, text: Answer.Discard
    view = window.patches_view
    view.ensure_loaded()
    qtbot.waitUntil(lambda: view.bank is not None, timeout=20000)
    first_class = next(iter(view.bank.classes))
    assert view.bank_tree.rename_class(first_class, "renamed_for_test")  # a real edit of the bank
    assert view.has_unsaved_changes()
    bank_asked = []
    view._ask_unsaved = lambda name, parent=None: bank_asked.append(name) or Answer.Cancel
    window.close()
    assert bank_asked and window.isVisible()  # an unsaved bank holds the quit too
    view._ask_unsaved = lambda name, parent=None: Answer.Discard
    window.close()
    assert not window.isVisible()


def test_undo_redo_round_trips_an_assignment_and_a_fader_move(qtbot, window, small_song_path):
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    m = window.model
    row = m.row_of("S01")
    original = window.assignment.patch_id("S01")
    other = next(p for p in m.pool_ids(row) if p != original)
    assert m.setData(m.index(row, 7), other)
    assert window.assignment.patch_id("S01") == other
    window.undo_action.trigger()
    assert window.assignment.patch_id("S01") == original and m.index(row, 7).data() == original
    window.redo_action.trigger()
    assert window.assignment.patch_id("S01") == other and m.index(row, 7).data() == other
    render_and_wait(qtbot, window)
    strip = window.mixer_view.strips["S03"]
    for db in (-1.0, -3.0, -6.0):  # one drag: three moves, one undo step
        strip.set_gain_db(db)
    assert window.project.mixer.strips["S03"].gain_db == -6.0
    window.undo_action.trigger()
    assert window.project.mixer.strips["S03"].gain_db == 0.0 and strip.gain_db == 0.0
    assert window.player is None or window.player.gains.get("S03", 1.0) == pytest.approx(1.0)
    window.redo_action.trigger()
    assert window.project.mixer.strips["S03"].gain_db == -6.0 and strip.gain_db == -6.0
    assert window.redo_action.shortcuts()[0].toString() == "Ctrl+Shift+Z"


@pytest.mark.qt_no_exception_capture
def test_an_exception_in_a_slot_shows_one_dialog_and_the_app_lives_on(qtbot, window, small_song_path):
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)

    def broken() -> None:
        raise RuntimeError("boom in a slot")

    window.reporter.install()  # pytest-qt swaps sys.excepthook per test phase: put the app's hook back
    try:
        with qtbot.waitSignal(window.reporter.shown, timeout=5000) as blocker:
            QTimer.singleShot(0, broken)
    finally:
        window.reporter.uninstall()
    box = blocker.args[0]
    assert "boom in a slot" in box.text() and "slakh-studio.log" in box.text()
    assert "RuntimeError" in box.detailedText()
    box.close()
    # still alive and working
    assert window.isVisible() and window.song.path == small_song_path
    render_and_wait(qtbot, window)


def test_a_job_s_user_error_is_one_line_and_a_bug_goes_to_the_error_reporter(qtbot, window, tmp_path):
    """A background job that fails with a SlakhError (here a folder that is no track) says so in the message bar
    and opens no dialog; one that fails with anything else is a bug: the error dialog with the job's traceback."""
    from slakh_gui.core.render.track_folder import read_metadata

    shown: list = []
    window.reporter.shown.connect(shown.append)
    job = window.runner.start(read_metadata, tmp_path, hooks=False)
    qtbot.waitUntil(lambda: job.done and window.message.isVisible(), timeout=5000)
    qtbot.wait(50)
    text = window.message.label.text()
    assert text == f"{tmp_path}: not a Slakh track folder: no metadata.yaml" and not shown
    with qtbot.waitSignal(window.reporter.shown, timeout=5000) as blocker:
        window.runner.start(read_metadata, 42, hooks=False)  # a bug: not a path
    box = blocker.args[0]
    assert "TypeError" in box.text() and "slakh-studio.log" in box.text()
    assert "read_metadata" in box.detailedText()  # the trace from the worker thread
    box.close()


def test_window_fits_a_laptop_screen(qtbot, window, small_song_path):
    hint = window.minimumSizeHint()
    assert hint.width() <= 1024 and hint.height() <= 640, hint
    window.resize(1280, 720)
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    render_and_wait(qtbot, window)
    QApplication.processEvents()
    assert window.width() <= 1280 and window.height() <= 720
    for dock in (window.tracks_dock, window.mixer_dock):
        dock.raise_()
    QApplication.processEvents()
    assert_no_overlap(window)
    for name in ("mix", "stem"):  # spectrograms keep a usable height
        plot = window.spectrograms._slots[name].plot
        assert plot.sceneBoundingRect().height() >= 60
    for strip in window.mixer_view.strips.values():  # readouts never cut
        for label in (strip.lufs_label, strip.peak_label, strip.db_label):
            assert label.width() >= label.minimumSizeHint().width()
    for dock in (window.patches_dock, window.separate_dock):  # the other tabs fit too
        dock.raise_()
    qtbot.waitUntil(lambda: window.patches_view.bank is not None, timeout=30000)
    QApplication.processEvents()
    assert_no_overlap(window)
    assert window.width() <= 1280 and window.height() <= 720


def test_labels_titles_and_a_track_folder_is_read_only(qtbot, window, small_song_path):
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    assert window.windowTitle().startswith("small.mid")
    result = render_and_wait(qtbot, window)
    names = {t.key: t.name for t in window.song.tracks}
    strip = window.mixer_view.strips["S01"]
    assert strip.title == names["S01"] == "Bass"  # the track's name, not the GM program name
    open_and_wait(qtbot, window, result.path)
    assert window.windowTitle().startswith("Track00001") and "all_src" not in window.windowTitle()
    assert not window.render_button.isEnabled() and not window.seed_spin.isEnabled()
    assert "already rendered" in window.render_button.toolTip()
    assert window.start_render() is None and "already rendered" in window.message.label.text()


def test_cancel_keeps_rows_that_were_not_rendering(qtbot, window, small_song_path):
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    render_and_wait(qtbot, window)
    before = dict(window.model.status)
    window.renderer.ask_existing = lambda path, free: "replace"
    window.project.cache = type(window.project.cache)()  # every stem renders again
    with qtbot.waitSignal(window.renderFinished, timeout=60000) as blocker:
        window.start_render()
        qtbot.waitUntil(lambda: any(0 < f < 1 for f in window.renderer.stem_progress.values()), timeout=30000)
        window.cancel_render()
    assert blocker.args[0] is None
    after = dict(window.model.status)
    for key, status in after.items():
        assert status in (before.get(key), "cancelled"), (key, status)
    assert "cancelled" in after.values() and "Wrote" not in window.result_label.text()
    assert "nothing was written" in window.result_label.text()


def test_a_stem_whose_patch_changed_says_its_audio_is_older(qtbot, window, small_song_path):
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    render_and_wait(qtbot, window)
    window.select_stem("S01")
    m = window.model
    row = m.row_of("S01")
    rendered = window.assignment.patch_id("S01")
    m.setData(m.index(row, 7), next(p for p in m.pool_ids(row) if p != rendered))
    title = window.spectrograms.stem_plot.titleLabel.text
    assert m.index(row, 9).data() == "changed" and f"rendered with {rendered}" in title
    window.undo_action.trigger()  # back to the rendered patch: the row and the title say so
    assert m.index(row, 9).data() == "rendered"
    assert "rendered with" not in window.spectrograms.stem_plot.titleLabel.text
