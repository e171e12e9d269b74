"""Where dataset tracks are rendered: local worker processes, or the workers of a Dask cluster.

Both executors take task dicts (see :mod:`slakh_gui.core.dataset.dataset_task`) and yield result dicts as tracks finish,
in any order; the caller records them. Cancelling stops the work at once: local workers are killed (a killed
render leaves only a hidden ``.TrackNNNNN.partial-*`` folder, removed on the next run) and Dask futures are
cancelled.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import time
from collections import deque
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from slakh_gui.core.dataset.dataset_task import render_task
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.jobs import CancelToken, check

POLL_SECONDS = 0.2


class DaskUnavailable(SlakhError, RuntimeError):
    """The Dask scheduler cannot be reached, or dask.distributed is not installed."""


def default_workers() -> int:
    """One worker per core this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return max(1, os.cpu_count() or 1)


def _kill(pool: ProcessPoolExecutor) -> None:
    for proc in list((getattr(pool, "_processes", None) or {}).values()):
        proc.kill()
    pool.shutdown(wait=True, cancel_futures=True)


def run_local(tasks: list[dict], workers: int, cancel: CancelToken | None = None) -> Iterator[dict]:
    """Render ``tasks`` in ``workers`` fresh processes (spawned: safe beside Qt's threads), keeping at most
    ``workers`` tasks in flight so that cancel loses little. A worker that dies (a crash in the synth) breaks the
    pool: it is restarted and the tasks in flight are retried one at a time; a task that kills its worker twice
    is recorded as failed and the run goes on."""
    queue = deque(tasks)
    suspects: deque[dict] = deque()  # in flight when a worker died: retried alone
    deaths: dict[str, int] = {}
    ctx = multiprocessing.get_context("spawn")
    pool: ProcessPoolExecutor | None = None
    running: dict[Future, dict] = {}
    try:
        while queue or suspects or running:
            check(cancel)
            if pool is None:
                pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx)
            if suspects:
                if not running:
                    task = suspects.popleft()
                    running[pool.submit(render_task, task)] = task
            else:
                while queue and len(running) < workers:
                    task = queue.popleft()
                    running[pool.submit(render_task, task)] = task
            done, _ = wait(running, timeout=POLL_SECONDS, return_when=FIRST_COMPLETED)
            broken = False
            for fut in done:
                task = running.pop(fut)
                exc = fut.exception()
                if exc is None:
                    yield fut.result()
                elif isinstance(exc, BrokenProcessPool):
                    broken = True
                    deaths[task["name"]] = deaths.get(task["name"], 0) + 1
                    if deaths[task["name"]] >= 2:
                        yield {"name": task["name"], "status": "failed",
                               "reason": "the worker process died twice rendering it (a crash in FluidSynth?)"}
                    else:
                        suspects.append(task)
                else:  # render_task catches song errors; this is a task that could not be sent or received
                    yield {"name": task["name"], "status": "failed", "reason": f"{type(exc).__name__}: {exc}"}
            if broken:
                suspects.extend(running.values())
                running.clear()
                _kill(pool)
                pool = None
    finally:
        if pool is not None:
            if running:
                _kill(pool)
            else:
                pool.shutdown(wait=True)


def run_dask(tasks: list[dict], scheduler: str, cancel: CancelToken | None = None,
             timeout: float = 15.0) -> Iterator[dict]:
    """Render ``tasks`` on the Dask cluster at ``scheduler`` (``tcp://host:port`` or a scheduler JSON file).

    Every worker must run the same Slakh Studio version and see the output folder and MIDI files at the same
    paths (shared storage); the caller checks both from the results."""
    try:
        from distributed import Client
    except ImportError:
        raise DaskUnavailable("dask.distributed is not installed (pip install 'dask[distributed]')") from None
    kwargs = {"scheduler_file": scheduler} if os.path.isfile(scheduler) else {"address": scheduler}
    try:
        client = Client(timeout=timeout, set_as_default=False, **kwargs)
    except Exception as exc:  # distributed raises OSError, TimeoutError, ValueError, AssertionError...
        raise DaskUnavailable(f"cannot reach the Dask scheduler at {scheduler}: {type(exc).__name__}: {exc}") from None
    futures: list = []
    try:
        futures = [client.submit(render_task, t, key=f"slakh-studio-{t['name']}-{os.getpid()}", pure=False)
                   for t in tasks]
        pending = {f: t["name"] for f, t in zip(futures, tasks, strict=True)}
        while pending:
            check(cancel)
            done = [f for f in pending if f.done()]
            if not done:
                time.sleep(POLL_SECONDS)
                continue
            for fut in done:
                name = pending.pop(fut)
                try:
                    yield fut.result()
                except Exception as exc:  # a lost worker (KilledWorker) fails only that track
                    yield {"name": name, "status": "failed", "reason": f"Dask: {type(exc).__name__}: {exc}"}
    finally:
        with contextlib.suppress(Exception):
            client.cancel(futures)  # no-op for finished ones
        client.close()
