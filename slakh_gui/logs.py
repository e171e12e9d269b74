"""The log file (what a user attaches to a bug report) and ``--verbose``.

Everything at INFO and above goes to ``slakh-studio.log`` in the user's log folder (rotated at 2 MB, 3 kept;
``$SLAKH_STUDIO_LOG_DIR`` overrides the folder). The terminal shows warnings, or everything with ``--verbose``.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from pathlib import Path

import platformdirs

LOG_NAME = "slakh-studio.log"
FORMAT = "%(asctime)s %(process)d %(levelname)s %(name)s: %(message)s"
_configured: list[logging.Handler] = []


def log_dir() -> Path:
    env = os.environ.get("SLAKH_STUDIO_LOG_DIR")
    return Path(env) if env else Path(platformdirs.user_log_dir("slakh-studio", appauthor=False))


def log_path() -> Path:
    return log_dir() / LOG_NAME


def setup(verbose: bool = False, console: bool = True) -> Path | None:
    """Configure the ``slakh_studio`` logger once per process; returns the log file (None if it cannot be written:
    logging to a file must never stop the app)."""
    logger = logging.getLogger("slakh_studio")
    for h in _configured:
        logger.removeHandler(h)
    _configured.clear()
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    path: Path | None = log_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fh = logging.handlers.RotatingFileHandler(path, maxBytes=2_000_000, backupCount=3, encoding="utf-8")
        fh.setFormatter(logging.Formatter(FORMAT))
        fh.setLevel(logging.DEBUG if verbose else logging.INFO)
        _configured.append(fh)
    except OSError:
        path = None
    if console:
        ch = logging.StreamHandler()
        ch.setFormatter(logging.Formatter("slakh-studio: %(levelname)s: %(message)s"))
        ch.setLevel(logging.DEBUG if verbose else logging.WARNING)
        ch.addFilter(lambda record: verbose or not getattr(record, "file_only", False))
        _configured.append(ch)
    for h in _configured:
        logger.addHandler(h)
    return path


FILE_ONLY = {"file_only": True}  # extra= for records the caller already told the user about


def get(name: str) -> logging.Logger:
    """A child of the ``slakh_studio`` logger (``get("dataset")`` -> ``slakh_studio.dataset``)."""
    return logging.getLogger(f"slakh_studio.{name}")
