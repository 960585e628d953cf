"""Argument checks shared by every layer; each raises ConfigError naming the argument."""

from __future__ import annotations

from collections.abc import Collection
from numbers import Integral, Real
from typing import Any

from recsys.errors import ConfigError


def check_choice(name: str, value: Any, choices: Collection) -> Any:
    if value not in choices:
        raise ConfigError(f"{name} must be one of {sorted(choices)}, got {value!r}")
    return value


def check_int(name: str, value: Any, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, Integral) or value < minimum:
        raise ConfigError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_real(name: str, value: Any, minimum: float = 0.0, strict: bool = False) -> float:
    ok = isinstance(value, Real) and not isinstance(value, bool) and value == value
    if ok:
        ok = value > minimum if strict else value >= minimum
    if not ok:
        sign = ">" if strict else ">="
        raise ConfigError(f"{name} must be a number {sign} {minimum}, got {value!r}")
    return float(value)
