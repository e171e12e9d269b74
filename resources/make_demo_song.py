"""Regenerate ``resources/demo_song.mid``, Slakh Studio's bundled demo song (original, seeded, free to use).

Run from anywhere: ``python resources/make_demo_song.py``. The same generator and seed give the same bytes.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from slakh_gui.core.midi.songgen import generate_song, write_song  # noqa: E402

SEED = 2100
DURATION_S = 100.0
# Piano, bass, guitar, drums + strings, organ, brass, synth lead (0-based GM programs, 128 = drums).
INSTRUMENTS = [0, 33, 25, 128, 48, 16, 61, 81]


def main() -> None:
    pm = generate_song(SEED, duration_s=DURATION_S, instruments=INSTRUMENTS)
    path = write_song(pm, ROOT / "resources" / "demo_song.mid")
    print(f"wrote {path} ({pm.get_end_time():.1f} s, {len(pm.instruments)} tracks)")


if __name__ == "__main__":
    main()
