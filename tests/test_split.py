"""Splitters: hand cases, hypothesis properties and MovieLens 100K."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from recsys import split
from recsys.data.interactions import Interactions
from recsys.errors import ConfigError, DataError


def round_half_up(x: float) -> int:
    return math.floor(x + 0.5 + 1e-9)


def expected_test_count(n: int, test_size: float) -> int:
    """The documented per-user rule: round half up, capped at n - 1."""
    return min(round_half_up(test_size * n), max(n - 1, 0))


def entries(inter: Interactions) -> dict:
    """{(user, item): (weight, timestamp)} with external ids."""
    frame = inter.to_pandas()
    times = frame["timestamp"] if "timestamp" in frame else [None] * len(frame)
    return {(u, i): (w, t) for u, i, w, t in zip(frame["user"], frame["item"], frame["weight"],
                                                 times, strict=True)}


def _pattern(inter: Interactions, values: np.ndarray) -> sp.csr_matrix:
    """The matrix's sparsity pattern carrying other values (kept even where they are 0)."""
    return sp.csr_matrix((values.astype(np.float64), inter.matrix.indices, inter.matrix.indptr),
                         shape=inter.shape)


def assert_partition(inter: Interactions, train: Interactions, test: Interactions) -> None:
    """Shared indices, aligned matrices, disjoint, union equal to the input (values too)."""
    for part in (train, test):
        assert part.users is inter.users and part.items is inter.items
        assert part.shape == inter.shape
        assert part.matrix.has_sorted_indices
    assert train.nnz + test.nnz == inter.nnz
    ones = [_pattern(x, np.ones(x.nnz)) for x in (inter, train, test)]
    assert ones[1].multiply(ones[2]).nnz == 0  # disjoint
    assert abs(ones[1] + ones[2] - ones[0]).sum() == 0  # union is the input
    # weights and timestamps travel with their entries (+1: a zero would vanish in a sum)
    values = [_pattern(x, x.matrix.data + 1.0) for x in (inter, train, test)]
    assert abs(values[1] + values[2] - values[0]).sum() == 0
    if inter.timestamps is not None:
        stamps = [_pattern(x, x.timestamps - inter.timestamps.min() + 1.0)
                  for x in (inter, train, test)]
        assert abs(stamps[1] + stamps[2] - stamps[0]).sum() == 0


def per_user(inter: Interactions) -> Counter:
    return Counter(dict(zip(inter.users.ids.tolist(), inter.matrix.getnnz(axis=1).tolist(),
                            strict=True)))


def make(users, items, times=None, weights=None) -> Interactions:
    return Interactions.from_arrays(users, items, weights=weights, timestamps=times)


# ---------------------------------------------------------------------------- hand cases
def test_random_hand_case():
    inter = make(["a"] * 10 + ["b"] * 5 + ["c"] * 2 + ["d"], list(range(10)) + list(range(5))
                 + [0, 1] + [0])
    train, test = split.random(inter, test_size=0.25, seed=3)
    assert_partition(inter, train, test)
    # a: 2.5 -> 3, b: 1.25 -> 1, c: 0.5 -> 1 (round half up), d: single interaction -> 0
    assert per_user(test) == Counter({"a": 3, "b": 1, "c": 1, "d": 0})
    assert train.report["step"].tolist() == ["ingest", "split:train"]
    assert "test_size=0.25, seed=3" in test.report.iloc[-1]["reason"]


def test_random_is_deterministic_and_seed_matters():
    inter = make(np.repeat(np.arange(50), 20), np.tile(np.arange(20), 50))
    first = split.random(inter, 0.3, seed=7)[1]
    again = split.random(inter, 0.3, seed=7)[1]
    other = split.random(inter, 0.3, seed=8)[1]
    assert (first.matrix != again.matrix).nnz == 0
    assert (first.matrix != other.matrix).nnz > 0


def test_random_never_empties_a_users_train():
    inter = make(["a", "a", "b"], ["x", "y", "x"])
    train, test = split.random(inter, test_size=0.9, seed=0)
    assert per_user(train) == Counter({"a": 1, "b": 1})
    assert per_user(test) == Counter({"a": 1, "b": 0})


def test_temporal_per_user_hand_case():
    inter = make(["a"] * 4 + ["b"] * 2, ["w", "x", "y", "z", "x", "y"],
                 times=[40, 10, 30, 20, 7, 7])
    train, test = split.temporal(inter, test_size=0.5)
    assert_partition(inter, train, test)
    # a: its 2 latest (w=40, y=30); b: a tie at t=7 broken by item index: y comes after x
    assert set(entries(test)) == {("a", "w"), ("a", "y"), ("b", "y")}


def test_temporal_global_cut_hand_case():
    inter = make(["a", "a", "b", "b", "c"], ["x", "y", "x", "y", "x"], times=[1, 5, 2, 5, 3])
    train, test = split.temporal(inter, test_size=0.4, per_user=False)
    assert_partition(inter, train, test)
    assert set(entries(test)) == {("a", "y"), ("b", "y")}  # the two at t=5
    train, test = split.temporal(inter, test_size=0.2, per_user=False)
    # one entry: both a and b have t=5; ties go by user index, b is later
    assert set(entries(test)) == {("b", "y")}
    assert "cut at timestamp 5" in test.report.iloc[-1]["reason"]


def test_temporal_global_cut_may_leave_users_only_in_test():
    inter = make(["a", "a", "b"], ["x", "y", "y"], times=[1, 2, 9])
    train, test = split.temporal(inter, test_size=0.34, per_user=False)
    assert per_user(train)["b"] == 0 and per_user(test)["b"] == 1
    warm = split.drop_cold(test, train)
    assert warm.nnz == 0 and warm.report.iloc[-1]["step"] == "drop_cold"


def test_leave_last_hand_case():
    inter = make(["a"] * 3 + ["b"] * 2 + ["c"], ["x", "y", "z", "x", "y", "x"],
                 times=[3, 1, 2, 5, 6, 1])
    train, test = split.leave_last(inter, n=1)
    assert_partition(inter, train, test)
    assert set(entries(test)) == {("a", "x"), ("b", "y")}  # c has a single interaction
    train, test = split.leave_last(inter, n=2)
    assert set(entries(test)) == {("a", "x"), ("a", "z")}  # b has exactly 2: stays in train
    assert per_user(train) == Counter({"a": 1, "b": 2, "c": 1})


def test_temporal_splitters_need_timestamps():
    inter = make(["a", "a"], ["x", "y"])
    with pytest.raises(DataError, match="timestamps"):
        split.temporal(inter)
    with pytest.raises(DataError, match="timestamps"):
        split.temporal(inter, per_user=False)
    with pytest.raises(DataError, match="timestamps"):
        split.leave_last(inter)


@pytest.mark.parametrize("bad", [0, 1, 1.5, -0.1, "0.2", None, True, float("nan")])
def test_test_size_is_checked(bad):
    inter = make(["a", "a"], ["x", "y"], times=[1, 2])
    with pytest.raises(ConfigError, match="test_size"):
        split.random(inter, test_size=bad)
    with pytest.raises(ConfigError, match="test_size"):
        split.temporal(inter, test_size=bad)


def test_other_arguments_are_checked():
    inter = make(["a", "a"], ["x", "y"], times=[1, 2])
    with pytest.raises(ConfigError, match="n must be"):
        split.leave_last(inter, n=0)
    with pytest.raises(ConfigError, match="n_folds"):
        list(split.kfold(inter, n_folds=1))
    with pytest.raises(ConfigError, match="Interactions"):
        split.random(inter.matrix)


def test_kfold_hand_case():
    inter = make(["a"] * 7 + ["b"] * 2 + ["c"], list(range(7)) + [0, 1] + [0])
    folds = list(split.kfold(inter, n_folds=3, seed=1))
    assert len(folds) == 3
    seen = Counter()
    for train, test in folds:
        assert_partition(inter, train, test)
        counts = per_user(test)
        assert counts["a"] in (2, 3) and counts["c"] == 0 and counts["b"] <= 1
        seen.update(entries(test).keys())
    # every entry of a user with >= 2 interactions is tested exactly once; c never
    assert set(seen.values()) == {1}
    assert set(seen) == set(entries(inter)) - {("c", 0)}
    assert "fold 2 of 3" in folds[1][1].report.iloc[-1]["reason"]


def test_kfold_is_deterministic():
    inter = make(np.repeat(np.arange(20), 6), np.tile(np.arange(6), 20))
    a = [t.matrix for _, t in split.kfold(inter, 4, seed=5)]
    b = [t.matrix for _, t in split.kfold(inter, 4, seed=5)]
    assert all((x != y).nnz == 0 for x, y in zip(a, b, strict=True))


def test_items_only_in_test_stay_in_the_index():
    inter = make(["a", "a", "b", "b"], ["x", "rare", "x", "y"], times=[1, 9, 1, 2])
    train, test = split.leave_last(inter, n=1)
    rare = train.items.to_index("rare")[0]
    assert "rare" in train.items and train.matrix.getnnz(axis=0)[rare] == 0
    assert set(entries(test)) == {("a", "rare"), ("b", "y")}
    warm = split.drop_cold(test, train, users=False, items=True)
    assert warm.nnz == 0  # neither "rare" nor "y" was seen in train
    assert split.drop_cold(test, train, users=True, items=False).nnz == test.nnz


def test_drop_cold_needs_a_pair():
    a = make(["a"], ["x"])
    b = make(["b"], ["x"])
    with pytest.raises(DataError, match="sharing"):
        split.drop_cold(a, b)


def test_empty_interactions_split_to_empty():
    inter = make(["a"], ["x"], times=[1]).select(np.array([False]))
    for train, test in (split.random(inter), split.temporal(inter),
                        split.temporal(inter, per_user=False), split.leave_last(inter)):
        assert train.nnz == test.nnz == 0


# ---------------------------------------------------------------------------- properties
@st.composite
def interactions(draw):
    """Up to 10 users x 15 items with few distinct times (many ties); the cells come from a
    generator seeded by hypothesis (a few draws per example instead of hundreds)."""
    n = draw(st.integers(1, 80))
    n_users, n_items, n_times = draw(st.integers(1, 10)), draw(st.integers(1, 15)), draw(
        st.integers(1, 7))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    users = rng.integers(0, n_users, n)
    items = rng.integers(0, n_items, n)
    return Interactions.from_arrays(
        np.char.add("u", users.astype(str)), np.char.add("i", items.astype(str)),
        weights=rng.choice([1.0, 2.0, 5.0], n), timestamps=rng.integers(0, n_times, n),
        duplicates="last")


sizes = st.sampled_from([0.1, 0.2, 0.25, 0.5, 0.75, 0.9])


@settings(max_examples=150, deadline=None, derandomize=True)
@given(interactions(), sizes, st.integers(0, 2**32 - 1))
def test_random_properties(inter, test_size, seed):
    train, test = split.random(inter, test_size=test_size, seed=seed)
    assert_partition(inter, train, test)
    totals, tested = per_user(inter), per_user(test)
    for user, n in totals.items():
        assert tested[user] == expected_test_count(n, test_size)
    again_train, again_test = split.random(inter, test_size=test_size, seed=seed)
    assert (again_test.matrix != test.matrix).nnz == 0
    assert np.array_equal(again_test.timestamps, test.timestamps)


def _later_or_equal_within_users(train: Interactions, test: Interactions) -> None:
    by_user = defaultdict(lambda: ([], []))
    for side, part in ((0, train), (1, test)):
        frame = part.to_pandas()
        for user, t in zip(frame["user"], frame["timestamp"], strict=True):
            by_user[user][side].append(t)
    for train_times, test_times in by_user.values():
        if train_times and test_times:
            assert min(test_times) >= max(train_times)


@settings(max_examples=150, deadline=None, derandomize=True)
@given(interactions(), sizes)
def test_temporal_per_user_properties(inter, test_size):
    train, test = split.temporal(inter, test_size=test_size, per_user=True)
    assert_partition(inter, train, test)
    totals, tested = per_user(inter), per_user(test)
    for user, n in totals.items():
        assert tested[user] == expected_test_count(n, test_size)
    _later_or_equal_within_users(train, test)
    again = split.temporal(inter, test_size=test_size, per_user=True)[1]
    assert (again.matrix != test.matrix).nnz == 0


@settings(max_examples=150, deadline=None, derandomize=True)
@given(interactions(), sizes)
def test_temporal_global_properties(inter, test_size):
    train, test = split.temporal(inter, test_size=test_size, per_user=False)
    assert_partition(inter, train, test)
    assert test.nnz == round_half_up(test_size * inter.nnz)
    if train.nnz and test.nnz:
        assert test.timestamps.min() >= train.timestamps.max()


@settings(max_examples=150, deadline=None, derandomize=True)
@given(interactions(), st.integers(1, 4))
def test_leave_last_properties(inter, n):
    train, test = split.leave_last(inter, n=n)
    assert_partition(inter, train, test)
    totals, tested = per_user(inter), per_user(test)
    for user, count in totals.items():
        assert tested[user] == (n if count > n else 0)
    _later_or_equal_within_users(train, test)


@settings(max_examples=100, deadline=None, derandomize=True)
@given(interactions(), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_kfold_properties(inter, n_folds, seed):
    totals = per_user(inter)
    times_tested = Counter()
    for train, test in split.kfold(inter, n_folds=n_folds, seed=seed):
        assert_partition(inter, train, test)
        tested = per_user(test)
        for user, n in totals.items():
            # a user's entries spread evenly over the folds; single-interaction users: never
            expected = {0} if n < 2 else {n // n_folds, -(-n // n_folds)}
            assert tested[user] in expected
            assert tested[user] < n or n == 0
        times_tested.update(entries(test).keys())
    multi = {key for key in entries(inter) if totals[key[0]] >= 2}
    assert set(times_tested) == multi and set(times_tested.values()) <= {1}


# ---------------------------------------------------------------------------- MovieLens 100K
@pytest.fixture(scope="module")
def ml100k(ml100k_dir) -> Interactions:
    return Interactions.read_csv(ml100k_dir / "u.data", user="user", item="item",
                                 weight="rating", timestamp="time", sep="\t",
                                 names=["user", "item", "rating", "time"])


def test_movielens_random_split(ml100k):
    train, test = split.random(ml100k, test_size=0.2, seed=42)
    assert_partition(ml100k, train, test)
    expected = sum(expected_test_count(n, 0.2) for n in ml100k.matrix.getnnz(axis=1))
    assert test.nnz == expected
    assert 0.19 < test.nnz / ml100k.nnz < 0.21
    again = split.random(ml100k, test_size=0.2, seed=42)[1]
    assert (again.matrix != test.matrix).nnz == 0
    assert (split.random(ml100k, test_size=0.2, seed=43)[1].matrix != test.matrix).nnz > 0
    # every MovieLens user has >= 20 ratings, so every user is in both sides
    assert (train.matrix.getnnz(axis=1) > 0).all() and (test.matrix.getnnz(axis=1) > 0).all()


def test_movielens_temporal_splits(ml100k):
    train, test = split.temporal(ml100k, test_size=0.1, per_user=True)
    assert_partition(ml100k, train, test)
    rows_train = pd.DataFrame({"u": train.entries()[0], "t": train.timestamps})
    rows_test = pd.DataFrame({"u": test.entries()[0], "t": test.timestamps})
    latest_train = rows_train.groupby("u")["t"].max()
    earliest_test = rows_test.groupby("u")["t"].min()
    assert (earliest_test >= latest_train.reindex(earliest_test.index)).all()
    train, test = split.temporal(ml100k, test_size=0.1, per_user=False)
    assert test.nnz == 10_000 and test.timestamps.min() >= train.timestamps.max()
    train, test = split.leave_last(ml100k, n=1)
    assert test.nnz == 943 and (test.matrix.getnnz(axis=1) == 1).all()


def test_splitting_a_matrix_whose_last_users_have_no_entries():
    inter = Interactions.from_arrays(["a", "a", "a", "a", "b", "c"], [1, 2, 3, 4, 1, 3])
    only_a = inter.select(np.array([True, True, True, True, False, False]))
    train, test = split.random(only_a, test_size=0.5, seed=1)
    assert (train.nnz, test.nnz) == (2, 2)
    assert np.diff(train.matrix.indptr).tolist() == [2, 0, 0]
