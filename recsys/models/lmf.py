"""Logistic Matrix Factorization (Johnson 2014): interaction probabilities, by implicit."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._checks import check_int, check_real
from recsys.data.interactions import Interactions
from recsys.models.factors import FactorModel
from recsys.models.weighted import WeightedInput


class LMF(WeightedInput, FactorModel):
    """Logistic matrix factorization (implicit's CPU kernel): the probability that a user
    interacts with an item is the logistic of their inner product plus user and item biases.

    Vectors carry both biases as their last two coordinates (``item_bias`` and ``user_bias``
    in :attr:`user_factors` / :attr:`item_factors`, paired with a 1 on the other side), so a
    score is still one inner product (the log-odds; ranking by it equals ranking by the
    probability).

    Parameters
    ----------
    factors : int
        Dimension of the vectors (the two bias columns come on top).
    learning_rate : float
        Step size of implicit's AdaGrad updates.
    regularization : float
        L2 penalty.
    iterations : int
        Epochs.
    neg_prop : int
        Negative samples per positive.
    weighting : {"auto", "binary", "raw", "log", "bm25"}
        How stored values become the positives' weights; see :class:`recsys.ALS`.
    bm25_k1, bm25_b : float
        BM25 parameters (``weighting="bm25"`` only).
    seed : int
        Seed of the initial factors and of the sampling.
    threads : int
        Training threads (0: every core); deterministic for a seed only with ``threads=1``.
    index : {"exact", "hnsw"}
        Ranking through exact products or an :class:`recsys.ranking.HNSWIndex`.
    index_params : dict, optional
        Keyword arguments of :class:`recsys.ranking.HNSWIndex`.

    Notes
    -----
    The defaults are implicit's, which were tuned for LMF by its authors; LMF ranks below
    ALS and BPR on MovieLens 100K and is offered for completeness. Users unknown at fit time
    cannot be folded in: they follow ``on_unknown``.

    Examples
    --------
    >>> import recsys as rs
    >>> train = rs.datasets.demo().interactions
    >>> model = rs.LMF(factors=8, iterations=3, threads=1).fit(train)
    >>> model.user_factors.shape == (train.n_users, 10)
    True
    """

    bias_columns = ("item_bias", "user_bias")
    # implicit's defaults for LMF were tuned on its own weights; not re-studied here.
    normalize_weights = False

    def __init__(
        self,
        factors: int = 30,
        learning_rate: float = 1.0,
        regularization: float = 0.6,
        iterations: int = 30,
        neg_prop: int = 30,
        weighting: str = "auto",
        bm25_k1: float = 100.0,
        bm25_b: float = 0.8,
        seed: int = 0,
        threads: int = 0,
        index: str = "exact",
        index_params: dict | None = None,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.neg_prop = neg_prop
        self.weighting = weighting
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.seed = seed
        self.threads = threads
        self.index = index
        self.index_params = index_params

    def _training_input(self, interactions: Interactions) -> sp.csr_matrix:
        return self._weighted_training_input(interactions)

    def _train(self, matrix: sp.csr_matrix, threads: int, seed: int, show_progress: bool) -> Any:
        from implicit.cpu.lmf import LogisticMatrixFactorization

        backend = LogisticMatrixFactorization(
            factors=check_int("factors", self.factors),
            learning_rate=check_real("learning_rate", self.learning_rate, strict=True),
            regularization=check_real("regularization", self.regularization),
            dtype=np.float32,
            iterations=check_int("iterations", self.iterations),
            neg_prop=check_int("neg_prop", self.neg_prop, minimum=0),
            num_threads=threads,
            random_state=seed,
        )
        backend.fit(matrix, show_progress=show_progress)
        return backend
