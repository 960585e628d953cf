"""top_k against a plain stable sort, on arbitrary score matrices with ties and exclusions."""

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recsys.models.topk import PAD, top_k

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
    from recsys.models.topk import take_rows

    matrix = sp.csr_matrix(dense)
    rows = np.array(data.draw(st.lists(st.integers(0, dense.shape[0] - 1), max_size=10)),
                    dtype=np.int64)
    expected = matrix[rows]
    taken = take_rows(matrix, rows)
    assert taken.shape == expected.shape
    np.testing.assert_array_equal(taken.toarray(), expected.toarray())
    np.testing.assert_array_equal(taken.indptr, expected.indptr)
