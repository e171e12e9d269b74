"""The one base class of the errors a user can cause, and the dataset error the core and separation share.

Every user-facing error of the package derives from :class:`SlakhError`: the command line prints it as one
``slakh-studio: error:`` line (exit 1) and the app shows it in its message bar, both without a traceback.
Anything else is a bug and goes to the crash reporting (the log file with its trace). Subclasses that were
``ValueError``, ``OSError`` or ``RuntimeError`` stay so (multiple inheritance), for callers that catch those.
:class:`slakh_gui.core.jobs.Cancelled` is not one: it is the control flow of a cancelled job.
"""

from __future__ import annotations


class SlakhError(Exception):
    """An error the user can cause (bad file, bad option, missing resource); its message is one line."""


class DatasetError(SlakhError, ValueError):
    """A dataset that cannot be planned, resumed or read as asked (bad options, another dataset in the folder,
    no usable tracks for the asked split and target, ...)."""


def is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is for the user (a :class:`SlakhError` or an ``OSError`` such as a full disk or a folder
    that cannot be written), rather than a bug."""
    return isinstance(exc, SlakhError | OSError)


def first_line(exc: BaseException) -> str:
    """The first line of the exception's message (its type's name when it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
