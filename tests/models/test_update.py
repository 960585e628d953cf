"""Recommender.update: events extend ids and history, each family's state follows, the
update is all-or-nothing, and a model updated then saved loads back the same."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys as rs
from recsys.errors import DataError, RecsysWarning


def demo_train() -> rs.Interactions:
    return rs.datasets.demo().interactions


@pytest.fixture(scope="module")
def train() -> rs.Interactions:
    return demo_train()


FAMILIES = {
    "Popularity": lambda: rs.Popularity(),
    "ItemKNN": lambda: rs.ItemKNN(k=50),
    "EASE": lambda: rs.EASE(),
    "RP3beta": lambda: rs.RP3beta(),
    "SessionKNN": lambda: rs.SessionKNN(k=50),
    "ALS": lambda: rs.ALS(factors=8, iterations=3, threads=1),
    "BPR": lambda: rs.BPR(factors=8, iterations=3, threads=1),
    "LMF": lambda: rs.LMF(factors=8, iterations=3, threads=1),
}


def events_for(train: rs.Interactions) -> pd.DataFrame:
    """A known user's event on an item they have not seen, a new user, and a new item."""
    known = train.users.ids[0]
    seen = set(train.matrix[0].indices.tolist())
    unseen = next(i for i in range(train.n_items) if i not in seen)
    return pd.DataFrame({"user_id": [known, "new-user", "new-user"],
                         "item_id": [train.items.ids[unseen], train.items.ids[1], "new-item"]})


@pytest.mark.parametrize("name", FAMILIES)
def test_update_extends_ids_history_and_answers(name, train, tmp_path):
    model = FAMILIES[name]().fit(train)
    events = events_for(train)
    known, item = events["user_id"][0], events["item_id"][0]
    before = model.recommend(known, k=train.n_items)[known]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecsysWarning)
        assert model.update(events) is model
    assert (model.n_users, model.n_items) == (train.n_users + 1, train.n_items + 1)
    assert model.users_.ids[-1] == "new-user" and model.items_.ids[-1] == "new-item"
    # The history holds the events: the known user's new item is now seen, so excluded.
    row = model.users_.to_index([known])[0]
    assert model.user_items_[row, model.items_.to_index([item])[0]] == 1.0
    assert item in before
    after = model.recommend(known, k=train.n_items + 1)[known]
    assert item not in after and len(after) == len(before)  # one seen more, one new item
    # The new user is known now (no history needed) and their items are excluded.
    new = model.recommend("new-user", k=5)["new-user"]
    assert len(new) == 5 and not {"new-item", train.items.ids[1]} & set(new)
    # Popularity counts the events.
    assert model.item_popularity_[-1] == 1.0
    # Saved after the update, loaded back identical.
    loaded = rs.load(rs.save(model, tmp_path / "m"))
    users = [known, "new-user", train.users.ids[5]]
    expected, got = model.recommend(users, k=10), loaded.recommend(users, k=10)
    np.testing.assert_array_equal(expected.positions, got.positions)
    np.testing.assert_array_equal(expected.scores, got.scores)


@pytest.mark.parametrize("name", ["ItemKNN", "EASE", "RP3beta", "BPR"])
def test_families_that_cannot_score_new_items_say_how_many(name, train):
    model = FAMILIES[name]().fit(train)
    events = pd.DataFrame({"user_id": ["u", "u", "v"], "item_id": ["x1", "x2", "x1"]})
    with pytest.warns(RecsysWarning, match="2 new item"):
        model.update(events)
    scores = model.recommend(train.users.ids[0], k=2, items=["x1", "x2"])
    assert scores.scores[0].tolist() == [0.0, 0.0]  # BPR's new vectors carry no bias: 0 too


def test_session_knn_scores_a_new_item_at_once():
    inter = rs.Interactions.from_arrays(
        ["s1", "s1", "s2", "s2"], ["a", "b", "a", "c"], timestamps=[1, 2, 1, 2])
    model = rs.SessionKNN(k=10).fit(inter)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RecsysWarning)  # no warning: new items are scored
        model.update(pd.DataFrame({"user_id": ["s3", "s3"], "item_id": ["a", "new"],
                                   "timestamp": [1, 2]}))
    assert "new" in model.recommend(["q"], k=3, history={"q": ["a"]})["q"]
    # Positions continue the session: s1 gets "d" after "b" (positions 1, 2 -> 3).
    model.update(pd.DataFrame({"user_id": ["s1"], "item_id": ["d"]}))
    row = model.users_.to_index(["s1"])[0]
    positions = dict(zip(model.items_.to_ids(model.positions_[row].indices),
                         model.positions_[row].data, strict=True))
    assert positions == {"a": 1.0, "b": 2.0, "d": 3.0}


def test_a_bad_row_is_named_and_nothing_is_applied(train):
    model = rs.ItemKNN(k=50).fit(train)
    users = list(train.users.ids[:5])
    before = model.recommend(users, k=10)
    state = {k: v for k, v in model.__dict__.items()}
    bad = pd.DataFrame({"user_id": [users[0], "new-user", users[1]],
                        "item_id": ["new-item", train.items.ids[3], train.items.ids[4]],
                        "weight": [1.0, np.nan, 2.0]})
    with pytest.raises(DataError, match=r"'weight'.*row 1"):
        model.update(bad)
    with pytest.raises(DataError, match=r"'item_id'.*row 2"):
        model.update(pd.DataFrame({"user_id": ["a", "b", "c"],
                                   "item_id": ["x", "y", None]}))
    with pytest.raises(DataError, match="item_id"):
        model.update(pd.DataFrame({"user": ["a"], "item_id": ["x"]}))
    assert all(model.__dict__[k] is v for k, v in state.items())
    after = model.recommend(users, k=10)
    np.testing.assert_array_equal(before.positions, after.positions)
    np.testing.assert_array_equal(before.scores, after.scores)


def test_a_family_failing_mid_update_leaves_the_model_as_it_was(train, monkeypatch):
    model = rs.ALS(factors=8, iterations=3, threads=1).fit(train)
    users = list(train.users.ids[:5])
    before = model.recommend(users, k=10)

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(rs.ALS, "_restore", boom)
    with pytest.raises(KeyboardInterrupt):
        model.update(events_for(train))
    monkeypatch.undo()
    assert model.n_users == train.n_users and model.n_items == train.n_items
    after = model.recommend(users, k=10)
    np.testing.assert_array_equal(before.positions, after.positions)


def test_weights_add_up_like_a_fit_summing_duplicates():
    inter = rs.Interactions.from_arrays(["u", "v"], ["a", "b"], weights=[2.0, 1.0])
    model = rs.ItemKNN(k=5).fit(inter)
    model.update(pd.DataFrame({"user_id": ["u", "u"], "item_id": ["a", "a"],
                               "weight": [1.5, 0.5]}))
    assert model.user_items_.toarray().tolist() == [[4.0, 0.0], [0.0, 1.0]]


events_strategy = st.lists(
    st.tuples(st.sampled_from(["u1", "u2", "u3", 4, 5]), st.sampled_from(["a", "b", "c", 7]),
              st.integers(1, 3)), min_size=1, max_size=12)


@settings(max_examples=30, deadline=None)
@given(first=events_strategy, second=events_strategy)
def test_update_a_then_b_holds_the_history_of_a_fit_on_both(first, second):
    def frame(rows):
        return pd.DataFrame(rows, columns=["user_id", "item_id", "weight"])

    both = rs.Interactions.from_pandas(frame(first + second), weight="weight")
    for family in (rs.ItemKNN(k=5), rs.Popularity(by="weight")):
        model = family.fit(rs.Interactions.from_pandas(frame(first), weight="weight"))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RecsysWarning)
            model.update(frame(second))
        refit = family.clone().fit(both)
        assert model.users_ == refit.users_ and model.items_ == refit.items_
        assert (model.user_items_ != refit.user_items_).nnz == 0
        np.testing.assert_array_equal(model.item_popularity_, refit.item_popularity_)
    np.testing.assert_allclose(model.item_scores_, refit.item_scores_, rtol=1e-6)


def test_popularity_with_time_decay_matches_a_refit_on_new_pairs():
    first = pd.DataFrame({"user_id": ["u", "v"], "item_id": ["a", "b"], "timestamp": [0, 10]})
    second = pd.DataFrame({"user_id": ["w", "w"], "item_id": ["a", "c"],
                           "timestamp": [20, 30]})
    model = rs.Popularity(half_life=10.0).fit(
        rs.Interactions.from_pandas(first, timestamp="timestamp"))
    model.update(second)
    refit = rs.Popularity(half_life=10.0).fit(
        rs.Interactions.from_pandas(pd.concat([first, second]), timestamp="timestamp"))
    # Known answer: a = 2^-3 + 2^-1, b = 2^-2, c = 1 (newest event at 30).
    np.testing.assert_allclose(model.item_scores_, [0.125 + 0.5, 0.25, 1.0], rtol=1e-6)
    np.testing.assert_allclose(model.item_scores_, refit.item_scores_, rtol=1e-6)
    with pytest.raises(DataError, match="timestamp"):
        model.update(pd.DataFrame({"user_id": ["u"], "item_id": ["c"]}))


def test_als_makes_a_new_item_recommendable_to_users_of_similar_items(train):
    model = rs.ALS(factors=16, iterations=10, threads=1).fit(train)
    anchor = int(np.argmax(model.item_popularity_))
    holders = np.flatnonzero(train.matrix[:, anchor].toarray().ravel() > 0)
    posters, others = holders[:len(holders) // 2], holders[len(holders) // 2:]
    events = pd.DataFrame({"user_id": train.users.ids[posters], "item_id": "fresh"})
    model.update(events)
    assert np.abs(model.item_factors_[-1]).sum() > 0
    # The new item's nearest items include the anchor all its users share.
    assert train.items.ids[anchor] in model.similar_items("fresh", k=10)["fresh"]
    # Users of the anchor who did not post rank it higher than users without the anchor.
    rank = model.recommend(train.users.ids, k=model.n_items).to_pandas()
    fresh = rank[rank["item"] == "fresh"].set_index("user")["rank"]
    lacking = np.setdiff1d(np.arange(train.n_users), holders)
    assert fresh[train.users.ids[others]].median() <= 20
    assert fresh[train.users.ids[lacking]].median() > 100


def test_hybrid_forwards_to_copies_of_its_members_and_rolls_them_all_back(train, monkeypatch):
    knn, pop = rs.ItemKNN(k=50), rs.Popularity()
    hybrid = rs.Hybrid([knn, pop]).fit(train)
    before = hybrid.recommend(list(train.users.ids[:20]), k=5).positions.copy()
    served = copy.copy(hybrid)  # what a service keeps answering with while a batch applies
    events = events_for(train)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RecsysWarning)
        hybrid.update(events)
    knn_now, pop_now = hybrid.models
    assert knn_now.n_users == pop_now.n_users == hybrid.n_users == train.n_users + 1
    assert pop_now.item_scores_[-1] == 1.0
    assert "new-user" in hybrid.recommend("new-user", k=3).to_pandas()["user"].tolist()
    # The members given were copied, not changed: the copy taken before answers as before.
    assert knn.n_users == pop.n_users == served.n_users == train.n_users
    np.testing.assert_array_equal(
        served.recommend(list(train.users.ids[:20]), k=5).positions, before)

    def boom(self, changes, show_progress):
        raise RuntimeError("member failed")

    monkeypatch.setattr(rs.Popularity, "_update", boom)
    knn_state, models = dict(knn_now.__dict__), list(hybrid.models)
    with pytest.raises(RuntimeError, match="member failed"):
        hybrid.update(pd.DataFrame({"user_id": ["other"], "item_id": ["another"]}))
    assert hybrid.models == models and knn_now.__dict__ == knn_state  # nothing applied
    assert hybrid.n_users == knn_now.n_users == train.n_users + 1


def test_rules_updated_from_counts_equal_rules_mined_on_all_histories(groceries_csv, tmp_path):
    baskets = rs.datasets.baskets(groceries_csv).interactions.to_pandas()
    baskets = baskets.rename(columns={"user": "user_id", "item": "item_id"})[["user_id", "item_id"]]
    cut = int(len(baskets) * 0.8)
    first = baskets.iloc[:cut]
    # Later events: grown baskets of earlier users and whole new baskets (and new items).
    second = pd.concat([baskets.iloc[cut:],
                        pd.DataFrame({"user_id": [0, 0, "b-new", "b-new"],
                                      "item_id": ["zz-new", "whole milk", "zz-new",
                                                  "whole milk"]})])
    params = {"min_support": 0.002, "min_confidence": 0.1, "basket_column": None}
    model = rs.AssociationRules(**params).fit(rs.Interactions.from_pandas(first))
    model.update(second.iloc[:500]).update(second.iloc[500:])
    refit = rs.AssociationRules(**params).fit(rs.Interactions.from_pandas(
        pd.concat([first, second])))
    assert model.n_baskets_ == refit.n_baskets_ and model.min_count_ == refit.min_count_
    assert len(refit.count_) > 100
    for name in ("antecedents_", "consequents_", "count_", "antecedent_count_",
                 "consequent_count_", "item_counts_"):
        np.testing.assert_array_equal(getattr(model, name), getattr(refit, name))
    loaded = rs.load(rs.save(model, tmp_path / "rules"))
    assert (loaded.pair_counts_ != model.pair_counts_).nnz == 0
    assert loaded.recommend_for_basket(["whole milk"], k=5)[0] == \
        model.recommend_for_basket(["whole milk"], k=5)[0]


def test_rules_mined_from_basket_ids_refuse_user_events():
    table = pd.DataFrame({"basket_id": [1, 1, 2, 2], "item": ["a", "b", "a", "b"]})
    model = rs.AssociationRules(min_support=1).fit(rs.datasets.baskets(table))
    with pytest.raises(rs.errors.ConfigError, match="basket ids"):
        model.update(pd.DataFrame({"user_id": ["u"], "item_id": ["a"]}))


def test_content_based_history_grows_and_new_items_wait_for_metadata(tmp_path):
    inter = rs.Interactions.from_arrays(["u1", "u2", "u2"], ["a", "b", "c"])
    items = pd.DataFrame({"genres": ["Drama", "Drama|War", "War"]}, index=["a", "b", "c"])
    model = rs.ContentBased(multilabel_columns=["genres"]).fit(rs.Dataset(inter, items=items))
    assert model.recommend("u1", k=1)["u1"] == ["b"]
    with pytest.warns(RecsysWarning, match="1 new item.*add_items"):
        model.update(pd.DataFrame({"user_id": ["u1", "u3"], "item_id": ["c", "new"]}))
    # u1's profile now holds War too: c is seen, b (Drama|War) still first; the new item
    # has an empty profile and scores 0.
    assert model.recommend("u1", k=2)["u1"] == ["b", "new"]
    assert model.recommend("u1", k=2).scores[0][1] == 0.0
    loaded = rs.load(rs.save(model, tmp_path / "cb"))
    np.testing.assert_array_equal(loaded.recommend(["u1", "u3"], k=3).positions,
                                  model.recommend(["u1", "u3"], k=3).positions)
