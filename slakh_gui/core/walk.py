"""The one walker of Slakh-layout folders: the ``TrackNNNNN/`` folders of a dataset (under split folders or
directly), a mirdata data_home, a flat folder of tracks (BabySlakh) or one track folder.

Folders are matched by name (``TrackNNNNN``, see :data:`~slakh_gui.core.render.layout.TRACK_NAME`); whether they are
readable is for the caller to find out. Statistics, lint, derived data, the mirdata index, the separation data and
the Dataset dialog all walk folders through here.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from slakh_gui.core.constants import SPLITS_WITH_OMITTED
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.render.layout import TRACK_NAME


def track_dirs(folder: Path) -> list[Path]:
    """The track folders (``TrackNNNNN/``) directly in ``folder``, by name."""
    return [p for p in sorted(Path(folder).iterdir()) if TRACK_NAME.match(p.name) and p.is_dir()]


class DatasetNotFoundError(SlakhError, ValueError):
    """The path holds no Slakh track folders."""


class TrackRef(NamedTuple):
    """A track folder and the split folder it is in (None outside split folders); unpacks as a pair."""

    split: str | None
    path: Path

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def label(self) -> str:
        """``train/Track00001``, or ``Track00001`` outside split folders."""
        return f"{self.split}/{self.path.name}" if self.split else self.path.name


def _is_track(path: Path) -> bool:
    return path.is_dir() and (bool(TRACK_NAME.match(path.name)) or (path / "metadata.yaml").is_file())


def _tracks_in(folder: Path, split: str | None) -> list[TrackRef]:
    return [TrackRef(split, p) for p in track_dirs(folder)]


def _scan(folder: Path) -> list[TrackRef]:
    out = _tracks_in(folder, None)
    for split in SPLITS_WITH_OMITTED:
        if (folder / split).is_dir():
            out += _tracks_in(folder / split, split)
    return out


def track_ref(path: str | Path) -> TrackRef:
    """A single track folder as a :class:`TrackRef` (its split from the parent folder's name)."""
    path = Path(path)
    return TrackRef(path.parent.name if path.parent.name in SPLITS_WITH_OMITTED else None, path)


def discover_tracks(path: str | Path) -> list[TrackRef]:
    """The Slakh tracks under ``path``, in split order (train, validation, test, omitted) then by name.

    ``path`` may be a dataset root with split folders, a mirdata ``data_home`` (its ``slakh2100_flac_redux/<split>/``
    or ``babyslakh_16k/`` one level down), a flat folder of ``TrackNNNNN/`` (BabySlakh), or one track folder.
    Folders are matched by name (``TrackNNNNN``); whether they are readable is for the caller to find out.
    """
    path = Path(path)
    if not path.exists():
        raise DatasetNotFoundError(f"{path}: no such folder")
    if not path.is_dir():
        raise DatasetNotFoundError(f"{path}: not a folder")
    if _is_track(path):
        return [track_ref(path)]
    refs = _scan(path)
    if not refs:  # a mirdata data_home: the dataset folder(s) one level down
        for child in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
            refs += _scan(child)
    if not refs:
        raise DatasetNotFoundError(f"{path}: no TrackNNNNN folders found (looked in it, in train/ validation/ "
                                   "test/ omitted/, and one level down)")
    order = {s: i for i, s in enumerate((None, *SPLITS_WITH_OMITTED))}
    return sorted(refs, key=lambda r: (order[r.split], str(r.path)))
