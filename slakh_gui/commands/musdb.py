"""``slakh-studio export-musdb``: a Slakh-layout dataset -> MUSDB18-HQ's layout (``train/ test/``, WAV per target)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from slakh_gui.cli_support import with_count_progress

TARGETS_HELP = ("comma-separated targets, each a group of the recipe (default bass,drums,guitar,piano,other); "
                "'other' (every stem no other target takes) is always written, so the targets add up to the mixture")


def register(sub) -> None:
    """Add the ``export-musdb`` parser."""
    e = sub.add_parser(
        "export-musdb", help="write a Slakh-layout dataset in MUSDB18-HQ's layout (mixture.wav + one WAV per target)",
        description="For every track: OUT/{train,test}/<track>/mixture.wav and <target>.wav, stereo 44.1 kHz "
        "16-bit WAV (mono stems on both channels), the stems grouped by a submix recipe; mixture.wav is the sum of "
        "the target files. Slakh's validation tracks go to train/ and are listed in OUT/setup.yaml, a musdb setup "
        "file: musdb.DB(root=OUT, is_wav=True, setup_file='setup.yaml', subsets='train', split='valid'). Run it again "
        "to resume: finished tracks are kept. ROOT: a dataset root (train/ validation/ test/), a mirdata data_home, "
        "a folder of TrackNNNNN/ (exported to train/) or one track folder.")
    e.add_argument("root", type=Path, metavar="ROOT")
    e.add_argument("-o", "--out", type=Path, required=True, metavar="OUT", help="export folder (created)")
    add_export_options(e)
    e.add_argument("--json", action="store_true", help="print the result as JSON")
    e.set_defaults(handler=cmd_export_musdb)


def add_export_options(parser, prefix: str = "") -> None:
    """The export's options; ``dataset --musdb OUT`` has them prefixed (``--musdb-targets``, ...)."""
    parser.add_argument(f"--{prefix}targets", dest="musdb_targets", default="bass,drums,guitar,piano,other",
                        metavar="LIST", help=TARGETS_HELP)
    parser.add_argument(f"--{prefix}recipe", dest="musdb_recipe", default="band", metavar="NAME|FILE",
                        help="the submix recipe the targets are groups of (default band; or a slakh-utils .yaml)")
    parser.add_argument(f"--{prefix}float32", dest="musdb_float32", action="store_true",
                        help="32-bit float WAV instead of 16-bit PCM")
    parser.add_argument(f"--{prefix}song-names", dest="musdb_song_names", action="store_true",
                        help="name track folders 'Track00001 - <song>' (the source MIDI file's name)")
    parser.add_argument(f"--{prefix}overwrite", dest="musdb_overwrite", action="store_true",
                        help="export every track again into an existing export (or into a folder that is not one)")


def run_export(root: Path, out: Path, args: argparse.Namespace):
    """Export with the options of :func:`add_export_options`, showing a progress bar."""
    from slakh_gui.core.dataset.musdb_export import export_musdb

    return with_count_progress(lambda p, c: export_musdb(
        root, out, targets=args.musdb_targets, recipe=args.musdb_recipe,
        sample_format="float32" if args.musdb_float32 else "pcm16", song_names=args.musdb_song_names,
        overwrite=args.musdb_overwrite, progress=p, cancel=c), "musdb", "track")


def print_summary(result) -> None:
    """The export's summary on stdout, its warnings on stderr."""
    c = result.counts
    print(f"MUSDB export {result.out}/: {c.get('train', 0)} train ({len(result.validation)} of them validation), "
          f"{c.get('test', 0)} test tracks ({len(result.exported)} exported now, {len(result.already_done)} already "
          f"done); targets {', '.join(result.targets)}")
    if result.omitted:
        print(f"  {len(result.omitted)} tracks of omitted/ not exported")
    if result.removed:
        print(f"  removed {len(result.removed)} tracks of the earlier export no longer in the source")
    if result.mix_deviation:
        worst = max(result.mix_deviation.values())
        print(f"  mixture.wav = sum of the target files; the tracks' own mix differs from the sum of their stems "
              f"by at most {worst * 32768:.1f} 16-bit steps")
    print(f"  read it: musdb.DB(root={str(result.out)!r}, is_wav=True, setup_file='setup.yaml')")
    for track, dev in result.deviating().items():
        print(f"slakh-studio: warning: {track}: the track's mix is not the sum of its stems (differs by up to "
              f"{dev:.3g} of full scale; a Flakh mix?): mixture.wav is the sum of the stems", file=sys.stderr)
    for path, n in result.clipped.items():
        print(f"slakh-studio: warning: {path}: {n} samples clipped at full scale", file=sys.stderr)


def cmd_export_musdb(args: argparse.Namespace) -> int:
    result = run_export(args.root, args.out, args)
    if args.json:
        print(json.dumps(result.as_dict(), indent=2))
    else:
        print_summary(result)
    return 0
