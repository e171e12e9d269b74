"""Submix recipes: groups of stems by MIDI program, in slakh-utils' YAML format.

A recipe file looks like slakh-utils' ``submixes/example_submixes/band.yaml``::

    Mixing key: "program_num"
    Recipes:
      Piano: [0, 1, 2, 3, 4, 5, 6, 7]
      Drums: [128]

Programs are 0-based (``metadata.yaml``'s ``program_num``); 128 stands for any drum track (``is_drum: true``), as in
slakh-utils and mirdata's ``MIXING_GROUPS``. Stems in no group make up the ``residual``. Shipped recipes
(``band``, ``piano``, ``guitar``, ``bass``, ``drums``) live in ``resources/submixes/`` and are named without a path.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from slakh_gui import paths
from slakh_gui.core.audio_io import read_utf8
from slakh_gui.core.errors import SlakhError
from slakh_gui.core.safe_yaml import YamlError, load_yaml

RECIPE_DIR = paths.resources_dir() / "submixes"  # the checkout's resources/, or the installed package's
DRUMS = 128
RESIDUAL = "residual"


class RecipeError(SlakhError, ValueError):
    """A recipe file that cannot be used, or an unknown recipe or group name."""


@dataclass(frozen=True)
class Recipe:
    """``groups``: group name -> programs it takes (128 = drums), in file order."""

    name: str
    groups: dict[str, frozenset[int]]

    def group(self, name: str) -> str:
        """The group called ``name`` (case-insensitive), e.g. ``"bass"`` -> ``"Bass"``."""
        for g in self.groups:
            if g.lower() == name.strip().lower():
                return g
        raise RecipeError(f"recipe {self.name!r} has no group {name!r} (it has {', '.join(self.groups)})")

    def group_of(self, stem: dict) -> str | None:
        """The group of one ``metadata.yaml`` stem entry, or None (residual)."""
        try:  # metadata of a foreign folder may say anything
            program = DRUMS if stem.get("is_drum") else int(stem.get("program_num", -1))
        except (TypeError, ValueError, OverflowError, AttributeError):
            return None
        return next((g for g, programs in self.groups.items() if program in programs), None)

    def stem_groups(self, metadata: dict) -> dict[str, list[str]]:
        """Group name (and ``residual``) -> the stem keys of ``metadata`` in it, sorted."""
        out: dict[str, list[str]] = {g: [] for g in self.groups}
        out[RESIDUAL] = []
        for key in sorted(metadata.get("stems") or {}):
            out[self.group_of(metadata["stems"][key]) or RESIDUAL].append(str(key))
        return out

    def submix(self, stems: dict[str, np.ndarray], metadata: dict, length: int | None = None) -> dict[str, np.ndarray]:
        """Sum ``stems`` (key -> mono float audio; missing keys count as silence) into each group and the residual."""
        if length is None:
            length = max((len(a) for a in stems.values()), default=0)
        out = {}
        for group, keys in self.stem_groups(metadata).items():
            acc = np.zeros(length, dtype=np.float32)
            for k in keys:
                if k in stems:
                    a = stems[k][:length]
                    acc[: len(a)] += a
            out[group] = acc
        return out


def shipped_recipes() -> list[str]:
    """Names of the recipes in ``resources/submixes/``."""
    return sorted(p.stem for p in RECIPE_DIR.glob("*.yaml"))


def parse_recipe(text: str, name: str = "recipe") -> Recipe:
    """A :class:`Recipe` from slakh-utils YAML text; :class:`RecipeError` with the reason otherwise."""
    from slakh_gui.core.bank.patches import show

    try:  # also refuses too deep nesting, "billion laughs" aliases and tagged values PyYAML cannot build
        _, data = load_yaml(text, name)
    except YamlError as exc:
        raise RecipeError(f"{name}: not YAML: {exc.detail}") from None
    if not isinstance(data, dict) or not isinstance(data.get("Recipes"), dict) or not data["Recipes"]:
        raise RecipeError(f"{name}: needs a 'Recipes' mapping of group name -> list of programs")
    key = data.get("Mixing key", "program_num")
    if key not in ("program_num", "program_number"):
        raise RecipeError(f"{name}: only 'Mixing key: program_num' is supported, not {show(key)}")
    groups: dict[str, frozenset[int]] = {}
    seen: dict[int, str] = {}
    for group, programs in data["Recipes"].items():
        if isinstance(programs, int):
            programs = [programs]
        if not isinstance(programs, list) or not all(isinstance(p, int) and 0 <= p <= DRUMS for p in programs):
            raise RecipeError(f"{name}: group {show(group)} must list programs 0-127 (or 128 for drums)")
        if str(group).lower() == RESIDUAL:
            raise RecipeError(f"{name}: {RESIDUAL!r} is reserved for the stems in no group")
        for p in programs:
            if p in seen:
                raise RecipeError(f"{name}: program {p} is in both {show(seen[p])} and {show(group)}")
            seen[p] = str(group)
        groups[str(group)] = frozenset(programs)
    return Recipe(name, groups)


def load_recipe(name_or_path: str | Path) -> Recipe:
    """A shipped recipe by name (``band``, ``bass``, ...) or a recipe file by path."""
    path = Path(name_or_path)
    if not path.suffix and not path.exists():
        path = RECIPE_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise RecipeError(f"no recipe {str(name_or_path)!r}; shipped: {', '.join(shipped_recipes())}, "
                              "or give a path to a slakh-utils recipe .yaml")
    if not path.is_file():
        raise RecipeError(f"{path}: no such recipe file")
    return parse_recipe(read_utf8(path, RecipeError, "cannot read recipe", "not a UTF-8 text file"), path.stem)
