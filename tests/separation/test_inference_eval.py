"""Chunked separation at any rate and channel count, oracle estimates, and the Table-3-style evaluation."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pytest

from slakh_gui.core.jobs import Cancelled, CancelToken
from slakh_gui.separation.evaluate import EvalReport, evaluate
from slakh_gui.separation.inference import chunked, model_estimate, oracle_estimates, score, separate
from slakh_gui.separation.masks import ORACLES
from slakh_gui.separation.metrics import si_sdr
from slakh_gui.separation.model import load_model
from slakh_gui.separation.resample import resample


def test_chunks_crossfade_to_the_unchunked_result():
    rng = np.random.default_rng(0)
    x = rng.standard_normal(16000 * 7).astype(np.float32)
    # an identity "model" at 16 kHz gives the input back exactly, chunk seams included
    same = chunked([x], 16000, lambda xs: xs[0], chunk_seconds=2.0, overlap_seconds=0.5)
    assert np.max(np.abs(same - x)) < 1e-6
    # at 44.1 kHz the result is the input band-limited to 8 kHz, seams or not
    y = resample(x, 16000, 44100)
    one = chunked([y], 44100, lambda xs: xs[0], chunk_seconds=60.0)
    many = chunked([y], 44100, lambda xs: xs[0], chunk_seconds=2.0, overlap_seconds=0.5)
    assert si_sdr(many, one) > 40


def test_separate_any_shape_and_rate_with_chunks(trained, dataset):
    result, _ = trained
    model = load_model(result.model_path)
    from slakh_gui.core.render.track_folder import load_track_folder

    tf = load_track_folder(dataset / "test" / "Track00005")
    mix = tf.mix[: 44100 * 8]
    whole = separate(mix, 44100, model)
    assert whole.shape == mix.shape and whole.dtype == np.float32
    seen = []
    chunked_est = separate(mix, 44100, model, seen.append, chunk_seconds=3.0, overlap_seconds=1.0)
    assert [p.done for p in seen if p.stage == "separate"][-1] == seen[-1].total == 4
    assert si_sdr(chunked_est, whole) > 15  # BLSTM context differs near seams only
    stereo = separate(np.stack([mix, 0.5 * mix], axis=1), 44100, model)
    assert stereo.shape == (len(mix), 2)
    assert np.allclose(stereo[:, 0], whole, atol=1e-5)
    # a single pass at 16 kHz is what separate does for short 16-kHz input
    m16 = resample(mix, 44100, 16000)
    assert np.allclose(separate(m16, 16000, model), model_estimate(model, m16), atol=1e-6)
    for n in (1, 100, 300):  # shorter than an STFT window at 16 kHz
        assert separate(mix[:n], 44100, model).shape == (n,)
    token = CancelToken()
    token.cancel()
    with pytest.raises(Cancelled):
        separate(mix, 44100, model, cancel=token)


def test_oracle_estimates_and_score(dataset):
    from slakh_gui.core.dataset.recipes import load_recipe
    from slakh_gui.core.render.track_folder import load_track_folder

    tf = load_track_folder(dataset / "test" / "Track00005")
    target = load_recipe("band").submix(tf.stems, tf.metadata)["Bass"][: 44100 * 6]
    mix = tf.mix[: 44100 * 6]
    est = oracle_estimates(mix, target, 44100)
    assert set(est) == set(ORACLES) and all(e.shape == mix.shape for e in est.values())
    scores = {k: score(e, target, mix, 44100) for k, e in est.items()}
    mix_sdr = si_sdr(resample(mix, 44100, 16000), resample(target, 44100, 16000))
    for k, (sdr, sdri) in scores.items():
        assert sdri == pytest.approx(sdr - mix_sdr) and sdri > 5, k
    assert scores["tpsf"][0] > scores["irm"][0]  # the phase-sensitive oracle is the best mask, as in Table 3
    perfect = oracle_estimates(target, target, 44100, ("irm",))["irm"]
    assert score(perfect, target, target, 44100)[0] > 60


def test_evaluate_report(trained, dataset, cache_dir, tmp_path):
    result, _ = trained
    model = load_model(result.model_path)
    rep = evaluate(dataset, "test", model=model, cache_dir=cache_dir, clips_per_track=2, seed=0)
    assert rep.methods == ["mixture", "model", *ORACLES] and len(rep.rows) == 2
    means = rep.means()
    assert means["tpsf"]["si_sdri"] > 5 and means["mixture"]["si_sdri"] == 0
    for m in ORACLES:
        assert means[m]["si_sdr"] > means["mixture"]["si_sdr"]
    again = evaluate(dataset, "test", model=model, cache_dir=cache_dir, clips_per_track=2, seed=0)
    assert again.rows == rep.rows  # seeded clips
    md = rep.to_markdown()
    assert "| Unprocessed mixture |" in md and "| Truncated PSF |" in md
    # the gap to the tPSF oracle: the difference of the mean SI-SDRi, computed here from the rows
    gap = (np.mean([r["tpsf"] - r["mixture"] for r in rep.rows])
           - np.mean([r["model"] - r["mixture"] for r in rep.rows]))
    assert rep.gap_to_tpsf() == pytest.approx(gap) and rep.paper_gap() == 3.4  # the paper's bass gap
    assert (f"**Gap to the tPSF oracle (tPSF SI-SDRi − model SI-SDRi)**: {gap:.1f} dB; the paper's Slakh model on "
            "Slakh2100: 3.4 dB") in md
    assert f"on the test split of `{dataset.name}`" in md
    data = json.loads(rep.to_json())
    assert data["mean"]["model"]["si_sdri"] == pytest.approx(means["model"]["si_sdri"])
    assert data["gap_to_tpsf_db"] == pytest.approx(gap) and data["paper_gap_to_tpsf_db"] == 3.4
    assert data["data"] == dataset.name and data["recipe"] == "band"
    assert data["per_track"][0]["ibm"]["si_sdri"] == pytest.approx(rep.rows[0]["ibm"] - rep.rows[0]["mixture"])
    back = EvalReport.from_dict(data)  # what the shipped-models script reads to write its summary
    assert back.methods == rep.methods and back.rows == rep.rows and back.to_markdown() == md
    rows = list(csv.DictReader(io.StringIO(rep.to_csv())))
    assert len(rows) == 3 and float(rows[0]["tpsf_si_sdr"]) == pytest.approx(rep.rows[0]["tpsf"], abs=1e-4)
    assert float(rows[0]["gap_to_tpsf"]) == pytest.approx(rep.rows[0]["tpsf"] - rep.rows[0]["model"], abs=1e-4)
    mean_row = rows[-1]
    assert mean_row["track"] == "mean" and rows[0]["paper_gap_to_tpsf"] == ""
    assert float(mean_row["gap_to_tpsf"]) == pytest.approx(gap, abs=1e-4)
    assert float(mean_row["paper_gap_to_tpsf"]) == 3.4
    assert float(mean_row["model_si_sdri"]) == pytest.approx(means["model"]["si_sdri"], abs=1e-4)
    written = rep.write(tmp_path / "report")
    assert sorted(p.suffix for p in written) == [".csv", ".json", ".md"]
    whole = evaluate(dataset, "test", target="bass", cache_dir=cache_dir, mode="whole", oracles=("tpsf",))
    assert whole.methods == ["mixture", "tpsf"] and whole.rows[0]["seconds"] == pytest.approx(25.0, abs=0.01)
    # the oracles alone: no model, no gap
    assert whole.gap_to_tpsf() is None and "Gap" not in whole.to_markdown()
    assert json.loads(whole.to_json())["gap_to_tpsf_db"] is None and "gap_to_tpsf" not in whole.to_csv()


def _report(recipe: str | None, target: str = "Bass") -> EvalReport:
    rows = [{"track": f"test/T{i}", "offset_s": 0.0, "seconds": 10.0, "mixture": -5.0 - i, "model": 1.0 + i,
             "tpsf": 6.0 + 2 * i} for i in range(2)]
    return EvalReport(target, "test", "clips", ["mixture", "model", "tpsf"], "m", rows=rows, recipe=recipe)


def test_paper_gap_only_for_the_papers_targets():
    """The paper's gap stands beside a band-recipe target it has a figure for, and nowhere else."""
    rep = _report("band", "Piano")
    assert rep.gap_to_tpsf() == pytest.approx(5.5) and rep.paper_gap() == 8.6  # means: tPSF 7.0, model 1.5
    assert "Slakh2100: 8.6 dB" in rep.to_markdown()
    for other in (_report("strings-recipe"), _report("band", "Strings"), _report(None)):
        assert other.gap_to_tpsf() == pytest.approx(5.5) and other.paper_gap() is None
        md = other.to_markdown()
        assert ": 5.5 dB; the paper has no figure for this target." in md and "Slakh2100" not in md
        mean_row = list(csv.DictReader(io.StringIO(other.to_csv())))[-1]
        assert mean_row["gap_to_tpsf"] == "5.5000" and mean_row["paper_gap_to_tpsf"] == ""
        assert json.loads(other.to_json())["paper_gap_to_tpsf_db"] is None
