"""The audio one separation run offers the player, Qt-free: the mix, the truth, every estimate and the residuals
listened to, by source key, at the run's rate or resampled to the player's."""

from __future__ import annotations

import numpy as np

from slakh_gui.separation.comparison import SeparationRun, at_rate


def source_key(row: str, part: str) -> str:
    """The player source of ``part`` (``estimate``, ``residual``, ``truth`` or ``mix``) for the ROWS key ``row``:
    ``est:<row>``, ``res:<row>``, ``truth`` or ``mix``."""
    return {"estimate": f"est:{row}", "residual": f"res:{row}"}.get(part, part)


class RunAudio:
    """The sources of one :class:`SeparationRun`; a residual is made the first time it is asked for and kept (the
    residuals listened to are the player's sources), and so is each source resampled to a player's rate."""

    def __init__(self, run: SeparationRun):
        self.run = run
        self.residuals: dict[str, np.ndarray] = {}
        self._resampled: dict[tuple[str, int], np.ndarray] = {}

    def residual(self, row: str) -> np.ndarray:
        """The residual (mix − estimate) of the ROWS key ``row``."""
        if row not in self.residuals:
            self.residuals[row] = self.run.residual(row)
        return self.residuals[row]

    def audio(self, key: str) -> np.ndarray:
        """A source's audio at the run's rate (``key`` as :func:`source_key` makes it)."""
        if key == "mix":
            return self.run.mix
        if key == "truth":
            return self.run.truth
        kind, row = key.split(":")
        return self.run.estimates[row].audio if kind == "est" else self.residual(row)

    def at_rate(self, key: str, rate: int) -> np.ndarray:
        """A source's audio at ``rate`` (a player's), as long as the mix is at that rate."""
        if rate == self.run.sample_rate:
            return self.audio(key)
        if (key, rate) not in self._resampled:
            n = int(round(len(self.run.mix) * rate / self.run.sample_rate))
            self._resampled[(key, rate)] = at_rate(self.audio(key), self.run.sample_rate, rate, n)
        return self._resampled[(key, rate)]

    def keys(self) -> list[str]:
        """What the player gets: the mix, the truth, every estimate, and the residuals made so far."""
        keys = ["mix"] + (["truth"] if self.run.truth is not None else [])
        return keys + [f"est:{k}" for k in self.run.estimates] + [f"res:{k}" for k in self.residuals]
