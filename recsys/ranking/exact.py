"""Exact top-k by inner product: one float32 matrix product per block of queries, made exact
in float64 by rescoring the few candidates near each query's cut."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._checks import check_int
from recsys.ranking.index import VectorIndex, as_vectors
from recsys.ranking.threads import blas_threads, run_split, worker_count
from recsys.ranking.topk import (
    ALL_ALLOWED,
    NO_EXCLUSIONS,
    PAD,
    block_size,
    column_map,
    exclusion_arrays,
)

# Score blocks are cut to about this many cells (32 MiB of float32, a common last-level
# cache): recommending for 20k users on 100k items took 3.2-3.3 s against 4.2-4.3 s with
# 64 MiB blocks (2 cores, 32 MiB L3) ...
BLOCK_CELLS = 1 << 23
# ... but hold at least this many queries: the product streams the whole item matrix once per
# block, and with fewer rows it is bound by memory, not arithmetic, on large catalogs (1M
# items: 16 rows ran at 0.8x raw implicit, 64 rows at 1.15x); 256 MB at 1M items.
MIN_BLOCK_QUERIES = 64
# Allow-lists up to this share of the catalog have their vectors gathered; longer ones are a
# mask over the product of every item. Half the dense families' share (topk.GATHER_SHARE):
# copying the rows costs about as much as the product they save (100k items, 64 factors:
# 10% of the items took 1.40 ms gathered, 1.18 ms masked; unfiltered 0.8-0.9 ms).
VECTOR_GATHER_SHARE = 1 / 16
# Rows of a score block per selection thread, at least: below this a thread costs more than
# the rows' selection.
MIN_SPLIT_ROWS = 16
# Unit roundoff of float32: bounds how far a float32 product can stray from the float64 one.
F32_UNIT = 2.0 ** -24


class ExactIndex(VectorIndex):
    """Brute-force top-k by inner product; the reference for ANN recall.

    Scores are float64 inner products, whatever the batch a query comes in: the float32
    product (BLAS speed) picks every item within a margin of the k-th best float32 score,
    the margin being twice the worst-case float32 rounding error of an inner product
    (``(d + 2) * 2**-24 * |query| * max |item|``), which provably holds the true top k and
    its ties; only those candidates are rescored in float64. Scoring everything in float64
    would cost about four times the product.

    Parameters
    ----------
    threads : int
        BLAS threads inside :meth:`search`; 0 leaves BLAS as configured.

    Notes
    -----
    Memory: the vectors twice (as given, and transposed to (d, n_items), which BLAS
    multiplies a single query by twice as fast: 0.85 vs 1.7 ms at 100k items). Time per
    query: O(n_items * d), in blocks of ``max(64, 2**23 / n_items)`` queries; the selection
    after each block runs on ``threads`` threads (0: the available cores).

    Examples
    --------
    >>> index = ExactIndex().build(np.eye(3, dtype=np.float32))
    >>> idx, scores = index.search(np.array([[0.1, 0.9, 0.5]]), k=2)
    >>> idx.tolist()
    [[1, 2]]
    """

    def __init__(self, threads: int = 0) -> None:
        self.threads = threads

    def __repr__(self) -> str:
        return f"ExactIndex(threads={self.threads!r})"

    def build(self, vectors: Any, show_progress: bool = False) -> ExactIndex:
        """Index ``vectors`` (n_items x d); returns self. Instant: nothing to show progress
        of."""
        check_int("threads", self.threads, minimum=0)
        vectors = as_vectors(vectors, "vectors")
        self._norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors, dtype=np.float64))
        self._top_norm = float(self._norms.max(initial=0.0))
        self._transposed = np.ascontiguousarray(vectors.T)
        self._vectors = vectors
        return self

    def search_unchecked(
        self,
        queries: np.ndarray,
        k: int,
        exclude: sp.csr_matrix | None = None,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        from recsys.ranking._kernels import select_rows  # numba: compiled on first use

        # A short allow-list is gathered (only its items scored); a long one is a mask in the
        # selection, which costs a pass instead of copying most of the vectors per request.
        gather = allowed is not None and len(allowed) <= VECTOR_GATHER_SHARE * self.n_items
        mask = ALL_ALLOWED
        if allowed is not None and not gather:
            mask = np.zeros(self.n_items, bool)
            mask[allowed] = True
        items = self.vectors[allowed] if gather else self.vectors
        n_queries, n_cols = len(queries), len(items)
        positions = np.full((n_queries, k), PAD, np.int64)
        scores = np.full((n_queries, k), np.nan, np.float32)
        if n_queries == 0 or n_cols == 0:
            return positions, scores
        # Under a mask, the largest norm of all items bounds the allowed ones too.
        top_norm, transposed = self._top_norm, self._transposed
        if gather:
            # The gathered rows, transposed as a view: gathering columns of the transposed
            # copy (strided over the whole catalog) cost 3-4 ms for 10k of 100k items, ten
            # times the product it would speed up (benchmarks/filters.py, "category").
            top_norm = float(self._norms[allowed].max(initial=0.0))
            transposed = items.T
        bound = 2.0 * (items.shape[1] + 2) * F32_UNIT * 1.01 * top_norm
        indptr, indices = exclusion_arrays(exclude, n_queries)
        remap = column_map(allowed, self.n_items) if gather else NO_EXCLUSIONS
        size = block_size(n_cols, k)
        batch = max(MIN_BLOCK_QUERIES, BLOCK_CELLS // n_cols)
        workers = worker_count(self.threads)
        for start in range(0, n_queries, batch):
            stop = min(start + batch, n_queries)
            query = np.ascontiguousarray(queries[start:stop])
            with blas_threads(self.threads):
                block = query @ transposed
            margin = bound * np.linalg.norm(query.astype(np.float64), axis=1)

            def select(first: int, last: int, start: int = start, block: np.ndarray = block,
                       margin: np.ndarray = margin, query: np.ndarray = query) -> None:
                select_rows(block[first:last], k, indptr[start + first:start + last + 1],
                            indices, remap, mask, margin[first:last], size,
                            query[first:last], items, positions[start + first:start + last],
                            scores[start + first:start + last])

            # The selection is a single-threaded kernel that releases the GIL: rows split
            # over the cores (on 100k items it took 60% of a batch's time after the product).
            run_split(select, stop - start, workers, MIN_SPLIT_ROWS)
        if gather and allowed is not None:
            positions = np.where(positions == PAD, PAD, allowed[np.maximum(positions, 0)])
        return positions, scores
