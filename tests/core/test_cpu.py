"""The engine runs numpy's BLAS on one thread (its own threads do the parallel work), unless the user says otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO

PROBE = """
import numpy
from threadpoolctl import threadpool_info
from slakh_gui.core.cpu import one_blas_thread
one_blas_thread()
import os
print(os.environ.get("OPENBLAS_NUM_THREADS"), sorted({i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}))
"""


def probe(env_value: str | None) -> str:
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if env_value is not None:
        env["OPENBLAS_NUM_THREADS"] = env_value
    out = subprocess.run([sys.executable, "-c", PROBE], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]  # (a library may print a line of its own first)


def test_numpy_imported_first_still_gets_one_blas_thread():
    assert probe(None) == "1 [1]"


def test_the_users_setting_is_kept():
    assert probe("2") == f"2 [{min(2, os.cpu_count() or 1)}]"  # OpenBLAS caps it at the core count
