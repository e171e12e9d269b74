"""Separation speed: realtime factor and peak memory of separating a 3-minute 44.1 kHz mixture with each preset.

Each preset runs in its own process (so peak RSS is that preset's), with an untrained network of the preset's size
(the cost does not depend on the weights), after a 2-s warm-up. Also one 30-minute file with the shipped preset, to
show that memory stays bounded (chunks of 30 s). Targets (issue #8): `paper` >= 20x realtime on 2 cores, the shipped
preset >= 100x. The joint presets (one network, a mask head per band target) separate all four targets in one pass.
Then bags of 2 and 3 networks of the shipped preset (one target, masks averaged). Then the four targets of the
shipped preset separated together (``separation.wiener.separate_all``), without and with the joint Wiener post-filter (norbert, 1 EM iteration): its realtime factor counts the mixture's
seconds once for all four targets. Then the external models at the sizes of their released models, random
weights, loaded from files by ``separation.external``: Open-Unmix ``umxhq`` (four 3x512 BLSTM targets, n_fft 4096,
1 EM Wiener iteration) and Demucs ``htdemucs`` (default HTDemucs, four sources); all their sources at once.

    .venv/bin/python benchmarks/separation.py [--seconds 180] [--threads 2] [--long 1800] [--no-wiener]
        [--no-external | --external-only]
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


def one(preset: str, seconds: float, threads: int, joint: str = "") -> dict:
    """One run: ``joint`` "" (one model), ``all`` (the four band targets, no filter) or ``wiener`` (with it)."""
    import numpy as np
    import torch

    from slakh_gui.core.dataset.recipes import load_recipe
    from slakh_gui.separation.inference import separate
    from slakh_gui.separation.model import SHIPPED, SeparationModel, bag_models, is_joint_preset
    from slakh_gui.separation.wiener import separate_all

    torch.set_num_threads(threads)
    torch.manual_seed(0)
    sr = 44100
    recipe = load_recipe("band")
    bag = int(joint[3:]) if joint.startswith("bag") else 0
    if bag:  # a bag of `bag` networks of the preset (masks averaged)
        models = {"bass": bag_models([SeparationModel.new(preset, recipe.group("bass"), recipe) for _ in range(bag)])}
        joint = ""
    elif is_joint_preset(preset):  # one network, a head per band target: one pass gives all four
        net = SeparationModel.new(preset, [recipe.group(t) for t in SHIPPED], recipe)
        models = net.views()
        joint = joint or "all"
    else:
        models = {t: SeparationModel.new(preset, recipe.group(t), recipe) for t in (SHIPPED if joint else ("bass",))}

    def run(x):
        if joint:
            return separate_all(x, sr, models, wiener=joint == "wiener")
        return separate(x, sr, next(iter(models.values())))

    audio = (0.1 * np.random.default_rng(0).standard_normal(int(seconds * sr))).astype(np.float32)
    run(audio[: sr * 2])
    t0 = time.perf_counter()
    run(audio)
    wall = time.perf_counter() - t0
    if is_joint_preset(preset):
        name, params = preset + (" + Wiener" if joint == "wiener" else ""), net.n_parameters
    else:
        name = f"bag of {bag} {preset}" if bag else {"": preset, "all": f"4x {preset}",
                                                      "wiener": f"4x {preset} + Wiener"}[joint]
        params = sum(m.n_parameters for m in models.values())
    return {"preset": name, "parameters": params, "audio_s": seconds,
            "wall_s": wall, "rtf": seconds / wall,
            "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def external(kind: str, seconds: float, threads: int) -> dict:
    """An Open-Unmix umxhq-sized or default HTDemucs model with random weights, saved in its package's format,
    loaded with :func:`slakh_gui.separation.external.load_external`, separating every source."""
    import tempfile

    import numpy as np
    import torch

    from slakh_gui.separation.external import load_external
    from tests.separation.external_models import save_demucs, save_openunmix

    torch.set_num_threads(threads)
    sr = 44100
    with tempfile.TemporaryDirectory() as tmp:
        if kind == "umxhq":
            path = save_openunmix(Path(tmp) / "umxhq", ("vocals", "drums", "bass", "other"), nfft=4096, nhop=1024,
                                  hidden_size=512, nb_layers=3, max_bin=1487)
        else:
            path = save_demucs(Path(tmp) / "955717e8.th", "htdemucs", ("drums", "bass", "other", "vocals"),
                               full=True)
        model = load_external(path)
    audio = (0.1 * np.random.default_rng(0).standard_normal(int(seconds * sr))).astype(np.float32)
    model.separate_all(audio[: sr * 2], sr)
    t0 = time.perf_counter()
    model.separate_all(audio, sr)
    wall = time.perf_counter() - t0
    return {"preset": f"{kind} (ext.)", "parameters": model.n_parameters, "audio_s": seconds, "wall_s": wall,
            "rtf": seconds / wall, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=180.0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--long", type=float, default=1800.0, help="seconds of the long-file run (0: skip)")
    ap.add_argument("--no-wiener", action="store_true", help="skip the four-target runs")
    ap.add_argument("--no-external", action="store_true", help="skip the Open-Unmix and Demucs runs")
    ap.add_argument("--external-only", action="store_true", help="only the Open-Unmix and Demucs runs")
    ap.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        joint = "" if args.child[3] == "one" else args.child[3]
        if joint == "external":
            print(json.dumps(external(args.child[0], float(args.child[1]), int(args.child[2]))))
            return 0
        print(json.dumps(one(args.child[0], float(args.child[1]), int(args.child[2]), joint)))
        return 0
    from slakh_gui.separation.model import PRESETS, SHIPPED_PRESET

    runs = [(p, args.seconds, "one") for p in PRESETS]
    runs += [(SHIPPED_PRESET, args.seconds, f"bag{k}") for k in (2, 3)]  # bags of shipped-size networks
    runs += [(SHIPPED_PRESET, args.long, "one")] if args.long else []
    if not args.no_wiener:
        runs += [(SHIPPED_PRESET, args.seconds, "all"), (SHIPPED_PRESET, args.seconds, "wiener")]
    runs = [] if args.external_only else runs
    if not args.no_external:
        runs += [("umxhq", args.seconds, "external"), ("htdemucs", args.seconds, "external")]
    print(f"{'preset':>18} {'params':>8} {'audio':>7} {'wall s':>7} {'x realtime':>10} {'peak RSS MB':>11}")
    for preset, seconds, joint in runs:
        out = subprocess.run([sys.executable, __file__, "--child", preset, str(seconds), str(args.threads), joint],
                             capture_output=True, text=True, check=True).stdout
        r = json.loads(out.strip().splitlines()[-1])
        print(f"{r['preset']:>18} {r['parameters'] / 1e6:7.1f}M {r['audio_s']:6.0f}s {r['wall_s']:7.2f} "
              f"{r['rtf']:10.{0 if r['rtf'] >= 10 else 2}f} {r['peak_rss_mb']:11.0f}")
    print(f"({args.threads} threads; targets: paper >= 20x, {SHIPPED_PRESET} >= 100x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
