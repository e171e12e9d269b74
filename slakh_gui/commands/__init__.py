"""Sub-commands of ``slakh-studio`` that live outside :mod:`slakh_gui.cli`.

Each module has ``register(sub)`` (adds its parsers to the ``argparse`` sub-parsers, each with
``set_defaults(handler=...)``). Handlers return the exit code; they raise :class:`slakh_gui.cli_support.CliError`
for usage errors. Every :class:`slakh_gui.core.errors.SlakhError` they let through is printed by the CLI as one
``slakh-studio: error:`` line (exit 1).
"""

from __future__ import annotations

import importlib

MODULES = ("dataset", "dataset_tools", "musdb", "separation")


def modules() -> list:
    """The command modules present (a module not written yet is skipped)."""
    out = []
    for name in MODULES:
        try:
            out.append(importlib.import_module(f"{__name__}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise
    return out
