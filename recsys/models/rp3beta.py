"""RP3beta: item-item similarities from three-step random walks (Paudel et al., 2017)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import scipy.sparse as sp

from recsys._checks import check_int, check_real
from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.models._state import expect, expect_scalar
from recsys.models.base import Recommender
from recsys.models.weighted import SparseItemItem
from recsys.ranking.heldout import held_rows, mean_accuracy, within_noise
from recsys.ranking.topk import top_k_entries
from recsys.split import random as random_split

LOG = logging.getLogger("recsys")

# Rows of the item x item product computed per sparse product: bounds the intermediate
# (a block has at most this many rows x n_items entries before pruning to k per row).
SIMILARITY_BLOCK_CELLS = 1 << 23
# beta="auto": the penalties tried on a validation split of the training data (share
# AUTO_VALID_SIZE of each user's entries), scored by NDCG@AUTO_K.
AUTO_BETAS = (0.2, 0.3, 0.4, 0.5, 0.6, 0.7)
AUTO_VALID_SIZE = 0.2
AUTO_K = 10
# beta when "auto" has nothing to validate on: the best fixed value on the four data sets.
FALLBACK_BETA = 0.4


def row_normalize(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Each row divided by its sum (a transition matrix); empty rows stay empty."""
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    inverse = np.divide(1.0, sums, out=np.zeros_like(sums, dtype=np.float64), where=sums > 0)
    return sp.csr_matrix(sp.diags(inverse) @ matrix)


def rp3beta_similarity(matrix: sp.csr_matrix, alpha: float, beta: float,
                       k: int) -> sp.csr_matrix:
    """The RP3beta item x item matrix ``W``; row i scores every item for a user holding i.

    ``W = (P_iu^alpha @ P_ui^alpha) diag(1 / popularity^beta)`` where ``P_ui`` is the
    row-normalised user -> item transition matrix, ``P_iu`` the row-normalised item -> user
    one, the power applies elementwise to the transition probabilities, and ``popularity`` is
    the number of users of each item. Positive weights shape the transition probabilities
    (binary input gives the plain walk); a non-positive weight is no edge. The diagonal is
    zeroed and each row keeps its k largest entries.
    """
    return rp3beta_similarities(matrix, alpha, [beta], k)[0]


def rp3beta_similarities(matrix: sp.csr_matrix, alpha: float, betas: Sequence[float],
                         k: int) -> list[sp.csr_matrix]:
    """:func:`rp3beta_similarity` for each of ``betas``, from one walk product: the
    popularity penalty scales the product's columns, so only the pruning is per beta."""
    matrix = sp.csr_matrix(matrix, dtype=np.float64)
    positive = matrix.copy()
    positive.data = (positive.data > 0).astype(np.float64)
    positive.eliminate_zeros()
    matrix = matrix.multiply(positive).tocsr()  # non-positive weights are no edge
    matrix.eliminate_zeros()
    user_item = row_normalize(matrix)
    item_user = row_normalize(sp.csr_matrix(matrix.T))
    if alpha != 1.0:
        user_item.data **= alpha
        item_user.data **= alpha
    n_items = matrix.shape[1]
    popularity = np.bincount(positive.indices, minlength=n_items).astype(np.float64)
    # Items nobody interacted with have no column entries anyway; avoid 0 ** -beta.
    column_scales = [np.divide(1.0, popularity ** beta, out=np.zeros(n_items),
                               where=popularity > 0) for beta in betas]
    blocks: list[list[sp.csr_matrix]] = [[] for _ in betas]
    step = max(1, SIMILARITY_BLOCK_CELLS // max(1, n_items))
    for start in range(0, n_items, step):
        stop = min(n_items, start + step)
        block = sp.csr_matrix(item_user[start:stop] @ user_item)
        # Zero the diagonal (an item does not recommend itself) before pruning to k.
        rows = np.repeat(np.arange(start, stop), np.diff(block.indptr))
        block.data[block.indices == rows] = 0.0
        block.eliminate_zeros()
        block.sort_indices()  # once here, not in every pruning
        for scale, pruned in zip(column_scales, blocks, strict=True):
            scaled = block.copy()
            scaled.data *= scale[scaled.indices]
            pruned.append(top_k_entries(scaled, k))
    return [sp.csr_matrix(sp.vstack(pruned, format="csr"), dtype=np.float32)
            for pruned in blocks]


class RP3beta(SparseItemItem, Recommender):
    """Graph-based item-item recommender (Paudel et al., 2017; Christoffel et al., 2015).

    Users and items form a bipartite graph. The similarity of item i to item j is the
    probability of a three-step random walk item i -> user -> item j, with every transition
    probability raised to ``alpha`` and divided by the popularity of j raised to ``beta``
    (which lifts long-tail items). A user's score for an item is the sum of its similarities
    from the items in the user's history, so users unknown at fit time fold in exactly.

    Parameters
    ----------
    alpha : float
        Exponent on the transition probabilities (1 is the plain random walk, P3).
    beta : float or "auto"
        Popularity penalty: similarities to item j are divided by ``popularity_j ** beta``
        (0 gives P3alpha). "auto" (the default) chooses it at ``fit`` on a validation split
        carved from the training data (below); the value used is ``beta_``.
    k : int
        Neighbours kept per item (the largest similarities of each row).
    weighting : {"auto", "binary", "raw", "log", "bm25"}
        How stored values become weights: the same options and the same detection as
        :class:`recsys.ALS`; "auto" gives "binary" for ratings, constant values and amounts
        (counts, hours: binary beat ``log2(1+v)`` on validation, 0.2326 vs 0.2132 NDCG@10 on
        Steam play time, 0.2861 vs 0.2830 on the demo data) and "raw" for negative values.
    bm25_k1, bm25_b : float
        BM25 parameters (``weighting="bm25"`` only).

    Attributes
    ----------
    similarity_ : scipy.sparse.csr_matrix of float32, shape (n_items, n_items)
        ``W``; row i holds what an interaction with item i adds to every item's score.
    beta_ : float
        The popularity penalty used (``beta`` with "auto" resolved).
    beta_search_ : numpy.ndarray or None
        ``beta="auto"``: one row per penalty of ``AUTO_BETAS``, the penalty, its validation
        NDCG@10 and 1 where that is within one paired standard error of the best (else 0);
        None otherwise.

    Notes
    -----
    Memory O(n_items x k) for ``W``. Fitting is a sparse product ``P_iu @ P_ui`` computed in
    row blocks, each block pruned to k entries per row before the next, so the full
    item x item product never exists at once; time O(sum over users of n_u^2). Scoring a
    batch is one sparse product.

    The defaults (alpha 0.75, k 200) lost least NDCG@10 against the best of a 45-point grid
    on validation splits of ML-100K, of ML-100K at half density and of the demo data
    (benchmarks/tune_ease_rp3_lightfm.py); k 400 gained 0.001 at twice the memory.

    **beta="auto".** The best penalty moves with the data more than any rule of it that
    the data sets support: on validation (``benchmarks/defaults.py``) beta 0.6 / 0.4 / 0.2
    scored 0.2491 / 0.2484 / 0.2386 NDCG@10 on MovieLens 100K, 0.1335 / 0.2326 / 0.2376 on
    Steam play time, 0.2081 / 0.2184 / 0.2180 on groceries and 0.2671 / 0.2861 / 0.2841 on
    the demo data, and on test MovieLens wanted 0.6 (0.4067 against 0.3854 at 0.4, 0.95 of
    it) where Steam collapses (0.2114 against 0.3005 at 0.3). Longer histories want a
    larger penalty (MovieLens has 85 entries per user, the others 4-19), but with one long
    history data set a rule fitted on the others cannot learn the slope (chosen on them,
    beta 0.2 scores 0.90 of the optimum on MovieLens). So "auto" measures: it holds out
    ``AUTO_VALID_SIZE`` of each user's entries (seed 0), computes the walk product on the
    rest once, prunes it for every penalty of ``AUTO_BETAS`` (0.2 to 0.7), scores each by
    NDCG@10 on the held-out entries (of up to 10,000 users), and keeps the strongest
    penalty within one paired standard error of the best one; then it fits on all the data
    with it. Why the strongest:
    the optimum moved up with more data on every data set (validation optimum on 64% of the
    data vs test optimum on 80%: 0.5 vs 0.6 on MovieLens, 0.2 vs 0.3 on Steam, 0.3 vs 0.5 on
    groceries, 0.3 vs 0.4 on the demo data), and a stronger penalty widens the catalog
    covered. On test that gave 0.4067 / 0.3005 / 0.2419 / 0.3625 NDCG@10 (beta 0.6 / 0.3 /
    0.3 / 0.4) against 0.3981 / 0.2960 / 0.2419 / 0.3625 for the best penalty on validation
    and 0.3854 / 0.2968 / 0.2436 / 0.3625 for a fixed 0.4. It costs a fit on 80% of the
    data, one pruning and one scoring of the validation users per penalty on top of the
    fit; with fewer than two entries per user nothing is held out, and beta is 0.4 (the
    best fixed value on the four data sets).

    Examples
    --------
    >>> import recsys as rs
    >>> inter = rs.Interactions.from_arrays(
    ...     ["u1", "u1", "u2", "u2", "u3"], ["a", "b", "a", "b", "a"])
    >>> rs.RP3beta(k=5).fit(inter).recommend("u3", k=1)["u3"]
    ['b']
    """

    supports_unknown_users = True
    # Amounts are binarised (measurements in the docstring, under ``weighting``).
    amounts_weighting = "binary"

    def __init__(self, alpha: float = 0.75, beta: float | str = "auto", k: int = 200,
                 weighting: str = "auto", bm25_k1: float = 100.0, bm25_b: float = 0.8) -> None:
        self.alpha = alpha
        self.beta = beta
        self.k = k
        self.weighting = weighting
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b

    def _fit(self, interactions: Interactions, dataset: Dataset | None,
             show_progress: bool) -> None:
        alpha = check_real("alpha", self.alpha)
        auto = isinstance(self.beta, str) and self.beta == "auto"
        beta = FALLBACK_BETA if auto else check_real("beta", self.beta)
        k = check_int("k", self.k)
        self.beta_search_ = self._beta_search(interactions, alpha, k) if auto else None
        if self.beta_search_ is not None:
            # The strongest penalty the validation split cannot tell from the best (why: the
            # class docstring).
            beta = float(self.beta_search_[self.beta_search_[:, 2] == 1, 0].max())
        self.beta_ = float(beta)
        matrix = self._weighted_training_input(interactions)
        self.similarity_ = rp3beta_similarity(matrix, alpha, self.beta_, k)

    def _beta_search(self, interactions: Interactions, alpha: float,
                     k: int) -> np.ndarray | None:
        """One row per penalty of AUTO_BETAS: the penalty, its validation NDCG@10 and 1 when
        that is within a paired standard error of the best (else 0); None when the split
        holds nothing out."""
        part, valid = random_split(interactions, test_size=AUTO_VALID_SIZE, seed=0)
        if not (valid.matrix.data > 0).any():
            LOG.warning("RP3beta: no validation entry to choose beta on (users have too few "
                        "interactions); beta=%s", FALLBACK_BETA)
            return None
        history = self._weighted_training_input(part)  # the full fit redoes it
        similarities = rp3beta_similarities(history, alpha, AUTO_BETAS, k)
        relevant = sp.csr_matrix(valid.matrix > 0)
        per_user = mean_accuracy(
            lambda rows: [(history[rows] @ w).toarray() for w in similarities], part.matrix,
            relevant, k=AUTO_K, per_row=True, rows=held_rows(relevant))
        means = per_user.mean(axis=1)
        near = within_noise(per_user, int(np.argmax(means)))
        return np.column_stack([AUTO_BETAS, means, near])

    def _check_state(self) -> None:
        super()._check_state()
        if hasattr(self, "beta_"):  # models saved before beta="auto" have none
            expect_scalar(self, "beta_", (float,), lambda v: check_real("beta_", v))
        if getattr(self, "beta_search_", None) is not None:
            expect(self, "beta_search_", (len(AUTO_BETAS), 3), dtype="float64")
