"""Recommender.add_items: ContentBased and LightFM score a new item from its features alone,
replace a known item's features, name what is wrong with a frame and apply nothing of it,
and save/load the result; a Hybrid forwards to its members."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys as rs
from recsys.errors import ColumnError, ConfigError, DataError, RecsysWarning

pytest.importorskip("sklearn")

COLUMNS = ["item_id", "category", "brand", "price"]


@pytest.fixture(scope="module")
def demo() -> rs.Dataset:
    return rs.datasets.demo()


def catalog(demo: rs.Dataset) -> pd.DataFrame:
    """The demo items as an add_items frame (the columns item_features was built from)."""
    return demo.items.rename_axis("item_id").reset_index()[COLUMNS]


def anchor_of(model: rs.Recommender) -> str:
    return str(model.items_.ids[int(np.argmax(model.item_popularity_))])


def twin(demo: rs.Dataset, item: str, new_id: str = "fresh") -> pd.DataFrame:
    frame = catalog(demo)
    return frame[frame["item_id"] == item].assign(item_id=new_id)


def unchanged(model: rs.Recommender, state: dict) -> bool:
    """The model holds exactly the objects it held (nothing replaced, added or removed)."""
    return model.__dict__.keys() == state.keys() and all(
        model.__dict__[k] is v for k, v in state.items())


def stacked(*frames: pd.DataFrame) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)


def same_answers(a: rs.Recommendations, b: rs.Recommendations) -> None:
    np.testing.assert_array_equal(a.positions, b.positions)
    np.testing.assert_array_equal(a.scores, b.scores)


# ---------------------------------------------------------------- ContentBased
def test_content_new_item_with_an_items_features_scores_as_that_item(demo, tmp_path):
    model = rs.ContentBased().fit(demo)  # the "features" block: category, brand, price
    anchor = anchor_of(model)
    assert model.add_items(twin(demo, anchor)) is model
    assert model.n_items == demo.interactions.n_items + 1 and model.items_.ids[-1] == "fresh"
    assert model.item_popularity_[-1] == 0 and model.user_items_.shape[1] == model.n_items
    # Same features, same unit profile: cosine 1 with the anchor, its most similar item.
    top = model.similar_items("fresh", k=1)
    assert top["fresh"] == [anchor] and top.scores[0][0] == pytest.approx(1.0, abs=1e-6)
    # Every user scores it exactly as the anchor.
    users = list(demo.interactions.users.ids[:200])
    scores = model.recommend(users, k=2, items=[anchor, "fresh"], exclude_seen=False).to_pandas()
    pivot = scores.pivot(index="user", columns="item", values="score")
    np.testing.assert_allclose(pivot["fresh"], pivot[anchor], rtol=1e-6)
    # Saved and loaded: the same answers, and the loaded model adds items too.
    loaded = rs.load(rs.save(model, tmp_path / "cb"))
    same_answers(model.recommend(users[:20], k=10), loaded.recommend(users[:20], k=10))
    loaded.add_items(twin(demo, anchor, "fresh-2"))
    assert loaded.similar_items("fresh-2", k=2)["fresh-2"][0] in {anchor, "fresh"}


def test_content_replacing_an_items_features_changes_its_scores(demo):
    model = rs.ContentBased().fit(demo)
    anchor = anchor_of(model)
    model.add_items(twin(demo, anchor))
    frame = catalog(demo)
    category = frame.loc[frame["item_id"] == anchor, "category"].iloc[0]
    other = frame[frame["category"] != category].iloc[0]
    before = model.similar_items("fresh", k=1, candidates=[anchor]).scores[0][0]
    model.add_items(pd.DataFrame([other]).assign(item_id="fresh"))
    assert model.n_items == demo.interactions.n_items + 1  # replaced, not added
    after = model.similar_items("fresh", k=1, candidates=[anchor]).scores[0][0]
    assert after < before - 0.3
    # Its profile is now exactly that of the item whose features it took.
    rows = model.items_.to_index(["fresh", other["item_id"]])
    diff = model.item_profiles_[rows[0]] - model.item_profiles_[rows[1]]
    assert abs(diff).max() == 0


def test_content_known_answer_for_labels_text_and_numbers():
    inter = rs.Interactions.from_arrays(["u1", "u2", "u2"], ["a", "b", "c"])
    items = pd.DataFrame({"genres": ["Drama|War", "Comedy", "War"],
                          "price": [1.0, 2.0, 3.0]}, index=["a", "b", "c"])
    model = rs.ContentBased(multilabel_columns=["genres"], numeric_columns=["price"],
                            weights={"price": 0.0}).fit(rs.Dataset(inter, items=items))
    # An unseen label is ignored; price has weight 0, so the column may be left out.
    model.add_items(pd.DataFrame({"item_id": ["d"], "genres": ["War|Western"]}))
    profile = model.item_profiles_[model.items_.to_index(["d"])[0]].toarray().ravel()
    names = model.feature_names_.tolist()
    expected = np.zeros(len(names))
    expected[names.index("genres=War")] = 1.0
    np.testing.assert_allclose(profile, expected)
    # Standardised numbers use the fitted mean and deviation (2 and sqrt(2/3)).
    priced = rs.ContentBased(numeric_columns=["price"]).fit(rs.Dataset(inter, items=items))
    priced.add_items(pd.DataFrame({"item_id": ["e", "f"], "price": [2.0 + np.sqrt(2 / 3), 2.0]}))
    rows = priced.items_.to_index(["e", "f"])
    assert priced.item_profiles_[rows[0]].toarray().ravel().tolist() == pytest.approx([1.0])
    assert priced.item_profiles_[rows[1]].nnz == 0  # the mean: 0, an empty profile
    # Binned numbers: a value beyond the fitted range goes to the outer bin.
    binned = rs.ContentBased(numeric_columns=["price"], numeric_bins=3).fit(
        rs.Dataset(inter, items=items))
    binned.add_items(pd.DataFrame({"item_id": ["g"], "price": [99.0]}))
    assert binned.similar_items("g", k=1)["g"] == ["c"]


def test_content_text_uses_the_fitted_vocabulary_and_idf():
    inter = rs.Interactions.from_arrays(["u1", "u2", "u3"], ["a", "b", "c"])
    items = pd.DataFrame({"title": ["space war story", "space love story", "war at sea"]},
                         index=["a", "b", "c"])
    model = rs.ContentBased(text_columns=["title"], min_df=1).fit(
        rs.Dataset(inter, items=items))
    model.add_items(pd.DataFrame({"item_id": ["d"], "title": ["war war unknownword"]}))
    profile = model.item_profiles_[model.items_.to_index(["d"])[0]].toarray().ravel()
    names = model.feature_names_.tolist()
    # Only "war" is in the vocabulary: its unit vector, whatever its tf and idf.
    expected = np.zeros(len(names))
    expected[names.index("title:war")] = 1.0
    np.testing.assert_allclose(profile, expected, atol=1e-7)


labels = st.lists(st.sampled_from(["x", "y", "z", "w"]), min_size=0, max_size=3)


@settings(max_examples=25, deadline=None)
@given(genres=st.lists(labels, min_size=3, max_size=8),
       prices=st.lists(st.one_of(st.none(), st.floats(-50, 50, allow_subnormal=False)),
                       min_size=8, max_size=8),
       binned=st.booleans())
def test_content_items_added_again_keep_their_profiles(genres, prices, binned):
    """Re-adding the catalog's own rows, under old ids and new ones, gives the fitted
    profiles: add_items encodes exactly as fit does."""
    ids = [f"i{j}" for j in range(len(genres))]
    items = pd.DataFrame({"genres": ["|".join(g) for g in genres],
                          "price": prices[:len(genres)]}, index=ids)
    inter = rs.Interactions.from_arrays(["u"] * len(ids), ids)
    model = rs.ContentBased(multilabel_columns=["genres"], numeric_columns=["price"],
                            numeric_bins=2 if binned else None, min_df=1)
    try:
        model.fit(rs.Dataset(inter, items=items))
    except DataError:  # e.g. no price at all to bin
        return
    fitted = model.item_profiles_.copy()
    frame = items.rename_axis("item_id").reset_index()
    model.add_items(frame).add_items(frame.assign(item_id=frame["item_id"] + "-copy"))
    np.testing.assert_allclose(model.item_profiles_[:len(ids)].toarray(), fitted.toarray(),
                               atol=1e-6)
    np.testing.assert_allclose(model.item_profiles_[len(ids):].toarray(), fitted.toarray(),
                               atol=1e-6)


def test_bad_frames_are_named_and_nothing_is_applied(demo):
    model = rs.ContentBased().fit(demo)
    users = list(demo.interactions.users.ids[:10])
    before = model.recommend(users, k=10)
    state = dict(model.__dict__)
    good = twin(demo, anchor_of(model))
    cases = [
        (good.drop(columns="brand"), ColumnError, r"\['brand'\] missing"),
        (good.assign(colour="red"), ColumnError, r"\['colour'\] are not item features"),
        (good.drop(columns="item_id"), ColumnError, "'item_id'"),
        (stacked(good, good.assign(item_id=None)), DataError, "missing id.*row 1"),
        (stacked(good, good), DataError, r"repeats id\(s\) \['fresh'\], first at row 1"),
        (stacked(good, good.assign(item_id="x", price="cheap")), DataError,
         "'price'.*'cheap' at row 1 \\(item 'x'\\)"),
        (good.to_dict(), DataError, "DataFrame"),
    ]
    for frame, error, message in cases:
        with pytest.raises(error, match=message):
            model.add_items(frame)
    assert unchanged(model, state)
    same_answers(before, model.recommend(users, k=10))


def test_families_without_add_items_say_so(demo):
    model = rs.ItemKNN(k=20).fit(demo.interactions)
    assert not model.supports_add_items and rs.ContentBased.supports_add_items
    with pytest.raises(ConfigError, match="ItemKNN cannot score an item from its features"):
        model.add_items(pd.DataFrame({"item_id": ["x"]}))
    # A ContentBased built on an encoded matrix (no Features.from_pandas) cannot encode.
    inter = demo.interactions
    raw = rs.Features(demo.item_features.matrix, demo.item_features.names.tolist(), inter.items)
    content = rs.ContentBased().fit(rs.Dataset(inter, item_features=raw))
    with pytest.raises(ConfigError, match="Features.from_pandas"):
        content.add_items(pd.DataFrame({"item_id": ["x"]}))
    assert content.n_items == inter.n_items


def test_update_then_add_items_makes_the_new_item_scored(demo):
    model = rs.ContentBased().fit(demo)
    anchor = anchor_of(model)
    with pytest.warns(RecsysWarning, match="1 new item"):
        model.update(pd.DataFrame({"user_id": ["newcomer"], "item_id": ["fresh"]}))
    user = demo.interactions.users.ids[0]
    assert model.recommend(user, k=1, items=["fresh"]).scores[0][0] == 0.0
    model.add_items(twin(demo, anchor))  # a known id now: its features replace the empty row
    assert model.n_items == demo.interactions.n_items + 1
    assert model.similar_items("fresh", k=1)["fresh"] == [anchor]
    assert model.item_popularity_[-1] == 1.0  # the event is kept


# ---------------------------------------------------------------- LightFM
@pytest.fixture(scope="module")
def lightfm(demo):
    pytest.importorskip("lightfm")
    return rs.LightFM(components=16, epochs=10, threads=1).fit(demo)


def test_lightfm_new_item_is_scored_from_its_feature_embeddings(demo, lightfm, tmp_path):
    model = rs.load(rs.save(lightfm, tmp_path / "fitted"))  # a copy; the fixture is shared
    anchor = anchor_of(model)
    model.add_items(twin(demo, anchor))
    # Known answer, from the Dataset's own encoding of the anchor's side features (scaled
    # to sum 1, normalize_features="side"), times the side features' embeddings.
    side = demo.item_features.matrix[demo.interactions.items.to_index([anchor])].toarray()
    side = side / np.abs(side).sum()
    n_side = demo.item_features.n_features
    expected = side @ model.item_embeddings_[-n_side:].astype(np.float64)
    np.testing.assert_allclose(model._item_vectors[-1], expected.ravel(), rtol=1e-5)
    # Its nearest items share its category; users into that category rank it higher.
    category = demo.items["category"]
    similar = model.similar_items("fresh", k=10)["fresh"]
    assert all(category[i] == category[anchor] for i in similar)
    inter = demo.interactions
    in_category = (category.reindex(inter.items.ids) == category[anchor]).to_numpy()
    taste = np.asarray(inter.matrix[:, np.flatnonzero(in_category)].sum(axis=1)).ravel()
    ranks = model.recommend(inter.users.ids, k=model.n_items).to_pandas()
    fresh = ranks[ranks["item"] == "fresh"].set_index("user")["rank"]
    fans = fresh[inter.users.ids[np.argsort(-taste)[:100]]].median()
    strangers = fresh[inter.users.ids[taste == 0]].median()
    assert fans < strangers / 2
    loaded = rs.load(rs.save(model, tmp_path / "added"))
    same_answers(model.recommend(inter.users.ids[:50], k=10),
                 loaded.recommend(inter.users.ids[:50], k=10))


def test_lightfm_known_items_keep_identity_and_features_replace(demo, lightfm, tmp_path):
    model = rs.load(rs.save(lightfm, tmp_path / "fitted"))
    fitted = model.item_features_.copy()
    model.add_items(catalog(demo))  # every item again, its own features: nothing changes
    assert (model.item_features_ != fitted).nnz == 0 and model.n_items == lightfm.n_items
    anchor = anchor_of(model)
    frame = catalog(demo)
    moved = frame[frame["item_id"] == anchor].assign(category="not-a-category")
    users = list(demo.interactions.users.ids[:30])
    before = model.recommend(users, k=model.n_items, items=[anchor]).scores
    model.add_items(moved)
    row = model.items_.to_index([anchor])[0]
    names = demo.item_features.names.tolist()
    n_identity = model.item_features_.shape[1] - len(names)
    kept = model.item_features_[row].toarray().ravel()
    assert kept[row] == 1.0  # its identity feature
    old_category = frame.loc[frame["item_id"] == anchor, "category"].iloc[0]
    assert kept[n_identity + names.index(f"category={old_category}")] == 0
    after = model.recommend(users, k=model.n_items, items=[anchor]).scores
    assert not np.allclose(before, after)


def test_lightfm_errors_and_update(demo, lightfm, tmp_path):
    model = rs.load(rs.save(lightfm, tmp_path / "fitted"))
    users = list(demo.interactions.users.ids[:10])
    before = model.recommend(users, k=10)
    with pytest.raises(ColumnError, match=r"\['title'\] are not item features of this LightFM"):
        model.add_items(catalog(demo).assign(title="t").iloc[:2])
    same_answers(before, model.recommend(users, k=10))
    # Without item features there is nothing to encode with.
    bare = rs.LightFM(components=4, epochs=1).fit(demo.interactions)
    with pytest.raises(ConfigError, match="item features"):
        bare.add_items(catalog(demo).iloc[:1])
    # update: a new user ranks by item biases, a new item waits for add_items.
    with pytest.warns(RecsysWarning, match="1 new item.*add_items"):
        model.update(pd.DataFrame({"user_id": [users[0], "new-user"],
                                   "item_id": ["brand-new", demo.interactions.items.ids[3]]}))
    assert model.n_users == demo.interactions.n_users + 1
    assert "brand-new" not in model.recommend(users[0], k=model.n_items)[users[0]]
    biases = np.argsort(-model._item_bias[:-1], kind="stable")
    expected = [i for i in model.items_.to_ids(biases) if i != demo.interactions.items.ids[3]]
    assert model.recommend("new-user", k=5)["new-user"] == expected[:5]


# ---------------------------------------------------------------- Hybrid
def test_hybrid_forwards_add_items_and_grows_the_other_members(demo):
    knn, content = rs.ItemKNN(k=20), rs.ContentBased()
    hybrid = rs.Hybrid([knn, content]).fit(demo)
    assert hybrid.supports_add_items
    anchor = anchor_of(hybrid)
    with pytest.warns(RecsysWarning, match="ItemKNN.*1 new item"):
        hybrid.add_items(twin(demo, anchor))
    # Copies of the members took the items; the members given are as they were.
    assert knn.n_items == content.n_items == demo.interactions.n_items
    knn, content = hybrid.models
    assert hybrid.n_items == knn.n_items == content.n_items == demo.interactions.n_items + 1
    assert content.similar_items("fresh", k=1)["fresh"] == [anchor]
    user = demo.interactions.users.ids[0]
    assert "fresh" in hybrid.recommend(user, k=hybrid.n_items)[user]
    # A frame a member rejects: every member is put back.
    knn_state, content_state = dict(knn.__dict__), dict(content.__dict__)
    with pytest.raises(DataError, match="price"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RecsysWarning)
            hybrid.add_items(twin(demo, anchor, "other").assign(price="n/a"))
    assert unchanged(knn, knn_state) and unchanged(content, content_state)
    assert hybrid.models == [knn, content]
    assert not rs.Hybrid([rs.ItemKNN(k=5), rs.Popularity()]).fit(
        demo.interactions).supports_add_items
