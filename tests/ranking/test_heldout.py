"""mean_accuracy and within_noise against values computed by hand."""

import numpy as np
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from recsys.evaluation.metrics import ndcg
from recsys.ranking.heldout import mean_accuracy, within_noise


def test_mean_accuracy_is_the_metric_kernel_over_rows_with_held_out_entries():
    rng = np.random.default_rng(0)
    scores = [rng.random((6, 9)), rng.random((6, 9))]
    seen = sp.csr_matrix(rng.random((6, 9)) < 0.2)
    held_out = (rng.random((6, 9)) < 0.3) & ~seen.toarray()
    held_out[2] = False  # a row without held-out entries is left out
    relevant = sp.csr_matrix(held_out)
    held = np.flatnonzero(np.diff(relevant.indptr))
    expected = []
    for candidate in scores:
        masked = np.where(seen.toarray(), -np.inf, candidate)[held]
        top = np.argsort(-masked, axis=1, kind="stable")[:, :3]
        expected.append(ndcg(top, relevant[held], k=3))
    per_row = mean_accuracy(lambda rows: [s[rows].copy() for s in scores], seen, relevant,
                            k=3, per_row=True)
    np.testing.assert_allclose(per_row, expected)
    np.testing.assert_allclose(mean_accuracy(lambda rows: [s[rows].copy() for s in scores],
                                             seen, relevant, k=3), np.mean(expected, axis=1))


@settings(max_examples=100, derandomize=True, deadline=None)
@given(per_row=hnp.arrays(np.float64, st.tuples(st.integers(1, 5), st.integers(2, 30)),
                          elements=st.floats(0, 1)),
       shift=st.floats(0.001, 0.5))
def test_within_noise_keeps_the_best_and_drops_a_constant_loss(per_row, shift):
    best = int(np.argmax(per_row.mean(axis=1)))
    lower = per_row[best] - shift  # below the best by the same amount on every row
    near = within_noise(np.vstack([per_row, lower]), best)
    assert near[best] and not near[-1]
    # A tolerance of 0 keeps exactly the candidates tied with the best on the mean.
    tied = per_row.mean(axis=1) >= per_row.mean(axis=1)[best]
    np.testing.assert_array_equal(within_noise(per_row, best, tolerance=0), tied)
