"""Mapping between external ids and internal row/column indices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from recsys.errors import DataError, UnknownIdError


def as_id_array(ids: Any) -> np.ndarray:
    """Turn a scalar id, a list, a Series or an array into a 1-d numpy array of ids."""
    if isinstance(ids, (pd.Series, pd.Index)):
        return ids.to_numpy()
    if isinstance(ids, np.ndarray):
        return ids.ravel()
    if isinstance(ids, (str, bytes)) or not isinstance(ids, Iterable):
        ids = [ids]
    values = list(ids)
    if not values:
        return np.empty(0, dtype=object)
    if all(isinstance(v, (int, np.integer)) and not isinstance(v, bool) for v in values):
        try:
            return np.asarray(values, dtype=np.int64)
        except OverflowError:
            pass
    out = np.empty(len(values), dtype=object)
    out[:] = values
    return out


class IdIndex:
    """A bijection between external ids (any hashable: int, str, ...) and ``0..n-1``.

    Both directions are vectorized: :meth:`to_index` maps many ids at once through a hash
    table, :meth:`to_ids` is an array take.

    Parameters
    ----------
    ids : array-like
        The external ids in index order. They must be unique and not missing.

    Examples
    --------
    >>> index = IdIndex(["u1", "u2", "u3"])
    >>> index.to_index(["u3", "u1"]).tolist()
    [2, 0]
    >>> index.to_ids([1]).tolist()
    ['u2']
    """

    __slots__ = ("_ids", "_lookup")

    def __init__(self, ids: Any) -> None:
        values = as_id_array(ids)
        lookup = pd.Index(values, dtype=values.dtype if values.dtype != object else object)
        if not lookup.is_unique:
            dupes = lookup[lookup.duplicated()].unique()[:5].tolist()
            raise DataError(f"ids must be unique; repeated: {dupes}")
        if len(values) and pd.isna(lookup).any():
            raise DataError("ids must not be missing (NaN/None)")
        self._ids = values
        self._lookup = lookup

    @property
    def ids(self) -> np.ndarray:
        """The external ids, position ``i`` holding the id of index ``i``."""
        return self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def __contains__(self, external_id: Any) -> bool:
        try:
            return external_id in self._lookup
        except TypeError:  # unhashable
            return False

    def __iter__(self):
        return iter(self._ids)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdIndex):
            return NotImplemented
        return len(self) == len(other) and bool(self._lookup.equals(other._lookup))

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self) -> str:
        head = ", ".join(repr(v) for v in self._ids[:3])
        more = ", ..." if len(self) > 3 else ""
        return f"IdIndex([{head}{more}], n={len(self)})"

    def to_index(self, ids: Any, missing: str = "raise", what: str = "id") -> np.ndarray:
        """Map external ids to indices.

        Parameters
        ----------
        ids : scalar or array-like
            External ids.
        missing : {"raise", "ignore"}
            With ``"raise"`` an unknown id raises :class:`~recsys.errors.UnknownIdError` naming
            it; with ``"ignore"`` it maps to ``-1``.
        what : str
            Word used in the error message ("user", "item").

        Returns
        -------
        numpy.ndarray of int64
        """
        values = as_id_array(ids)
        if len(values) == 0:
            return np.empty(0, dtype=np.int64)
        try:
            positions = self._lookup.get_indexer(values)
        except (TypeError, ValueError):
            positions = np.array([self._position(v) for v in values], dtype=np.int64)
        positions = np.asarray(positions, dtype=np.int64)
        if missing == "raise" and (positions < 0).any():
            unknown = values[positions < 0]
            shown = ", ".join(repr(v) for v in unknown[:5])
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            raise UnknownIdError(f"unknown {what} id(s): {shown}{more}", unknown.tolist())
        return positions

    def _position(self, value: Any) -> int:
        try:
            position = self._lookup.get_loc(value)
        except (KeyError, TypeError):
            return -1
        return position if isinstance(position, (int, np.integer)) else -1

    def to_ids(self, indices: Any) -> np.ndarray:
        """Map indices back to external ids (``-1`` is not allowed)."""
        indices = np.asarray(indices, dtype=np.int64)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self)):
            raise IndexError(f"index out of range for an IdIndex of {len(self)} ids")
        return self._ids.take(indices)
