"""Model parameters checked when the experiment file is loaded, without fitting anything.

Each value is checked against the type its class's constructor declares (``factors: int``,
``regularization: float``, ``similarity: str``, ...), then the class is constructed with the
parameters, and a family that can check its parameters without data (a ``_check_params``
method) does so. A wrong type fails at load time with the key and its line, not minutes
later when that model's turn to fit comes.
"""

from __future__ import annotations

import collections.abc as abc
import inspect
import types
import typing
from typing import Any

from recsys.models.base import Recommender

_NAMES = {int: "an integer", float: "a number", str: "a string", bool: "true or false",
          list: "an array", dict: "a table", type(None): "nothing"}


def _accepts(expected: Any, value: Any) -> bool | None:
    """Whether ``value`` fits the annotation; None when the annotation cannot be judged."""
    if expected is Any:
        return True
    origin = typing.get_origin(expected)
    if origin in (typing.Union, types.UnionType):
        verdicts = [_accepts(arg, value) for arg in typing.get_args(expected)]
        return True if any(verdicts) else (None if None in verdicts else False)
    if origin is typing.Literal:
        return value in typing.get_args(expected)
    target = origin or expected
    if target is bool:
        return isinstance(value, bool)
    if target is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if target is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if target is str:
        return isinstance(value, str)
    if target is type(None):
        return value is None
    if target in (list, tuple):
        return isinstance(value, list)
    if target in (abc.Sequence, abc.Iterable, abc.Collection):
        return isinstance(value, (list, str))  # a str is a sequence too, and taken as one item
    if target in (dict, abc.Mapping):
        return isinstance(value, dict)
    return None  # a class of ours (a model, Features): not something a TOML file holds


def _describe(expected: Any) -> str:
    args = typing.get_args(expected) if typing.get_origin(expected) in (
        typing.Union, types.UnionType) else (expected,)
    names = []
    for arg in args:
        target = typing.get_origin(arg) or arg
        if target in (abc.Sequence, abc.Iterable, abc.Collection, tuple):
            target = list
        if target is abc.Mapping:
            target = dict
        if typing.get_origin(arg) is typing.Literal:
            names.append("one of " + ", ".join(map(repr, typing.get_args(arg))))
        elif target in _NAMES and target is not type(None):
            names.append(_NAMES[target])
    return " or ".join(dict.fromkeys(names)) or "a value of another kind"


def _hints(cls: type[Recommender]) -> dict[str, Any]:
    try:
        return typing.get_type_hints(cls.__init__)
    except (NameError, TypeError):  # an annotation that cannot be resolved: no type checks
        return {}


def check_params(cls: type[Recommender], params: dict) -> tuple[str | None, str] | None:
    """The first problem with ``params`` for ``cls``: (parameter or None, message), or None.

    Examples
    --------
    >>> from recsys.models import ALS
    >>> check_params(ALS, {"factors": 64, "regularization": 1})
    >>> check_params(ALS, {"factors": "64"})
    ('factors', "must be an integer (ALS declares factors: int), got a string '64'")
    """
    hints = _hints(cls)
    for name, value in params.items():
        expected = hints.get(name)
        if expected is not None and _accepts(expected, value) is False:
            declared = inspect.formatannotation(expected).replace("collections.abc.", "")
            return name, (f"must be {_describe(expected)} ({cls.__name__} declares {name}: "
                          f"{declared}), got {_NAMES.get(type(value), type(value).__name__)} "
                          f"{value!r}")
    try:
        model = cls(**params)
        check = getattr(model, "_check_params", None)
        if callable(check):
            check()
    except (TypeError, ValueError) as exc:
        return None, f"{cls.__name__} rejects these parameters: {exc}"
    return None


__all__ = ["check_params"]
