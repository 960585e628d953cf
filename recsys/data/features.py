"""Side features of users or items as a sparse matrix aligned with an IdIndex."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys.data.ids import IdIndex
from recsys.errors import ColumnError, DataError


def _scalar(value: Any) -> Any:
    """A numpy scalar as the Python value (for readable error messages)."""
    return value.item() if isinstance(value, np.generic) else value


def _is_missing(value: Any) -> bool:
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):  # array-likes
        return False


def _labels_of(value: Any, sep: str) -> list:
    """The labels of one multi-label cell: a separated string, a list-like, or one scalar."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(sep) if part.strip()]
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray, pd.Series)):
        return [v for v in value
                if not _is_missing(v) and not (isinstance(v, str) and not v.strip())]
    return [] if _is_missing(value) else [value]


def _factorize_sorted(values: Any, column: str) -> tuple[np.ndarray, np.ndarray]:
    """Codes and uniques sorted when the labels are comparable, else in order of appearance."""
    try:
        try:
            codes, uniques = pd.factorize(values, sort=True)
        except TypeError:  # mixed types (1 and "a") cannot be sorted
            codes, uniques = pd.factorize(values, sort=False)
    except TypeError:
        raise DataError(f"column {column!r} holds unhashable values (lists?); pass it as "
                        "multilabel= if each cell lists several labels") from None
    return codes, np.asarray(uniques)


class Features:
    """A sparse (entities x features) matrix whose rows follow an :class:`IdIndex`.

    Parameters
    ----------
    matrix : scipy.sparse matrix
        One row per id of ``index``; stored as CSR float32.
    names : sequence of str
        One name per column, ``"column=value"`` for one-hot and multi-label blocks and the
        column name for numeric ones.
    index : IdIndex
        The ids of the rows.

    Examples
    --------
    >>> items = IdIndex(["i1", "i2"])
    >>> df = pd.DataFrame({"item_id": ["i2", "i1"], "genres": ["Drama|Comedy", "Drama"]})
    >>> feats = Features.from_pandas(df, "item_id", items, multilabel=["genres"])
    >>> feats.names.tolist()
    ['genres=Comedy', 'genres=Drama']
    >>> feats.matrix.toarray().tolist()
    [[0.0, 1.0], [1.0, 1.0]]
    """

    def __init__(self, matrix: sp.spmatrix, names: Sequence[str], index: IdIndex) -> None:
        matrix = sp.csr_matrix(matrix, dtype=np.float32)
        if matrix.shape != (len(index), len(names)):
            raise DataError(
                f"features matrix {matrix.shape} does not match {len(index)} ids x "
                f"{len(names)} names"
            )
        self.matrix = matrix
        self.names = np.asarray(names, dtype=object)
        self.index = index

    @property
    def n_features(self) -> int:
        return self.matrix.shape[1]

    def __repr__(self) -> str:
        return f"Features(n_rows={self.matrix.shape[0]}, n_features={self.n_features})"

    @classmethod
    def from_pandas(
        cls,
        df: pd.DataFrame,
        id: str,
        index: IdIndex,
        categorical: Sequence[str] = (),
        multilabel: Sequence[str] | Mapping[str, str] = (),
        numeric: Sequence[str] = (),
        scale: bool = True,
    ) -> Features:
        """Encode columns of ``df`` (one row per id) as features aligned to ``index``.

        Parameters
        ----------
        df : pandas.DataFrame
        id : str
            Column holding the external ids.
        index : IdIndex
            Ids the rows must follow; ids in the index but not in the frame get all-zero rows.
        categorical : list of str
            One-hot columns; a missing value sets no feature.
        multilabel : list of str or dict column -> separator
            Columns holding several labels per row, as lists or as strings split on the
            separator (``"|"`` by default).
        numeric : list of str
            Numeric columns; missing values are an error.
        scale : bool
            Standardise numeric columns to zero mean and unit variance.

        Raises
        ------
        recsys.errors.ColumnError
            A named column is missing.
        recsys.errors.DataError
            Repeated ids, ids not in ``index``, missing numeric values.
        """
        separators = dict(multilabel) if isinstance(multilabel, Mapping) else dict.fromkeys(
            multilabel, "|")
        wanted = [id, *categorical, *separators, *numeric]
        absent = [c for c in wanted if c not in df.columns]
        if absent:
            raise ColumnError(f"column(s) {absent} not in the features frame; "
                              f"it has {list(df.columns)[:20]}")
        ids = df[id]
        missing = ids.isna().to_numpy()
        if missing.any():
            raise DataError(f"column {id!r} has {int(missing.sum())} missing id(s) (NaN/None); "
                            f"first at row {_scalar(df.index[int(np.flatnonzero(missing)[0])])!r}")
        try:
            repeated = ids.duplicated()
        except TypeError:
            raise DataError(f"column {id!r} holds unhashable ids") from None
        if repeated.any():
            raise DataError(f"column {id!r} repeats id(s) {ids[repeated].unique()[:5].tolist()}")
        rows = index.to_index(ids, missing="ignore")
        if (rows < 0).any():
            unknown = ids.to_numpy()[rows < 0]
            first = _scalar(df.index[int(np.flatnonzero(rows < 0)[0])])
            raise DataError(f"{len(unknown)} id(s) in column {id!r} are not in the index, "
                            f"e.g. {unknown[:5].tolist()} (first at row {first!r})")
        blocks: list[sp.csr_matrix] = []
        names: list[str] = []
        for column in categorical:
            values = df[column]
            present = values.notna().to_numpy()
            codes, uniques = _factorize_sorted(values[present], column)
            blocks.append(sp.csr_matrix(
                (np.ones(len(codes), np.float32), (rows[present], codes)),
                shape=(len(index), len(uniques))))
            names += [f"{column}={u}" for u in uniques]
        for column, sep in separators.items():
            labels = [_labels_of(v, sep) for v in df[column]]
            lengths = np.fromiter((len(x) for x in labels), np.int64, len(labels))
            flat = pd.Series([x for group in labels for x in group], dtype=object)
            codes, uniques = _factorize_sorted(flat, column)
            matrix = sp.csr_matrix(
                (np.ones(len(codes), np.float32), (np.repeat(rows, lengths), codes)),
                shape=(len(index), len(uniques)))
            matrix.sum_duplicates()
            matrix.data[:] = 1.0
            blocks.append(matrix)
            names += [f"{column}={u}" for u in uniques]
        for column in numeric:
            values = pd.to_numeric(df[column], errors="coerce").to_numpy(
                dtype=np.float64, na_value=np.nan)
            bad = ~np.isfinite(values)
            if bad.any():
                raise DataError(f"numeric column {column!r} has a missing/non-numeric value at "
                                f"row {_scalar(df.index[int(np.flatnonzero(bad)[0])])!r}")
            if scale:
                # Standardising ignores the unit: dividing by the largest magnitude first
                # keeps the squares of the variance finite for values such as 1e300.
                peak = np.abs(values).max() if len(values) else 0.0
                values = values / peak if peak > 0 else values
                std = values.std()
                values = (values - values.mean()) / (std if std > 0 else 1.0)
            with np.errstate(over="ignore"):
                stored = values.astype(np.float32)
            overflow = ~np.isfinite(stored)
            if overflow.any():
                row = int(np.flatnonzero(overflow)[0])
                raise DataError(f"numeric column {column!r} at row {_scalar(df.index[row])!r}: "
                                f"{float(values[row])!r} is beyond float32, the stored type; "
                                "rescale it or pass scale=True")
            blocks.append(sp.csr_matrix(
                (stored, (rows, np.zeros(len(rows), np.int64))), shape=(len(index), 1)))
            names.append(column)
        if not blocks:
            raise DataError("no feature columns given (categorical, multilabel or numeric)")
        return cls(sp.hstack(blocks, format="csr"), names, index)

    @classmethod
    def identity(cls, index: IdIndex) -> Features:
        """One indicator feature per id (``"id=<id>"``)."""
        return cls(sp.identity(len(index), dtype=np.float32, format="csr"),
                   [f"id={v}" for v in index.ids], index)
