"""What every ``slakh-studio`` command shares: the one-line error type and progress bars on stderr."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable


class CliError(Exception):
    """An error to print as one line."""


def with_count_progress(call: Callable, desc: str, unit: str = "file"):
    """Run ``call(progress, cancel)`` with a tqdm bar counting ``unit``s on stderr; Ctrl-C cancels it."""
    from tqdm import tqdm  # noqa: PLC0415

    from slakh_gui.core.jobs import CancelToken  # noqa: PLC0415

    token = CancelToken()
    previous = signal.signal(signal.SIGINT, lambda *_: token.cancel())
    bar = tqdm(total=0, unit=unit, disable=None, leave=False, desc=desc, file=sys.stderr)

    def progress(p) -> None:
        bar.total = int(p.total)
        bar.n = int(p.done)
        if p.item:
            bar.set_postfix_str(p.item, refresh=False)
        bar.refresh()

    try:
        return call(progress, token)
    finally:
        bar.close()
        signal.signal(signal.SIGINT, previous)
