"""Progress reports and cooperative cancellation for long jobs (render, dataset, training)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass


class Cancelled(Exception):
    """Raised inside a job when its :class:`CancelToken` was cancelled."""


class CancelToken:
    """A thread-safe flag a job checks between short steps."""

    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


@dataclass(frozen=True)
class Progress:
    """One progress report: ``done`` of ``total`` units of the current ``stage``; optionally the part in progress
    (``item``, e.g. a stem key) and how far it is (``item_fraction``)."""

    stage: str
    done: float
    total: float
    message: str = ""
    item: str = ""
    item_fraction: float = 0.0

    @property
    def fraction(self) -> float:
        return 0.0 if self.total <= 0 else min(1.0, self.done / self.total)


ProgressFn = Callable[[Progress], None]


def report(progress: ProgressFn | None, stage: str, done: float, total: float, message: str = "",
           item: str = "", item_fraction: float = 0.0) -> None:
    """Call ``progress`` if given."""
    if progress is not None:
        progress(Progress(stage, done, total, message, item, item_fraction))


def check(cancel: CancelToken | None) -> None:
    """Raise :class:`Cancelled` if ``cancel`` was cancelled."""
    if cancel is not None:
        cancel.raise_if_cancelled()
