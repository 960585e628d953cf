"""explain: for every family with an exact split, the parts sum to the score that recommend
returns, on random data (known users and users given by a history)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import recsys as rs
from recsys.errors import ConfigError, UnknownIdError


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(3)
    users = rng.integers(0, 60, 900).astype(str)
    items = rng.zipf(1.5, 900) % 40
    weights = rng.integers(1, 5, 900).astype(float)
    return rs.Interactions.from_arrays(users, items.astype(str), weights=weights)


FAMILIES = [
    lambda: rs.ItemKNN(similarity="cosine", k=20),
    lambda: rs.ItemKNN(similarity="bm25", k=20),
    lambda: rs.RP3beta(k=20),
    lambda: rs.EASE(l2=5.0, threads=1),
    lambda: rs.ALS(factors=8, iterations=5, seed=0, threads=1),
    lambda: rs.BPR(factors=8, iterations=20, seed=0, threads=1),
    lambda: rs.LMF(factors=4, iterations=10, seed=0, threads=1),
    lambda: rs.Popularity(),
    lambda: rs.AssociationRules(min_support=2, min_confidence=0.05),
    lambda: rs.Hybrid([rs.ItemKNN(similarity="cosine", k=20), rs.EASE(l2=5.0, threads=1)],
                      weights=[0.3, 0.7], fallback=rs.Popularity()),
]


@pytest.mark.parametrize("factory", FAMILIES, ids=lambda f: repr(f()))
def test_parts_sum_to_the_recommended_score(data, factory):
    model = factory().fit(data)
    for user in data.users.ids[:8]:
        recs = model.recommend([user], k=3, exclude_seen=False)
        for item, score in zip(recs[user], recs.scores[0], strict=False):
            frame = model.explain(user, item, n=100)
            assert frame.attrs["score"] == pytest.approx(float(score), rel=2e-4, abs=1e-5)
            assert frame["contribution"].sum() == pytest.approx(frame.attrs["score"],
                                                                rel=1e-6, abs=1e-9)
            if len(frame):
                assert frame["share"].sum() == pytest.approx(1.0, rel=1e-6)
                order = frame["contribution"].abs().to_numpy()
                assert (np.diff(order) <= 1e-12).all()  # largest first


@pytest.mark.parametrize("factory", [FAMILIES[0], FAMILIES[3], FAMILIES[4]],
                         ids=["itemknn", "ease", "als"])
def test_history_items_explain_a_folded_in_user(data, factory):
    model = factory().fit(data)
    history = {"new": list(data.items.ids[:5])}
    recs = model.recommend(["new"], k=1, history=history)
    frame = model.explain("new", recs["new"][0], history=history, n=100)
    assert frame["kind"].eq("item").all()
    assert set(frame["name"]) <= set(history["new"])
    assert frame.attrs["score"] == pytest.approx(float(recs.scores[0, 0]), rel=2e-4)


def test_item_knn_parts_worked_by_hand():
    inter = rs.Interactions.from_arrays(["u1", "u1", "u2", "u2", "u3"],
                                        ["a", "b", "a", "c", "c"])
    model = rs.ItemKNN(similarity="cosine", weighting="binary").fit(inter)
    frame = model.explain("u1", "c")
    # cosine(a, c) = 1 / (sqrt(2) * sqrt(2)); b never co-occurs with c.
    assert frame["name"].tolist() == ["a"]
    assert frame["contribution"].iloc[0] == pytest.approx(0.5)


def test_unknown_user_and_families_without_a_split():
    inter = rs.Interactions.from_arrays(["u1", "u2"], ["a", "b"])
    model = rs.ItemKNN().fit(inter)
    with pytest.raises(UnknownIdError, match="history="):
        model.explain("nobody", "a")
    pytest.importorskip("lightfm")
    lightfm = rs.LightFM(components=4, epochs=2, seed=0, threads=1).fit(inter)
    with pytest.raises(ConfigError, match="explain is not available for LightFM"):
        lightfm.explain("u1", "a")
    assert isinstance(model.explain("u1", "b"), pd.DataFrame)
