"""Start the desktop app: ``slakh-studio gui [song.mid | TrackNNNNN/ | session.json]``."""

from __future__ import annotations

import contextlib
import gc
import logging
import os
import sys
from pathlib import Path

from PySide6.QtCore import QSettings, QTimer
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

from slakh_gui import paths

log = logging.getLogger("slakh_studio")
FULL_GC_NEVER = 1_000_000  # generation-2 threshold: a million generation-1 collections


def apply_theme(app: QApplication) -> None:
    """Fusion with a dark palette (spectrograms and meters read best on dark)."""
    app.setStyle("Fusion")
    pal = QPalette()
    colors = {
        QPalette.ColorRole.Window: "#2b2d31", QPalette.ColorRole.WindowText: "#e6e6e6",
        QPalette.ColorRole.Base: "#1f2023", QPalette.ColorRole.AlternateBase: "#26282c",
        QPalette.ColorRole.ToolTipBase: "#e6e6e6", QPalette.ColorRole.ToolTipText: "#1f2023",
        QPalette.ColorRole.Text: "#e6e6e6", QPalette.ColorRole.Button: "#35373c",
        QPalette.ColorRole.ButtonText: "#e6e6e6", QPalette.ColorRole.BrightText: "#ff5555",
        QPalette.ColorRole.Highlight: "#3465a4", QPalette.ColorRole.HighlightedText: "#ffffff",
        QPalette.ColorRole.Link: "#72a7e8", QPalette.ColorRole.PlaceholderText: "#8a8d93",
    }
    for role, color in colors.items():
        pal.setColor(role, QColor(color))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        pal.setColor(QPalette.ColorGroup.Disabled, role, QColor("#6f7278"))
    app.setPalette(pal)


def make_app(argv: list[str] | None = None) -> QApplication:
    # Render, analysis and audio threads share the GIL with the UI thread: hand it over every 1 ms (default 5 ms)
    # so the UI waits less, and load the heavy extension modules now, before there is a UI to freeze
    # (dlopen of scipy.signal and pedalboard holds the GIL for tens of milliseconds).
    sys.setswitchinterval(0.001)
    # No automatic full (generation-2) garbage collections in the app: one scans every object made since the heap
    # was last frozen and holds the GIL meanwhile; a render makes ~10^5 (MIDI notes, progress reports), and a full
    # collection run by a worker thread froze the UI for 50-95 ms. Young generations are still collected (cheap), and
    # opening a document collects everything and freezes the survivors (document_actions.freeze_heap).
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_GC_NEVER)
    import pedalboard  # noqa: F401
    import pyloudnorm  # noqa: F401
    import scipy.fft  # noqa: F401

    from slakh_gui.core.render import fluid

    # pyfluidsynth finds its library with ctypes.util.find_library, which forks ldconfig: do it now (a missing
    # library is reported when a render is asked for)
    with contextlib.suppress(fluid.FluidSynthMissing):
        fluid.api()
    app = QApplication.instance()
    if app is None:
        if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
            os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        app = QApplication([sys.argv[0], *(argv or [])])
    app.setApplicationName("Slakh Studio")
    app.setOrganizationName("SlakhStudio")
    app.setApplicationVersion(__import__("slakh_gui").__version__)
    apply_theme(app)
    return app


def main(path: str | Path | None = None, settings: QSettings | None = None) -> int:
    """Open the window on ``path`` (MIDI file, track folder or session), or the demo song on first start."""
    from slakh_gui.core.cpu import one_blas_thread

    one_blas_thread()
    app = make_app()
    from slakh_gui.gui.main_window import MainWindow  # after QApplication exists

    win = MainWindow(settings)
    win.show()
    target = Path(path) if path else paths.demo_song()
    if target.suffix == ".json":
        QTimer.singleShot(0, lambda: win.open_session(target))
    else:
        QTimer.singleShot(0, lambda: win.open_path(target))
    return app.exec()
