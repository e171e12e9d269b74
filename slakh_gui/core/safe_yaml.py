"""The one YAML reader of the package: PyYAML's safe loader, hardened against hostile files.

Every YAML file the package reads (banks, assignments, track metadata, recipes, dataset manifests, selection and
lint reports) goes through :func:`load_yaml` or :func:`read_yaml`. On top of ``yaml.safe_load`` they refuse, with one
line naming the file and line: syntax errors, nesting deeper than :data:`MAX_YAML_DEPTH`, aliases that expand to
more nodes than :func:`node_limit` allows (a "billion laughs"), and tagged values PyYAML cannot build (``!!float x``).
The text is parsed once, by libyaml's parser (C, iterative) where PyYAML has it, into PyYAML's composer (Python: too
deep nesting is a RecursionError, never a crash) and safe constructor: the node graph is checked, then built into
data. That reads a Lakh-size selection report as fast as ``CSafeLoader`` did and a track's metadata six times faster
than ``yaml.safe_load``.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.resolver import Resolver

from slakh_gui.core.errors import SlakhError

try:
    from yaml.cyaml import CParser
except ImportError:  # PyYAML built without libyaml
    CParser = None

MAX_YAML_NODES = 100_000  # a bank has a few thousand; aliases that expand past this are a "billion laughs"
MAX_YAML_DEPTH = 50  # a bank nests 6 deep


class YamlError(SlakhError, ValueError):
    """A YAML text that is unreadable or unsafe; ``line`` (1-based or None) and ``detail`` (the message without the
    file and line) come apart too."""

    def __init__(self, message: str, *, line: int | None = None, detail: str = "") -> None:
        super().__init__(message)
        self.line, self.detail = line, detail or message


if CParser is not None:

    class _Loader(Composer, CParser, SafeConstructor, Resolver):
        """libyaml's scanner and parser, PyYAML's composer (not libyaml's recursive one), the safe constructor."""

        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            SafeConstructor.__init__(self)
            Resolver.__init__(self)
            Composer.__init__(self)

else:
    _Loader = yaml.SafeLoader


def node_limit(text: str) -> int:
    """The most nodes ``text`` may expand to: :data:`MAX_YAML_NODES`, or the text's length for a longer text (a
    YAML node takes at least one character, so only aliases can pass it: a Lakh-size selection report of 170,000
    rejected files reads, a few lines of nested aliases do not)."""
    return max(MAX_YAML_NODES, len(text))


def load_yaml(text: str, source: str, *, error: type[Exception] = YamlError):
    """``(node, data)`` of YAML text; ``error(message, line=..., detail=...)`` (default :class:`YamlError`) on a
    syntax error, nesting deeper than :data:`MAX_YAML_DEPTH`, aliases expanding past :func:`node_limit` nodes or a
    value PyYAML cannot build. ``node`` is the composed node graph (None for an empty text), for line numbers."""
    if _flow_depth(text) > MAX_YAML_DEPTH:  # before PyYAML, whose scanner is slow on deep [[[[ and recurses
        detail = f"YAML nested more than {MAX_YAML_DEPTH} levels deep"
        raise error(f"{source}: {detail}", detail=detail)
    loader = None
    try:
        loader = _Loader(text)  # its reader already refuses characters YAML does not allow
        node = loader.get_single_node()
        if node is not None:
            _check_size(node, source, node_limit(text), error)
        data = loader.construct_document(node) if node is not None else None
    except error:
        raise
    except (ValueError, TypeError, OverflowError) as exc:  # a tagged value PyYAML cannot build: !!float x
        detail = f"invalid YAML value: {_short(str(exc).splitlines()[0] if str(exc) else type(exc).__name__)}"
        raise error(f"{source}: {detail}", detail=detail) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f":{mark.line + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{source}{line}: YAML syntax error: {problem}", line=mark.line + 1 if mark else None,
                    detail=f"YAML syntax error: {problem}") from None
    except RecursionError:
        detail = f"YAML nested more than {MAX_YAML_DEPTH} levels deep"
        raise error(f"{source}: {detail}", detail=detail) from None
    finally:
        if loader is not None:
            loader.dispose()
    return node, data


def read_yaml(path: str | Path):
    """The data of the YAML file ``path`` (read as UTF-8, checked as :func:`load_yaml` does); :class:`YamlError`
    (one line; ``detail`` without the file name) when it cannot be read or is not safe YAML."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise YamlError(f"{path}: unreadable YAML: not UTF-8 text", detail="not UTF-8 text") from None
    except OSError as exc:
        detail = f"cannot read: {exc.strerror or exc}"
        raise YamlError(f"{path}: {detail}", detail=detail) from None
    return load_yaml(text, str(path))[1]


def _short(text: str, limit: int = 200) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _flow_depth(text: str) -> int:
    """How deep ``[`` and ``{`` nest in the text (brackets inside strings count too: an upper bound)."""
    depth = deepest = 0
    for ch in re.sub(r"[^\[\]{}]+", "", text):
        depth = depth + 1 if ch in "[{" else max(0, depth - 1)
        deepest = max(deepest, depth)
    return deepest


def _check_size(node, source: str, limit: int, error: type[Exception]) -> None:
    """Walk the node graph as a reader would (an alias is expanded each time it is used), without recursion."""
    stack, count = [(node, 1)], 0
    while stack:
        n, depth = stack.pop()
        count += 1
        line = n.start_mark.line + 1
        if count > limit:
            detail = f"YAML expands to more than {limit} values (anchors and aliases nested too far)"
            raise error(f"{source}:{line}: {detail}", line=line, detail=detail)
        if depth > MAX_YAML_DEPTH:
            detail = f"YAML nested more than {MAX_YAML_DEPTH} levels deep"
            raise error(f"{source}:{line}: {detail}", line=line, detail=detail)
        if isinstance(n, yaml.MappingNode):
            stack.extend((x, depth + 1) for kv in n.value for x in kv)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend((x, depth + 1) for x in n.value)
