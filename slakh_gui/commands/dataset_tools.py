"""``slakh-studio stats | convert | submix | lint``: statistics, derived data and checks of Slakh-layout folders."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from slakh_gui.cli_support import CliError, with_count_progress


def register(sub) -> None:
    """Add the ``stats``, ``convert``, ``submix`` and ``lint`` parsers."""
    where = ("PATH: a dataset root (train/ validation/ test/ [omitted/]), a mirdata data_home, "
             "a folder of TrackNNNNN/ (BabySlakh) or one track folder")
    s = sub.add_parser("stats", help="the Slakh paper's Table 1 row, Fig. 1 and Fig. 2 for a Slakh-layout dataset",
                       description=f"Write stats.md, stats.json, fig1_classes.png and fig2_spectra.png. {where}.")
    s.add_argument("path", type=Path, metavar="PATH")
    s.add_argument("-o", "--out", type=Path, metavar="OUT_DIR", help="report folder (default PATH/stats)")
    s.add_argument("--json", action="store_true", help="also print the statistics as JSON (without the spectra)")
    s.add_argument("--workers", type=int, default=1, metavar="N", help="read tracks in N processes (default 1)")
    s.set_defaults(handler=cmd_stats)

    c = sub.add_parser("convert", help="copy a dataset converting its audio (FLAC/WAV, resampled), like slakh-utils",
                       description="Copies metadata.yaml, all_src.mid and MIDI/, converts mix and stems to 16-bit "
                       f"mono FLAC or WAV, keeping the split layout; files already converted are skipped. {where}.")
    c.add_argument("src", type=Path, metavar="SRC")
    c.add_argument("dst", type=Path, metavar="DST")
    c.add_argument("--sample-rate", type=int, metavar="HZ", help="resample to this rate (e.g. 16000; default: keep)")
    c.add_argument("--format", dest="audio_format", choices=["flac", "wav"], default="flac",
                   help="output audio format (default flac)")
    c.add_argument("--json", action="store_true", help="print the result as JSON")
    c.set_defaults(handler=cmd_convert)

    m = sub.add_parser("submix", help="write submixes by recipe into every track (TrackNNNNN/<name>/<group>.<ext>)",
                       description="As slakh-utils' submixes.py: one file per recipe group plus residuals.<ext> "
                       f"in TrackNNNNN/<name>/. {where}.")
    m.add_argument("src", type=Path, metavar="SRC")
    m.add_argument("--recipe", required=True, metavar="NAME|FILE",
                   help="a shipped recipe (band, piano, guitar, bass, drums) or a slakh-utils recipe .yaml")
    m.add_argument("--name", help="submix folder name (default: the recipe's name)")
    # dest is not "format": the main parser fills a None "format" with the render default (flac).
    m.add_argument("--format", dest="audio_format", choices=["flac", "wav"],
                   help="audio format (default: the track's mix format)")
    m.add_argument("--overwrite", action="store_true", help="rewrite submix files that already exist")
    m.add_argument("--json", action="store_true", help="print the result as JSON")
    m.set_defaults(handler=cmd_submix)

    li = sub.add_parser("lint", help="check rendered tracks: silent/noise stems, notes out of the preset's range, "
                        "unmeasured loudness, missing audio, duplicate MIDI (also across splits)",
                        description=f"{where}.")
    li.add_argument("path", type=Path, metavar="PATH")
    li.add_argument("--bank", type=Path, metavar="FILE", help="the bank the tracks were rendered with (enables the "
                    "key-range check)")
    li.add_argument("-o", "--out", type=Path, metavar="lint.yaml", help="write the findings to this YAML file")
    li.add_argument("--json", action="store_true", help="print the findings as JSON")
    li.set_defaults(handler=cmd_lint)


def _failed(result) -> None:
    for track, reason in result.failed:
        print(f"slakh-studio: skipped {track}: {reason}", file=sys.stderr)


def cmd_stats(args: argparse.Namespace) -> int:
    from slakh_gui.core.dataset.dataset_stats import compute_stats, write_report

    if args.workers < 1:
        raise CliError(f"--workers must be at least 1, got {args.workers}")
    stats = with_count_progress(lambda p, c: compute_stats(args.path, p, c, workers=args.workers), "stats", "track")
    out = args.out or args.path / "stats"
    paths = write_report(stats, out)
    if args.json:
        print(json.dumps(stats.as_dict(spectra=False), indent=2))
        return 0
    lo, hi, med = stats.tracks_per_song
    print(f"{stats.songs} songs, {stats.hours:.2f} h of mixture, {lo}-{hi} tracks per song (median {med:g}), "
          f"{stats.instrument_classes} instrument classes")
    for split, s in stats.splits.items():
        print(f"  {split}: {s.songs} songs, {s.hours:.2f} h, {s.stems} stems")
    for skip in stats.skipped:
        print(f"  skipped {skip['track']}: {skip['reason']}")
    print(f"report: {paths['stats.md']}")
    return 0


def cmd_convert(args: argparse.Namespace) -> int:
    from slakh_gui.core.dataset.derived import convert

    if args.sample_rate is not None and args.sample_rate <= 0:
        raise CliError(f"--sample-rate must be positive, got {args.sample_rate}")
    result = with_count_progress(lambda p, c: convert(args.src, args.dst, sample_rate=args.sample_rate,
                                                      fmt=args.audio_format, progress=p, cancel=c), "convert", "track")
    _failed(result)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(f"{result.tracks} tracks -> {args.dst}: {result.written} files written, {result.up_to_date} already "
              f"up to date, {len(result.failed)} tracks skipped")
    return 0


def cmd_submix(args: argparse.Namespace) -> int:
    from slakh_gui.core.dataset.derived import submix

    result = with_count_progress(lambda p, c: submix(args.src, args.recipe, args.name, fmt=args.audio_format,
                                                     overwrite=args.overwrite, progress=p, cancel=c),
                                 "submix", "track")
    _failed(result)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print(f"{result.tracks} tracks: {result.written} submix files written, {result.up_to_date} already up to "
              f"date, {len(result.failed)} tracks skipped")
        for path, n in result.clipped.items():
            print(f"  {path}: {n} samples clipped at full scale")
    return 0


def cmd_lint(args: argparse.Namespace) -> int:
    from slakh_gui.core.bank.patches import load_bank
    from slakh_gui.core.dataset.lint import lint_tree, write_lint

    bank = load_bank(args.bank) if args.bank else None
    findings = with_count_progress(lambda p, c: lint_tree(args.path, bank, p, c), "lint", "track")
    if args.out:
        write_lint(args.out, findings)
    if args.json:
        print(json.dumps([f.as_dict() for f in findings], indent=2))
        return 0
    for f in findings:
        print(f"{f.track}{'/' + f.stem if f.stem else ''}: {f.kind}: {f.message}")
    counts: dict[str, int] = {}
    for f in findings:
        counts[f.kind] = counts.get(f.kind, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in counts.items()) or "no problems found"
    print(f"{len(findings)} findings: {summary}" if findings else summary)
    if args.out:
        print(f"written: {args.out}")
    return 0
