"""Open-Unmix and Demucs models from local files: small random models built with the packages' own classes and
saved in their formats, loaded back through the app's loader, run on a short mixture, scored like our models; wrong,
truncated and foreign files give one clear error each."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile as sf
import torch

from slakh_gui.core.errors import SlakhError
from slakh_gui.core.jobs import Cancelled, CancelToken
from slakh_gui.separation.external import is_external, load_external
from slakh_gui.separation.separation_errors import ModelLoadError
from tests.cli.helpers import one_line_error, run
from tests.separation.external_models import save_demucs, save_openunmix

SR = 44100


@pytest.fixture(scope="module")
def umx_dir(tmp_path_factory):
    return save_openunmix(tmp_path_factory.mktemp("umx") / "umxtiny")


@pytest.fixture(scope="module")
def demucs_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demucs")
    ht = save_demucs(folder / "aa11.th", "htdemucs", sources=("drums", "bass", "other", "vocals"))
    d1 = save_demucs(folder / "bb22.th", "demucs", seed=1)
    save_demucs(folder / "cc33.th", "demucs", seed=2)
    (folder / "bag.yaml").write_text("models: ['bb22', 'cc33']\nweights: [[1, 1, 1, 1], [1, 1, 1, 1]]\n")
    return {"htdemucs": ht, "demucs": d1, "bag": folder / "bag.yaml"}


def mixture(seconds: float = 3.0) -> np.ndarray:
    rng = np.random.default_rng(0)
    t = np.arange(int(seconds * SR)) / SR
    return (0.3 * np.sin(2 * np.pi * 110 * t) + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


def test_openunmix_loads_from_any_of_its_files_and_separates(umx_dir):
    for p in (umx_dir, umx_dir / "bass.json", next(umx_dir.glob("drums-*.pth")), umx_dir / "separator.json"):
        assert is_external(p)
        m = load_external(p)
        assert (m.package, m.sources, m.sample_rate, m.source, m.target) == (
            "openunmix", ("bass", "drums"), SR, "bass", "Bass")
    assert "openunmix OpenUnmix: sources bass, drums" in m.describe() and "parameters" in m.describe()
    seen = []
    out = m.separate_all(mixture(), SR, seen.append, chunk_seconds=1.5, overlap_seconds=0.25)
    assert set(out) == {"bass", "drums"}
    assert all(v.shape == (3 * SR,) and v.dtype == np.float32 and np.isfinite(v).all() for v in out.values())
    assert seen[-1].fraction == 1.0 and len(seen) > 2
    # a 16-kHz stereo input: resampled to the model's rate and back
    est = m.with_source("drums").separate(np.stack([mixture(1.0)[:16000]] * 2, 1), 16000)
    assert est.shape == (16000,) and np.isfinite(est).all()


def test_demucs_th_and_bag_load_and_separate(demucs_files):
    ht = load_external(demucs_files["htdemucs"])
    assert (ht.package, ht.architecture, ht.sources) == ("demucs", "HTDemucs", ("drums", "bass", "other", "vocals"))
    assert ht.source == "drums" and ht.scoreable == ("drums", "bass")
    assert ht.with_source("vocals").target == "vocals"  # no band group: not scored
    est = ht.with_source("bass").separate(mixture(2.0), SR)
    assert est.shape == (2 * SR,) and np.isfinite(est).all()
    bag = load_external(demucs_files["bag"], source="piano")
    assert bag.architecture == "bag of 2 Demucs" and bag.sources == ("drums", "bass", "guitar", "piano")
    assert bag.target == "Piano"
    seen = []
    est = bag.separate(mixture(), SR, seen.append, chunk_seconds=1.0, overlap_seconds=0.2)
    assert est.shape == (3 * SR,) and np.isfinite(est).all() and seen[-1].fraction == 1.0


def test_cancel_stops_an_external_separation(umx_dir):
    token = CancelToken()
    m = load_external(umx_dir)

    def progress(p):
        if p.done >= 1:
            token.cancel()

    with pytest.raises(Cancelled):
        m.separate(mixture(), SR, progress, token, chunk_seconds=1.0, overlap_seconds=0.2)


def bad_files(tmp, umx_dir, demucs_files):
    """(path, words the message must hold) for each kind of wrong file."""
    import shutil

    from slakh_gui.core.dataset.recipes import load_recipe
    from slakh_gui.separation.model import SeparationModel, save_model

    text = tmp / "notes.th"
    text.write_text("not a model\n")
    ours = save_model(SeparationModel.new("tiny", "Bass", load_recipe("band")), tmp / "ours.pt")
    ours_th = tmp / "ours.th"
    shutil.copy(ours, ours_th)
    data = demucs_files["demucs"].read_bytes()
    trunc = tmp / "trunc" / "dd44.th"
    trunc.parent.mkdir()
    trunc.write_bytes(data[: len(data) // 2])
    renamed = tmp / "renamed-0000aaaa.th"  # a checksum in the name that the file does not have
    renamed.write_bytes(data)
    umx_trunc = tmp / "umxtrunc"
    shutil.copytree(umx_dir, umx_trunc)
    w = next(umx_trunc.glob("bass-*.pth"))
    w.write_bytes(w.read_bytes()[:300])
    no_pth = tmp / "nopth"
    shutil.copytree(umx_dir, no_pth)
    for f in no_pth.glob("drums*.pth"):
        f.unlink()
    no_sep = tmp / "nosep"
    shutil.copytree(umx_dir, no_sep)
    (no_sep / "separator.json").unlink()
    bag = demucs_files["bag"].parent / "bad_bag.yaml"
    bag.write_text("models: ['bb22', 'ee55']\n")
    not_bag = tmp / "recipe.yaml"
    not_bag.write_text("Recipes:\n  Bass: [32]\n")
    return [
        (tmp / "missing.th", "no such model file"),
        (text, "not a Demucs model"),
        (ours_th, "Slakh Studio model"),
        (trunc, "truncated"),
        (renamed, "checksum mismatch"),
        (w, "not readable Open-Unmix weights (truncated or corrupt"),
        (no_pth / "drums.json", "drums.pth"),
        (no_sep, "separator.json"),
        (no_sep / "bass.json", "separator.json"),
        (bag, "ee55.th"),
        (not_bag, "not a Demucs bag"),
    ]


def test_wrong_truncated_and_foreign_files_give_one_clear_error(tmp_path, umx_dir, demucs_files):
    for path, reason in bad_files(tmp_path, umx_dir, demucs_files):
        with pytest.raises(ModelLoadError) as info:
            load_external(path)
        msg = str(info.value)
        assert isinstance(info.value, SlakhError)
        assert str(path.name) in msg and reason in msg and "\n" not in msg, (path, msg)


def test_external_model_is_scored_like_ours(rendered, umx_dir, demucs_files):
    from slakh_gui.core.render.track_folder import load_track_folder
    from slakh_gui.separation.comparison import ORACLE_KEYS, load_model, model_title, run_separation

    result, _song, _bank = rendered
    tf = load_track_folder(result.path)
    model = load_model(demucs_files["bag"]).with_source("bass")
    seen = []
    span = (tf.sample_rate, 4 * tf.sample_rate)
    run = run_separation(model, tf.mix, tf.stems, tf.metadata, tf.sample_rate, span, progress=seen.append)
    assert run.target == "Bass" and run.recipe == "band" and model_title(model) == "bag (demucs)"
    assert set(run.estimates) == {"model", "mixture", *ORACLE_KEYS}
    assert all(isinstance(e.si_sdr, float) and isinstance(e.si_sdri, float) for e in run.estimates.values())
    assert run.gap_to("tpsf") is not None and run.gap_text() and seen[-1].fraction == 1.0
    # a source that is no band group: separated, not scored
    umx = load_model(umx_dir)
    assert umx.target == "Bass"
    other = load_model(demucs_files["htdemucs"]).with_source("vocals")
    run = run_separation(other, tf.mix, tf.stems, tf.metadata, tf.sample_rate, span)
    assert run.truth is None and run.estimates["model"].si_sdr is None


def test_cli_separate_with_external_models(tmp_path, capsys, umx_dir, demucs_files):
    mix = tmp_path / "mix.wav"
    sf.write(mix, mixture(2.0), SR)
    code, out, err = run(["separate", mix, "--model", umx_dir, "-o", tmp_path / "est.wav", "--threads", 1], capsys)
    assert code == 0, err
    for s in ("bass", "drums"):
        audio, sr = sf.read(tmp_path / f"est-{s}.wav")
        assert sr == SR and audio.shape == (2 * SR,)
    code, out, err = run(["separate", mix, "--model", demucs_files["bag"], "--target", "guitar", "-o",
                          tmp_path / "g.flac", "--residual", tmp_path / "r.wav"], capsys)
    assert code == 0, err
    assert sf.info(tmp_path / "g.flac").frames == 2 * SR and (tmp_path / "r.wav").is_file()
    code, out, err = run(["separate", mix, "--model", demucs_files["bag"], "--target", "vocals", "-o",
                          tmp_path / "v.wav"], capsys)
    assert code == 1 and "no source 'vocals'" in one_line_error(err)
    code, out, err = run(["separate", mix, "--model", tmp_path / "nothing.th", "-o", tmp_path / "v.wav"], capsys)
    assert code == 1 and "nothing.th: no such model file" in one_line_error(err)


def test_cli_evaluate_an_external_model(dataset, cache_dir, capsys, demucs_files):
    code, out, err = run(["evaluate", "--model", demucs_files["demucs"], "--target", "bass", "--data", dataset,
                          "--max-tracks", 1, "--cache", cache_dir, "--json"], capsys)
    assert code == 0, err
    import json

    data = json.loads(out)
    assert data["target"] == "Bass" and data["model_info"]["package"] == "demucs"
    assert isinstance(data["mean"]["model"]["si_sdri"], float)
    assert torch.get_num_threads() >= 1
