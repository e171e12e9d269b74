"""GUI render time against the CLI's for the same song, bank and options, side by side.

The CLI (``slakh-studio render SONG -o OUT --bank BANK --seed 0``) runs as a user runs it: one process, timed as a
whole (start-up included), and once more timed inside the process around the render call alone (imports done). The GUI side is the real main window
(offscreen) with the song already open: Render pressed until ``renderFinished`` (every stem rendered, nothing from
the cache). Runs alternate CLI / GUI; prints medians and the ratio GUI render / CLI render (target ≤ 1.10).

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/gui_render.py [--runs 3] [--song demo]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


_CLI_TIMED = """
import sys, time
from slakh_gui import cli
from slakh_gui.core.render import fluid, pipeline  # imported before the clock starts, as the GUI has them
import pedalboard, pyloudnorm, scipy.signal
fluid.api()
t0 = time.perf_counter()
rc = cli.main(sys.argv[1:])
print("RENDER_SECONDS", time.perf_counter() - t0)
sys.exit(rc)
"""


def cli_render(song: Path, bank: Path, out: Path) -> tuple[float, float]:
    """(whole ``slakh-studio render`` process seconds, the CLI's render call alone after its imports)."""
    argv = ["render", str(song), "-o", str(out / "a"), "--bank", str(bank), "--seed", "0"]
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "slakh_gui", *argv], capture_output=True, text=True, check=True, cwd=REPO)
    whole = time.perf_counter() - t0
    argv[3] = str(out / "b")
    proc = subprocess.run([sys.executable, "-c", _CLI_TIMED, *argv], capture_output=True, text=True, check=True,
                          cwd=REPO)
    line = next(x for x in proc.stdout.splitlines() if x.startswith("RENDER_SECONDS"))
    return whole, float(line.split()[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--song", default="demo", help="a MIDI file, or 'demo' for the bundled demo song")
    ap.add_argument("--switch", type=float, help="sys.setswitchinterval for the GUI process (experiments)")
    args = ap.parse_args()
    cfg = Path(tempfile.mkdtemp()) / "asound.conf"  # playback needs no sound card
    cfg.write_text("pcm.!default { type null }\n")
    os.environ.setdefault("ALSA_CONFIG_PATH", str(cfg))

    from PySide6.QtCore import QEventLoop, QSettings, QTimer

    from slakh_gui import paths
    from slakh_gui.core.render.pipeline import StemCache
    from slakh_gui.gui.app import make_app
    from slakh_gui.gui.main_window import MainWindow

    song = paths.demo_song() if args.song == "demo" else Path(args.song).resolve()
    bank = paths.default_bank()
    work = Path(tempfile.mkdtemp(prefix="gui-render-"))
    app = make_app()
    if args.switch:
        sys.setswitchinterval(args.switch)
    win = MainWindow(QSettings(str(work / "s.ini"), QSettings.Format.IniFormat), confirm_on_close=False)
    win.resize(1366, 768)
    win.show()
    win.set_output_dir(work / "gui")
    win.renderer.ask_existing = lambda path, free: "next"  # every run into a new track folder, never a question
    loaded: list = []
    win.songLoaded.connect(lambda: loaded.append(1))
    win.open_path(song, bank)
    while not loaded:
        app.processEvents()
    settle = QEventLoop()
    QTimer.singleShot(1000, settle.quit)  # first layout and paint
    settle.exec()

    cli_whole, cli_render_s, gui = [], [], []
    for run in range(args.runs):
        whole, render_s = cli_render(song, bank, work / f"cli{run}")
        cli_whole.append(whole)
        cli_render_s.append(render_s)
        win.project.cache = StemCache()  # every stem rendered again
        done: list = []
        loop = QEventLoop()  # the real event loop (it sleeps between events; a processEvents() spin would not)
        win.renderFinished.connect(done.append)
        win.renderFinished.connect(loop.quit)
        t0 = time.perf_counter()
        win.start_render()
        loop.exec()
        gui.append(time.perf_counter() - t0)
        win.renderFinished.disconnect(done.append)
        win.renderFinished.disconnect(loop.quit)
        assert done[0] is not None, "the GUI render failed"
        print(f"run {run + 1}: CLI {whole:.2f} s (render {render_s:.2f} s), GUI render {gui[-1]:.2f} s", flush=True)
    c, r, g = statistics.median(cli_whole), statistics.median(cli_render_s), statistics.median(gui)
    print(f"{song.name}, bank {bank.name}, {args.runs} runs (medians): CLI process {c:.2f} s, CLI render {r:.2f} s, "
          f"GUI render {g:.2f} s")
    print(f"ratio GUI render / CLI render: {g / r:.2f} (target <= 1.10); GUI render / whole CLI process: {g / c:.2f}")
    win.close()


if __name__ == "__main__":
    main()
