"""Write the render benchmark's song: 3 minutes, 12 tracks, fixed seed.

Usage: ``python benchmarks/make_bench_song.py OUT.mid``
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from slakh_gui.core.songgen import generate_song, write_song

SEED = 1808
DURATION_S = 180.0
TEMPO = 120.0
# Piano, bass, guitar, drums + strings, organ, trumpet, alto sax, flute, saw lead, warm pad, vibraphone.
INSTRUMENTS = [0, 34, 29, 128, 49, 18, 56, 65, 73, 81, 89, 11]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="where to write the .mid file")
    args = parser.parse_args(argv)
    pm = generate_song(SEED, duration_s=DURATION_S, tempo=TEMPO, instruments=INSTRUMENTS)
    write_song(pm, args.out)
    notes = sum(len(i.notes) for i in pm.instruments)
    print(f"wrote {args.out}: {pm.get_end_time():.1f} s, {len(pm.instruments)} tracks, {notes} notes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
