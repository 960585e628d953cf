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
from recsys.models.base import Recommender, Source
from recsys.ranking import ExactIndex, HNSWIndex, Index, blas_threads

INDEXES = ("exact", "hnsw")
WEIGHTINGS = ("auto", "binary", "raw", "log", "bm25")
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

    # Hyperparameters every factor family takes (set by the subclass's constructor).
    threads: int
    seed: int
    index: str
    index_params: dict | None
    weighting: str
    bm25_k1: float
    bm25_b: float
    # Learned state.
    user_factors_: np.ndarray
    item_factors_: np.ndarray

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
        """Set up the index over ``item_factors_``: exact, or an HNSW graph restored from
        the ``derived`` arrays of a saved model (no graph building) or built (after ``fit``,
        with a progress bar under ``show_progress``)."""
        index: Index = (HNSWIndex(**{"threads": self.threads, **self._index_params()})
                        if self.index == "hnsw" else ExactIndex(threads=self.threads))
        self._index = (index.build(self.item_factors_, show_progress) if derived is None
                       else index.restore(self.item_factors_, derived))
        self._indexed_factors = self.item_factors_

    def _derived_arrays(self) -> dict[str, np.ndarray]:
        """The built HNSW graph: loading it takes seconds where building took minutes."""
        return self._index.state()

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

    # ------------------------------------------------------------------ index ranking
    def _search_index(self) -> Index:
        if self._indexed_factors is not self.item_factors_:  # item vectors were replaced
            self._restore()
        return self._index

    def _query_vectors(self, source: Source, user_rows: np.ndarray,
                       seen: sp.csr_matrix) -> np.ndarray:
        return self.user_factors_[user_rows] if source is Source.KNOWN else self._fold_in(seen)

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


def check_weighting_params(model: Any) -> tuple[float, float]:
    """Validated BM25 parameters of a model with ``bm25_k1`` / ``bm25_b``."""
    k1 = check_real("bm25_k1", model.bm25_k1)
    b = check_real("bm25_b", model.bm25_b)
    if b > 1:
        raise ConfigError(f"bm25_b must be in [0, 1], got {model.bm25_b!r}")
    return k1, b
