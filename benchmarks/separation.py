"""Separation speed: realtime factor and peak memory of separating a 3-minute 44.1 kHz mixture with each preset.

Each preset runs in its own process (so peak RSS is that preset's), with an untrained network of the preset's size
(the cost does not depend on the weights), after a 2-s warm-up. Also one 30-minute file with the shipped preset, to
show that memory stays bounded (chunks of 30 s). Targets (issue #8): `paper` >= 20x realtime on 2 cores, the shipped
preset >= 100x.

    .venv/bin/python benchmarks/separation.py [--seconds 180] [--threads 2] [--long 1800]
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def one(preset: str, seconds: float, threads: int) -> dict:
    import numpy as np
    import torch

    from slakh_gui.core.dataset.recipes import load_recipe
    from slakh_gui.separation.inference import separate
    from slakh_gui.separation.model import SeparationModel

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    sr = 44100
    model = SeparationModel.new(preset, "Bass", load_recipe("band"))
    audio = (0.1 * np.random.default_rng(0).standard_normal(int(seconds * sr))).astype(np.float32)
    separate(audio[: sr * 2], sr, model)
    t0 = time.perf_counter()
    separate(audio, sr, model)
    wall = time.perf_counter() - t0
    return {"preset": preset, "parameters": model.n_parameters, "audio_s": seconds, "wall_s": wall,
            "rtf": seconds / wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--long", type=float, default=1800.0, help="seconds of the long-file run (0: skip)")
    ap.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(one(args.child[0], float(args.child[1]), int(args.child[2]))))
        return 0
    from slakh_gui.separation.model import PRESETS, SHIPPED_PRESET

    runs = [(p, args.seconds) for p in PRESETS] + ([(SHIPPED_PRESET, args.long)] if args.long else [])
    print(f"{'preset':>7} {'params':>8} {'audio':>7} {'wall s':>7} {'x realtime':>10} {'peak RSS MB':>11}")
    for preset, seconds in runs:
        out = subprocess.run([sys.executable, __file__, "--child", preset, str(seconds), str(args.threads)],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{r['preset']:>7} {r['parameters'] / 1e6:7.1f}M {r['audio_s']:6.0f}s {r['wall_s']:7.2f} "
              f"{r['rtf']:10.0f} {r['peak_rss_mb']:11.0f}")
    print(f"({args.threads} threads; targets: paper >= 20x, {SHIPPED_PRESET} >= 100x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
