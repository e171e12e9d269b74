"""Dataset throughput: hours of mixture rendered per wall-minute with 1 and 2 local workers, and the overhead
outside rendering.

Generates a corpus (default 20 songs of 60-150 s, the shipped default bank), then runs ``slakh-studio dataset``
as a whole command with ``--workers 1`` (on all cores, and confined to one core with ``taskset``) and
``--workers 2`` (``--threads 1`` each). One worker alone also uses part of the second core (each stem's effects,
loudness and FLAC run beside the next stem's synthesis), so the scaling of processes is measured from one worker on
one core to two workers on two cores; the unconfined ratio is printed too. Overhead = wall time of the 1-worker run minus the time spent inside ``pipeline.render_track`` (from
``run-log.jsonl``), as a share of that render time: selection scan, process start, MIDI loading, lint, manifest,
index. Targets (issues #7, #20): >= 0.8 h of audio per wall-minute with 2 workers on 2 cores, scaling >= 1.8x,
overhead < 10 %. Prints the wall time a Slakh2100-sized set (145 h of mixture) would take at the 2-worker rate.

    .venv/bin/python benchmarks/dataset.py [--songs 20] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SLAKH_HOURS = 145.0  # Slakh2100's mixtures


def median_run(runs: list[dict]) -> dict:
    """The run with the median throughput."""
    return sorted(runs, key=lambda r: r["rate"])[len(runs) // 2]


def run(midi: Path, out: Path, workers: int, cores: int | None = None) -> dict:
    """One ``slakh-studio dataset`` run; ``cores``: confined to that many cores (``taskset``), else all."""
    cmd = [sys.executable, "-m", "slakh_gui", "dataset", str(midi), "-o", str(out), "--workers", str(workers),
           "--threads", "1", "--json"]
    if cores is not None:
        cmd = ["taskset", "-c", ",".join(str(c) for c in sorted(os.sched_getaffinity(0))[:cores])] + cmd
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    after = os.times()  # the command and its workers (waited for): CPU time, which a busy machine changes little
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    summary = json.loads(proc.stdout)
    log = [json.loads(line) for line in (out / "run-log.jsonl").read_text().splitlines()]
    audio_h = sum(r.get("duration", 0.0) for r in log) / 3600
    render_s = sum(r.get("render_seconds", 0.0) for r in log)
    task_s = sum(r.get("seconds", 0.0) for r in log)
    return {"workers": workers, "cores": cores or len(os.sched_getaffinity(0)), "wall": wall, "audio_h": audio_h, "render_s": render_s, "task_s": task_s,
            "tracks": len(log), "failed": len(summary["failed"]), "rate": audio_h / (wall / 60), "cpu": cpu,
            "cpu_rate": audio_h / (cpu / 60)}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--songs", type=int, default=20, help="corpus size (10 songs: start-up and the last song's tail "
                    "weigh on the rate; 20 are closer to a long run)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeats", type=int, default=1, help="runs per worker count (medians)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="slakh-bench-dataset-") as tmp:
        tmp = Path(tmp)
        subprocess.run([sys.executable, "-m", "slakh_gui", "midi", "generate", "-o", str(tmp / "midi"), "--count",
                        str(args.songs), "--seed", str(args.seed)], cwd=REPO, check=True, capture_output=True)
        rows = [median_run([run(tmp / "midi", tmp / f"out{w}-{c}-{i}", w, c) for i in range(args.repeats)])
                for w, c in ((1, None), (1, 1), (2, None))]
    one, pinned, two = rows
    print(f"{args.songs} generated songs, {one['audio_h'] * 60:.1f} min of mixture, default bank, FLAC, lint on")
    print(f"{'workers':>7} {'cores':>5} {'wall s':>8} {'h audio / wall min':>19} {'CPU s':>8} {'h audio / CPU min':>18} "
          f"{'render s (sum)':>15} {'tracks':>7}")
    for r in rows:
        print(f"{r['workers']:>7} {r['cores']:>5} {r['wall']:>8.1f} {r['rate']:>19.3f} {r['cpu']:>8.1f} {r['cpu_rate']:>18.3f} "
              f"{r['render_s']:>15.1f} {r['tracks']:>7}")
    overhead = (one["wall"] - one["render_s"]) / one["render_s"]
    print(f"2 workers: {two['rate']:.3f} h of audio per wall-minute   (target >= 0.8); a {SLAKH_HOURS:.0f} h "
          f"(Slakh2100-sized) set would take {SLAKH_HOURS / two['rate'] / 60:.1f} h of wall time on this machine")
    quiet = 2 * two["cpu_rate"]
    print(f"from CPU time: {two['cpu_rate']:.3f} h of audio per CPU-minute, i.e. {quiet:.3f} h per wall-minute on 2 "
          f"cores of our own ({SLAKH_HOURS / quiet / 60:.1f} h for {SLAKH_HOURS:.0f} h of mixture)")
    print(f"scaling, 1 worker on 1 core -> 2 workers on 2 cores: {two['rate'] / pinned['rate']:.2f}x   "
          "(target >= 1.8x)")
    print(f"scaling, 1 worker -> 2 workers, both on all cores: {two['rate'] / one['rate']:.2f}x (one worker alone uses "
          f"{one['cpu'] / one['wall']:.2f} cores: its stems' finishing runs beside the synth, so this ratio is at most "
          f"{len(os.sched_getaffinity(0)) * one['wall'] / one['cpu']:.2f}x)")
    print(f"overhead outside rendering, 1 worker: {one['wall'] - one['render_s']:.1f} s = {overhead:.1%} of render "
          f"time, {(one['wall'] - one['render_s']) / one['tracks']:.2f} s per song   (target < 10 %)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
