"""AssociationRules: equal to mlxtend on Groceries, hand-computed cases, exact thresholds,
ranking semantics, bad input, and sparse engine == mlxtend engine on random baskets."""

from __future__ import annotations

import csv
import itertools
import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mlxtend.frequent_patterns import association_rules, fpgrowth
from mlxtend.preprocessing import TransactionEncoder

import recsys as rs
from recsys.errors import ConfigError, DataError, RecsysWarning, UnknownIdError
from recsys.models import rule_mining as rules_module

METRICS = ["antecedent support", "consequent support", "support", "confidence", "lift",
           "leverage", "conviction"]
COUNTS = ["count", "antecedent count", "consequent count"]


def baskets_frame(baskets: list[list]) -> pd.DataFrame:
    """(basket_id, item) rows, basket ids 1..n in order."""
    return pd.DataFrame([(b, item) for b, items in enumerate(baskets, 1) for item in items],
                        columns=["basket_id", "item"])


def fit(baskets: list[list], **params) -> rs.AssociationRules:
    return rs.AssociationRules(**params).fit(rs.datasets.baskets(baskets_frame(baskets)))


def by_rule(frame: pd.DataFrame) -> dict:
    """{(antecedents, consequents): row as a dict}, so rule order does not matter."""
    return {(row["antecedents"], row["consequents"]): row
            for row in frame.to_dict("records")}


def assert_same_rules(ours: pd.DataFrame, reference: pd.DataFrame) -> None:
    left, right = by_rule(ours), by_rule(reference)
    assert set(left) == set(right)
    for key, row in right.items():
        for name in METRICS:
            expected, got = row[name], left[key][name]
            if np.isinf(expected):
                assert np.isinf(got), (key, name)
            else:
                assert got == pytest.approx(expected, rel=0, abs=1e-12), (key, name)


# ------------------------------------------------------------------ Groceries vs mlxtend


@pytest.fixture(scope="module")
def groceries(groceries_csv):
    return rs.datasets.baskets(groceries_csv)


@pytest.fixture(scope="module")
def groceries_reference(groceries_csv):
    """mlxtend's own rules, from a one-hot frame built without our loader."""
    with open(groceries_csv, newline="") as handle:
        lines = [[f.strip() for f in row if f.strip()] for row in csv.reader(handle)]
    lines = [line for line in lines if line]
    encoder = TransactionEncoder()
    onehot = pd.DataFrame(encoder.fit(lines).transform(lines), columns=encoder.columns_)
    out = {}
    for max_len in (2, 3):
        itemsets = fpgrowth(onehot, min_support=0.006, use_colnames=True, max_len=max_len)
        out[max_len] = association_rules(itemsets, num_itemsets=len(onehot),
                                         metric="confidence", min_threshold=0.25)
    return out


@pytest.mark.parametrize("engine, max_len", [("mlxtend", 2), ("mlxtend", 3),
                                             ("sparse", 2), ("sparse", 3)])
def test_groceries_rules_equal_mlxtend(groceries, groceries_reference, engine, max_len):
    model = rs.AssociationRules(min_support=0.006, min_confidence=0.25, max_len=max_len,
                                engine=engine).fit(groceries)
    reference = groceries_reference[max_len]
    if engine == "sparse":  # our miner gives the n -> 1 rules (1 -> 1 and 2 -> 1)
        reference = reference[reference["consequents"].map(len) == 1]
    assert len(reference) > (100 if max_len == 2 else 400)  # not a vacuous comparison
    assert model.min_count_ == 60  # 0.006 * 9835 = 59.01
    assert_same_rules(model.rules_, reference)
    rules = model.rules_
    assert (rules["count"] == np.rint(rules["support"] * 9835)).all()


def test_groceries_engines_recommend_alike(groceries):
    params = dict(min_support=0.006, min_confidence=0.25, max_len=3)
    sparse = rs.AssociationRules(engine="sparse", **params).fit(groceries)
    mlx = rs.AssociationRules(engine="mlxtend", **params).fit(groceries)
    users = groceries.interactions.users.ids[::50]
    a, b = sparse.recommend(users, k=5), mlx.recommend(users, k=5)
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.scores, b.scores)


def test_recommend_is_max_over_matching_rules(groceries):
    """Vectorized scores == a per-user Python max over the rules table (1 -> 1 and 2 -> 1)."""
    model = rs.AssociationRules(min_support=0.006, min_confidence=0.1, max_len=3).fit(groceries)
    rules = model.rules_
    inter = groceries.interactions
    antecedents = rules["antecedents"].tolist()
    columns = inter.items.to_index([next(iter(c)) for c in rules["consequents"]])
    rows = np.arange(0, inter.n_users, 131)
    for metric in ("lift", "confidence"):
        model.set_params(metric=metric)
        scores = model._score(rows, None)
        values = rules[metric].astype(np.float32).tolist()
        for r, row in enumerate(rows):
            basket = set(inter.items.to_ids(inter.matrix[row].indices).tolist())
            expected = np.zeros(inter.n_items, np.float32)
            for antecedent, col, value in zip(antecedents, columns, values, strict=True):
                if antecedent <= basket:
                    expected[col] = max(expected[col], value)
            np.testing.assert_array_equal(scores[r], expected)


# ------------------------------------------------------------------ hand-made cases

FIVE = [["milk", "bread", "butter"], ["milk", "bread"], ["milk", "butter"],
        ["bread", "jam"], ["milk", "bread", "jam"]]
# Counts: milk 4, bread 4, butter 2, jam 2; milk+bread 3, milk+butter 2, bread+jam 2,
# bread+butter 1, milk+jam 1; every triple at most 1. With min_support 0.4 (2 of 5 baskets)
# the frequent pairs are milk+bread, milk+butter and bread+jam. By hand, A -> C:
# support = n(AC)/5, confidence = n(AC)/n(A), lift = confidence / (n(C)/5),
# leverage = support - s(A) s(C), conviction = (1 - s(C)) / (1 - confidence).
FIVE_RULES = {  # (A, C): (support, confidence, lift, leverage, conviction)
    ("milk", "bread"): (0.6, 0.75, 0.9375, 0.6 - 0.8 * 0.8, 0.2 / 0.25),
    ("bread", "milk"): (0.6, 0.75, 0.9375, 0.6 - 0.8 * 0.8, 0.2 / 0.25),
    ("milk", "butter"): (0.4, 0.5, 1.25, 0.4 - 0.8 * 0.4, 0.6 / 0.5),
    ("butter", "milk"): (0.4, 1.0, 1.25, 0.4 - 0.4 * 0.8, np.inf),
    ("bread", "jam"): (0.4, 0.5, 1.25, 0.4 - 0.8 * 0.4, 0.6 / 0.5),
    ("jam", "bread"): (0.4, 1.0, 1.25, 0.4 - 0.4 * 0.8, np.inf),
}


@pytest.mark.parametrize("engine", ["sparse", "mlxtend"])
def test_five_baskets_by_hand(engine):
    model = fit(FIVE, min_support=0.4, min_confidence=0.5, engine=engine)
    assert model.n_baskets_ == 5 and model.min_count_ == 2
    got = by_rule(model.rules_)
    assert set(got) == {(frozenset([a]), frozenset([c])) for a, c in FIVE_RULES}
    for (a, c), expected in FIVE_RULES.items():
        row = got[frozenset([a]), frozenset([c])]
        values = [row[m] for m in ("support", "confidence", "lift", "leverage", "conviction")]
        np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-15)
    # Thresholds: confidence 0.6 drops the 0.5 rules; lift 1 drops milk <-> bread (0.9375).
    assert len(fit(FIVE, min_support=0.4, min_confidence=0.6, engine=engine).rules_) == 4
    lifted = by_rule(fit(FIVE, min_support=0.4, min_confidence=0.5, min_lift=1.0,
                         engine=engine).rules_)
    assert (frozenset(["milk"]), frozenset(["bread"])) not in lifted and len(lifted) == 4


def test_recommend_for_basket_ranks_by_the_chosen_metric():
    model = fit(FIVE, min_support=0.4, min_confidence=0.5)
    # milk -> butter: confidence 0.5, lift 1.25; milk -> bread: confidence 0.75, lift 0.9375.
    by_lift = model.recommend_for_basket(["milk"], k=2).to_pandas()
    assert by_lift["item"].tolist() == ["butter", "bread"]
    np.testing.assert_allclose(by_lift["score"], [1.25, 0.9375], rtol=1e-6)
    by_conf = model.recommend_for_basket(["milk"], k=2, metric="confidence").to_pandas()
    assert by_conf["item"].tolist() == ["bread", "butter"]
    np.testing.assert_allclose(by_conf["score"], [0.75, 0.5], rtol=1e-6)
    # The basket's own items never come back; items without a matching rule score 0, after.
    with pytest.warns(RecsysWarning, match="'unknown'"):
        recs = model.recommend_for_basket(["butter", "unknown"], k=3).to_pandas()
    assert recs["item"].tolist() == ["milk", "bread", "jam"]
    assert recs["score"].tolist()[1:] == [0.0, 0.0]
    # The strongest rule wins: bread -> milk (lift 0.9375) and butter -> milk (1.25) -> 1.25.
    both = model.recommend_for_basket(["bread", "butter"], k=1).to_pandas()
    assert both["item"].tolist() == ["milk"] and both["score"][0] == pytest.approx(1.25)
    with pytest.raises(ConfigError, match="metric"):
        model.recommend_for_basket(["milk"], metric="support")


def test_strict_basket_names_its_unknown_items_and_recommends_nothing():
    model = fit(FIVE, min_support=0.4, min_confidence=0.5)
    with pytest.raises(UnknownIdError, match=r"basket: 2 item\(s\) unknown.*'tea', 'gin'") as info:
        model.recommend_for_basket(["milk", "tea", "gin", "tea"], k=2, strict=True)
    assert info.value.ids == ["tea", "gin"]
    # Unknown ids in the allow/deny lists are filters, not evidence: strict does not mind.
    recs = model.recommend_for_basket(["milk"], k=2, items=["butter", "bread", "tea"],
                                      exclude=["gin"], strict=True)
    assert recs[0] == ["butter", "bread"]


def test_two_to_one_rules_rank_baskets_holding_both_items():
    # a, b, c each in 6 of 12 baskets; every pair and the triple in 3. a -> c has lift 1,
    # {a, b} -> c has confidence 1 and lift 2: only a basket with a and b matches it.
    baskets = [["a", "b", "c"]] * 3 + [["a"]] * 3 + [["b"]] * 3 + [["c"]] * 3
    pairs_only = fit(baskets, min_support=3, min_confidence=0.0, max_len=2)
    with_triples = fit(baskets, min_support=3, min_confidence=0.0, max_len=3)
    rule = by_rule(with_triples.rules_)[frozenset("ab"), frozenset("c")]
    assert (rule["confidence"], rule["lift"], rule["count"]) == (1.0, 2.0, 3)
    assert pairs_only.recommend_for_basket(["a", "b"], k=1).scores[0, 0] == 1.0
    assert with_triples.recommend_for_basket(["a", "b"], k=1).scores[0, 0] == 2.0
    assert with_triples.recommend_for_basket(["a"], k=1).scores[0, 0] == 1.0
    # recommend(users) scores each user's history as the basket (basket 4 holds only a).
    known = with_triples.recommend([4], k=2)
    assert known[4] == ["b", "c"] and known.scores.tolist() == [[1.0, 1.0]]
    folded = with_triples.recommend(["new"], k=1, history={"new": ["a", "b"]})
    assert folded["new"] == ["c"] and folded.scores[0, 0] == 2.0
    assert with_triples.similar_items(["a"], k=2)["a"] == ["b", "c"]


# ------------------------------------------------------------------ exact thresholds


def test_support_threshold_is_exact_at_the_boundary():
    # 100 baskets: {x, y} in exactly 7, {u, v} in 6. min_support 0.07 means 7 baskets, but in
    # floats 0.07 * 100 is 7.000000000000001, whose ceiling would require 8.
    assert math.ceil(0.07 * 100) == 8
    baskets = [["x", "y"]] * 7 + [["x"]] * 3 + [["u", "v"]] * 6 + [["w"]] * 84
    for engine in ("sparse", "mlxtend"):
        model = fit(baskets, min_support=0.07, min_confidence=0.0, engine=engine)
        assert model.min_count_ == 7
        assert set(by_rule(model.rules_)) == {(frozenset("x"), frozenset("y")),
                                              (frozenset("y"), frozenset("x"))}
        assert len(fit(baskets, min_support=7, min_confidence=0.0, engine=engine).rules_) == 2
        assert len(fit(baskets, min_support=8, min_confidence=0.0, engine=engine).rules_) == 0
        assert len(fit(baskets, min_support=0.0701, engine=engine).rules_) == 0


def test_confidence_and_lift_thresholds_are_exact_at_the_boundary():
    # 22 baskets: A in 20, A and C in 15, so confidence(A -> C) = 3/4 exactly. mlxtend's float
    # formula gives 0.7499999999999999 here and would drop the rule at min_confidence 0.75.
    assert (15 / 22 * 22) / (20 / 22 * 22) < 0.75
    baskets = [["A", "C"]] * 15 + [["A"]] * 5 + [["C"]] * 1 + [["Z"]] * 1
    for engine in ("sparse", "mlxtend"):
        model = fit(baskets, min_support=1, min_confidence=0.75, engine=engine)
        rule = by_rule(model.rules_)[frozenset("A"), frozenset("C")]
        assert rule["confidence"] == 0.75
        assert by_rule(fit(baskets, min_support=1, min_confidence=0.7501,
                           engine=engine).rules_).get((frozenset("A"), frozenset("C"))) is None
        # lift(A -> C) = 15 * 22 / (20 * 16) = 33/32 = 1.03125 exactly.
        lift = rule["lift"]
        assert lift == 1.03125
        kept = by_rule(fit(baskets, min_support=1, min_confidence=0, min_lift=1.03125,
                           engine=engine).rules_)
        assert (frozenset("A"), frozenset("C")) in kept


def test_exact_threshold_helpers():
    assert rules_module.support_count(0.006, 9835) == 60
    assert rules_module.support_count(Fraction(1, 3), 9) == 3
    assert rules_module.support_count(1, 10) == 1 and rules_module.support_count(1.0, 10) == 10
    keep = rules_module.ratio_at_least(np.array([15, 14, 3]), np.array([20, 20, 4]),
                                       Fraction(3, 4))
    assert keep.tolist() == [True, False, True]


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("params, fragment", [
    (dict(min_support=1.5), "1.5"), (dict(min_support=-0.1), "-0.1"),
    (dict(min_support=0.0), "0.0"), (dict(min_support=0), "0"),
    (dict(min_support=True), "True"), (dict(min_confidence=1.2), "1.2"),
    (dict(min_confidence=-0.5), "-0.5"), (dict(min_confidence=float("nan")), "nan"),
    (dict(min_lift=-1.0), "-1.0"), (dict(min_lift=float("inf")), "inf"),
    (dict(max_len=4), "max_len=4"), (dict(max_len=1), "max_len"),
    (dict(engine="apriori"), "apriori"), (dict(metric="support"), "support"),
    (dict(max_memory=0), "max_memory"),
])
def test_invalid_parameters_are_named(params, fragment):
    with pytest.raises(ConfigError) as error:
        fit(FIVE, **params)
    assert fragment in str(error.value) and next(iter(params)) in str(error.value)


@pytest.mark.parametrize("engine", ["sparse", "mlxtend"])
def test_mining_beyond_memory_is_refused_with_the_estimate(engine):
    with pytest.raises(ConfigError, match=r"would need about [\d.]+ GiB.*max_memory"):
        fit(FIVE, min_support=1, max_memory=64, engine=engine)


def test_memory_estimate_counts_pairs_and_triples():
    histogram = np.bincount([0, 1, 2, 3, 10])  # baskets holding 0, 1, 2, 3 and 10 items
    two = rules_module.sparse_memory_estimate(histogram, 10, 2)
    three = rules_module.sparse_memory_estimate(histogram, 10, 3)
    assert three > two > (1 + 3 + 45) * 8  # one int64 code per pair at least
    assert rules_module.sparse_memory_estimate(histogram * 1000, 10, 2) > 1000 * 49 * 8


def test_duplicate_items_in_a_basket_count_once():
    doubled = [items + items[:1] for items in FIVE]
    for engine in ("sparse", "mlxtend"):
        a = fit(FIVE, min_support=0.4, min_confidence=0.5, engine=engine).rules_
        b = fit(doubled, min_support=0.4, min_confidence=0.5, engine=engine).rules_
        pd.testing.assert_frame_equal(a, b)
    # In a user history, weights do not matter: presence is a positive weight.
    inter = rs.Interactions.from_arrays(["u1", "u1", "u1", "u2", "u2"],
                                        ["a", "a", "b", "a", "b"])
    model = rs.AssociationRules(min_support=2, min_confidence=0).fit(inter)
    assert model.rules_["count"].tolist() == [2, 2]


def test_empty_baskets_count_like_mlxtend_rows():
    # A basket id whose item is missing is an empty basket: it counts in n_baskets, like an
    # all-False row of mlxtend's one-hot frame.
    table = pd.concat([baskets_frame(FIVE),
                       pd.DataFrame({"basket_id": [6, 7], "item": [None, None]})])
    dataset = rs.datasets.baskets(baskets_frame(FIVE))
    dataset.events = table
    model = rs.AssociationRules(min_support=2, min_confidence=0.5).fit(dataset)
    assert model.n_baskets_ == 7
    onehot = pd.DataFrame(False, index=range(7), columns=["milk", "bread", "butter", "jam"])
    for row, items in enumerate(FIVE):
        onehot.loc[row, items] = True
    itemsets = fpgrowth(onehot, min_support=2 / 7 - 1e-9, use_colnames=True, max_len=2)
    reference = association_rules(itemsets, num_itemsets=7, metric="confidence",
                                  min_threshold=0.5)
    assert_same_rules(model.rules_, reference)
    # A user with no stored entry is an empty basket too.
    matrix = sp.csr_matrix(onehot.to_numpy(dtype=np.float32))
    inter = rs.Interactions(matrix, rs.IdIndex(list(range(7))), rs.IdIndex(list(onehot.columns)))
    histories = rs.AssociationRules(min_support=2, min_confidence=0.5).fit(inter)
    assert histories.n_baskets_ == 7
    pd.testing.assert_frame_equal(histories.rules_, model.rules_)


def test_items_that_never_occur_are_in_no_rule():
    matrix = sp.csr_matrix(np.array([[1, 1, 0], [1, 1, 0], [1, 0, 0]], np.float32))
    inter = rs.Interactions(matrix, rs.IdIndex(["b1", "b2", "b3"]),
                            rs.IdIndex(["a", "b", "never"]))
    model = rs.AssociationRules(min_support=1, min_confidence=0).fit(inter)
    assert model.item_counts_.tolist() == [3, 2, 0]
    assert not any("never" in a | c for a, c in by_rule(model.rules_))
    recs = model.recommend_for_basket(["a"], k=2).to_pandas()
    assert recs["item"].tolist() == ["b", "never"] and recs["score"].iloc[1] == 0


def test_event_items_unknown_to_the_interactions_are_named():
    dataset = rs.datasets.baskets(baskets_frame(FIVE))
    dataset.events = pd.concat([dataset.events,
                                pd.DataFrame({"basket_id": [9], "item": ["caviar"]})],
                               ignore_index=True)
    with pytest.raises(DataError, match="caviar"):
        rs.AssociationRules(min_support=1).fit(dataset)


def test_non_positive_weights_are_not_in_the_basket():
    inter = rs.Interactions.from_arrays(["u1", "u1", "u2", "u2"], ["a", "b", "a", "b"],
                                        weights=[1.0, -1.0, 1.0, 2.0], allow_negative=True)
    model = rs.AssociationRules(min_support=1, min_confidence=0).fit(inter)
    assert model.item_counts_.tolist() == [2, 1]
    assert model.rules_["count"].tolist() == [1, 1]


def test_demo_purchases_are_the_baskets():
    demo = rs.datasets.demo()
    model = rs.AssociationRules(min_support=3, min_confidence=0.05).fit(demo)
    purchases = demo.events["basket_id"].dropna()
    assert model.n_baskets_ == purchases.nunique()
    assert len(model.rules_) > 0
    by_history = rs.AssociationRules(min_support=3, basket_column=None).fit(demo)
    assert by_history.n_baskets_ == demo.interactions.n_users


def test_save_load_keeps_the_rules(tmp_path):
    model = fit(FIVE, min_support=1, min_confidence=0.2, max_len=3)
    loaded = rs.load(rs.save(model, tmp_path / "rules"))
    pd.testing.assert_frame_equal(loaded.rules_, model.rules_)
    assert loaded.recommend_for_basket(["milk", "jam"], k=3).to_dict() == \
        model.recommend_for_basket(["milk", "jam"], k=3).to_dict()


# ------------------------------------------------------------------ property: engines agree


def brute_force(matrix: np.ndarray, min_support, min_confidence, min_lift, max_len) -> set:
    """n -> 1 rules by enumerating every itemset, thresholds in exact fractions."""
    n = len(matrix)
    share = Fraction(repr(min_support)) if isinstance(min_support, float) else None
    minimum = math.ceil(share * n) if share is not None else min_support
    conf, lift = Fraction(repr(min_confidence)), Fraction(repr(min_lift))

    def count(items) -> int:
        return int(matrix[:, list(items)].all(axis=1).sum())

    out = set()
    for size in range(2, max_len + 1):
        for itemset in itertools.combinations(range(matrix.shape[1]), size):
            together = count(itemset)
            if together < minimum:
                continue
            for consequent in itemset:
                antecedent = tuple(i for i in itemset if i != consequent)
                a, c = count(antecedent), count((consequent,))
                if Fraction(together, a) >= conf and Fraction(together * n, a * c) >= lift:
                    out.add((frozenset(f"i{i}" for i in antecedent),
                             frozenset([f"i{consequent}"]), together, a, c))
    return out


def rule_tuples(frame: pd.DataFrame) -> set:
    single = frame[frame["consequents"].map(len) == 1]
    return set(zip(single["antecedents"], single["consequents"],
                   *(single[c].tolist() for c in COUNTS), strict=True))


@pytest.mark.parametrize("internals", [
    dict(DENSE_BINS=rules_module.DENSE_BINS, PER_TUPLE_MIN_ROWS=0),
    dict(DENSE_BINS=0, SMALL_TABLE=0, PER_TUPLE_MIN_ROWS=1 << 30, CHUNK=4),
], ids=["bincount-per-tuple", "sorted-codes-blocks"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(n_items=st.integers(2, 6), data=st.data(),
       min_support=st.one_of(st.integers(1, 4), st.sampled_from([0.05, 0.1, 0.2, 0.3, 0.5])),
       min_confidence=st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0]),
       min_lift=st.sampled_from([0.0, 1.0, 1.5]), max_len=st.sampled_from([2, 3]))
def test_sparse_engine_equals_mlxtend_engine(internals, n_items, data, min_support,
                                             min_confidence, min_lift, max_len):
    masks = data.draw(st.lists(st.integers(0, 2 ** n_items - 1), min_size=1, max_size=25))
    matrix = (np.array(masks)[:, None] >> np.arange(n_items)) & 1
    if not matrix.any():
        matrix[0, 0] = 1
    inter = rs.Interactions(sp.csr_matrix(matrix.astype(np.float32)),
                            rs.IdIndex(list(range(len(matrix)))),
                            rs.IdIndex([f"i{j}" for j in range(n_items)]))
    params = dict(min_support=min_support, min_confidence=min_confidence, min_lift=min_lift,
                  max_len=max_len)
    with pytest.MonkeyPatch.context() as patch:
        # Every counter (step-wise table, dense bincount, sorted codes) and both
        # enumeration paths (per position tuple, blocks cut into tiny chunks).
        for name, value in internals.items():
            patch.setattr(rules_module, name, value)
        sparse = rs.AssociationRules(engine="sparse", **params).fit(inter)
        sparse_scores = sparse.recommend(inter.users.ids, k=n_items).scores  # CHUNK patched
    mlx = rs.AssociationRules(engine="mlxtend", **params).fit(inter)
    expected = brute_force(matrix.astype(bool), min_support, min_confidence, min_lift, max_len)
    assert rule_tuples(sparse.rules_) == rule_tuples(mlx.rules_) == expected
    np.testing.assert_array_equal(sparse_scores, mlx.recommend(inter.users.ids, k=n_items).scores)


@pytest.mark.parametrize("name, value", [("count_", 10**9), ("antecedent_count_", -5),
                                         ("item_counts_", 2**31 - 1)])
def test_counts_that_disagree_are_refused_on_load(groceries_csv, tmp_path, name, value):
    from tests.serving.tamper import rehash

    model = rs.AssociationRules(min_support=0.01, min_confidence=0.1).fit(
        rs.datasets.baskets(groceries_csv))
    path = rs.save(model, tmp_path / "rules")
    array = np.load(path / f"{name}.npy", allow_pickle=False)
    array[0] = value
    np.save(path / f"{name}.npy", array, allow_pickle=False)
    rehash(path, name)  # a consistent file: only the counts disagree
    with pytest.raises(rs.errors.ModelFileError, match="AssociationRules"):
        rs.load(path)
