"""``python -m slakh_gui`` runs the command line."""

from slakh_gui.cli import main

raise SystemExit(main())
