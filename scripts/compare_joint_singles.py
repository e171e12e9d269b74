#!/usr/bin/env python
"""A joint model against single-target models trained on the same CPU budget: both scored on the same test clips.

Trains nothing: give it a joint model file and a folder of single models (``<target>/model.pt`` run folders or
``<target>.pt`` files), e.g. the runs of

    slakh-studio train --target bass,drums,guitar,piano --preset joint-tiny --data ds100 --extra-train mma-train \
        --threads 1 --batch-size 8 --patience 0 --epochs 27 -o cmp/joint
    slakh-studio train --target bass --preset tiny --data ds100 --extra-train mma-train \
        --threads 1 --batch-size 8 --patience 0 --epochs 8 -o cmp/bass        (and drums, guitar, piano)

Each test set is scored like the shipped models (seeded 10-s clips, 2 per track): per target, the single model, the
joint model's head, the joint model with the Wiener post-filter (its other heads as the other targets), and the
oracles; the training CPU time of each side comes from the model files (``cpu_seconds``, this process's CPU time).
Writes OUT (markdown) and OUT with ``.json``.

    python scripts/compare_joint_singles.py --joint cmp/joint/model.pt --singles cmp --test ds100 --test mma-test \
        -o resources/models/joint-comparison.md
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from slakh_gui.core.audio_io import atomic_write_text  # noqa: E402
from slakh_gui.separation.evaluate import evaluate  # noqa: E402
from slakh_gui.separation.model import load_model  # noqa: E402
from slakh_gui.separation.paper import PAPER_TPSF_GAP  # noqa: E402

TARGETS = ("bass", "drums", "guitar", "piano")
ROWS = (("single", "model", "Single model (`tiny`), one per target"),
        ("joint", "model", "Joint model (`joint-tiny`), its head"),
        ("joint", "model+wiener", "Joint model + Wiener post-filter"),
        ("joint", "tpsf", "Truncated PSF (oracle)"))


def single_path(folder: Path, target: str) -> Path:
    """``folder/<target>/model.pt`` (a run folder) or ``folder/<target>.pt``."""
    run = folder / target / "model.pt"
    return run if run.is_file() else folder / f"{target}.pt"


def cpu_hours(model) -> float:
    """Training CPU time recorded in the model file (hours); 0 for models trained before it was recorded."""
    t = model.training or {}
    return float(t.get("cpu_seconds", 0.0)) / 3600


def score(joint_path: Path, singles: Path, data: Path, clips: int, cache: Path | None,
          max_tracks: int | None) -> dict:
    """{target: {"single": means, "joint": means}} on ``data``'s test split (means: method -> si_sdr/si_sdri/n)."""
    views = load_model(joint_path).views()
    out = {}
    for target in TARGETS:
        head = next(v for k, v in views.items() if k.lower() == target)
        others = {k: v for k, v in views.items() if k.lower() != target}
        kw = dict(clips_per_track=clips, cache_dir=cache, max_tracks=max_tracks)
        joint = evaluate(data, "test", model=head, wiener_models=others, **kw)
        single = evaluate(data, "test", model=load_model(single_path(singles, target)), **kw)
        out[target] = {"single": single.means(), "joint": joint.means(), "clips": len(joint.rows),
                       "tracks": len({r["track"] for r in joint.rows})}
        print(f"{data.name} {target}: single {out[target]['single']['model']['si_sdri']:+.2f}, joint "
              f"{out[target]['joint']['model']['si_sdri']:+.2f} dB SI-SDRi", flush=True)
    return out


def table(scores: dict) -> str:
    """SI-SDRi per method and target, the gap to the tPSF oracle in brackets, the paper's gaps last."""
    lines = ["| SI-SDRi [dB] (gap to the tPSF oracle) | " + " | ".join(t.capitalize() for t in TARGETS) + " |",
             "|---|" + "---:|" * len(TARGETS)]
    for side, method, label in ROWS:
        cells = []
        for t in TARGETS:
            means = scores[t][side]
            v = means[method]["si_sdri"]
            gap = scores[t]["joint"]["tpsf"]["si_sdri"] - v
            cells.append(f"{v:+.1f}" + ("" if method == "tpsf" else f" ({gap:.1f})"))
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append("| Gap of the paper's Slakh model to its tPSF oracle (Slakh2100) | "
                 + " | ".join(f"({PAPER_TPSF_GAP[t]:.1f})" for t in TARGETS) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--joint", type=Path, required=True, help="the joint model file")
    p.add_argument("--singles", type=Path, required=True, help="folder of <target>/model.pt or <target>.pt")
    p.add_argument("--test", type=Path, action="append", required=True, help="dataset whose test split scores "
                   "(repeatable)")
    p.add_argument("--clips-per-track", type=int, default=2)
    p.add_argument("--cache", type=Path, help="16-kHz audio cache folder")
    p.add_argument("--max-tracks", type=int, help="only the first N test tracks (quick runs)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("-o", "--out", type=Path, required=True, help="markdown file to write (and .json beside)")
    args = p.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    joint = load_model(args.joint)
    singles = {t: load_model(single_path(args.singles, t)) for t in TARGETS}
    budget_j, budget_s = cpu_hours(joint), sum(cpu_hours(m) for m in singles.values())
    results = {d.name: score(args.joint, args.singles, d, args.clips_per_track, args.cache, args.max_tracks)
               for d in args.test}
    epochs = ", ".join(f"{t} {m.training.get('epochs', '?')}" for t, m in singles.items())
    text = ["# Joint model against four single models on the same CPU time\n\n",
            f"Training CPU time (this process's, from the model files): joint **{budget_j:.2f} h** "
            f"({joint.training.get('epochs', '?')} epochs, best {joint.training.get('best_epoch', '?')}); "
            f"the four single models **{budget_s:.2f} h** together (epochs: {epochs}). Same training data "
            f"(`{Path(joint.training.get('data', '')).name}` + "
            f"{', '.join(Path(d).name for d in joint.training.get('config', {}).get('extra_train', [])) or 'nothing'}),"
            f" same batch, clip length, learning rate and seed; one thread each.\n"]
    for name, scores in results.items():
        first = next(iter(scores.values()))
        text.append(f"\n## `{name}` test split ({first['clips']} 10-s clips of {first['tracks']} tracks per "
                    f"target)\n\n" + table(scores))
    atomic_write_text(args.out, "".join(text))
    atomic_write_text(args.out.with_suffix(".json"), json.dumps(
        {"joint_cpu_hours": budget_j, "singles_cpu_hours": budget_s, "results": results}, indent=1))
    print("".join(text))
    return 0


if __name__ == "__main__":
    sys.exit(main())
