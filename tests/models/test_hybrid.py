"""Hybrid: score fusion by hand, fallback chain, weight search, nested save/load."""

import json

import numpy as np
import pandas as pd
import pytest

import recsys as rs
from recsys.errors import ChecksumError, ConfigError, UnknownIdError
from recsys.evaluation.hybrid_weights import select_trial
from recsys.models.hybrid import fusion_values


class Scripted(rs.Recommender):
    """Fixed scores from a table (users x items, in index order); cannot fold users in."""

    def __init__(self, table=None):
        self.table = table

    def _fit(self, interactions, dataset, show_progress):
        self.table_ = np.asarray(self.table, dtype=np.float32)

    def _score(self, user_rows, item_cols):
        rows = self.table_[user_rows]
        return rows if item_cols is None else rows[:, item_cols]


# ----------------------------------------------------------------------------- fusion
@pytest.fixture
def five_items():
    """u has seen e; w has seen a-d, so that every item is in the index."""
    return rs.Interactions.from_arrays(["u", "w", "w", "w", "w"], ["e", "a", "b", "c", "d"])


def scripted(inter, rows: dict) -> Scripted:
    table = np.zeros((inter.n_users, inter.n_items))
    for user, values in rows.items():
        table[inter.users.to_index([user])[0], inter.items.to_index(list("abcde"))] = values
    return Scripted(table.tolist())


A = [4.0, 3.0, 2.0, 1.0, 100.0]  # e is seen by u: a huge score there must not matter
B = [0.0, 10.0, 5.0, 20.0, 100.0]


def reference(method, normalize, weights, members):
    """Plain-Python fusion over u's unseen items a-d (every one a candidate)."""
    fused = np.zeros(4)
    for weight, scores in zip(weights, members, strict=True):
        s = np.asarray(scores[:4])
        rank = np.empty(4)
        rank[np.argsort(-s, kind="stable")] = np.arange(1, 5)
        if method == "rrf":
            values = 1.0 / (60.0 + rank)
        elif method == "rank" or normalize == "rank":
            values = 1.0 - (rank - 1) / 3
        elif normalize == "minmax":
            values = (s - s.min()) / (s.max() - s.min())
        else:
            values = (s - s.mean()) / s.std()
        fused += weight * values
    return fused


@pytest.mark.parametrize("method,normalize", [("score", "minmax"), ("score", "zscore"),
                                              ("score", "rank"), ("rank", "minmax"),
                                              ("rrf", "minmax")])
def test_fused_scores_equal_hand_computation(five_items, method, normalize):
    model = rs.Hybrid([scripted(five_items, {"u": A}), scripted(five_items, {"u": B})],
                      weights=[7, 3], method=method, normalize=normalize).fit(five_items)
    recs = model.recommend("u", k=4)
    expected = reference(method, normalize, [0.7, 0.3], [A, B])
    order = np.lexsort((np.arange(4), -expected))
    assert recs["u"] == [list("abcd")[i] for i in order]
    np.testing.assert_allclose(recs.scores[0], expected[order], rtol=1e-6)


def test_fusion_by_hand(five_items):
    members = [scripted(five_items, {"u": A}), scripted(five_items, {"u": B})]
    # minmax: A -> a 1, b 2/3, c 1/3, d 0; B -> a 0, b 1/2, c 1/4, d 1.
    minmax = rs.Hybrid(members, weights=[0.7, 0.3]).fit(five_items).recommend("u", k=4)
    assert minmax["u"] == ["a", "b", "c", "d"]
    np.testing.assert_allclose(minmax.scores[0], [0.7, 0.7 * 2 / 3 + 0.15, 0.7 / 3 + 0.075, 0.3],
                               rtol=1e-6)
    # Reciprocal ranks: b is second in both lists, a and d first in one and last in the other.
    rrf = rs.Hybrid(members, method="rrf").fit(five_items).recommend("u", k=4)
    assert rrf["u"] == ["b", "a", "d", "c"]
    assert rrf.scores[0, 0] == pytest.approx(1 / 62)
    # Two candidates each: A offers a, b and B offers d, b, so b is the last of both lists.
    short = rs.Hybrid(members, candidates=2).fit(five_items).recommend("u", k=4)
    assert short["u"] == ["a", "d", "b", "c"]
    np.testing.assert_allclose(short.scores[0], [0.5, 0.5, 0.0, 0.0])


def test_fusion_values_floor_and_constant_rows():
    scores = np.array([[2.0, 2.0, 2.0], [1.0, np.nan, 3.0]])
    invalid = np.array([[False, False, True], [False, False, False]])
    np.testing.assert_array_equal(fusion_values(scores, invalid), [[1, 1, 0], [0, 0, 1]])
    z = fusion_values(np.array([[1.0, 2.0, 3.0, 9.0]]), np.array([[0, 0, 0, 1]], bool),
                      normalize="zscore")
    np.testing.assert_allclose(z, [[-1.224745, 0.0, 1.224745, -1.224745]], rtol=1e-6)


# ----------------------------------------------------------------------------- fallbacks
@pytest.fixture
def shop():
    """Six users over i1..i8; i8 has genres but no interaction (cold)."""
    users = ["u1", "u1", "u2", "u2", "u3", "u3", "u4", "u4", "u5", "u6", "u6"]
    items = ["i1", "i2", "i1", "i3", "i4", "i5", "i4", "i6", "i7", "i6", "i7"]
    weights = [1, 1, 1, 1, 1, 1, 1, 1, 9, 1, 9]  # i7: few users, most weight
    full = rs.Interactions.from_arrays(users + ["x"], items + ["i8"], weights=weights + [1])
    inter = full.select(full.users.ids[full.entries()[0]] != "x")  # i8 stays in the index
    meta = pd.DataFrame({"genres": ["War", "War|Drama", "Drama", "Comedy", "Comedy",
                                    "Horror", "Horror", "War"]},
                        index=[f"i{j}" for j in range(1, 9)])
    return rs.Dataset(inter, items=meta)


def dense_scores(recs, inter):
    out = np.full(inter.n_items, np.nan)
    out[recs.positions[0]] = recs.scores[0]
    return out


def test_fallback_stands_in_for_a_member_that_cannot_fold_in(shop):
    inter = shop.interactions
    table = np.random.default_rng(0).random((inter.n_users, inter.n_items)).tolist()
    knn = rs.ItemKNN(similarity="cosine")
    content = rs.ContentBased(multilabel_columns=["genres"])
    model = rs.Hybrid([Scripted(table), knn], weights=[0.6, 0.4],
                      fallback=[content, rs.Popularity(by="weight")]).fit(shop)
    assert knn.is_fitted and content.is_fitted  # members are fitted in place
    history = {"new": ["i1"]}
    got = model.recommend("new", k=inter.n_items, history=history)
    # The scripted member cannot fold in: ContentBased (first of the chain) takes its part.
    seen = (inter.items.ids == "i1")[None, :]
    cold = inter.items.ids == "i8"
    raw = {m: dense_scores(m.recommend("new", k=inter.n_items, history=history,
                                       exclude_seen=False), inter)[None, :]
           for m in (content, knn)}
    content_values = fusion_values(raw[content], seen)[0]
    # ItemKNN cannot score the cold item i8: left out of its list, its part comes from
    # ContentBased, the first of the chain that scores cold items.
    knn_values = fusion_values(raw[knn], seen | cold)[0]
    knn_values[cold] = content_values[cold]
    expected = 0.6 * content_values + 0.4 * knn_values
    order = np.lexsort((np.arange(inter.n_items), -expected))
    order = order[~seen[0][order]]
    assert got["new"] == inter.items.ids[order].tolist()
    np.testing.assert_allclose(got.scores[0, :-1], expected[order], rtol=1e-6)


def test_unknown_users_get_the_popularity_fallback(shop):
    inter = shop.interactions
    table = np.zeros((inter.n_users, inter.n_items)).tolist()
    model = rs.Hybrid([Scripted(table)], fallback=rs.Popularity(by="weight")).fit(shop)
    recs = model.recommend(["nobody"], k=2, on_unknown="fallback")
    # By summed weight i7 leads; by user count (the base fallback) i1, i4, i6, i7 tie.
    assert recs["nobody"] == ["i7", "i1"]
    assert model.items_.to_ids(np.argsort(-model.item_popularity_, kind="stable")[:2]).tolist() \
        == ["i1", "i4"]
    with pytest.raises(UnknownIdError, match="nobody"):
        model.recommend(["u1", "nobody"], k=2)
    # A user known only by a history: Popularity, which folds in, stands in for the member.
    assert model.supports_unknown_users
    assert model.recommend("new", k=2, history={"new": ["i7"]})["new"] == ["i1", "i4"]
    # Without a chain nothing folds users in: a history does not make a user known.
    alone = rs.Hybrid([Scripted(table)]).fit(shop)
    assert not alone.supports_unknown_users
    with pytest.raises(UnknownIdError, match="new"):
        alone.recommend("new", history={"new": ["i1"]})


def test_cold_items_come_from_a_fallback_that_scores_them(shop):
    inter = shop.interactions
    assert inter.matrix[:, inter.items.to_index(["i8"])].nnz == 0
    alone = rs.Hybrid([rs.ItemKNN(similarity="cosine")]).fit(shop)
    assert alone.recommend("u1", k=inter.n_items)["u1"][-1] == "i8"  # the floor, last index
    covered = rs.Hybrid([rs.ItemKNN(similarity="cosine")],
                        fallback=rs.ContentBased(multilabel_columns=["genres"])).fit(shop)
    assert covered.supports_cold_items
    recs = covered.recommend("u1", k=2)  # u1 saw i1 (War) and i2 (War|Drama); i8 is War
    assert "i8" in recs["u1"]
    assert recs.scores[0, recs["u1"].index("i8")] == pytest.approx(1.0)


# ----------------------------------------------------------------------------- weights
def test_fit_weights_picks_the_better_member():
    users = [f"u{j}" for j in range(4) for _ in range(2)] + ["z"] * 6
    items = [f"i{(j + t) % 6}" for j in range(4) for t in range(2)] + [f"i{j}" for j in range(6)]
    train = rs.Interactions.from_arrays(users, items)  # z puts every item in the index
    valid_items = {f"u{j}": f"i{(j + 3) % 6}" for j in range(4)}
    valid = rs.Interactions.from_arrays(list(valid_items), list(valid_items.values()))
    good = np.zeros((train.n_users, train.n_items))
    for user, item in valid_items.items():
        good[train.users.to_index([user])[0], train.items.to_index([item])[0]] = 1.0
    model = rs.Hybrid([Scripted(good.tolist()), Scripted((1 - good).tolist())]).fit(train)
    rs.fit_weights(model, valid, metric="ndcg", k=2, step=0.25)
    # Any weight above 1/2 for the good member ranks the valid item first (NDCG 1); among
    # equals the most balanced vector wins.
    np.testing.assert_allclose(model.weights_, [0.75, 0.25])
    search = pd.DataFrame(model.weight_search_,
                          columns=["good", "bad", "ndcg", "coverage", "candidates"])
    assert len(search) == 5
    assert search.set_index("good").loc[1.0, "ndcg"] == pytest.approx(1.0)
    assert search.set_index("good").loc[0.5, "ndcg"] < 1.0
    assert model.recommend("u0", k=1)["u0"] == ["i3"]
    refit = model.set_params(weights=list(model.weights_)).fit(train)
    np.testing.assert_allclose(refit.weights_, [0.75, 0.25])


@pytest.fixture
def narrowing():
    """Three scripted members where the most accurate fusion narrows the catalog (k=1).

    Validation: u0 -> r0, u1 -> r1, and u2 and u3 both -> p, the popular item. Top-1 lists:
    A alone r0, r1, x2, x3 (NDCG 0.5 over 4 items); B alone p for everyone (0.5 over 1);
    C alone t3, t3, p, t3 (0.25 over 2). A + B (and the uniform weights) hit everyone with
    r0, r1, p, p (1.0 over 3 items); A + C gives r0, r1, p, x3 (0.75 over 4 items).
    """
    items = ["r0", "r1", "p", "x2", "x3", "t3", "f"]
    # z makes every item warm; u0-u3 have seen f, which is never a candidate.
    train = rs.Interactions.from_arrays(["z"] * 7 + ["u0", "u1", "u2", "u3"], items + ["f"] * 4)
    valid = rs.Interactions.from_arrays(["u0", "u1", "u2", "u3"], ["r0", "r1", "p", "p"])
    rows = {"A": {"u0": {"r0": 1}, "u1": {"r1": 1}, "u2": {"x2": 1, "p": 0.9},
                  "u3": {"x3": 1, "p": 0.9}},
            "B": {u: {"p": 1, "r0": 0.5, "r1": 0.5} for u in ("u0", "u1", "u2", "u3")},
            "C": {"u0": {"t3": 0.8}, "u1": {"t3": 0.8}, "u2": {"p": 1}, "u3": {"t3": 0.8}}}
    members = []
    for name in "ABC":
        table = np.zeros((train.n_users, train.n_items))
        for user, scores in rows[name].items():
            table[train.users.to_index([user])[0], train.items.to_index(list(scores))] = \
                list(scores.values())
        members.append(Scripted(table.tolist()))
    return train, valid, members


def test_coverage_floor_rejects_the_fusion_that_narrows_the_catalog(narrowing):
    train, valid, members = narrowing
    columns = ["A", "B", "C", "ndcg", "coverage", "candidates"]
    free = rs.fit_weights(rs.Hybrid(members).fit(train), valid, k=1, step=0.5, tolerance=0)
    # The metric alone takes the uniform weights (NDCG 1, tied with A + B, more balanced)...
    np.testing.assert_allclose(free.weights_, [1 / 3, 1 / 3, 1 / 3])
    search = pd.DataFrame(free.weight_search_, columns=columns).round(4).set_index(
        ["A", "B", "C"])
    assert search.loc[(0.3333, 0.3333, 0.3333), "ndcg"] == 1.0
    # ...which reach 3 of the 7 items where A, the best member alone, reaches 4.
    assert search.loc[(1.0, 0.0, 0.0), ["ndcg", "coverage"]].tolist() == [0.5, 0.5714]
    assert search.loc[(0.3333, 0.3333, 0.3333), "coverage"] == 0.4286
    # With the floor, the best fusion that keeps A's coverage wins: A + C, NDCG 0.75.
    floored = rs.fit_weights(rs.Hybrid(members).fit(train), valid, k=1, step=0.5,
                             tolerance=0, min_coverage="best_member")
    np.testing.assert_allclose(floored.weights_, [0.5, 0.0, 0.5])
    assert floored.recommend(["u2", "u3"], k=1).to_pandas()["item"].tolist() == ["p", "x3"]
    np.testing.assert_array_equal(floored.weight_search_, free.weight_search_)


def test_fit_weights_chooses_the_candidate_list_length(narrowing):
    train, valid, members = narrowing
    model = rs.Hybrid(members, candidates=5).fit(train)
    rs.fit_weights(model, valid, k=1, step=0.5, candidates=[1, None, 1])
    lengths = model.weight_search_[:, -1]
    assert sorted(set(lengths)) == [1.0, np.inf]  # duplicates are tried once
    assert len(lengths) == 2 * 7
    chosen = np.flatnonzero((model.weight_search_[:, :3] == model.weights_).all(axis=1)
                            & (lengths == (model.candidates_ or np.inf)))
    assert len(chosen) == 1
    before = model.recommend(list(train.users.ids), k=3)
    refit = model.set_params(weights=list(model.weights_), candidates=model.candidates_)
    refit.fit(train)
    np.testing.assert_array_equal(refit.recommend(list(train.users.ids), k=3).positions,
                                  before.positions)
    assert rs.Hybrid(members, candidates=5).fit(train).candidates_ == 5  # fit resets it


def test_select_trial_ties_and_floor():
    metric = np.array([0.5, 0.5, 0.6, 0.6, 0.4])
    coverage = np.array([0.2, 0.3, 0.25, 0.3, 0.9])
    alone = np.array([True, True, False, False, True])
    floor = {"min_coverage": "best_member"}
    # The best member alone is trial 1 (ties on the metric go to coverage): floor 0.3.
    assert select_trial(metric, coverage, alone, **floor) == 3
    assert select_trial(metric, coverage, alone) == 3
    # Without trial 3 the floor keeps the member alone, although trial 2 scores better.
    keep = [0, 1, 2, 4]
    assert select_trial(metric[keep], coverage[keep], alone[keep], **floor) == 1
    assert select_trial(metric[keep], coverage[keep], alone[keep]) == 2
    # Full ties: the earlier trial.
    assert select_trial(np.ones(3), np.ones(3), np.ones(3, bool)) == 0


def test_select_trial_settles_what_validation_cannot_tell_towards_balance():
    # Per-user metric of three trials over 6 users (trial 0 the most balanced weights).
    per_user = np.array([[0.5, 0.1, 0.5, 0.1, 0.5, 0.1],
                         [0.3, 0.3, 0.3, 0.3, 0.3, 0.3],
                         [0.6, 0.2, 0.6, 0.2, 0.6, 0.2]])
    metric = per_user.mean(axis=1)  # 0.3, 0.3, 0.4: trial 2 is the best
    coverage, alone = np.full(3, 0.5), np.array([False, True, True])
    # Trial 0 - trial 2 is -0.1 for every user: standard error 0, so trial 0 is worse.
    # Trial 1 - trial 2 is -0.3 / +0.1 alternately: mean -0.1, sample sd 0.2191 over 6
    # users, standard error 0.0894; trial 1 is within 2 of them (0.1 < 0.179), not 1.
    assert select_trial(metric, coverage, alone, spread=per_user) == 2
    assert select_trial(metric, coverage, alone, spread=per_user, tolerance=2) == 1
    assert select_trial(metric, coverage, alone, spread=per_user, tolerance=0) == 2
    # The same spread standing for 4x the users halves the standard error.
    assert select_trial(metric, coverage, alone, spread=per_user, n_users=24,
                        tolerance=2) == 2


def test_fit_weights_arguments_are_checked(narrowing):
    train, valid, members = narrowing
    model = rs.Hybrid(members).fit(train)
    for kwargs, message in [({"candidates": []}, "at least one"),
                            ({"candidates": [10, 0]}, "candidates"),
                            ({"candidates": 10}, "list of candidate-list lengths"),
                            ({"min_coverage": "widest"}, "min_coverage"),
                            ({"step": 1.5}, "step"), ({"metric": "auc"}, "metric")]:
        with pytest.raises(ConfigError, match=message):
            rs.fit_weights(model, valid, **kwargs)
    with pytest.raises(ConfigError, match="one member all the weight"):
        select_trial(np.ones(2), np.ones(2), np.zeros(2, bool), min_coverage="best_member")
    with pytest.raises(ConfigError, match="tolerance"):
        rs.fit_weights(model, valid, tolerance="wide")


# ----------------------------------------------------------------------------- persistence
def test_save_load_round_trip(shop, tmp_path):
    inter = shop.interactions
    content = rs.ContentBased(multilabel_columns=["genres"])
    model = rs.Hybrid([rs.ItemKNN(similarity="cosine"), content], method="rrf",
                      fallback=[content, rs.Popularity(by="weight")]).fit(shop)
    rs.fit_weights(model, rs.Interactions.from_arrays(["u1", "u2"], ["i3", "i4"]), step=0.5,
                   candidates=[3, None])
    path = rs.save(model, tmp_path / "hybrid")
    manifest = json.loads((path / "manifest.json").read_text())
    assert set(manifest["members"]) == {"model-0", "model-1", "fallback-1"}
    assert manifest["params"]["fallback"] == [{"$member": "model-1"}, {"$member": "fallback-1"}]
    loaded = rs.load(path)
    assert repr(loaded) == repr(model)
    assert loaded.models[1] is loaded.fallback[0]  # one instance, saved once
    np.testing.assert_array_equal(loaded.weights_, model.weights_)
    np.testing.assert_array_equal(loaded.weight_search_, model.weight_search_)
    assert loaded.candidates_ == model.candidates_
    users = list(inter.users.ids)
    for kwargs in ({}, {"history": {"new": ["i1", "i4"]}}):
        query = users if not kwargs else ["new"]
        before, after = model.recommend(query, k=5, **kwargs), loaded.recommend(query, k=5,
                                                                                **kwargs)
        np.testing.assert_array_equal(after.positions, before.positions)
        np.testing.assert_array_equal(after.scores, before.scores)
    assert loaded.similar_items("i8", k=3)["i8"] == model.similar_items("i8", k=3)["i8"]
    # Member files are checked like the parent's.
    member_array = next((path / "model-1").glob("item_profiles_*"))
    member_array.write_bytes(member_array.read_bytes() + b"\0")
    with pytest.raises(ChecksumError, match="item_profiles_"):
        rs.load(path)
    (path / "model-1" / "manifest.json").write_text("{}")
    with pytest.raises(ChecksumError, match="model-1"):
        rs.load(path)


# ----------------------------------------------------------------------------- parameters
def test_bad_parameters_are_named(shop):
    knn = rs.ItemKNN()
    with pytest.raises(ConfigError, match="2 value"):
        rs.Hybrid([knn], weights=[1, 2]).fit(shop)
    with pytest.raises(ConfigError, match="method"):
        rs.Hybrid([knn], method="borda").fit(shop)
    with pytest.raises(ConfigError, match="at least one"):
        rs.Hybrid([]).fit(shop)
    with pytest.raises(ConfigError, match="same instance"):
        rs.Hybrid([knn, knn]).fit(shop)
    with pytest.raises(ConfigError, match="Recommender"):
        rs.Hybrid([knn], fallback=["popularity"]).fit(shop)


def test_clone_clones_members_and_keeps_sharing(shop):
    content = rs.ContentBased(multilabel_columns=["genres"])
    model = rs.Hybrid([rs.ItemKNN(), content], fallback=content).fit(shop)
    copy = model.clone()
    assert not copy.is_fitted and not copy.models[0].is_fitted
    assert copy.models[0] is not model.models[0]
    assert copy.models[1] is copy.fallback
    assert repr(copy) == repr(model)


# ----------------------------------------------------------------------------- weights="auto"
def demo_members():
    return [rs.ALS(factors=16, iterations=8, seed=0, threads=1),
            rs.ItemKNN(similarity="cosine", k=50, threads=1),
            rs.ContentBased(categorical_columns=["category", "brand"])]


@pytest.fixture(scope="module")
def demo_auto():
    """The demo data, a default (weights="auto") Hybrid fitted on it, and the split it carved."""
    ds = rs.datasets.demo()
    model = rs.Hybrid(demo_members(), seed=3).fit(ds)
    part, valid = rs.split.random(ds.interactions, test_size=0.2, seed=3)
    part_ds = rs.Dataset(part, item_features=ds.item_features, items=ds.items)
    return ds, model, part_ds, valid


def validation_ndcg(model, part_ds, valid):
    """Per-user NDCG@10 on the validation split of ``model`` fitted on the rest."""
    fitted = model.fit(part_ds)
    return rs.evaluate(fitted, valid, train=part_ds.interactions, k=10).per_user["ndcg@10"]


def test_default_weights_are_within_one_standard_error_of_the_best_member(demo_auto):
    ds, model, part_ds, valid = demo_auto
    assert model.get_params()["weights"] == "auto"
    assert model.weights_.sum() == pytest.approx(1.0)
    assert (model.weights_ >= 0).all()
    # Each member alone, fitted and scored on the same split by the evaluation code.
    per_user = [validation_ndcg(m, part_ds, valid) for m in demo_members()]
    best = per_user[int(np.argmax([p.mean() for p in per_user]))]
    chosen = validation_ndcg(rs.Hybrid(demo_members(), weights=list(model.weights_)),
                             part_ds, valid)
    gap = (chosen - best).dropna()
    assert chosen.mean() >= best.mean() - gap.std(ddof=1) / np.sqrt(len(gap))
    alone = [p.mean() for p in per_user]
    fused = chosen.mean()
    # The search saw the same numbers: the chosen trial and each member alone (one-hot rows).
    search = model.weight_search_
    chosen = np.flatnonzero(np.isclose(search[:, :3], model.weights_).all(axis=1))[0]
    assert search[chosen, 3] == pytest.approx(fused, abs=1e-9)
    for member in range(3):
        corner = np.flatnonzero(search[:, member] == 1.0)[0]
        assert search[corner, 3] == pytest.approx(alone[member], abs=1e-9)
    # The members ended fitted on all the training data, not on the fitting part.
    assert all(m.user_items_.nnz == ds.interactions.nnz for m in model.models)


def test_default_weights_survive_save_and_load(demo_auto, tmp_path):
    ds, model, _, _ = demo_auto
    loaded = rs.load(rs.save(model, tmp_path / "hybrid"))
    np.testing.assert_array_equal(loaded.weights_, model.weights_)
    np.testing.assert_array_equal(loaded.weight_search_, model.weight_search_)
    assert loaded.get_params()["weights"] == "auto"
    users = list(ds.interactions.users.ids[:50])
    before, after = model.recommend(users, k=10), loaded.recommend(users, k=10)
    np.testing.assert_array_equal(after.positions, before.positions)


def test_explicit_and_equal_weights_are_not_searched(shop):
    members = [rs.ItemKNN(similarity="cosine"), rs.Popularity()]
    explicit = rs.Hybrid(members, weights=[3, 1]).fit(shop)
    np.testing.assert_allclose(explicit.weights_, [0.75, 0.25])
    assert explicit.weight_search_ is None
    equal = rs.Hybrid([m.clone() for m in members], weights=None).fit(shop)
    np.testing.assert_allclose(equal.weights_, [0.5, 0.5])
    assert equal.weight_search_ is None


def test_a_failed_default_fit_leaves_the_fitted_model_as_it_was(demo_auto):
    ds, _, _, _ = demo_auto

    class FailsOnAllData(rs.Popularity):
        """Fits on the fitting part of the split, fails on the whole training data."""

        def _fit(self, interactions, dataset, show_progress):
            if interactions.nnz == ds.interactions.nnz:
                raise RuntimeError("disk full")
            super()._fit(interactions, dataset, show_progress)

    knn = rs.ItemKNN(similarity="cosine", k=50, threads=1)
    model = rs.Hybrid([knn, rs.Popularity()], weights=[0.5, 0.5]).fit(ds)
    before = model.recommend(list(ds.interactions.users.ids[:20]), k=5)
    state, knn_state = dict(model.__dict__), dict(knn.__dict__)
    for bad, error in (({"valid_size": 1.5}, ConfigError), ({"weights": "best"}, ConfigError),
                       ({"models": [knn, FailsOnAllData()], "weights": "auto"}, RuntimeError)):
        with pytest.raises(error):
            model.set_params(**bad).fit(ds)
        model.set_params(**{k: state[k] for k in bad})
        assert model.__dict__.keys() == state.keys()
        assert all(model.__dict__[k] is v for k, v in state.items())
        assert all(knn.__dict__[k] is v for k, v in knn_state.items())
    after = model.recommend(list(ds.interactions.users.ids[:20]), k=5)
    np.testing.assert_array_equal(after.positions, before.positions)


def test_bad_search_options_are_named(shop):
    for bad, name in (({"weights": "best"}, "weights"), ({"valid_size": 0}, "valid_size"),
                      ({"valid_size": 1.0}, "valid_size"), ({"seed": -1}, "seed")):
        with pytest.raises(ConfigError, match=name):
            rs.Hybrid([rs.ItemKNN(), rs.Popularity()], **bad).fit(shop)


def test_without_validation_entries_the_weights_stay_equal(caplog):
    single = rs.Interactions.from_arrays(["u1", "u2", "u3"], ["a", "b", "a"])
    model = rs.Hybrid([rs.ItemKNN(), rs.Popularity()]).fit(single)
    np.testing.assert_allclose(model.weights_, [0.5, 0.5])
    assert model.weight_search_ is None
    assert "no validation entry" in caplog.text


def test_held_out_pairs_leave_the_events_members_see():
    from recsys.models.hybrid import _restricted

    events = pd.DataFrame({"user_id": ["u1", "u1", "u1", "u2", "u2", "u9"],
                           "item_id": ["a", "b", "b", "a", "c", "a"],
                           "basket_id": [1, 1, 2, 3, 3, 4]})
    inter = rs.Interactions.from_arrays(["u1", "u1", "u2", "u2"], ["a", "b", "a", "c"])
    held = inter.select(np.array([False, True, False, True]))  # entries in (user, item) order
    part = inter.select(np.array([True, False, True, False]))
    restricted = _restricted(rs.Dataset(inter, events=events), part, held)
    assert restricted.interactions is part
    # (u1, b) and (u2, c) are held out: every event of theirs goes, the unknown u9 stays.
    assert restricted.events["basket_id"].tolist() == [1, 3, 4]
    no_columns = _restricted(rs.Dataset(inter, events=events.rename(columns={"user_id": "who"})),
                             part, held)
    assert no_columns.events is None
