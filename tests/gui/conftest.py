"""GUI tests: pytest-qt on the offscreen platform (set in tests/conftest.py); no job outlives its test."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _drain_thread_pool(qapp):
    yield
    from PySide6.QtCore import QThreadPool

    QThreadPool.globalInstance().waitForDone(30_000)
    qapp.processEvents()


@pytest.fixture
def window(qtbot, tmp_path):
    """The real main window with its own settings file and output folder; its jobs are stopped afterwards."""
    from PySide6.QtCore import QSettings

    from slakh_gui.gui.app import make_app
    from slakh_gui.gui.main_window import MainWindow

    make_app()
    win = MainWindow(QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat), confirm_on_close=False)
    qtbot.addWidget(win)
    win.set_output_dir(tmp_path / "out")
    win.show()
    yield win
    if win.player is not None:
        win.player.stop()
    win.runner.cancel_all()
    win.patches_view.cancel_jobs()
    win.runner.wait(10000)
    win.pool.waitForDone(10000)
