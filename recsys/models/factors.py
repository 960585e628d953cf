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
from recsys._memory import available_memory
from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.errors import ConfigError, DataError
from recsys.models._state import expect, expect_scalar
from recsys.models.base import KNOWN, Changes, Recommender, Source
from recsys.models.weighted import WeightedInput
from recsys.ranking import ExactIndex, HNSWIndex, Index, blas_threads

INDEXES = ("exact", "hnsw")
# Float32 copies of the factor matrices a fit holds at its peak (see check_factor_memory).
FACTOR_COPIES = 4


def check_factor_memory(factors: int, n_users: int, n_items: int) -> None:
    """Refuse a fit whose factor matrices cannot fit in memory, before allocating them.

    The backend holds the user and item factors, our float32 copies, and the exact index's
    transposed copy: about ``FACTOR_COPIES`` float32 matrices of (users + items) x factors.
    """
    needed = FACTOR_COPIES * 4 * factors * (n_users + n_items)
    available = available_memory()
    if available is not None and needed > available:
        raise ConfigError(f"factors={factors} needs about {needed / 1e9:.1f} GB for "
                          f"{n_users:,} users and {n_items:,} items, more than the "
                          f"{available / 1e9:.1f} GB available; use fewer factors")


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
    factors: int
    threads: int
    seed: int
    index: str
    index_params: dict | None
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
        check_factor_memory(check_int("factors", self.factors), interactions.n_users,
                            interactions.n_items)
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

    def _update(self, changes: Changes, show_progress: bool) -> None:
        """Families without an exact step (BPR, LMF): known vectors are kept; a new user
        gets the vector that ranks by the learned item biases, a new item the vector that
        scores it by the user's bias alone, until the next fit."""
        n_users, n_items = changes.added.shape
        self.user_factors_ = self._grown(self.user_factors_, n_users, "item_bias")
        self.item_factors_ = self._grown(self.item_factors_, n_items, "user_bias")
        self._restore(show_progress=show_progress)
        self._warn_unscored(changes)

    def _grown(self, factors: np.ndarray, n_rows: int, unit: str) -> np.ndarray:
        """``factors`` with rows added up to ``n_rows``: zeros, and 1 in the bias column
        named ``unit`` (the coordinate that multiplies the other side's bias)."""
        extra = np.zeros((n_rows - len(factors), factors.shape[1]), np.float32)
        if unit in self.bias_columns:
            extra[:, factors.shape[1] - len(self.bias_columns)
                  + self.bias_columns.index(unit)] = 1.0
        return np.vstack([factors, extra]) if len(extra) else factors

    def _train(self, matrix: sp.csr_matrix, threads: int, seed: int, show_progress: bool) -> Any:
        raise NotImplementedError

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

    def _contributions(self, user_row: int, history: sp.csr_matrix,
                       column: int) -> tuple[str, np.ndarray, np.ndarray]:
        """The score as the sum over latent factors (and bias columns) of user x item."""
        vector = (self.user_factors_[user_row] if user_row >= 0
                  else self._fold_in(history)[0])
        n_latent = self.item_factors_.shape[1] - len(self.bias_columns)
        names = np.array([f"factor {f}" for f in range(n_latent)] + list(self.bias_columns),
                         dtype=object)
        return "factor", names, (vector.astype(np.float64)
                                 * self.item_factors_[column].astype(np.float64))

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
        return self.user_factors_[user_rows] if source is KNOWN else self._fold_in(seen)

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
        if isinstance(self, WeightedInput):  # the families that weigh their input
            self._check_weighting_state(n_items)
        if hasattr(self, "alpha_"):
            expect_scalar(self, "alpha_", (float,),
                          lambda v: check_real("alpha_", v, strict=True))
        if hasattr(self, "regularization_"):
            expect_scalar(self, "regularization_", (float,),
                          lambda v: check_real("regularization_", v))
        # Read when the index is rebuilt or restored right after this check.
        check_choice("index", self.index, INDEXES)
        check_int("threads", self.threads, minimum=0)
