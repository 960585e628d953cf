"""top_k against a plain stable sort, on arbitrary score matrices with ties and exclusions."""

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recsys.ranking.topk import PAD, top_k, top_k_entries

scores_strategy = hnp.arrays(
    np.float32,
    hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=12),
    # A handful of values makes ties frequent; NaN and -inf stand for unscorable items.
    elements=st.sampled_from([0.0, 1.0, 2.5, -1.0, 3.0, np.nan, -np.inf]),
)


def reference(scores, k, exclude):
    out_idx, out_val = [], []
    for r, row in enumerate(scores):
        banned = set(exclude[r].indices) if exclude is not None else set()
        valid = [(-float(v), j) for j, v in enumerate(row)
                 if j not in banned and np.isfinite(v)]
        valid.sort()
        idx = [j for _, j in valid[:k]] + [PAD] * max(0, k - len(valid))
        val = [-s for s, _ in valid[:k]] + [np.nan] * max(0, k - len(valid))
        out_idx.append(idx)
        out_val.append(val)
    return np.array(out_idx), np.array(out_val, dtype=np.float32)


@settings(max_examples=400, derandomize=True, deadline=None)
@given(scores=scores_strategy, k=st.integers(1, 15), data=st.data())
def test_top_k_matches_stable_sort(scores, k, data):
    mask = data.draw(hnp.arrays(bool, scores.shape))
    exclude = sp.csr_matrix(mask.astype(np.float32)) if mask.any() else None
    expected_idx, expected_val = reference(scores, k, exclude)
    idx, val = top_k(scores.copy(), k, exclude)
    assert idx.shape == (scores.shape[0], k)
    np.testing.assert_array_equal(idx, expected_idx)
    np.testing.assert_array_equal(val, expected_val)


def test_ties_are_broken_by_index_at_the_boundary():
    scores = np.array([[1.0, 5.0, 1.0, 1.0, 0.0, 1.0]], dtype=np.float32)
    idx, val = top_k(scores, 3)
    assert idx.tolist() == [[1, 0, 2]]
    assert val.tolist() == [[5.0, 1.0, 1.0]]


def test_short_rows_are_padded():
    scores = np.array([[np.nan, 2.0, -np.inf]], dtype=np.float32)
    idx, val = top_k(scores, 4)
    assert idx.tolist() == [[1, PAD, PAD, PAD]]
    assert val[0, 0] == 2.0 and np.isnan(val[0, 1:]).all()


@settings(max_examples=200, derandomize=True, deadline=None)
@given(dense=hnp.arrays(np.float32, hnp.array_shapes(min_dims=2, max_dims=2, max_side=8),
                        elements=st.sampled_from([0.0, 1.0, 2.0])),
       data=st.data())
def test_take_rows_equals_scipy_row_indexing(dense, data):
    from recsys.ranking.topk import take_rows

    matrix = sp.csr_matrix(dense)
    rows = np.array(data.draw(st.lists(st.integers(0, dense.shape[0] - 1), max_size=10)),
                    dtype=np.int64)
    expected = matrix[rows]
    taken = take_rows(matrix, rows)
    assert taken.shape == expected.shape and taken.dtype == expected.dtype
    assert taken.nnz == expected.nnz and taken.has_sorted_indices
    np.testing.assert_array_equal(taken.toarray(), expected.toarray())
    np.testing.assert_array_equal(taken.indptr, expected.indptr)
    # scipy's own operations accept it (one row skips the constructor's checks)
    assert (taken != expected).nnz == 0
    np.testing.assert_array_equal(taken.multiply(expected).toarray(),
                                  expected.multiply(expected).toarray())


def _stable_reference(scores, k):
    """Stable sort by (-score, index) with NaN/-inf as padding, vectorised for wide rows."""
    clean = np.where(np.isnan(scores), -np.inf, scores)
    order = np.argsort(-clean, axis=1, kind="stable")[:, :k]
    values = np.take_along_axis(clean, order, axis=1)
    order = np.where(np.isfinite(values), order, PAD)
    return order, np.where(np.isfinite(values), values, np.nan).astype(np.float32)


def test_wide_rows_take_the_block_path_and_match_stable_sort():
    # Wide enough for block maxima (>= 4096 columns) and not a multiple of the block size;
    # rows built to hit each branch: distinct values, heavy ties, NaN, mostly -inf, all -inf.
    rng = np.random.default_rng(3)
    n_cols = 10_007
    scores = rng.normal(size=(12, n_cols)).astype(np.float32)
    scores[1] = np.round(scores[1])  # a handful of values: ties everywhere
    scores[2] = 0.0  # one big tie
    scores[3, ::7] = np.nan
    scores[4, 5:] = -np.inf  # fewer than k finite scores
    scores[5] = -np.inf
    scores[6, -3:] = 100.0  # winners in the ragged tail block
    scores[7, :4] = 50.0
    scores[7, 4:] = 50.0 * (rng.random(n_cols - 4) < 0.001)  # ties at the top, sparse
    mask = rng.random(scores.shape) < 0.01
    mask[6, -1] = True
    exclude = sp.csr_matrix(mask.astype(np.float32))
    for k in (1, 10, 37):
        expected = scores.copy()
        expected[mask] = -np.inf
        expected_idx, expected_val = _stable_reference(expected, k)
        idx, val = top_k(scores.copy(), k, exclude)
        np.testing.assert_array_equal(idx, expected_idx)
        np.testing.assert_array_equal(val, expected_val)


def test_top_k_entries_breaks_ties_by_column():
    matrix = sp.csr_matrix(np.array([[1.0, 3.0, 3.0, 2.0], [0.0, 0.0, 5.0, 0.0]]))
    np.testing.assert_array_equal(top_k_entries(matrix, 2).toarray(),
                                  [[0.0, 3.0, 3.0, 0.0], [0.0, 0.0, 5.0, 0.0]])


@settings(max_examples=200, derandomize=True, deadline=None)
@given(dense=hnp.arrays(np.float64, hnp.array_shapes(min_dims=2, max_dims=2, max_side=12),
                        elements=st.sampled_from([0.0, 0.0, 1.0, 2.0, -1.0, 3.0, 0.5])),
       k=st.integers(1, 13))
def test_top_k_entries_keeps_each_rows_k_largest_stored_entries(dense, k):
    # Reference: per row, the stored entries sorted by value descending, then column.
    expected = np.zeros_like(dense)
    for r, row in enumerate(dense):
        stored = sorted(np.flatnonzero(row), key=lambda c: (-row[c], c))[:k]
        expected[r, stored] = row[stored]
    got = top_k_entries(sp.csr_matrix(dense), k)
    np.testing.assert_array_equal(got.toarray(), expected)
    assert got.has_sorted_indices and (np.diff(got.indptr) <= k).all()


@settings(max_examples=150, derandomize=True, deadline=None)
@given(scores=scores_strategy, k=st.integers(1, 15), data=st.data())
def test_allow_lists_gathered_or_masked_match_stable_sort(scores, k, data):
    from recsys.ranking.topk import Allowed

    mask = data.draw(hnp.arrays(bool, scores.shape[1]))
    exclude_mask = data.draw(hnp.arrays(bool, scores.shape))
    exclude = sp.csr_matrix(exclude_mask.astype(np.float32))
    allowed = Allowed.of(mask)
    assert (allowed.columns is None) == (mask.sum() > len(mask) / 8)
    block = scores if allowed.columns is None else scores[:, allowed.columns]
    idx, val = allowed.top_k(block.copy(), k, exclude)
    hidden = scores.copy()
    hidden[:, ~mask] = -np.inf
    expected_idx, expected_val = reference(hidden, k, exclude)
    np.testing.assert_array_equal(idx, expected_idx)
    np.testing.assert_array_equal(val, expected_val)
