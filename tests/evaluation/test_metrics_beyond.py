"""Beyond-accuracy kernels: AUC, novelty, ARP, intra-list diversity, catalog coverage, Gini,
personalization. Hand-computed cases, plain-Python references on random data, properties."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import roc_auc_score

import recsys as rs
from recsys.errors import ConfigError, DataError
from recsys.evaluation import metrics
from recsys.evaluation.metrics import (
    auc,
    average_recommended_popularity,
    catalog_coverage,
    full_ranking,
    gini_index,
    intra_list_diversity,
    novelty,
    personalization,
)

PROPERTY = settings(max_examples=50, derandomize=True, deadline=None)


@st.composite
def lists(draw, max_users: int = 6, max_items: int = 8, max_width: int = 5):
    """(recommended with -1 padding at the end of rows, n_items)."""
    n_items = draw(st.integers(1, max_items))
    n_users = draw(st.integers(1, max_users))
    width = draw(st.integers(1, max_width))
    rows = []
    for _ in range(n_users):
        length = draw(st.integers(0, min(width, n_items)))
        items = draw(st.permutations(range(n_items)))[:length]
        rows.append(list(items) + [-1] * (width - length))
    return np.array(rows, dtype=np.int64), n_items


# --------------------------------------------------------------------------- AUC

def test_auc_hand_computed():
    # user 0: relevant 0 and 2 ranked 2nd and 1st, negatives 3 and 1 below both -> 4/4
    # user 1: relevant 2 at listed place 1 beats item 1 only; relevant 3 is not ranked
    ranking = np.array([[2, 0, 3, 1], [0, 2, 1, -1]])
    relevant = sp.csr_matrix(np.array([[1, 0, 1, 0], [0, 0, 1, 1]]))
    np.testing.assert_allclose(auc(ranking, relevant), [1.0, 1 / 4])
    np.testing.assert_allclose(auc(ranking, relevant, missing="ignore"), [1.0, 1 / 2])


def test_auc_padding_inside_a_row_is_skipped():
    ranking = np.array([[-1, 1, -1, 0, 2]])  # listed order: 1, 0, 2
    relevant = sp.csr_matrix(np.array([[1, 0, 0]]))
    np.testing.assert_allclose(auc(ranking, relevant), [0.5])  # beats 2, loses to 1


def test_auc_undefined_without_positives_or_negatives():
    ranking = np.array([[0, 1], [0, 1]])
    relevant = sp.csr_matrix(np.array([[0, 0], [1, 1]]))
    assert np.isnan(auc(ranking, relevant)).all()


def test_auc_rejects_repeated_items_and_bad_policy():
    with pytest.raises(DataError, match="row 0 lists item 1 twice"):
        auc(np.array([[1, 0, 1]]), sp.csr_matrix(np.array([[1, 0]])))
    with pytest.raises(ConfigError, match="missing"):
        auc(np.array([[0]]), sp.csr_matrix(np.array([[1]])), missing="best")


def test_full_ranking_excludes_and_breaks_ties_by_index():
    scores = np.array([[0.5, 0.9, 0.5, 0.1], [1.0, 1.0, 1.0, 1.0]])
    exclude = sp.csr_matrix(np.array([[0, 1, 0, 0], [0, 0, 0, 0]]))
    np.testing.assert_array_equal(full_ranking(scores, exclude),
                                  [[0, 2, 3, -1], [0, 1, 2, 3]])
    with pytest.raises(DataError, match="finite"):
        full_ranking(np.array([[np.nan, 1.0]]))


@PROPERTY
@given(st.integers(0, 2**31 - 1))
def test_auc_matches_sklearn_on_random_scores(seed):
    rng = np.random.default_rng(seed)
    n_users, n_items = 5, 12
    # Rounded scores create ties; sklearn counts a tie as half a win, a ranking breaks it by
    # index, so compare on tie-free scores and check the tie rule separately below.
    scores = rng.permutation(n_users * n_items).reshape(n_users, n_items).astype(float)
    exclude = sp.random(n_users, n_items, density=0.2, random_state=rng, format="csr")
    exclude.data[:] = 1
    relevant = sp.random(n_users, n_items, density=0.3, random_state=rng, format="csr")
    relevant = relevant - relevant.multiply(exclude.astype(bool))  # relevant are candidates
    relevant.eliminate_zeros()
    got = auc(full_ranking(scores, exclude), relevant)
    for u in range(n_users):
        candidates = np.setdiff1d(np.arange(n_items), exclude[u].indices)
        labels = np.isin(candidates, relevant[u].indices)
        if labels.all() or not labels.any():
            assert np.isnan(got[u])
        else:
            assert got[u] == pytest.approx(roc_auc_score(labels, scores[u, candidates]))


@PROPERTY
@given(st.integers(2, 10), st.data())
def test_auc_is_one_when_relevant_first_and_zero_when_last(n_items, data):
    n_relevant = data.draw(st.integers(1, n_items - 1))
    order = np.array(data.draw(st.permutations(range(n_items))))
    relevant = sp.csr_matrix((np.ones(n_relevant), (np.zeros(n_relevant, int),
                                                    order[:n_relevant])), shape=(1, n_items))
    assert auc(order[None, :], relevant)[0] == 1.0
    assert auc(order[::-1][None, :], relevant)[0] == 0.0


# --------------------------------------------------------------------------- popularity

COUNTS = np.array([8, 4, 1, 0])  # users per item, out of 8 training users


def test_novelty_hand_computed():
    rec = np.array([[0, 1, -1], [2, 3, 1], [-1, -1, -1]])
    # self-information: item 0 -> 0, item 1 -> 1, item 2 -> 3, item 3 (never seen) -> 3
    got = novelty(rec, COUNTS, k=[1, 3], n_users=8)
    np.testing.assert_allclose(got[1], [0.0, 3.0, np.nan])
    np.testing.assert_allclose(got[3], [0.5, 7 / 3, np.nan])


def test_novelty_from_the_train_matrix_equals_counts():
    train = sp.csr_matrix(np.array([[1, 1, 0], [1, 0, 0], [2, 0, 0], [1, 0, 5]]))
    rec = np.array([[0, 1], [2, 0]])
    np.testing.assert_allclose(novelty(rec, train, k=2),
                               novelty(rec, np.array([4, 1, 1]), k=2, n_users=4))
    np.testing.assert_allclose(novelty(rec, train, k=2), [1.0, 1.0])  # (0 + 2) / 2
    with pytest.raises(ConfigError, match="n_users"):
        novelty(rec, np.array([4, 1, 1]), k=2)


def test_average_recommended_popularity_hand_computed():
    rec = np.array([[0, 1, 2], [3, -1, -1], [-1, -1, -1]])
    got = average_recommended_popularity(rec, COUNTS, k=[2, 3])
    np.testing.assert_allclose(got[2], [6.0, 0.0, np.nan])
    np.testing.assert_allclose(got[3], [13 / 3, 0.0, np.nan])


@PROPERTY
@given(lists())
def test_novelty_and_arp_match_a_plain_python_reference(case):
    rec, n_items = case
    counts = np.arange(n_items) % 4  # includes never-seen items
    n_users = 5
    for k in (1, 3):
        nov = novelty(rec, counts, k=k, n_users=n_users)
        arp = average_recommended_popularity(rec, counts, k=k)
        for u, row in enumerate(rec):
            items = [i for i in row[:k] if i >= 0]
            if not items:
                assert np.isnan(nov[u]) and np.isnan(arp[u])
                continue
            info = [-math.log2(max(counts[i], 1) / n_users) for i in items]
            assert nov[u] == pytest.approx(sum(info) / len(items))
            assert arp[u] == pytest.approx(sum(counts[i] for i in items) / len(items))


# --------------------------------------------------------------------------- diversity

VECTORS = np.array([[1.0, 0.0], [2.0, 0.0], [0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])


def test_intra_list_diversity_hand_computed():
    rec = np.array([[0, 1, -1], [0, 2, -1], [0, 2, 3], [0, -1, -1], [0, 4, -1]])
    got = intra_list_diversity(rec, VECTORS, k=3)
    c = 1 / math.sqrt(2)  # cosine of item 3 with items 0 and 2
    np.testing.assert_allclose(got, [0.0, 1.0, 1 - (0 + c + c) / 3, np.nan, 1.0])


@PROPERTY
@given(lists(), st.integers(0, 2**31 - 1))
def test_intra_list_diversity_matches_pairwise_reference(case, seed):
    rec, n_items = case
    vectors = np.random.default_rng(seed).normal(size=(n_items, 3))
    unit = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    got = intra_list_diversity(rec, vectors, k=[2, 5])
    sparse = intra_list_diversity(rec, sp.csr_matrix(vectors), k=[2, 5])
    for k in (2, 5):
        np.testing.assert_allclose(sparse[k], got[k])
        for u, row in enumerate(rec):
            items = [i for i in row[:k] if i >= 0]
            if len(items) < 2:
                assert np.isnan(got[k][u])
                continue
            sims = [unit[a] @ unit[b] for a, b in itertools.combinations(items, 2)]
            assert got[k][u] == pytest.approx(1 - np.mean(sims), abs=1e-9)


def test_intra_list_diversity_accepts_features():
    ds = rs.datasets.demo()
    rec = np.array([[0, 1, 2], [3, 4, 5]])
    np.testing.assert_allclose(intra_list_diversity(rec, ds.item_features, k=3),
                               intra_list_diversity(rec, ds.item_features.matrix, k=3))


# --------------------------------------------------------------------------- exposure

def test_catalog_coverage_is_coverage():
    rec = np.array([[0, 1, 2], [1, 0, -1]])
    assert catalog_coverage(rec, n_items=10, k=2) == 0.2
    assert catalog_coverage(rec, n_items=10, k=[2, 3]) == {2: 0.2, 3: 0.3}


def test_gini_index_hand_computed():
    assert gini_index(np.array([[0, 1], [1, 0]]), n_items=2, k=2) == 0.0
    assert gini_index(np.array([[0], [0]]), n_items=4, k=1) == 0.75
    # exposures sorted 0, 1, 3: (-2*0 + 0*1 + 2*3) / (3 * 4) = 0.5
    assert gini_index(np.array([[0, 1], [0, -1], [0, -1]]), n_items=3, k=2) == pytest.approx(0.5)
    assert np.isnan(gini_index(np.array([[-1]]), n_items=3, k=1))


@PROPERTY
@given(lists())
def test_gini_matches_mean_absolute_difference(case):
    rec, n_items = case
    exposure = np.bincount(rec[rec >= 0], minlength=n_items).astype(float)
    got = gini_index(rec, n_items=n_items, k=rec.shape[1])
    if exposure.sum() == 0:
        assert np.isnan(got)
    else:
        mad = np.abs(exposure[:, None] - exposure[None, :]).sum()
        assert got == pytest.approx(mad / (2 * n_items * exposure.sum()))
        assert 0.0 <= got <= 1.0 - 1.0 / n_items + 1e-12


# --------------------------------------------------------------------------- personalization

def test_personalization_hand_computed():
    assert personalization(np.array([[0, 1], [0, 1], [1, 0]]), k=2) == 0.0
    assert personalization(np.array([[0, 1], [2, 3]]), k=2) == 1.0
    # overlaps: (u0, u1) = 1/2, (u0, u2) = 0, (u1, u2) = 0 -> 1 - (1/2) / 3
    rec = np.array([[0, 1], [0, 2], [3, 4]])
    assert personalization(rec, k=2) == pytest.approx(1 - 1 / 6)
    np.testing.assert_allclose(personalization(rec, k=2, per_user=True),
                               [1 - 0.25, 1 - 0.25, 1.0])
    assert np.isnan(personalization(np.array([[0, 1], [-1, -1]]), k=2))


@PROPERTY
@given(lists())
def test_personalization_matches_pairwise_reference(case):
    rec, _ = case
    rec = np.concatenate([rec, rec[:1]])  # a repeated user: overlap 1 with its twin
    for k in (1, 3):
        sets = [{i for i in row[:k] if i >= 0} for row in rec]
        active = [s for s in sets if s]
        got = personalization(rec, k=k)
        per_user = personalization(rec, k=k, per_user=True)
        if len(active) < 2:
            assert np.isnan(got)
            continue
        overlaps = [len(a & b) / math.sqrt(len(a) * len(b))
                    for a, b in itertools.permutations(active, 2)]
        assert got == pytest.approx(1 - np.mean(overlaps), abs=1e-12)
        assert np.nanmean(per_user) == pytest.approx(got, abs=1e-12)
        assert np.isnan(per_user[[not s for s in sets]]).all()


# --------------------------------------------------------------------------- shared rules

@PROPERTY
@given(lists())
def test_a_list_of_k_equals_separate_calls(case):
    rec, n_items = case
    counts = np.arange(n_items) + 1
    vectors = np.eye(n_items)
    calls = {
        "novelty": lambda k: novelty(rec, counts, k=k, n_users=n_items + 1),
        "arp": lambda k: average_recommended_popularity(rec, counts, k=k),
        "ild": lambda k: intra_list_diversity(rec, vectors, k=k),
        "gini": lambda k: gini_index(rec, n_items, k=k),
        "personalization": lambda k: personalization(rec, k=k),
    }
    for call in calls.values():
        together = call([1, 2, 7])
        for k in (1, 2, 7):
            np.testing.assert_allclose(together[k], call(k))


def test_bad_inputs_are_named():
    with pytest.raises(DataError, match=r"recommended\[0, 1\] = 9"):
        novelty(np.array([[0, 9]]), np.array([1, 1]), n_users=2)
    with pytest.raises(ConfigError, match="k must be >= 1"):
        personalization(np.array([[0]]), k=0)
    with pytest.raises(DataError, match="1-D array"):
        average_recommended_popularity(np.array([[0]]), np.ones((2, 2)))
    with pytest.raises(ConfigError, match="n_items"):
        gini_index(np.array([[0]]), n_items=0)


# --------------------------------------------------------------------------- evaluate

def test_evaluate_beyond_adds_per_user_and_summary_columns():
    ds = rs.datasets.demo()
    train, test = rs.split.random(ds.interactions, test_size=0.2, seed=42)
    pop = rs.evaluate(rs.Popularity().fit(train), test, k=[5, 10], beyond=True)
    knn_model = rs.ItemKNN().fit(train)
    knn = rs.evaluate(knn_model, test, train=train, k=[5, 10], beyond=True)
    for column in ("novelty@5", "arp@10", "diversity@10"):
        assert column in knn.per_user.columns
    for column in ("gini@10", "personalization@5", "coverage@10"):
        assert column in knn.summary.index
    # Popularity recommends the head to everyone: less novel, more popular, less personal.
    assert pop.summary["novelty@10"] < knn.summary["novelty@10"]
    assert pop.summary["arp@10"] > knn.summary["arp@10"]
    assert pop.summary["personalization@10"] < knn.summary["personalization@10"]
    assert pop.summary["gini@10"] > knn.summary["gini@10"]
    # The columns are the kernels applied to the evaluated lists.
    users = knn.per_user.index.to_numpy()
    recommended = knn_model.recommend(users, k=10).positions
    expected = metrics.novelty(recommended, train.matrix, k=10)
    np.testing.assert_allclose(knn.per_user["novelty@10"].to_numpy(), expected)
    with_features = rs.evaluate(knn_model, test, k=10, beyond=True,
                                item_features=ds.item_features)
    assert not np.allclose(with_features.per_user["diversity@10"], knn.per_user["diversity@10"])
    assert "novelty@10" not in rs.evaluate(knn_model, test, k=10).per_user.columns
