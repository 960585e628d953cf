import numpy as np

from recsys.ranking._kernels import filter_answers as keep_best
from recsys.ranking.topk import PAD


def _outputs(n_rows, k):
    return np.full((n_rows, k), PAD, np.int64), np.full((n_rows, k), np.nan, np.float32)


def test_keep_best_filters_orders_and_flags_short_queries():
    # Worked by hand: item 7 is excluded for the query, item 2 is not allowed, -1 is no
    # answer; 3 and 5 tie at 0.9 and go by position. Two written, while min(k=3, 9 allowed
    # items - 1 excluded among them) = 3 exist: the query is short.
    found = np.array([[5, 3, -1, 7, 2]], np.int64)
    values = np.array([[0.9, 0.9, 0.0, 0.5, 0.95]], np.float32)
    allowed = np.ones(10, bool)
    allowed[2] = False
    positions, scores = _outputs(2, 3)
    short = keep_best(found, values, np.array([1]), np.array([0, 0, 1]), np.array([7]),
                      allowed, 9, positions, scores)
    assert short.tolist() == [True]
    assert positions.tolist() == [[PAD] * 3, [3, 5, PAD]]  # written to row 1, as mapped
    np.testing.assert_array_equal(scores[1, :2], np.float32([0.9, 0.9]))


def test_keep_best_is_not_short_when_fewer_valid_items_exist():
    # 4 allowed items, 2 of them excluded: at most 2 can be answered, and both were.
    found = np.array([[0, 1, 2, 3]], np.int64)
    values = np.array([[4.0, 3.0, 2.0, 1.0]], np.float32)
    allowed = np.array([True, True, True, True, False])
    positions, scores = _outputs(1, 3)
    short = keep_best(found, values, np.array([0]), np.array([0, 2]), np.array([0, 2]),
                      allowed, 4, positions, scores)
    assert short.tolist() == [False]
    assert positions.tolist() == [[1, 3, PAD]]


def test_keep_best_counts_only_allowed_items_among_the_excluded():
    # Allowed: 0, 1, 2, 3, 5. Excluded: 0, 2 and 4, but 4 is not allowed anyway, so 3 valid
    # items exist (1, 3, 5) and the two answers leave the query short. Counting item 4
    # would make it look complete.
    found = np.array([[0, 1, 2, 3]], np.int64)
    values = np.array([[4.0, 3.0, 2.0, 1.0]], np.float32)
    allowed = np.array([True, True, True, True, False, True])
    positions, scores = _outputs(1, 3)
    short = keep_best(found, values, np.array([0]), np.array([0, 3]), np.array([0, 2, 4]),
                      allowed, 5, positions, scores)
    assert short.tolist() == [True]
    assert positions.tolist() == [[1, 3, PAD]]
