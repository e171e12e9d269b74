"""scripts/compare_joint_singles.py: a joint model and four single models scored on the same clips, CPU budgets read
from the model files."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

from slakh_gui.core.dataset.recipes import load_recipe
from slakh_gui.separation.model import SeparationModel, save_model

ROOT = Path(__file__).resolve().parents[2]
TARGETS = ["bass", "drums", "guitar", "piano"]


def load_script():
    spec = importlib.util.spec_from_file_location("compare_joint_singles", ROOT / "scripts" / "compare_joint_singles.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_compare_writes_both_sides_on_the_same_clips(dataset, cache_dir, tmp_path):
    recipe = load_recipe("band")
    joint = SeparationModel.new("joint-tiny", [recipe.group(t) for t in TARGETS], recipe)
    joint.training = {"cpu_seconds": 7200.0, "epochs": 27, "best_epoch": 27, "data": "/x/ds100",
                      "config": {"extra_train": ["/x/mma-train"]}}
    save_model(joint, tmp_path / "joint.pt")
    for i, t in enumerate(TARGETS):
        single = SeparationModel.new("tiny", recipe.group(t), recipe)
        single.training = {"cpu_seconds": 1800.0 + i, "epochs": 8}
        (tmp_path / t).mkdir()
        save_model(single, tmp_path / t / "model.pt")
    out = tmp_path / "cmp.md"
    assert load_script().main(["--joint", str(tmp_path / "joint.pt"), "--singles", str(tmp_path), "--test",
                               str(dataset), "--cache", str(cache_dir), "--max-tracks", "1", "-o", str(out)]) == 0
    text = out.read_text()
    assert "joint **2.00 h**" in text and "**2.00 h** together" in text and "`ds100` + mma-train" in text
    data = json.loads(out.with_suffix(".json").read_text())
    scores = data["results"][dataset.name]
    for t in TARGETS:
        single, joint_means = scores[t]["single"], scores[t]["joint"]
        # same clips: the oracles score alike on both sides; the two (random) networks do not
        assert single["tpsf"] == joint_means["tpsf"] and single["model"]["n"] == joint_means["model"]["n"] > 0
        assert single["model"]["si_sdri"] != joint_means["model"]["si_sdri"] and "model+wiener" in joint_means
    assert text.count("| Joint model + Wiener post-filter |") == 1
