"""``--set KEY=VALUE`` overrides of an experiment file, for sweeps in CI.

``KEY`` is a key path as the errors print it (``models[1].params.factors``, list positions
0-based); ``VALUE`` is a TOML value (``64``, ``0.5``, ``true``, ``"bm25"``, ``[5, 10]``), or
a bare word taken as a string (``similarity=bm25``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from recsys.evaluation.experiment.errors import ExperimentError, Key, _format_key

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib  # type: ignore[no-redef]

_PART = re.compile(r"([A-Za-z0-9_\-]+)|\[(\d+)\]")


def parse_key(text: str) -> Key:
    """``"models[1].params.factors"`` -> ``("models", 1, "params", "factors")``.

    Examples
    --------
    >>> parse_key("models[1].params.factors")
    ('models', 1, 'params', 'factors')
    """
    parts: list[str | int] = []
    position = 0
    for i, piece in enumerate(text.split(".")):
        end = 0
        for match in _PART.finditer(piece):
            if match.start() != end or (match.group(2) is not None and end == 0):
                break
            parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
            end = match.end()
        if not piece or end != len(piece):
            raise ExperimentError(f"cannot read the key {text!r} (at {piece!r}); write it as "
                                  "a key path such as models[1].params.factors",
                                  source=f"--set {text}")
        position += len(piece) + (i > 0)
    return tuple(parts)


def parse_value(text: str) -> Any:
    """A TOML value, or the text itself when it is not one (a bare word).

    Examples
    --------
    >>> parse_value("64"), parse_value("[5, 10]"), parse_value("bm25")
    (64, [5, 10], 'bm25')
    """
    try:
        return tomllib.loads(f"value = {text}")["value"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict, overrides: Sequence[str]) -> dict[Key, str]:
    """Apply ``KEY=VALUE`` assignments to the parsed file in place.

    Returns
    -------
    dict
        ``{key path: assignment text}``, so that an error on an overridden key names the
        ``--set`` that put it there instead of a line of the file.

    Examples
    --------
    >>> raw = {"models": [{"class": "ALS"}]}
    >>> apply_overrides(raw, ["models[0].params.factors=64"])
    {('models', 0, 'params', 'factors'): 'models[0].params.factors=64'}
    >>> raw
    {'models': [{'class': 'ALS', 'params': {'factors': 64}}]}
    """
    done: dict[Key, str] = {}
    for assignment in overrides:
        name, sep, value = assignment.partition("=")
        if not sep or not name.strip():
            raise ExperimentError(f"expected KEY=VALUE, got {assignment!r}",
                                  source=f"--set {assignment}")
        key = parse_key(name.strip())
        node: Any = raw
        for depth, part in enumerate(key[:-1]):
            node = _step(node, part, key[:depth + 1], key[depth + 1], assignment)
        last = key[-1]
        if isinstance(last, int):
            _check_index(node, last, key, assignment)
        elif not isinstance(node, dict):
            raise ExperimentError(f"{_format_key(key[:-1])} is not a table",
                                  source=f"--set {assignment}")
        node[last] = parse_value(value.strip())
        done[key] = assignment
    return done


def _step(node: Any, part: str | int, path: Key, following: str | int, assignment: str) -> Any:
    if isinstance(part, int):
        _check_index(node, part, path, assignment)
        return node[part]
    if not isinstance(node, dict):
        raise ExperimentError(f"{_format_key(path[:-1])} is not a table",
                              source=f"--set {assignment}")
    if part not in node:
        if isinstance(following, int):
            raise ExperimentError(f"{_format_key(path)} is not in the file: an array position "
                                  "can only select an existing entry",
                                  source=f"--set {assignment}")
        node[part] = {}
    return node[part]


def _check_index(node: Any, index: int, path: Key, assignment: str) -> None:
    if not isinstance(node, list):
        raise ExperimentError(f"{_format_key(path[:-1])} is not an array",
                              source=f"--set {assignment}")
    if index >= len(node):
        raise ExperimentError(f"{_format_key(path)} does not exist: "
                              f"{_format_key(path[:-1])} has {len(node)} entries (0-based)",
                              source=f"--set {assignment}")
