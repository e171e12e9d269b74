"""The ``slakh-studio`` command line: a thin shell over :mod:`slakh_gui.core`.

Every error the user can cause (bad MIDI, bank or SoundFont, unwritable output, limits) prints one line and exits
non-zero; Ctrl-C cancels a render cleanly (nothing half-written is left).
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
from pathlib import Path

from slakh_gui import __version__, paths

EXIT_ERROR = 1
EXIT_CANCELLED = 130


class CliError(Exception):
    """An error to print as one line."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="slakh-studio", description="Build and audition Slakh2100-style multitrack "
                                "data from MIDI: per-instrument stems, a loudness-normalized mix, Slakh's layout.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    info = sub.add_parser("info", help="list a MIDI file's tracks the Slakh way")
    info.add_argument("midi", type=Path)
    info.add_argument("--bank", type=Path, help="also show which tracks this bank can render")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def render_options(r: argparse.ArgumentParser) -> None:
        r.add_argument("--seed", type=int, default=0, help="seed of the patch draw (default 0)")
        r.add_argument("--bank", type=Path, help="patch bank YAML (default patches/default.yaml; "
                       "patches/flakh.yaml with --flakh)")
        r.add_argument("--flakh", action="store_true", help="Flakh mode: TimGM6mb stems, mix = unsplit file rendered whole")
        r.add_argument("--format", choices=["flac", "wav"], default="flac", help="audio format (default flac)")
        r.add_argument("--tail", type=float, default=5.0, help="seconds rendered after the song's end (default 5)")
        r.add_argument("--fx", action="store_true", help="FluidSynth's own reverb/chorus, per track")
        r.add_argument("--threads", type=int, default=2, help="synths run at once (default 2; output is the same)")
        r.add_argument("--overwrite", action="store_true", help="replace an existing track folder")
        r.add_argument("--max-duration", type=float, default=3600.0, metavar="S", help="refuse longer songs (s)")
        r.add_argument("--max-memory", type=float, default=8.0, metavar="GIB", help="refuse renders needing more (GiB)")

    r = sub.add_parser("render", help="render a MIDI file into a Slakh2100 track folder")
    r.add_argument("midi", type=Path)
    r.add_argument("-o", "--out", type=Path, required=True,
                   help="output: a TrackNNNNN folder, or a folder to create TrackNNNNN in")
    r.add_argument("--track-number", type=int, default=1, help="NNNNN when -o is not a TrackNNNNN folder")
    r.add_argument("--assignment", type=Path, help="use the patches saved in this assignment file")
    r.add_argument("--save-assignment", type=Path, help="save the patch assignment to this file")
    r.add_argument("--json", action="store_true", help="print the result as JSON")
    render_options(r)

    d = sub.add_parser("demo", help="render the bundled demo song with the default bank")
    d.add_argument("-o", "--out", type=Path, default=Path("slakh-studio-demo"), help="output folder")
    render_options(d)

    b = sub.add_parser("bank", help="check a patch bank and print its counts")
    b.add_argument("bank", type=Path, nargs="?", help="bank YAML (default patches/default.yaml)")
    b.add_argument("--json", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if not args.command:
        _parser().print_help()
        return 0
    from slakh_gui.core.fluid import FluidSynthMissing  # noqa: PLC0415
    from slakh_gui.core.jobs import Cancelled  # noqa: PLC0415
    from slakh_gui.core.midi import MidiLoadError  # noqa: PLC0415
    from slakh_gui.core.patches import BankError, SoundFontMissing  # noqa: PLC0415
    from slakh_gui.core.pipeline import NothingToRender, RenderLimitError  # noqa: PLC0415
    from slakh_gui.core.render import RenderError  # noqa: PLC0415

    handler = {"info": cmd_info, "render": cmd_render, "demo": cmd_demo, "bank": cmd_bank}[args.command]
    try:
        return handler(args)
    except Cancelled:
        print("slakh-studio: cancelled; nothing was written", file=sys.stderr)
        return EXIT_CANCELLED
    except (CliError, MidiLoadError, BankError, SoundFontMissing, RenderLimitError, RenderError, NothingToRender,
            FluidSynthMissing, FileExistsError, PermissionError) as exc:
        print(f"slakh-studio: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except OSError as exc:
        print(f"slakh-studio: error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}",
              file=sys.stderr)
        return EXIT_ERROR


def cmd_info(args) -> int:
    from slakh_gui.core.midi import load_song  # noqa: PLC0415
    from slakh_gui.core.patches import load_bank  # noqa: PLC0415

    song = load_song(args.midi)
    bank = load_bank(args.bank) if args.bank else None
    rows = [t.as_dict() for t in song.tracks]
    if bank:
        for row, t in zip(rows, song.tracks, strict=True):
            row["renderable"] = bool(t.note_count) and bank.covers(t.program)
    if args.json:
        print(json.dumps({"file": str(song.path), "UUID": song.md5, "end_time": round(song.end_time, 3),
                          "repairs": song.repairs, "tracks": rows}, indent=2))
        return 0
    print(f"{song.path}  UUID {song.md5}  {len(rows)} tracks  {song.end_time:.1f} s")
    for note in song.repairs:
        print(f"  (repaired: {note})")
    head = ["stem", "name", "prog", "drum", "inst_class", "midi_program_name", "notes", "range", "start", "end"]
    if bank:
        head.append("bank")
    table = []
    for row in rows:
        rng = f"{row['pitch_min']}-{row['pitch_max']}" if row["notes"] else "-"
        line = [row["key"], row["name"][:20], str(row["program_num"]), "yes" if row["is_drum"] else "",
                row["inst_class"], row["midi_program_name"], str(row["notes"]), rng,
                f"{row['start']:.1f}", f"{row['end']:.1f}"]
        if bank:
            line.append("ok" if row["renderable"] else "not covered")
        table.append(line)
    widths = [max(len(h), *(len(r[i]) for r in table)) for i, h in enumerate(head)]
    print("  ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    for r in table:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    return 0


def _out_track_dir(out: Path, number: int) -> Path:
    from slakh_gui.core.layout import TRACK_NAME, track_name  # noqa: PLC0415

    return out if TRACK_NAME.match(out.name) else out / track_name(number)


def _run_render(args, midi_path: Path, out_dir: Path, assignment_in: Path | None = None,
                save_to: Path | None = None, as_json: bool = False) -> int:
    from tqdm import tqdm  # noqa: PLC0415

    from slakh_gui.core.jobs import CancelToken  # noqa: PLC0415
    from slakh_gui.core.midi import load_song  # noqa: PLC0415
    from slakh_gui.core.patches import assign_patches, load_assignment, load_bank, save_assignment  # noqa: PLC0415
    from slakh_gui.core.pipeline import RenderOptions, render_track  # noqa: PLC0415

    song = load_song(midi_path)
    bank_path = args.bank or (paths.flakh_bank() if args.flakh else paths.default_bank())
    bank = load_bank(bank_path)
    if assignment_in:
        assignment = load_assignment(assignment_in, song, bank)
    else:
        assignment = assign_patches(song, bank, args.seed)
    if save_to:
        save_assignment(assignment, save_to)
    options = RenderOptions(fmt=args.format, tail=args.tail, fluid_effects=args.fx, flakh=args.flakh,
                            threads=max(1, args.threads), overwrite=args.overwrite,
                            max_duration=args.max_duration, max_memory=int(args.max_memory * 2**30))
    token = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: token.cancel())
    bar = tqdm(total=1000, unit="‰", disable=None, leave=False, desc="render", file=sys.stderr)
    weights = {"render": (0, 850), "mix": (850, 900), "write": (900, 1000)}

    def progress(p) -> None:
        lo, hi = weights.get(p.stage, (0, 1000))
        bar.n = int(lo + (hi - lo) * p.fraction)
        bar.set_description(p.stage)
        bar.refresh()

    try:
        result = render_track(song, bank, assignment, out_dir, options, progress=progress, cancel=token)
    finally:
        bar.close()
        signal.signal(signal.SIGINT, previous)
    if as_json:
        print(json.dumps({"track": str(result.path), "rendered": result.rendered, "skipped": result.skipped,
                          "overall_gain": result.metadata["overall_gain"], "seconds": result.duration}, indent=2))
        return 0
    md = result.metadata
    print(f"Rendered {song.path.name} -> {result.path}/  ({result.duration:.1f} s, bank {bank.name!r}, "
          f"seed {assignment.seed}{', Flakh' if args.flakh else ''})")
    for t in song.tracks:
        stem = md["stems"][t.key]
        if stem["audio_rendered"]:
            print(f"  {t.key}  {t.program_name:<26} {stem['plugin_name']:<44} {stem['integrated_loudness']:6.1f} LUFS")
        else:
            print(f"  {t.key}  {t.program_name:<26} not rendered: {result.skipped.get(t.key, '')}")
    print(f"  mix: {result.path / ('mix.' + args.format)}   overall_gain {md['overall_gain']:.4f}")
    return 0


def cmd_render(args) -> int:
    return _run_render(args, args.midi, _out_track_dir(args.out, args.track_number), args.assignment,
                       args.save_assignment, args.json)


def cmd_demo(args) -> int:
    demo = paths.demo_song()
    if not demo.is_file():
        raise CliError(f"the demo song is missing: {demo}")
    args.overwrite = True
    return _run_render(args, demo, _out_track_dir(args.out, 1))


def cmd_bank(args) -> int:
    from slakh_gui.core.patches import SoundFontMissing, load_bank  # noqa: PLC0415

    bank = load_bank(args.bank or paths.default_bank())
    missing = []
    soundfonts = {}
    for patch in bank.patches.values():
        try:
            soundfonts[patch.soundfont] = str(bank.resolve_soundfont(patch))
        except SoundFontMissing as exc:
            missing.append(str(exc))
    covered = sorted(p for p in range(129) if bank.covers(p))
    info = {"bank": bank.name, "file": str(bank.path), "classes": bank.class_count(), "patches": bank.patch_count(),
            "unique_patches": len(bank.patches), "programs_covered": len(covered), "soundfonts": soundfonts,
            "missing": missing}
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"{bank.name}: {info['classes']} classes, {info['patches']} patches ({info['unique_patches']} unique), "
              f"{len(covered)} of 129 programs covered")
        for name, path in sorted(soundfonts.items()):
            print(f"  {name}: {path}")
    if missing:
        raise CliError(missing[0])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
