"""How the engine uses the machine's cores: it runs its own threads (one synth per stem, a side thread for
finishing stems) and processes (dataset workers), so numpy's BLAS must not start threads of its own."""

from __future__ import annotations

import os

_ENV = "OPENBLAS_NUM_THREADS"


def one_blas_thread() -> None:
    """Let BLAS (numpy's OpenBLAS) use one thread in this process and the processes it starts, unless the user set
    ``OPENBLAS_NUM_THREADS``. The engine's matrix products are small (K-weighting blocks); OpenBLAS threads them
    anyway, and its idle threads spin on the core the synthesizer needs: with two threads a 12-track render took
    8.2 s of wall time and 11.7 s of CPU, with one 7.4 s and 8.7 s."""
    if _ENV in os.environ and os.environ[_ENV] != "1":
        return  # the user's choice
    os.environ[_ENV] = "1"  # libraries loaded from now on, and child processes
    from threadpoolctl import threadpool_limits

    threadpool_limits(1, user_api="blas")  # those loaded already
