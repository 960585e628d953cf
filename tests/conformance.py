"""The conformance suite every recommender passes.

A new family joins with one line in ``CASES``. The data is a block-structured matrix with a
known right answer: users of block b interact only with items of block b, each missing a few,
so a personalized model must recommend exactly the missing items of the user's own block.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest

import recsys as rs
from recsys.errors import NotFittedError, RecsysWarning, UnknownIdError


@dataclass(frozen=True)
class Case:
    factory: Callable[[], rs.Recommender]
    personalized: bool = True
    # What fit receives instead of the bare interactions (families that need item metadata).
    data: Callable[[rs.Interactions], object] | None = None

    def __repr__(self) -> str:
        return repr(self.factory())

    def fit_input(self, inter: rs.Interactions) -> object:
        return inter if self.data is None else self.data(inter)


def block_items(inter: rs.Interactions) -> rs.Dataset:
    """The interactions with an items frame whose ``category`` is the item's block."""
    ids = inter.items.ids
    items = pd.DataFrame({"category": [i.split("_")[0] for i in ids]}, index=ids)
    return rs.Dataset(inter, items=items)


CASES = [
    Case(rs.Popularity, personalized=False),
    Case(lambda: rs.Popularity(by="weight"), personalized=False),
    Case(lambda: rs.ItemKNN(similarity="cosine", k=20)),
    Case(lambda: rs.ItemKNN(similarity="bm25", k=20)),
    Case(lambda: rs.ItemKNN(similarity="tfidf", k=20)),
    Case(lambda: rs.EASE(l2=10.0, threads=1)),
    Case(lambda: rs.RP3beta(k=20)),
    Case(lambda: rs.LightFM(components=16, epochs=10, seed=0, threads=1)),
    Case(lambda: rs.ALS(factors=8, iterations=15, seed=0, threads=1)),
    Case(lambda: rs.BPR(factors=8, iterations=100, seed=0, threads=1)),
    Case(lambda: rs.LMF(factors=4, iterations=30, seed=0, threads=1)),
    Case(lambda: rs.AssociationRules(min_support=0.05, min_confidence=0.2, max_len=3)),
    Case(lambda: rs.ContentBased(categorical_columns=["category"]), data=block_items),
    Case(lambda: rs.Hybrid([rs.ItemKNN(similarity="cosine", k=20), rs.ContentBased(
        categorical_columns=["category"])], fallback=rs.Popularity()), data=block_items),
]

N_BLOCKS, USERS_PER_BLOCK, ITEMS_PER_BLOCK, MISSING = 3, 20, 12, 3


def block_interactions(seed: int = 0) -> tuple[rs.Interactions, dict]:
    """Users ``u<b>_<j>`` see all but MISSING random items ``i<b>_<j>`` of their block b.

    Popularity inside a block differs (item j of a block is missing for fewer users the larger
    j is) so that the popularity baseline has a well-defined order too.
    """
    rng = np.random.default_rng(seed)
    users, items, missing = [], [], {}
    for block in range(N_BLOCKS):
        block_items = np.array([f"i{block}_{j:02d}" for j in range(ITEMS_PER_BLOCK)])
        # Lower-numbered items are more likely to be missing: popularity grows with j.
        p = np.linspace(2.0, 0.2, ITEMS_PER_BLOCK)
        for j in range(USERS_PER_BLOCK):
            user = f"u{block}_{j:02d}"
            gone = rng.choice(ITEMS_PER_BLOCK, size=MISSING, replace=False, p=p / p.sum())
            keep = np.setdiff1d(np.arange(ITEMS_PER_BLOCK), gone)
            users += [user] * len(keep)
            items += block_items[keep].tolist()
            missing[user] = set(block_items[gone].tolist())
    weights = 1.0 + rng.integers(0, 3, size=len(users))
    return rs.Interactions.from_arrays(users, items, weights=weights), missing


@pytest.fixture(scope="module")
def blocks():
    return block_interactions()


@pytest.fixture(params=CASES, ids=repr)
def fitted(request, blocks):
    inter, missing = blocks
    case = request.param
    return case, case.factory().fit(case.fit_input(inter)), inter, missing


def test_fit_returns_self_and_params_round_trip(fitted):
    case, model, inter, _ = fitted
    fresh = case.factory()
    assert fresh.fit(case.fit_input(inter)) is fresh
    params = model.get_params()
    assert type(model)(**params).get_params() == params
    assert repr(model).startswith(type(model).__name__ + "(")
    assert not model.clone().is_fitted


def test_unfitted_model_raises(fitted):
    case, *_ = fitted
    with pytest.raises(NotFittedError):
        case.factory().recommend(["u0_00"])


def test_known_answer(fitted):
    case, model, inter, missing = fitted
    users = sorted(missing)
    recs = model.recommend(users, k=MISSING)
    if case.personalized:
        for user in users:
            assert set(recs[user]) == missing[user], user
    else:
        counts = inter.to_pandas().groupby("item")["weight"].agg(
            "size" if model.get_params().get("by") == "count" else "sum")
        for user in users:
            seen = set(inter.to_pandas().query("user == @user")["item"])
            expected = (counts.drop(list(seen)).reset_index()
                        .assign(pos=lambda f: inter.items.to_index(f["item"].to_numpy()))
                        .sort_values(["weight", "pos"], ascending=[False, True])["item"])
            assert recs[user] == expected.tolist()[:MISSING], user


def test_seen_items_are_excluded(fitted):
    _, model, inter, _ = fitted
    frame = model.recommend(list(inter.users.ids), k=inter.n_items).to_pandas()
    seen = inter.to_pandas()[["user", "item"]]
    assert frame.merge(seen, on=["user", "item"]).empty
    # Every unseen item is still offered: never fewer than k when k valid items exist.
    per_user = frame.groupby("user").size()
    unseen = inter.n_items - seen.groupby("user").size()
    assert (per_user.sort_index() == unseen.sort_index()).all()


def test_seen_items_can_be_included(fitted):
    _, model, inter, _ = fitted
    recs = model.recommend(["u0_00"], k=inter.n_items, exclude_seen=False)
    assert len(recs["u0_00"]) == inter.n_items


def test_allow_and_deny_lists(fitted):
    _, model, inter, missing = fitted
    allowed = ["i1_00", "i1_05", "i0_03", "i2_11", "not-an-item"]
    denied = ["i0_03"]
    recs = model.recommend(["u0_00", "u1_04"], k=10, items=allowed, exclude=denied)
    for user in ("u0_00", "u1_04"):
        seen = set(inter.to_pandas().query("user == @user")["item"])
        expected = set(allowed[:4]) - set(denied) - seen
        assert set(recs[user]) == expected
    denied_all = model.recommend(["u0_00"], k=5, exclude=sorted(missing["u0_00"]))
    assert not set(denied_all["u0_00"]) & missing["u0_00"]


def test_unknown_users_follow_the_policy(fitted):
    _, model, _, _ = fitted
    with pytest.raises(UnknownIdError, match="nobody"):
        model.recommend(["u0_00", "nobody"], k=3)
    skipped = model.recommend(["u0_00", "nobody"], k=3, on_unknown="skip")
    assert skipped.keys.tolist() == ["u0_00"]
    fallback = model.recommend(["nobody"], k=3, on_unknown="fallback")
    popular = np.argsort(-model.item_popularity_, kind="stable")[:3]
    assert fallback["nobody"] == model.items_.to_ids(popular).tolist()


def test_fold_in_matches_known_user(fitted):
    _, model, inter, _ = fitted
    if not model.supports_unknown_users:
        pytest.skip("family cannot fold in")
    frame = inter.to_pandas().query("user == 'u2_07'")
    history = frame.assign(user="newcomer")[["user", "item", "weight"]]
    folded = model.recommend(["newcomer"], k=5, history=history)
    known = model.recommend(["u2_07"], k=5)
    assert folded["newcomer"] == known["u2_07"]
    np.testing.assert_allclose(folded.scores, known.scores, rtol=1e-5)


def test_unknown_items_in_similar_items(fitted):
    _, model, _, _ = fitted
    with pytest.raises(UnknownIdError, match="no-such-item"):
        model.similar_items(["i0_00", "no-such-item"])
    assert model.similar_items(["no-such-item", "i0_00"], on_unknown="skip").keys.tolist() == [
        "i0_00"]


def test_similar_items_excludes_itself_and_finds_block(fitted):
    case, model, _, _ = fitted
    sims = model.similar_items(["i0_00", "i2_05"], k=5)
    assert "i0_00" not in sims["i0_00"] and len(sims["i0_00"]) == 5
    if case.personalized:
        assert all(item.startswith("i0_") for item in sims["i0_00"])
        assert all(item.startswith("i2_") for item in sims["i2_05"])


def test_basket_excludes_its_items(fitted):
    case, model, _, _ = fitted
    basket = ["i1_00", "i1_01", "i1_02", "unknown-item"]
    with pytest.warns(RecsysWarning, match="unknown-item"):
        recs = model.recommend_for_basket(basket, k=4).to_pandas()
    assert not set(recs["item"]) & set(basket)
    assert len(recs) == 4 and recs["rank"].tolist() == [1, 2, 3, 4]
    if case.personalized:
        assert recs["item"].str.startswith("i1_").all()


def test_batch_equals_one_by_one(fitted):
    _, model, inter, _ = fitted
    users = list(inter.users.ids[::7])
    batch = model.recommend(users, k=5)
    for i, user in enumerate(users):
        single = model.recommend(user, k=5)
        assert single[user] == batch[user]
        np.testing.assert_allclose(single.scores[0], batch.scores[i], rtol=1e-6)


def test_refit_and_seed_determinism(fitted):
    case, model, inter, _ = fitted
    users = list(inter.users.ids)
    first = model.recommend(users, k=5).to_pandas()
    refit = model.fit(case.fit_input(inter)).recommend(users, k=5).to_pandas()
    fresh = case.factory().fit(case.fit_input(inter)).recommend(users, k=5).to_pandas()
    for other in (refit, fresh):
        assert first[["user", "item", "rank"]].equals(other[["user", "item", "rank"]])


def test_results_use_external_ids_and_sorted_scores(fitted):
    _, model, inter, _ = fitted
    frame = model.recommend(list(inter.users.ids[:10]), k=6).to_pandas()
    assert list(frame.columns) == ["user", "item", "score", "rank"]
    assert frame["item"].isin(inter.items.ids).all()
    assert (frame.groupby("user")["score"].diff().dropna() <= 0).all()


def test_save_load_round_trip(fitted, tmp_path):
    _, model, inter, _ = fitted
    users = list(inter.users.ids)
    path = rs.save(model, tmp_path / "model")
    loaded = rs.load(path)
    # repr compares nested models (a Hybrid's members) by type and parameters.
    assert type(loaded) is type(model) and repr(loaded) == repr(model)
    before = model.recommend(users, k=5)
    after = loaded.recommend(users, k=5)
    np.testing.assert_array_equal(after.positions, before.positions)
    np.testing.assert_array_equal(after.scores, before.scores)
    assert loaded.similar_items(["i0_00"], k=3)["i0_00"] == model.similar_items(
        ["i0_00"], k=3)["i0_00"]
