"""The one-line texts of the Separate panel's errors."""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """An exception's first line for the message bar (its type when it has no text)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
