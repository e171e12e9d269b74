"""``slakh-studio --smoke`` as a user (or the packaged bundle) runs it: a whole process, offscreen."""

from __future__ import annotations

import os
import subprocess
import sys

from PySide6.QtGui import QImage

from tests.conftest import REPO


def test_smoke_opens_renders_and_screenshots(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    proc = subprocess.run([sys.executable, "-m", "slakh_gui", "--smoke", str(tmp_path)], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "smoke test passed: rendered 8 stems + mix" in proc.stdout
    shot = QImage(str(tmp_path / "smoke.png"))
    assert shot.width() >= 1000 and shot.height() >= 700
    assert len(list((tmp_path / "render" / "Track00001" / "stems").glob("*.flac"))) == 8
