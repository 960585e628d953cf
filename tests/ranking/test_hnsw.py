"""ExactIndex and HNSWIndex: exact answers, ANN recall, and filtering that never fails."""

from __future__ import annotations

import faiss
import numpy as np
import pytest
import scipy.sparse as sp

import recsys as rs
from recsys.errors import DataError, NotFittedError
from recsys.ranking import ExactIndex, HNSWIndex
from recsys.ranking import hnsw as hnsw_module


def brute_force(vectors, queries, k, exclude=None, allowed=None):
    """Stable sort by (-score, position) over the valid items, padded with -1."""
    scores = queries.astype(np.float64) @ vectors.T.astype(np.float64)
    valid = np.ones(scores.shape, bool)
    if exclude is not None:
        valid &= ~exclude.toarray().astype(bool)
    if allowed is not None:
        mask = np.zeros(len(vectors), bool)
        mask[allowed] = True
        valid &= mask
    out = np.full((len(queries), k), -1)
    for i in range(len(queries)):
        cols = np.flatnonzero(valid[i])
        order = cols[np.lexsort((cols, -scores[i, cols]))][:k]
        out[i, :len(order)] = order
    return out


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    hits = [len(set(f[f >= 0]) & set(t[t >= 0])) / max(1, (t >= 0).sum())
            for f, t in zip(found, truth, strict=True)]
    return float(np.mean(hits))


def clustered(n: int, dim: int, n_clusters: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(n_clusters, dim)).astype(np.float32)
    vectors = centers[rng.integers(0, n_clusters, n)] + 0.3 * rng.normal(size=(n, dim))
    vectors *= rng.lognormal(0.0, 0.3, size=(n, 1))  # unequal norms: a real MIPS problem
    queries = centers[rng.integers(0, n_clusters, 200)] + 0.3 * rng.normal(size=(200, dim))
    return vectors.astype(np.float32), queries.astype(np.float32)


@pytest.fixture(scope="module")
def medium():
    """5,000 items: enough for the graph path (small catalogs are searched exactly)."""
    vectors, queries = clustered(5000, 16, 50, seed=1)
    return vectors, queries, HNSWIndex(threads=1).build(vectors)


def random_exclude(n_queries: int, n_items: int, density: float, seed: int) -> sp.csr_matrix:
    return sp.random(n_queries, n_items, density=density, format="csr", random_state=seed,
                     dtype=np.float32, data_rvs=lambda n: np.ones(n))


# --------------------------------------------------------------------------- exact


def test_exact_matches_brute_force_with_filters():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(300, 8)).astype(np.float32)
    vectors[10] = vectors[11]  # a tie: broken by position
    queries = rng.normal(size=(20, 8)).astype(np.float32)
    exclude = random_exclude(20, 300, 0.2, seed=0)
    allowed = rng.choice(300, 120, replace=False)
    index = ExactIndex(threads=1).build(vectors)
    for ex, al in ((None, None), (exclude, None), (None, allowed), (exclude, allowed)):
        found, scores = index.search(queries, 15, exclude=ex, allowed=al)
        np.testing.assert_array_equal(found, brute_force(vectors, queries, 15, ex, al))
        assert (np.diff(scores, axis=1) <= 0).all()


def test_exact_pads_when_fewer_valid_items():
    index = ExactIndex().build(np.eye(4, dtype=np.float32))
    found, scores = index.search(np.ones((1, 4)), 6, allowed=[1, 3])
    assert found.tolist() == [[1, 3, -1, -1, -1, -1]]
    assert np.isnan(scores[0, 2:]).all()


# --------------------------------------------------------------------------- recall


def test_hnsw_graph_recall_on_demo_item_factors(monkeypatch):
    """The graph itself reaches the target; small catalogs (the demo has 1,000 items) are
    otherwise searched exactly, so the shortcut is switched off here."""
    monkeypatch.setattr(hnsw_module, "EXACT_MIN", 0)
    train = rs.datasets.demo().interactions
    model = rs.ALS(factors=32, iterations=10, threads=1).fit(train)
    items, users = model.item_factors_, model.user_factors_
    truth, _ = ExactIndex().build(items).search(users, 10)
    found, _ = HNSWIndex(threads=1).build(items).search(users, 10)
    assert recall(found, truth) >= 0.95


def test_hnsw_recall_on_100k_clustered_vectors():
    vectors, queries = clustered(100_000, 32, 500, seed=0)
    truth, _ = ExactIndex(threads=1).build(vectors).search(queries, 10)
    found, scores = HNSWIndex(threads=1).build(vectors).search(queries, 10)
    assert recall(found, truth) >= 0.95
    assert (np.diff(scores, axis=1) <= 0).all()


def test_build_progress_bar_does_not_change_the_graph(capsys):
    vectors, _ = clustered(3000, 8, 50, seed=2)
    quiet = HNSWIndex(threads=1, ef_construction=16).build(vectors)
    assert "HNSW graph" not in capsys.readouterr().err
    shown = HNSWIndex(threads=1, ef_construction=16).build(vectors, show_progress=True)
    bar = capsys.readouterr().err
    assert "HNSW graph" in bar and f"{len(vectors)}/{len(vectors)}" in bar
    np.testing.assert_array_equal(quiet.state()["hnsw_graph"], shown.state()["hnsw_graph"])


# --------------------------------------------------------------------------- filtering


@pytest.mark.parametrize("density", [0.0, 0.01, 0.2])
@pytest.mark.parametrize("allow_share", [None, 0.5, 0.05])
def test_hnsw_filtering_is_exact(medium, density, allow_share):
    vectors, queries, index = medium
    rng = np.random.default_rng(7)
    exclude = random_exclude(len(queries), len(vectors), density, seed=3) if density else None
    allowed = (None if allow_share is None else
               rng.choice(len(vectors), int(allow_share * len(vectors)), replace=False))
    k = 20
    found, scores = index.search(queries, k, exclude=exclude, allowed=allowed)
    truth = brute_force(vectors, queries, k, exclude, allowed)
    if exclude is not None:
        assert not exclude[np.arange(len(queries))[:, None], np.maximum(found, 0)].toarray()[
            found >= 0].any()
    if allowed is not None:
        assert np.isin(found[found >= 0], allowed).all()
    # Never fewer than k when k valid items exist (here they always do).
    assert ((found >= 0).sum(axis=1) == (truth >= 0).sum(axis=1)).all()
    assert (np.diff(np.where(np.isnan(scores), -np.inf, scores), axis=1) <= 0).all()
    assert recall(found, truth) >= 0.95


def test_batch_search_order_does_not_change_answers(medium):
    vectors, queries, index = medium
    order = index._search_order(queries)  # 200 queries: regrouped by region of the graph
    assert sorted(order.tolist()) == list(range(len(queries)))
    assert (order != np.arange(len(queries))).any()
    exclude = random_exclude(len(queries), len(vectors), 0.01, seed=4)
    found, scores = index.search(queries, 10, exclude=exclude)
    for i in range(len(queries)):  # one at a time: searched as they come
        alone, alone_scores = index.search(queries[i:i + 1], 10, exclude=exclude[i])
        np.testing.assert_array_equal(found[i], alone[0])
        np.testing.assert_array_equal(scores[i], alone_scores[0])


def test_hnsw_heavy_exclusions_fall_back_to_exact(medium):
    vectors, queries, index = medium
    # Exclude everything but 7 items for the first query: fewer than k valid items.
    exclude = sp.lil_matrix((2, len(vectors)), dtype=np.float32)
    exclude[0, 7:] = 1
    found, _ = index.search(queries[:2], 10, exclude=exclude.tocsr())
    assert sorted(found[0][found[0] >= 0].tolist()) == list(range(7))
    assert (found[0, 7:] == -1).all() and (found[1] >= 0).all()


def test_hnsw_allowed_items_mostly_excluded_give_exactly_the_rest(medium):
    vectors, queries, index = medium
    allowed = np.arange(0, 5000, 2)  # 2,500 items: the graph path, not the exact one
    # Query 0 may only get allowed items 0, 2, 4; its odd exclusions are not allowed anyway.
    exclude = sp.lil_matrix((2, len(vectors)), dtype=np.float32)
    exclude[0, 6:] = 1
    exclude[1, 1::2] = 1
    found, _ = index.search(queries[:2], 10, exclude=exclude.tocsr(), allowed=allowed)
    assert sorted(found[0][found[0] >= 0].tolist()) == [0, 2, 4]
    assert (found[0, 3:] == -1).all()
    # Query 1's exclusions are all outside the allow-list: a full list, close to exact.
    truth = brute_force(vectors, queries[1:2], 10, allowed=allowed)
    assert (found[1] >= 0).all() and np.isin(found[1], allowed).all()
    assert recall(found[1:2], truth) >= 0.8


def test_hnsw_falls_back_when_the_graph_returns_too_little(medium, monkeypatch):
    vectors, queries, index = medium

    def starved(self, q, k, ef, selector=None):  # a graph walk that finds nothing valid
        return np.full((len(q), k), -1, np.int64), np.full((len(q), k), -np.inf, np.float32)

    monkeypatch.setattr(HNSWIndex, "_graph_search", starved)
    exclude = random_exclude(len(queries), len(vectors), 0.01, seed=5)
    found, _ = index.search(queries, 10, exclude=exclude)
    np.testing.assert_array_equal(found, brute_force(vectors, queries, 10, exclude))


def test_hnsw_everything_excluded_gives_padding(medium):
    vectors, queries, index = medium
    exclude = sp.csr_matrix(np.ones((1, len(vectors)), np.float32))
    found, scores = index.search(queries[:1], 5, exclude=exclude)
    assert (found == -1).all() and np.isnan(scores).all()


def test_threads_are_restored_after_faiss_calls(medium):
    vectors, queries, _ = medium
    before = faiss.omp_get_max_threads()
    target = 1 if before != 1 else 2
    index = HNSWIndex(threads=target).build(vectors[:3000])
    index.search(queries, 5)
    assert faiss.omp_get_max_threads() == before


def test_bad_input_is_reported(medium):
    vectors, queries, index = medium
    with pytest.raises(NotFittedError):
        HNSWIndex().search(queries, 5)
    with pytest.raises(DataError, match="dimensions"):
        index.search(queries[:, :3], 5)
    with pytest.raises(DataError, match="exclude has shape"):
        index.search(queries, 5, exclude=sp.csr_matrix((1, 3)))
    with pytest.raises(DataError, match="allowed"):
        index.search(queries, 5, allowed=[len(vectors)])
    with pytest.raises(DataError, match="finite"):
        ExactIndex().build(np.array([[np.nan, 1.0]]))


# --------------------------------------------------------------------------- state


def test_restored_hnsw_answers_like_the_built_one_without_building(medium, monkeypatch):
    vectors, queries, index = medium
    state = index.state()
    assert set(state) == {"hnsw_graph"} and state["hnsw_graph"].dtype == np.uint8

    def no_building(self, vectors):
        raise AssertionError("restore must not build the graph again")

    monkeypatch.setattr(HNSWIndex, "build", no_building)
    restored = HNSWIndex(threads=1).restore(vectors, state)
    exclude = random_exclude(len(queries), len(vectors), 0.005, seed=9)
    for ex in (None, exclude):
        found, scores = restored.search(queries, 10, exclude=ex)
        want, want_scores = index.search(queries, 10, exclude=ex)
        np.testing.assert_array_equal(found, want)
        np.testing.assert_array_equal(scores, want_scores)


def test_restore_without_a_graph_builds_one(medium):
    vectors, queries, index = medium
    rebuilt = HNSWIndex(threads=1).restore(vectors, {})
    np.testing.assert_array_equal(rebuilt.search(queries, 10)[0], index.search(queries, 10)[0])
    exact = ExactIndex().restore(vectors, ExactIndex().build(vectors).state())
    assert exact.n_items == len(vectors)


def test_a_graph_that_does_not_fit_is_refused(medium):
    vectors, _, index = medium
    graph = index.state()["hnsw_graph"]
    with pytest.raises(DataError, match="over 4999 vectors of dimension 16, found"):
        HNSWIndex(threads=1).restore(vectors[:-1], {"hnsw_graph": graph})
    with pytest.raises(DataError, match="degree M=16"):
        HNSWIndex(M=16, threads=1).restore(vectors, {"hnsw_graph": graph})
    with pytest.raises(DataError, match="cannot be read"):
        HNSWIndex(threads=1).restore(vectors, {"hnsw_graph": graph[: len(graph) // 2]})
    with pytest.raises(DataError, match="uint8"):
        HNSWIndex(threads=1).restore(vectors, {"hnsw_graph": graph.astype(np.int64)})
    with pytest.raises(NotFittedError):
        HNSWIndex().state()


def test_hnsw_exclusions_hold_with_unsorted_exclude_rows(medium):
    vectors, queries, index = medium
    exclude = random_exclude(len(queries), len(vectors), 0.01, seed=9).tocsr()
    # reverse each row's column order: a valid CSR whose indices are not sorted
    for row in range(exclude.shape[0]):
        start, stop = exclude.indptr[row], exclude.indptr[row + 1]
        exclude.indices[start:stop] = exclude.indices[start:stop][::-1].copy()
    exclude.has_sorted_indices = False
    truth = brute_force(vectors, queries, 10, exclude)
    found, _ = index.search(queries, 10, exclude=exclude)
    rows = np.repeat(np.arange(exclude.shape[0]), np.diff(exclude.indptr))
    excluded = set(zip(rows.tolist(), exclude.indices.tolist(), strict=True))
    assert not any((r, c) in excluded for r, row in enumerate(found) for c in row.tolist())
    assert recall(found, truth) >= 0.9


@pytest.mark.parametrize("share", [0.05, 0.5, 0.99])
def test_exact_allow_lists_short_and_long_match_brute_force(share):
    # Short lists are gathered, long ones masked in the selection: same answers.
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(3000, 8)).astype(np.float32)
    queries = rng.normal(size=(40, 8)).astype(np.float32)
    allowed = np.flatnonzero(rng.random(3000) < share)
    exclude = sp.random(40, 3000, density=0.05, format="csr", random_state=6)
    idx, scores = ExactIndex().build(vectors).search(queries, 10, exclude=exclude,
                                                     allowed=allowed)
    exact = queries.astype(np.float64) @ vectors.T.astype(np.float64)
    exact[exclude.toarray() != 0] = -np.inf
    banned = np.ones(3000, bool)
    banned[allowed] = False
    exact[:, banned] = -np.inf
    expected = np.argsort(-exact, axis=1, kind="stable")[:, :10]
    np.testing.assert_array_equal(idx, expected)
    np.testing.assert_allclose(scores, np.take_along_axis(exact, expected, 1), rtol=1e-6)
