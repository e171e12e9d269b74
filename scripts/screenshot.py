"""Take docs/screenshot.png from a real window: the demo song rendered, a stem selected, a loop region set.

Run under a real X screen:  xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshot.py
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    cfg = Path(tempfile.mkdtemp()) / "asound.conf"
    cfg.write_text("pcm.!default { type null }\n")
    os.environ.setdefault("ALSA_CONFIG_PATH", str(cfg))
    from PySide6.QtCore import QSettings, QTimer

    from slakh_gui import paths
    from slakh_gui.gui.app import make_app
    from slakh_gui.gui.main_window import MainWindow

    app = make_app()
    work = Path(tempfile.mkdtemp())
    win = MainWindow(QSettings(str(work / "s.ini"), QSettings.Format.IniFormat), confirm_on_close=False)
    win.resize(1560, 960)
    win.out_edit.setText(str(work / "out"))
    win.show()
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshot.png"

    def rendered(result) -> None:
        win.select_stem("S01")
        win.spectrograms.set_region(24.0, 32.0)
        win.mixer_view.strips["S05"].set_gain_db(-4.5)
        win.mixer_view.strips["S02"].solo.setChecked(False)
        QTimer.singleShot(2500, shoot)

    def shoot() -> None:
        win.grab().save(str(out))
        print(f"wrote {out} ({app.platformName()})")
        app.quit()

    win.renderFinished.connect(rendered)
    win.songLoaded.connect(lambda: QTimer.singleShot(300, win.start_render))
    win.open_path(paths.demo_song())
    QTimer.singleShot(120000, app.quit)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
