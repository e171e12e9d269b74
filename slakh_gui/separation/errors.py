"""Errors the user can cause in separation jobs; each message is one line."""

from __future__ import annotations


class SeparationError(ValueError):
    """Base class of the separation errors."""


class ModelLoadError(SeparationError):
    """A model file that is missing, not a Slakh Studio model, corrupt, or of an unsupported version."""


class DatasetError(SeparationError):
    """A dataset folder that has no usable tracks for the asked split and target."""


class TrainError(SeparationError):
    """A training run that cannot start or resume (e.g. the run folder holds another target's run)."""


class AudioInputError(SeparationError):
    """An audio file that cannot be read for separation."""
