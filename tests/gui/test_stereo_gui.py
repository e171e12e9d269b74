"""Stereo in the window: the render panel's Stereo toggle and pan mode, stereo stems kept as (n, 2) for the mixer and
the player, a pan knob per strip (undoable, double-click centres) that the audio callback follows."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import soundfile as sf
import yaml

pytest.importorskip("pytestqt")

from PySide6.QtCore import QPoint, Qt

from tests.gui.test_main_window import SMALL_BANK, export_and_wait, open_and_wait, render_and_wait


def render_stereo(qtbot, win, song):
    open_and_wait(qtbot, win, song, SMALL_BANK)
    panel = win.render_panel
    assert not panel.pan_combo.isEnabled()  # pan mode only means something in stereo
    panel.stereo_check.setChecked(True)
    assert panel.pan_combo.isEnabled() and win.project.settings.stereo
    panel.pan_combo.setCurrentText("none")
    assert win.project.settings.pan == "none"
    return render_and_wait(qtbot, win)


def test_stereo_toggle_renders_stereo_files_and_keeps_them_stereo(qtbot, window, small_song_path, tmp_path):
    result = render_stereo(qtbot, window, small_song_path)
    assert result is not None and result.channels == 2
    md = yaml.safe_load((result.path / "metadata.yaml").read_text())
    assert md["slakh_studio"]["channels"] == 2 and md["slakh_studio"]["pan_mode"] == "none"
    assert window.project.audio.stereo
    assert all(a.ndim == 2 and a.shape[1] == 2 for a in window.stems.values())
    assert window.mix_audio.shape[1] == 2
    assert all(np.isfinite(p) for p in window.project.audio.peaks.values())
    qtbot.waitUntil(lambda: "LUFS" in window.mixer_view.mix_lufs.text() and "–" not in window.mixer_view.mix_lufs.text(),
                    timeout=20000)
    assert all(a.ndim == 1 for a in window.separate_view.stems.values())  # separation gets the fold-down
    assert window.separate_view.mix.ndim == 1 and window.separate_view.stereo_mix.shape[1] == 2  # external models
    report = export_and_wait(qtbot, window, tmp_path / "mix.wav")  # the export is stereo too
    assert report is not None and sf.info(str(tmp_path / "mix.wav")).channels == 2
    # the session keeps the toggle; off again disables the pan mode
    assert window.project.to_session().options["stereo"] is True
    window.render_panel.stereo_check.setChecked(False)
    assert not window.project.settings.stereo and not window.render_panel.pan_combo.isEnabled()


def test_pan_knob_edits_the_mixer_undoably_and_the_callback_follows(qtbot, window, small_song_path):
    render_stereo(qtbot, window, small_song_path)
    strip = window.mixer_view.strips["S01"]
    knob = strip.pan_knob
    qtbot.waitUntil(knob.isVisible, timeout=5000)  # a new strip is shown by its layout on the next event loop
    assert strip.pan_label.text() == "C"
    knob.setValue(-100)  # as a drag or the keyboard would
    assert window.project.mixer.strips["S01"].pan == -1.0 and strip.pan_label.text() == "L100"
    knob.setValue(-50)
    assert window.project.mixer.strips["S01"].pan == -0.5
    window.undo_stack.undo()  # the knob's moves merged into one step
    assert window.project.mixer.strips["S01"].pan == 0.0 and knob.value() == 0
    window.undo_stack.redo()
    assert window.project.mixer.strips["S01"].pan == -0.5
    qtbot.mouseDClick(knob, Qt.MouseButton.LeftButton, pos=QPoint(knob.width() // 2, knob.height() // 2))
    assert window.project.mixer.strips["S01"].pan == 0.0
    if window.player is None:
        pytest.skip(window.player_note)
    knob.setValue(-100)
    window.mixer_view.strips["S01"].solo.setChecked(True)
    blocks, lock = [], threading.Lock()

    def tap(start, block):
        with lock:
            blocks.append((start, block.copy()))

    window.player.tap = tap
    window.player.seek(0)
    window.toggle_play()
    qtbot.waitUntil(lambda: sum(len(b) for _, b in blocks) >= 44100, timeout=10000)
    window.player.pause()
    with lock:
        got = list(blocks)
    stem = window.stems["S01"]
    checked = 0
    for start, block in got[1:]:  # hard left: the stem's left channel, silence on the right
        assert block.shape[1] == 2
        n = min(len(block), len(stem) - start)
        assert np.allclose(block[:n, 0], stem[start:start + n, 0], atol=1e-6)
        assert not np.any(block[:n, 1])
        checked += n
    assert checked > 10000 and np.any(stem[:, 0])
