"""Shared machinery of the latent-factor families trained by implicit (ALS, BPR, LMF).

A factor model scores a user and an item by the inner product of their vectors. Everything
that follows from that alone lives here: exact scoring under a BLAS thread limit, cosine
``similar_items``, the ``user_factors`` / ``item_factors`` frames, input weighting and the
optional ANN index (``index="hnsw"``) used to rank known users. A family only says which
implicit model to train and how to weigh its input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.sparse as sp

from recsys._checks import check_choice, check_int, check_real
from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.errors import ConfigError, DataError
from recsys.index._threads import blas_threads
from recsys.models._state import expect, expect_scalar
from recsys.models.base import _HISTORY, _KNOWN, SCORE_BLOCK_CELLS, Recommender
from recsys.models.topk import PAD, block_size, take_rows

INDEXES = ("exact", "hnsw")
WEIGHTINGS = ("auto", "binary", "raw", "log", "bm25")
# Queries per ANN search call: bounds the (queries x over-fetch) candidate arrays.
ANN_BATCH = 4096
# Unit roundoff of float32: bounds how far a float32 product can stray from the float64 one.
F32_UNIT = 2.0 ** -24
# Rows per score block of the exact search, at least: the product streams the whole item
# matrix once per block, and with fewer rows it is bound by memory, not arithmetic, on large
# catalogs (1M items: 16 rows ran at 0.8x raw implicit, 64 rows at 1.15x). The block then
# exceeds SCORE_BLOCK_CELLS: 64 x n_items float32, 256 MB at 1M items.
EXACT_MIN_ROWS = 64
# "auto" weighting: values that look like ratings (small numbers on a half-point grid) say the
# user consumed the item, not how much; anything wider (play counts, seconds) is log-scaled.
RATING_MAX = 10.0

def resolve_weighting(weighting: str, matrix: sp.csr_matrix) -> str:
    """The concrete weighting for ``weighting="auto"``, chosen from the value distribution.

    Constant values -> "binary"; negative values (dislikes in implicit's convention) ->
    "raw", which keeps their sign; rating-like values (multiples of 0.5 up to 10) ->
    "binary"; anything else (counts, durations) -> "log".
    """
    check_choice("weighting", weighting, WEIGHTINGS)
    if weighting != "auto":
        return weighting
    values = matrix.data
    if values.size == 0 or values.min() == values.max():
        return "binary"
    if values.min() < 0:
        return "raw"
    if values.max() <= RATING_MAX and np.all(np.mod(values * 2.0, 1.0) == 0):
        return "binary"
    return "log"


def bm25_rows(rows: sp.csr_matrix, item_lengths: np.ndarray, n_items: int, k1: float,
              b: float) -> sp.csr_matrix:
    """BM25 weights of user rows with items as documents and users as terms.

    This is implicit's ``bm25_weight`` applied to the items x users matrix (as in implicit's
    examples), written row-wise so that rows folded in later are weighed with the training
    statistics: ``item_lengths`` (column sums of the training matrix) and ``n_items``. On the
    training matrix itself it equals ``recsys.data.weighting.bm25(matrix.T, k1, b).T``.
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


def weigh(rows: sp.csr_matrix, weighting: str, item_lengths: np.ndarray, k1: float,
          b: float) -> sp.csr_matrix:
    """Apply a resolved weighting ("binary", "raw", "log", "bm25") to user rows.

    "log" is ``log2(1 + v)``: a single interaction weighs 1, as under "binary", so the
    confidence scale ``alpha`` keeps its meaning across weightings.
    """
    out = sp.csr_matrix(rows, dtype=np.float32, copy=True)
    out.sum_duplicates()
    if weighting == "binary":
        out.data = np.ones_like(out.data)
    elif weighting == "log":
        if out.nnz and out.data.min() <= -1:
            raise DataError(f"log weighting needs values > -1; got {float(out.data.min())}")
        out.data = np.log2(1.0 + out.data.astype(np.float64)).astype(np.float32)
    elif weighting == "bm25":
        out = bm25_rows(out, item_lengths, len(item_lengths), k1, b)
    out.eliminate_zeros()
    return out


class FactorModel(Recommender):
    """Base of the factor families; not a recommender of its own.

    A subclass implements ``_train(matrix, threads, seed, show_progress)`` returning the
    trained implicit model, and ``_training_input(interactions)``; it may set
    ``factor_columns`` for bias columns and implement ``_fold_in(history)`` (user vectors from
    interaction rows) together with ``supports_unknown_users = True``.

    Learned state: ``user_factors_`` (n_users, d) and ``item_factors_`` (n_items, d), float32;
    a user's score for an item is their inner product.
    """

    # Labels of trailing factor columns that are biases (implicit appends them for BPR/LMF).
    bias_columns: ClassVar[tuple[str, ...]] = ()

    # ------------------------------------------------------------------ fitting
    def _fit(self, interactions: Interactions, dataset: Dataset | None,
             show_progress: bool) -> None:
        threads = check_int("threads", self.threads, minimum=0)
        seed = check_int("seed", self.seed, minimum=0)
        check_choice("index", self.index, INDEXES)
        self._index_params()
        matrix = self._training_input(interactions)
        # implicit parallelises its own kernels and warns when BLAS runs threads under them.
        with blas_threads(1):
            backend = self._train(matrix, threads, seed, show_progress)
        user_factors = np.ascontiguousarray(backend.user_factors, dtype=np.float32)
        item_factors = np.ascontiguousarray(backend.item_factors, dtype=np.float32)
        if not (np.isfinite(user_factors).all() and np.isfinite(item_factors).all()):
            raise DataError(f"{type(self).__name__} produced non-finite factors; lower the "
                            "learning rate or check the input weights for huge values")
        self.user_factors_ = user_factors
        self.item_factors_ = item_factors
        self._restore(show_progress=show_progress)

    def _training_input(self, interactions: Interactions) -> sp.csr_matrix:
        raise NotImplementedError

    def _train(self, matrix: sp.csr_matrix, threads: int, seed: int, show_progress: bool) -> Any:
        raise NotImplementedError

    def _weighted_training_input(self, interactions: Interactions) -> sp.csr_matrix:
        """Resolve ``weighting`` on the training values and weigh them; keeps what fold-in
        needs to weigh new rows the same way (``weighting_``, ``item_lengths_``)."""
        k1, b = check_weighting_params(self)
        matrix = interactions.matrix
        self.weighting_ = resolve_weighting(self.weighting, matrix)
        self.item_lengths_ = np.asarray(matrix.sum(axis=0), dtype=np.float32).ravel()
        weighted = weigh(matrix, self.weighting_, self.item_lengths_, k1, b)
        if weighted.nnz == 0:
            # Every stored weight was zero: nothing to learn from, and implicit would
            # silently return near-zero factors that rank items by index.
            raise DataError(f"{type(self).__name__}: no interaction has a nonzero weight "
                            f"after {self.weighting_!r} weighting; nothing to fit")
        return weighted

    def _weigh_rows(self, rows: sp.csr_matrix) -> sp.csr_matrix:
        return weigh(rows, self.weighting_, self.item_lengths_, float(self.bm25_k1),
                     float(self.bm25_b))

    def _index_params(self) -> dict:
        params = {} if self.index_params is None else self.index_params
        if not isinstance(params, dict):
            raise ConfigError(f"index_params must be a dict or None, got {params!r}")
        return params

    def _restore(self, derived: Mapping[str, np.ndarray] | None = None,
                 show_progress: bool = False) -> None:
        """Set up the ANN index over ``item_factors_``: restored from the ``derived``
        arrays of a saved model (no graph building), or built (after ``fit``, with a
        progress bar under ``show_progress``)."""
        self._ann = None
        if self.index == "hnsw":
            from recsys.index import HNSWIndex

            ann = HNSWIndex(**{"threads": self.threads, **self._index_params()})
            self._ann = (ann.build(self.item_factors_, show_progress) if derived is None
                         else ann.restore(self.item_factors_, derived))

    def _derived_arrays(self) -> dict[str, np.ndarray]:
        """The built ANN index: loading it takes seconds where building took minutes."""
        ann = getattr(self, "_ann", None)
        return {} if ann is None else ann.state()

    # ------------------------------------------------------------------ scoring
    def _score(self, user_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        return self._dot(self.user_factors_[user_rows], item_cols)

    def _dot(self, vectors: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        """Scores ``vectors @ items.T`` as float32, accumulated in float64.

        float32 BLAS kernels sum in an order that depends on the batch shape (gemv for one
        user, gemm blocks for many), so a user's scores would change in the last bits with
        the batch it is scored in; summed in float64 and rounded once, they do not.
        """
        items = self.item_factors_ if item_cols is None else self.item_factors_[item_cols]
        with blas_threads(self.threads):
            scores = vectors.astype(np.float64) @ items.T.astype(np.float64)
        return scores.astype(np.float32)

    def _fold_in(self, history: sp.csr_matrix) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} cannot fold in users")

    def _score_history(self, history: sp.csr_matrix, item_cols: np.ndarray | None) -> np.ndarray:
        scores = self._dot(self._fold_in(history), item_cols)
        # A history with no known item carries no preference: rank those users by popularity.
        empty = np.diff(history.indptr) == 0
        if empty.any():
            scores[empty] = self._fallback_scores(int(empty.sum()), item_cols)
        return scores

    def _similar_items(self, item_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        norms = np.linalg.norm(self.item_factors_, axis=1)
        normalized = self.item_factors_ / np.maximum(norms, 1e-10)[:, None]
        columns = normalized if item_cols is None else normalized[item_cols]
        with blas_threads(self.threads):
            return normalized[item_rows] @ columns.T

    # ------------------------------------------------------------------ ANN ranking
    def _rank_batch_rows(self, n_cols: int) -> int:
        # Both searches cut their own score blocks; this only bounds the candidate arrays.
        return ANN_BATCH

    def _rank_users(
        self,
        kind: int,
        user_rows: np.ndarray,
        seen: sp.csr_matrix,
        item_cols: np.ndarray | None,
        k: int,
        exclude_seen: bool,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Search with the users' vectors: through the ANN index, or :meth:`_exact_search`
        (float32 product, float64 rescoring of the candidates)."""
        if kind == _HISTORY and (np.diff(seen.indptr) == 0).any():
            # A history without a known item gives no vector to search with: those users are
            # ranked the base's way (all scores equal, ties by item index).
            empty = np.diff(seen.indptr) == 0
            positions = np.full((len(user_rows), k), PAD, np.int64)
            scores = np.full((len(user_rows), k), np.nan, np.float32)
            for part, ranker in ((np.flatnonzero(empty), super()._rank_users),
                                 (np.flatnonzero(~empty), self._rank_users)):
                if len(part):
                    positions[part], scores[part] = ranker(
                        kind, user_rows[part], take_rows(seen, part), item_cols, k,
                        exclude_seen)
            return positions, scores
        ann = getattr(self, "_ann", None)
        search = self._exact_search if ann is None else ann.search
        queries = self.user_factors_[user_rows] if kind == _KNOWN else self._fold_in(seen)
        return search(queries, k, exclude=seen if exclude_seen else None, allowed=item_cols)

    def _item_search_data(self) -> tuple[np.ndarray, float, np.ndarray]:
        """The item vectors' Euclidean norms, their maximum, and a float32 copy of the vectors
        transposed to (factors, n_items), cached per ``item_factors_`` array.

        A single user's query must not pay a pass over the whole catalog for the norms, and
        BLAS multiplies a vector by the transposed layout about twice as fast (one user at
        100k items: 0.85 vs 1.7 ms), at the cost of a second copy of the item vectors.
        """
        cached = getattr(self, "_search_cache", None)
        if cached is None or cached[0] is not self.item_factors_:
            norms = np.sqrt(np.einsum("ij,ij->i", self.item_factors_, self.item_factors_,
                                      dtype=np.float64))
            transposed = np.ascontiguousarray(self.item_factors_.T, dtype=np.float32)
            cached = (self.item_factors_, norms, float(norms.max(initial=0.0)), transposed)
            self._search_cache = cached
        return cached[1], cached[2], cached[3]

    def _exact_search(
        self,
        queries: np.ndarray,
        k: int,
        exclude: sp.csr_matrix | None = None,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Exact top k by float64 scores, at the speed of a float32 product.

        Scoring everything in float64 (what makes a user's scores independent of the batch)
        costs about four times the float32 product. Instead the float32 scores pick
        candidates: every item whose float32 score is within ``margin`` of the k-th best,
        ``margin`` twice the worst-case float32 rounding error of an inner product
        (``(d + 2) * 2**-24 * |user| * max |item|``), which provably holds the true top k and
        its ties. Only those few candidates are rescored in float64 (a compiled kernel,
        :func:`recsys.models._select.rescored_top_k`), so the result (items, order and
        scores) is the float64 one, whatever the batch.

        Memory: score blocks of ``max(64, 2**24 / n_items)`` users x n_items float32.
        """
        from recsys.models._select import rescored_top_k  # numba: imported on first use

        items = self.item_factors_ if allowed is None else self.item_factors_[allowed]
        n_queries, n_cols = len(queries), len(items)
        if exclude is not None and allowed is not None:
            exclude = exclude[:, allowed].tocsr()
        positions = np.full((n_queries, k), PAD, np.int64)
        scores = np.full((n_queries, k), np.nan, np.float32)
        if n_queries == 0 or n_cols == 0:
            return positions, scores
        norms, top_norm, transposed = self._item_search_data()
        if allowed is not None:
            top_norm = float(norms[allowed].max())
            transposed = np.ascontiguousarray(transposed[:, allowed])
        bound = 2.0 * (items.shape[1] + 2) * F32_UNIT * 1.01 * top_norm
        nothing = np.zeros(n_queries + 1, np.int64)
        indptr, indices = ((nothing, nothing) if exclude is None
                           else (exclude.indptr, exclude.indices))
        batch = max(EXACT_MIN_ROWS, SCORE_BLOCK_CELLS // n_cols)
        for start in range(0, n_queries, batch):
            stop = min(start + batch, n_queries)
            query = np.ascontiguousarray(queries[start:stop])
            with blas_threads(self.threads):
                block = query.astype(np.float32, copy=False) @ transposed
            margin = bound * np.linalg.norm(query.astype(np.float64), axis=1)
            rescored_top_k(block, query, items, indptr[start:stop + 1], indices, margin, k,
                           block_size(n_cols, k), positions[start:stop], scores[start:stop])
        if allowed is not None:
            positions = np.where(positions == PAD, PAD, allowed[np.maximum(positions, 0)])
        return positions, scores

    # ------------------------------------------------------------------ public extras
    def _factor_frame(self, factors: np.ndarray, ids: np.ndarray, name: str) -> pd.DataFrame:
        n_latent = factors.shape[1] - len(self.bias_columns)
        columns = list(range(n_latent)) + list(self.bias_columns)
        return pd.DataFrame(factors, index=pd.Index(ids, name=name), columns=columns)

    @property
    def user_factors(self) -> pd.DataFrame:
        """User vectors, one row per user (external ids); bias columns named, if any."""
        self._check_fitted()
        return self._factor_frame(self.user_factors_, self.users_.ids, "user")

    @property
    def item_factors(self) -> pd.DataFrame:
        """Item vectors, one row per item (external ids); ``user_factors @ item_factors.T``
        gives the scores."""
        self._check_fitted()
        return self._factor_frame(self.item_factors_, self.items_.ids, "item")

    def _check_state(self) -> None:
        n_items = len(self.items_)
        item_factors = expect(self, "item_factors_", (n_items, None))
        expect(self, "user_factors_", (len(self.users_), item_factors.shape[1]))
        if hasattr(self, "item_lengths_"):  # kept by families that weigh their input
            expect(self, "item_lengths_", (n_items,))
        if hasattr(self, "weighting_"):
            expect_scalar(self, "weighting_", (str,),
                          lambda v: check_choice("weighting_", v, WEIGHTINGS))
        if hasattr(self, "regularization_"):
            expect_scalar(self, "regularization_", (int, float),
                          lambda v: check_real("regularization_", v))
        # Read when the index is rebuilt or restored right after this check.
        check_choice("index", self.index, INDEXES)
        check_int("threads", self.threads, minimum=0)


def check_weighting_params(model: Any) -> tuple[float, float]:
    """Validated BM25 parameters of a model with ``bm25_k1`` / ``bm25_b``."""
    k1 = check_real("bm25_k1", model.bm25_k1)
    b = check_real("bm25_b", model.bm25_b)
    if b > 1:
        raise ConfigError(f"bm25_b must be in [0, 1], got {model.bm25_b!r}")
    return k1, b
