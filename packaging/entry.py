"""The bundle's entry point: the ``slakh-studio`` command line (``slakh-studio gui``, ``--smoke``, ...).

With no arguments, the frozen app opens the window (a double-click on the .desktop file)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()  # dataset workers are spawned processes of this same binary
    from slakh_gui.cli import main

    raise SystemExit(main(sys.argv[1:] or ["gui"]))
