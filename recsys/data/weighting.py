"""Re-weighting of interaction matrices: BM25, TF-IDF, log confidence.

All functions are pure: they take a sparse matrix (rows = documents, e.g. users; columns =
terms, e.g. items) and return a new CSR float32 matrix with the same sparsity.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from recsys._checks import check_choice
from recsys.errors import ConfigError, DataError


def _csr_copy(matrix: sp.spmatrix) -> sp.csr_matrix:
    out = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    out.sum_duplicates()  # canonical: sorted indices, one entry per (row, column)
    return out


def _document_frequency_idf(matrix: sp.csr_matrix, smooth: bool) -> np.ndarray:
    """IDF of every column; ``df`` counts the stored entries of the column."""
    n_docs = max(matrix.shape[0], 1)
    df = np.bincount(matrix.indices, minlength=matrix.shape[1]).astype(np.float64)
    if smooth:
        return np.log((1.0 + n_docs) / (1.0 + df)) + 1.0
    return np.log(n_docs) - np.log1p(df)


def tfidf(matrix: sp.spmatrix) -> sp.csr_matrix:
    """TF-IDF: each value times ``log((1 + n_rows) / (1 + df)) + 1`` of its column.

    ``df`` is the number of rows holding the column. This is scikit-learn's
    ``TfidfTransformer(norm=None, smooth_idf=True)``; the input is not modified.

    Examples
    --------
    >>> m = sp.csr_matrix([[1.0, 1.0], [0.0, 1.0]])
    >>> w = tfidf(m).toarray()
    >>> bool(w[0, 0] > w[0, 1])  # the rarer column weighs more
    True
    """
    out = _csr_copy(matrix)
    out.data *= _document_frequency_idf(out, smooth=True)[out.indices].astype(np.float32)
    return out


def bm25(matrix: sp.spmatrix, k1: float = 1.2, b: float = 0.75) -> sp.csr_matrix:
    """Okapi BM25 weights: saturating term frequency, row-length normalisation, column IDF.

    ``w = idf * v * (k1 + 1) / (v + k1 * (1 - b + b * L_row / mean(L)))`` with
    ``L_row`` the row's sum of values (a document's length in words: for a binary matrix, its
    number of entries), the mean over all rows, and ``idf = log(n_rows) - log(1 + df)``
    (``df``: rows holding the column). This equals ``implicit``'s ``bm25_weight(X, K1=k1,
    B=b)``; the input is not modified.

    Parameters
    ----------
    matrix : scipy.sparse matrix
        Rows are documents (users), columns terms (items); values are term frequencies.
    k1 : float
        Term-frequency saturation, ``>= 0``.
    b : float
        Length normalisation, in ``[0, 1]``.

    Examples
    --------
    >>> m = sp.csr_matrix([[3.0, 1.0], [0.0, 1.0], [0.0, 2.0]])
    >>> bm25(m).shape
    (3, 2)
    >>> bool(bm25(m)[0, 0] > 0)   # held by one row of three: positive IDF
    True
    """
    if not (k1 >= 0 and 0 <= b <= 1):
        raise ConfigError(f"bm25 needs k1 >= 0 and 0 <= b <= 1, got k1={k1!r}, b={b!r}")
    out = _csr_copy(matrix)
    if out.nnz == 0:
        return out
    counts = np.diff(out.indptr)
    rows = np.repeat(np.arange(out.shape[0]), counts)
    lengths = np.bincount(rows, weights=out.data, minlength=out.shape[0])
    mean_length = lengths.mean()
    if mean_length <= 0:
        raise DataError("bm25 needs rows with a positive mean sum of values")
    length_norm = (1.0 - b) + b * lengths / mean_length
    row_of_entry = np.repeat(length_norm, counts)
    idf = _document_frequency_idf(out, smooth=False)[out.indices]
    data = out.data.astype(np.float64)
    out.data = (idf * data * (k1 + 1.0) / (data + k1 * row_of_entry)).astype(np.float32)
    return out


def log_confidence(matrix: sp.spmatrix, alpha: float = 1.0, epsilon: float = 1.0) -> sp.csr_matrix:
    """Hu, Koren & Volinsky (2008) log confidence: ``1 + alpha * log(1 + v / epsilon)``.

    Parameters
    ----------
    matrix : scipy.sparse matrix
        Non-negative counts (plays, clicks).
    alpha : float
        Scale, ``>= 0``.
    epsilon : float
        Count unit, ``> 0``.

    Raises
    ------
    recsys.errors.DataError
        A value is ``<= -epsilon`` (the logarithm is undefined).

    Examples
    --------
    >>> [round(float(v), 3) for v in log_confidence(sp.csr_matrix([[0.0, 9.0]])).data]
    [3.303]
    """
    if not (alpha >= 0 and epsilon > 0):
        raise ConfigError(f"log_confidence needs alpha >= 0 and epsilon > 0, got "
                          f"alpha={alpha!r}, epsilon={epsilon!r}")
    out = _csr_copy(matrix)
    if out.nnz and out.data.min() <= -epsilon:
        raise DataError(f"log_confidence needs values > -epsilon ({-epsilon}); "
                        f"got {float(out.data.min())}")
    out.data = (1.0 + alpha * np.log1p(out.data / epsilon)).astype(np.float32)
    return out


# ---------------------------------------------------------------- model input weighting
WEIGHTINGS = ("auto", "binary", "raw", "log", "bm25")
# A rating scale: at most this many levels (half stars on 0.5..5 give 10), all multiples of
# 0.5, none above RATING_MAX.
RATING_MAX = 10.0
RATING_LEVELS = 10


def looks_like_ratings(values: np.ndarray) -> bool:
    """Whether stored values are ratings rather than amounts (counts, durations).

    Ratings take a few levels on a half-point grid and are not piled up at their lowest
    level; amounts are: most users play a game once, view an item once (the lowest level is
    strictly the most common one on the demo data's counts; ML-100K's most common rating is
    4 of 5).
    """
    levels, counts = np.unique(values, return_counts=True)
    if (len(levels) > RATING_LEVELS or levels[-1] > RATING_MAX
            or np.any(np.mod(levels * 2.0, 1.0) != 0)):
        return False
    return not (len(levels) > 1 and counts[0] > counts[1:].max())


def resolve_weighting(weighting: str, matrix: sp.spmatrix, *, amounts: str = "log") -> str:
    """The concrete weighting for ``weighting="auto"``, chosen from the value distribution.

    Constant values -> "binary"; negative values (dislikes in implicit's convention) ->
    "raw", which keeps their sign; ratings (see :func:`looks_like_ratings`: a few half-point
    levels up to 10, not piled up at the lowest) -> "binary", since a rating says the user
    consumed the item, not how much; amounts (counts, hours, seconds) -> ``amounts``, the
    family's choice: "log" (``log2(1+v)``) for ALS, "binary" for the item-item families.

    Examples
    --------
    >>> resolve_weighting("auto", sp.csr_matrix([[4.0, 5.0, 4.0, 1.0]]))
    'binary'
    >>> resolve_weighting("auto", sp.csr_matrix([[1.0, 1.0, 2.0, 5.0]]))  # counts
    'log'
    """
    check_choice("weighting", weighting, WEIGHTINGS)
    if weighting != "auto":
        return weighting
    values = sp.csr_matrix(matrix).data
    if values.size == 0 or values.min() == values.max():
        return "binary"
    if values.min() < 0:
        return "raw"
    return "binary" if looks_like_ratings(values) else amounts


def bm25_rows(rows: sp.spmatrix, item_lengths: np.ndarray, n_items: int, k1: float,
              b: float) -> sp.csr_matrix:
    """BM25 weights of user rows with items as documents and users as terms.

    This is implicit's ``bm25_weight`` applied to the items x users matrix (as in implicit's
    examples), written row-wise so that rows folded in later are weighed with the training
    statistics: ``item_lengths`` (column sums of the training matrix) and ``n_items``. On the
    training matrix itself it equals ``bm25(matrix.T, k1, b).T``.
    """
    out = sp.csr_matrix(rows, dtype=np.float32, copy=True)
    counts = np.diff(out.indptr)
    idf = np.log(max(n_items, 1)) - np.log1p(counts.astype(np.float64))
    mean_length = float(item_lengths.mean()) if len(item_lengths) else 0.0
    if mean_length <= 0:
        raise DataError("bm25 weighting needs items with a positive mean sum of values")
    norm = (1.0 - b) + b * item_lengths.astype(np.float64) / mean_length
    data = out.data.astype(np.float64)
    weights = np.repeat(idf, counts) * data * (k1 + 1.0) / (data + k1 * norm[out.indices])
    out.data = weights.astype(np.float32)
    return out


def weigh(rows: sp.spmatrix, weighting: str, item_lengths: np.ndarray, k1: float,
          b: float) -> sp.csr_matrix:
    """Apply a resolved weighting ("binary", "raw", "log", "bm25") to user rows.

    "binary" keeps the positive entries as 1 (a non-positive stored value is no
    interaction); "log" is ``log2(1 + v)``: a single interaction weighs 1, as under
    "binary"; "raw" keeps the values.

    Examples
    --------
    >>> weigh(sp.csr_matrix([[1.0, 3.0, 0.0]]), "log", np.ones(3), 1.2, 0.75).data.tolist()
    [1.0, 2.0]
    """
    out = _csr_copy(rows)
    if weighting == "binary":
        out.data = (out.data > 0).astype(np.float32)
    elif weighting == "log":
        if out.nnz and out.data.min() <= -1:
            raise DataError(f"log weighting needs values > -1; got {float(out.data.min())}")
        out.data = np.log2(1.0 + out.data.astype(np.float64)).astype(np.float32)
    elif weighting == "bm25":
        out = bm25_rows(out, item_lengths, len(item_lengths), k1, b)
    out.eliminate_zeros()
    return out
