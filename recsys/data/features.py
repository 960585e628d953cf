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


def checked_ids(df: pd.DataFrame, column: str) -> pd.Series:
    """The id column of a frame of one row per id: no missing and no repeated id (the row
    is named by its index label).

    Examples
    --------
    >>> checked_ids(pd.DataFrame({"item_id": ["a", "b", "a"]}), "item_id")
    Traceback (most recent call last):
    ...
    recsys.errors.DataError: column 'item_id' repeats id(s) ['a'], first at row 2
    """
    ids = df[column]
    missing = ids.isna().to_numpy()
    if missing.any():
        raise DataError(f"column {column!r} has {int(missing.sum())} missing id(s) (NaN/None); "
                        f"first at row {_scalar(df.index[int(np.flatnonzero(missing)[0])])!r}")
    try:
        repeated = ids.duplicated().to_numpy()
    except TypeError:
        raise DataError(f"column {column!r} holds unhashable ids") from None
    if repeated.any():
        raise DataError(f"column {column!r} repeats id(s) {ids[repeated].unique()[:5].tolist()}"
                        f", first at row {_scalar(df.index[int(np.flatnonzero(repeated)[0])])!r}")
    return ids


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
    encoding : list of dict, optional
        How each column of a frame was encoded, set by :meth:`from_pandas` (JSON-able):
        what :func:`encode_rows` needs to encode rows of new ids with the same columns
        (:meth:`LightFM.add_items <recsys.models.lightfm.LightFM.add_items>`). None for
        features given as a matrix.

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

    def __init__(self, matrix: sp.spmatrix, names: Sequence[str], index: IdIndex,
                 encoding: list[dict] | None = None) -> None:
        matrix = sp.csr_matrix(matrix, dtype=np.float32)
        if matrix.shape != (len(index), len(names)):
            raise DataError(
                f"features matrix {matrix.shape} does not match {len(index)} ids x "
                f"{len(names)} names"
            )
        self.matrix = matrix
        self.names = np.asarray(names, dtype=object)
        self.index = index
        self.encoding = encoding

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
        ids = checked_ids(df, id)
        rows = index.to_index(ids, missing="ignore")
        if (rows < 0).any():
            unknown = ids.to_numpy()[rows < 0]
            first = _scalar(df.index[int(np.flatnonzero(rows < 0)[0])])
            raise DataError(f"{len(unknown)} id(s) in column {id!r} are not in the index, "
                            f"e.g. {unknown[:5].tolist()} (first at row {first!r})")
        blocks: list[sp.csr_matrix] = []
        names: list[str] = []
        encoding: list[dict] = [{"column": c, "kind": "categorical"} for c in categorical]
        encoding += [{"column": c, "kind": "multilabel", "sep": s} for c, s in separators.items()]
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
            scaling = {"peak": 1.0, "mean": 0.0, "std": 1.0}
            if scale:
                # Standardising ignores the unit: dividing by the largest magnitude first
                # keeps the squares of the variance finite for values such as 1e300.
                peak = float(np.abs(values).max()) if len(values) else 0.0
                scaled = values / peak if peak > 0 else values
                std = float(scaled.std())
                scaling = {"peak": peak if peak > 0 else 1.0, "mean": float(scaled.mean()),
                           "std": std if std > 0 else 1.0}
                values = _scaled(values, scaling)
            encoding.append({"column": column, "kind": "numeric", **scaling})
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
        return cls(sp.hstack(blocks, format="csr"), names, index, encoding)

    @classmethod
    def identity(cls, index: IdIndex) -> Features:
        """One indicator feature per id (``"id=<id>"``)."""
        return cls(sp.identity(len(index), dtype=np.float32, format="csr"),
                   [f"id={v}" for v in index.ids], index)


def _scaled(values: np.ndarray, scaling: Mapping[str, float]) -> np.ndarray:
    return (values / scaling["peak"] - scaling["mean"]) / scaling["std"]


def encoding_columns(encoding: Sequence[Mapping[str, Any]]) -> list[str]:
    """The frame columns an encoding reads."""
    return [str(spec["column"]) for spec in encoding]


def encode_rows(frame: pd.DataFrame, encoding: Sequence[Mapping[str, Any]],
                names: Sequence[str] | np.ndarray,
                row_names: Sequence[Any] | np.ndarray) -> sp.csr_matrix:
    """Rows of ``frame`` encoded as fitted: a (len(frame), len(names)) CSR matrix.

    ``encoding`` and ``names`` are a fitted :class:`Features`' (or a family's saved copy of
    them). A category or label not among ``names`` sets no feature (the vocabulary is the
    fitted one); numeric columns are scaled with the fitted statistics. ``row_names`` name
    the rows in errors (the item ids).

    Raises
    ------
    recsys.errors.ColumnError
        A column of the encoding is missing from the frame.
    recsys.errors.DataError
        A numeric column holds a missing or non-numeric value (the column and row named).

    Examples
    --------
    >>> items = IdIndex(["a", "b"])
    >>> df = pd.DataFrame({"item_id": ["a", "b"], "genre": ["x", "y"], "price": [1.0, 3.0]})
    >>> feats = Features.from_pandas(df, "item_id", items, categorical=["genre"],
    ...                              numeric=["price"])
    >>> new = pd.DataFrame({"genre": ["y", "unseen"], "price": [2.0, 3.0]})
    >>> encode_rows(new, feats.encoding, feats.names, ["c", "d"]).toarray().tolist()
    [[0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """
    absent = [c for c in encoding_columns(encoding) if c not in frame.columns]
    if absent:
        raise ColumnError(f"feature column(s) {absent} missing; the model was fitted with "
                          f"{encoding_columns(encoding)}")
    position = {str(name): j for j, name in enumerate(names)}
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    data: list[np.ndarray] = []
    for spec in encoding:
        column = str(spec["column"])
        if spec["kind"] == "numeric":
            raw = frame[column]
            values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=np.float64,
                                                                  na_value=np.nan)
            bad = ~np.isfinite(values)
            if bad.any():
                row = int(np.flatnonzero(bad)[0])
                raise DataError(f"numeric column {column!r} has the missing or non-numeric "
                                f"value {_scalar(raw.iloc[row])!r} at row {row} (item "
                                f"{_scalar(row_names[row])!r})")
            rows.append(np.arange(len(frame)))
            cols.append(np.full(len(frame), position[column]))
            data.append(_scaled(values, spec))
            continue
        sep = str(spec.get("sep", "|"))
        labels = [_labels_of(v, sep) if spec["kind"] == "multilabel"
                  else ([] if _is_missing(v) else [v]) for v in frame[column]]
        found = [[position.get(f"{column}={label}", -1) for label in group] for group in labels]
        lengths = np.fromiter((len(group) for group in found), np.int64, len(found))
        flat = np.fromiter((j for group in found for j in group), np.int64, int(lengths.sum()))
        row_of = np.repeat(np.arange(len(frame)), lengths)
        known = flat >= 0
        rows.append(row_of[known])
        cols.append(flat[known])
        data.append(np.ones(int(known.sum())))
    matrix = sp.csr_matrix((np.concatenate(data).astype(np.float32),
                            (np.concatenate(rows), np.concatenate(cols))),
                           shape=(len(frame), len(names)))
    matrix.sum_duplicates()
    # A label listed twice in one cell sets its feature once, as at fit.
    numeric = [position[str(spec["column"])] for spec in encoding if spec["kind"] == "numeric"]
    matrix.data[np.isin(matrix.indices, numeric, invert=True)] = 1.0
    matrix.eliminate_zeros()
    return matrix
