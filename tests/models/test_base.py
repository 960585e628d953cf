"""Behaviour of the shared ranking interface that the conformance suite does not pin down."""

import numpy as np
import pandas as pd
import pytest

import recsys as rs
from recsys.data.ids import IdIndex
from recsys.errors import ConfigError, DataError, UnknownIdError
from recsys.models.base import Recommendations


def test_recommendations_views():
    recs = Recommendations(["u1", "u2"], np.array([[2, 0, -1], [1, -1, -1]]),
                           np.array([[0.9, 0.5, np.nan], [0.7, np.nan, np.nan]]),
                           IdIndex(["a", "b", "c"]))
    assert recs["u1"] == ["c", "a"] and recs["u2"] == ["b"]
    frame = recs.to_pandas()
    assert frame.to_dict("list") == {"user": ["u1", "u1", "u2"], "item": ["c", "a", "b"],
                                     "score": pytest.approx([0.9, 0.5, 0.7]),
                                     "rank": [1, 2, 1]}
    assert recs.to_dict() == {"u1": [("c", pytest.approx(0.9)), ("a", pytest.approx(0.5))],
                              "u2": [("b", pytest.approx(0.7))]}
    with pytest.raises(UnknownIdError, match="u3"):
        recs["u3"]


def test_integer_ids_keep_their_type():
    inter = rs.Interactions.from_arrays([10, 10, 20], [7, 8, 7])
    recs = rs.ItemKNN(k=5).fit(inter).recommend(20, k=1)
    assert recs.to_pandas()["item"].tolist() == [8]
    assert isinstance(recs.to_dict()[20][0][0], int)


@pytest.mark.filterwarnings("ignore::recsys.errors.RecsysWarning")  # "zzz" is unknown
def test_history_as_dict_equals_history_as_frame():
    inter = rs.Interactions.from_arrays(["u1", "u1", "u2", "u2", "u3"],
                                        ["a", "b", "a", "c", "b"])
    model = rs.ItemKNN(k=5, similarity="cosine").fit(inter)
    as_dict = model.recommend(["x"], k=2, history={"x": ["a", "zzz"]})
    as_frame = model.recommend(["x"], k=2,
                               history=pd.DataFrame({"user": ["x", "x"], "item": ["a", "zzz"]}))
    # cos(a, c) = 1 / sqrt(2 * 1) beats cos(a, b) = 1 / sqrt(2 * 2); unknown "zzz" is ignored.
    assert as_dict["x"] == as_frame["x"] == ["c", "b"]
    with pytest.raises(DataError, match="columns user, item"):
        model.recommend(["x"], history=pd.DataFrame({"who": ["x"], "item": ["a"]}))


def test_bad_arguments_name_themselves():
    inter = rs.Interactions.from_arrays(["u1", "u2"], ["a", "b"])
    model = rs.Popularity().fit(inter)
    with pytest.raises(ConfigError, match="k must be"):
        model.recommend("u1", k=0)
    with pytest.raises(ConfigError, match="on_unknown"):
        model.recommend("u1", on_unknown="ignore")
    with pytest.raises(ConfigError, match="no parameter 'depth'"):
        model.set_params(depth=3)


def test_fit_rejects_what_is_not_interactions():
    with pytest.raises(DataError, match="Interactions or a Dataset"):
        rs.Popularity().fit(pd.DataFrame({"user": [1], "item": [2]}))


def test_empty_allow_list_gives_empty_lists():
    inter = rs.Interactions.from_arrays(["u1", "u2"], ["a", "b"])
    model = rs.Popularity().fit(inter)
    assert model.recommend(["u1"], k=3, items=[])["u1"] == []
    assert model.similar_items(["a"], k=3, candidates=[])["a"] == []
    assert model.recommend_for_basket(["a"], k=3, items=[]).to_pandas().empty


def test_unknown_history_items_are_ignored_with_a_warning():
    from recsys.errors import RecsysWarning

    inter = rs.Interactions.from_arrays(["u1", "u1", "u2", "u2", "u3"],
                                        ["a", "b", "a", "c", "b"])
    model = rs.ItemKNN(k=5, similarity="cosine").fit(inter)
    with pytest.warns(RecsysWarning, match=r"2 item\(s\) unknown.*'zzz', 'yyy'"):
        recs = model.recommend(["x"], k=2, history={"x": ["a", "zzz", "yyy", "zzz"]})
    assert recs["x"] == ["c", "b"]
    with pytest.warns(RecsysWarning, match="'zzz'"):
        basket = model.recommend_for_basket(["a", "zzz"], k=2)
    assert basket[0] == ["c", "b"]


@pytest.mark.parametrize("history", [
    {"x": ["a", "zzz"], "y": ["b", "yyy"]},
    pd.DataFrame({"user": ["x", "x", "y", "y"], "item": ["a", "zzz", "b", "yyy"]}),
], ids=["dict", "frame"])
def test_strict_history_names_the_unknown_items_and_recommends_nothing(history):
    inter = rs.Interactions.from_arrays(["u1", "u1", "u2", "u2", "u3"],
                                        ["a", "b", "a", "c", "b"])
    model = rs.ItemKNN(k=5, similarity="cosine").fit(inter)
    with pytest.raises(UnknownIdError,
                       match=r"history: 2 item\(s\) unknown.*strict=True.*'zzz', 'yyy'") as info:
        model.recommend(["x", "y"], k=2, history=history, strict=True)
    assert info.value.ids == ["zzz", "yyy"]
    # Known items only: strict changes nothing.
    assert (model.recommend(["x"], k=2, history={"x": ["a"]}, strict=True).to_dict()
            == model.recommend(["x"], k=2, history={"x": ["a"]}).to_dict())


def test_strict_basket_names_the_unknown_items():
    inter = rs.Interactions.from_arrays(["u1", "u1", "u2"], ["a", "b", "a"])
    model = rs.Popularity().fit(inter)
    with pytest.raises(UnknownIdError, match=r"basket: 1 item\(s\).*'zzz'") as info:
        model.recommend_for_basket(["a", "zzz"], k=2, strict=True)
    assert info.value.ids == ["zzz"]


def test_many_unknown_items_are_counted_and_a_few_named():
    inter = rs.Interactions.from_arrays(["u1", "u1", "u2"], ["a", "b", "a"])
    model = rs.ItemKNN(k=5).fit(inter)
    strangers = [f"z{i:02d}" for i in range(25)]
    with pytest.raises(UnknownIdError, match=r"25 item\(s\).*'z09' and 15 more$") as info:
        model.recommend(["x"], history={"x": ["a", *strangers]}, strict=True)
    assert "z10" not in str(info.value) and info.value.ids == strangers


def test_k_beyond_the_catalog_pads_and_k_below_one_raises():
    inter = rs.Interactions.from_arrays(["u1", "u1", "u2"], ["a", "b", "c"])
    model = rs.Popularity().fit(inter)
    recs = model.recommend(["u1"], k=5)
    assert recs["u1"] == ["c"]  # a and b are seen: one item left, not five
    assert (recs.positions[0, 1:] == -1).all() and np.isnan(recs.scores[0, 1:]).all()
    for k in (0, -1):
        with pytest.raises(ConfigError, match="k must be"):
            model.recommend(["u1"], k=k)


def test_history_of_a_known_user_is_appended_by_default_or_replaces():
    inter = rs.Interactions.from_arrays(["u1", "u1", "u2", "u2", "u3", "u3"],
                                        ["a", "b", "a", "c", "b", "c"])
    model = rs.EASE(l2=1.0).fit(inter)
    new_events = {"u1": ["c"]}
    appended = model.recommend(["u1"], k=3, history=new_events, exclude_seen=False)
    everything = model.recommend(["x"], k=3, history={"x": ["a", "b", "c"]},
                                 exclude_seen=False)
    np.testing.assert_allclose(appended.scores, everything.scores, rtol=1e-6)
    replaced = model.recommend(["u1"], k=3, history=new_events, history_mode="replace",
                               exclude_seen=False)
    alone = model.recommend(["x"], k=3, history={"x": ["c"]}, exclude_seen=False)
    np.testing.assert_allclose(replaced.scores, alone.scores, rtol=1e-6)
    # Seen items: the training row and the appended events are both excluded.
    assert model.recommend(["u1"], k=3, history=new_events)["u1"] == []
    with pytest.raises(ConfigError, match="history_mode"):
        model.recommend(["u1"], history=new_events, history_mode="merge")


def test_a_family_that_cannot_fold_in_still_excludes_the_new_events():
    inter = rs.Interactions.from_arrays(["u1", "u1", "u2", "u2", "u3"],
                                        ["a", "b", "a", "c", "d"])
    model = rs.BPR(factors=4, iterations=5, seed=0, threads=1).fit(inter)
    recs = model.recommend(["u1"], k=4, history={"u1": ["c"]})
    assert "c" not in recs["u1"] and not {"a", "b"} & set(recs["u1"])


@pytest.mark.parametrize("k", [10**30, 2**63 - 1, np.int64(10**12)])
def test_huge_k_is_capped_at_the_catalog(k):
    inter = rs.Interactions.from_arrays(["u1", "u1", "u2"], ["a", "b", "c"])
    model = rs.Popularity().fit(inter)
    recs = model.recommend(["u1", "u2"], k=k)
    assert recs.positions.shape == (2, 3)
    assert recs["u1"] == ["c"] and recs["u2"] == ["a", "b"]
    assert model.similar_items(["a"], k=k).positions.shape == (1, 3)
    assert model.recommend_for_basket(["a"], k=k).positions.shape == (1, 3)
