"""One definition of each thing (#20 item 5): the error base class, the shared constants, the folder walker and
the YAML reader — each defined once in the package and used everywhere."""

from __future__ import annotations

import ast
import importlib
import inspect
import io
import pkgutil
import re
import shutil
import tokenize
from pathlib import Path

import pytest
import yaml

import slakh_gui
from slakh_gui.core import constants
from slakh_gui.core.errors import DatasetError, SlakhError, is_user_error
from slakh_gui.core.jobs import Cancelled
from slakh_gui.core.safe_yaml import MAX_YAML_NODES, YamlError, load_yaml, read_yaml

PACKAGE = Path(slakh_gui.__file__).parent
# Exceptions of the package that are not errors for the user, each with its reason.
CONTROL_FLOW = {Cancelled: "a cancelled job unwinding; the CLI and the GUI say 'cancelled', not an error"}


def package_sources() -> dict[str, str]:
    """``{path relative to the package: source}`` of every module of the package."""
    return {p.relative_to(PACKAGE).as_posix(): p.read_text(encoding="utf-8") for p in sorted(PACKAGE.rglob("*.py"))}


def code_tokens(source: str) -> list[tokenize.TokenInfo]:
    """The tokens of ``source`` without comments and strings (docstrings included)."""
    skip = {tokenize.COMMENT, tokenize.STRING, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
    return [t for t in tokenize.generate_tokens(io.StringIO(source).readline) if t.type not in skip]


def package_exceptions() -> list[type[BaseException]]:
    """Every exception class defined in a module of the package (GUI included; ``__main__`` is not imported)."""
    found: dict[str, type[BaseException]] = {}
    for info in pkgutil.walk_packages(slakh_gui.__path__, "slakh_gui."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for _, obj in inspect.getmembers(module, inspect.isclass):
            if issubclass(obj, BaseException) and obj.__module__.startswith("slakh_gui."):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return list(found.values())


# ---------------------------------------------------------------------------------------------- errors


def test_every_user_facing_exception_derives_from_slakh_error():
    classes = package_exceptions()
    names = sorted(c.__name__ for c in classes)
    assert len(classes) >= 25, names  # the walk found the package's error classes
    strays = [f"{c.__module__}.{c.__name__}" for c in classes if not issubclass(c, SlakhError) and c not in CONTROL_FLOW]
    assert strays == []
    assert not any(issubclass(c, SlakhError) for c in CONTROL_FLOW)
    assert names.count("DatasetError") == 1  # core's and separation's are one class
    # the built-in bases callers catch stay
    from slakh_gui.cli_support import CliError
    from slakh_gui.core.bank.patches import BankError, SoundFontMissing
    from slakh_gui.core.render.synth import RenderError
    from slakh_gui.separation.separation_errors import DatasetError as SeparationDatasetError
    from slakh_gui.separation.separation_errors import ModelLoadError

    assert issubclass(BankError, ValueError) and issubclass(SoundFontMissing, FileNotFoundError)
    assert issubclass(RenderError, RuntimeError) and issubclass(ModelLoadError, ValueError)
    assert SeparationDatasetError is DatasetError and issubclass(DatasetError, ValueError)
    assert issubclass(CliError, SlakhError)


def test_user_errors_are_told_apart_from_bugs():
    from slakh_gui.core.render.track_folder import TrackFolderError

    assert is_user_error(TrackFolderError("x")) and is_user_error(PermissionError("x"))
    assert not is_user_error(KeyError("x")) and not is_user_error(ValueError("x"))


def test_cli_prints_any_slakh_error_as_one_line(tmp_path, capsys):
    """Errors the CLI never listed are caught through the base class: a file that is no SoundFont (FluidSynth's
    SoundFontError, an "internal error" with exit 2 before) and a folder without tracks."""
    from slakh_gui import cli
    from tests.cli.helpers import one_line_error, run

    bad = tmp_path / "bad.sf2"
    bad.write_bytes(b"RIFX" + bytes(range(256)) * 8)
    code, _, err = run(["patches", "list", "--soundfont", bad], capsys)
    assert code == cli.EXIT_ERROR
    assert one_line_error(err) == f"slakh-studio: error: FluidSynth cannot load SoundFont {bad}"
    code, _, err = run(["stats", tmp_path], capsys)
    assert code == cli.EXIT_ERROR and "no TrackNNNNN folders" in one_line_error(err)


# ---------------------------------------------------------------------------------------------- constants


def test_constants_are_defined_once():
    defined: dict[str, list[str]] = {}
    numbers: dict[str, list[str]] = {}
    for rel, source in package_sources().items():
        for node in ast.walk(ast.parse(source)):
            targets = getattr(node, "targets", None) or ([node.target] if hasattr(node, "target") else [])
            for t in targets:
                if getattr(t, "id", None) in ("SAMPLE_RATE", "SPLITS", "SPLITS_WITH_OMITTED", "OMITTED",
                                              "NORMALIZATION_FACTOR", "TARGET_PEAK"):
                    defined.setdefault(t.id, []).append(rel)
        tokens = code_tokens(source)
        for prev, tok in zip(tokens, tokens[1:], strict=False):
            if tok.type == tokenize.NUMBER and tok.string.replace("_", "") in ("44100", "44100.0", "44.1e3"):
                numbers.setdefault("44100", []).append(rel)
            if tok.type == tokenize.NUMBER and tok.string in ("13", "13.0") and prev.string == "-":
                numbers.setdefault("-13", []).append(rel)
        strings = [t.string.strip("'\"") for t in tokenize.generate_tokens(io.StringIO(source).readline)
                   if t.type == tokenize.STRING]
        if any(a == "validation" and b == "test" for a, b in zip(strings, strings[1:], strict=False)):
            numbers.setdefault("split names", []).append(rel)  # a tuple of the split names written out
    # separation/stft.py's SAMPLE_RATE is the models' 16 kHz, another quantity
    assert defined.pop("SAMPLE_RATE") == ["core/constants.py", "separation/stft.py"]
    assert defined == {k: ["core/constants.py"] for k in defined}
    assert set(defined) == {"SPLITS", "SPLITS_WITH_OMITTED", "OMITTED", "NORMALIZATION_FACTOR", "TARGET_PEAK"}
    assert numbers == {"44100": ["core/constants.py"], "-13": ["core/constants.py"],
                       "split names": ["core/constants.py"]}
    assert constants.SPLITS_WITH_OMITTED[: len(constants.SPLITS)] == constants.SPLITS


def test_modules_share_the_constants():
    from slakh_gui.core import audio_io
    from slakh_gui.core.dataset import builder
    from slakh_gui.core.render import automix, synth
    from slakh_gui.separation import data

    assert synth.SAMPLE_RATE is audio_io.SAMPLE_RATE is constants.SAMPLE_RATE == 44100
    assert builder.SPLITS is data.SPLITS is constants.SPLITS == ("train", "validation", "test")
    assert (automix.NORMALIZATION_FACTOR, automix.TARGET_PEAK) == (-13.0, -1.0)


# ---------------------------------------------------------------------------------------------- folder walker


def test_one_walker_for_stats_lint_and_separation(rendered, tmp_path):
    """Statistics (and lint, derived) and the separation data find the same track folders; hidden staging folders
    and folders not named TrackNNNNN are no tracks for either."""
    from slakh_gui.core.dataset.dataset_stats import discover_tracks
    from slakh_gui.separation.data import find_tracks

    src = rendered[0].path
    root = tmp_path / "ds"
    for rel in ("train/Track00001", "train/Track00002", "test/Track00003", "omitted/Track00004",
                "train/.Track00005.partial-x1", "train/notes"):
        shutil.copytree(src, root / rel)
    refs = discover_tracks(root)
    assert [r.label for r in refs] == ["train/Track00001", "train/Track00002", "test/Track00003",
                                       "omitted/Track00004"]
    assert find_tracks(root, "all") == [r.path for r in refs if r.split != "omitted"]
    assert find_tracks(root, "train") == [root / "train/Track00001", root / "train/Track00002"]
    assert discover_tracks(root / "train") == [(None, root / "train/Track00001"), (None, root / "train/Track00002")]
    # no other module lists track folders itself
    walkers = [rel for rel, source in package_sources().items()
               if rel != "core/walk.py" and re.search(r"iterdir\(\)[^\n]*(TRACK_NAME|\"Track)", source)]
    assert walkers == []


# ---------------------------------------------------------------------------------------------- YAML


def test_no_yaml_read_outside_the_safe_reader():
    pattern = re.compile(r"\byaml \. (c?load|safe_load|full_load|unsafe_load|load_all|safe_load_all|compose|compose_all|"
                         r"parse|scan|\w*Loader|\w*Parser|cyaml|_yaml|composer|constructor|parser|scanner|reader)\b")
    readers = []
    for rel, source in package_sources().items():
        code = " ".join(t.string for t in code_tokens(source))  # "yaml . safe_load (", "from yaml import x"
        if pattern.search(code) or "from yaml import" in code:
            readers.append(rel)
    assert readers == ["core/safe_yaml.py"]


def laughs(depth: int = 9, width: int = 9) -> str:
    lines = ["a0: &a0 [x]"]
    for i in range(1, depth + 1):
        lines.append(f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(width))}]")
    return "\n".join(lines) + "\n"


def test_safe_yaml_refuses_hostile_text_and_reads_large_files(tmp_path):
    with pytest.raises(YamlError, match=r"^x\.yaml:\d+: YAML expands to more than 100000 values") as info:
        load_yaml(laughs(), "x.yaml")
    assert info.value.line is not None and isinstance(info.value, SlakhError)
    with pytest.raises(YamlError, match="nested more than 50 levels deep"):
        load_yaml("[" * 60 + "]" * 60, "deep")
    with pytest.raises(YamlError, match="nested more than 50 levels deep"):
        load_yaml("- " * 60 + "x\n", "deep-block")
    with pytest.raises(YamlError, match="invalid YAML value"):
        load_yaml("k: !!float x\n", "tag")
    with pytest.raises(YamlError, match=r"^s:2: YAML syntax error"):
        load_yaml("a: [1\nb: 2\n", "s")
    assert load_yaml("", "empty") == (None, None)
    node, data = load_yaml("a: &x [1, 2]\nb: *x\n", "alias")
    assert data == {"a": [1, 2], "b": [1, 2]} and node.start_mark.line == 0
    # an alias-free file larger than MAX_YAML_NODES values reads (a Lakh-size selection report)
    big = {"rejected": [{"path": f"{i:06d}.mid", "reason": "duplicate"} for i in range(MAX_YAML_NODES // 4)]}
    path = tmp_path / "big.yaml"
    path.write_text(yaml.safe_dump(big), encoding="utf-8")
    assert read_yaml(path) == big
    with pytest.raises(YamlError, match=r"missing\.yaml: cannot read"):
        read_yaml(tmp_path / "missing.yaml")
    (tmp_path / "latin1.yaml").write_bytes(b"k: \xe9\n")
    with pytest.raises(YamlError, match="not UTF-8"):
        read_yaml(tmp_path / "latin1.yaml")


def test_every_yaml_file_of_a_dataset_is_read_safely(tmp_path):
    """Manifest, lint and selection reports, recipes and track metadata: a "billion laughs" is one error line."""
    from slakh_gui.core.dataset.builder import load_manifest
    from slakh_gui.core.dataset.lint import LintError, read_lint
    from slakh_gui.core.dataset.recipes import RecipeError, parse_recipe
    from slakh_gui.core.dataset.selection import SelectionError, read_report
    from slakh_gui.core.render.track_folder import TrackFolderError, read_metadata

    (tmp_path / "dataset.yaml").write_text(laughs(), encoding="utf-8")
    with pytest.raises(DatasetError, match="unreadable manifest: YAML expands"):
        load_manifest(tmp_path)
    (tmp_path / "lint.yaml").write_text(laughs(), encoding="utf-8")
    with pytest.raises(LintError, match="YAML expands"):
        read_lint(tmp_path / "lint.yaml")
    (tmp_path / "selection.yaml").write_text(laughs(), encoding="utf-8")
    with pytest.raises(SelectionError, match="unreadable: YAML expands"):
        read_report(tmp_path / "selection.yaml")
    with pytest.raises(RecipeError, match="YAML expands"):
        parse_recipe(laughs(), "r.yaml")
    (tmp_path / "Track00001").mkdir()
    (tmp_path / "Track00001" / "metadata.yaml").write_text(laughs(), encoding="utf-8")
    with pytest.raises(TrackFolderError, match="YAML expands"):
        read_metadata(tmp_path / "Track00001")


def test_safe_yaml_refuses_characters_yaml_does_not_allow():
    """Found by the fuzz smoke test: PyYAML's reader refuses a NUL byte as soon as the loader is made."""
    with pytest.raises(YamlError, match=r"^r\.yaml: YAML syntax error: .*#x0000"):
        load_yaml("Recipes:\n  Bass: [32]\x00\n", "r.yaml")
