"""The Separate panel in the real main window: a real model (the shipped bass model, or one trained here with the
library's training API on a rendered track), real audio (a rendered track folder, real BabySlakh), real widgets,
playback through the live audio callback on the null ALSA device."""

from __future__ import annotations

import math
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

pytest.importorskip("pytestqt")

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from slakh_gui import paths
from tests.conftest import SLAKH_SAMPLES

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def bass_model_path(rendered, tmp_path_factory) -> Path:
    """The shipped bass model when it is installed and loads; else a tiny real one: 2 short epochs of the library's
    training on the small rendered song (train and validation splits hold the same track)."""
    from slakh_gui.separation.model import load_model
    from slakh_gui.separation.separation_errors import ModelLoadError
    from slakh_gui.separation.train import TrainConfig, train

    shipped = paths.resources_dir() / "models" / "bass.pt"
    if shipped.is_file():
        try:
            load_model(shipped)
            return shipped
        except ModelLoadError:
            pass
    result, _song, _bank = rendered
    root = tmp_path_factory.mktemp("sepgui")
    for split in ("train", "validation"):
        shutil.copytree(result.path, root / "data" / split / "Track00001")
    config = TrainConfig(target="bass", data=str(root / "data"), preset="tiny", epochs=2, batch_size=4,
                         segment_frames=200, steps_per_epoch=5, val_clips=4, lr=3e-3, early_stop=0, threads=1,
                         device="cpu", cache_dir=str(root / "cache"), norm_clips=8)
    return train(config, root / "run").model_path


@pytest.fixture
def track_dir(rendered, tmp_path) -> Path:
    """A copy of the small song rendered (piano, bass, guitar, drums, strings; 12 s + tail at 44.1 kHz)."""
    result, _song, _bank = rendered
    return Path(shutil.copytree(result.path, tmp_path / "Track00001"))


def open_and_wait(qtbot, win, path):
    with qtbot.waitSignal(win.songLoaded, timeout=20000):
        win.open_path(path)


def load_and_wait(qtbot, panel, path):
    with qtbot.waitSignal(panel.modelLoaded, timeout=30000):
        panel.load_model(path)


def separate_and_wait(qtbot, panel, timeout=60000):
    with qtbot.waitSignal(panel.separationFinished, timeout=timeout) as blocker:
        assert panel.start() is not None
    return blocker.args[0]


def cell(panel, key: str, col: int) -> str:
    from slakh_gui.gui.separate import ROWS

    return panel.table.item([k for k, _, _ in ROWS].index(key), col).text()


def test_separate_score_oracles_ab_and_export(qtbot, window, track_dir, bass_model_path, tmp_path):
    panel = window.separate_view
    window.separate_dock.show()
    window.separate_dock.raise_()
    open_and_wait(qtbot, window, track_dir)
    assert panel.mix is not None and panel.stems and panel.metadata["stems"]
    # Separate is offered only with a model (the first installed shipped model loads by itself when the dock shows)
    assert panel.run_button.isEnabled() == (panel.model is not None)
    load_and_wait(qtbot, panel, bass_model_path)
    assert "Bass" in panel.model_label.text() and "parameters" in panel.model_label.text()
    assert panel.run_button.isEnabled()
    run = separate_and_wait(qtbot, panel)
    assert run is not None and panel.run is run and run.offset == 0.0
    est = run.estimates["model"]
    assert est.audio.shape == panel.mix.shape and run.sample_rate == 44100
    # the truth is the bass group of the loaded stems (program 33 = S01)
    assert np.allclose(run.truth, window.stems["S01"][: len(run.truth)], atol=1e-7)
    for key in ("model", "ibm", "irm", "wiener", "tpsf", "mixture"):
        e = run.estimates[key]
        assert math.isfinite(e.si_sdr) and math.isfinite(e.si_sdri), key
        assert cell(panel, key, 1) == f"{e.si_sdr:+.1f}" and cell(panel, key, 2) == f"{e.si_sdri:+.1f}"
    assert run.estimates["mixture"].si_sdri == 0.0
    assert run.estimates["tpsf"].si_sdr > run.estimates["mixture"].si_sdr + 3.0
    assert "SI-SDR" in panel.info_label.text() and "tPSF oracle" in panel.gap_label.text()
    # the model's row shows its gap to the tPSF oracle (tPSF SI-SDRi − model SI-SDRi), the paper's bass gap in its tip
    from slakh_gui.gui.separate.score_table import GAP_COLUMN

    assert panel.table.horizontalHeaderItem(GAP_COLUMN).text() == "Gap"
    gap = run.estimates["tpsf"].si_sdri - run.estimates["model"].si_sdri
    assert cell(panel, "model", GAP_COLUMN) == f"{gap:.1f}"
    assert all(cell(panel, k, GAP_COLUMN) == "" for k in ("ibm", "irm", "wiener", "tpsf", "mixture"))
    tip = panel.table.item(0, GAP_COLUMN).toolTip()
    assert "3.4 dB below its tPSF oracle on Slakh2100" in tip and "3.4 dB below its own" in panel.gap_label.text()
    qtbot.waitUntil(lambda: all(panel.plots.spectrogram(n) is not None for n in ("mix", "estimate", "truth")),
                    timeout=20000)
    assert panel.plots.title("estimate").startswith("Estimate: model")

    # an oracle row: shown in the middle plot
    panel.select_estimate("tpsf")
    assert panel.plots.title("estimate") == "Estimate: tPSF"
    panel.select_estimate("model")

    # export writes a readable file of the estimate, in the background
    with qtbot.waitSignal(panel.exported, timeout=20000) as blocker:
        assert panel.export_estimate(tmp_path / "bass_est.flac") is not None
        assert not panel.export_button.isEnabled()  # one export at a time
    out = blocker.args[0]
    assert out == tmp_path / "bass_est.flac" and panel.export_button.isEnabled()
    data, sr = sf.read(out, dtype="float32")
    assert sr == 44100 and len(data) == len(est.audio)
    assert np.max(np.abs(data - np.clip(est.audio, -1, 32767 / 32768))) < 1.5 / 32768

    # A/B through the player's callback
    player = window.player
    if player is None:
        pytest.skip(window.player_note)
    blocks, lock = [], threading.Lock()

    def tap(start, block):
        with lock:
            blocks.append((start, block[:, 0].copy()))

    def matches(audio, start, block):
        return np.allclose(block, np.take(audio, np.arange(start, start + len(block)) % len(audio)), atol=1e-6)

    player.tap = tap
    panel.listen("estimate")  # one click: plays
    assert player.playing and panel.took_player
    panel.pause()
    panel.seek(3.0)  # seconds of the song (the song's first notes start at 0.5 s)
    with lock:
        blocks[:] = []
    panel.listen("estimate")
    qtbot.waitUntil(lambda: len(blocks) >= 20, timeout=10000)
    panel.pause()
    with lock:
        got, blocks[:] = list(blocks), []
    assert got[0][0] == 3 * 44100
    assert all(matches(est.audio, s, b) for s, b in got)
    assert not all(matches(run.truth, s, b) for s, b in got)
    pos = player.position
    panel.listen("truth")  # from where the estimate stopped
    qtbot.waitUntil(lambda: len(blocks) >= 20, timeout=10000)
    with lock:
        got = list(blocks)
    assert got[0][0] == pos
    assert all(matches(run.truth, s, b) for s, b in got)
    assert not all(matches(est.audio, s, b) for s, b in got)
    # switch while playing: from the next block on it is the residual, and the position runs on
    panel.listen("residual")
    with lock:
        n = len(blocks)  # blocks made before the switch landed are at most the one under way
    qtbot.waitUntil(lambda: len(blocks) >= n + 20, timeout=10000)
    panel.pause()
    with lock:
        after = list(blocks[n + 1:])
    residual = run.mix - est.audio
    assert after and all(matches(residual, s, b) for s, b in after)
    assert panel.plots.title("estimate").startswith("Residual")
    # the window's Play gives the player the song back
    window.toggle_play()
    assert not panel.took_player
    window.player.pause()


def test_cancel_and_corrupt_model(qtbot, window, track_dir, bass_model_path, tmp_path):
    panel = window.separate_view
    open_and_wait(qtbot, window, track_dir)
    load_and_wait(qtbot, panel, bass_model_path)
    with qtbot.waitSignal(panel.separationFinished, timeout=60000) as blocker:
        assert panel.start() is not None
        assert panel.cancel_button.isEnabled() and not panel.run_button.isEnabled()
        panel.cancel()
    assert blocker.args[0] is None and panel.run is None
    qtbot.waitUntil(lambda: panel.job is None, timeout=10000)
    assert "cancelled" in panel.info_label.text() and panel.run_button.isEnabled()

    bad = tmp_path / "broken.pt"
    bad.write_bytes(bass_model_path.read_bytes()[:5000])  # a truncated model file
    job = panel.load_model(bad)
    qtbot.waitUntil(lambda: job.done, timeout=20000)
    qtbot.waitUntil(lambda: window.message.isVisible(), timeout=5000)
    text = window.message.label.text()
    assert text.startswith("Cannot use this model:") and "broken.pt" in text and "\n" not in text
    assert panel.model is not None and panel.model.path == bass_model_path  # the loaded model stays
    (tmp_path / "notes.pt").write_text("hello")
    job = panel.load_model(tmp_path / "notes.pt")
    qtbot.waitUntil(lambda: job.done, timeout=20000)
    qtbot.waitUntil(lambda: "notes.pt" in window.message.label.text(), timeout=5000)


def test_range_mode_separates_only_the_region(qtbot, window, track_dir, bass_model_path):
    panel = window.separate_view
    open_and_wait(qtbot, window, track_dir)
    load_and_wait(qtbot, panel, bass_model_path)
    panel.range_check.setChecked(True)
    panel.set_region(0.0, 0.0)
    assert panel.start() is None and "Shift+drag" in window.message.label.text()
    window.spectrograms.set_region(2.0, 5.0)  # what a Shift+drag on the mix does
    assert panel.region == (2.0, 5.0) and "3.0 s" in panel.region_label.text()
    run = separate_and_wait(qtbot, panel)
    assert run.offset == 2.0 and len(run.mix) == 3 * 44100
    assert len(run.estimates["model"].audio) == 3 * 44100 and len(run.truth) == 3 * 44100
    assert np.array_equal(run.mix, window.mix_audio[2 * 44100 : 5 * 44100])
    assert math.isfinite(run.estimates["model"].si_sdr)
    assert "0:02.0 – 0:05.0" in panel.info_label.text()
    qtbot.waitUntil(lambda: panel.plots.spectrogram("estimate") is not None, timeout=20000)
    assert abs(panel.plots.spectrogram("estimate").duration - 3.0) < 0.05


def test_real_babyslakh_track_at_16khz(qtbot, window, bass_model_path, tmp_path):
    src = SLAKH_SAMPLES / "babyslakh_16k" / "Track00001"
    if not src.exists():
        pytest.skip("shared Slakh samples not present")
    shutil.copytree(src, tmp_path / "Track00001")
    panel = window.separate_view
    open_and_wait(qtbot, window, tmp_path / "Track00001")
    assert window.sample_rate == 16000
    load_and_wait(qtbot, panel, bass_model_path)
    panel.oracle_check.setChecked(False)
    run = separate_and_wait(qtbot, panel)
    assert run.sample_rate == 16000 and len(run.estimates["model"].audio) == len(window.mix_audio)
    assert set(run.estimates) == {"model", "mixture"} and cell(panel, "ibm", 1) == "—"
    from slakh_gui.gui.separate.score_table import GAP_COLUMN

    assert cell(panel, "model", GAP_COLUMN) == "—" and not panel.gap_label.text()  # no oracle: no gap
    assert "tick Oracle masks" in panel.table.item(0, GAP_COLUMN).toolTip()
    # the truth is the real bass stem (S03, program 33), silent in this 2-s excerpt: scores are undefined, said so
    assert run.truth is not None and run.truth_silent and np.array_equal(run.truth, window.stems["S03"])
    assert math.isnan(run.estimates["model"].si_sdr) and cell(panel, "model", 1) == "n/a"
    assert "truth is silent" in panel.info_label.text()
    if window.player is not None:  # the 44.1-kHz player gets the 16-kHz audio resampled
        panel.listen("mix")
        assert window.player.length == round(len(run.mix) * window.player.sample_rate / 16000)
        panel.stop_playback()


def test_shipped_models_are_listed(qtbot, window):
    panel = window.separate_view
    with qtbot.waitSignal(panel.modelsListed, timeout=30000) as blocker:
        panel.refresh_models()
    models = blocker.args[0]
    assert set(models) == {"bass", "drums", "guitar", "piano"}
    combo = panel.model_combo
    for name, path in models.items():
        i = combo.findData(f"shipped:{name}")
        assert i >= 0
        enabled = combo.model().item(i).isEnabled()
        assert enabled == (path is not None)
        assert ("not installed" in combo.itemText(i)) == (path is None)


def test_model_summary_counts_epochs_of_the_run_it_started_from(bass_model_path):
    """A fine-tuned model (``--init-from``) says its whole training: the earlier model's epochs and time included."""
    from slakh_gui.separation.comparison import describe_model
    from slakh_gui.separation.model import load_model

    model = load_model(bass_model_path)
    model.training = {"epochs": 18, "best_epoch": 18, "prior_epochs": 6, "train_seconds": 3600.0,
                      "prior_seconds": 1800.0, "device": "cpu", "train_tracks": 71, "train_hours": 2.06}
    text = describe_model(model)
    assert "24 epochs (best 24; 6 before this run)" in text
    assert "90 min on cpu" in text, text
    model.training = {"epochs": 6, "best_epoch": 5, "train_seconds": 60.0, "device": "cpu"}
    text = describe_model(model)
    assert "6 epochs (best 5)" in text and "before this run" not in text


@pytest.fixture
def panel(qtbot):
    """A Separate panel on its own (no window), with its own job runner."""
    from slakh_gui.gui.app import make_app
    from slakh_gui.gui.separate import SeparateView

    make_app()
    view = SeparateView()
    qtbot.addWidget(view)
    yield view
    view.cancel_jobs()
    view.runner.wait(30000)


def give_track(panel, track_dir):
    from slakh_gui.core.render.track_folder import load_track_folder

    tf = load_track_folder(track_dir)
    panel.set_track(tf.mix, tf.stems, tf.sample_rate, tf.metadata, track_dir.name)
    return tf


def settle(qtbot, panel):
    qtbot.waitUntil(lambda: not panel.plots.is_busy(), timeout=20000)
    QApplication.processEvents()


def test_panel_fits_a_laptop_dock(qtbot, panel, track_dir, bass_model_path):
    """At 1280x720 the dock gives the panel about 1000x260: nothing overlaps or is squeezed, before and after a
    separation, and every spectrogram keeps its height (the stack scrolls when there are more rows)."""
    from slakh_gui.gui.separate_plots import MIN_PLOT_HEIGHT, SpectrogramStack
    from tests.gui.layout_checks import assert_no_overlap, effective_minimum

    panel.resize(1000, 260)
    panel.show()
    qtbot.waitExposed(panel)
    settle(qtbot, panel)
    assert_no_overlap(panel)
    give_track(panel, track_dir)
    load_and_wait(qtbot, panel, bass_model_path)
    panel.range_check.setChecked(True)
    panel.set_region(1.0, 4.0)
    run = separate_and_wait(qtbot, panel)
    assert run is not None and panel.gap_label.text()
    settle(qtbot, panel)
    assert_no_overlap(panel)
    # the score table's four columns fit its column: no scroll bar, the model's name and gap readable
    table = panel.table
    assert not table.horizontalScrollBar().isVisible()
    assert table.item(0, 3).text() not in ("", "—")
    assert table.columnWidth(3) >= table.fontMetrics().horizontalAdvance(table.item(0, 3).text())
    assert table.columnWidth(0) >= table.fontMetrics().horizontalAdvance("Wiener-like")
    assert panel.plots.width() >= 400  # the side columns leave the plots most of the width
    for name in ("mix", "estimate", "truth"):
        assert panel.plots.plot(name).geometry().height() >= MIN_PLOT_HEIGHT, name
    for label in (panel.time_label, panel.info_label, panel.gap_label, panel.model_label):
        assert label.width() >= effective_minimum(label).width() and label.height() >= label.heightForWidth(
            label.width()), label.accessibleName()
    # many rows: the stack scrolls instead of squeezing them
    stack = SpectrogramStack([(f"p{i}", f"Plot {i}") for i in range(5)])
    qtbot.addWidget(stack)
    stack.resize(500, 260)
    stack.show()
    qtbot.waitExposed(stack)
    QApplication.processEvents()
    assert stack.scroll.verticalScrollBar().isVisible()
    assert all(stack.plot(f"p{i}").geometry().height() >= MIN_PLOT_HEIGHT for i in range(5))


def test_new_audio_drops_the_old_run_and_its_labels(qtbot, panel, track_dir, bass_model_path):
    """Loading other audio while separating drops that separation without saying "cancelled" over the new track's
    line, and the score table no longer names the model of a run that is gone."""
    give_track(panel, track_dir)
    load_and_wait(qtbot, panel, bass_model_path)
    run = separate_and_wait(qtbot, panel)
    assert panel.table.item(0, 0).text() == f"Model · {run.model_name}"
    with qtbot.waitSignal(panel.separationFinished, timeout=60000) as blocker:
        assert panel.start() is not None
        give_track(panel, track_dir)  # e.g. the window opened another track
    assert blocker.args[0] is None and panel.run is None and panel.job is None
    assert "Ready to separate" in panel.info_label.text(), panel.info_label.text()
    assert panel.table.item(0, 0).text() == "Model" and panel.table.item(0, 1).text() == "—"
    assert panel.table.item(0, 3).text() == "—"  # nor its gap
    assert panel.progress.value() == 0 and panel.run_button.isEnabled() and not panel.cancel_button.isEnabled()


def test_panel_uses_the_runner_it_is_given(qtbot, track_dir, bass_model_path, tmp_path):
    """The window's runner runs the panel's jobs (models, separation, spectrograms, export); cancel_jobs stops only
    the panel's own."""
    from slakh_gui.gui.job_runner import JobRunner
    from slakh_gui.gui.separate import SeparateView

    runner = JobRunner()
    view = SeparateView(runner=runner)
    qtbot.addWidget(view)
    try:
        assert view.runner is runner and view.plots.runner is runner
        give_track(view, track_dir)
        job = view.load_model(bass_model_path)
        assert job in runner.jobs
        qtbot.waitUntil(lambda: view.model is not None, timeout=30000)
        other = runner.start(lambda progress=None, cancel=None: None, slot="someone-else")
        view.cancel_jobs()
        assert not other.cancelled
        run = separate_and_wait(qtbot, view)
        with qtbot.waitSignal(view.exported, timeout=20000) as blocker:
            job = view.export_estimate(tmp_path / "est.wav", "mixture")
            assert job in runner.jobs
        assert blocker.args[0] == tmp_path / "est.wav"
        assert sf.info(tmp_path / "est.wav").frames == len(run.mix)
        with qtbot.waitSignal(view.exported, timeout=20000) as blocker:
            view.export_estimate(tmp_path / "no" / "such" / "folder" / "est.wav")
        assert blocker.args[0] is None
    finally:
        view.cancel_jobs()
        runner.wait(30000)


def test_wiener_checkbox_filters_the_separation(qtbot, panel, track_dir, bass_model_path):
    """Ticked, the panel's separation runs the joint Wiener post-filter with the shipped models of the other targets
    (what separate_all gives); unticked, the model's own estimate (what separate gives)."""
    from slakh_gui.separation.inference import separate
    from slakh_gui.separation.wiener import joint_models, separate_all

    assert panel.wiener_check.text() == "Wiener post-filter (all targets)"
    tf = give_track(panel, track_dir)
    load_and_wait(qtbot, panel, bass_model_path)
    panel.oracle_check.setChecked(False)
    panel.wiener_check.setChecked(False)
    plain = separate_and_wait(qtbot, panel)
    assert plain.wiener == () and "Wiener" not in panel.table.item(0, 0).text()
    assert np.array_equal(plain.estimates["model"].audio, separate(tf.mix, tf.sample_rate, panel.model))
    qtbot.mouseClick(panel.wiener_check, Qt.MouseButton.LeftButton)
    assert panel.wiener_check.isChecked()
    run = separate_and_wait(qtbot, panel)
    assert run.wiener == ("Bass", "Drums", "Guitar", "Piano")
    est = run.estimates["model"].audio
    assert est.shape == plain.estimates["model"].audio.shape
    assert np.max(np.abs(est - plain.estimates["model"].audio)) > 1e-2
    want = separate_all(tf.mix, tf.sample_rate, joint_models(panel.model), wiener=True)["Bass"]
    assert np.allclose(est, want, atol=1e-6)
    assert panel.table.item(0, 0).text().endswith("+ Wiener")
    assert "Wiener post-filter with the Bass, Drums, Guitar, Piano models" in panel.info_label.text()
    assert math.isfinite(run.estimates["model"].si_sdr)


def test_panel_runs_an_external_model_and_scores_it_beside_the_oracles(qtbot, panel, track_dir, tmp_path):
    """A Demucs bag file set as the dialog would set it: its summary and source chooser, a background run with
    progress, and its scores beside the oracles; at 1000x260 nothing overlaps."""
    from slakh_gui.gui.separate.model_panel import MODEL_FILTER
    from tests.gui.layout_checks import assert_no_overlap
    from tests.separation.external_models import save_demucs

    assert all(f"*{s}" in MODEL_FILTER for s in (".pt", ".th", ".yaml", ".pth", ".json"))
    for sig in ("bb22", "cc33"):
        save_demucs(tmp_path / "m" / f"{sig}.th", "demucs", seed=len(sig))
    bag = tmp_path / "m" / "bag.yaml"
    bag.write_text("models: [bb22, cc33]\n")
    panel.resize(1000, 260)
    panel.show()
    qtbot.waitExposed(panel)
    give_track(panel, track_dir)
    load_and_wait(qtbot, panel, bag)
    chooser = panel.models.source_combo
    assert panel.models.source_row.isVisible() and chooser.count() == 4
    assert "demucs bag of 2 Demucs: sources drums, bass, guitar, piano" in panel.models.label.text()
    panel.models.set_source("bass")
    assert panel.model.source == "bass" and chooser.currentData() == "bass"
    values = []
    panel.progress.valueChanged.connect(values.append)
    panel.range_check.setChecked(True)
    panel.set_region(1.0, 4.0)
    run = separate_and_wait(qtbot, panel)
    assert run.target == "Bass" and run.model_name == "bag (demucs)"
    for key in ("model", "ibm", "irm", "wiener", "tpsf"):
        assert cell(panel, key, 1) not in ("", "—"), key
        float(cell(panel, key, 2).replace("−", "-"))
    assert values and panel.gap_label.text()
    settle(qtbot, panel)
    assert_no_overlap(panel)


def test_panel_chooses_the_head_of_a_joint_model(qtbot, panel, track_dir, tmp_path):
    """A joint model file opens as its first target with a chooser of its heads; choosing one separates and scores
    that head (the same estimate as the model's view of it)."""
    import numpy as np

    from slakh_gui.core.dataset.recipes import load_recipe
    from slakh_gui.separation import inference
    from slakh_gui.separation.model import SeparationModel, load_model, save_model

    joint = SeparationModel.new("joint-tiny", ["Bass", "Drums", "Guitar", "Piano"], load_recipe("band"))
    path = save_model(joint, tmp_path / "joint.pt")
    panel.show()
    qtbot.waitExposed(panel)
    give_track(panel, track_dir)
    load_and_wait(qtbot, panel, path)
    chooser = panel.models.source_combo
    assert panel.models.source_row.isVisible() and chooser.count() == 4
    assert panel.model.source == "Bass" and "joint model of Bass, Drums, Guitar, Piano" in panel.models.label.text()
    panel.models.set_source("Drums")
    assert panel.model.target == "Drums" and chooser.currentData() == "Drums"
    panel.range_check.setChecked(True)
    panel.set_region(1.0, 3.0)
    run = separate_and_wait(qtbot, panel)
    assert run.target == "Drums"
    want = inference.separate(run.mix, run.sample_rate, load_model(path, target="drums"))
    assert np.allclose(run.estimates["model"].audio, want, atol=1e-6)
    for key in ("model", "tpsf"):
        assert cell(panel, key, 1) not in ("", "—"), key


def test_model_summary_of_a_bag_has_a_line_per_network(bass_model_path):
    from slakh_gui.separation.comparison import describe_model
    from slakh_gui.separation.model import bag_models, load_model

    a, b = load_model(bass_model_path), load_model(bass_model_path)
    a.training = {"epochs": 18, "best_epoch": 18, "prior_epochs": 6, "train_seconds": 3600.0, "device": "cpu"}
    b.training = {"epochs": 8, "best_epoch": 7, "train_seconds": 60.0, "device": "cpu"}
    lines = describe_model(bag_models([a, b])).splitlines()
    assert "a bag of 2 networks" in lines[0] and len(lines) == 3
    assert lines[1].startswith("Network 1: 24 epochs (best 24; 6 before this run)") and "60 min on cpu" in lines[1]
    assert lines[2].startswith("Network 2: 8 epochs (best 7)"), lines


def test_model_summary_of_an_averaged_model_names_its_epochs(bass_model_path):
    from slakh_gui.separation.comparison import describe_model
    from slakh_gui.separation.model import load_model

    model = load_model(bass_model_path)
    model.training = {"epochs": 12, "best_epoch": 12, "device": "cpu",
                      "averaged": [{"model": "e010.pt", "epoch": 10}, {"model": "e012.pt", "epoch": 12}]}
    assert describe_model(model).splitlines()[-1] == "Weights: the mean of 2 models (epochs 10, 12)"
