"""Render benchmark: Slakh Studio's stems + mix against the ``fluidsynth`` CLI rendering the mix once.

Three 3-minute songs of different density (sparse 3 tracks, medium 6, dense 12; ``make_bench_song.py``), or the
songs given. Both sides use the same file, the same SoundFont (FluidR3_GM for every program, as a one-SoundFont bank)
and the same reverb/chorus setting, and run as whole commands in turn (ours, CLI, ours, CLI...), so both share the
machine's noise. Two cases per song:

- one thread each: ``slakh-studio render --threads 1`` against ``fluidsynth -ni -q -r 44100 -o synth.cpu-cores=1``
  (target: ratio <= 1.3);
- default threads: ours ``--threads 2`` against the CLI's default (target: ratio <= 1.0).

Ours includes start-up, MIDI parsing, patch drawing, loudness, mixing and writing FLAC stems + mix + MIDI + metadata.
Prints medians of wall time, the median of the pairwise ratios ours/CLI, and the same ratio of CPU time (user + sys
of the child, less sensitive to a busy machine).

A third case per song times ``slakh-studio render --stereo`` against the same mono render (same song, bank and
threads; run in turn, pair by pair): the cost of keeping FluidSynth's left/right (twice the float files, stereo
loudness and FLAC; target: ratio <= 1.2). ``--stereo off`` skips it, ``--stereo only`` times it alone.

    .venv/bin/python benchmarks/render.py [--repeats 3] [--song FILE ...] [--fx off|on|both] [--stereo on|off|only]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.make_bench_song import DENSITIES, make_song  # noqa: E402
from slakh_gui.core.bank import patches  # noqa: E402
from slakh_gui.core.midi import midifile  # noqa: E402
from slakh_gui.core.render import synth  # noqa: E402

SF2 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
TARGETS = {"1 thread": 1.3, "default threads": 1.0, "stereo / mono": 1.2}
POLYPHONY = [synth.POLYPHONY]  # the CLI's, set from --cli-polyphony


def one_soundfont_bank(path: Path) -> Path:
    """Every GM program -> FluidR3_GM bank 0 preset p; drums -> bank 128 preset 0."""
    lines = ["format: slakh-studio-bank/1", "name: fluidr3-gm-only", "patches:"]
    for p in range(128):
        lines.append(f"  gm.{p:03d}: {{soundfont: {SF2.name}, bank: 0, preset: {p}}}")
    lines.append(f"  gm.drums: {{soundfont: {SF2.name}, bank: 128, preset: 0}}")
    lines.append("classes:")
    for p in range(128):
        lines += [f"  P{p:03d}:", "    inst_class: " + repr(patches.gm.family(p)), f"    programs: [{p}]",
                  f"    patches: [gm.{p:03d}]"]
    lines += ["  Drums:", "    inst_class: Drums", "    programs: [128]", "    patches: [gm.drums]"]
    path.write_text("\n".join(lines) + "\n")
    return path


def timed(cmd: list[str]) -> tuple[float, float]:
    """(wall seconds, CPU seconds of the child) of one run of ``cmd``."""
    before = os.times()
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    after = os.times()
    if proc.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{proc.stderr}")
    return wall, (after.children_user - before.children_user) + (after.children_system - before.children_system)


def commands(song: Path, bank: Path, work: Path, fx: bool, one_thread: bool) -> tuple[list[str], list[str]]:
    """(ours, CLI) command lines for one case."""
    flag = "1" if fx else "0"
    # same settings on both sides: reverb/chorus, and the polyphony (the CLI's default of 256 voices steals notes
    # that ours keeps, i.e. renders less: --cli-polyphony 256 measures against the CLI's default)
    cli = ["fluidsynth", "-ni", "-q", "-R", flag, "-C", flag, "-r", "44100", "-o", f"synth.polyphony={POLYPHONY[0]}"]
    if one_thread:
        cli += ["-o", "synth.cpu-cores=1"]
    cli += ["-F", str(work / "cli.wav"), str(SF2), str(song)]
    ours = [str(Path(sys.executable).parent / "slakh-studio"), "render", str(song), "-o", str(work / "ours"),
            "--bank", str(bank), "--overwrite", "--threads", "1" if one_thread else "2"]
    if fx:
        ours.append("--fx")
    return ours, cli


def bench_case(ours: list[str], cli: list[str], repeats: int) -> dict:
    timed(cli), timed(ours)  # warm-up (page cache)
    rows = []
    for _ in range(repeats):
        rows.append((*timed(ours), *timed(cli)))
    med = statistics.median
    return {"ours": med(r[0] for r in rows), "cli": med(r[2] for r in rows),
            "ratio": med(r[0] / r[2] for r in rows), "cpu_ratio": med(r[1] / r[3] for r in rows)}


def bench_stereo(ours: list[str], repeats: int) -> dict:
    """Ours with ``--stereo`` against ours mono (the same command otherwise), in turn, pair by pair."""
    return bench_case(ours + ["--stereo"], ours, repeats)  # the mono render in the reference's place


def bench_song(song_path: Path, bank_path: Path, repeats: int, work: Path, fx_cases: list[bool],
               stereo: bool = True, cli: bool = True) -> list[tuple]:
    song = midifile.load_song(song_path)
    bank = patches.load_bank(bank_path)
    assignment = patches.assign_patches(song, bank, 0)
    n_stems = sum(1 for t in assignment.tracks.values() if t.patch_id)
    notes = sum(len(t.instrument.notes) for t in song.tracks)
    seconds = synth.length_samples(song.pm.get_end_time() + 5.0) / synth.SAMPLE_RATE
    print(f"\n{song_path.name}: {len(song.tracks)} tracks ({n_stems} rendered), {notes} notes, "
          f"{seconds:.1f} s incl. 5 s tail")
    print(f"{'case':<34}{'ours (s)':>9}{'CLI (s)':>9}{'ratio':>7}{'CPU ratio':>10}{'target':>12}{'stem-s/s':>8}")
    results = []
    for fx in fx_cases:
        for case, one_thread in (("1 thread", True), ("default threads", False)) if cli else ():
            r = bench_case(*commands(song_path, bank_path, work, fx, one_thread), repeats)
            label = f"{case}, effects {'on' if fx else 'off'}"
            ok = "ok" if r["ratio"] <= TARGETS[case] else "MISS"
            print(f"{label:<34}{r['ours']:>9.2f}{r['cli']:>9.2f}{r['ratio']:>7.2f}{r['cpu_ratio']:>10.2f}"
                  f"{f'<={TARGETS[case]} {ok}':>12}{n_stems * seconds / r['ours']:>8.1f}")
            results.append((song_path.name, label, r["ratio"], r["cpu_ratio"], TARGETS[case]))
        if stereo:  # columns: stereo (s), mono (s), stereo / mono
            case = "stereo / mono"
            r = bench_stereo(commands(song_path, bank_path, work, fx, False)[0], repeats)
            label = f"{case}, effects {'on' if fx else 'off'}"
            ok = "ok" if r["ratio"] <= TARGETS[case] else "MISS"
            print(f"{label:<34}{r['ours']:>9.2f}{r['cli']:>9.2f}{r['ratio']:>7.2f}{r['cpu_ratio']:>10.2f}"
                  f"{f'<={TARGETS[case]} {ok}':>12}{n_stems * seconds / r['ours']:>8.1f}")
            results.append((song_path.name, label, r["ratio"], r["cpu_ratio"], TARGETS[case]))
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--cli-polyphony", type=int, default=synth.POLYPHONY,
                    help=f"the CLI's synth.polyphony (default {synth.POLYPHONY}, as ours; FluidSynth's own is 256)")
    ap.add_argument("--song", type=Path, action="append", help="MIDI file(s); default: sparse, medium, dense")
    ap.add_argument("--fx", choices=("off", "on", "both"), default="off",
                    help="reverb/chorus on both sides (ours: per-track FluidSynth effects)")
    ap.add_argument("--stereo", choices=("on", "off", "only"), default="on",
                    help="also time --stereo against the mono render (the 'stereo / mono' rows: stereo s, mono s); "
                         "only: those rows alone, no CLI runs")
    args = ap.parse_args()
    fx_cases = {"off": [False], "on": [True], "both": [False, True]}[args.fx]
    POLYPHONY[0] = args.cli_polyphony
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        songs = args.song
        if not songs:
            songs = []
            for density in DENSITIES:
                songs.append(work / f"bench_{density}.mid")
                make_song(songs[-1], density)
        bank = one_soundfont_bank(work / "bank.yaml")
        print(f"FluidSynth {synth.fluid.version()}, SoundFont {SF2.name}, {len(songs)} songs, {args.repeats} runs "
              f"per case, polyphony ours {synth.POLYPHONY} / CLI {POLYPHONY[0]} (medians; ratio = ours / CLI, pair by pair; "
              f"CPU ratio = user+sys, pair by pair)")
        results = []
        for s in songs:
            results += bench_song(s, bank, args.repeats, work, fx_cases, args.stereo != "off", args.stereo != "only")
    print("\nsummary (ratio, CPU ratio, target):")
    for name, label, ratio, cpu, target in results:
        print(f"  {name:<22}{label:<34}{ratio:>6.2f}{cpu:>7.2f}  <= {target}  {'ok' if ratio <= target else 'MISS'}")


if __name__ == "__main__":
    main()
