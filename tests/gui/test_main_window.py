"""The real main window driven by pytest-qt: open, patches, render through FluidSynth, cancel, mixer, export,
solo through the live audio callback (null ALSA device), bad files, track folders, sessions."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt

from slakh_gui import paths
from tests.conftest import SLAKH_SAMPLES

SMALL_BANK = Path(__file__).resolve().parent.parent / "data" / "small_bank.yaml"




def open_and_wait(qtbot, win, path, bank=None):
    with qtbot.waitSignal(win.songLoaded, timeout=20000):
        win.open_path(path, bank)


def export_and_wait(qtbot, win, *args, **kwargs):
    """Export runs in the background: wait for exportFinished and return its report (None if refused/failed)."""
    with qtbot.waitSignal(win.exportFinished, timeout=60000) as blocker:
        assert win.export_mix(*args, **kwargs) is not None
    return blocker.args[0]


def render_and_wait(qtbot, win, timeout=120000):
    with qtbot.waitSignal(win.renderFinished, timeout=timeout) as blocker:
        assert win.start_render() is not None
    return blocker.args[0]


def test_demo_song_table(qtbot, window):
    open_and_wait(qtbot, window, paths.demo_song())
    m = window.model
    assert m.rowCount() == 8 and m.columnCount() == 10
    assert [m.index(r, 0).data() for r in range(3)] == ["S00", "S01", "S02"]
    assert m.index(3, 3).data() == "Drums" and m.index(3, 4).data() == "drum"
    assert m.index(4, 3).data() == "Strings (continued)"
    for r in range(8):  # every demo track has a patch from its program's pool
        assert m.index(r, 7).data() in m.pool_ids(r)
    assert "demo_song.mid" in window.song_label.text()


def test_change_patch_render_cancel_and_rerender_only_changed(qtbot, window, small_song_path, tmp_path):
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    m = window.model
    assert m.index(5, 7).data() == "— not rendered —"  # program 103: not in the bank, greyed with the reason
    assert "not covered" in m.index(5, 0).data(Qt.ItemDataRole.ToolTipRole)
    # cancel a render: nothing is left behind
    with qtbot.waitSignal(window.renderFinished, timeout=60000) as blocker:
        window.start_render()
        window.cancel_render()
    assert blocker.args[0] is None and not window.output_track_dir().exists()
    # render for real
    result = render_and_wait(qtbot, window)
    assert result is not None and (window.output_track_dir() / "mix.flac").exists()
    assert sorted(window.stems) == ["S00", "S01", "S02", "S03", "S04"] and len(window.mixer_view.strips) == 5
    # change one patch through the model (what the combo does): only that stem renders again
    row = m.row_of("S01")
    other = next(p for p in m.pool_ids(row) if p != m.index(row, 7).data())
    assert m.setData(m.index(row, 7), other)
    assert window.assignment.patch_id("S01") == other and window.dirty
    asked = []
    window.renderer.ask_existing = lambda path, free: asked.append((path.name, free)) or "replace"
    result = render_and_wait(qtbot, window)
    assert asked == [("Track00001", 2)]  # the folder exists: asked, and the user chose to replace it
    assert result.reused == ["S00", "S02", "S03", "S04"]
    assert m.index(row, 9).data() == "rendered" and m.index(0, 9).data() == "reused"


def test_fader_changes_export_by_that_many_db(qtbot, window, small_song_path, tmp_path):
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    render_and_wait(qtbot, window)
    flat = export_and_wait(qtbot, window, tmp_path / "flat.wav")
    assert flat is not None
    window.mixer_view.strips["S01"].set_gain_db(-6.0)
    louder = export_and_wait(qtbot, window, tmp_path / "minus6.wav")
    assert louder is not None
    a, _ = sf.read(tmp_path / "flat.wav", dtype="float64")
    b, _ = sf.read(tmp_path / "minus6.wav", dtype="float64")
    stem = window.stems["S01"].astype(np.float64)
    expected = a + (10 ** (-6 / 20) - 1) * stem  # only S01's contribution changes, by -6 dB
    assert np.max(np.abs(b - expected)) < 3 / 32768
    assert np.max(np.abs(b - a)) > 0.01


def test_solo_reaches_the_audio_callback(qtbot, window, small_song_path):
    if window.player is None:
        pytest.skip(window.player_note)
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    render_and_wait(qtbot, window)
    blocks, lock = [], threading.Lock()

    def tap(start, block):
        with lock:
            blocks.append((start, block[:, 0].copy()))

    window.player.tap = tap
    window.mixer_view.strips["S03"].solo.setChecked(True)  # drums only
    window.player.seek(44100)
    window.toggle_play()
    qtbot.waitUntil(lambda: sum(len(b) for _, b in blocks) >= 44100 // 2, timeout=10000)
    window.player.pause()
    with lock:
        got = list(blocks)
    drums = window.stems["S03"]
    checked = 0
    for start, block in got[1:]:  # every block after the first: exactly the drum stem
        n = min(len(block), len(drums) - start)
        assert np.allclose(block[:n], drums[start : start + n], atol=1e-6)
        checked += n
    assert checked > 10000


def test_bad_file_shows_a_message_and_keeps_the_song(qtbot, window, tmp_path):
    open_and_wait(qtbot, window, paths.demo_song())
    bad = tmp_path / "bad.mid"
    bad.write_text("this is not a MIDI file")
    job = window.open_path(bad)
    qtbot.waitUntil(lambda: job.done, timeout=10000)
    qtbot.waitUntil(lambda: window.message.isVisible(), timeout=5000)
    assert "not a Standard MIDI File" in window.message.label.text()
    assert window.song.path.name == "demo_song.mid" and window.model.rowCount() == 8


def test_open_real_slakh_track_folder(qtbot, window, tmp_path):
    src = SLAKH_SAMPLES / "slakh2100_flac_redux" / "train" / "Track00001"
    if not src.exists():
        pytest.skip("shared Slakh samples not present")
    shutil.copytree(src, tmp_path / "Track00001")
    open_and_wait(qtbot, window, tmp_path / "Track00001")
    assert len(window.stems) == 10 and window.mix_audio is not None and window.sample_rate == 44100
    assert window.model.rowCount() == 11 and window.model.index(0, 7).data() == "elektrik_guitar.nkm"
    assert set(window.mixer_view.strips) == set(window.stems)


def test_session_save_and_reopen(qtbot, window, small_song_path, tmp_path):
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    window.seed_spin.setValue(5)
    row = window.model.row_of("S02")
    window.model.setData(window.model.index(row, 8), Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert "S02" in window.locked
    assert window.documents.write_session(tmp_path / "s.json") and not window.dirty
    before = window.assignment.to_dict()
    window.seed_spin.setValue(9)
    with qtbot.waitSignal(window.songLoaded, timeout=20000):
        window.open_session(tmp_path / "s.json")
    assert window.seed == 5 and window.locked == {"S02"} and window.assignment.to_dict() == before


def test_drop_a_midi_file_opens_it(qtbot, window, small_song_path):
    from PySide6.QtCore import QMimeData, QPointF, QUrl
    from PySide6.QtGui import QDropEvent

    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(small_song_path))])
    event = QDropEvent(QPointF(50, 50), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    with qtbot.waitSignal(window.songLoaded, timeout=20000):
        window.dropEvent(event)
    assert window.song.path == small_song_path and window.model.rowCount() == 6


def test_range_mode_renders_only_the_region_and_exports_stems(qtbot, window, small_song_path, tmp_path):
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    window.range_check.setChecked(True)
    window.spectrograms.set_region(2.0, 5.0)
    assert window.loop_range == (2.0, 5.0)
    result = render_and_wait(qtbot, window)
    assert result is not None and result.metadata["slakh_studio"]["range_seconds"] == [2.0, 5.0]
    assert abs(len(window.mix_audio) / 44100 - (3.0 + window.tail_spin.value())) < 0.01
    (tmp_path / "x").mkdir()
    report = export_and_wait(qtbot, window, tmp_path / "x" / "mix.wav", stems_dir=tmp_path / "x" / "stems")
    assert report is not None and sorted(p.name for p in (tmp_path / "x" / "stems").iterdir())[:2] == [
        "S00.wav", "S01.wav"]


def test_about_lists_versions(window):
    from slakh_gui.gui.menus import about_text

    text = about_text()
    assert "FluidSynth 2." in text and "Qt 6." in text and "torch" in text


def test_without_an_audio_device_the_transport_is_off_and_rendering_works(tmp_path, small_song_path):
    """A real PortAudio with no output device (ALSA default = a card that does not exist), in a fresh process."""
    import json
    import os
    import subprocess
    import sys
    import textwrap

    conf = tmp_path / "asound.conf"
    conf.write_text("pcm.!default { type hw card 99 }\n")
    code = textwrap.dedent(f"""
        import json, os
        from PySide6.QtCore import QSettings
        from slakh_gui.gui.app import make_app
        app = make_app()
        from slakh_gui.gui.main_window import MainWindow
        win = MainWindow(QSettings({str(tmp_path / 's.ini')!r}, QSettings.Format.IniFormat), confirm_on_close=False)
        win.toggle_play()  # must do nothing, not crash
        from slakh_gui import paths
        from slakh_gui.core.midi import midifile
        from slakh_gui.core.bank import patches
        win.project.load_song(midifile.load_song(paths.demo_song()), patches.load_bank(paths.default_bank()))
        print(json.dumps({{"player": win.player is None, "play": win.play_action.isEnabled(),
                           "note": win.player_note, "render": win.render_button.isEnabled(),
                           "shown": win.transport.note_label.text(), "hidden": win.transport.note_label.isHidden()}}))
    """)
    env = dict(os.environ, ALSA_CONFIG_PATH=str(conf), QT_QPA_PLATFORM="offscreen")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    res = json.loads(proc.stdout.strip().splitlines()[-1])
    if not res["player"]:
        pytest.skip("PortAudio found an output device through another host API")
    assert res["play"] is False and res["render"] is True
    assert res["note"].startswith("Playback is off:") and "no audio output device" in res["note"]
    assert res["shown"] == res["note"] and not res["hidden"]  # the reason is in the transport itself


def test_selection_is_shared_by_table_mixer_and_spectrogram(qtbot, window, small_song_path):
    open_and_wait(qtbot, window, small_song_path, SMALL_BANK)
    render_and_wait(qtbot, window)
    window.mixer_view.stemSelected.emit("S03")  # click on a strip's name
    assert window.selected_key == "S03"
    assert {i.row() for i in window.table.selectionModel().selectedRows()} == {window.model.row_of("S03")}
    assert "#3465a4" in window.mixer_view.strips["S03"].styleSheet()
    assert window.mixer_view.strips["S00"].styleSheet() == ""
    qtbot.waitUntil(lambda: window.spectrograms.spectrogram("stem") is not None, timeout=10000)
