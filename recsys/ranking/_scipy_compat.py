"""One-row CSR views without scipy's constructor checks: the one use of a scipy internal.

scipy's constructor checks and converts its arrays in about 20 microseconds of Python, and up
to five times that when a graph walk has just evicted the caches: a sixth of the time of
ranking one user on a million items with HNSW (0.1 of 0.6 ms), spent on arrays cut from a
matrix that is valid already. :func:`csr_view` skips it by setting what scipy's own
constructors set (the private ``_shape``), but only on scipy versions it was tested on
(``TESTED_SCIPY``) and only when a probe on first use finds the result equal to the checked
constructor's; otherwise it takes the public constructor, with identical results.
"""

from __future__ import annotations

import functools

import numpy as np
import scipy
import scipy.sparse as sp

# scipy releases on which the unchecked construction was verified (major, minor), inclusive.
TESTED_SCIPY = ((1, 10), (1, 17))


def csr_view(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
             shape: tuple[int, int]) -> sp.csr_matrix:
    """``scipy.sparse.csr_matrix((data, indices, indptr), shape)`` around valid arrays,
    without copies, skipping validation where that is known to be safe."""
    if unchecked_supported():
        return _unchecked(data, indices, indptr, shape)
    return checked(data, indices, indptr, shape)


def checked(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
            shape: tuple[int, int]) -> sp.csr_matrix:
    """The public constructor: the fallback, and the reference the probe compares with."""
    return sp.csr_matrix((data, indices, indptr), shape=shape, copy=False)


def _unchecked(data: np.ndarray, indices: np.ndarray, indptr: np.ndarray,
               shape: tuple[int, int]) -> sp.csr_matrix:
    out = sp.csr_matrix.__new__(sp.csr_matrix)
    out._shape, out.maxprint = shape, _default_maxprint()
    out.data, out.indices, out.indptr = data, indices, indptr
    return out


@functools.cache
def _default_maxprint() -> int:
    return sp.csr_matrix((1, 1)).maxprint


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")[:2]
    return int(major), int("".join(c for c in minor if c.isdigit()) or 0)


@functools.cache
def unchecked_supported(version: str = scipy.__version__) -> bool:
    """Whether :func:`csr_view` may skip the checks: a tested scipy version, and a probe
    (on first use, not at import) that finds the unchecked matrix equal to the checked one
    in every way scipy uses it."""
    low, high = TESTED_SCIPY
    try:
        if not low <= _version(version) <= high:
            return False
        reference = sp.csr_matrix(np.array([[0.0, 2.0, 0.0, 1.0]], dtype=np.float32))
        fast = _unchecked(reference.data, reference.indices, reference.indptr, reference.shape)
        return (fast.shape == reference.shape and fast.nnz == reference.nnz
                and fast.dtype == reference.dtype and fast.format == "csr"
                and fast.has_sorted_indices and fast.has_canonical_format
                and (fast != reference).nnz == 0
                and np.array_equal((fast @ sp.identity(4, format="csr")).toarray(),
                                   reference.toarray())
                and np.array_equal(fast.multiply(reference).tocsr()[:, [1, 3]].toarray(),
                                   [[4.0, 1.0]]))
    except Exception:  # any failure means: use the checked constructor
        return False
