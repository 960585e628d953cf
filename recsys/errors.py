"""Exceptions raised by recsys.

Every error says what was wrong and where (column, row, id). They subclass the built-in
``ValueError`` / ``KeyError`` so that callers catching those keep working.
"""

from __future__ import annotations


class RecsysError(Exception):
    """Base class of every error raised on purpose by recsys."""


class DataError(RecsysError, ValueError):
    """Input data is malformed: NaN ids, negative weights, empty frames, bad files."""


class ColumnError(DataError, KeyError):
    """A required column is missing from a frame."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


class UnknownIdError(RecsysError, KeyError):
    """An external user or item id is not known to the model or index.

    ``ids`` lists the unknown ids. ``evidence`` is True when they were given as input about
    a query (the items of a history or basket, under ``strict=True``) rather than as what is
    asked for (the user or item to rank for): the HTTP service answers 422 and 404.
    """

    def __init__(self, message: str, ids: list | None = None, evidence: bool = False) -> None:
        super().__init__(message)
        self.ids = list(ids) if ids is not None else []
        self.evidence = evidence

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class NotFittedError(RecsysError, AttributeError):
    """A model was used before ``fit``."""


class ChecksumError(DataError):
    """A downloaded or saved file does not match its recorded SHA-256."""


class ModelFileError(DataError):
    """A saved model directory is not one :func:`recsys.load` can trust: a malformed
    manifest, or arrays whose dtype, shape or structure does not fit the model (the message
    names the file and what is wrong)."""


class ConfigError(RecsysError, ValueError):
    """A hyperparameter, argument or configuration value is invalid."""


class FilterError(ConfigError):
    """A ``where=`` filter that cannot be applied: an unknown attribute or item set, an unknown
    operator, or a value of the wrong type for its column (named by its path in the filter)."""


class RecsysWarning(UserWarning):
    """Input was used only in part (for example unknown items dropped from a history)."""
