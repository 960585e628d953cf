"""Mapping between external ids and internal row/column indices."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype

from recsys.errors import ConfigError, DataError, UnknownIdError

MISSING_POLICIES = ("raise", "ignore")


def as_id_array(ids: Any) -> np.ndarray:
    """Turn a scalar id, a list, a Series or an array into a 1-d numpy array of ids.

    Lists of Python ints become int64 (object when some do not fit); anything else that is
    not already an array becomes an object array, so mixed ids keep their types.

    Examples
    --------
    >>> as_id_array("u1").tolist(), as_id_array([3, 1]).dtype.name
    (['u1'], 'int64')
    >>> as_id_array([1, "a"]).tolist()
    [1, 'a']
    """
    if isinstance(ids, (pd.Series, pd.Index)):
        return ids.to_numpy()
    if isinstance(ids, pd.api.extensions.ExtensionArray):
        return np.asarray(ids)
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


def _all_strings(values: Any) -> bool:
    return infer_dtype(values, skipna=False) in ("string", "empty")


# Up to this many ids are looked up through a dict instead of pandas' indexer.
_DICT_LOOKUP_MAX = 32


class IdIndex:
    """A bijection between external ids (any hashable: int, str, ...) and ``0..n-1``.

    Both directions are vectorized: :meth:`to_index` maps many ids at once through a hash
    table, :meth:`to_ids` is an array take. Ids match like Python dict keys: ``1``, ``1.0``,
    ``numpy.int64(1)`` and ``True`` are the same id, ``"1"`` is another one.

    Parameters
    ----------
    ids : array-like
        The external ids in index order. They must be unique and not missing.

    Raises
    ------
    recsys.errors.DataError
        Repeated or missing (NaN/None) ids.

    Examples
    --------
    >>> index = IdIndex(["u1", "u2", "u3"])
    >>> index.to_index(["u3", "u1"]).tolist()
    [2, 0]
    >>> index.to_ids([1]).tolist()
    ['u2']
    >>> index.to_index(["u9", "u2"], missing="ignore").tolist()
    [-1, 1]
    """

    __slots__ = ("_ids", "_lookup", "_dict")

    def __init__(self, ids: Any) -> None:
        values = as_id_array(ids)
        lookup = pd.Index(values, dtype=values.dtype if values.dtype != object else object)
        if len(values) and pd.isna(lookup).any():
            row = int(np.flatnonzero(pd.isna(lookup))[0])
            raise DataError(
                f"ids must not be missing (NaN/None); position {row} is {values[row]!r}"
            )
        if not lookup.is_unique:
            dupes = lookup[lookup.duplicated()].unique()[:5].tolist()
            raise DataError(f"ids must be unique; repeated: {dupes}")
        self._ids: np.ndarray | None = values
        self._lookup = lookup
        self._dict: dict | None = None

    @classmethod
    def _from_unique(cls, uniques: pd.Index) -> IdIndex:
        """Wrap ids already known to be unique and present (``pd.factorize`` uniques).

        Skips the checks and the numpy copy of the ids (made on first use of :attr:`ids`).
        """
        self = cls.__new__(cls)
        self._ids = None
        self._lookup = uniques if isinstance(uniques, pd.Index) else pd.Index(uniques)
        self._dict = None
        return self

    @property
    def ids(self) -> np.ndarray:
        """The external ids as a numpy array, position ``i`` holding the id of index ``i``."""
        if self._ids is None:
            self._ids = self._lookup.to_numpy()
        return self._ids

    def __len__(self) -> int:
        return len(self._lookup)

    def __contains__(self, external_id: Any) -> bool:
        try:
            hash(external_id)
        except TypeError:
            return False
        return bool(self.to_index([external_id], missing="ignore")[0] >= 0)

    def __iter__(self):
        return iter(self.ids)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, IdIndex):
            return NotImplemented
        if self is other:
            return True
        return len(self) == len(other) and bool(self._lookup.equals(other._lookup))

    def __hash__(self) -> int:
        return id(self)

    def __getstate__(self) -> dict:
        return {"ids": self.ids}

    def __setstate__(self, state: dict) -> None:
        self._ids = state["ids"]
        values = self._ids
        self._lookup = pd.Index(values, dtype=values.dtype if values.dtype != object else object)
        self._dict = None

    def __repr__(self) -> str:
        head = ", ".join(repr(v) for v in self._lookup[:3])
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

        Raises
        ------
        recsys.errors.UnknownIdError
            An id is unknown and ``missing="raise"``; ``.ids`` lists the unknown ids.

        Examples
        --------
        >>> index = IdIndex([10, 20, "x"])
        >>> index.to_index([20, "x", 10.0]).tolist()
        [1, 2, 0]
        >>> index.to_index([30])
        Traceback (most recent call last):
        ...
        recsys.errors.UnknownIdError: unknown id(s): 30
        """
        if missing not in MISSING_POLICIES:
            raise ConfigError(f"missing must be one of {MISSING_POLICIES}, got {missing!r}")
        values = as_id_array(ids)
        if len(values) == 0:
            return np.empty(0, dtype=np.int64)
        if len(values) <= _DICT_LOOKUP_MAX:
            # A request for a few ids (the serving path) is cheaper through a dict than
            # through pandas' vectorized indexer, and the answers are the same.
            positions = self._dict_positions(values.tolist())
        else:
            try:
                positions = np.asarray(self._lookup.get_indexer(values), dtype=np.int64)
            except (TypeError, ValueError):
                positions = np.full(len(values), -1, dtype=np.int64)
            misses = np.flatnonzero(positions < 0)
            # pandas never matches across dtypes (1 vs True, 2 vs 2.0 in some indexes) and
            # skips unhashable or odd values; retry misses like dict keys, unless both sides
            # are plain strings (then the hash table has already given the dict answer).
            if len(misses) and len(self) and not (
                    _all_strings(values[misses]) and self._is_string_index()):
                positions[misses] = self._dict_positions(values[misses].tolist())
        if missing == "raise" and (positions < 0).any():
            unknown = values[positions < 0]
            shown = ", ".join(repr(v) for v in unknown[:5].tolist())
            more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            label = what if what.endswith("id") else f"{what} id"
            raise UnknownIdError(f"unknown {label}(s): {shown}{more}", unknown.tolist())
        return positions

    def _is_string_index(self) -> bool:
        return pd.api.types.is_string_dtype(self._lookup.dtype) and (
            self._lookup.dtype != object or self._lookup.inferred_type == "string"
        )

    def _dict_positions(self, values: list) -> np.ndarray:
        lookup = self._as_dict()
        positions = np.full(len(values), -1, dtype=np.int64)
        for k, value in enumerate(values):
            try:
                positions[k] = lookup.get(value, -1)
            except TypeError:  # unhashable: unknown
                pass
        return positions

    def _as_dict(self) -> dict:
        if self._dict is None:
            self._dict = {v: k for k, v in enumerate(self._lookup.tolist())}
        return self._dict

    def extend(self, ids: Any) -> IdIndex:
        """A new index: these ids followed by ``ids`` (new ids, unique, none of them here).

        Ids of another type than the index's keep their type (the array becomes ``object``
        rather than numpy converting, say, ``1`` to ``"1"``).

        Raises
        ------
        recsys.errors.DataError
            An id is missing, repeated, or already in the index.

        Examples
        --------
        >>> IdIndex([1, 2]).extend(["a"]).ids.tolist()
        [1, 2, 'a']
        >>> IdIndex(["u1"]).extend(["u2"]).to_index(["u2"]).tolist()
        [1]
        """
        values = as_id_array(ids)
        if len(values) == 0:
            return self
        old = self.ids
        if old.dtype.kind != values.dtype.kind:  # e.g. int and str: no conversion of either
            old, values = old.astype(object), values.astype(object)
        return IdIndex(np.concatenate([old, values]))

    def to_ids(self, indices: Any) -> np.ndarray:
        """Map indices back to external ids.

        Raises
        ------
        IndexError
            An index is negative (``-1`` pads included) or not below ``len(self)``.

        Examples
        --------
        >>> IdIndex(["a", "b", "c"]).to_ids([2, 0]).tolist()
        ['c', 'a']
        """
        indices = np.asarray(indices)
        if indices.size and indices.dtype.kind not in "iu":
            with np.errstate(invalid="ignore"):
                as_int = indices.astype(np.int64) if indices.dtype.kind == "f" else None
            if as_int is None or not np.array_equal(as_int, indices):
                raise IndexError(f"indices must be integers, got {indices.dtype} values")
            indices = as_int
        indices = indices.astype(np.int64, copy=False)
        if indices.size and (indices.min() < 0 or indices.max() >= len(self)):
            raise IndexError(f"index out of range for an IdIndex of {len(self)} ids")
        return self.ids.take(indices)
