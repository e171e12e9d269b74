"""``slakh-studio --smoke``: the whole app in one check — open the window (offscreen without a display), load the
demo song, render it with the default bank, write a screenshot, exit 0; any failure exits 1 with the reason."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from slakh_gui import logs, paths

TIMEOUT_MS = 300_000


def run(out_dir: str | Path | None = None) -> int:
    """Returns the exit code; writes ``smoke.png`` and the rendered track into ``out_dir`` (default: a temp dir)."""
    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    log = logs.get("smoke")
    out = Path(out_dir) if out_dir else Path(tempfile.mkdtemp(prefix="slakh-studio-smoke-"))
    out.mkdir(parents=True, exist_ok=True)
    from PySide6.QtCore import QSettings, QTimer

    from slakh_gui.gui.app import make_app

    app = make_app()
    from slakh_gui.gui.main_window import MainWindow

    win = MainWindow(QSettings(str(out / "smoke-settings.ini"), QSettings.Format.IniFormat), confirm_on_close=False)
    win.resize(1400, 900)
    win.set_output_dir(out / "render")
    state = {"code": 1, "why": "timed out"}

    def fail(why: str) -> None:
        state["why"] = why
        app.quit()

    def rendered(result) -> None:
        if result is None:
            fail("the render failed (the window's message bar and the log file say why)")
            return
        shot = out / "smoke.png"
        QTimer.singleShot(500, lambda: shoot(shot, result))

    def shoot(shot: Path, result) -> None:
        if not win.grab().save(str(shot)):
            fail(f"could not write {shot}")
            return
        track = Path(result.path)
        stems = sorted((track / "stems").glob("*.flac"))
        if not (track / "mix.flac").is_file() or not stems:
            fail(f"render finished but {track} has no mix or stems")
            return
        state.update(code=0, why=f"rendered {len(stems)} stems + mix to {track}; screenshot {shot} "
                                 f"({app.platformName()})")
        app.quit()

    win.renderFinished.connect(rendered)
    win.songLoaded.connect(lambda: QTimer.singleShot(100, win.start_render))
    win.show()
    QTimer.singleShot(0, lambda: win.open_path(paths.demo_song()))
    QTimer.singleShot(TIMEOUT_MS, lambda: fail(f"no render after {TIMEOUT_MS // 1000} s"))
    app.exec()
    win.close()
    line = f"smoke test {'passed' if state['code'] == 0 else 'FAILED'}: {state['why']}"
    (log.info if state["code"] == 0 else log.error)(line, extra=logs.FILE_ONLY)
    print(f"slakh-studio: {line}", file=sys.stdout if state["code"] == 0 else sys.stderr)
    return state["code"]
