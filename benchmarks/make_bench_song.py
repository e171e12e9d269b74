"""Write a render benchmark song: 3 minutes, fixed seed, sparse (3 tracks), medium (6) or dense (12).

Usage: ``python benchmarks/make_bench_song.py OUT.mid [--density sparse|medium|dense]`` (default: dense, the
3-minute 12-track song earlier versions of the benchmark used).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slakh_gui.core.midi.songgen import generate_song, write_song

SEED = 1808
DURATION_S = 180.0
TEMPO = 120.0
# dense: piano, bass, guitar, drums + strings, organ, trumpet, alto sax, flute, saw lead, warm pad, vibraphone.
DENSITIES = {
    "sparse": [0, 33, 128],  # piano, bass, drums
    "medium": [0, 34, 29, 128, 49, 73],  # + guitar, strings, flute
    "dense": [0, 34, 29, 128, 49, 18, 56, 65, 73, 81, 89, 11],
}
INSTRUMENTS = DENSITIES["dense"]


def make_song(out: Path, density: str = "dense") -> tuple[float, int, int]:
    """Write the ``density`` song to ``out``; returns (seconds, tracks, notes)."""
    pm = generate_song(SEED, duration_s=DURATION_S, tempo=TEMPO, instruments=DENSITIES[density])
    write_song(pm, out)
    return pm.get_end_time(), len(pm.instruments), sum(len(i.notes) for i in pm.instruments)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the .mid file")
    parser.add_argument("--density", choices=list(DENSITIES), default="dense")
    args = parser.parse_args(argv)
    seconds, tracks, notes = make_song(args.out, args.density)
    print(f"wrote {args.out}: {seconds:.1f} s, {tracks} tracks, {notes} notes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
