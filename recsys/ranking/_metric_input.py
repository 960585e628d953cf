"""Input checks and shared helpers of the metric kernels.

Every kernel in :mod:`recsys.evaluation.metrics` validates its arguments here, so a bad
array gets the same error whichever metric it is passed to.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, TypeAlias

import numpy as np
import scipy.sparse as sp

from recsys.errors import ConfigError, DataError

GAINS = ("binary", "linear", "exponential")

Ks: TypeAlias = "int | Sequence[int]"
Scores: TypeAlias = "np.ndarray | dict[int, np.ndarray]"


def _parse_k(k: Any) -> tuple[tuple[int, ...], bool]:
    """The k values asked for (unique, in the given order) and whether k was a single int."""
    if isinstance(k, (int, np.integer)) and not isinstance(k, (bool, np.bool_)):
        values, scalar = [k], True
    elif isinstance(k, Iterable) and not isinstance(k, (str, bytes)):
        values, scalar = list(k), False
        if not values:
            raise ConfigError("k is an empty sequence; give at least one cutoff")
    else:
        raise ConfigError(f"k must be a positive int or a sequence of them; got {k!r}")
    for value in values:
        if not isinstance(value, (int, np.integer)) or isinstance(value, (bool, np.bool_)):
            raise ConfigError(f"k must be a positive int or a sequence of them; got {value!r}")
        if value < 1:
            raise ConfigError(f"k must be >= 1; got {value}")
    return tuple(dict.fromkeys(int(v) for v in values)), scalar


def _as_recommended(recommended: Any) -> np.ndarray:
    try:
        arr = np.asarray(recommended)
    except ValueError as exc:  # ragged nested lists
        raise DataError(
            f"recommended must be a rectangular 2-D array; pad short lists with -1 ({exc})"
        ) from None
    if arr.ndim != 2:
        raise DataError(
            "recommended must be a 2-D array (n_users, list length) of item indices; "
            f"got shape {arr.shape}"
        )
    if arr.dtype.kind not in "iu":
        if arr.size:
            raise DataError(f"recommended must hold integer item indices; got dtype {arr.dtype}")
        arr = arr.astype(np.int64)  # np.empty((0, k)) is float by default
    return arr


def _check_items(arr: np.ndarray, n_items: int, source: str = "n_items") -> np.ndarray:
    """Raise on indices outside [-1, n_items), naming the first bad cell; return arr."""
    if arr.size == 0:
        return arr
    if arr.min() < -1 or arr.max() >= n_items:
        row, col = np.argwhere((arr < -1) | (arr >= n_items))[0]
        _raise_bad_item(arr, row, col, n_items, source)
    return arr


def _raise_bad_item(arr: np.ndarray, row: int, col: int, n_items: int, source: str) -> None:
    if arr[row, col] < -1:
        raise DataError(
            f"recommended[{row}, {col}] = {arr[row, col]}: item indices must be >= 0, "
            "or -1 for padding"
        )
    raise DataError(
        f"recommended[{row}, {col}] = {arr[row, col]} is not an item index: "
        f"there are {n_items} items ({source})"
    )


def _as_relevant(relevant: Any, n_users: int) -> sp.csr_matrix:
    """Canonical CSR holding only the relevant (stored value > 0) entries."""
    if sp.issparse(relevant):
        rel = relevant.tocsr()
    elif isinstance(relevant, np.ndarray) and relevant.ndim == 2:
        rel = sp.csr_matrix(relevant)
    else:
        raise DataError(
            "relevant must be a scipy.sparse matrix (n_users, n_items) whose stored values are "
            f"gains; got {type(relevant).__name__}"
        )
    if rel.shape[0] != n_users:
        raise DataError(
            f"recommended has {n_users} rows (users) but relevant has {rel.shape[0]}; "
            "row i of both must be the same user"
        )
    if rel.data.dtype.kind not in "biuf":
        raise DataError(f"relevant must hold numeric gains; got dtype {rel.data.dtype}")
    if not rel.has_canonical_format:
        rel = rel.copy()
        rel.sum_duplicates()
    if rel.nnz == 0:
        return rel
    low, high = rel.data.min(), rel.data.max()  # NaN propagates into both
    if rel.data.dtype.kind == "f" and not (np.isfinite(low) and np.isfinite(high)):
        pos = int(np.flatnonzero(~np.isfinite(rel.data))[0])
        row = int(np.searchsorted(rel.indptr, pos, side="right") - 1)
        raise DataError(
            f"relevant[{row}, {rel.indices[pos]}] = {rel.data[pos]}: gains must be finite"
        )
    if low <= 0:
        rel = rel.copy()
        rel.data[rel.data <= 0] = 0
        rel.eliminate_zeros()
    return rel


def _gain_values(data: np.ndarray, gains: str) -> np.ndarray | None:
    """Gain of each stored relevant value; None means binary (every hit gains 1)."""
    if gains == "binary":
        return None
    if gains == "linear":
        return data.astype(np.float64)
    if gains == "exponential":
        return np.exp2(data.astype(np.float64)) - 1.0
    raise ConfigError(f"gains must be one of {GAINS}; got {gains!r}")



def _top(arr: np.ndarray, k: int) -> np.ndarray:
    """The first k columns, padded on the right with -1 when the lists are shorter.

    Only these columns are read, so only they are validated later: items past k may be
    anything a caller keeps there.
    """
    # A contiguous copy: every later pass (validation, lookup, gathers) reads it sequentially.
    if arr.flags.c_contiguous and arr.shape[1] > k and arr.shape[0]:
        # Copy each row's first k items as one opaque record: a 1-D copy of n records is
        # much faster than numpy's 2-D strided copy with its short inner loop of k items.
        record = np.dtype((np.void, k * arr.itemsize))
        rows = np.ndarray((arr.shape[0],), dtype=record, buffer=arr, strides=(arr.strides[0],))
        top = rows.copy().view(arr.dtype).reshape(arr.shape[0], k)
    else:
        top = np.ascontiguousarray(arr[:, :k])
    if top.dtype.kind == "u":
        top = top.astype(np.int64)  # padding and cell arithmetic need a signed type
    if top.shape[1] == k:
        return top
    out = np.full((arr.shape[0], k), -1, dtype=top.dtype)
    out[:, : top.shape[1]] = top
    return out


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """num / den, NaN where den is 0 (a user with nothing relevant has no defined value)."""
    out = np.full(num.shape, np.nan)
    np.divide(num, den, out=out, where=den > 0)
    return out


def _lists(recommended: Any, n_items: int, k: Ks) -> tuple[np.ndarray, tuple[int, ...], bool]:
    """Validated top-max(k) columns (padded with -1), the k values, and whether k was scalar."""
    ks, scalar = _parse_k(k)
    top = _check_items(_top(_as_recommended(recommended), max(ks)), n_items)
    return top, ks, scalar


def _positive_int(name: str, value: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise ConfigError(f"{name} must be a positive int; got {value!r}")
    if value < 1:
        raise ConfigError(f"{name} must be >= 1; got {value}")
    return int(value)

