"""rs.evaluate on hand-computed cases, and its bookkeeping of what it could not score."""

import math

import numpy as np
import pandas as pd
import pytest

import recsys as rs
from recsys.errors import DataError


@pytest.fixture()
def small():
    # Popularity order in train: a (3 users) > b (2) > c (1) > d (1, higher index than c).
    train = rs.Interactions.from_pandas(pd.DataFrame({
        "user": ["u1", "u2", "u3", "u2", "u3", "u3", "u4"],
        "item": ["a", "a", "a", "b", "b", "c", "d"],
    }), "user", "item")
    test = rs.Interactions.from_pandas(pd.DataFrame({
        "user": ["u1", "u1", "u2", "u4", "stranger"],
        "item": ["c", "new-item", "d", "a", "a"],
    }), "user", "item")
    return train, test


def test_hand_computed_popularity(small):
    train, test = small
    res = rs.evaluate(rs.Popularity().fit(train), test, k=2, metrics=["precision", "recall",
                                                                      "ndcg", "hit_rate"])
    # u1 saw a -> list [b, c]; relevant {c, new-item}: hit at rank 2.
    # u2 saw a, b -> list [c, d]; relevant {d}: hit at rank 2.
    # u4 saw d -> list [a, b]; relevant {a}: hit at rank 1.
    per_user = res.per_user.loc[["u1", "u2", "u4"]]
    assert per_user["precision@2"].tolist() == [0.5, 0.5, 0.5]
    assert per_user["recall@2"].tolist() == [0.5, 1.0, 1.0]
    idcg_two = 1 + 1 / math.log2(3)
    np.testing.assert_allclose(per_user["ndcg@2"], [(1 / math.log2(3)) / idcg_two,
                                                    1 / math.log2(3), 1.0])
    assert per_user["hit_rate@2"].tolist() == [1.0, 1.0, 1.0]
    # Lists: [b, c], [c, d], [a, b] -> all four items shown.
    assert res.summary["coverage@2"] == 1.0
    assert res.info == {"users_evaluated": 3, "users_unknown_skipped": 1,
                        "test_entries_on_unseen_items": 1}


def test_several_cutoffs_at_once(small):
    train, test = small
    res = rs.evaluate(rs.Popularity().fit(train), test, k=[1, 3])
    assert {"ndcg@1", "ndcg@3", "coverage@1", "coverage@3"} <= set(res.summary.index)
    assert res.per_user.loc["u4", "hit_rate@1"] == 1.0


def test_train_entries_are_dropped_from_test(small):
    train, test = small
    leaky = rs.Interactions.from_pandas(pd.DataFrame({"user": ["u1", "u1"],
                                                      "item": ["a", "c"]}), "user", "item")
    res = rs.evaluate(rs.Popularity().fit(train), leaky, train=train, k=2)
    # (u1, a) is a training entry and cannot be recommended; only (u1, c) stays relevant.
    assert res.per_user.loc["u1", "recall@2"] == 1.0


def test_no_known_users_is_an_error(small):
    train, _ = small
    test = rs.Interactions.from_arrays(["ghost"], ["a"])
    with pytest.raises(DataError, match="no test user"):
        rs.evaluate(rs.Popularity().fit(train), test)


def test_relevance_threshold_and_graded_gains(small):
    train, _ = small
    # u1's list is [b, c]: c rated 5 at rank 2, d rated 2 (not recommended: d is 4th).
    test = rs.Interactions.from_pandas(pd.DataFrame({
        "user": ["u1", "u1", "u1"], "item": ["c", "d", "b"], "rating": [5.0, 2.0, 3.0]}),
        "user", "item", weight="rating")
    model = rs.Popularity().fit(train)
    graded = rs.evaluate(model, test, k=2, gains="linear", metrics=["ndcg", "recall"])
    # DCG = 3/log2(2) + 5/log2(3); ideal = 5/log2(2) + 3/log2(3).
    expected = (3 + 5 / math.log2(3)) / (5 + 3 / math.log2(3))
    assert graded.per_user.loc["u1", "ndcg@2"] == pytest.approx(expected)
    assert graded.per_user.loc["u1", "recall@2"] == pytest.approx(2 / 3)
    strict = rs.evaluate(model, test, k=2, relevance_threshold=4.0, metrics=["ndcg", "recall"])
    # Only c (5) is relevant: hit at rank 2 of 1 relevant -> ndcg = 1/log2(3), recall = 1.
    assert strict.per_user.loc["u1", "ndcg@2"] == pytest.approx(1 / math.log2(3))
    assert strict.per_user.loc["u1", "recall@2"] == 1.0


def test_unseen_items_count_items_without_training_interactions(ml100k):
    # rs.split keeps one item index for train and test, so a test item with no training
    # interaction is still inside the model's index: it must be counted all the same.
    train, test = rs.split.random(ml100k, test_size=0.2, seed=42)
    assert np.array_equal(train.items.ids, test.items.ids)
    res = rs.evaluate(rs.Popularity().fit(train), test, k=10)
    frame_train, frame_test = train.to_pandas(), test.to_pandas()
    held = set(frame_train["item"])
    known_users = set(frame_train["user"])
    expected = int((~frame_test["item"].isin(held) & frame_test["user"].isin(known_users)).sum())
    assert expected > 0
    assert res.info["test_entries_on_unseen_items"] == expected


def test_unseen_items_include_items_outside_the_index(small):
    train, test = small
    extra = rs.Interactions.from_pandas(pd.DataFrame({
        "user": ["u1", "u1", "u4"], "item": ["c", "zz", "zz"]}), "user", "item")
    assert rs.evaluate(rs.Popularity().fit(train), extra, k=2).info[
        "test_entries_on_unseen_items"] == 2
