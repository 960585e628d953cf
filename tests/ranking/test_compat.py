"""The two uses of other libraries' internals: each on by default on the tested versions,
and its public-API fallback giving identical answers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from recsys.ranking import HNSWIndex, _faiss_compat, _scipy_compat
from recsys.ranking.topk import take_rows


def test_unchecked_csr_is_used_on_this_scipy_and_matches_the_constructor():
    # If a scipy release breaks the unchecked construction, the checked constructor takes
    # over and this test says so.
    assert _scipy_compat.unchecked_supported()
    matrix = sp.csr_matrix(np.array([[0.0, 1.0], [2.0, 0.0]], dtype=np.float32))
    row = take_rows(matrix, np.array([1]))
    assert row.indices.base is not None  # a view on the matrix's arrays, not a copy
    assert repr(row) == repr(matrix[[1]])


@pytest.mark.parametrize("version", ["1.9.3", "1.18.0", "2.0.0", "garbage"])
def test_untested_scipy_versions_take_the_checked_constructor(version):
    assert not _scipy_compat.unchecked_supported(version)


def test_checked_and_unchecked_rows_are_identical(monkeypatch):
    rng = np.random.default_rng(0)
    matrix = sp.random(30, 50, density=0.2, format="csr", dtype=np.float32, random_state=rng)
    fast = [take_rows(matrix, np.array([r])) for r in range(30)]
    monkeypatch.setattr(_scipy_compat, "unchecked_supported", lambda: False)
    slow = [take_rows(matrix, np.array([r])) for r in range(30)]
    for a, b in zip(fast, slow, strict=True):
        assert type(a) is type(b) and a.shape == b.shape and a.dtype == b.dtype
        np.testing.assert_array_equal(a.toarray(), b.toarray())
        np.testing.assert_array_equal((a @ matrix.T).toarray(), (b @ matrix.T).toarray())


@pytest.mark.parametrize("version", ["1.7.4", "1.16.0", "2.0.0", "nightly"])
def test_untested_faiss_versions_take_the_public_search(version):
    assert not _faiss_compat.direct_supported(version)


def test_direct_and_public_faiss_search_give_identical_answers(monkeypatch):
    rng = np.random.default_rng(1)
    vectors = rng.normal(size=(5000, 16)).astype(np.float32)
    queries = rng.normal(size=(70, 16)).astype(np.float32)
    exclude = sp.random(70, 5000, density=0.01, format="csr", random_state=rng)
    index = HNSWIndex(threads=1).build(vectors)
    assert _faiss_compat.direct_supported()
    direct = index.search(queries, 10, exclude=exclude)
    monkeypatch.setattr(_faiss_compat, "direct_supported", lambda: False)
    public = index.search(queries, 10, exclude=exclude)
    np.testing.assert_array_equal(direct[0], public[0])
    np.testing.assert_array_equal(direct[1], public[1])
