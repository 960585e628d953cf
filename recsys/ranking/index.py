"""The index protocol and what every vector index shares: argument checks."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol, runtime_checkable

import numpy as np
import scipy.sparse as sp

from recsys._checks import check_int
from recsys.errors import ConfigError, DataError, NotFittedError


def as_vectors(values: Any, what: str, dim: int | None = None) -> np.ndarray:
    """A C-contiguous float32 2-D array of finite values (what faiss and BLAS want)."""
    try:
        array = np.ascontiguousarray(values, dtype=np.float32)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what} must be a numeric 2-D array: {exc}") from None
    if array.ndim != 2:
        raise DataError(f"{what} must be 2-D (rows x dimensions), got shape {array.shape}")
    if dim is not None and array.shape[1] != dim:
        raise DataError(f"{what} have {array.shape[1]} dimensions; the index has {dim}")
    if not np.isfinite(array).all():
        row = int(np.flatnonzero(~np.isfinite(array).all(axis=1))[0])
        raise DataError(f"{what} must be finite; row {row} holds NaN or inf")
    return array


@runtime_checkable
class Index(Protocol):
    """What a model needs of a top-k index over item vectors.

    ``build(vectors)`` indexes the rows of an (n_items, d) array; ``search(queries, k,
    exclude=None, allowed=None)`` returns the best ``k`` items per query by inner product
    as ``(positions, scores)`` arrays of shape (n_queries, k), sorted by score, ties by
    position, never an excluded (CSR, queries x items) or disallowed (positions) item, and
    never fewer than ``k`` when ``k`` valid items exist (-1 / NaN pad). ``state()`` /
    ``restore(vectors, state)`` save and reload a built index as plain arrays.
    ``search_unchecked`` is ``search`` for callers that pass what the checks produce
    (C-contiguous float32 queries, a CSR ``exclude`` with sorted indices, sorted unique
    ``allowed`` positions): models ranking one user per request skip the checks.
    """

    def build(self, vectors: Any, show_progress: bool = False) -> Index: ...

    def search(self, queries: Any, k: int, exclude: sp.spmatrix | None = None,
               allowed: Any = None) -> tuple[np.ndarray, np.ndarray]: ...

    def search_unchecked(self, queries: np.ndarray, k: int, exclude: sp.csr_matrix | None,
                         allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]: ...

    def state(self) -> dict[str, np.ndarray]: ...

    def restore(self, vectors: Any, state: Mapping[str, np.ndarray]) -> Index: ...


class VectorIndex:
    """Base of the indexes: argument checks around the unchecked ``_search`` a subclass
    implements, which models call directly with arrays they built themselves.

    Scores are inner products ``queries @ vectors.T``; on L2-normalized vectors that is
    cosine similarity.
    """

    _vectors: np.ndarray | None = None

    @property
    def vectors(self) -> np.ndarray:
        """The indexed vectors (n_items, d); raises when the index is not built."""
        self._check_built()
        assert self._vectors is not None
        return self._vectors

    def build(self, vectors: Any, show_progress: bool = False) -> VectorIndex:
        raise NotImplementedError

    def search(
        self,
        queries: Any,
        k: int,
        exclude: sp.spmatrix | None = None,
        allowed: Any = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Best ``k`` items per query.

        Parameters
        ----------
        queries : array-like, shape (n_queries, d)
        k : int
        exclude : scipy.sparse matrix, shape (n_queries, n_items), optional
            Items never to return for each query (stored entries, e.g. seen items).
        allowed : array-like of int, optional
            Item positions that may be returned (all if None).

        Returns
        -------
        indices, scores : numpy.ndarray, shape (n_queries, k)
            Sorted by score, ties by position; ``-1`` / NaN pad rows only when fewer than
            ``k`` valid items exist.
        """
        return self.search_unchecked(*self._check_search(queries, k, exclude, allowed))

    def search_unchecked(self, queries: np.ndarray, k: int, exclude: sp.csr_matrix | None,
                allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`search` on checked arguments: C-contiguous float32 queries, a CSR
        ``exclude`` with sorted indices, sorted unique ``allowed`` positions."""
        raise NotImplementedError

    def state(self) -> dict[str, np.ndarray]:
        """Arrays from which :meth:`restore` recreates this built index; empty when
        building it again is as cheap as reading them (exact search keeps only the
        vectors, which the caller has)."""
        self._check_built()
        return {}

    def restore(self, vectors: Any, state: Mapping[str, np.ndarray]) -> VectorIndex:
        """The index over ``vectors`` from the ``state`` of one built on them; returns self.

        This base builds it again; an index with a costly build reads ``state`` instead and
        builds only when ``state`` lacks its arrays (saved before it kept any).
        """
        return self.build(vectors)

    def _check_built(self) -> None:
        if self._vectors is None:
            raise NotFittedError(f"{type(self).__name__} is not built; call build() first")

    @property
    def n_items(self) -> int:
        return 0 if self._vectors is None else self._vectors.shape[0]

    @property
    def dim(self) -> int:
        return 0 if self._vectors is None else self._vectors.shape[1]

    def _check_search(
        self, queries: Any, k: Any, exclude: Any, allowed: Any,
    ) -> tuple[np.ndarray, int, sp.csr_matrix | None, np.ndarray | None]:
        self._check_built()
        queries = as_vectors(queries, "queries", self.dim)
        k = check_int("k", k)
        if exclude is not None:
            if not sp.issparse(exclude):
                raise ConfigError("exclude must be a scipy sparse matrix (queries x items)")
            if exclude.shape != (len(queries), self.n_items):
                raise DataError(f"exclude has shape {exclude.shape}; expected "
                                f"{(len(queries), self.n_items)} (queries x items)")
            if exclude.format != "csr":  # a CSR input is used as is: no copy per query
                exclude = sp.csr_matrix(exclude)
            exclude.sort_indices()  # in place; free when the flag says they are sorted
        if allowed is not None:
            allowed = np.unique(np.asarray(allowed).ravel())
            if allowed.size and (allowed.dtype.kind not in "iu" or allowed[0] < 0
                                 or allowed[-1] >= self.n_items):
                raise DataError(f"allowed must hold item positions in [0, {self.n_items})")
            allowed = allowed.astype(np.int64)
        return queries, k, exclude, allowed
