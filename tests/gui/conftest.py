"""GUI tests: pytest-qt on the offscreen platform (set in tests/conftest.py); no job outlives its test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _drain_thread_pool(qapp):
    yield
    from PySide6.QtCore import QThreadPool

    QThreadPool.globalInstance().waitForDone(30_000)
    qapp.processEvents()
