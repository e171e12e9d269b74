"""Take the README's screenshots from a real window.

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshot.py [OUT.png]
        docs/screenshot.png: the demo song rendered, a stem selected, a loop region set.
    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python scripts/screenshot.py --fill-screen docs/screen-1366x768.png
        the same, with the window filling the whole screen (what a laptop user sees; the screen is grabbed, so
        anything past its edge would be cut off in the picture too). Likewise with a 1920x1080 screen.
    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python scripts/screenshot.py --separate TRACK_DIR [OUT.png]
        docs/separate.png: a rendered or Slakh track folder opened, the shipped bass model run on 0:24–0:44 of it
        with the oracle masks, its estimate beside the mix and the true bass.
    xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python scripts/screenshot.py --stereo --fill-screen \
            docs/stereo-mixer.png
        a stereo render of the demo song: pan knobs on the mixer strips (two turned), the mix's left channel on the
        spectrogram.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out", nargs="?", type=Path)
    ap.add_argument("--separate", metavar="TRACK_DIR", type=Path, help="take docs/separate.png from this track")
    ap.add_argument("--model", default="bass", help="shipped model name or file for --separate (default bass)")
    ap.add_argument("--stem", default="S01", help="stem shown under the mix for --separate (default S01)")
    ap.add_argument("--region", default="24:44", help="seconds START:END separated for --separate (default 24:44)")
    ap.add_argument("--patches", action="store_true", help="take docs/patches.png: the Patches view, basses, A/B")
    ap.add_argument("--stereo", action="store_true", help="render in stereo, turn two pan knobs, show the left channel")
    ap.add_argument("--fill-screen", action="store_true",
                    help="size the window to the screen (first start on that screen) and grab the screen itself")
    args = ap.parse_args()

    cfg = Path(tempfile.mkdtemp()) / "asound.conf"
    cfg.write_text("pcm.!default { type null }\n")
    os.environ.setdefault("ALSA_CONFIG_PATH", str(cfg))
    from PySide6.QtCore import QSettings, Qt, QTimer

    from slakh_gui import paths
    from slakh_gui.gui.app import make_app
    from slakh_gui.gui.main_window import MainWindow

    app = make_app()
    work = Path(tempfile.mkdtemp())
    win = MainWindow(QSettings(str(work / "s.ini"), QSettings.Format.IniFormat), confirm_on_close=False)
    win.set_output_dir(work / "out")
    default = "separate.png" if args.separate else "patches.png" if args.patches else "screenshot.png"
    out = args.out or ROOT / "docs" / default

    def shoot() -> None:
        if args.fill_screen:
            screen = win.screen()
            screen.grabWindow(0).save(str(out))
        else:
            win.grab().save(str(out))
        print(f"wrote {out} ({app.platformName()})")
        app.quit()

    if args.patches:
        win.resize(1560, 1000)
        view = win.patches_view
        takes: list = []

        def audition_twice() -> None:
            view.browser.family_combo.setCurrentText("Bass")
            view.bank_tree.select_patch("fluidr3_gm.picked_bass")
            view.auditionReady.connect(lambda aud: (takes.append(aud), next_take()))
            view.audition_selected()

        def next_take() -> None:
            if len(takes) == 1:
                view.bank_tree.select_patch("timgm6mb.synth_bass_2")
                view.audition_selected()
            else:
                QTimer.singleShot(1500, shoot)

        def bank_ready() -> None:
            QTimer.singleShot(1500, audition_twice)

        view.bankLoaded.connect(bank_ready)
        win.songLoaded.connect(lambda: (win.patches_dock.raise_(), win.resizeDocks(
            [win.patches_dock], [560], Qt.Orientation.Vertical)))
        win.show()
        win.open_path(paths.demo_song())
    elif args.separate:
        win.resize(1560, 1150)
        panel = win.separate_view
        start, end = (float(x) for x in args.region.split(":"))

        def loaded() -> None:
            win.select_stem(args.stem)
            win.separate_dock.show()
            win.separate_dock.raise_()
            win.resizeDocks([win.separate_dock], [430], Qt.Orientation.Vertical)
            panel.modelLoaded.connect(lambda _m: QTimer.singleShot(300, separate))
            panel.load_model(args.model)

        def separate() -> None:
            panel.range_check.setChecked(True)
            panel.oracle_check.setChecked(True)
            win.spectrograms.set_region(start, end)
            panel.separationFinished.connect(lambda run: QTimer.singleShot(3000, shoot) if run else app.quit())
            panel.start()

        win.songLoaded.connect(lambda: QTimer.singleShot(500, loaded))
        win.show()
        win.open_path(args.separate)
    else:
        if args.fill_screen:
            win.setGeometry(win.screen().availableGeometry())
        else:
            win.resize(1560, 960)

        def rendered(result) -> None:
            win.select_stem("S01")
            win.spectrograms.set_region(24.0, 32.0)
            win.mixer_view.strips["S05"].set_gain_db(-4.5)
            win.mixer_view.strips["S02"].solo.setChecked(False)
            if args.stereo:
                win.mixer_view.strips["S02"].pan_knob.set_pan(-0.6)
                win.mixer_view.strips["S05"].pan_knob.set_pan(0.4)
                win.spectrograms.set_channel("left")
            QTimer.singleShot(5000 if args.stereo else 2500, shoot)

        win.renderFinished.connect(rendered)
        if args.stereo:
            win.songLoaded.connect(lambda: win.render_panel.stereo_check.setChecked(True))
        win.songLoaded.connect(lambda: QTimer.singleShot(300, win.start_render))
        win.show()
        win.open_path(paths.demo_song())
    QTimer.singleShot(120000, app.quit)
    return app.exec()


if __name__ == "__main__":
    raise SystemExit(main())
