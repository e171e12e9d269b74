"""Peak memory of a render, on the command line and in the app, for a long and a short song.

Generates (``core.songgen``) a 30-minute and a 3-minute song of 16 tracks, then measures the peak resident memory
(``getrusage(RUSAGE_CHILDREN).ru_maxrss`` in a fresh wrapper process around each run) of

- ``slakh-studio render SONG -o OUT`` (default bank, seed 0), and
- the app: a process that opens the song in ``MainWindow`` (offscreen), renders it, shows the spectrograms of the
  mix and of a stem, and plays 3 seconds (PortAudio on ALSA's null device).

Targets: CLI <= 1 GiB, app <= 1.5 GiB, for both songs. Prints a table.

    QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/memory.py [--minutes 30 3] [--tracks 16]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

CLI_TARGET_MIB = 1024
GUI_TARGET_MIB = 1536
# Piano, bass, guitar, drums and twelve more from other families (two of each of some).
INSTRUMENTS = [0, 33, 27, 128, 48, 19, 56, 65, 73, 81, 89, 11, 4, 24, 52, 61]
_WRAPPER = ("import resource, subprocess, sys\n"
            "code = subprocess.run(sys.argv[1:]).returncode\n"
            "print('MAXRSS_KIB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n")


def make_song(path: Path, minutes: float, tracks: int) -> Path:
    from slakh_gui.core.midi.songgen import generate_song, write_song

    programs = (INSTRUMENTS * (tracks // len(INSTRUMENTS) + 1))[:tracks]
    write_song(generate_song(2026, duration_s=minutes * 60.0, tempo=120.0, instruments=programs), path)
    return path


def peak_mib(cmd: list[str]) -> tuple[float, float]:
    """(peak RSS of ``cmd`` in MiB, seconds), measured by a wrapper process that waits for it."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", _WRAPPER, *cmd], capture_output=True, text=True)
    wall = time.perf_counter() - t0
    line = next((ln for ln in proc.stdout.splitlines() if ln.startswith("MAXRSS_KIB")), None)
    if line is None or line.split()[2] != "0":
        raise SystemExit(f"failed: {' '.join(cmd)}\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    return int(line.split()[1]) / 1024, wall


def gui_child(song: Path, out: Path) -> None:
    """The app's run: open, render, spectrograms of the mix and a stem, 3 s of playback."""
    cfg = Path(tempfile.mkdtemp()) / "asound.conf"  # playback needs no sound card
    cfg.write_text("pcm.!default { type null }\n")
    os.environ["ALSA_CONFIG_PATH"] = str(cfg)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QSettings

    from slakh_gui import paths
    from slakh_gui.gui.app import make_app
    from slakh_gui.gui.main_window import MainWindow

    app = make_app()
    win = MainWindow(QSettings(str(out / "s.ini"), QSettings.Format.IniFormat), confirm_on_close=False)
    win.resize(1366, 768)
    win.show()
    win.set_output_dir(out)
    win.renderer.ask_existing = lambda path, free: "next"

    def wait(cond, what: str, limit: float = 3600.0) -> None:
        t0 = time.monotonic()
        while not cond():
            app.processEvents()
            time.sleep(0.01)
            if time.monotonic() - t0 > limit:
                raise SystemExit(f"timed out waiting for {what}")

    loaded: list = []
    win.songLoaded.connect(lambda: loaded.append(1))
    win.open_path(song, paths.default_bank())
    wait(lambda: loaded, "the song")
    done: list = []
    win.renderFinished.connect(done.append)
    win.start_render()
    wait(lambda: done, "the render")
    if done[0] is None:
        raise SystemExit("the render failed")
    stem = sorted(win.project.audio.stems)[0]
    win.select_stem(stem)
    wait(lambda: not win.spectrograms.is_busy() and win.spectrograms.spectrogram("stem") is not None,
         "the spectrograms")
    assert win.spectrograms.spectrogram("mix") is not None
    if win.transport.unavailable_reason:
        raise SystemExit(f"no playback: {win.transport.unavailable_reason}")
    win.transport.toggle_play()
    player = win.transport.player
    wait(lambda: player.frames_delivered >= 3 * player.sample_rate, "3 s of playback", 60.0)
    win.transport.stop()
    print(f"gui: rendered {len(win.project.audio.stems)} stems, spectrograms of mix and {stem}, "
          f"{player.frames_delivered / player.sample_rate:.1f} s played", flush=True)
    win.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--minutes", type=float, nargs="+", default=[30.0, 3.0])
    ap.add_argument("--tracks", type=int, default=16)
    ap.add_argument("--skip-gui", action="store_true")
    ap.add_argument("--gui-child", nargs=2, metavar=("SONG", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.gui_child:
        gui_child(Path(args.gui_child[0]), Path(args.gui_child[1]))
        return
    exe = str(Path(sys.executable).parent / "slakh-studio")
    rows = []
    with tempfile.TemporaryDirectory(prefix="memory-bench-") as tmp:
        work = Path(tmp)
        for minutes in args.minutes:
            song = make_song(work / f"song_{minutes:g}min.mid", minutes, args.tracks)
            cli, cli_s = peak_mib([exe, "render", str(song), "-o", str(work / f"cli{minutes:g}"), "--seed", "0"])
            print(f"{minutes:g} min: CLI {cli:.0f} MiB in {cli_s:.0f} s", flush=True)
            gui = gui_s = float("nan")
            if not args.skip_gui:
                gui, gui_s = peak_mib([sys.executable, __file__, "--gui-child", str(song), str(work / f"gui{minutes:g}")])
                print(f"{minutes:g} min: app {gui:.0f} MiB in {gui_s:.0f} s", flush=True)
            rows.append((minutes, cli, cli_s, gui, gui_s))
    print(f"\nPeak resident memory, {args.tracks}-track generated songs, default bank, seed 0 "
          f"(targets: CLI <= {CLI_TARGET_MIB} MiB, app <= {GUI_TARGET_MIB} MiB)")
    print(f"{'song':>8}  {'CLI render (MiB)':>17}  {'time (s)':>8}  {'app (MiB)':>10}  {'time (s)':>8}  verdict")
    for minutes, cli, cli_s, gui, gui_s in rows:
        ok = cli <= CLI_TARGET_MIB and (gui != gui or gui <= GUI_TARGET_MIB)
        print(f"{minutes:>6g} m  {cli:>17.0f}  {cli_s:>8.0f}  {gui:>10.0f}  {gui_s:>8.0f}  {'ok' if ok else 'OVER'}")


if __name__ == "__main__":
    main()
