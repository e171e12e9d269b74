"""scripts/train_shipped_models.py writes model cards whose Reproduce line works on another machine."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import SimpleNamespace

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    spec = importlib.util.spec_from_file_location("train_shipped_models", ROOT / "scripts" / "train_shipped_models.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_reproduce_line_drops_local_paths_and_chains_the_earlier_recipe(tmp_path, monkeypatch, capsys):
    script = load_script()
    data = Path("/somewhere/on/my/disk/ds100")
    monkeypatch.setattr(sys, "argv", ["train_shipped_models.py", "--data", str(data), "--work", "/scratch/w",
                                      "--targets", "bass", "--epochs", "6", "--threads", "1", "--out=/scratch/o"])
    first = script.reproduce_line("bass", data, SimpleNamespace(init_from=None))
    assert first == ("`python scripts/train_shipped_models.py --data ds100 --work WORK --targets bass --epochs 6 "
                     "--threads 1`")

    prev = tmp_path / "prev"
    prev.mkdir()
    (prev / "bass.md").write_text(f"# card\n\n- Data: `ds100`\n- Reproduce: `make ds100`, then {first}\n")
    monkeypatch.setattr(sys, "argv", ["x", "--data", str(data), "--work", "/scratch/w2", "--targets", "bass",
                                      "--epochs", "20", "--init-from", str(prev), "--out", "/scratch/o2",
                                      "--cache-dir=/scratch/cache", "--incoherent", "0.5"])
    chained = script.reproduce_line("bass", data, SimpleNamespace(init_from=prev))
    assert chained.startswith(f"`make ds100`, then {first}; then")
    assert chained.endswith("`python scripts/train_shipped_models.py --data ds100 --work NEW_WORK --targets bass "
                            "--epochs 20 --init-from PREVIOUS --incoherent 0.5`")
    assert "/scratch" not in chained and "/somewhere" not in chained
    # an earlier recipe that ends a sentence (an averaged model's) goes on without its full stop
    (prev / "bass.md").write_text("- Reproduce: `a`; then `slakh-studio average e1.pt -o bass.pt` (from `epochs/`).\n")
    after_average = script.reproduce_line("bass", data, SimpleNamespace(init_from=prev))
    assert after_average.startswith("`a`; then `slakh-studio average e1.pt -o bass.pt` (from `epochs/`); then, with")
    # without the earlier card the line still says what PREVIOUS is
    alone = script.reproduce_line("drums", data, SimpleNamespace(init_from=prev))
    assert "PREVIOUS: the folder of the models it started from" in alone
    assert "drums.md has no Reproduce line" in capsys.readouterr().err  # a broken chain is said, not silent


def test_summary_of_the_shipped_models_matches_their_evaluations(tmp_path):
    import json
    import shutil

    script = load_script()
    shipped = ROOT / "resources" / "models"
    out = tmp_path / "models"
    shutil.copytree(shipped, out)
    (out / "drums-evaluation.json").unlink()  # a target without an evaluation is left out, not an error
    text = script.write_summary(out, ["bass", "drums", "guitar", "piano"])
    assert text == (out / "evaluation.md").read_text(encoding="utf-8")
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert table[0] == "| Method | Bass SI-SDR / SI-SDRi | Guitar SI-SDR / SI-SDRi | Piano SI-SDR / SI-SDRi |"
    bass = json.loads((shipped / "bass-evaluation.json").read_text())["mean"]
    model_row = next(line for line in table if line.startswith("| Model (tiny) |"))
    assert model_row.split("|")[2].strip() == f"{bass['model']['si_sdr']:.1f} / {bass['model']['si_sdri']:+.1f}"
    # the gap rows, labelled as such: tPSF SI-SDRi − model SI-SDRi here, the paper's beside it
    gap_row = next(line for line in table if line.startswith(f"| {script.GAP_ROW} |"))
    assert gap_row.split("|")[2].strip() == f"**{bass['tpsf']['si_sdri'] - bass['model']['si_sdri']:.1f} dB**"
    assert f"| {script.PAPER_GAP_ROW} | 3.4 dB | 9.1 dB | 8.6 dB |" in table
    assert "Gap to the tPSF oracle" in script.GAP_ROW and "paper" in script.PAPER_GAP_ROW
    assert "| Paper's Slakh model on Slakh2100 (SI-SDRi target) | +10.4 | +5.1 | +5.8 |" in table
    lines = [line for line in text.splitlines() if line.startswith("- ")]
    from slakh_gui.separation.model import load_model

    val = load_model(shipped / "bass.pt").training["val_loss"]
    assert len(lines) == 3 and lines[0].startswith("- bass: ") and f"validation loss {val:.4f}" in lines[0]
    assert script.write_summary(tmp_path / "empty", ["bass"]) == ""


def test_extra_training_songs_are_named_in_the_card(monkeypatch):
    """--extra-songs/--extra-seed stay in the Reproduce line (they make the extra data); the Data line names it."""
    script = load_script()
    data = Path("/data/ds100")
    monkeypatch.setattr(sys, "argv", ["x", "--data", str(data), "--work", "/w", "--extra-songs", "300",
                                      "--extra-seed", "4200", "--targets", "bass"])
    line = script.reproduce_line("bass", data, SimpleNamespace(init_from=None))
    assert line == ("`python scripts/train_shipped_models.py --data ds100 --work WORK --extra-songs 300 "
                    "--extra-seed 4200 --targets bass`")
    assert script._extra_data({"extra_train": ["/w/extra-4200"]}) == (
        " + `extra-4200` (its train and validation splits)")
    assert script._extra_data({}) == ""
    # several extra sets (one per seed) are all named, and the seeds stay in the Reproduce line
    monkeypatch.setattr(sys, "argv", ["x", "--data", str(data), "--work", "/w", "--extra-songs", "300",
                                      "--extra-seed", "4200", "5200", "--targets", "piano"])
    line = script.reproduce_line("piano", data, SimpleNamespace(init_from=None))
    assert "--extra-songs 300 --extra-seed 4200 5200 --targets piano`" in line
    assert script._extra_data({"extra_train": ["/w/extra-4200", "/w/extra-5200"]}) == (
        " + `extra-4200` (its train and validation splits) + `extra-5200` (its train and validation splits)")
    # an existing dataset given with --extra-data is named by its folder, not this machine's path
    monkeypatch.setattr(sys, "argv", ["x", "--data", str(data), "--work", "/w", "--extra-data", "/data/mma-train",
                                      "--extra-data=/data/extra-5200", "--targets", "guitar"])
    line = script.reproduce_line("guitar", data, SimpleNamespace(init_from=None))
    assert line == ("`python scripts/train_shipped_models.py --data ds100 --work WORK --extra-data mma-train "
                    "--extra-data extra-5200 --targets guitar`")


def test_shipped_summary_and_readme_table_are_up_to_date(tmp_path):
    """resources/models/evaluation.md is what the script writes from the shipped files, and the README's table
    (gap rows included) is its table."""
    import shutil

    script = load_script()
    shipped = ROOT / "resources" / "models"
    out = tmp_path / "models"
    shutil.copytree(shipped, out)
    text = script.write_summary(out, ["bass", "drums", "guitar", "piano"])
    assert text == (shipped / "evaluation.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    table = [line for line in text.splitlines() if line.startswith("| ")]
    assert any(line.startswith(f"| {script.GAP_ROW} |") for line in table)
    assert [line for line in table if line not in readme] == []


def test_a_bag_is_made_evaluated_and_carded_from_its_members(dataset, cache_dir, trained, tmp_path, capsys):
    """--bag: the members' bag in OUT, its evaluation, a card naming each member's recipe, a summary line per member."""
    import shutil

    from slakh_gui.separation.model import load_model

    script = load_script()
    result, _ = trained
    first, second = tmp_path / "bass-a.pt", tmp_path / "bass-b.pt"
    shutil.copy(result.model_path, first)
    shutil.copy(result.model_path, second)
    first.with_suffix(".md").write_text("# card\n\n- Reproduce: `make the first one`\n", encoding="utf-8")
    out = tmp_path / "out"
    code = script.main(["--data", str(dataset), "--work", str(tmp_path / "w"), "--cache-dir", str(cache_dir),
                        "--targets", "bass", "--threads", "1", "--out", str(out), "--bag", str(first), str(second)])
    assert code == 0
    bag = load_model(out / "bass.pt")
    assert bag.bag_size == 2 and (out / "bass-evaluation.json").is_file()
    card = (out / "bass.md").read_text(encoding="utf-8")
    assert "**bag of 2 networks**" in card and "`bass-a.pt`" in card and "`make the first one`" in card
    assert "(no card beside this member)" in card and "bass-b.md has no Reproduce line" in capsys.readouterr().err
    assert "slakh-studio bag MEMBER1.pt MEMBER2.pt -o bass.pt" in card and str(tmp_path) not in card
    line = script.training_line("bass", out / "bass.pt")
    assert line.startswith("- bass: a bag of 2 networks (masks averaged): (1) ") and "; (2) " in line


def test_an_average_of_a_runs_epochs_is_carded_with_the_runs_recipe(dataset, cache_dir, tmp_path, capsys):
    """--average: the mean of a run's kept epochs in OUT, evaluated, its card says which epochs and how."""
    from slakh_gui.separation.model import load_model
    from slakh_gui.separation.train import train
    from tests.separation.conftest import small_config

    script = load_script()
    train(small_config(dataset, cache_dir, epochs=2, keep_epochs=True), tmp_path / "run")
    kept = sorted((tmp_path / "run" / "epochs").glob("e*.pt"))
    kept[0].with_suffix(".md").write_text("# run\n\n- Data: `ds`\n- Training: 2 epochs\n- Reproduce: `train it`\n",
                                          encoding="utf-8")
    out = tmp_path / "out"
    code = script.main(["--data", str(dataset), "--work", str(tmp_path / "w"), "--cache-dir", str(cache_dir),
                        "--targets", "bass", "--threads", "1", "--out", str(out), "--average", *map(str, kept)])
    assert code == 0 and load_model(out / "bass.pt").bag_size == 1
    card = (out / "bass.md").read_text(encoding="utf-8")
    assert "its epochs 1, 2 (stochastic weight averaging" in card and "- The run's data: `ds`" in card
    assert "- Reproduce: `train it` with `--keep-epochs`; then `slakh-studio average e001.pt e002.pt -o bass.pt`" in card
    assert script.training_line("bass", out / "bass.pt").endswith("; the weights of epochs 1, 2 averaged")
    # a recipe whose last command keeps the epochs already is not told so twice
    assert script._with_kept_epochs("`a --keep-epochs`; then `b --keep-epochs`") == "`a --keep-epochs`; then `b --keep-epochs`"
    assert script._with_kept_epochs("`a --keep-epochs`; then `b`") == "`a --keep-epochs`; then `b` with `--keep-epochs`"
