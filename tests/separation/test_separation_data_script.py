"""scripts/separation_data.sh makes every data set the shipped models' cards name, with the README's commands."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "scripts" / "separation_data.sh"


def script_sets() -> dict[str, tuple[str, str]]:
    """name -> (midi generate arguments, dataset arguments), from the script's table."""
    rows = re.findall(r'^  "([\w-]+)\|([^|]*)\|([^|]*)"$', SCRIPT.read_text(), flags=re.M)
    return {name: (midi, data) for name, midi, data in rows}


def test_list_gives_the_table_in_order():
    listed = subprocess.run(["bash", str(SCRIPT), "--list"], capture_output=True, text=True, check=True).stdout.split()
    assert listed == list(script_sets())
    assert listed[:2] == ["ds100", "mma-test"]  # the scoring sets first: a short run can stop after them


def test_every_data_set_of_the_shipped_cards_is_made():
    named = set()
    for card in (ROOT / "resources" / "models").glob("*.md"):
        named |= set(re.findall(r"--(?:data|extra-data|unseen) ([\w-]+)", card.read_text()))
    assert named, "the cards name no data sets: the pattern is stale"
    assert named <= set(script_sets()), named - set(script_sets())


def test_commands_are_the_readme_ones():
    readme = " ".join((ROOT / "README.md").read_text().split())
    for name, (midi_args, dataset_args) in script_sets().items():
        midi = "corpus" if name == "ds100" else f"{name}-midi"  # the README's name for ds100's MIDI folder
        head = " ".join(midi_args.split()[:4])  # count and seed (the README shortens mma-train2's line after them)
        assert f"midi generate -o {midi} {head}" in readme, name
        assert f"dataset {midi} -o {name} {dataset_args}" in readme, name


def test_unknown_name_is_refused_before_anything_is_made(tmp_path):
    out = tmp_path / "data"
    proc = subprocess.run(["bash", str(SCRIPT), str(out), "ds100", "nope"], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "no data set named nope" in proc.stderr
    assert not out.exists()
