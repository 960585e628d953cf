"""Weighting kernels against the reference implementations and their formulas."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from implicit.nearest_neighbours import bm25_weight
from sklearn.feature_extraction.text import TfidfTransformer

from recsys.data.weighting import bm25, log_confidence, resolve_weighting, tfidf
from recsys.errors import ConfigError, DataError


@pytest.fixture
def counts() -> sp.csr_matrix:
    rng = np.random.default_rng(0)
    dense = rng.poisson(0.6, size=(40, 25)).astype(np.float32)
    dense[3] = 0  # an empty row
    dense[:, 7] = 0  # an empty column
    return sp.csr_matrix(dense)


def assert_same_pattern(a: sp.csr_matrix, b: sp.csr_matrix) -> None:
    assert a.shape == b.shape and a.nnz == b.nnz
    assert np.array_equal(a.indptr, b.indptr) and np.array_equal(a.indices, b.indices)


@pytest.mark.parametrize(("k1", "b"), [(1.2, 0.75), (100.0, 0.8), (0.0, 0.0), (2.0, 1.0)])
def test_bm25_equals_implicit(counts, k1, b):
    ours = bm25(counts, k1=k1, b=b)
    reference = sp.csr_matrix(bm25_weight(counts.astype(np.float64), K1=k1, B=b))
    reference.sort_indices()
    assert_same_pattern(ours, counts)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours.toarray(), reference.toarray(), rtol=1e-5, atol=1e-6)


def test_tfidf_equals_scikit_learn(counts):
    ours = tfidf(counts)
    reference = TfidfTransformer(norm=None, smooth_idf=True).fit_transform(counts)
    assert_same_pattern(ours, counts)
    np.testing.assert_allclose(ours.toarray(), reference.toarray(), rtol=1e-5)


def test_log_confidence_formula(counts):
    out = log_confidence(counts, alpha=2.0, epsilon=0.5)
    assert_same_pattern(out, counts)
    np.testing.assert_allclose(out.data, 1 + 2.0 * np.log1p(counts.data / 0.5), rtol=1e-6)


@pytest.mark.parametrize("func", [bm25, tfidf, log_confidence])
def test_inputs_untouched_and_duplicates_summed(counts, func):
    before = counts.copy()
    func(counts)
    assert (counts != before).nnz == 0
    coo = sp.coo_matrix((np.array([1.0, 2.0, 4.0]), (np.array([0, 0, 1]), np.array([1, 1, 0]))),
                        shape=(2, 2))
    out = func(coo)
    assert out.nnz == 2 and out.has_canonical_format
    assert np.allclose(out.toarray(), func(sp.csr_matrix([[0.0, 3.0], [4.0, 0.0]])).toarray())


@pytest.mark.parametrize("func", [bm25, tfidf, log_confidence])
def test_empty_matrix(func):
    out = func(sp.csr_matrix((0, 3)))
    assert out.shape == (0, 3) and out.nnz == 0
    assert func(sp.csr_matrix((2, 3))).nnz == 0


def test_rarer_columns_weigh_more():
    m = sp.csr_matrix(np.array([[1.0, 1.0], [0.0, 1.0], [0.0, 1.0]]))
    for func in (bm25, tfidf):
        w = func(m).toarray()
        assert w[0, 0] > w[0, 1]


def test_argument_and_value_checks():
    m = sp.csr_matrix([[1.0, -2.0]])
    with pytest.raises(DataError, match="epsilon"):
        log_confidence(m)
    with pytest.raises(ConfigError):
        log_confidence(m, alpha=-1.0)
    with pytest.raises(ConfigError):
        log_confidence(m, epsilon=0.0)
    with pytest.raises(ConfigError):
        bm25(m, b=1.5)
    with pytest.raises(ConfigError):
        bm25(m, k1=-1.0)


# ---------------------------------------------------------------- "auto" weighting


def test_auto_weighting_on_the_real_data_sets(ml100k, shared_data):
    import recsys as rs

    assert resolve_weighting("auto", ml100k.matrix) == "binary"  # ratings 1-5, mode 4
    steam = rs.datasets.steam_play(shared_data / "steam-play").interactions
    assert resolve_weighting("auto", steam.matrix) == "log"  # hours
    # The play-like counts made from ratings: amounts, not ratings.
    counts = ml100k.matrix.copy()
    counts.data = 2.0 ** (counts.data + 5)
    assert resolve_weighting("auto", counts) == "log"
    demo = rs.datasets.demo().interactions
    assert resolve_weighting("auto", demo.matrix) == "log"
    assert resolve_weighting("auto", demo.matrix, amounts="binary") == "binary"
    assert resolve_weighting("auto", ml100k.matrix, amounts="log") == "binary"  # not amounts
    # Each family's "auto" on amounts: log for ALS, binary for the item-item families.
    assert rs.ALS(factors=4, iterations=1, threads=1).fit(demo).weighting_ == "log"
    for model in (rs.EASE(threads=1), rs.RP3beta(k=10), rs.ItemKNN(k=10, threads=1)):
        assert model.fit(demo).weighting_ == "binary", type(model).__name__


@settings(max_examples=50, deadline=None)
@given(counts=st.lists(st.integers(0, 50), min_size=2, max_size=10), top=st.sampled_from([1, 2]))
def test_small_levels_are_ratings_unless_piled_up_at_the_lowest(counts, top):
    levels = np.arange(1, len(counts) + 1) / top  # a half-point or a whole-point grid
    values = np.repeat(levels, counts)
    if values.size == 0 or values.min() == values.max():
        return
    present = np.array([c for c in counts if c > 0])
    piled = present[0] > present[1:].max()
    expected = "log" if piled else "binary"
    assert resolve_weighting("auto", sp.csr_matrix(values[None, :])) == expected


def test_auto_weighting_special_values():
    assert resolve_weighting("auto", sp.csr_matrix([[2.0, 2.0, 0.0]])) == "binary"
    assert resolve_weighting("auto", sp.csr_matrix([[-1.0, 3.0]])) == "raw"
    assert resolve_weighting("auto", sp.csr_matrix([[0.3, 1.7, 0.3]])) == "log"  # off grid
    assert resolve_weighting("auto", sp.csr_matrix([[12.0, 14.0, 14.0]])) == "log"  # > 10
    assert resolve_weighting("log", sp.csr_matrix([[4.0, 5.0]])) == "log"
    with pytest.raises(ConfigError, match="weighting"):
        resolve_weighting("tf", sp.csr_matrix([[1.0]]))
