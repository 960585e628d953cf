"""Bayesian Personalized Ranking (Rendle et al. 2009): pairwise ranking factors, by implicit."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._checks import check_int, check_real
from recsys.data.interactions import Interactions
from recsys.models.factors import FactorModel


class BPR(FactorModel):
    """Matrix factorization trained by SGD on BPR's pairwise loss (implicit's CPU kernel).

    Each step samples a user, one of their items and an item they did not interact with, and
    pushes the first above the second. Only whether an interaction exists matters: weights
    are ignored. Item vectors carry a bias as their last coordinate (``item_bias`` in
    :attr:`item_factors`; the matching user coordinate is 1).

    Parameters
    ----------
    factors : int
        Dimension of the vectors (the bias column comes on top).
    learning_rate : float
        SGD step size.
    regularization : float
        L2 penalty per SGD step.
    iterations : int
        Epochs over the interactions.
    verify_negative_samples : bool
        Re-draw a sampled negative the user actually interacted with (slower, better).
    seed : int
        Seed of the initial factors and of the sampling.
    threads : int
        Training threads (0: every core); also BLAS threads when scoring. Training is
        deterministic for a seed only with ``threads=1`` (Hogwild updates otherwise).
    index : {"exact", "hnsw"}
        Ranking through exact products or an :class:`recsys.ranking.HNSWIndex`.
    index_params : dict, optional
        Keyword arguments of :class:`recsys.ranking.HNSWIndex`.

    Notes
    -----
    Users unknown at fit time cannot be folded in (BPR has no closed-form user step): they
    follow ``on_unknown``. The defaults (128 factors, learning rate 0.01, regularization 0.01,
    60 iterations) rank first on validation splits of MovieLens 100K and of the demo data
    (``benchmarks/tune_defaults.py --family BPR``); BPR is sensitive to the learning rate and
    the number of epochs, so tune both with :func:`recsys.tune` on new data.

    Examples
    --------
    >>> import recsys as rs
    >>> train = rs.datasets.demo().interactions
    >>> model = rs.BPR(factors=16, iterations=5, threads=1).fit(train)
    >>> list(model.item_factors.columns)[-1]
    'item_bias'
    """

    bias_columns = ("item_bias",)

    def __init__(
        self,
        factors: int = 128,
        learning_rate: float = 0.01,
        regularization: float = 0.01,
        iterations: int = 60,
        verify_negative_samples: bool = True,
        seed: int = 0,
        threads: int = 0,
        index: str = "exact",
        index_params: dict | None = None,
    ) -> None:
        self.factors = factors
        self.learning_rate = learning_rate
        self.regularization = regularization
        self.iterations = iterations
        self.verify_negative_samples = verify_negative_samples
        self.seed = seed
        self.threads = threads
        self.index = index
        self.index_params = index_params

    def _training_input(self, interactions: Interactions) -> sp.csr_matrix:
        binary = sp.csr_matrix(interactions.matrix, dtype=np.float32, copy=True)
        binary.data = (binary.data > 0).astype(np.float32)
        binary.eliminate_zeros()
        return binary

    def _train(self, matrix: sp.csr_matrix, threads: int, seed: int, show_progress: bool) -> Any:
        from implicit.cpu.bpr import BayesianPersonalizedRanking

        backend = BayesianPersonalizedRanking(
            factors=check_int("factors", self.factors),
            learning_rate=check_real("learning_rate", self.learning_rate, strict=True),
            regularization=check_real("regularization", self.regularization),
            dtype=np.float32,
            iterations=check_int("iterations", self.iterations),
            num_threads=threads,
            verify_negative_samples=bool(self.verify_negative_samples),
            random_state=seed,
        )
        backend.fit(matrix, show_progress=show_progress)
        return backend
