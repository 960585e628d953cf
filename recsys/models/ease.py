"""EASE: the closed-form shallow autoencoder of Steck (2019), in numpy/scipy."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from scipy.linalg import lapack
from threadpoolctl import threadpool_limits

from recsys._checks import check_int, check_real
from recsys.data.dataset import Dataset
from recsys.data.interactions import Interactions
from recsys.errors import ConfigError
from recsys.models._state import expect
from recsys.models.base import Recommender

logger = logging.getLogger("recsys")

# Default regularisation: a constant, as in ridge regression, where l2 is the ratio of noise
# to prior variance and does not grow with the number of users sampled. Validation splits of
# ML-100K (full, half the users, half the density) and of the demo data put the optimum at
# 400-500 (benchmarks/tune_ease_rp3_lightfm.py); Steck (2019) reports 500 on ML-20M, whose
# items have about ten times more users each. A multiple of the users per item did no better
# here and would overshoot on large data sets.
DEFAULT_L2 = 500.0

# Bytes per catalog cell at the peak of a fit: the float64 Gram matrix (inverted in place)
# and the float32 weights it is turned into.
BYTES_PER_ITEM_PAIR = 8 + 4
# Cells of the Gram matrix built per sparse product (bounds the sparse intermediate).
GRAM_BLOCK_CELLS = 1 << 22
# Fraction of the available memory a fit may plan to use (the rest is for everything else).
MEMORY_HEADROOM = 0.9


def available_memory_bytes() -> int | None:
    """Memory this process could still allocate: the smaller of the system's available memory
    and the cgroup (container) limit left; None when neither can be read."""
    candidates = []
    try:
        with open("/proc/meminfo") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    candidates.append(int(line.split()[1]) * 1024)
                    break
    except OSError:
        pass
    if not candidates:
        try:
            candidates.append(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            pass
    cgroup = Path("/sys/fs/cgroup")
    try:
        limit = (cgroup / "memory.max").read_text().strip()
        if limit != "max":
            used = int((cgroup / "memory.current").read_text().strip())
            candidates.append(max(0, int(limit) - used))
    except (OSError, ValueError):
        pass
    return min(candidates) if candidates else None


def ease_memory_bytes(n_items: int) -> int:
    """Peak memory of an EASE fit over ``n_items`` items (dense item x item matrices)."""
    block = min(n_items * n_items, GRAM_BLOCK_CELLS)
    # The sparse block of X^T X holds at most `block` entries of 4-byte index + 8-byte value.
    return BYTES_PER_ITEM_PAIR * n_items * n_items + 12 * block


def check_ease_memory(n_items: int, max_memory_gb: float | None) -> None:
    """Refuse, with the figure, a catalog whose item x item matrices would not fit."""
    need = ease_memory_bytes(n_items)
    if max_memory_gb is not None:
        limit, source = max_memory_gb * 1e9, f"max_memory_gb={max_memory_gb:g}"
    else:
        available = available_memory_bytes()
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


def _binary(matrix: sp.csr_matrix) -> sp.csr_matrix:
    """Positive entries as 1 (non-positive stored weights are not interactions)."""
    out = matrix.copy()
    out.data = (out.data > 0).astype(np.float32)
    out.eliminate_zeros()
    return out


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


def ease_weights(gram: np.ndarray, l2: float) -> np.ndarray:
    """Steck's closed form: ``B = I - P diag(1/diag(P))`` with ``P = (G + l2 I)^-1``, that is
    ``B[i, j] = -P[i, j] / P[j, j]`` off the diagonal and 0 on it.

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
    scale = -1.0 / np.diag(inverse)
    weights = np.empty((n_items, n_items), dtype=np.float32)
    for start in range(0, n_items, step):
        stop = min(n_items, start + step)
        weights[start:stop] = inverse[start:stop] * scale[None, :]
    np.fill_diagonal(weights, 0.0)
    return weights


class EASE(Recommender):
    """Embarrassingly Shallow Autoencoder (Steck, 2019): a linear item-item model with a
    closed-form solution.

    The weights ``B`` minimise ``||X - X B||^2 + l2 ||B||^2`` subject to ``diag(B) = 0``:
    ``B = I - P diag(1 / diag(P))`` with ``P = (X^T X + l2 I)^-1``. A user's scores are their
    interaction row times ``B``, so users unknown at fit time are folded in exactly from
    ``history``.

    Parameters
    ----------
    l2 : float
        L2 regularisation, in the units of ``X^T X`` (counts of co-occurrences with binary
        input). The default, 500, was the best or within 0.002 NDCG@10 of the best on every
        validation set of the tuning study (ML-100K at full and half density, half the users,
        the demo data) and is Steck's value for ML-20M. With ``binary=False`` and large weights
        (play counts), scale it with the squared weights.
    binary : bool
        Treat every positive interaction as 1 (ratings and counts ignored).
    max_memory_gb : float, optional
        Refuse to fit when the dense item x item matrices would need more than this. By
        default the limit is 90% of the memory available when ``fit`` starts.
    threads : int
        BLAS threads for the factorisation inside ``fit``; 0 leaves the BLAS default.

    Attributes
    ----------
    weights_ : numpy.ndarray of float32, shape (n_items, n_items)
        ``B``; row i holds what an interaction with item i adds to every item's score.

    Notes
    -----
    Memory is O(n_items^2): 12 bytes per item pair at the peak of ``fit`` (the float64 Gram
    matrix, inverted in place, and the float32 weights), 4 bytes per pair afterwards: 1.2 GB
    for 10,000 items, 30 GB for 50,000. ``fit`` refuses catalogs above the limit with an error
    stating the memory needed. Time is one sparse product for ``X^T X`` and a dense Cholesky
    inverse, O(n_items^3): about 10^12 flops at 10,000 items, tens of seconds on one core.
    Scoring a batch is one sparse-dense product, O(nnz(history) x n_items).

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
    """

    supports_unknown_users = True

    def __init__(self, l2: float = DEFAULT_L2, binary: bool = True,
                 max_memory_gb: float | None = None, threads: int = 0) -> None:
        self.l2 = l2
        self.binary = binary
        self.max_memory_gb = max_memory_gb
        self.threads = threads

    def _fit(self, interactions: Interactions, dataset: Dataset | None,
             show_progress: bool) -> None:
        threads = check_int("threads", self.threads, minimum=0)
        l2 = check_real("l2", self.l2, strict=True)
        if self.max_memory_gb is not None:
            check_real("max_memory_gb", self.max_memory_gb, strict=True)
        check_ease_memory(interactions.n_items, self.max_memory_gb)
        # One LAPACK call cannot report progress; say what is coming on large catalogs.
        logger.info("EASE: inverting a %d x %d Gram matrix (about %.2f GB)",
                    interactions.n_items, interactions.n_items,
                    ease_memory_bytes(interactions.n_items) / 1e9)
        matrix = self._input(interactions.matrix)
        with threadpool_limits(limits=threads or None, user_api="blas"):
            gram = gram_matrix(matrix)
            self.weights_ = ease_weights(gram, l2)

    def _input(self, matrix: sp.csr_matrix) -> sp.csr_matrix:
        return _binary(matrix) if self.binary else matrix

    def _score_history(self, history: sp.csr_matrix, item_cols: np.ndarray | None) -> np.ndarray:
        weights = self.weights_ if item_cols is None else self.weights_[:, item_cols]
        return np.asarray(self._input(history) @ weights)

    def _similar_items(self, item_rows: np.ndarray, item_cols: np.ndarray | None) -> np.ndarray:
        rows = self.weights_[item_rows]
        return rows if item_cols is None else rows[:, item_cols]

    def _check_state(self) -> None:
        expect(self, "weights_", (len(self.items_),) * 2)
