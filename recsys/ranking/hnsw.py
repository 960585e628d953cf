"""Approximate top-k by inner product on faiss's HNSW graph, with exact filtering."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import scipy.sparse as sp

from recsys._checks import check_int
from recsys._progress import progress
from recsys.errors import DataError
from recsys.ranking import _faiss_compat
from recsys.ranking.exact import ExactIndex
from recsys.ranking.index import VectorIndex, as_vectors
from recsys.ranking.threads import blas_threads, omp_threads
from recsys.ranking.topk import PAD, exclusion_arrays

# Allow-lists smaller than this share of the catalog (or than EXACT_MIN items) are searched
# exactly: the graph would have to be walked far past them, and a product over them is cheap.
EXACT_SHARE = 1 / 16
EXACT_MIN = 2048
# The graph walk keeps max(ef_search, this x the fetch size) candidates (more when part of the
# catalog is filtered out). Raise ef_search for more recall.
HNSW_EF_FACTOR = 2
# With filtering, the first (batched) search fetches this many times k and filters the answers;
# the queries it leaves short are searched again one by one with the filter inside the walk.
FETCH_FACTOR = 2
# The default ef_search: AUTO_EF_BASE up to AUTO_EF_ITEMS items, then growing slowly.
AUTO_EF_BASE = 64
AUTO_EF_ITEMS = 100_000
# Batches of at least ORDER_MIN_QUERIES queries are searched in the order of the nearest (by
# cosine) of ORDER_ANCHORS items sampled evenly from the catalog: queries bound for the same
# region of the graph then follow each other and find it in cache (on 100k clustered items,
# a third less time per query; every query's answer is the same in any order).
ORDER_MIN_QUERIES = 64
ORDER_ANCHORS = 256
# Key of the serialized faiss graph in :meth:`HNSWIndex.state`.
GRAPH = "hnsw_graph"


class HNSWIndex(VectorIndex):
    """Approximate maximum-inner-product search on a faiss ``IndexHNSWFlat`` graph.

    The graph is built with ``METRIC_INNER_PRODUCT`` on the vectors as they are. (The
    usual reduction of inner-product search to search among equal-norm vectors, one extra
    coordinate ``sqrt(max_norm^2 - |v|^2)``, was measured too: it crowds the vectors near the
    extra axis and lost a quarter of the recall at the same ``ef_search`` on clustered data.)

    Filtering is exact whatever the graph returns: all queries are first searched in one
    batch for ``2k`` items and filtered (allow-list, excluded items); a query left with fewer
    than ``min(k, valid items)`` is searched again alone with the filter inside the graph walk
    (a faiss ID selector), and then, if still short, exactly over its valid items. Small
    catalogs and allow-lists (under 2,048 items or a sixteenth of the catalog) are searched
    exactly from the start: a product over them costs less than a graph walk.

    A batch of 64 queries or more is walked in an order that puts queries headed for the same
    region of the graph next to each other, so that each walk finds much of its region in
    cache; the answers are the same in any order.

    Parameters
    ----------
    M : int
        Graph degree (faiss's ``M``); more links, better recall, more memory.
    ef_construction : int
        Candidate list size while building.
    ef_search : int, optional
        Candidate list size while searching (raised to twice the fetch size when larger,
        and in proportion when an allow-list filters part of the catalog). None: chosen from
        the catalog size, ``64 * (n_items / 100_000) ** 0.3`` and at least 64 (128 at 1M
        items), since a larger graph needs a wider walk for the same recall.

    Measured on clustered synthetic vectors (64 dimensions, M=32, top 10, one thread):
    ``ef_construction=160`` builds 100k items in 14 s (recall 0.981 at ef 64, 0.08 ms per
    query) and 1M in 400 s (0.943 at ef 64, 0.972 at ef 128 for 0.39 ms per query, 0.986 at
    256). At ``ef_construction=64`` the builds take half as long, but 1M items need ef 512
    (1.1 ms per query) for recall 0.963. The graph is saved with a model, so the build is
    paid once per fit.
    threads : int
        OpenMP threads for faiss inside :meth:`build` / :meth:`search` (restored after);
        0 leaves faiss's setting alone. A graph built with more than one thread depends on
        thread timing; build with ``threads=1`` for a reproducible graph.

    Notes
    -----
    Memory: the vectors plus about ``2 * M`` int32 links per item. Build time grows like
    ``n_items * log(n_items) * ef_construction`` (see above: minutes at 1M items), so a
    saved model keeps the built graph (:meth:`state`, :meth:`restore`) rather than building
    it again on loading (under a second at 200k items). ``build(..., show_progress=True)``,
    and a factor model's ``fit(..., show_progress=True)``, announce the build and report
    how long it took.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> vectors, queries = rng.normal(size=(1000, 8)), rng.normal(size=(2, 8))
    >>> index = HNSWIndex(threads=1).build(vectors)
    >>> idx, scores = index.search(queries, k=5)
    >>> idx.shape
    (2, 5)
    >>> copy = HNSWIndex(threads=1).restore(vectors, index.state())  # no graph building
    >>> bool((copy.search(queries, k=5)[0] == idx).all())
    True
    """

    def __init__(self, M: int = 32, ef_construction: int = 160, ef_search: int | None = None,
                 threads: int = 0) -> None:
        self.M = M
        self.ef_construction = ef_construction
        self.ef_search = ef_search
        self.threads = threads

    def __repr__(self) -> str:
        return (f"HNSWIndex(M={self.M!r}, ef_construction={self.ef_construction!r}, "
                f"ef_search={self.ef_search!r}, threads={self.threads!r})")

    def build(self, vectors: Any, show_progress: bool = False) -> HNSWIndex:
        """Index ``vectors`` (n_items x d); returns self.

        ``show_progress`` shows a bar that says what is being built and, at the end, how
        long it took (minutes at a million items). It does not move during the build: faiss
        offers no progress hook, and adding the vectors in slices to drive one cost recall
        (0.972 -> 0.968 at 1M items, as faiss inserts each call's high-level nodes first).
        """
        import faiss

        M, ef_construction, threads = self._checked_params()
        vectors = as_vectors(vectors, "vectors")
        index = faiss.IndexHNSWFlat(vectors.shape[1], M, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = ef_construction
        with omp_threads(threads), progress(total=len(vectors), desc="HNSW graph", unit="item",
                                        disable=not show_progress) as bar:
            index.add(vectors)
            bar.update(len(vectors))
        return self._attach(index, vectors)

    def _attach(self, index: Any, vectors: np.ndarray) -> HNSWIndex:
        """Use the faiss ``index`` built over ``vectors``; the search caches start empty."""
        self._index = index
        self._vectors = vectors
        self._search_params: dict[int, Any] = {}
        self._anchors: np.ndarray | None = None
        self._exact_index: ExactIndex | None = None
        return self

    def _checked_params(self) -> tuple[int, int, int]:
        """``M``, ``ef_construction`` and ``threads``, validated (``ef_search`` too)."""
        M = check_int("M", self.M, minimum=2)
        ef_construction = check_int("ef_construction", self.ef_construction)
        if self.ef_search is not None:
            check_int("ef_search", self.ef_search)
        threads = check_int("threads", self.threads, minimum=0)
        return M, ef_construction, threads

    def state(self) -> dict[str, np.ndarray]:
        """The built graph as faiss's serialization, a uint8 array (``"hnsw_graph"``).

        It holds faiss's own copy of the vectors beside the links: about
        ``n_items * (4 * d + 8 * M)`` bytes.
        """
        import faiss

        self._check_built()
        return {GRAPH: faiss.serialize_index(self._index)}

    def restore(self, vectors: Any, state: Mapping[str, np.ndarray]) -> HNSWIndex:
        """The index over ``vectors`` from :meth:`state` of one built on them, without
        building the graph again; built afresh when ``state`` holds no graph.

        Raises
        ------
        recsys.errors.DataError
            The graph cannot be read, or is not an inner-product HNSW graph of degree ``M``
            over as many vectors of the same dimension.
        """
        if GRAPH not in state:
            return self.build(vectors)
        M = self._checked_params()[0]
        vectors = as_vectors(vectors, "vectors")
        return self._attach(_read_graph(state[GRAPH], vectors.shape, M), vectors)

    def _exact(self) -> ExactIndex:
        """Exact search over the same vectors, built on first use (it copies them)."""
        if self._exact_index is None:
            self._exact_index = ExactIndex(self.threads).build(self.vectors)
        return self._exact_index

    def search_unchecked(
        self,
        queries: np.ndarray,
        k: int,
        exclude: sp.csr_matrix | None = None,
        allowed: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """Approximate inner-product search, filtered exactly (see the class docstring)."""
        n_queries, n_items = len(queries), self.n_items
        n_allowed = n_items if allowed is None else len(allowed)
        if n_allowed < max(EXACT_MIN, n_items * EXACT_SHARE):
            return self._exact().search_unchecked(queries, k, exclude, allowed)
        from recsys.ranking._kernels import filter_answers  # numba: compiled on first use

        positions = np.full((n_queries, k), PAD, np.int64)
        scores = np.full((n_queries, k), np.nan, np.float32)
        mask = np.zeros(0, bool)  # empty: every item is allowed
        if allowed is not None:
            mask = np.zeros(n_items, bool)
            mask[allowed] = True
        excluded = exclude is not None and exclude.nnz > 0
        indptr, indices = exclusion_arrays(exclude, n_queries)
        # Round 1, one batch call: over-fetch a little and filter the answers. Queries left
        # with fewer than k valid items (their excluded items crowd the top) go to round 2.
        fetch = min(n_items, FETCH_FACTOR * k) if excluded or allowed is not None else k
        order = self._search_order(queries)
        found, values = self._graph_search(queries if order is None else queries[order], fetch,
                                           self._ef(fetch, n_items, n_allowed))
        rows = np.arange(n_queries) if order is None else order
        short = rows[filter_answers(found, values, rows, indptr, indices, mask, n_allowed,
                               positions, scores)]
        if not len(short):
            return positions, scores
        # Round 2, per query: the graph walk itself skips the filtered items (a faiss
        # IDSelector), so it is not limited by how many of them rank high.
        allowed_selector = None if allowed is None else _batch_selector(allowed)
        ef = self._ef(k, n_items, n_allowed)
        still_short = np.zeros(len(short), bool)
        for at, row in enumerate(short.tolist()):
            selector = allowed_selector
            if excluded:
                selector = _without(selector, indices[indptr[row]:indptr[row + 1]])
            found, values = self._graph_search(queries[row:row + 1], k, ef, selector)
            positions[row], scores[row] = PAD, np.nan
            still_short[at] = filter_answers(found, values, np.array([row]), indptr, indices, mask,
                                        n_allowed, positions, scores)[0]
        # The walk can end before k valid items are found: answer those queries exactly.
        fallback = short[still_short]
        if len(fallback):
            positions[fallback], scores[fallback] = self._exact().search_unchecked(
                queries[fallback], k, None if exclude is None else exclude[fallback], allowed)
        return positions, scores

    def _search_order(self, queries: np.ndarray) -> np.ndarray | None:
        """An order of the queries that groups those headed for the same part of the graph
        (see ``ORDER_ANCHORS``); None for small batches, searched as they come."""
        if len(queries) < ORDER_MIN_QUERIES:
            return None
        if self._anchors is None:
            sample = self.vectors[::max(1, self.n_items // ORDER_ANCHORS)]
            norms = np.linalg.norm(sample, axis=1, keepdims=True)
            self._anchors = np.ascontiguousarray((sample / np.maximum(norms, 1e-12)).T)
        with blas_threads(self.threads):
            nearest = np.argmax(queries @ self._anchors, axis=1)
        return np.argsort(nearest, kind="stable")

    def _ef(self, fetch: int, n_items: int, n_allowed: int) -> int:
        """Breadth of the graph walk: ``ef_search``, or more for a large fetch or when part
        of the catalog is filtered out (the walk passes over those items too)."""
        base = self.ef_search if self.ef_search is not None else auto_ef_search(n_items)
        return max(int(base), math.ceil(HNSW_EF_FACTOR * fetch * n_items / n_allowed))

    def _graph_search(self, queries: np.ndarray, k: int, ef: int,
                      selector: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """faiss's answers (positions, -1 when short; inner products) for ``queries``, a
        C-contiguous float32 array, walking the graph with breadth ``ef``."""
        import faiss

        params = self._search_params.get(ef) if selector is None else None
        if params is None:
            params = faiss.SearchParametersHNSW()  # type: ignore[attr-defined]
            params.efSearch = ef
            if selector is None:
                self._search_params[ef] = params  # read-only during searches: shareable
            else:
                params.sel = selector
        with omp_threads(self.threads):
            return _faiss_compat.search(self._index, queries, k, params)


def auto_ef_search(n_items: int) -> int:
    """The default ``ef_search`` of a graph over ``n_items`` (see :class:`HNSWIndex`)."""
    return max(AUTO_EF_BASE, math.ceil(AUTO_EF_BASE * (n_items / AUTO_EF_ITEMS) ** 0.3))


def _batch_selector(ids: np.ndarray) -> Any:
    import faiss

    return faiss.IDSelectorBatch(np.ascontiguousarray(ids, dtype=np.int64))


def _without(selector: Any, ids: np.ndarray) -> Any:
    """``selector`` (None: every item) minus ``ids``.

    The composed selectors keep Python references to their parts: faiss holds raw pointers.
    """
    import faiss

    excluded = _batch_selector(ids)
    out = faiss.IDSelectorNot(excluded)
    out.parts = (excluded,)  # type: ignore[attr-defined]
    if selector is not None:
        out, inner = faiss.IDSelectorAnd(selector, out), out  # type: ignore[assignment]
        out.parts = (selector, inner)  # type: ignore[attr-defined]
    return out


def _read_graph(data: np.ndarray, shape: tuple[int, int], M: int) -> Any:
    """The faiss HNSW index serialized in ``data``, checked against the vectors' ``shape``
    and the degree ``M`` it must have been built with."""
    import faiss

    data = np.asarray(data)
    if data.dtype != np.uint8 or data.ndim != 1:
        raise DataError(f"a saved HNSW graph is a 1-D uint8 array, got {data.dtype} with "
                        f"shape {data.shape}")
    try:
        index = faiss.deserialize_index(data)
    except RuntimeError as exc:
        raise DataError(f"the saved HNSW graph cannot be read: {exc}") from None
    found = (type(index).__name__, index.metric_type, index.ntotal, index.d)
    wanted = ("IndexHNSWFlat", faiss.METRIC_INNER_PRODUCT, *shape)
    if found != wanted or index.hnsw.nb_neighbors(1) != M:  # type: ignore[attr-defined]
        raise DataError(f"the saved HNSW graph does not fit: expected an inner-product "
                        f"IndexHNSWFlat of degree M={M} over {shape[0]} vectors of dimension "
                        f"{shape[1]}, found {found[0]} over {found[2]} of dimension {found[3]}")
    return index
