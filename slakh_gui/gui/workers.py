"""Background jobs: a thin QRunnable over a core function that takes ``progress`` and ``cancel``.

Signals are emitted from the pool thread and queued to receivers in the GUI thread, so views only touch widgets
from the GUI thread. Keep a reference to a running :class:`Job` (the window keeps a set) and cancel it on close.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from slakh_gui.core.jobs import Cancelled, CancelToken, Progress


class JobSignals(QObject):
    progress = Signal(object)  # core.jobs.Progress
    result = Signal(object)
    error = Signal(object)  # the exception (its traceback text in .traceback_text)
    cancelled = Signal()
    finished = Signal()


class Job(QRunnable):
    """Run ``fn(*args, progress=..., cancel=..., **kwargs)`` on the global thread pool."""

    def __init__(self, fn: Callable, *args, with_hooks: bool = True, **kwargs):
        super().__init__()
        self.setAutoDelete(False)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.with_hooks = with_hooks
        self.token = CancelToken()
        self.signals = JobSignals()
        self.done = False

    def cancel(self) -> None:
        self.token.cancel()

    def _progress(self, p: Progress) -> None:
        self.signals.progress.emit(p)

    def run(self) -> None:  # pool thread
        try:
            kwargs = dict(self.kwargs)
            if self.with_hooks:
                kwargs.update(progress=self._progress, cancel=self.token)
            value = self.fn(*self.args, **kwargs)
        except Cancelled:
            self.signals.cancelled.emit()
        except BaseException as exc:  # noqa: BLE001  (errors cross threads as data)
            exc.traceback_text = traceback.format_exc()
            self.signals.error.emit(exc)
        else:
            self.signals.result.emit(value)
        finally:
            self.done = True
            self.signals.finished.emit()

    def start(self, pool: QThreadPool | None = None) -> Job:
        (pool or QThreadPool.globalInstance()).start(self)
        return self
