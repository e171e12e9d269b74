"""The ``slakh-studio`` command line: a thin shell over :mod:`slakh_gui.core`.

Every error the user can cause (bad MIDI, bank or SoundFont, unwritable output, limits) prints one line and exits
non-zero; Ctrl-C cancels a render cleanly (nothing half-written is left).
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from pathlib import Path

from slakh_gui import __version__, paths
from slakh_gui.cli_support import CliError, with_count_progress, with_stage_progress

EXIT_ERROR = 1
EXIT_CANCELLED = 130
EXIT_INTERNAL = 2




# Defaults of the render options. The parser stores None for an option not given, so ``render --session`` can
# tell which options were given (and refuse those the session file sets); main() fills in these values.
RENDER_DEFAULTS = {"seed": 0, "flakh": False, "format": "flac", "tail": 5.0, "fx": False, "stereo": False,
                   "pan": "auto", "threads": 2,
                   "overwrite": False, "max_duration": 3600.0, "max_memory": 8.0, "track_number": 1}
# Options that decide what a render sounds like: with --session the session file sets them.
SESSION_CONFLICTS = {"midi": "a MIDI file", "seed": "--seed", "bank": "--bank", "flakh": "--flakh",
                     "format": "--format", "tail": "--tail", "fx": "--fx", "stereo": "--stereo", "pan": "--pan",
                     "assignment": "--assignment",
                     "save_assignment": "--save-assignment"}


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="slakh-studio", description="Build and audition Slakh2100-style multitrack "
                                "data from MIDI: per-instrument stems, a loudness-normalized mix, Slakh's layout.")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    p.add_argument("--smoke", nargs="?", const="", metavar="DIR", help="check the whole app: open the window "
                   "(offscreen without a display), render the demo song, save a screenshot (in DIR), exit 0")
    p.add_argument("-v", "--verbose", action="store_true", help="log everything to the terminal too "
                   "(the log file is always written: see 'slakh-studio diagnostics')")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    info = sub.add_parser("info", help="list a MIDI file's tracks the Slakh way")
    info.add_argument("midi", type=Path)
    info.add_argument("--bank", type=Path, help="also show which tracks this bank can render")
    info.add_argument("--json", action="store_true", help="print JSON instead of a table")

    def render_options(r: argparse.ArgumentParser) -> None:
        r.add_argument("--seed", type=int, help="seed of the patch draw (default 0)")
        r.add_argument("--bank", type=Path, help="patch bank YAML (default patches/default.yaml; "
                       "patches/flakh.yaml with --flakh)")
        r.add_argument("--flakh", action="store_true", default=None, help="Flakh mode: TimGM6mb stems, mix = unsplit file rendered whole")
        r.add_argument("--format", choices=["flac", "wav"], help="audio format (default flac)")
        r.add_argument("--tail", type=float, help="seconds rendered after the song's end (default 5)")
        r.add_argument("--fx", action="store_true", default=None, help="FluidSynth's own reverb/chorus, per track")
        r.add_argument("--stereo", action="store_true", default=None,
                       help="stereo stems and mix (FluidSynth's left/right kept, stereo BS.1770-4 loudness)")
        r.add_argument("--pan", choices=["auto", "midi", "none"],
                       help="with --stereo: auto (default) = the file's CC10 where a track has any, else the seeded "
                       "auto-pan rule; midi = the file's CC10 only; none = no pan control at all")
        r.add_argument("--threads", type=int, help="synths run at once (default 2; output is the same)")
        r.add_argument("--overwrite", action="store_true", default=None, help="replace an existing track folder")
        r.add_argument("--max-duration", type=float, metavar="S", help="refuse longer songs (s)")
        r.add_argument("--max-memory", type=float, metavar="GIB", help="ignored (kept for old scripts): renders stream through files, memory stays bounded")

    r = sub.add_parser("render", help="render a MIDI file (or replay a session file) into a Slakh2100 track folder")
    r.add_argument("midi", type=Path, nargs="?", help="the MIDI file (not with --session)")
    r.add_argument("--session", type=Path, metavar="FILE",
                   help="replay a session file saved by the app (song, bank, seed, patches, options, range); "
                   "only -o, --track-number, --overwrite, --threads, --max-* and --json may be added")
    r.add_argument("-o", "--out", type=Path,
                   help="output: a TrackNNNNN folder, or a folder to create TrackNNNNN in "
                   "(required unless the session has an output folder)")
    r.add_argument("--track-number", type=int, help="NNNNN when -o is not a TrackNNNNN folder (default 1, "
                   "or the session's)")
    r.add_argument("--assignment", type=Path, help="use the patches saved in this assignment file")
    r.add_argument("--save-assignment", type=Path, help="save the patch assignment to this file")
    r.add_argument("--json", action="store_true", help="print the result as JSON")
    render_options(r)

    d = sub.add_parser("demo", help="render the bundled demo song with the default bank")
    d.add_argument("-o", "--out", type=Path, default=Path("slakh-studio-demo"), help="output folder")
    render_options(d)

    g = sub.add_parser("gui", help="open the desktop app (default: the demo song)")
    g.add_argument("path", type=Path, nargs="?", help="a MIDI file, a TrackNNNNN folder or a session .json")

    b = sub.add_parser("bank", help="check a patch bank and print its counts")
    b.add_argument("bank", type=Path, nargs="?", help="bank YAML (default patches/default.yaml)")
    b.add_argument("--json", action="store_true")

    pt = sub.add_parser("patches", help="curate patch banks: list SoundFont presets, validate, audition, stats")
    psub = pt.add_subparsers(dest="patches_command", metavar="ACTION")
    pl = psub.add_parser("list", help="list the presets of every SoundFont found (or of the given files)")
    pl.add_argument("--soundfont", action="append", default=[], metavar="F",
                    help="a SoundFont file (path or name on the search path); repeatable")
    pl.add_argument("--json", action="store_true")
    pv = psub.add_parser("validate", help="report every problem of a bank file (exit 1 if any error)")
    pv.add_argument("bank", type=Path)
    pv.add_argument("--no-render", action="store_true", help="skip the render check (silence, loudness)")
    pv.add_argument("--json", action="store_true")
    pa = psub.add_parser("audition", help="render a patch playing its audition phrase to a WAV/FLAC file")
    pa.add_argument("patch_id")
    pa.add_argument("--bank", type=Path, help="bank YAML (default patches/default.yaml)")
    pa.add_argument("--kind", choices=["bass", "drums", "chords", "melody"], help="phrase (default: fits the patch)")
    pa.add_argument("--no-effects", action="store_true", help="leave out the patch's effect chain")
    pa.add_argument("-o", "--out", type=Path, required=True, help="output .wav or .flac")
    pa.add_argument("--json", action="store_true")
    ps = psub.add_parser("stats", help="a bank's counts, the Slakh way, per class")
    ps.add_argument("bank", type=Path, nargs="?", help="bank YAML (default patches/default.yaml)")
    ps.add_argument("--json", action="store_true")

    md = sub.add_parser("midi", help="build a MIDI corpus: generate songs, select files the Slakh2100 way")
    msub = md.add_subparsers(dest="midi_command", metavar="ACTION")
    mg = msub.add_parser("generate", help="write N original band songs (song_00000.mid ...), deterministically")
    mg.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    mg.add_argument("--count", type=int, required=True, help="how many songs")
    mg.add_argument("--seed", type=int, default=0, help="corpus seed (default 0): same count and seed, same bytes")
    mg.add_argument("--min-duration", type=float, default=60.0, metavar="S", help="shortest song (default 60 s)")
    mg.add_argument("--max-duration", type=float, default=150.0, metavar="S", help="longest song (default 150 s)")
    mg.add_argument("--source", choices=("slakh-studio", "mma"), default="slakh-studio",
                    help="who writes the songs: our generator (song_00000.mid ...), or Debian's mma playing its "
                    "library grooves on generated chord charts (mma_00000.mid ...; another style of MIDI)")
    mg.add_argument("--grooves", choices=("all", "train", "held-out"), default="all",
                    help="with --source mma: which groove families play (default all; 'held-out' families are kept "
                    "for testing separation models on styles no 'train' corpus holds)")
    mg.add_argument("--drums", choices=("rock", "varied"), default="rock",
                    help="with our generator: rock-kit grooves (default), or 'varied': several feels (straight, "
                    "sixteenths, shuffle, half-time, four on the floor, swing) with kit voices drawn per song and "
                    "hand-percussion layers from the whole GM percussion map")
    mg.add_argument("--json", action="store_true")
    msel = msub.add_parser("select", help="scan a folder of MIDI files and choose songs that cover a band "
                           "(Slakh's filter: MD5 de-duplication, 2+ instruments, one drum track, band families)")
    msel.add_argument("midi_dir", type=Path)
    msel.add_argument("--count", type=int, help="how many to choose (default: all that pass)")
    msel.add_argument("--seed", type=int, default=0, help="seed of the shuffle (default 0)")
    msel.add_argument("--band", default="piano,guitar,bass,drums",
                      help="comma-separated GM families that must play (default piano,guitar,bass,drums)")
    msel.add_argument("--min-notes", type=int, default=50, help="notes each band family must play (default 50)")
    msel.add_argument("--allow-multiple-drums", action="store_true", help="keep files with several drum tracks")
    msel.add_argument("--report", type=Path, metavar="FILE", help="write a YAML report (selected, rejects, dups)")
    msel.add_argument("--json", action="store_true", help="print the whole selection as JSON")
    dg = sub.add_parser("diagnostics", help="versions, SoundFonts, audio devices, GPU and paths (for bug reports)")
    dg.add_argument("--json", action="store_true")
    dg.add_argument("--no-audio", action="store_true", help="skip the audio device listing")

    from slakh_gui import commands

    for module in commands.modules():
        module.register(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from slakh_gui import logs

    logs.setup(verbose=args.verbose)
    from slakh_gui.core.cpu import one_blas_thread

    one_blas_thread()
    log = logs.get("cli")
    log.info("slakh-studio %s: %s", __version__, " ".join(sys.argv[1:] if argv is None else map(str, argv)))
    if args.smoke is not None:
        from slakh_gui.gui import smoke

        return smoke.run(args.smoke or None)
    if not args.command:
        _parser().print_help()
        return 0
    if getattr(args, "handler", None) is None:  # the render options' defaults (commands/ modules set their own)
        args.given = {k for k in RENDER_DEFAULTS if getattr(args, k, None) is not None}
        for key, value in RENDER_DEFAULTS.items():
            if hasattr(args, key) and getattr(args, key) is None:
                setattr(args, key, value)
    from slakh_gui.core.errors import SlakhError
    from slakh_gui.core.jobs import Cancelled

    handler = getattr(args, "handler", None) or {
        "info": cmd_info, "render": cmd_render, "demo": cmd_demo, "bank": cmd_bank, "gui": cmd_gui,
        "patches": cmd_patches, "midi": cmd_midi, "diagnostics": cmd_diagnostics}[args.command]
    try:
        return handler(args)
    except Cancelled:
        log.info("cancelled")
        print("slakh-studio: cancelled; nothing was written", file=sys.stderr)
        return EXIT_CANCELLED
    except (SlakhError, FileExistsError, PermissionError) as exc:  # the user's: one line, no traceback
        log.info("error: %s", exc)
        print(f"slakh-studio: error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:  # `slakh-studio ... | head`: the reader left; no message (as other Unix tools)
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ERROR
    except OSError as exc:
        log.info("error: %s", exc, exc_info=True)
        print(f"slakh-studio: error: {exc.strerror or exc}{f': {exc.filename}' if exc.filename else ''}",
              file=sys.stderr)
        return EXIT_ERROR
    except Exception as exc:  # a bug: one line for the user, the traceback in the log file
        log.exception("internal error", extra=logs.FILE_ONLY)
        print(f"slakh-studio: internal error: {type(exc).__name__}: {exc} (traceback in {logs.log_path()}; "
              "please report it with the output of 'slakh-studio diagnostics')", file=sys.stderr)
        return EXIT_INTERNAL


def cmd_diagnostics(args) -> int:
    from slakh_gui.core import diagnostics

    info = diagnostics.collect(with_devices=not args.no_audio)
    print(json.dumps(info, indent=2) if args.json else diagnostics.as_text(info), end="" if not args.json else "\n")
    return 0


def cmd_info(args) -> int:
    from slakh_gui.core.bank.patches import load_bank
    from slakh_gui.core.midi.midifile import load_song

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
    from slakh_gui.core.render.layout import TRACK_NAME, track_name

    return out if TRACK_NAME.match(out.name) else out / track_name(number)


def _with_progress(call):
    """Run ``call(progress, cancel)`` with the render's progress bar on stderr; Ctrl-C cancels it cleanly."""
    return with_stage_progress(call, "render", {"render": (0, 850), "mix": (850, 900), "write": (900, 1000)})


def _run_render(args, midi_path: Path, out_dir: Path, assignment_in: Path | None = None,
                save_to: Path | None = None, as_json: bool = False) -> int:
    from slakh_gui.core.bank.patches import assign_patches, load_assignment, load_bank, save_assignment
    from slakh_gui.core.midi.midifile import load_song
    from slakh_gui.core.render.pipeline import RenderOptions, render_track

    song = load_song(midi_path)
    bank_path = args.bank or paths.mode_bank(args.flakh)
    bank = load_bank(bank_path)
    if assignment_in:
        assignment = load_assignment(assignment_in, song, bank)
    else:
        assignment = assign_patches(song, bank, args.seed)
    if save_to:
        save_assignment(assignment, save_to)
    options = RenderOptions(fmt=args.format, tail=args.tail, fluid_effects=args.fx, flakh=args.flakh,
                            stereo=args.stereo, pan=args.pan, threads=max(1, args.threads), overwrite=args.overwrite,
                            max_duration=args.max_duration, max_memory=int(args.max_memory * 2**30))
    result = _with_progress(lambda progress, token: render_track(song, bank, assignment, out_dir, options,
                                                                 progress=progress, cancel=token))
    header = (f"Rendered {song.path.name} -> {result.path}/  ({result.duration:.1f} s, bank {bank.name!r}, "
              f"seed {assignment.seed}{', Flakh' if args.flakh else ''}{_stereo_note(options)})")
    return _print_result(result, header, args.format, as_json)


def _stereo_note(options) -> str:
    return f", stereo, pan {options.pan}" if options.stereo else ""


def _print_result(result, header: str, fmt: str, as_json: bool) -> int:
    """The rendered track as JSON, or a header line, a line per stem and where the mix is."""
    md = result.metadata
    if as_json:
        print(json.dumps({"track": str(result.path), "rendered": result.rendered, "skipped": result.skipped,
                          "kit_fallbacks": result.kit_fallbacks, "overall_gain": md["overall_gain"],
                          "seconds": result.duration, "channels": result.channels}, indent=2))
        return 0
    print(header)
    for key, stem in md["stems"].items():
        label = f"{stem['midi_program_name']:<26}"
        if stem["audio_rendered"]:
            print(f"  {key}  {label} {stem['plugin_name']:<44} {stem['integrated_loudness']:6.1f} LUFS")
        else:
            print(f"  {key}  {label} not rendered: {result.skipped.get(key, '')}")
    for key, why in result.kit_fallbacks.items():
        print(f"  {key}  warning: {why}")
    print(f"  mix: {result.path / ('mix.' + fmt)}   overall_gain {md['overall_gain']:.4f}")
    return 0


def cmd_render(args) -> int:
    if args.session is not None:
        return _run_session(args)
    if args.midi is None:
        raise CliError("render needs a MIDI file or --session FILE")
    if args.out is None:
        raise CliError("render needs an output folder (-o OUT)")
    _check_pan(args)
    return _run_render(args, args.midi, _out_track_dir(args.out, args.track_number), args.assignment,
                       args.save_assignment, args.json)


def _run_session(args) -> int:
    from slakh_gui.core.render.layout import track_name
    from slakh_gui.core.studio.session import load_session, render_session

    given = [name for key, name in SESSION_CONFLICTS.items()
             if key in args.given or (key not in RENDER_DEFAULTS and getattr(args, key, None) is not None)]
    if "a MIDI file" in given:
        raise CliError("render takes a MIDI file or --session FILE, not both")
    if given:
        raise CliError(f"{given[0]} cannot be combined with --session: the session file sets the song, bank, seed, "
                       f"patches and options (only -o, --track-number, --overwrite, --threads, --max-duration, "
                       f"--max-memory and --json may be added)")
    session = load_session(args.session)
    number = args.track_number if "track_number" in args.given else session.track_number
    if args.out is not None:
        out_dir = _out_track_dir(args.out, number)
    elif session.output_dir is not None:
        out_dir = Path(session.output_dir) / track_name(number)
    else:
        raise CliError(f"{args.session}: the session has no output folder; give one with -o OUT")
    result = _with_progress(lambda progress, token: render_session(
        session, out_dir=out_dir, overwrite=args.overwrite,
        threads=args.threads if "threads" in args.given else None, max_duration=args.max_duration,
        max_memory=int(args.max_memory * 2**30), progress=progress, cancel=token))
    md = result.metadata
    rng = f", range {session.range[0]:g}-{session.range[1]:g} s" if session.range else ""
    header = (f"Rendered session {args.session.name} ({session.song.name}) -> {result.path}/  "
              f"({result.duration:.1f} s, bank {md['slakh_studio']['bank']!r}, seed {session.seed}"
              f"{', Flakh' if session.flakh else ''}{', stereo' if session.stereo else ''}{rng})")
    return _print_result(result, header, session.options["format"], args.json)


def _check_pan(args) -> None:
    if "pan" in args.given and not args.stereo:
        raise CliError("--pan places the stems of a stereo render: add --stereo")


def cmd_demo(args) -> int:
    demo = paths.demo_song()
    if not demo.is_file():
        raise CliError(f"the demo song is missing: {demo}")
    args.overwrite = True
    _check_pan(args)
    return _run_render(args, demo, _out_track_dir(args.out, 1))


def cmd_gui(args) -> int:
    from slakh_gui.gui.app import main as gui_main  # Qt only for this command

    return gui_main(args.path)


def cmd_bank(args) -> int:
    from slakh_gui.core.bank.patches import SoundFontMissing, load_bank

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


def cmd_patches(args) -> int:
    action = getattr(args, "patches_command", None)
    if not action:
        raise CliError("patches needs an action: list, validate, audition or stats (see slakh-studio patches -h)")
    return {"list": _patches_list, "validate": _patches_validate, "audition": _patches_audition,
            "stats": _patches_stats}[action](args)


def _patches_list(args) -> int:
    from slakh_gui.core.bank.patches import find_soundfont
    from slakh_gui.core.bank.soundfont import find_soundfonts, list_presets, preset_dict

    files = [find_soundfont(str(f)) for f in args.soundfont] if args.soundfont else find_soundfonts()
    if not files:
        raise CliError("no SoundFont found; searched: " + ", ".join(str(f) for f in paths.soundfont_search_path()))
    listing = [(f, list_presets(f)) for f in files]
    if args.json:
        print(json.dumps([preset_dict(p) for _, presets in listing for p in presets], indent=2))
        return 0
    for f, presets in listing:
        print(f"{f}  ({len(presets)} presets)")
        for p in presets:
            print(f"  {p.bank:>3}:{p.preset:<3}  {p.name:<28} {p.family}{'  [drum bank]' if p.is_drum_bank else ''}")
    return 0


def _patches_validate(args) -> int:
    from slakh_gui.core.bank.bank_validate import has_errors, validate_bank

    if not args.bank.is_file():
        raise CliError(f"{args.bank}: no such bank file")
    findings = validate_bank(args.bank, render_check=not args.no_render)
    if args.json:
        print(json.dumps({"file": str(args.bank), "errors": sum(f.severity == "error" for f in findings),
                          "warnings": sum(f.severity == "warning" for f in findings),
                          "findings": [f.as_dict() for f in findings]}, indent=2))
    else:
        for f in findings:
            print(f)
        n_err = sum(f.severity == "error" for f in findings)
        print(f"{args.bank}: {n_err} error(s), {len(findings) - n_err} warning(s)", file=sys.stderr)
    return EXIT_ERROR if has_errors(findings) else 0


def _patches_audition(args) -> int:
    import difflib

    from slakh_gui.core.audio_io import to_int16, write_audio
    from slakh_gui.core.bank.audition import audition
    from slakh_gui.core.bank.patches import load_bank

    if args.out.suffix.lower() not in (".wav", ".flac"):
        raise CliError(f"{args.out}: the output must end in .wav or .flac")
    bank = load_bank(args.bank or paths.default_bank())
    if args.patch_id not in bank.patches:
        guess = difflib.get_close_matches(args.patch_id, list(bank.patches), n=1)
        hint = f" (did you mean {guess[0]!r}?)" if guess else ""
        raise CliError(f"no patch {args.patch_id!r} in bank {bank.name!r} ({bank.path}){hint}")
    patch = bank.patches[args.patch_id]
    result = audition(patch, bank, kind=args.kind, with_effects=not args.no_effects)
    write_audio(args.out, to_int16(result.audio))
    info = {"patch": patch.id, "kind": result.kind, "file": str(args.out), "seconds": round(result.seconds, 3),
            "lufs": None if result.lufs == float("-inf") else round(result.lufs, 2),
            "peak_dbfs": None if result.peak_dbfs == float("-inf") else round(result.peak_dbfs, 2),
            "effects": bool(patch.effects) and not args.no_effects}
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(f"{patch.id}: {result.kind} phrase -> {args.out}  ({result.seconds:.1f} s, {result.lufs:.1f} LUFS, "
              f"peak {result.peak_dbfs:.1f} dBFS{', no effects' if args.no_effects and patch.effects else ''})")
    return 0


def _patches_stats(args) -> int:
    from slakh_gui.core.bank.bank_edit import coverage
    from slakh_gui.core.bank.patches import load_bank

    bank = load_bank(args.bank or paths.default_bank())
    rows = coverage(bank)
    covered = [p for p, _, n in rows if n]
    per_class = {name: {"inst_class": c.inst_class, "programs": c.programs, "patches": len(c.patches)}
                 for name, c in bank.classes.items()}
    info = {"bank": bank.name, "file": str(bank.path), "classes": bank.class_count(),
            "classes_total": len(bank.classes), "patches": bank.patch_count(), "unique_patches": len(bank.patches),
            "programs_covered": len(covered), "programs_uncovered": [p for p, _, n in rows if not n],
            "per_class": per_class}
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    print(f"{bank.name}: {info['classes']} classes with patches ({len(bank.classes)} in all), {info['patches']} "
          f"patches counted Slakh's way, {info['unique_patches']} unique, {len(covered)} of 129 programs covered")
    for name, c in per_class.items():
        progs = c["programs"]
        shown = ", ".join(map(str, progs)) if len(progs) < 5 else f"{progs[0]}-{progs[-1]}"
        print(f"  {name:<26} {c['inst_class']:<21} [{shown}]  {c['patches']} patches")
    return 0


def cmd_midi(args) -> int:
    action = getattr(args, "midi_command", None)
    if not action:
        raise CliError("midi needs an action: generate or select (see slakh-studio midi -h)")
    return {"generate": _midi_generate, "select": _midi_select}[action](args)


def _midi_generate(args) -> int:
    from slakh_gui.core.midi.corpus import generate_corpus
    from slakh_gui.core.midi.mma_songs import generate_mma_corpus

    if args.count < 1:
        raise CliError(f"--count must be at least 1, not {args.count}")
    if not 0 < args.min_duration <= args.max_duration:
        raise CliError(f"durations must satisfy 0 < --min-duration ({args.min_duration:g}) <= --max-duration "
                       f"({args.max_duration:g})")
    if args.out.exists() and not args.out.is_dir():
        raise CliError(f"{args.out}: exists and is not a folder")
    if args.grooves != "all" and args.source != "mma":
        raise CliError("--grooves chooses mma groove families: use it with --source mma")
    if args.drums != "rock" and args.source == "mma":
        raise CliError("--drums chooses our generator's drum style: mma plays its grooves' own drums")
    generate = (functools.partial(generate_mma_corpus, grooves=args.grooves) if args.source == "mma"
                else functools.partial(generate_corpus, drums=args.drums))
    files = with_count_progress(lambda progress, token: generate(
        args.out, args.count, args.seed, min_duration=args.min_duration, max_duration=args.max_duration,
        progress=progress, cancel=token), "generate")
    if args.json:
        print(json.dumps({"folder": str(args.out), "count": len(files), "seed": args.seed, "source": args.source,
                          "grooves": args.grooves, "drums": args.drums, "files": [str(f) for f in files]}, indent=2))
    else:
        print(f"Generated {len(files)} songs in {args.out}/ ({'mma grooves, ' if args.source == 'mma' else ''}seed {args.seed}, "
              f"{args.min_duration:g}-{args.max_duration:g} s)")
    return 0


def _midi_select(args) -> int:
    from collections import Counter

    from slakh_gui.core.dataset.selection import parse_band, select_songs, write_report

    try:
        band = parse_band(args.band)
    except ValueError as exc:
        raise CliError(f"--band: {exc}") from None
    if args.count is not None and args.count < 0:
        raise CliError(f"--count must be 0 or more, not {args.count}")
    if args.min_notes < 0:
        raise CliError(f"--min-notes must be 0 or more, not {args.min_notes}")
    if not args.midi_dir.is_dir():
        raise CliError(f"{args.midi_dir}: not a folder")
    sel = with_count_progress(lambda progress, token: select_songs(
        args.midi_dir, count=args.count, seed=args.seed, band=band, min_notes=args.min_notes,
        allow_multiple_drums=args.allow_multiple_drums, progress=progress, cancel=token), "scan")
    if not sel.scanned:
        raise CliError(f"{args.midi_dir}: no .mid or .midi files found")
    if args.report:
        write_report(sel, args.report)
    if args.json:
        print(json.dumps(sel.as_dict(), indent=2))
        return 0
    print(f"Scanned {sel.scanned} MIDI files in {args.midi_dir}/: {sel.eligible} pass, {len(sel.selected)} "
          f"selected (seed {args.seed}), {len(sel.rejected)} rejected ({len(sel.duplicates)} duplicates); "
          f"band {', '.join(band)}, {args.min_notes}+ notes each")
    for c in sel.selected:
        print(f"  {c.path}  {c.md5}  {c.duration:6.1f} s  {c.n_tracks} tracks")
    kinds = Counter(r.reason.split(":")[0].split(" of ")[0] for r in sel.rejected)
    for kind, n in kinds.most_common():
        print(f"  rejected {n}: {kind}")
    if args.count is not None and len(sel.selected) < args.count:
        print(f"slakh-studio: warning: only {len(sel.selected)} of the {args.count} songs asked for pass",
              file=sys.stderr)
    if args.report:
        print(f"  report: {args.report}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
