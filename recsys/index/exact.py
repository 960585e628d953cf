"""Exact top-k by inner product: one matrix product per block of queries."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._checks import check_int
from recsys.index._threads import blas_threads
from recsys.index.base import VectorIndex, as_vectors
from recsys.models.topk import PAD, top_k

# Score blocks are cut to about this many cells (64 MiB of float32).
BLOCK_CELLS = 1 << 24


def exact_search(
    vectors: np.ndarray,
    queries: np.ndarray,
    k: int,
    exclude: sp.csr_matrix | None = None,
    allowed: np.ndarray | None = None,
    threads: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Best ``k`` rows of ``vectors`` for each query by inner product, filtered.

    Parameters
    ----------
    vectors : numpy.ndarray, shape (n_items, d)
    queries : numpy.ndarray, shape (n_queries, d)
    k : int
    exclude : scipy.sparse.csr_matrix, shape (n_queries, n_items), optional
        Items never to return for each query (stored entries).
    allowed : numpy.ndarray of int, optional
        Sorted unique item positions that may be returned (all if None).
    threads : int
        BLAS threads for the products; 0 leaves BLAS as configured.

    Returns
    -------
    indices, scores : numpy.ndarray, shape (n_queries, k)
        Sorted by score, ties by item position; ``-1`` / NaN pad short rows.

    Examples
    --------
    >>> vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.7, 0.7]], np.float32)
    >>> idx, _ = exact_search(vectors, np.array([[1.0, 0.2]], np.float32), k=2)
    >>> idx.tolist()
    [[0, 2]]
    """
    n_queries = len(queries)
    positions = np.full((n_queries, k), PAD, np.int64)
    scores = np.full((n_queries, k), np.nan, np.float32)
    candidates = vectors if allowed is None else vectors[allowed]
    batch = max(1, BLOCK_CELLS // max(1, len(candidates)))
    for start in range(0, n_queries, batch):
        stop = min(start + batch, n_queries)
        with blas_threads(threads):
            block = queries[start:stop] @ candidates.T
        mask = None
        if exclude is not None:
            mask = exclude[start:stop]
            if allowed is not None:
                mask = sp.csr_matrix(mask[:, allowed])
            if mask.nnz == 0:
                mask = None
        top, values = top_k(block, k, mask)
        if allowed is not None:
            top = np.where(top == PAD, PAD, allowed[np.maximum(top, 0)])
        positions[start:stop], scores[start:stop] = top, values
    return positions, scores


class ExactIndex(VectorIndex):
    """Brute-force top-k by inner product (numpy / BLAS); the reference for ANN recall.

    Parameters
    ----------
    threads : int
        BLAS threads inside :meth:`search`; 0 leaves BLAS as configured.

    Notes
    -----
    Memory: the vectors (n_items x d float32). Time per query: O(n_items * d), in blocks of
    queries whose score matrix stays under 64 MiB. Results equal a stable sort by
    (-score, position).

    Examples
    --------
    >>> index = ExactIndex().build(np.eye(3, dtype=np.float32))
    >>> idx, scores = index.search(np.array([[0.1, 0.9, 0.5]]), k=2)
    >>> idx.tolist()
    [[1, 2]]
    """

    def __init__(self, threads: int = 0) -> None:
        self.threads = threads

    def build(self, vectors: Any, show_progress: bool = False) -> ExactIndex:
        """Index ``vectors`` (n_items x d); returns self. Instant: nothing to show progress
        of."""
        check_int("threads", self.threads, minimum=0)
        self._vectors = as_vectors(vectors, "vectors")
        return self

    def search(
        self,
        queries: Any,
        k: int,
        exclude: sp.spmatrix | None = None,
        allowed: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` items per query; see :func:`exact_search` for the arguments."""
        queries, k, exclude, allowed = self._check_search(queries, k, exclude, allowed)
        return exact_search(self._vectors, queries, k, exclude, allowed, self.threads)
