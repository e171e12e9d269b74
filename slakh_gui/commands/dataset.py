"""``slakh-studio dataset``: render a MIDI collection into a Slakh2100-layout dataset (resumable, parallel, Dask)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from slakh_gui import paths
from slakh_gui.cli_support import CliError, with_count_progress
from slakh_gui.commands.musdb import add_export_options, print_summary, run_export


def register(sub) -> None:
    d = sub.add_parser(
        "dataset", help="render a folder of MIDI files into a Slakh2100-layout dataset (resumable, parallel)",
        description="Select songs the Slakh2100 way, split them, render every track into OUT/{train,validation,test}/"
        "TrackNNNNN/, and write OUT/dataset.yaml (the manifest), selection.yaml, lint.yaml and a mirdata index. "
        "Run the same command again to resume an interrupted run: finished tracks are kept.")
    d.add_argument("midi_dir", type=Path, help="folder scanned recursively for .mid/.midi files")
    d.add_argument("-o", "--out", type=Path, required=True, help="dataset folder (created; resumed if it has one)")
    d.add_argument("--count", type=int, help="songs to take (default: every file that passes)")
    d.add_argument("--seed", type=int, default=0, help="seed of the song shuffle and the patch draws (default 0)")
    d.add_argument("--bank", type=Path, help="patch bank (default patches/default.yaml; patches/flakh.yaml with --flakh)")
    d.add_argument("--band", default="piano,guitar,bass,drums", help="GM families every song must play")
    d.add_argument("--min-notes", type=int, default=50, help="notes each band family must play (default 50)")
    d.add_argument("--allow-multiple-drums", action="store_true", help="keep songs with more than one drum track")
    d.add_argument("--split", default="1500:375:225", help="train:validation:test weights or fractions "
                   "(default Slakh2100's 1500:375:225)")
    d.add_argument("--format", choices=["flac", "wav"], default="flac")
    d.add_argument("--flakh", action="store_true", help="Flakh mode: the mix is the unsplit file rendered whole")
    d.add_argument("--fx", action="store_true", help="FluidSynth's own reverb/chorus, per track")
    d.add_argument("--stereo", action="store_true", help="stereo stems and mix (FluidSynth's left/right kept, "
                   "stereo BS.1770-4 loudness); recorded in dataset.yaml, so a resume must say it again")
    d.add_argument("--pan", choices=["auto", "midi", "none"], help="with --stereo: auto (default) = the file's "
                   "CC10 where a track has any, else the seeded auto-pan rule; midi = the file's CC10 only; none")
    d.add_argument("--tail", type=float, default=5.0, help="seconds rendered after each song's end (default 5)")
    d.add_argument("--no-lint", action="store_true", help="skip the per-track checks (lint.yaml)")
    where = d.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="local worker processes (default: one per core)")
    where.add_argument("--scheduler", help="render on a Dask cluster: tcp://host:port or a scheduler JSON file")
    d.add_argument("--threads", type=int, default=1, help="synths each worker runs at once (default 1)")
    d.add_argument("--musdb", type=Path, metavar="MUSDB_OUT", help="then export the dataset in MUSDB18-HQ's layout "
                   "into MUSDB_OUT (as slakh-studio export-musdb; resumed with the dataset)")
    add_export_options(d, "musdb-")
    d.add_argument("--json", action="store_true", help="print a JSON summary")
    d.set_defaults(handler=cmd_dataset)

    f = sub.add_parser("fix", help="act on a lint finding: re-roll a stem's patch or drop the stem, re-render the track",
                       description="Re-render one track of a dataset with another patch for one stem (--reroll) or "
                       "without the stem (--drop). The choice is kept in dataset.yaml, so resuming or re-running "
                       "the dataset keeps it.")
    f.add_argument("out", type=Path, help="the dataset folder")
    f.add_argument("track", help="TrackNNNNN")
    f.add_argument("stem", nargs="?", help="stem key, e.g. S02 (not with --drop-track)")
    what = f.add_mutually_exclusive_group(required=True)
    what.add_argument("--drop-track", action="store_const", dest="action", const="drop_track",
                      help="take the whole track out (e.g. a duplicate); resuming never renders it again")
    what.add_argument("--reroll", action="store_const", dest="action", const="reroll", help="draw another patch")
    what.add_argument("--drop", action="store_const", dest="action", const="drop", help="leave the stem out")
    f.add_argument("--bank", type=Path, help="the bank file the dataset was made with (default: the copy in OUT)")
    f.set_defaults(handler=cmd_fix)


def options_from_args(args: argparse.Namespace):
    from slakh_gui.core.dataset.builder import DatasetOptions, parse_split
    from slakh_gui.core.dataset.selection import parse_band

    if args.count is not None and args.count < 1:
        raise CliError(f"--count must be at least 1, not {args.count}")
    if args.min_notes < 0:
        raise CliError(f"--min-notes must be 0 or more, not {args.min_notes}")
    if args.workers is not None and args.workers < 1:
        raise CliError(f"--workers must be at least 1, not {args.workers}")
    if args.threads < 1:
        raise CliError(f"--threads must be at least 1, not {args.threads}")
    try:
        band = parse_band(args.band)
    except ValueError as exc:
        raise CliError(f"--band: {exc}") from None
    if not args.midi_dir.is_dir():
        raise CliError(f"{args.midi_dir}: not a folder")
    if args.pan is not None and not args.stereo:
        raise CliError("--pan places the stems of a stereo render: add --stereo")
    bank = args.bank or paths.mode_bank(args.flakh)
    return DatasetOptions(bank=bank, count=args.count, seed=args.seed, band=band, min_notes=args.min_notes,
                          allow_multiple_drums=args.allow_multiple_drums, split=parse_split(args.split),
                          fmt=args.format, flakh=args.flakh, fluid_effects=args.fx, tail=args.tail,
                          lint=not args.no_lint, stereo=args.stereo, pan=args.pan or "auto")


def cmd_dataset(args) -> int:
    from slakh_gui.core.dataset.builder import run_dataset

    options = options_from_args(args)
    if args.musdb is not None:  # before hours of rendering: a bad target list or recipe fails now
        from slakh_gui.core.dataset.musdb_export import parse_targets, target_groups
        from slakh_gui.core.dataset.recipes import load_recipe

        target_groups(load_recipe(args.musdb_recipe), parse_targets(args.musdb_targets))
    warnings: list[str] = []
    result = with_count_progress(lambda progress, token: run_dataset(
        args.midi_dir, args.out, options, workers=args.workers, scheduler=args.scheduler, threads=args.threads,
        progress=progress, cancel=token, log=warnings.append), "dataset", unit="track")
    for line in warnings:
        print(f"slakh-studio: warning: {line}", file=sys.stderr)
    m = result.manifest
    summary = {
        "out": str(result.out), "splits": result.counts, "planned": m["splits"], "rendered": result.rendered,
        "already_done": len(result.skipped), "failed": result.failed, "lint_findings": len(result.lint),
        "seconds": round(result.seconds, 2), "audio_hours_rendered": round(result.audio_seconds / 3600, 4),
        "selection": m["selection"],
    }
    exported = run_export(result.out, args.musdb, args) if args.musdb is not None else None
    if args.json:
        if exported is not None:
            summary["musdb"] = exported.as_dict()
        print(json.dumps(summary, indent=2))
        return 0
    sel = m["selection"]
    c = result.counts
    print(f"Dataset {result.out}/: {c['train']} train, {c['validation']} validation, {c['test']} test tracks "
          f"({len(result.rendered)} rendered now, {len(result.skipped)} already done, {len(result.failed)} failed)")
    print(f"  songs: {sel['scanned']} MIDI files scanned, {sel['eligible']} pass, {sel['selected']} selected, "
          f"{sel['rejected']} rejected (see {result.out / 'selection.yaml'})")
    rate = result.audio_seconds / 3600 / (result.seconds / 60) if result.seconds > 0 else 0.0
    print(f"  rendered {result.audio_seconds / 3600:.2f} h of mixture in {result.seconds:.1f} s "
          f"({rate:.3f} h per minute)")
    print(f"  lint: {len(result.lint)} findings in {result.out / 'lint.yaml'}; mirdata index: "
          f"{result.out / 'index_slakh.json'}")
    if exported is not None:
        print_summary(exported)
    return 0


def cmd_fix(args) -> int:
    from slakh_gui.core.dataset.builder import load_manifest, track_dir
    from slakh_gui.core.dataset.dataset_fix import fix_stem
    from slakh_gui.core.render.track_folder import read_metadata

    if args.action == "drop_track":
        from slakh_gui.core.dataset.dataset_fix import drop_track

        if args.stem:
            raise CliError("--drop-track takes no stem")
        drop_track(args.out, args.track)
        print(f"{args.track}: dropped from {args.out} (kept as 'dropped' in dataset.yaml)")
        return 0
    if not args.stem:
        raise CliError(f"--{args.action} needs a stem key, e.g. S02")
    result = fix_stem(args.out, args.track, args.stem, args.action, args.bank)
    entry = next(t for t in load_manifest(args.out)["tracks"] if t["track"] == args.track)
    meta = read_metadata(track_dir(args.out, entry))
    stem = meta["stems"][args.stem]
    now = f"patch {stem['plugin_name']}" if stem["audio_rendered"] else "no audio (dropped)"
    print(f"{args.track} {args.stem}: {now}; re-rendered in {result['seconds']:.1f} s, "
          f"{len(result.get('lint', []))} lint findings left on the track")
    return 0
