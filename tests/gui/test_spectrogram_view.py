"""SpectrogramView: background computing, cache, stale results, scales and ticks, playhead, loop range."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QThreadPool
from PySide6.QtGui import QMouseEvent
from PySide6.QtWidgets import QApplication

import slakh_gui.gui.spectrogram_view as sv
from slakh_gui.gui.spectrogram_view import FrequencyAxis, SpectrogramView, format_hz

SR = 44100
TIMEOUT = 15_000


def tones(seconds: float, *freqs: float, amp: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SR)) / SR
    return sum(amp * np.sin(2 * np.pi * f * t) for f in freqs).astype(np.float32)


@pytest.fixture
def view(qtbot):
    v = SpectrogramView()
    qtbot.addWidget(v)
    v.resize(900, 520)
    v.show()
    yield v
    v.cancel_jobs()


def wait_shown(qtbot, view, which="mix", scale=None, n_frames=None):
    def ready():
        spec = view.spectrogram(which)
        return (spec is not None and (scale is None or spec.scale == scale)
                and (n_frames is None or spec.n_frames == n_frames))

    qtbot.waitUntil(ready, timeout=TIMEOUT)
    return view.spectrogram(which)


def test_set_mix_shows_the_image_with_time_and_frequency_axes(qtbot, view):
    x = tones(3.0, 1000.0)
    with qtbot.waitSignal(view.spectrogramShown, timeout=TIMEOUT) as shown:
        view.set_mix(x, SR)
    assert shown.args[0] == "mix"
    spec = view.spectrogram("mix")
    assert spec is shown.args[1] and spec.scale == "log"
    img = view.mix_image.image
    assert img.shape == (256, 1 + len(x) // 512)  # (bands, frames), row-major
    # the image spans the frames in seconds (centred frames) and one unit per band
    rect = view.mix_image.mapRectToParent(view.mix_image.boundingRect())
    dt = 512 / SR
    assert rect.left() == pytest.approx(-dt / 2) and rect.width() == pytest.approx(img.shape[1] * dt)
    assert rect.top() == pytest.approx(0.0) and rect.height() == pytest.approx(256.0)
    (x0, x1), (y0, y1) = view.mix_plot.getViewBox().viewRange()
    assert x0 == pytest.approx(0.0, abs=0.02) and x1 == pytest.approx(3.0, abs=0.02)
    assert (y0, y1) == pytest.approx((0.0, 256.0), abs=0.5)
    assert view.stem_plot.getViewBox().viewRange()[0] == pytest.approx([x0, x1])  # linked time axes
    # the brightest row is the 1 kHz band, and the axis puts its "1k" tick there
    row = int(np.argmax(img[:, img.shape[1] // 2]))
    axis = view.mix_plot.getAxis("left")
    assert axis.y_of(1000.0) == pytest.approx(row + 0.5, abs=1.0)
    levels = dict(axis.tickValues(0.0, 256.0, 400.0))
    assert axis.tickStrings(levels[1.0], 1.0, 1.0) == ["50", "100", "200", "500", "1k", "2k", "5k", "10k", "20k"]
    assert not view.is_busy() and view.status_label.text() == ""
    # one colour scale for both images, set from the mix: a sine at -10 dBFS tops out near -16 dB (Hann, bands)
    lo, hi = view.levels()
    assert hi - lo == pytest.approx(80.0) and -20.0 <= hi <= 0.0
    assert tuple(view.mix_image.levels) == (lo, hi)


def test_accessible_names(view):
    assert view.accessibleName() == "Spectrogram view"
    assert view.scale_combo.accessibleName() == "Frequency scale"
    assert view.graphics.accessibleName() == "Spectrogram plots"
    assert view.status_label.accessibleName() and view.clear_loop_button.accessibleName()


def test_scale_switch_recomputes_then_comes_from_the_cache(qtbot, view):
    x = tones(2.0, 440.0, 5000.0)
    view.set_mix(x, SR)
    log = wait_shown(qtbot, view, scale="log")
    with qtbot.waitSignal(view.scaleChanged, timeout=1000) as changed:
        view.scale_combo.setCurrentIndex(1)  # the user picks "Mel"
    assert changed.args == ["mel"] and view.scale() == "mel"
    mel = wait_shown(qtbot, view, scale="mel")
    assert mel is not log and np.array_equal(view.mix_image.image, mel.db)
    axis = view.mix_plot.getAxis("left")
    assert axis.spec is mel
    assert axis.y_of(5000.0) == pytest.approx(float(mel.row_of(5000.0)) + 0.5)
    view.set_scale("linear")
    wait_shown(qtbot, view, scale="linear")
    labels = axis.tickStrings(dict(axis.tickValues(0.0, 256.0, 400.0))[1.0], 1.0, 1.0)
    assert labels[:3] == ["0", "5k", "10k"]
    view.set_scale("log")  # computed before: shown at once, no job
    assert view.spectrogram("mix") is log and not view.is_busy()
    assert view.scale_combo.currentData() == "log"
    with pytest.raises(ValueError):
        view.set_scale("bark")


def test_stem_below_the_mix_and_switching_back_is_instant(qtbot, view):
    mix = tones(2.0, 220.0, 880.0)
    a, b = tones(2.0, 220.0), tones(2.0, 880.0)
    view.set_mix(mix, SR)
    view.set_stem("S00  Piano", a, SR)
    wait_shown(qtbot, view, "mix")
    spec_a = wait_shown(qtbot, view, "stem")
    assert view.stem_plot.titleLabel.text == "S00  Piano"
    view.set_stem("S01  Bass", b, SR)
    spec_b = wait_shown(qtbot, view, "stem")
    assert spec_b is not spec_a
    view.set_stem("S00  Piano", a.copy(), SR)  # same content, even as another array: from the cache
    assert view.spectrogram("stem") is spec_a and not view.is_busy()
    assert np.array_equal(view.stem_image.image, spec_a.db)
    # one reference for mix and stems: where only stem A plays, the stem reads what the mix reads
    mix_spec = view.spectrogram("mix")
    r = int(round(float(mix_spec.row_of(220.0))))
    diff = np.median(spec_a.db[r, 10:-10] - mix_spec.db[r, 10:-10])
    assert diff == pytest.approx(0.0, abs=1.0)  # the 220 Hz band is all stem A
    view.set_stem(None)
    assert view.spectrogram("stem") is None and view.stem_image.image is None
    assert "none" in view.stem_plot.titleLabel.text


def test_stale_results_are_dropped(qtbot, view, monkeypatch):
    """Two stems set quickly: the second is shown even though the first one's result arrives later."""
    real = sv.compute_spectrogram
    release = threading.Event()
    first = tones(1.0, 300.0)
    second = tones(1.5, 600.0)
    finished_first = threading.Event()

    def slow_first(audio, sr, *, progress=None, cancel=None, **params):
        if audio is first:  # ignores the cancel token on purpose: its result still comes back, late
            release.wait(10)
            try:
                return real(audio, sr, **params)
            finally:
                finished_first.set()
        return real(audio, sr, progress=progress, cancel=cancel, **params)

    monkeypatch.setattr(sv, "compute_spectrogram", slow_first)
    shown = []
    view.spectrogramShown.connect(lambda which, spec: shown.append((which, spec.n_frames)))
    view.set_stem("S00 first", first, SR)
    view.set_stem("S01 second", second, SR)
    spec = wait_shown(qtbot, view, "stem", n_frames=1 + len(second) // 512)
    release.set()
    assert finished_first.wait(10)
    QThreadPool.globalInstance().waitForDone(10_000)
    qtbot.wait(100)  # let the late result's queued signals arrive
    assert view.spectrogram("stem") is spec and np.array_equal(view.stem_image.image, spec.db)
    assert shown == [("stem", 1 + len(second) // 512)]
    assert view.stem_plot.titleLabel.text == "S01 second"
    # the late result was still worth keeping: going back to the first stem needs no job
    view.set_stem("S00 first", first, SR)
    assert view.spectrogram("stem").n_frames == 1 + len(first) // 512 and not view.is_busy()


def test_mix_replaced_while_computing(qtbot, view):
    view.set_mix(tones(4.0, 300.0), SR)
    view.set_mix(tones(1.0, 300.0), SR)
    spec = wait_shown(qtbot, view, n_frames=1 + SR // 512)
    QThreadPool.globalInstance().waitForDone(10_000)
    qtbot.wait(50)
    assert view.spectrogram("mix") is spec
    assert view.mix_plot.getViewBox().viewRange()[0][1] == pytest.approx(1.0, abs=0.02)


def test_playhead_is_cheap_and_on_both_plots(qtbot, view):
    view.set_mix(tones(2.0, 500.0), SR)
    wait_shown(qtbot, view)
    view.set_playhead(1.25)
    assert view.playhead() == 1.25 and view.stem_playhead.value() == 1.25
    assert view.mix_playhead.isVisible()
    t = time.perf_counter()
    for i in range(300):  # ten seconds of playback at 30 updates a second
        view.set_playhead(i / 150)
    assert time.perf_counter() - t < 1.0
    assert view.playhead() == pytest.approx(299 / 150)
    view.set_playhead(None)
    assert not view.mix_playhead.isVisible() and not view.stem_playhead.isVisible()
    view.set_playhead(0.5)
    assert view.mix_playhead.isVisible() and view.playhead() == 0.5


def test_region_signal(qtbot, view):
    view.set_mix(tones(3.0, 500.0), SR)
    wait_shown(qtbot, view)
    assert view.region() is None and not view.region_item.isVisible()
    with qtbot.waitSignal(view.regionChanged, timeout=1000) as sig:
        view.set_region(2.0, 0.5)
    assert sig.args == [0.5, 2.0] and view.region() == (0.5, 2.0)
    assert view.region_item.isVisible() and view.clear_loop_button.isEnabled()
    assert tuple(view.stem_region.getRegion()) == (0.5, 2.0)  # mirrored under the stem
    with qtbot.assertNotEmitted(view.regionChanged):
        view.set_region(0.5, 2.0)  # no change, no signal
    # the user drags an edge: pyqtgraph reports the end of the drag
    with qtbot.waitSignal(view.regionChanged, timeout=1000) as sig:
        view.region_item.setRegion((0.75, 2.0))
    assert sig.args == [0.75, 2.0]
    # a Shift+drag on the mix: only its end is reported, clamped to the audio
    with qtbot.assertNotEmitted(view.regionChanged):
        view._on_loop_drag(1.0, 1.5, False)
    with qtbot.waitSignal(view.regionChanged, timeout=1000) as sig:
        view._on_loop_drag(1.0, 9.0, True)
    assert sig.args == pytest.approx([1.0, 3.0])
    with qtbot.waitSignal(view.regionCleared, timeout=1000):
        view.clear_loop_button.click()
    assert view.region() is None and not view.region_item.isVisible()
    with qtbot.waitSignal(view.regionChanged, timeout=1000) as sig:
        view.set_region(1.0, 3.0)  # the same range again after a clear is news
    assert sig.args == [1.0, 3.0]


def _mouse(widget, kind, pos: QPoint, buttons, modifiers):
    button = Qt.MouseButton.LeftButton if kind != QEvent.Type.MouseMove else Qt.MouseButton.NoButton
    ev = QMouseEvent(kind, QPointF(pos), QPointF(widget.mapToGlobal(pos)), button, buttons, modifiers)
    QApplication.sendEvent(widget, ev)


def test_shift_drag_with_the_mouse_marks_a_loop_and_a_click_seeks(qtbot, view):
    view.set_mix(tones(4.0, 500.0), SR)
    wait_shown(qtbot, view)
    qtbot.wait(50)
    vb = view.mix_plot.getViewBox()
    gv = view.graphics

    def to_widget(t: float) -> QPoint:
        scene = vb.mapViewToScene(QPointF(t, 128.0))
        return gv.mapFromScene(scene)

    vp = gv.viewport()
    left, held, shift = Qt.MouseButton.LeftButton, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.ShiftModifier
    with qtbot.waitSignal(view.regionChanged, timeout=2000) as sig:
        _mouse(vp, QEvent.Type.MouseButtonPress, to_widget(1.0), held, shift)
        for t in (1.2, 1.6, 2.0, 2.5):
            _mouse(vp, QEvent.Type.MouseMove, to_widget(t), held, shift)
        _mouse(vp, QEvent.Type.MouseButtonRelease, to_widget(2.5), Qt.MouseButton.NoButton, shift)
    start, end = sig.args
    assert start == pytest.approx(1.0, abs=0.05) and end == pytest.approx(2.5, abs=0.05)
    assert vb.viewRange()[0] == pytest.approx([0.0, 4.0], abs=0.02)  # Shift+drag did not pan
    # a plain click on the stem plot asks to seek there
    svb = view.stem_plot.getViewBox()
    pos = gv.mapFromScene(svb.mapViewToScene(QPointF(3.0, 100.0)))
    with qtbot.waitSignal(view.seekRequested, timeout=2000) as sig:
        _mouse(vp, QEvent.Type.MouseButtonPress, pos, left, Qt.KeyboardModifier.NoModifier)
        _mouse(vp, QEvent.Type.MouseButtonRelease, pos, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
    assert sig.args[0] == pytest.approx(3.0, abs=0.05)


def test_levels_follow_the_mix_until_the_user_sets_them(qtbot, view):
    view.set_mix(tones(1.0, 500.0, amp=0.5), SR)
    wait_shown(qtbot, view)
    loud = view.levels()
    view.set_mix(tones(1.0, 500.0, amp=0.005), SR)  # 40 dB quieter
    wait_shown(qtbot, view, n_frames=1 + SR // 512)
    qtbot.waitUntil(lambda: view.levels() != loud, timeout=TIMEOUT)
    assert view.levels()[1] == pytest.approx(loud[1] - 40.0, abs=5.0)
    view.set_levels(-70.0, -10.0)
    view.set_stem("S00", tones(1.0, 700.0), SR)
    wait_shown(qtbot, view, "stem")
    assert view.levels() == (-70.0, -10.0)
    assert tuple(view.mix_image.levels) == tuple(view.stem_image.levels) == (-70.0, -10.0)
    view.auto_levels()
    assert view.levels()[1] == pytest.approx(loud[1] - 40.0, abs=5.0)


def test_silence_and_clear(qtbot, view):
    view.set_mix(np.zeros(SR, np.float32), SR)
    spec = wait_shown(qtbot, view)
    assert np.isfinite(spec.db).all() and (spec.db == spec.floor_db).all()
    view.set_stem("S00", np.zeros(SR, np.float32), SR)
    wait_shown(qtbot, view, "stem")
    view.set_region(0.2, 0.4)
    view.set_playhead(0.3)
    with qtbot.waitSignal(view.regionCleared, timeout=1000):
        view.clear()
    assert view.spectrogram("mix") is None and view.spectrogram("stem") is None
    assert view.mix_image.image is None and view.stem_image.image is None
    assert view.region() is None and view.playhead() == 0.0 and not view.is_busy()


def test_errors_show_in_the_status_line(qtbot, view, monkeypatch):
    def broken(audio, sr, **kwargs):
        raise RuntimeError("no luck")

    monkeypatch.setattr(sv, "compute_spectrogram", broken)
    view.set_mix(tones(0.5, 100.0), SR)
    qtbot.waitUntil(lambda: "no luck" in view.status_label.text(), timeout=TIMEOUT)
    assert view.spectrogram("mix") is None and not view.is_busy()


def test_deleting_the_view_while_computing_is_safe(qtbot):
    v = SpectrogramView()
    v.set_mix(tones(5.0, 300.0), SR)
    v.set_stem("S00", tones(5.0, 600.0), SR)
    v.deleteLater()
    qtbot.wait(10)
    QThreadPool.globalInstance().waitForDone(10_000)
    qtbot.wait(50)  # the late results find no view and are dropped
    assert not sv._LIVE_REQUESTS or all(r.job is None for r in sv._LIVE_REQUESTS)


def test_format_hz_and_axis_ticks_per_scale(qtbot):
    from slakh_gui.core.studio.spectrogram import compute_spectrogram

    assert [format_hz(f) for f in (50, 62.5, 100, 999.9, 1000, 2500, 12000, 20000)] == [
        "50", "62.5", "100", "1k", "1k", "2.5k", "12k", "20k"]
    for scale in ("log", "mel", "linear"):
        spec = compute_spectrogram(np.zeros(2048, np.float32), SR, scale=scale)
        axis = FrequencyAxis()
        axis.set_spectrogram(spec)
        for size in (80.0, 170.0, 400.0, 900.0):
            major, minor = axis.tick_freqs(0.0, 256.0, size)
            assert len(major) >= 2, (scale, size)
            px = np.sort(np.asarray(axis.y_of(major)) * size / 256.0)
            assert np.diff(px).min() >= axis.min_gap_px - 1e-6, (scale, size, major)
            assert all(spec.freqs[0] * 0.999 <= f <= SR / 2 for f in major if f > 0)
        # zoomed in far on 1 kHz: still at least two labels, in that neighbourhood
        r = float(spec.row_of(1000.0)) + 0.5
        major, _ = axis.tick_freqs(r - 2, r + 2, 300.0)
        assert len(major) >= 2 and all(800 < f < 1250 for f in major), (scale, major)


def _band_energy(spec, freq: float) -> float:
    row = int(np.argmin(np.abs(spec.freqs - freq)))
    return float(np.mean(spec.db[row]))


def test_channel_chooser_shows_left_right_mid_side_of_stereo_only(qtbot, view):
    assert view.channel_combo.isHidden()  # mono audio: nothing to choose
    view.set_mix(tones(2.0, 1000.0), SR)
    wait_shown(qtbot, view)
    assert view.channel_combo.isHidden() and not view.is_stereo()
    left, right = tones(2.0, 500.0), tones(2.0, 4000.0)
    stereo = np.stack([left, right], axis=1)
    view.set_mix(stereo, SR)
    assert view.channel_combo.isVisible() and view.is_stereo()
    mid = wait_shown(qtbot, view)
    assert mid.channel == "mono"
    assert _band_energy(mid, 500.0) > -40 and _band_energy(mid, 4000.0) > -40  # both sides in the mid
    shown = {}
    for channel in ("left", "right", "side"):
        view.channel_combo.setCurrentIndex([k for k, _ in sv.CHANNEL_VIEWS].index(channel))
        assert view.channel() == channel and f"[{dict(sv.CHANNEL_VIEWS)[channel]}]" in view.mix_plot.titleLabel.text
        qtbot.waitUntil(lambda c=channel: getattr(view.spectrogram("mix"), "channel", None) == c, timeout=TIMEOUT)
        shown[channel] = view.spectrogram("mix")
    assert _band_energy(shown["left"], 500.0) - _band_energy(shown["left"], 4000.0) > 40
    assert _band_energy(shown["right"], 4000.0) - _band_energy(shown["right"], 500.0) > 40
    assert _band_energy(shown["side"], 500.0) > -40 and _band_energy(shown["side"], 4000.0) > -40
    # identical channels: no side at all
    view.set_mix(np.stack([left, left], axis=1), SR)
    side = wait_shown(qtbot, view)
    assert side.channel == "side"
    assert side.db.max() == pytest.approx(side.floor_db)
    # a mono stem under a stereo mix is shown as it is, without a channel tag
    view.set_stem("S00", left, SR)
    wait_shown(qtbot, view, "stem")
    assert "[" not in view.stem_plot.titleLabel.text
    view.set_channel("mono")
    assert view.channel_combo.currentIndex() == 0 and "[" not in view.mix_plot.titleLabel.text
    view.set_mix(None)
    assert view.channel_combo.isHidden()
