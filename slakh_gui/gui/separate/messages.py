"""The one-line texts of the Separate panel's errors."""

from __future__ import annotations

from slakh_gui.core.errors import first_line

__all__ = ["first_line"]
