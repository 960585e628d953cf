"""Tests of the metric kernels: hand-computed cases, properties, and a plain-Python reference."""

from __future__ import annotations

import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys.errors import ConfigError, DataError
from recsys.evaluation import metrics
from recsys.evaluation.metrics import (
    average_precision,
    compute,
    coverage,
    hit_rate,
    hits,
    mrr,
    ndcg,
    precision,
    recall,
)
from recsys.ranking import _metric_input

PER_USER = {
    "precision": precision,
    "recall": recall,
    "ndcg": ndcg,
    "map": metrics.map,
    "mrr": mrr,
    "hit_rate": hit_rate,
}
NAN_WITHOUT_RELEVANT = {"recall", "ndcg", "map"}
PROPERTY = settings(max_examples=100, derandomize=True, deadline=None)


def inv_log2(rank: int) -> float:
    return 1.0 / math.log2(rank + 1)


# --------------------------------------------------------------------------- reference


def reference(rec_row, gains_of: dict, k: int, gains: str = "binary") -> dict[str, float]:
    """Straightforward per-user definitions, written independently of the kernels.

    ``gains_of`` maps each relevant item (stored value > 0) to its stored value.
    """
    gain = {
        "binary": lambda v: 1.0,
        "linear": lambda v: float(v),
        "exponential": lambda v: 2.0 ** float(v) - 1.0,
    }[gains]
    found = []  # (rank, gain) of each hit, best rank first
    seen = set()
    for rank, item in enumerate(list(rec_row)[:k], start=1):
        item = int(item)
        if item == -1 or item in seen:
            continue
        seen.add(item)
        if item in gains_of:
            found.append((rank, gain(gains_of[item])))
    n_rel = len(gains_of)
    nan = float("nan")
    dcg = sum(g * inv_log2(r) for r, g in found)
    ideal = sorted((gain(v) for v in gains_of.values()), reverse=True)[:k]
    idcg = sum(g * inv_log2(i + 1) for i, g in enumerate(ideal))
    return {
        "precision": len(found) / k,
        "recall": len(found) / n_rel if n_rel else nan,
        "ndcg": dcg / idcg if n_rel else nan,
        "map": sum(n / r for n, (r, _) in enumerate(found, start=1)) / min(n_rel, k)
        if n_rel
        else nan,
        "mrr": 1.0 / found[0][0] if found else 0.0,
        "hit_rate": 1.0 if found else 0.0,
    }


def relevant_dicts(relevant) -> list[dict]:
    rel = sp.csr_matrix(relevant, copy=True)
    rel.sum_duplicates()
    out = []
    for u in range(rel.shape[0]):
        lo, hi = rel.indptr[u], rel.indptr[u + 1]
        out.append(
            {int(i): v for i, v in zip(rel.indices[lo:hi], rel.data[lo:hi], strict=True) if v > 0}
        )
    return out


def reference_table(recommended, relevant, k, gains="binary") -> dict[str, np.ndarray]:
    rows = [reference(r, g, k, gains) for r, g in zip(recommended, relevant_dicts(relevant),
                                                      strict=True)]
    return {name: np.array([row[name] for row in rows], dtype=float) for name in PER_USER}


# --------------------------------------------------------------------------- hand-computed

# Three users, six items. Lists of width 4; user 2's list is padded with -1.
#   user 0: recommended [0, 1, 2, 3], relevant {1, 3, 5}  -> hits at ranks 2 and 4
#   user 1: recommended [4, 0, 4, 5], relevant {4}        -> hit at rank 1; rank 3 repeats 4
#   user 2: recommended [2, -1, -1, -1], relevant {}      -> nothing relevant (stored zero at 2)
REC = np.array([[0, 1, 2, 3], [4, 0, 4, 5], [2, -1, -1, -1]])
REL = sp.csr_matrix(
    (np.array([1.0, 1.0, 1.0, 1.0, 0.0]), (np.array([0, 0, 0, 1, 2]), np.array([1, 3, 5, 4, 2]))),
    shape=(3, 6),
)


def test_relevant_fixture_keeps_its_explicit_zero():
    assert REL.nnz == 5 and REL[2, 2] == 0


def test_hits_hand_computed():
    expected = np.array(
        [
            [False, True, False, True],
            [True, False, False, False],  # the repeat of item 4 at rank 3 is not a hit
            [False, False, False, False],  # the stored zero is not relevant
        ]
    )
    np.testing.assert_array_equal(hits(REC, REL, k=4), expected)
    # k beyond the list width: the missing positions are padding
    assert hits(REC, REL, k=6).shape == (3, 6)
    assert not hits(REC, REL, k=6)[:, 4:].any()


def test_precision_hand_computed():
    # hits@4 = 2, 1, 0; divided by k = 4 (not by the list length)
    np.testing.assert_allclose(precision(REC, REL, k=4), [2 / 4, 1 / 4, 0.0])
    # k = 2: user 0 has its hit at rank 2, user 1 at rank 1
    np.testing.assert_allclose(precision(REC, REL, k=2), [1 / 2, 1 / 2, 0.0])
    # k = 8 > width: still divided by 8
    np.testing.assert_allclose(precision(REC, REL, k=8), [2 / 8, 1 / 8, 0.0])


def test_recall_hand_computed():
    # user 0: 2 of 3 relevant; user 1: 1 of 1; user 2: nothing relevant -> NaN
    np.testing.assert_allclose(recall(REC, REL, k=4), [2 / 3, 1.0, np.nan])
    np.testing.assert_allclose(recall(REC, REL, k=1), [0.0, 1.0, np.nan])


def test_ndcg_hand_computed():
    # user 0: DCG = 1/log2(3) + 1/log2(5); ideal over min(3, 4) = 3 hits:
    #         1/log2(2) + 1/log2(3) + 1/log2(4) = 1 + 0.6309 + 0.5
    # user 1: DCG = 1/log2(2) = 1 = ideal over min(1, 4) = 1 -> 1
    dcg0 = 1 / math.log2(3) + 1 / math.log2(5)
    idcg0 = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    np.testing.assert_allclose(ndcg(REC, REL, k=4), [dcg0 / idcg0, 1.0, np.nan], rtol=1e-15)
    # k = 2: user 0 has one hit at rank 2; ideal is 2 hits at ranks 1, 2
    np.testing.assert_allclose(
        ndcg(REC, REL, k=2), [(1 / math.log2(3)) / (1 + 1 / math.log2(3)), 1.0, np.nan]
    )


def test_ndcg_graded_hand_computed():
    # one user, relevant gains {0: 3, 2: 1, 3: 2}, recommended [2, 0, 1]
    rel = sp.csr_matrix(np.array([[3.0, 0.0, 1.0, 2.0]]))
    rec = np.array([[2, 0, 1]])
    # linear: DCG = 1/log2(2) + 3/log2(3) = 1 + 1.8928
    #         ideal@3 = 3/log2(2) + 2/log2(3) + 1/log2(4)
    dcg = 1 + 3 / math.log2(3)
    ideal = 3 + 2 / math.log2(3) + 1 / 2
    np.testing.assert_allclose(ndcg(rec, rel, k=3, gains="linear"), [dcg / ideal])
    # exponential gains 2^v - 1: {0: 7, 2: 1, 3: 3}
    dcg = 1 + 7 / math.log2(3)
    ideal = 7 + 3 / math.log2(3) + 1 / 2
    np.testing.assert_allclose(ndcg(rec, rel, k=3, gains="exponential"), [dcg / ideal])
    # k = 1: DCG = gain of item 2; ideal = the best gain (item 0)
    np.testing.assert_allclose(ndcg(rec, rel, k=1, gains="linear"), [1 / 3])
    # binary ignores the grades: hits at ranks 1, 2 of 3 relevant
    ideal = 1 + 1 / math.log2(3) + 1 / 2
    np.testing.assert_allclose(ndcg(rec, rel, k=3), [(1 + 1 / math.log2(3)) / ideal])


def test_map_hand_computed():
    # user 0: hits at ranks 2, 4 -> precision@2 = 1/2, precision@4 = 2/4; / min(3, 4) = 3
    # user 1: hit at rank 1 -> 1/1 / min(1, 4)
    np.testing.assert_allclose(
        average_precision(REC, REL, k=4), [(1 / 2 + 2 / 4) / 3, 1.0, np.nan]
    )
    # k = 2: user 0 has one hit (rank 2) -> (1/2) / min(3, 2)
    np.testing.assert_allclose(metrics.map(REC, REL, k=2), [(1 / 2) / 2, 1.0, np.nan])
    assert metrics.map is average_precision


def test_mrr_hand_computed():
    # first hits at rank 2, 1, none
    np.testing.assert_allclose(mrr(REC, REL, k=4), [1 / 2, 1.0, 0.0])
    np.testing.assert_allclose(mrr(REC, REL, k=1), [0.0, 1.0, 0.0])


def test_hit_rate_hand_computed():
    np.testing.assert_allclose(hit_rate(REC, REL, k=4), [1.0, 1.0, 0.0])
    np.testing.assert_allclose(hit_rate(REC, REL, k=1), [0.0, 1.0, 0.0])


def test_coverage_hand_computed():
    # top-2 items: {0, 1}, {4, 0}, {2} -> {0, 1, 2, 4}: 4 of 6
    assert coverage(REC, n_items=6, k=2) == pytest.approx(4 / 6)
    # top-4 adds 3 and 5 -> all 6; padding is ignored
    assert coverage(REC, n_items=6, k=4) == 1.0
    assert coverage(REC, n_items=6, k=[1, 2]) == {1: pytest.approx(3 / 6), 2: pytest.approx(4 / 6)}
    assert coverage(np.full((2, 3), -1), n_items=5, k=3) == 0.0


def test_duplicates_count_only_at_first_position():
    rel = sp.csr_matrix(np.array([[1.0, 1.0, 0.0]]))
    rec = np.array([[0, 0, 0, 1]])  # item 0 three times, then item 1
    np.testing.assert_array_equal(hits(rec, rel, k=4), [[True, False, False, True]])
    # precision@4 = 2/4 (the copies take slots), recall = 2/2
    np.testing.assert_allclose(precision(rec, rel, k=4), [0.5])
    np.testing.assert_allclose(recall(rec, rel, k=4), [1.0])
    # AP: precision@1 = 1, precision@4 = 2/4; / min(2, 4)
    np.testing.assert_allclose(average_precision(rec, rel, k=4), [(1 + 2 / 4) / 2])
    # NDCG: (1 + 1/log2(5)) / (1 + 1/log2(3)) -- never above 1 despite the repeats
    np.testing.assert_allclose(
        ndcg(rec, rel, k=4), [(1 + 1 / math.log2(5)) / (1 + 1 / math.log2(3))]
    )


def test_sequence_of_k_matches_single_calls():
    for name, fn in PER_USER.items():
        many = fn(REC, REL, k=[4, 1, 2, 4])
        assert list(many) == [4, 1, 2], name
        for k, values in many.items():
            np.testing.assert_array_equal(values, fn(REC, REL, k=k), err_msg=name)


def test_compute_matches_the_single_metrics():
    out = compute(REC, REL, k=3)
    assert list(out) == list(metrics.CORE_METRICS)
    for name, fn in PER_USER.items():
        np.testing.assert_array_equal(out[name], fn(REC, REL, k=3))
    out = compute(REC, REL, ["ndcg", "precision"], k=[2, 3], gains="linear")
    np.testing.assert_array_equal(out["ndcg"][2], ndcg(REC, REL, k=2, gains="linear"))
    np.testing.assert_array_equal(out["precision"][3], precision(REC, REL, k=3))


def test_accepted_input_types():
    expected = ndcg(REC, REL, k=4)
    for rel in (sp.csr_array(REL), REL.tocoo(), REL.tocsc(), REL.toarray()):
        np.testing.assert_array_equal(ndcg(REC, rel, k=4), expected)
    for dtype in (np.int32, np.int16):
        np.testing.assert_array_equal(ndcg(REC.astype(dtype), REL, k=4), expected)
    np.testing.assert_array_equal(ndcg(REC.tolist(), REL, k=4), expected)
    unsigned = np.array([[1, 3], [4, 4]], dtype=np.uint64)
    np.testing.assert_allclose(precision(unsigned, REL[:2], k=2), [1.0, 0.5])


def test_unsorted_and_duplicate_stored_entries():
    # indices out of order and a duplicate (0, 1) entry: 0.5 + 0.5 sums to one relevant item;
    # (0, 2) sums to 1 - 1 = 0: not relevant
    rel = sp.csr_matrix(
        (np.array([1.0, 0.5, 0.5, 1.0, -1.0]), np.array([3, 1, 1, 2, 2]), np.array([0, 5])),
        shape=(1, 4),
    )
    assert not rel.has_canonical_format
    rec = np.array([[2, 1, 3, 0]])
    np.testing.assert_array_equal(hits(rec, rel, k=4), [[False, True, True, False]])
    np.testing.assert_allclose(recall(rec, rel, k=4), [1.0])


def test_empty_inputs():
    rel = sp.csr_matrix((0, 5))
    for fn in PER_USER.values():
        assert fn(np.empty((0, 3), dtype=int), rel, k=2).shape == (0,)
    assert ndcg(np.empty((0, 3)), rel, k=2).shape == (0,)  # float dtype is fine when empty
    # zero-width lists: every position is padding
    out = compute(np.empty((2, 0), dtype=int), sp.csr_matrix(np.eye(2)), k=3)
    np.testing.assert_array_equal(out["precision"], [0.0, 0.0])
    np.testing.assert_array_equal(out["ndcg"], [0.0, 0.0])
    # nothing relevant anywhere
    np.testing.assert_array_equal(ndcg(REC, sp.csr_matrix((3, 6)), k=2), [np.nan] * 3)


def reference_hits(recommended, relevant, k) -> np.ndarray:
    """Plain-Python hit matrix: first occurrence of a relevant item, padding never a hit."""
    relevant_sets = [set(row) for row in
                     (relevant.tocsr()[u].indices[relevant.tocsr()[u].data > 0]
                      for u in range(relevant.shape[0]))]
    out = np.zeros((len(recommended), k), dtype=bool)
    for u, row in enumerate(recommended):
        seen = set()
        for r, item in enumerate(list(row)[:k]):
            if item >= 0 and item in relevant_sets[u] and item not in seen:
                out[u, r] = True
            seen.add(item)
    return out


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.uint16])
def test_hit_scan_agrees_with_reference_in_both_directions(dtype):
    # A user with at most k relevant items probes them with the list, one with more probes
    # the list with them: every k here mixes both kinds of users.
    rng = np.random.default_rng(3)
    rec, rel = random_case(rng, n_users=200, n_items=300, width=30)
    if dtype == np.uint16:
        rec = np.where(rec < 0, 0, rec)  # unsigned lists cannot hold the padding value
    rec = rec.astype(dtype)
    n_relevant = np.diff(_metric_input._as_relevant(rel, len(rec)).indptr)
    assert (n_relevant > 10).any() and (n_relevant <= 10).any()
    for k in (1, 10, 30, 45):
        np.testing.assert_array_equal(hits(rec, rel, k=k), reference_hits(rec, rel, k))
    # a non-contiguous view is read in place, with the same answer
    wide = np.repeat(rec, 2, axis=1)[:, ::2]
    np.testing.assert_array_equal(hits(wide, rel, k=10), reference_hits(rec, rel, 10))


def test_hit_scan_repeats_and_padding_in_both_directions():
    rel = sp.csr_matrix(np.array([[1, 1, 1, 1, 1, 0], [0, 1, 0, 0, 0, 0]]))
    rec = np.array([[5, 2, 2, -1, 4], [1, 1, -1, 3, 3]])
    # row 0 has 5 relevant items > k = 3: the list is stamped; row 1 has 1 <= k
    np.testing.assert_array_equal(
        hits(rec, rel, k=3), [[False, True, False], [True, False, False]]
    )
    np.testing.assert_array_equal(
        hits(rec, rel, k=5), [[False, True, False, False, True], [True, False, False, False, False]]
    )
    # the scratch slots are clean between users: item 2 stamped for row 0 is no hit for row 1
    np.testing.assert_array_equal(hits(np.array([[2], [2]]), rel, k=1), [[True], [False]])


def test_only_the_first_k_columns_are_read():
    rel = sp.csr_matrix(np.array([[1.0, 0.0, 1.0]]))
    rec = np.array([[2, 99, -7]])  # garbage past k = 1 is never looked at
    np.testing.assert_allclose(precision(rec, rel, k=1), [1.0])
    with pytest.raises(DataError, match=r"recommended\[0, 1\] = 99"):
        precision(rec, rel, k=2)


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize("fn", [*PER_USER.values(), hits])
def test_bad_input_raises_clear_errors(fn):
    with pytest.raises(DataError, match="3 rows .* relevant has 2"):
        fn(REC, REL[:2], k=2)
    with pytest.raises(DataError, match=r"recommended\[1, 0\] = 6 .* 6 items"):
        fn(np.where(REC == 4, 6, REC), REL, k=2)
    with pytest.raises(DataError, match=r"recommended\[0, 1\] = -2"):
        fn(np.where(REC == 1, -2, REC), REL, k=2)
    with pytest.raises(DataError, match="2-D"):
        fn(REC[0], REL, k=2)
    with pytest.raises(DataError, match="integer"):
        fn(REC.astype(float), REL, k=2)
    with pytest.raises(DataError, match="rectangular"):
        fn([[0, 1], [2]], REL[:2], k=2)
    with pytest.raises(DataError, match="scipy.sparse"):
        fn(REC, "not a matrix", k=2)
    bad = REL.copy()
    bad.data[1] = np.nan
    with pytest.raises(DataError, match=r"relevant\[0, 3\] = nan"):
        fn(REC, bad, k=2)
    for k in (0, -3, True, 2.5, "10", None):
        with pytest.raises(ConfigError, match="k must"):
            fn(REC, REL, k=k)


def test_bad_options_raise_config_errors():
    with pytest.raises(ConfigError, match="empty"):
        precision(REC, REL, k=[])
    with pytest.raises(ConfigError, match="k must be >= 1"):
        precision(REC, REL, k=[5, 0])
    with pytest.raises(ConfigError, match="single k"):
        hits(REC, REL, k=[1, 2])
    with pytest.raises(ConfigError, match="gains"):
        ndcg(REC, REL, gains="log")
    with pytest.raises(ConfigError, match="unknown metric"):
        compute(REC, REL, ["ndcg", "auc"])
    with pytest.raises(ConfigError, match="n_items"):
        coverage(REC, n_items=0)
    with pytest.raises(DataError, match=r"recommended\[1, 3\] = 6 .* 6 items \(n_items\)"):
        coverage(REC + 1, n_items=6)


# --------------------------------------------------------------------------- properties


def random_case(rng: np.random.Generator, n_users: int, n_items: int, width: int):
    """Lists with padding and repeats; graded relevance with explicit zeros and empty users."""
    rec = rng.integers(0, n_items, size=(n_users, width))
    short = rng.random(n_users) < 0.2
    rec[short, rng.integers(0, width + 1) :] = -1
    repeat = rng.random(rec.shape) < 0.05
    rec[:, 1:][repeat[:, 1:]] = rec[:, :-1][repeat[:, 1:]]
    n_rel = rng.integers(0, 40, size=n_users)
    rows = np.repeat(np.arange(n_users), n_rel)
    # half the relevant items are taken from the user's own list so there are many hits
    from_list = rec[rows, rng.integers(0, width, size=rows.size)]
    cols = np.where((rng.random(rows.size) < 0.5) & (from_list >= 0), from_list,
                    rng.integers(0, n_items, size=rows.size))
    values = rng.choice([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], size=rows.size)
    rel = sp.coo_matrix((values, (rows, cols)), shape=(n_users, n_items)).tocsr()
    rel.data = np.where(rel.data > 5, 5.0, rel.data)  # summed duplicates stay on the scale
    return rec, rel


@pytest.mark.parametrize("k", [1, 5, 10, 30, 45])
def test_agrees_with_reference_on_random_data(k):
    rng = np.random.default_rng(k)
    rec, rel = random_case(rng, n_users=200, n_items=300, width=30)
    assert (rel.data == 0).any() and (np.diff(rel.indptr) == 0).any() and (rec == -1).any()
    expected = reference_table(rec, rel, k)
    for name, fn in PER_USER.items():
        np.testing.assert_allclose(fn(rec, rel, k=k), expected[name], rtol=0, atol=1e-12,
                                   err_msg=name)
    for gains in ("linear", "exponential"):
        np.testing.assert_allclose(ndcg(rec, rel, k=k, gains=gains),
                                   reference_table(rec, rel, k, gains)["ndcg"], rtol=0,
                                   atol=1e-12, err_msg=gains)


@st.composite
def cases(draw, max_users: int = 6, max_items: int = 10, max_width: int = 8):
    n_users = draw(st.integers(0, max_users))
    n_items = draw(st.integers(1, max_items))
    width = draw(st.integers(0, max_width))
    row = st.lists(st.integers(-1, n_items - 1), min_size=width, max_size=width)
    rec = np.array(draw(st.lists(row, min_size=n_users, max_size=n_users)), dtype=np.int64)
    rec = rec.reshape(n_users, width)
    # None: not stored; 0 and -1: stored but not relevant; 1..3: relevant with that grade
    cell = st.sampled_from([None, None, None, 0.0, -1.0, 1.0, 2.0, 3.0])
    grid = draw(st.lists(st.lists(cell, min_size=n_items, max_size=n_items),
                         min_size=n_users, max_size=n_users))
    stored = [(u, i, v) for u, r in enumerate(grid) for i, v in enumerate(r) if v is not None]
    if stored:
        rows, cols, vals = (np.array(x) for x in zip(*stored, strict=True))
    else:
        rows, cols, vals = np.array([], int), np.array([], int), np.array([])
    rel = sp.csr_matrix((vals, (rows, cols)), shape=(n_users, n_items))
    k = draw(st.integers(1, max_width + 2))
    return rec, rel, k


@PROPERTY
@given(cases(), st.sampled_from(["binary", "linear", "exponential"]))
def test_property_matches_reference_and_stays_in_unit_interval(case, gains):
    rec, rel, k = case
    expected = reference_table(rec, rel, k)
    expected["ndcg"] = reference_table(rec, rel, k, gains)["ndcg"]
    no_relevant = np.array([not d for d in relevant_dicts(rel)], dtype=bool)
    out = compute(rec, rel, k=k, gains=gains)
    for name, values in out.items():
        assert values.shape == (rec.shape[0],) and values.dtype == np.float64
        np.testing.assert_allclose(values, expected[name], rtol=0, atol=1e-12, err_msg=name)
        finite = values[~np.isnan(values)]
        assert ((finite >= 0) & (finite <= 1 + 1e-12)).all(), name
        if name in NAN_WITHOUT_RELEVANT:
            np.testing.assert_array_equal(np.isnan(values), no_relevant, err_msg=name)
        else:
            assert not np.isnan(values).any(), name


@PROPERTY
@given(cases(), st.data())
def test_property_perfect_ranking_scores_one(case, data):
    _, rel, k = case
    gains = data.draw(st.sampled_from(["binary", "linear", "exponential"]))
    n_users, n_items = rel.shape
    dicts = relevant_dicts(rel)
    # each user's relevant items best grade first, then the others, then padding
    width = n_items + data.draw(st.integers(0, 3))
    rec = np.full((n_users, width), -1)
    for u, d in enumerate(dicts):
        best = sorted(d, key=lambda i: -d[i])
        rest = [i for i in range(n_items) if i not in d]
        order = best + rest
        rec[u, : len(order)] = order
    out = compute(rec, rel, k=k, gains=gains)
    has = np.array([len(d) > 0 for d in dicts], dtype=bool)
    n_rel = np.array([len(d) for d in dicts])
    for name in ("ndcg", "map", "mrr", "hit_rate"):
        np.testing.assert_allclose(out[name][has], 1.0, rtol=1e-12, err_msg=name)
    fits = has & (n_rel <= k)
    np.testing.assert_allclose(out["recall"][fits], 1.0, rtol=1e-12)
    np.testing.assert_allclose(out["precision"], np.minimum(n_rel, k) / k, rtol=1e-12)


@PROPERTY
@given(cases(), st.randoms(use_true_random=False))
def test_property_permuting_users_permutes_results(case, random):
    rec, rel, k = case
    perm = np.arange(rec.shape[0])
    random.shuffle(perm)
    before = compute(rec, rel, k=k)
    after = compute(rec[perm], rel[perm], k=k)
    for name in before:
        np.testing.assert_array_equal(after[name], before[name][perm], err_msg=name)
        if rec.shape[0] and not np.isnan(before[name]).all():
            assert np.nanmean(after[name]) == pytest.approx(np.nanmean(before[name]))


@PROPERTY
@given(cases(), st.integers(1, 5))
def test_property_padding_never_counts(case, extra):
    rec, rel, k = case
    padded = np.hstack([rec, np.full((rec.shape[0], extra), -1)])
    h = hits(padded, rel, k=rec.shape[1] + extra)
    assert not h[padded == -1].any()
    # Appending padding, or asking for a k past the end, changes nothing
    np.testing.assert_array_equal(hits(padded, rel, k=k), hits(rec, rel, k=k))
    before = compute(rec, rel, k=k)
    after = compute(padded, rel, k=k)
    for name in before:
        np.testing.assert_array_equal(after[name], before[name], err_msg=name)
    # Replacing every item by padding leaves no hit at all
    empty = compute(np.full_like(rec, -1), rel, k=k)
    for name in ("precision", "mrr", "hit_rate"):
        np.testing.assert_array_equal(empty[name], 0.0)


@PROPERTY
@given(cases())
def test_property_repeats_are_hits_only_at_first_position(case):
    rec, rel, k = case
    h = hits(rec, rel, k=k)
    top = _metric_input._top(rec, k)
    for u in range(rec.shape[0]):
        for r in range(k):
            if top[u, r] in top[u, :r]:
                assert not h[u, r]
    # the hit count never exceeds the number of distinct relevant items
    n_rel = np.diff(_metric_input._as_relevant(rel, rec.shape[0]).indptr)
    assert (h.sum(axis=1) <= n_rel).all()


@PROPERTY
@given(cases())
def test_property_coverage_is_the_share_of_distinct_items(case):
    rec, rel, k = case
    n_items = rel.shape[1]
    distinct = {int(i) for i in rec[:, :k].ravel() if i >= 0}
    assert coverage(rec, n_items, k=k) == pytest.approx(len(distinct) / n_items)
