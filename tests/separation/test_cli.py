"""slakh-studio train / evaluate / separate, in-process."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from tests.cli.helpers import one_line_error, run


def test_train_evaluate_separate(dataset, cache_dir, tmp_path, capsys):
    out = tmp_path / "run"
    common = ["--data", dataset, "--cache", cache_dir, "--threads", 1, "--device", "cpu"]
    code, stdout, err = run(["train", "--target", "drums", "--epochs", 1, "--steps", 1, "--batch-size", 2,
                             "--val-clips", 1, "-o", out, "--json", *common], capsys)
    assert code == 0, err
    info = json.loads(stdout)
    assert info["epochs"] == 1 and (out / "model.pt").is_file() and (out / "log.jsonl").is_file()
    code, _, err = run(["train", "--target", "drums", "-o", out, *common], capsys)
    assert code == 1 and "--resume" in one_line_error(err)
    code, stdout, err = run(["train", "--target", "drums", "--epochs", 2, "--steps", 1, "--batch-size", 2,
                             "--val-clips", 1, "-o", out, "--resume", *common], capsys)
    assert code == 0 and "of 2" in stdout, err

    model = out / "model.pt"
    code, stdout, err = run(["evaluate", "--model", model, "--data", dataset, "--split", "test", "--cache", cache_dir,
                             "--threads", 1, "--json", "-o", tmp_path / "rep"], capsys)
    assert code == 0, err
    data = json.loads(stdout)
    assert set(data["mean"]) == {"mixture", "model", "ibm", "irm", "wiener", "tpsf"}
    assert data["mode"] == "clips" and data["per_track"][0]["track"] == "test/Track00005"
    assert (tmp_path / "rep" / "evaluation.md").read_text().startswith("SI-SDR [dB] for **Drums**")
    gap = data["mean"]["tpsf"]["si_sdri"] - data["mean"]["model"]["si_sdri"]
    assert data["gap_to_tpsf_db"] == pytest.approx(gap) and data["paper_gap_to_tpsf_db"] == 1.8
    # the printed summary (markdown) has the gap line, the paper's drums gap beside it
    code, stdout, err = run(["evaluate", "--model", model, "--data", dataset, "--split", "test", "--cache", cache_dir,
                             "--threads", 1], capsys)
    assert code == 0, err
    line = next(ln for ln in stdout.splitlines() if ln.startswith("**Gap to the tPSF oracle"))
    assert f": {gap:.1f} dB;" in line and "Slakh2100: 1.8 dB" in line
    code, stdout, err = run(["evaluate", "--target", "piano", "--data", dataset, "--cache", cache_dir, "--whole"],
                            capsys)
    assert code == 0 and "| Truncated PSF |" in stdout and "whole tracks" in stdout, err
    assert "Gap to the tPSF" not in stdout  # no model: no gap

    mix = dataset / "test" / "Track00005" / "mix.flac"
    audio, sr = sf.read(mix)
    stereo = tmp_path / "stereo.wav"
    sf.write(stereo, np.stack([audio, audio], axis=1)[: sr * 5], sr)
    est, res = tmp_path / "est.wav", tmp_path / "res.flac"
    code, stdout, err = run(["separate", stereo, "--model", model, "-o", est, "--residual", res], capsys)
    assert code == 0, err
    e, esr = sf.read(est)
    r, _ = sf.read(res)
    assert esr == sr and e.shape == r.shape == (sr * 5, 2)
    assert np.max(np.abs(e + r - np.stack([audio, audio], axis=1)[: sr * 5])) < 1e-3
    code, _, err = run(["separate", stereo, "--model", model, "-o", est], capsys)
    assert code == 1 and "--overwrite" in one_line_error(err)


def test_cli_errors(dataset, tmp_path, capsys):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"\x00" * 100)
    wav = tmp_path / "x.wav"
    sf.write(wav, np.zeros(1600), 16000)
    cases = [
        (["separate", wav, "--model", bad, "-o", tmp_path / "o.wav"], "not a Slakh Studio model"),
        (["separate", wav, "--model", "violin", "-o", tmp_path / "o.wav"], "no model 'violin'"),
        (["separate", tmp_path / "none.wav", "--model", bad, "-o", tmp_path / "o.wav"], "no such audio file"),
        (["separate", bad, "--model", bad, "-o", tmp_path / "o.wav"], "not a readable audio file"),
        (["separate", wav, "--model", bad, "-o", tmp_path / "o.mp3"], "must end in .wav or .flac"),
        (["evaluate", "--data", dataset], "needs --model, or --target"),
        (["evaluate", "--target", "oboe", "--data", dataset], "has no group 'oboe'"),
        (["evaluate", "--target", "bass", "--data", tmp_path], "not a Slakh-layout dataset"),
        (["train", "--target", "bass", "--data", dataset, "--epochs", 0], "--epochs must be positive"),
    ]
    for args, msg in cases:
        code, _, err = run(args, capsys)
        assert code == 1 and msg in one_line_error(err), (args, err)
