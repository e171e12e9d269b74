"""Errors the user can cause in separation jobs; each message is one line. A dataset folder with no usable
tracks for the asked split and target is the package's one :class:`~slakh_gui.core.errors.DatasetError`."""

from __future__ import annotations

from slakh_gui.core.errors import DatasetError, SlakhError

__all__ = ["AudioInputError", "DatasetError", "ModelLoadError", "SeparationError", "TrainError"]


class SeparationError(SlakhError, ValueError):
    """Base class of the separation errors."""


class ModelLoadError(SeparationError):
    """A model file that is missing, not a Slakh Studio model, corrupt, or of an unsupported version."""


class TrainError(SeparationError):
    """A training run that cannot start or resume (e.g. the run folder holds another target's run)."""


class AudioInputError(SeparationError):
    """An audio file that cannot be read for separation."""
