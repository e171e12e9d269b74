"""The Dataset dialog driven by pytest-qt: a real build of a generated corpus through the real runner (worker
processes, FluidSynth), progress to the end, cancel + resume, refused settings, a real lint finding fixed from the
Lint tab, a real Slakh2100 track opened in the main window, and statistics of the real BabySlakh sample."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pretty_midi
import pytest
import yaml

pytest.importorskip("pytestqt")

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QWidget

from slakh_gui.core.dataset.builder import load_manifest
from slakh_gui.core.midi import corpus
from tests.conftest import DATA, SLAKH_SAMPLES, make_song

SMALL_BANK = DATA / "small_bank.yaml"
RUN_TIMEOUT = 120_000


@pytest.fixture(scope="module")
def midi_dir(tmp_path_factory) -> Path:
    """Two generated band songs and one whose piano, bass and guitar programs the small bank covers; that one's
    drums also hit keys 20 and 95, which neither kit of the small bank has samples for (27-87): the runner's lint
    reports them as out of range. Two files the selection rejects: a copy of that song and a text file."""
    d = tmp_path_factory.mktemp("corpus")
    corpus.generate_corpus(d, 2, seed=1, min_duration=8, max_duration=10)
    band = make_song(d / "band.mid", seconds=9.0, seed=4)
    pm = pretty_midi.PrettyMIDI(str(band))
    drums = next(i for i in pm.instruments if i.is_drum)
    drums.notes += [pretty_midi.Note(100, 20, 1.0, 1.2), pretty_midi.Note(100, 95, 2.0, 2.2)]
    pm.write(str(band))
    (d / "copy").mkdir()
    shutil.copy(band, d / "copy" / "band.mid")
    (d / "notes.mid").write_text("not a MIDI file\n")
    return d


@pytest.fixture
def dialog(qtbot, tmp_path):
    from slakh_gui.gui.app import make_app
    from slakh_gui.gui.dataset_dialog import DatasetDialog

    make_app()
    dlg = DatasetDialog(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat),
                        confirm_on_close=False)
    qtbot.addWidget(dlg)
    dlg.show()
    yield dlg
    dlg.shutdown()


def fill(dlg, midi_dir: Path, out: Path, workers: int = 2) -> None:
    dlg.midi_edit.setText(str(midi_dir))
    dlg.out_edit.setText(str(out))
    dlg.bank_edit.setText(str(SMALL_BANK))
    dlg.min_notes_spin.setValue(10)
    dlg.split_edit.setText("1:1:1")
    dlg.workers_spin.setValue(workers)


def start_and_wait(qtbot, dlg):
    with qtbot.waitSignal(dlg.runFinished, timeout=RUN_TIMEOUT) as blocker:
        qtbot.mouseClick(dlg.start_button, Qt.MouseButton.LeftButton)
    return blocker.args[0]


def rejected_rows(panel) -> dict[str, tuple[str, str]]:
    """The Rejected tab's rows as shown: file -> (rule, reason)."""
    m = panel.table.model()
    return {m.index(r, 0).data(): (m.index(r, 1).data(), m.index(r, 2).data()) for r in range(m.rowCount())}


def meta(track: Path) -> dict:
    return yaml.safe_load((track / "metadata.yaml").read_text())


def test_build_shows_progress_results_and_fixes_a_lint_finding(qtbot, dialog, midi_dir, tmp_path):
    out = tmp_path / "ds"
    fill(dialog, midi_dir, out)
    assert dialog.start_button.isEnabled(), dialog.problem_label.text()
    result = start_and_wait(qtbot, dialog)
    assert result is not None and not result.failed
    # progress reached the end, in tracks
    assert dialog.progress.maximum() == 3 and dialog.progress.value() == 3
    assert dialog.progress.text() == "3 of 3 tracks"
    assert dialog.stage_label.text() == "Finished" and "elapsed" in dialog.time_label.text()
    assert "1 train, 1 validation, 1 test tracks" in dialog.summary_label.text()
    assert "3 rendered now" in dialog.summary_label.text()
    for split in ("train", "validation", "test"):
        assert len(list((out / split).glob("Track*/metadata.yaml"))) == 1
    assert (out / "index_slakh.json").is_file() and "complete: 3 of 3 tracks done" in dialog.resume_label.text()
    # the Rejected tab lists the files the selection left out, each with its reason
    rejected = dialog.rejected_panel
    qtbot.waitUntil(lambda: rejected.report is not None, timeout=10000)
    assert rejected_rows(rejected) == {"copy/band.mid": ("duplicate", "duplicate of band.mid"),
                                       "notes.mid": ("unreadable", rejected_rows(rejected)["notes.mid"][1])}
    assert "MThd" in rejected_rows(rejected)["notes.mid"][1]
    assert dialog.tabs.tabText(dialog.tabs.indexOf(rejected)) == "Re&jected (2)"
    assert "2 of 5 MIDI files" in rejected.summary.text() and "see the Rejected tab" in dialog.summary_label.text()
    # the Lint tab lists the runner's finding: the drum notes out of the kit's range
    lint = dialog.lint_panel
    qtbot.waitUntil(lambda: lint.table.rowCount() > 0, timeout=10000)
    kinds = [lint.table.item(r, 2).text() for r in range(lint.table.rowCount())]
    row = kinds.index("notes out of range")
    track, stem = lint.table.item(row, 0).text(), lint.table.item(row, 1).text()
    entry = next(t for t in load_manifest(out)["tracks"] if t["track"] == Path(track).name)
    assert Path(entry["midi"]).name == "band.mid" and track == f"{entry['split']}/{entry['track']}"
    assert meta(out / track)["stems"][stem]["inst_class"] == "Drums" and "&Lint (" in dialog.tabs.tabText(1)
    before = meta(out / track)["stems"][stem]["plugin_name"]
    assert lint.table.item(row, 3).text() == before
    dialog.tabs.setCurrentWidget(lint)
    lint.select_row(row)
    assert lint.reroll_button.isEnabled() and lint.drop_button.isEnabled()
    assert "pitches outside: 20, 95" in lint.details.text() and "playable: 27–87" in lint.details.text()
    with qtbot.waitSignal(lint.fixFinished, timeout=60000) as blocker:
        qtbot.mouseClick(lint.reroll_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] is not None and blocker.args[0]["action"] == "reroll"
    after = meta(out / track)["stems"][stem]["plugin_name"]
    assert after != before  # the other kit of the small bank
    entry = next(t for t in load_manifest(out)["tracks"] if t["track"] == Path(track).name)
    assert entry["fixed"] == {stem: after}
    # the table was read again: the finding is still there (both kits stop at key 87) with the new patch
    row = next(r for r in range(lint.table.rowCount()) if lint.table.item(r, 1).text() == stem)
    assert lint.table.item(row, 3).text() == after and "re-rolled" in dialog.message.label.text()
    # dropping the stem removes it from the track and its finding from the table
    lint.select_row(row)
    with qtbot.waitSignal(lint.fixFinished, timeout=60000) as blocker:
        qtbot.mouseClick(lint.drop_button, Qt.MouseButton.LeftButton)
    assert blocker.args[0] is not None, dialog.message.label.text()
    dropped = meta(out / track)["stems"][stem]
    assert dropped["audio_rendered"] is False and not (out / track / "stems" / f"{stem}.flac").exists()
    assert all(lint.table.item(r, 1).text() != stem for r in range(lint.table.rowCount()))


def test_close_and_cancel_leave_a_resumable_folder_and_resume_finishes(qtbot, dialog, midi_dir, tmp_path):
    out = tmp_path / "ds"
    fill(dialog, midi_dir, out, workers=1)
    # closing while building stops the build, then the dialog
    with qtbot.waitSignal(dialog.runFinished, timeout=RUN_TIMEOUT) as blocker:
        assert dialog.start() is not None
        dialog.close()
        assert dialog.isVisible()  # still stopping
    assert blocker.args[0] is None and not dialog.isVisible()
    dialog.show()
    # cancel once the first track is done
    done = []
    with qtbot.waitSignal(dialog.runFinished, timeout=RUN_TIMEOUT) as blocker:
        job = dialog.start()
        job.signals.progress.connect(
            lambda p: (done.append(p.done), dialog.cancel()) if p.stage == "render" and p.done >= 1 else None)
    assert blocker.args[0] is None and done
    assert dialog.stage_label.text().startswith("Cancelled")
    manifest = load_manifest(out)
    k = sum(t["status"] == "done" for t in manifest["tracks"])
    assert 1 <= k < 3
    qtbot.waitUntil(lambda: f"resume: {k} of 3 tracks done" in dialog.resume_label.text(), timeout=10000)
    assert dialog.start_button.text() == "Re&sume" and dialog.progress.text() == f"{k} of 3 tracks"
    # a fresh dialog on the same folder fills the options from the manifest and resumes
    dialog.midi_edit.setText("")
    dialog.split_edit.setText("1500:375:225")
    dialog.out_edit.setText(str(tmp_path))
    qtbot.waitUntil(lambda: "New dataset" in dialog.resume_label.text() or "empty" in dialog.resume_label.text(),
                    timeout=10000)
    dialog.out_edit.setText(str(out))
    qtbot.waitUntil(lambda: dialog.split_edit.text() == "1:1:1", timeout=10000)
    assert dialog.midi_edit.text() == str(midi_dir.resolve()) and dialog.min_notes_spin.value() == 10
    result = start_and_wait(qtbot, dialog)
    assert result is not None and len(result.skipped) == k and len(result.rendered) == 3 - k
    assert sum(result.counts.values()) == 3 and dialog.progress.value() == 3


def test_bad_settings_are_refused_in_the_form(qtbot, dialog, midi_dir, tmp_path):
    fill(dialog, midi_dir, tmp_path / "ds")
    assert dialog.start_button.isEnabled()
    dialog.split_edit.setText("1500:375")
    assert not dialog.start_button.isEnabled()
    assert "split '1500:375'" in dialog.problem_label.text() and "1px solid" in dialog.split_edit.styleSheet()
    assert dialog.start() is None and "Cannot start: split" in dialog.message.label.text()
    assert not (tmp_path / "ds").exists()
    dialog.split_edit.setText("0.8,0.1,0.1")
    assert dialog.start_button.isEnabled() and "train 80.0 %" in dialog.split_hint.text()
    dialog.band_edit.setText("piano,kazoo")
    assert not dialog.start_button.isEnabled() and "kazoo" in dialog.problem_label.text()
    dialog.band_edit.setText("piano,bass")
    assert dialog.family_actions["Bass"].isChecked() and not dialog.family_actions["Drums"].isChecked()
    dialog.family_actions["Drums"].setChecked(True)
    assert dialog.band_edit.text() == "Piano,Bass,Drums" and dialog.start_button.isEnabled()
    dialog.dask_radio.setChecked(True)
    assert not dialog.start_button.isEnabled() and "scheduler" in dialog.problem_label.text()
    # the dashboard's address instead of the scheduler's is one clear error in the dialog, not a crash
    dialog.scheduler_edit.setText("http://127.0.0.1:8787")
    with qtbot.waitSignal(dialog.runFinished, timeout=RUN_TIMEOUT) as blocker:
        dialog.start()
    assert blocker.args[0] is None and dialog.message.isVisible()
    text = dialog.message.label.text()
    assert "Dataset build failed: cannot reach the Dask scheduler" in text and "\n" not in text
    assert dialog.start_button.isEnabled() and dialog.stage_label.text().startswith("Failed")


def test_menu_opens_dialog_and_a_real_slakh_track_opens_in_the_main_window(qtbot, window, tmp_path):
    src = SLAKH_SAMPLES / "slakh2100_flac_redux"
    if not src.exists():
        pytest.skip("shared Slakh samples not present")
    from slakh_gui.gui.dataset_dialog import DatasetDialog, open_dataset_folder

    assert window.dataset_action.shortcut().toString() == "Ctrl+Shift+D"
    window.dataset_action.trigger()
    dlg = window.findChild(DatasetDialog)
    assert dlg is not None and dlg.isVisible()
    root = tmp_path / "slakh2100_flac_redux"
    shutil.copytree(src, root)
    assert open_dataset_folder(window, root) is dlg and dlg.tabs.currentWidget() is dlg.stats_panel
    lint = dlg.lint_panel
    with qtbot.waitSignal(lint.lintLoaded, timeout=30000) as blocker:
        assert lint.check() is not None
    assert blocker.args[0] == 9 and (root / "lint.yaml").is_file()  # the 2-s excerpt: 9 silent stems
    lint.select_row(0)
    assert lint.table.item(0, 0).text() == "train/Track00001" and lint.table.item(0, 2).text() == "silent"
    assert not lint.reroll_button.isEnabled()  # not a Slakh Studio dataset: nothing to re-render from
    with qtbot.waitSignal(window.songLoaded, timeout=20000):
        qtbot.mouseClick(lint.open_button, Qt.MouseButton.LeftButton)
    assert len(window.stems) == 10 and "Track00001" in window.song_label.text()
    assert window.selected_key == lint.table.item(0, 1).text()  # the finding's stem, selected for listening
    dlg.shutdown()


def test_statistics_of_the_real_babyslakh_sample(qtbot, dialog, tmp_path):
    baby = SLAKH_SAMPLES / "babyslakh_16k"
    if not baby.exists():
        pytest.skip("shared Slakh samples not present")
    stats = dialog.stats_panel
    with qtbot.waitSignal(stats.statsReady, timeout=60000) as blocker:
        dialog.open_dataset(baby)  # not a Slakh Studio dataset: straight to its statistics, computed on showing
        assert dialog.tabs.currentWidget() is stats and stats.compute() is None  # already running
    s = blocker.args[0]
    assert s is not None and s.songs == 1
    row = [stats.table1.item(0, c).text() for c in range(stats.table1.columnCount())]
    assert row[:2] == ["babyslakh_16k", "1"] and row[3] == "10–10" and row[5] == "6" and "16 kHz" in stats.note.text()
    assert stats.splits.item(0, 0).text() == "unsplit"
    assert "Track00007" in stats.note.text()  # no metadata.yaml: skipped, and said so
    assert stats.fig1.has_image() and stats.fig2.has_image()
    written = stats.save_report(tmp_path / "report")
    assert sorted(written) == sorted(p.name for p in (tmp_path / "report").iterdir())
    assert "| babyslakh_16k | 1 |" in (tmp_path / "report" / "stats.md").read_text()


def test_closing_the_main_window_stops_a_running_build(qtbot, window, midi_dir, tmp_path):
    from slakh_gui.gui.dataset_dialog import show_dataset_dialog

    dlg = show_dataset_dialog(window)
    fill(dlg, midi_dir, tmp_path / "ds", workers=1)
    job = dlg.start()
    assert job is not None and dlg.running()
    qtbot.waitUntil(lambda: dlg._pending is not None and dlg._pending.stage == "render", timeout=20000)
    window.close()  # the dialog cancels its build and waits for it before the window goes
    assert job.token.cancelled and job.done and not window.isVisible()
    manifest = load_manifest(tmp_path / "ds")
    assert manifest is not None and sum(t["status"] == "done" for t in manifest["tracks"]) < 3


def test_progress_says_what_to_do_until_there_are_tracks(qtbot, dialog, midi_dir, tmp_path):
    """No "0 of 100 tracks" before anything is chosen: the bar says what to do first."""
    assert dialog.progress.text() == "Choose a MIDI folder"
    dialog.midi_edit.setText(str(midi_dir))
    assert dialog.progress.text().startswith("Not started")
    dialog.midi_edit.setText("")
    assert dialog.progress.text() == "Choose a MIDI folder"


@pytest.fixture
def selection_folder(midi_dir, tmp_path) -> Path:
    """A folder with the real selection report of ``midi_dir`` (no dataset rendered)."""
    from slakh_gui.core.dataset.selection import select_songs, write_report

    folder = tmp_path / "selected"
    write_report(select_songs(midi_dir, min_notes=10), folder / "selection.yaml")
    return folder


def test_rejected_files_of_an_opened_folder_and_a_laptop_screen(qtbot, dialog, midi_dir, selection_folder):
    """Opening a folder lists its rejected MIDI files; every tab fits 1024x640 without overlap or squeezing."""
    from tests.gui.layout_checks import assert_no_overlap

    rejected = dialog.rejected_panel
    with qtbot.waitSignal(rejected.reportLoaded, timeout=10000) as blocker:
        dialog.open_dataset(selection_folder)
    assert blocker.args[0] == 2 and set(rejected_rows(rejected)) == {"copy/band.mid", "notes.mid"}
    rejected.filter_edit.setText("duplicate")
    assert list(rejected_rows(rejected)) == ["copy/band.mid"]
    rejected.filter_edit.setText("")
    # the lint and statistics panels load in the background: let them land (their texts change the layout)
    qtbot.waitUntil(lambda: not dialog.lint_panel.busy() and not dialog.stats_panel.busy(), timeout=60000)
    dialog.resize(1024, 640)
    qtbot.waitExposed(dialog)
    qtbot.wait(50)  # the last results' labels re-laid out
    for i in range(dialog.tabs.count()):
        dialog.tabs.setCurrentIndex(i)
        # a word-wrapped label takes its height a layout pass after it is shown: wait for the layout to settle
        qtbot.waitUntil(lambda: assert_no_overlap(dialog), timeout=3000)
    assert dialog.frameGeometry().width() <= 1024 + 20 and dialog.minimumSizeHint().height() <= 640
    # a folder without a report says so, and the tab loses its count
    with qtbot.waitSignal(rejected.reportLoaded, timeout=10000) as blocker:
        rejected.set_folder(midi_dir)
    assert blocker.args[0] == -1 and "No selection.yaml" in rejected.summary.text()
    assert dialog.tabs.tabText(dialog.tabs.indexOf(rejected)) == "Re&jected"


class FakeWindow(QWidget):
    """The main window's public API the Dataset dialog may use, and nothing else."""

    def __init__(self, settings: QSettings):
        from slakh_gui.gui.job_runner import JobRunner

        super().__init__()
        self.settings, self.confirm_on_close, self.runner = settings, False, JobRunner(self)
        self.opened: list[tuple[Path, str | None]] = []

    def open_track_folder(self, path: Path, select_stem: str | None = None) -> None:
        self.opened.append((path, select_stem))


def test_window_glue_uses_the_public_window_api(qtbot, tmp_path, selection_folder):
    from slakh_gui.gui.app import make_app
    from slakh_gui.gui.dataset_dialog import dataset_dialog, show_dataset_dialog

    make_app()
    win = FakeWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(win)
    dlg = show_dataset_dialog(win)
    try:
        assert dataset_dialog(win) is dlg and dlg.settings is win.settings and not dlg.confirm_on_close
        assert dlg.runner is win.runner  # short reads on the window's runner ...
        assert dlg.build_runner is not win.runner and dlg.build_runner.pool is dlg.pool  # ... builds on its own pool
        assert dlg.lint_panel.runner is dlg.build_runner and dlg.stats_panel.runner is dlg.build_runner
        job = dlg.rejected_panel.set_folder(selection_folder)
        assert job in win.runner.jobs
        qtbot.waitUntil(lambda: job.done, timeout=10000)
        dlg.lint_panel.openTrackRequested.emit(tmp_path / "Track00001", "S01")
        dlg.lint_panel.openTrackRequested.emit(tmp_path / "Track00002", "")
        assert win.opened == [(tmp_path / "Track00001", "S01"), (tmp_path / "Track00002", None)]
    finally:
        dlg.shutdown()
        win.runner.wait(10000)


def test_the_dialog_module_does_not_import_the_main_window():
    code = ("import sys, slakh_gui.gui.dataset_dialog; "
            "assert 'slakh_gui.gui.main_window' not in sys.modules; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr
