"""The one job runner of the GUI: every background job (render, spectrogram, audition, separation, training,
evaluation, dataset, export) starts here.

A job runs a core function ``fn(*args, progress=..., cancel=..., **kwargs)`` on a thread pool (``hooks=False``: a plain
``fn(*args, **kwargs)``). The worker plumbing is superqt's :class:`~superqt.utils.WorkerBase` (a QRunnable whose
signals are queued to the GUI thread); on top of it :class:`JobRunner` adds what every view needs:

- callbacks for result, error, progress, cancelled and finished, always run in the GUI thread;
- **slots**: ``start(..., slot="stem-spectrogram")`` cancels the job running in that slot, and a finished job that is
  no longer its slot's newest has its result and error dropped ("newest request wins");
- ``cancel_all()`` and ``shutdown()`` (cancel everything and wait) for closing a window;
- one ``error`` signal that views route to their message bar when they pass no ``on_error``.

A job's error that is not the user's (:func:`slakh_gui.core.errors.is_user_error`) is a bug: it is logged with its
trace before it is handed on.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QDeadlineTimer, QObject, QThreadPool, Signal
from superqt.utils import WorkerBase
from superqt.utils._qthreading import WorkerBaseSignals

from slakh_gui import logs
from slakh_gui.core.errors import is_user_error
from slakh_gui.core.jobs import Cancelled, CancelToken, Progress


class JobSignals(WorkerBaseSignals):
    """superqt's started/finished/returned/errored plus a progress report and a cancellation."""

    progress = Signal(object)  # core.jobs.Progress
    cancelled = Signal()


class Job(WorkerBase):
    """One call of a core function on a pool thread, with a :class:`CancelToken` and a progress callback."""

    def __init__(self, fn: Callable, *args: Any, hooks: bool = True, **kwargs: Any):
        super().__init__(SignalsClass=JobSignals)
        self.setAutoDelete(False)
        self.fn, self.args, self.kwargs = fn, args, kwargs
        self.hooks = hooks
        self.token = CancelToken()
        self.done = False
        self.slot: str | None = None

    def cancel(self) -> None:
        """Ask the job to stop (it checks its token between short steps). The runner delivers nothing of a
        cancelled job; a function that finished anyway still emits ``returned`` (a cache may keep the value)."""
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled

    def work(self) -> Any:  # pool thread
        try:
            kwargs = dict(self.kwargs)
            if self.hooks:
                kwargs.update(progress=self.signals.progress.emit, cancel=self.token)
            return self.fn(*self.args, **kwargs)
        except Cancelled:
            self._abort_requested = True
            self.signals.cancelled.emit()
            return None
        except Exception as exc:
            exc.traceback_text = traceback.format_exc()  # errors cross threads as data, with their trace
            raise
        finally:
            self.done = True


class JobRunner(QObject):
    """Starts, tracks and stops the background jobs of one window (and the views inside it)."""

    error = Signal(object)  # an exception of a job started without on_error

    def __init__(self, parent: QObject | None = None, pool: QThreadPool | None = None):
        super().__init__(parent)
        self.pool = pool or QThreadPool.globalInstance()
        self.jobs: set[Job] = set()
        self._slots: dict[str, Job] = {}

    # -------------------------------------------------------------------------------------------- starting
    def start(self, fn: Callable, *args: Any, on_result: Callable | None = None, on_error: Callable | None = None,
              on_progress: Callable[[Progress], None] | None = None, on_cancelled: Callable | None = None,
              on_finished: Callable | None = None, slot: str | None = None, hooks: bool = True,
              **kwargs: Any) -> Job:
        """Run ``fn`` in the background; every callback runs in the GUI thread. See the module docstring."""
        job = Job(fn, *args, hooks=hooks, **kwargs)
        return self.submit(job, on_result=on_result, on_error=on_error, on_progress=on_progress,
                           on_cancelled=on_cancelled, on_finished=on_finished, slot=slot)

    def submit(self, job: Job, *, on_result: Callable | None = None, on_error: Callable | None = None,
               on_progress: Callable[[Progress], None] | None = None, on_cancelled: Callable | None = None,
               on_finished: Callable | None = None, slot: str | None = None) -> Job:
        """Start a :class:`Job` built by the caller (who may connect its signals to receivers of its own)."""
        job.slot = slot
        if slot is not None:
            old = self._slots.get(slot)
            if old is not None and not old.done:
                old.cancel()
            self._slots[slot] = job
        sig = job.signals
        if on_progress is not None:
            sig.progress.connect(lambda p: self._alive() and on_progress(p))
        if on_result is not None:
            sig.returned.connect(lambda value: self._current(job) and on_result(value))
        sig.errored.connect(lambda exc: self._errored(job, exc, on_error))
        if on_cancelled is not None:
            sig.cancelled.connect(lambda: self._alive() and on_cancelled())
        sig.finished.connect(lambda: self._finished(job, on_finished))
        # superqt's set of live workers keeps the job (and its signals) alive until it has finished, even if
        # this runner and its window are deleted first
        WorkerBase._worker_set.add(job)
        sig._finished.connect(WorkerBase._set_discard)
        self.jobs.add(job)
        self.pool.start(job)
        return job

    def _alive(self) -> bool:
        """False once the runner (and so the window or view that owns it) was deleted: a job that finishes
        after its window closed delivers nothing."""
        return shiboken6.isValid(self)

    def _current(self, job: Job) -> bool:
        """Whether ``job``'s outcome still matters: runner alive, not cancelled, the newest of its slot."""
        return self._alive() and not job.cancelled and (job.slot is None or self._slots.get(job.slot) is job)

    def _errored(self, job: Job, exc: Exception, on_error: Callable | None) -> None:
        if not is_user_error(exc):
            logs.get("gui").error("unexpected error in a background job: %s",
                                  getattr(exc, "traceback_text", "") or f"{type(exc).__name__}: {exc}")
        if not self._current(job):
            return
        (on_error or self.error.emit)(exc)

    def _finished(self, job: Job, on_finished: Callable | None) -> None:
        if not self._alive():
            return
        self.jobs.discard(job)
        if job.slot is not None and self._slots.get(job.slot) is job:
            del self._slots[job.slot]
        if on_finished is not None:
            on_finished()

    # -------------------------------------------------------------------------------------------- stopping
    def running(self, slot: str | None = None) -> list[Job]:
        """The jobs not finished yet (of one slot, if given)."""
        return [j for j in self.jobs if not j.done and (slot is None or j.slot == slot)]

    def cancel(self, slot: str) -> None:
        job = self._slots.get(slot)
        if job is not None:
            job.cancel()

    def cancel_all(self) -> None:
        for job in list(self.jobs):
            job.cancel()

    def wait(self, msecs: int = 30_000) -> bool:
        """Wait (processing no events) until every job of this runner has returned from its function."""
        deadline = QDeadlineTimer(msecs)
        while any(not j.done for j in self.jobs):
            if deadline.hasExpired():
                return False
            self.pool.waitForDone(20)
        return True

    def shutdown(self, msecs: int = 10_000) -> bool:
        """Cancel every job and wait for them (closing a window)."""
        self.cancel_all()
        return self.wait(msecs)
