"""Errors that point into the experiment file: key paths, their lines, close-match hints."""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from typing import Any

from recsys.errors import ConfigError

Key = tuple[str | int, ...]


class ExperimentError(ConfigError):
    """A malformed or invalid experiment file; names the file, the line and the key path.

    Attributes
    ----------
    key : str or None
        Key path such as ``models[2].params.factors`` (list positions are 0-based).
    line : int or None
        1-based line of the file where the key (or the syntax error) is.
    """

    def __init__(self, message: str, key: str | None = None, line: int | None = None,
                 source: str | None = None) -> None:
        self.key, self.line, self.source = key, line, source
        where = ", ".join(p for p in (source, f"line {line}" if line else None) if p)
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}{key + ': ' if key else ''}{message}")


def _format_key(key: Key) -> str:
    out = ""
    for part in key:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_ASSIGN = re.compile(r"^\s*([A-Za-z0-9_\-.\"' ]+?)\s*=")


def _split_dotted(text: str) -> tuple[str, ...]:
    return tuple(part.strip().strip("\"'") for part in text.split("."))


def locate(text: str, key: Key) -> int | None:
    """Best-effort 1-based line of ``key`` in TOML ``text``: the line that assigns it (also
    inside an inline table or array), else the line of its closest enclosing table."""
    counters: dict[tuple[str, ...], int] = {}
    header: Key = ()
    best_line, best_depth = None, 0

    def resolve(parts: tuple[str, ...]) -> Key:
        out: list[str | int] = []
        for i, part in enumerate(parts):
            out.append(part)
            if parts[: i + 1] in counters:
                out.append(counters[parts[: i + 1]])
        return tuple(out)

    for number, line in enumerate(text.splitlines(), start=1):
        match = _HEADER.match(line)
        after_key = ""  # the rest of an assignment line, where an inline table may follow
        if match:
            parts = _split_dotted(match.group(2))
            if match.group(1) == "[[":
                counters[parts] = counters.get(parts, -1) + 1
            header = resolve(parts)
            path = header
        else:
            assign = _ASSIGN.match(line)
            if not assign:
                continue
            path = header + _split_dotted(assign.group(1))
            after_key = line[assign.end():]
        depth = len(path)
        if path == key[:depth] and depth > best_depth:
            best_line, best_depth = number, depth
            if depth == len(key):
                return number
            # The rest of the key may sit inline on this line: params = {factors = 64}.
            last = key[-1]
            if not match and isinstance(last, str) and re.search(
                    rf"[{{,\s]{re.escape(last)}\s*=", after_key):
                return number
    return best_line


class _Reader:
    """Validates the parsed TOML with errors that point back into the text."""

    def __init__(self, text: str, source: str | None, overridden: dict[Key, str] | None = None,
                 ) -> None:
        self.text, self.source = text, source
        self.overridden = overridden or {}

    def error(self, key: Key, message: str) -> ExperimentError:
        # A value set by ``--set`` is named by that option, not by a line of the file.
        for path, assignment in self.overridden.items():
            if key[:len(path)] == path:
                return ExperimentError(message, key=_format_key(key),
                                       source=f"--set {assignment}")
        return ExperimentError(message, key=_format_key(key), line=locate(self.text, key),
                               source=self.source)

    def table(self, value: Any, key: Key, allowed: Sequence[str]) -> dict:
        if not isinstance(value, dict):
            raise self.error(key, f"must be a table, got {_kind(value)}")
        for name in value:
            if name not in allowed:
                raise self.error(key + (name,), f"unknown key{_suggest(name, allowed)} "
                                                f"(expected one of {', '.join(allowed)})")
        return value

    def typed(self, table: dict, key: Key, name: str, kinds: tuple[type, ...], default: Any,
              what: str) -> Any:
        if name not in table:
            return default
        value = table[name]
        # bool is an int in Python but never a count in a config.
        if not isinstance(value, kinds) or (isinstance(value, bool) and bool not in kinds):
            raise self.error(key + (name,), f"must be {what}, got {_kind(value)} {value!r}")
        return value

    def positive_int(self, table: dict, key: Key, name: str, default: Any, minimum: int = 1):
        value = self.typed(table, key, name, (int,), default, "an integer")
        if value is not None and value < minimum:
            raise self.error(key + (name,), f"must be >= {minimum}, got {value}")
        return value

    def fraction(self, table: dict, key: Key, name: str, default: float | None) -> float | None:
        value = self.typed(table, key, name, (int, float), default, "a number")
        if value is not None and not 0.0 < value < 1.0:
            raise self.error(key + (name,), f"must be strictly between 0 and 1, got {value}")
        return value


def _suggest(name: str, options: Sequence[str]) -> str:
    """"; did you mean 'x'?" for the closest option (case-insensitive), else ""."""
    lowered = {option.lower(): option for option in options}
    hint = difflib.get_close_matches(name.lower(), list(lowered), n=1)
    return f"; did you mean {lowered[hint[0]]!r}?" if hint else ""


def _kind(value: Any) -> str:
    return {dict: "a table", list: "an array", str: "a string", bool: "a boolean",
            int: "an integer", float: "a number"}.get(type(value), type(value).__name__)

