"""The Separate panel's work without Qt: a real separation of a rendered track scored against its truth and the
oracles, range spans, residuals, the run's texts, exporting an estimate, and the module's Qt- and torch-free import."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from slakh_gui import paths
from slakh_gui.core.jobs import Cancelled, CancelToken
from slakh_gui.separation.comparison import (
    ROWS,
    Estimate,
    SeparationRun,
    at_rate,
    clock,
    export_estimate,
    export_name,
    export_path,
    fmt_db,
    model_key,
    region_span,
    run_separation,
)


@pytest.fixture(scope="module")
def bass_model(request):
    """The shipped bass model when it is installed, else the 2-epoch bass model trained on the tiny dataset."""
    from slakh_gui.separation.model import load_model
    from slakh_gui.separation.separation_errors import ModelLoadError

    shipped = paths.resources_dir() / "models" / "bass.pt"
    if shipped.is_file():
        try:
            return load_model(shipped)
        except ModelLoadError:
            pass
    result, _config = request.getfixturevalue("trained")
    return load_model(result.model_path)


def test_importing_it_loads_neither_qt_nor_torch():
    code = ("import sys, slakh_gui.separation.comparison as c; "
            "bad = [m for m in ('PySide6', 'torch', 'slakh_gui.gui') if m in sys.modules]; "
            "assert not bad, bad; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                         cwd=Path(__file__).resolve().parents[2])
    assert out.returncode == 0 and out.stdout.strip() == "ok", out.stderr


def test_a_region_of_a_rendered_track_scored_against_truth_and_oracles(rendered, bass_model):
    from slakh_gui.core.render.track_folder import load_track_folder

    result, _song, _bank = rendered
    tf = load_track_folder(result.path)
    sr = tf.sample_rate
    span = region_span((2.0, 5.0), sr, len(tf.mix))
    assert span == (2 * sr, 5 * sr)
    seen = []
    run = run_separation(bass_model, tf.mix, tf.stems, tf.metadata, sr, span, progress=seen.append)
    assert run.offset == 2.0 and run.duration == 3.0 and not run.covers(tf.mix)
    assert [k for k, _, _ in ROWS] == list(run.estimates)  # model, every oracle, mixture: in the table's order
    # the truth is the bass group of the stems (program 33 is S01 in the small song), cut to the region
    assert np.allclose(run.truth, tf.stems["S01"][2 * sr : 5 * sr], atol=1e-7)
    for e in run.estimates.values():
        assert e.audio.shape == run.mix.shape and math.isfinite(e.si_sdr) and math.isfinite(e.si_sdri)
    assert run.estimates["mixture"].si_sdri == 0.0
    assert run.estimates["tpsf"].si_sdr > run.estimates["mixture"].si_sdr + 3.0
    assert run.best_oracle() in ("ibm", "irm", "wiener", "tpsf")
    assert np.allclose(run.residual("model"), run.mix - run.estimates["model"].audio)
    assert seen[-1].stage == "score" and seen[-1].fraction == 1.0
    assert f"{clock(2.0)} – {clock(5.0)}" in run.summary(whole=False) and "SI-SDR" in run.summary(whole=False)
    assert "tPSF oracle" in run.gap_text() and run.recipe == "band"  # the model's recipe, for the paper's gap
    # without stems: the estimate only, nothing to score against
    bare = run_separation(bass_model, tf.mix, {}, {}, sr, span)
    assert bare.truth is None and set(bare.estimates) == {"model", "mixture"}
    assert bare.estimates["model"].si_sdr is None and "no truth" in bare.summary(whole=False)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        run_separation(bass_model, tf.mix, tf.stems, tf.metadata, sr, span, cancel=token)


def test_region_span_clips_and_refuses_short_regions():
    assert region_span((-1.0, 2.0), 16000, 16000) == (0, 16000)
    with pytest.raises(ValueError, match="too short"):
        region_span((1.0, 1.2), 16000, 10 * 16000)
    with pytest.raises(ValueError, match="too short"):
        region_span((9.9, 12.0), 16000, 10 * 16000)  # clipped to 0.1 s


def _run(model_db: float, tpsf_db: float) -> SeparationRun:
    mix = np.zeros(16000, np.float32)
    run = SeparationRun("bass", "Bass", 16000, 0.0, mix, mix.copy(), seconds=0.5)
    run.estimates = {"model": Estimate("model", mix, model_db, 1.0), "tpsf": Estimate("tpsf", mix, tpsf_db, 2.0),
                     "ibm": Estimate("ibm", mix, float("nan"), float("nan"))}
    return run


def test_run_texts():
    below, above = _run(3.0, 8.5), _run(9.0, 7.0)
    assert below.gap_text().startswith("The model is 5.5 dB below the tPSF oracle")
    assert above.gap_text().startswith("The model is 2.0 dB above the tPSF oracle")  # not "-2.0 dB above"
    assert below.paper_gap() is None and "paper" not in below.gap_text()  # a recipe the paper has no figure for
    below.recipe = "band"
    assert below.paper_gap() == 3.4 and below.gap_text().endswith("The paper's Slakh model: 3.4 dB below its own, "
                                                                  "on Slakh2100.")
    assert below.best_oracle() == "tpsf"  # the NaN of IBM is not a best
    assert below.covers(below.mix) and "the whole mix" in below.summary(whole=True)
    assert "(2× realtime)" in below.summary(whole=True)
    silent = _run(float("nan"), float("nan"))
    silent.truth_silent = True
    assert silent.gap_text() == "" and "truth is silent in this track" in silent.summary(whole=True)
    assert [fmt_db(v) for v in (None, float("nan"), float("inf"), -float("inf"), 2.345)] == \
        ["—", "n/a", "+∞", "−∞", "+2.3"]
    assert [clock(s) for s in (0.0, 59.96, 61.25, -3.0)] == ["0:00.0", "1:00.0", "1:01.2", "0:00.0"]


def test_export_writes_16_bit_audio_and_names(tmp_path):
    sr = 16000
    audio = (0.5 * np.sin(np.arange(sr) * 2 * np.pi * 220 / sr)).astype(np.float32)
    for suffix in (".wav", ".flac"):
        out = export_estimate(tmp_path / f"est{suffix}", audio, sr)
        data, rate = sf.read(out, dtype="float32")
        assert rate == sr and len(data) == sr and np.max(np.abs(data - audio)) < 1.5 / 32768
        assert sf.info(out).subtype == "PCM_16"
    with pytest.raises(ValueError):
        export_estimate(tmp_path / "est.mp3", audio, sr)
    assert not list(tmp_path.glob("*.mp3*"))  # nothing half-written
    assert export_path(tmp_path / "a") == tmp_path / "a.wav"
    assert export_path(tmp_path / "a", flac=True) == tmp_path / "a.flac"
    assert export_path(tmp_path / "a.FLAC") == tmp_path / "a.FLAC"
    assert export_name("Track00001", "Bass", "tpsf") == "Track00001_bass_tpsf.wav"
    assert export_name("", "Bass", "model") == "bass_model.wav"


def test_at_rate_and_model_keys(tmp_path):
    x = np.ones(16000, np.float32)
    assert at_rate(x, 16000, 16000, 16000) is x
    y = at_rate(x, 16000, 44100, 44100)
    assert y.shape == (44100,) and abs(float(y[20000]) - 1.0) < 1e-3
    assert at_rate(x, 16000, 44100, 50000)[-100:].tolist() == [0.0] * 100  # padded to the length asked
    assert model_key(None) is None
    assert model_key(paths.resources_dir() / "models" / "bass.pt") == "shipped:bass"
    assert model_key(tmp_path / "run" / "model.pt") == f"file:{tmp_path / 'run' / 'model.pt'}"
