"""Generate a folder of original band songs (a MIDI corpus to select from and render), deterministically.

Song ``i`` of a corpus with seed ``S`` depends only on ``(S, i)`` and the duration bounds: a larger ``count``
with the same seed gives the same first files, and the same ``(count, seed)`` gives byte-identical files.
"""

from __future__ import annotations

import random
from pathlib import Path

from slakh_gui.core.jobs import CancelToken, ProgressFn, check, report
from slakh_gui.core.midi import songgen

MAX_EXTRA_TRACKS = 5


def song_name(index: int) -> str:
    """File name of song ``index`` of a corpus: ``song_00000.mid``."""
    return f"song_{index:05d}.mid"


def song_params(seed: int, index: int, min_duration: float = 60.0, max_duration: float = 150.0) -> dict:
    """The :func:`songgen.generate_song` arguments of song ``index`` of the corpus with ``seed``."""
    rng = random.Random(f"slakh-studio-corpus:{seed}:{index}")
    return {
        "seed": rng.getrandbits(32),
        "duration_s": round(rng.uniform(min_duration, max_duration), 1),
        "tempo": float(rng.randint(80, 150)),
        "key": rng.randrange(24),
        "extra_tracks": rng.randint(1, MAX_EXTRA_TRACKS),
    }


def generate_corpus(out_dir: str | Path, count: int, seed: int, *, min_duration: float = 60.0,
                    max_duration: float = 150.0, progress: ProgressFn | None = None,
                    cancel: CancelToken | None = None, drums: str = "rock") -> list[Path]:
    """Write ``count`` generated songs to ``out_dir/song_{i:05d}.mid`` and return their paths.

    Every song has piano, bass, guitar and drums plus 1-5 instruments of other GM families, a duration drawn
    uniformly from ``[min_duration, max_duration]`` seconds, and a drawn tempo and key; ``drums`` is
    :func:`songgen.generate_song`'s drum style (``varied``: the same songs with drums of several feels and hand
    percussion). With the default durations
    every song passes the default band rule of :mod:`slakh_gui.core.dataset.selection` (50+ notes per band family); below
    about 60 s a slow bass part may play fewer than 50 notes. Each file is written
    atomically; on cancel (:class:`~slakh_gui.core.jobs.Cancelled`) the songs written so far stay, complete.
    """
    if count < 0:
        raise ValueError(f"count must be 0 or more, not {count}")
    if not 0 < min_duration <= max_duration:
        raise ValueError(f"durations must satisfy 0 < min ({min_duration:g}) <= max ({max_duration:g})")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    report(progress, "generate", 0, count)
    for i in range(count):
        check(cancel)
        pm = songgen.generate_song(**song_params(seed, i, min_duration, max_duration), drums=drums)
        written.append(songgen.write_song(pm, out_dir / song_name(i)))
        report(progress, "generate", i + 1, count, item=song_name(i))
    return written
