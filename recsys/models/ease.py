"""EASE: the closed-form shallow autoencoder of Steck (2019), in numpy/scipy."""

from __future__ import annotations

import logging

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

from recsys._checks import check_choice, check_int, check_real
from recsys._memory import available_memory
from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.errors import ConfigError
from recsys.models._state import expect, expect_scalar
from recsys.models.base import Recommender
from recsys.models.weighted import WeightedInput, item_item_contributions

logger = logging.getLogger("recsys")

# The default l2 is a rule of the data: L2_PER_USER times the mean number of users per item
# (the typical diagonal of X^T X with weights normalised to a mean of 1), capped at L2_CAP.
# See the class docstring for the measurements behind both numbers.
L2_PER_USER = 10.0
L2_CAP = 500.0
SOLVERS = ("auto", "primal", "dual")

# Bytes per catalog cell at the peak of a fit: the float64 Gram matrix (inverted in place)
# and the float32 weights it is turned into.
BYTES_PER_ITEM_PAIR = 8 + 4
# Cells of the Gram matrix built per sparse product (bounds the sparse intermediate).
GRAM_BLOCK_CELLS = 1 << 22
# Fraction of the available memory a fit may plan to use (the rest is for everything else).
MEMORY_HEADROOM = 0.9


def ease_memory_bytes(n_items: int) -> int:
    """Peak memory of an EASE fit over ``n_items`` items (dense item x item matrices)."""
    block = min(n_items * n_items, GRAM_BLOCK_CELLS)
    # The sparse block of X^T X holds at most `block` entries of 4-byte index + 8-byte value.
    return BYTES_PER_ITEM_PAIR * n_items * n_items + 12 * block


def check_ease_memory(n_items: int, max_memory_gb: float | None, extra_bytes: int = 0) -> None:
    """Refuse, with the figure, a catalog whose item x item matrices (plus ``extra_bytes``
    of user-side matrices) would not fit."""
    need = ease_memory_bytes(n_items) + extra_bytes
    if max_memory_gb is not None:
        limit, source = max_memory_gb * 1e9, f"max_memory_gb={max_memory_gb:g}"
    else:
        available = available_memory()
        if available is None:  # unknown platform: let the allocation itself decide
            return
        limit, source = available * MEMORY_HEADROOM, "available memory"
    if need > limit:
        raise ConfigError(
            f"EASE needs about {need / 1e9:.2f} GB of memory for {n_items:,} items (dense "
            f"{n_items:,} x {n_items:,} matrices: float64 Gram/inverse and float32 weights, "
            f"{BYTES_PER_ITEM_PAIR} bytes per item pair), more than the {limit / 1e9:.2f} GB "
            f"allowed ({source}). Reduce the catalog (Interactions.filter(min_item=...)), use a "
            f"sparse model (RP3beta, ItemKNN), or raise max_memory_gb if more memory is free."
        )


def gram_matrix(matrix: sp.csr_matrix) -> np.ndarray:
    """``X^T X`` as a dense Fortran-ordered float64 array, built in column blocks so that the
    sparse intermediate stays small whatever the catalog size."""
    n_items = matrix.shape[1]
    columns = sp.csc_matrix(matrix, dtype=np.float64)
    transposed = columns.T.tocsr()
    gram = np.empty((n_items, n_items), dtype=np.float64, order="F")
    step = max(1, GRAM_BLOCK_CELLS // max(1, n_items))
    for start in range(0, n_items, step):
        stop = min(n_items, start + step)
        gram[:, start:stop] = (transposed @ columns[:, start:stop]).toarray()
    return gram


def primal_inverse(gram: np.ndarray, l2: float) -> np.ndarray:
    """``P = (G + l2 I)^-1`` in float64, both triangles filled.

    ``gram`` (float64, Fortran order) is overwritten: the inverse is computed in place by a
    Cholesky factorisation (``G + l2 I`` is symmetric positive definite for ``l2 > 0``), which
    costs half the flops of a general inverse and no second n x n buffer.
    """
    n_items = gram.shape[0]
    gram[np.diag_indices(n_items)] += l2
    factor, info = lapack.dpotrf(gram, lower=0, clean=0, overwrite_a=1)
    if info != 0:
        raise ConfigError(f"EASE: the regularised Gram matrix is not positive definite "
                          f"(LAPACK dpotrf info={info}); use a larger l2")
    inverse, info = lapack.dpotri(factor, lower=0, overwrite_c=1)
    if info != 0:
        raise ConfigError(f"EASE: inverting the Gram matrix failed (LAPACK dpotri info={info})")
    # dpotri fills the upper triangle only; mirror it into the lower one, block by block.
    step = max(1, GRAM_BLOCK_CELLS // max(1, n_items))
    for start in range(0, n_items, step):
        stop = min(n_items, start + step)
        inverse[start:stop, :start] = inverse[:start, start:stop].T
        block = inverse[start:stop, start:stop]
        lower = np.tril_indices(stop - start, -1)
        block[lower] = block.T[lower]
    return inverse


def dual_inverse(matrix: sp.csr_matrix, l2: float) -> np.ndarray:
    """The same ``P = (X^T X + l2 I)^-1`` through the users: by the Woodbury identity
    ``P = (I - X^T (X X^T + l2 I)^-1 X) / l2``.

    The factorisation is of the n_users x n_users matrix, so this is the cheaper side when
    users are fewer than items (O(n_users^2 n_items) instead of O(n_items^3)).
    """
    rows = sp.csr_matrix(matrix, dtype=np.float64)
    kernel = np.asfortranarray((rows @ rows.T).toarray())
    kernel[np.diag_indices(kernel.shape[0])] += l2
    factor, info = lapack.dpotrf(kernel, lower=0, clean=0, overwrite_a=1)
    if info != 0:
        raise ConfigError(f"EASE: the regularised user Gram matrix is not positive definite "
                          f"(LAPACK dpotrf info={info}); use a larger l2")
    solved, info = lapack.dpotrs(factor, rows.toarray(), lower=0)
    if info != 0:
        raise ConfigError(f"EASE: the user-side solve failed (LAPACK dpotrs info={info})")
    inverse = np.asarray(rows.T @ solved)
    inverse *= -1.0 / l2
    inverse[np.diag_indices(inverse.shape[0])] += 1.0 / l2
    return inverse


def weights_from_inverse(inverse: np.ndarray) -> np.ndarray:
    """Steck's closed form from ``P``: ``B[i, j] = -P[i, j] / P[j, j]`` off the diagonal, 0
    on it (float32, built in row blocks)."""
    n_items = inverse.shape[0]
    scale = -1.0 / np.diag(inverse)
    weights = np.empty((n_items, n_items), dtype=np.float32)
    step = max(1, GRAM_BLOCK_CELLS // max(1, n_items))
    for start in range(0, n_items, step):
        stop = min(n_items, start + step)
        weights[start:stop] = inverse[start:stop] * scale[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights


def ease_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """Steck's closed form ``B = I - P diag(1/diag(P))`` with ``P = (G + l2 I)^-1``;
    ``gram`` is overwritten (see :func:`primal_inverse`)."""
    return weights_from_inverse(primal_inverse(gram, l2))


def default_l2(matrix: sp.csr_matrix, *, per_user: float = L2_PER_USER,
               cap: float = L2_CAP) -> float:
    """The "auto" l2 of a training matrix: ``per_user`` times the mean number of users per
    item that has any, capped at ``cap``.

    Examples
    --------
    >>> default_l2(sp.csr_matrix([[1.0, 1.0], [1.0, 0.0]]))  # 1.5 users per item
    15.0
    """
    items_held = max(1, int(np.count_nonzero(np.bincount(matrix.indices,
                                                         minlength=matrix.shape[1]))))
    return float(min(cap, per_user * matrix.nnz / items_held))


class EASE(WeightedInput, Recommender):
    """Embarrassingly Shallow Autoencoder (Steck, 2019): a linear item-item model with a
    closed-form solution.

    The weights ``B`` minimise ``||X - X B||^2 + l2 ||B||^2`` subject to ``diag(B) = 0``:
    ``B = I - P diag(1 / diag(P))`` with ``P = (X^T X + l2 I)^-1``. A user's scores are their
    weighted interaction row times ``B``, so users unknown at fit time are folded in exactly
    from ``history``.

    Parameters
    ----------
    l2 : float or "auto"
        L2 regularisation, in the units of ``X^T X`` (co-occurrence counts with binary
        input). "auto" applies the rule below at ``fit``; the value used is ``l2_``.
    weighting : {"auto", "binary", "raw", "log", "bm25"}
        How stored values become ``X``: the same options and the same detection as
        :class:`recsys.ALS`; "auto" gives "binary" for ratings, constant values and amounts
        (counts, hours: binary beat ``log2(1+v)`` on validation, 0.2430 vs 0.2195 NDCG@10 on
        Steam play time, 0.2918 vs 0.2834 on the demo data) and "raw" for negative values.
        Weights are divided by their training mean (``weight_scale_``), so ``l2`` keeps its
        units whatever the weighting.
    bm25_k1, bm25_b : float
        BM25 parameters (``weighting="bm25"`` only).
    solver : {"auto", "primal", "dual"}
        "primal" inverts the n_items x n_items Gram matrix; "dual" factorises the
        n_users x n_users one (Woodbury identity) and is cheaper when users are fewer than
        items; both give the same weights up to rounding. "auto" picks the smaller side.
    max_memory_gb : float, optional
        Refuse to fit when the dense matrices would need more than this. By default the
        limit is 90% of the memory available when ``fit`` starts.
    threads : int
        BLAS threads for the factorisation inside ``fit``; 0 leaves the BLAS default.

    Attributes
    ----------
    weights_ : numpy.ndarray of float32, shape (n_items, n_items)
        ``B``; row i holds what an interaction with item i adds to every item's score.
    l2_ : float
        The regularisation used (``l2`` with "auto" resolved).
    solver_ : str
        The side that was factorised.
    weighting_, weight_scale_ : str, float
        The resolved weighting and the mean weight the input was divided by.

    Notes
    -----
    **The l2 rule.** ``l2 = min(500, 10 x mean users per item)`` (items with at least one
    interaction). The optimum grows with how often items co-occur: Steck's 500 on ML-20M,
    500 on MovieLens 100K (39 users per item in its validation fit), 100-200 on Steam play
    time (13 per item). Validation NDCG@10 (``benchmarks/defaults.py``; validation carved from
    each training part; binary weights) of fixed values and of the rule::

                        ML-100K  Steam   groceries  demo    mean share of the best
        l2=100          0.2540   0.2425  0.2146     0.2883  0.981
        l2=200          0.2629   0.2430  0.2167     0.2910  0.995
        l2=500          0.2679   0.2348  0.2157     0.2898  0.989
        rule, 5 x       0.2624   0.2419  0.2157     0.2908  0.992
        rule, 10 x      0.2679   0.2422  0.2157     0.2918  0.998
        rule, 20 x      0.2679   0.2404  0.2157     0.2898  0.994

    On test, the rule scores 0.4529 on MovieLens 100K (0.4523 with the former fixed 500),
    0.3089 on Steam (0.2772 with log weights, the former "auto"), 0.2432 on groceries and
    0.3724 on the demo data: 1.00, 1.00, 0.99 and 1.00 of each one's validation-tuned
    optimum. Chosen leave-one-data-set-out (the best mean share on the other three), the
    candidates score 0.97-1.00 of the tuned optimum on the held-out one.

    Memory is O(n_items^2): 12 bytes per item pair at the peak of ``fit`` (the float64
    inverse and the float32 weights; the dual side adds n_users x (n_users + n_items)
    float64), 4 bytes per pair afterwards: 1.2 GB for 10,000 items. ``fit`` refuses catalogs
    above the limit with an error stating the memory needed. Time: O(n_items^3) on the primal
    side, O(n_users^2 n_items) on the dual side. Scoring a batch is one sparse-dense product.

    Examples
    --------
    >>> import recsys as rs
    >>> inter = rs.Interactions.from_arrays(
    ...     ["u1", "u1", "u2", "u2", "u3"], ["a", "b", "a", "b", "a"])
    >>> model = rs.EASE(l2=1.0).fit(inter)
    >>> model.recommend("u3", k=1)["u3"]
    ['b']
    >>> model.recommend("new", k=1, history={"new": ["b"]})["new"]
    ['a']
    >>> rs.EASE().fit(inter).l2_  # 10 x 2.5 users per item
    25.0
    """

    supports_unknown_users = True
    item_item_attribute = "weights_"
    # Amounts are binarised (measurements in the docstring, under ``weighting``).
    amounts_weighting = "binary"

    def __init__(self, l2: float | str = "auto", weighting: str = "auto",
                 bm25_k1: float = 100.0, bm25_b: float = 0.8, solver: str = "auto",
                 max_memory_gb: float | None = None, threads: int = 0) -> None:
        self.l2 = l2
        self.weighting = weighting
        self.bm25_k1 = bm25_k1
        self.bm25_b = bm25_b
        self.solver = solver
        self.max_memory_gb = max_memory_gb
        self.threads = threads

    def _fit(self, interactions: Interactions, dataset: Dataset | None,
             show_progress: bool) -> None:
        threads = check_int("threads", self.threads, minimum=0)
        check_choice("solver", self.solver, SOLVERS)
        if self.l2 != "auto":
            check_real("l2", self.l2, strict=True)
        if self.max_memory_gb is not None:
            check_real("max_memory_gb", self.max_memory_gb, strict=True)
        n_users, n_items = interactions.shape
        solver = self.solver
        if solver == "auto":
            solver = "dual" if n_users < n_items else "primal"
        check_ease_memory(n_items, self.max_memory_gb,
                          extra_bytes=8 * n_users * (n_users + n_items) if solver == "dual"
                          else 0)
        matrix = self._weighted_training_input(interactions)
        self.l2_ = float(default_l2(matrix) if self.l2 == "auto" else self.l2)
        self.solver_ = solver
        # One LAPACK call cannot report progress; say what is coming on large catalogs.
        logger.info("EASE: %s solve for %d items, %d users, l2=%g", solver, n_items,
                    n_users, self.l2_)
        with threadpool_limits(limits=threads or None, user_api="blas"):
            inverse = (dual_inverse(matrix, self.l2_) if solver == "dual"
                       else primal_inverse(gram_matrix(matrix), self.l2_))
            self.weights_ = weights_from_inverse(inverse)

    def _score_history(self, history: sp.csr_matrix, item_cols: np.ndarray | None) -> np.ndarray:
        weights = self.weights_ if item_cols is None else self.weights_[:, item_cols]
        return np.asarray(self._weigh_rows(history) @ weights)

    def _contributions(self, user_row: int, history: sp.csr_matrix,
                       column: int) -> tuple[str, np.ndarray, np.ndarray]:
        return item_item_contributions(self, history, self.weights_[:, column])

    def _similar_items(self, item_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        rows = self.weights_[item_rows]
        return rows if item_cols is None else rows[:, item_cols]

    def _check_state(self) -> None:
        expect(self, "weights_", (len(self.items_),) * 2)
        self._check_weighting_state(len(self.items_))
        expect_scalar(self, "l2_", (float,), lambda v: check_real("l2_", v, strict=True))
