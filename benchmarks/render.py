"""Render benchmark: Slakh Studio's stems + mix against the ``fluidsynth`` CLI rendering the mix once.

Both sides use the same file, the same SoundFont (FluidR3_GM for every program, as a one-SoundFont bank) and the
same reverb/chorus setting, run as whole commands in turn (A B A B ...). Ours includes loudness, mixing and writing
FLAC stems + mix + MIDI + metadata. Prints medians and the ratio ours/CLI, plus stem-seconds rendered per second,
and the post-render stage (loudness, normalize, sum, FLAC) as realtime factor per stem.

    .venv/bin/python benchmarks/render.py [--repeats 3] [--song FILE ...]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from slakh_gui import paths  # noqa: E402
from slakh_gui.core import midi, mixing, patches, pipeline, render  # noqa: E402
from slakh_gui.core.audio_io import to_int16, write_audio  # noqa: E402

SF2 = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")


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


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"command failed: {' '.join(cmd)}\n{proc.stderr}")
    return wall


def bench_song(song_path: Path, bank_path: Path, repeats: int, work: Path, threads: int) -> None:
    song = midi.load_song(song_path)
    bank = patches.load_bank(bank_path)
    assignment = patches.assign_patches(song, bank, 0)
    n_stems = sum(1 for t in assignment.tracks.values() if t.patch_id)
    seconds = song.pm.get_end_time() + 5.0
    exe = str(Path(sys.executable).parent / "slakh-studio")
    print(f"\n{song_path.name}: {len(song.tracks)} tracks ({n_stems} rendered), {seconds:.1f} s incl. 5 s tail")
    print(f"{'case':<28}{'ours (s)':>10}{'CLI (s)':>10}{'ratio':>8}{'stem-s/s':>10}{'CLI x RT':>10}")
    for fx in (False, True):
        flag = "1" if fx else "0"
        cli = ["fluidsynth", "-ni", "-q", "-R", flag, "-C", flag, "-g", "0.2", "-r", "44100",
               "-F", str(work / "cli.wav"), str(SF2), str(song_path)]
        ours = [exe, "render", str(song_path), "-o", str(work / "ours"), "--bank", str(bank_path), "--overwrite",
                "--threads", str(threads)]
        if fx:
            ours.append("--fx")
        timed(cli), timed(ours)  # warm-up (page cache)
        a, b, ratios = [], [], []
        for _ in range(repeats):
            a.append(timed(ours))
            b.append(timed(cli))
            ratios.append(a[-1] / b[-1])
        ma, mb = statistics.median(a), statistics.median(b)
        label = "effects on (per-track fx)" if fx else "effects off"
        print(f"{label:<28}{ma:>10.2f}{mb:>10.2f}{statistics.median(ratios):>8.2f}"
              f"{n_stems * seconds / ma:>10.1f}{seconds / mb:>10.1f}")

    # The post-render stage alone, in process: loudness, normalization, summing, FLAC writing.
    jobs = pipeline._stem_jobs(song, bank, assignment)
    n = render.length_samples(seconds)
    audio = render.render_stems(jobs, n)
    stems = {j.key: audio[i] for i, j in enumerate(jobs)}
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        mixed = mixing.loudness_mix(stems, 44100)
        for k, a_ in mixed.stems.items():
            write_audio(work / f"{k}.flac", to_int16(a_))
        write_audio(work / "mix.flac", to_int16(mixed.mix))
        times.append(time.perf_counter() - t0)
    t = statistics.median(times)
    per_stem = t / len(stems)
    print(f"post-render stage: {t:.2f} s for {len(stems)} stems = {seconds / per_stem:.0f}x realtime per stem "
          f"(loudness + normalize + sum + FLAC, 2 threads)")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--song", type=Path, action="append", help="MIDI file(s); default: demo + 3-min 12-track song")
    ap.add_argument("--threads", type=int, default=2, help="synths ours runs at once (the CLI uses one core)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        songs = args.song
        if not songs:
            bench = work / "bench_3min_12tracks.mid"
            subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_bench_song.py"), str(bench)],
                           check=True, capture_output=True)
            songs = [paths.demo_song(), bench]
        bank = one_soundfont_bank(work / "bank.yaml")
        print(f"FluidSynth {render.fluid.version()}, SoundFont {SF2.name}, {len(songs)} songs, "
              f"{args.repeats} runs each (medians; ratio = ours / CLI, pair by pair); ours with --threads {args.threads}")
        for s in songs:
            bench_song(s, bank, args.repeats, work, args.threads)


if __name__ == "__main__":
    main()
