"""Where a track render's time goes: CPU seconds per stage, one thread, in process, for each song given.

Stages, in order: imports (a fresh interpreter importing the render path), MIDI parse, bank load, patch drawing,
synth creation + SoundFont load, synthesis (event dispatch + ``fluid_synth_process``), effect chains, loudness,
mixing, int16 conversion, FLAC encoding, MIDI writing (stem files), metadata. Synth creation and synthesis are
timed per stem with the same calls :func:`slakh_gui.core.render.synth.render_one` makes (synthesis = ``render_one``
less what one more synth creation costs right then, e.g. nearly nothing once a SoundFont is cached). CPU time (this
process's, everything runs in one thread; the imports' from the child's rusage) rather than wall time, so that a busy
machine changes the numbers little. Also prints the ``fluidsynth`` CLI's CPU time for the mix (one core, reverb and
chorus off) as the yardstick.

    .venv/bin/python benchmarks/render_stages.py SONG.mid [...] [--bank BANK] [--repeats 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks.render import SF2, one_soundfont_bank  # noqa: E402
from slakh_gui.core.audio_io import to_int16, write_audio  # noqa: E402
from slakh_gui.core.bank import effects, patches  # noqa: E402
from slakh_gui.core.midi import midifile  # noqa: E402
from slakh_gui.core.midi.midi_export import instrument_midi_bytes  # noqa: E402
from slakh_gui.core.render import automix, layout, loudness, pipeline, synth  # noqa: E402

STAGES = ("imports", "midi parse", "bank load", "patch draw", "synth+sf load", "synthesis", "effects", "loudness",
          "mixing", "int16", "flac", "midi write", "metadata")


def child_cpu(cmd: list[str]) -> float:
    """CPU seconds (user + sys) of one run of ``cmd``."""
    before = os.times()
    subprocess.run(cmd, capture_output=True, check=True, cwd=REPO)
    after = os.times()
    return (after.children_user - before.children_user) + (after.children_system - before.children_system)


def import_seconds() -> float:
    """A fresh interpreter importing what ``slakh-studio render`` imports (CLI, its sub-commands, the render path,
    pyloudnorm/scipy), less a bare interpreter's start."""
    code = ("import slakh_gui.cli, slakh_gui.core.render.pipeline, slakh_gui.core.bank.patches, pyloudnorm, soundfile;"
            " from slakh_gui import commands; commands.modules()")
    return child_cpu([sys.executable, "-c", code]) - child_cpu([sys.executable, "-c", "pass"])


def cli_seconds(song: Path, work: Path) -> float:
    return child_cpu(["fluidsynth", "-ni", "-q", "-R", "0", "-C", "0", "-r", "44100", "-o", "synth.cpu-cores=1",
                      "-F", str(work / "cli.wav"), str(SF2), str(song)])


def profile(song_path: Path, bank_path: Path, work: Path, stereo: bool = False) -> dict[str, float]:
    t: dict[str, float] = defaultdict(float)

    def lap(stage: str, t0: float) -> float:
        now = time.process_time()
        t[stage] += now - t0
        return now

    t0 = time.process_time()
    song = midifile.load_song(song_path)
    t0 = lap("midi parse", t0)
    bank = patches.load_bank(bank_path)
    t0 = lap("bank load", t0)
    assignment = patches.assign_patches(song, bank, 0)
    t0 = lap("patch draw", t0)
    jobs = pipeline._stem_jobs(song, bank, assignment)
    n = synth.length_samples(song.pm.get_end_time() + pipeline.DEFAULT_TAIL)
    stems = {}
    for job in jobs:
        t0 = time.process_time()
        synth._new_synth(job, synth.SAMPLE_RATE, False).delete()
        t0 = lap("synth+sf load", t0)
        synth._new_synth(job, synth.SAMPLE_RATE, False).delete()  # what render_one's own creation costs now
        again = time.process_time() - t0
        t0 = time.process_time()
        stems[job.key] = synth.render_one(job, n, stereo=stereo)
        t0 = lap("synthesis", t0)
        t["synthesis"] -= again
        chain = bank.patches[job.label].effect_chain
        if chain:
            stems[job.key] = effects.apply_chain(stems[job.key], chain, synth.SAMPLE_RATE)
        t0 = lap("effects", t0)
    t0 = time.process_time()
    measured = {k: loudness.integrated_loudness(a, synth.SAMPLE_RATE) for k, a in stems.items()}
    t0 = lap("loudness", t0)
    mixed = automix.loudness_mix(stems, synth.SAMPLE_RATE, threads=1, loudness=measured, in_place=True)
    t0 = lap("mixing", t0)
    pcm = {k: to_int16(a) for k, a in [("mix", mixed.mix), *mixed.stems.items()]}
    t0 = lap("int16", t0)
    for k, a in pcm.items():
        write_audio(work / f"{k}.flac", a)
    t0 = lap("flac", t0)
    for job in jobs:
        (work / f"{job.key}.mid").write_bytes(instrument_midi_bytes(song, song.track(job.key)))
    t0 = lap("midi write", t0)
    meta = pipeline.build_metadata(song, bank, assignment, mixed, pipeline.RenderOptions())
    (work / "metadata.yaml").write_text(layout.dump_metadata(meta))
    lap("metadata", t0)
    return dict(t)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("songs", type=Path, nargs="+")
    ap.add_argument("--bank", type=Path, help=f"default: every program on {SF2.name}")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--stereo", action="store_true", help="render stereo stems (no auto-pan)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        bank = args.bank or one_soundfont_bank(work / "bank.yaml")
        imports = statistics.median(import_seconds() for _ in range(args.repeats))
        print(f"CPU seconds per stage, one thread, median of {args.repeats}; imports: a fresh interpreter, once per "
              "process")
        print(f"{'stage':<15}" + "".join(f"{s.name[:14]:>15}" for s in args.songs))
        cols = []
        for song in args.songs:
            runs = [profile(song, bank, work, args.stereo) for _ in range(args.repeats)]
            col = {s: statistics.median(r.get(s, 0.0) for r in runs) for s in STAGES[1:]}
            col["imports"] = imports
            cols.append(col)
        for stage in STAGES:
            print(f"{stage:<15}" + "".join(f"{c[stage]:>15.3f}" for c in cols))
        print(f"{'total':<15}" + "".join(f"{sum(c.values()):>15.3f}" for c in cols))
        clis = [statistics.median(cli_seconds(s, work) for _ in range(args.repeats)) for s in args.songs]
        print(f"{'CLI mix':<15}" + "".join(f"{c:>15.3f}" for c in clis))
        print(f"{'ratio':<15}" + "".join(f"{sum(c.values()) / m:>15.2f}" for c, m in zip(cols, clis, strict=True)))


if __name__ == "__main__":
    main()
