"""Mean accuracy of candidate scorers on held-out entries: what a family's "auto" parameter
(RP3beta's ``beta``, LightFM's ``epochs``) ranks its candidates by."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import scipy.sparse as sp

from recsys.ranking import _accuracy as kernels
from recsys.ranking.topk import take_rows, top_k

# Dense scores per block of rows (a candidate's block is rows x items floats).
BLOCK_CELLS = 1 << 24


def mean_accuracy(
    scores_of: Callable[[np.ndarray], Sequence[np.ndarray]],
    seen: sp.csr_matrix,
    relevant: sp.csr_matrix,
    *,
    metric: str = "ndcg",
    k: int = 10,
) -> np.ndarray:
    """Mean ``metric@k`` of each candidate over the rows of ``relevant`` that hold an entry.

    Parameters
    ----------
    scores_of : callable
        ``scores_of(rows)``: one dense score array of shape ``(len(rows), n_items)`` per
        candidate, for those rows (it may be overwritten).
    seen : scipy.sparse.csr_matrix, shape (n_rows, n_items)
        Items never ranked for a row (its training entries).
    relevant : scipy.sparse.csr_matrix, shape (n_rows, n_items)
        The held-out entries a row's top k is scored against.
    metric : {"precision", "recall", "ndcg", "map", "mrr", "hit_rate"}
    k : int

    Returns
    -------
    numpy.ndarray of float, shape (n_candidates,)

    Examples
    --------
    >>> seen = sp.csr_matrix([[1, 0, 0], [1, 0, 0]])
    >>> relevant = sp.csr_matrix([[0, 1, 0], [0, 1, 0]])
    >>> two = lambda rows: [np.tile([3.0, 2.0, 1.0], (len(rows), 1)),  # item 1 first
    ...                     np.tile([1.0, 2.0, 3.0], (len(rows), 1))]  # item 2 first
    >>> mean_accuracy(two, seen, relevant, metric="hit_rate", k=1).tolist()
    [1.0, 0.0]
    """
    rows_held = np.flatnonzero(np.diff(relevant.indptr))
    totals: np.ndarray | None = None
    batch = max(1, BLOCK_CELLS // max(1, relevant.shape[1]))
    for start in range(0, len(rows_held), batch):
        rows = rows_held[start:start + batch]
        exclude, truth = take_rows(seen, rows), take_rows(relevant, rows)
        block = [kernels.compute(top_k(scores, k, exclude, overwrite=True)[0], truth, [metric],
                                 k=k)[metric].sum() for scores in scores_of(rows)]
        totals = np.asarray(block) if totals is None else totals + block
    return np.zeros(0) if totals is None else totals / len(rows_held)
