"""What every ``slakh-studio`` command shares: the one-line error type and progress bars on stderr."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable

from slakh_gui.core.errors import SlakhError


class CliError(SlakhError):
    """An error to print as one line."""


def with_count_progress(call: Callable, desc: str, unit: str = "file"):
    """Run ``call(progress, cancel)`` with a tqdm bar counting ``unit``s on stderr; Ctrl-C cancels it."""

    def show(bar, p) -> None:
        bar.total = int(p.total)
        bar.n = int(p.done)
        if p.item:
            bar.set_postfix_str(p.item, refresh=False)

    return with_progress(call, desc, show, unit=unit)


def with_stage_progress(call: Callable, desc: str, weights: dict[str, tuple[int, int]]):
    """Run ``call(progress, cancel)`` with one per-mille bar over several stages (``stage -> (from, to)``)."""

    def show(bar, p) -> None:
        lo, hi = weights.get(p.stage, (0, 1000))
        bar.n = int(lo + (hi - lo) * p.fraction)
        bar.set_description(p.stage)

    return with_progress(call, desc, show, unit="‰", total=1000)


def with_progress(call: Callable, desc: str, show: Callable, unit: str = "file", total: int = 0):
    """Run ``call(progress, cancel)`` with a tqdm bar on stderr that ``show(bar, Progress)`` updates; Ctrl-C
    cancels the job (it raises :class:`~slakh_gui.core.jobs.Cancelled`, nothing half-written stays)."""
    from tqdm import tqdm

    from slakh_gui.core.jobs import CancelToken

    token = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: token.cancel())
    bar = tqdm(total=total, unit=unit, disable=None, leave=False, desc=desc, file=sys.stderr)

    def progress(p) -> None:
        show(bar, p)
        bar.refresh()

    try:
        return call(progress, token)
    finally:
        bar.close()
        signal.signal(signal.SIGINT, previous)
