"""rs.ALS (and the factor-model machinery BPR and LMF share) beyond the conformance suite."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

import recsys as rs
from recsys.data import weighting
from recsys.data.weighting import bm25_rows, resolve_weighting, weigh
from recsys.errors import ConfigError, DataError, RecsysWarning, UnknownIdError
from recsys.ranking import HNSWIndex


@pytest.fixture(scope="module")
def ml_split(ml100k):
    return rs.split.random(ml100k, test_size=0.2, seed=42)


@pytest.fixture(scope="module")
def demo():
    return rs.datasets.demo().interactions


@pytest.fixture(scope="module")
def demo_model(demo):
    return rs.ALS(factors=16, iterations=8, threads=1).fit(demo)


# --------------------------------------------------------------------------- implicit equality


@pytest.mark.parametrize("mode", ["binary", "raw"])
def test_top10_equals_raw_implicit_on_movielens(ml_split, mode):
    """Same hyperparameters and seed: the wrapper's only change is dividing the weights by
    their training mean."""
    from implicit.cpu.als import AlternatingLeastSquares

    train, _ = ml_split
    params = dict(factors=32, regularization=20.0, alpha=10.0, iterations=10)
    ours = rs.ALS(**params, weighting=mode, scale_regularization=False, refine_users=False,
                  seed=0, threads=1).fit(train)
    matrix = train.matrix.copy()
    if mode == "binary":
        matrix.data = np.ones_like(matrix.data)
    mean = float(matrix.data.astype(np.float64).mean())
    matrix.data = (matrix.data / mean).astype(np.float32)
    assert ours.weight_scale_ == pytest.approx(1.0 if mode == "binary" else 3.53, abs=0.01)
    with threadpool_limits(1, "blas"):
        raw = AlternatingLeastSquares(**params, num_threads=1, random_state=0)
        raw.fit(matrix, show_progress=False)
    np.testing.assert_array_equal(ours.user_factors_, raw.user_factors)
    users = np.arange(train.n_users)
    expected, _ = raw.recommend(users, matrix[users], N=10)
    recs = ours.recommend(train.users.ids, k=10)
    np.testing.assert_array_equal(recs.positions, expected)


# --------------------------------------------------------------------------- fold-in


def test_fold_in_overlaps_known_users_on_movielens(ml_split):
    train, _ = ml_split
    users = train.users.ids[:60]
    frame = train.to_pandas().query("user in @users")
    history = frame.assign(user="new-" + frame["user"].astype(str))
    newcomers = ["new-" + str(u) for u in users]
    for refine in (False, True):
        model = rs.ALS(factors=32, iterations=10, refine_users=refine, threads=1).fit(train)
        known = model.recommend(users, k=10)
        folded = model.recommend(newcomers, k=10, history=history)
        overlap = np.mean([len(set(a) & set(b)) / 10
                           for a, b in zip(known.positions, folded.positions, strict=True)])
        # Conjugate-gradient vectors vs exact solves: equal up to the solver's tolerance.
        assert overlap >= (1.0 if refine else 0.9), refine
    np.testing.assert_allclose(folded.scores, known.scores, rtol=1e-5)


def test_history_without_known_items_gets_popular_items(demo_model):
    from recsys.errors import RecsysWarning

    # No known item is no evidence: the user is unknown, and the policy decides.
    with pytest.warns(RecsysWarning, match="no-such-item"), pytest.raises(UnknownIdError):
        demo_model.recommend(["ghost"], k=3, history={"ghost": ["no-such-item"]})
    with pytest.warns(RecsysWarning, match="no-such-item"):
        recs = demo_model.recommend(["ghost"], k=3, history={"ghost": ["no-such-item"]},
                                    on_unknown="fallback")
    popular = np.argsort(-demo_model.item_popularity_, kind="stable")[:3]
    assert recs["ghost"] == demo_model.items_.to_ids(popular).tolist()


# --------------------------------------------------------------------------- partial fit


def test_partial_fit_users_adds_and_updates_users(demo):
    model = rs.ALS(factors=8, iterations=5, threads=1).fit(demo)
    items = demo.items.ids
    history = {"fresh": list(items[:5])}
    folded = model.recommend(["fresh"], k=5, history=history)
    n_users = model.n_users
    model.partial_fit_users(["fresh"], history)
    assert model.n_users == n_users + 1 and model.user_factors_.shape[0] == n_users + 1
    assert model.recommend("fresh", k=5)["fresh"] == folded["fresh"]
    assert set(model.user_factors.loc["fresh"].index) == set(range(8))

    user = demo.users.ids[0]
    before = model.user_items_[model.users_.to_index([user])[0]].nnz
    model.partial_fit_users([user], pd.DataFrame({"user": [user], "item": [items[-1]]}))
    row = model.user_items_[model.users_.to_index([user])[0]]
    assert row.nnz == before + (0 if items[-1] in set(demo.to_pandas().query(
        "user == @user")["item"]) else 1)
    model.partial_fit_users([user], {user: [items[3]]}, replace=True)
    row = model.user_items_[model.users_.to_index([user])[0]]
    assert row.indices.tolist() == [3]
    expected = model.recommend(["x"], k=5, history={"x": [items[3]]})["x"]
    assert model.recommend(user, k=5)[user] == expected


def test_strict_fold_in_names_unknown_items_and_changes_nothing(demo):
    model = rs.ALS(factors=8, iterations=3, threads=1).fit(demo)
    known = list(demo.items.ids[:3])
    history = {"fresh": [*known, "no-such-item"]}
    with pytest.raises(UnknownIdError, match=r"history: 1 item\(s\).*'no-such-item'"):
        model.recommend(["fresh"], k=5, history=history, strict=True)
    user_factors, n_users = model.user_factors_.copy(), model.n_users
    with pytest.raises(UnknownIdError, match="no-such-item"):
        model.partial_fit_users(["fresh"], history, strict=True)
    assert model.n_users == n_users
    np.testing.assert_array_equal(model.user_factors_, user_factors)
    with pytest.warns(RecsysWarning, match="no-such-item"):
        lenient = model.recommend(["fresh"], k=5, history=history)
    assert lenient["fresh"] == model.recommend(["fresh"], k=5,
                                               history={"fresh": known})["fresh"]


def test_partial_fit_users_rejects_events_of_other_users(demo_model):
    with pytest.raises(DataError, match="not in user_ids"):
        demo_model.partial_fit_users(["a"], {"b": [demo_model.items_.ids[0]]})


# --------------------------------------------------------------------------- weighting


def test_auto_weighting_follows_the_values():
    ratings = sp.csr_matrix(np.array([[1.0, 4.5], [3.0, 0.0]]))
    counts = sp.csr_matrix(np.array([[1.0, 40.0], [3.0, 0.0]]))
    dislikes = sp.csr_matrix(np.array([[1.0, -1.0]]))
    assert resolve_weighting("auto", ratings) == "binary"
    assert resolve_weighting("auto", counts) == "log"
    assert resolve_weighting("auto", dislikes) == "raw"
    assert resolve_weighting("bm25", counts) == "bm25"
    with pytest.raises(ConfigError):
        resolve_weighting("tf", counts)
    assert weigh(counts, "log", np.ones(2), 1.0, 0.5).data.tolist() == pytest.approx(
        np.log2([2.0, 41.0, 4.0]).tolist())


def test_bm25_rows_equal_implicit_bm25_on_items(demo):
    matrix = demo.matrix
    lengths = np.asarray(matrix.sum(axis=0)).ravel()
    ours = bm25_rows(matrix, lengths, demo.n_items, k1=100.0, b=0.8)
    reference = weighting.bm25(matrix.T, k1=100.0, b=0.8).T.tocsr()
    np.testing.assert_allclose(ours.toarray(), reference.toarray(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("mode", ["bm25", "log", "raw"])
def test_every_weighting_folds_in_like_fit(demo, mode):
    model = rs.ALS(factors=8, iterations=4, weighting=mode, threads=1).fit(demo)
    assert model.weighting_ == mode and np.isfinite(model.user_factors_).all()
    user = demo.users.ids[3]
    frame = demo.to_pandas().query("user == @user").assign(user="again")
    folded = model.recommend(["again"], k=5, history=frame[["user", "item", "weight"]])
    assert folded["again"] == model.recommend(user, k=5)[user]


def test_regularization_scaling(demo):
    scaled = rs.ALS(factors=4, iterations=1, regularization=2.0, alpha=7.0, threads=1).fit(demo)
    raw = rs.ALS(factors=4, iterations=1, regularization=2.0, alpha=7.0,
                 scale_regularization=False, threads=1).fit(demo)
    assert scaled.regularization_ == pytest.approx(14.0) and raw.regularization_ == 2.0


# --------------------------------------------------------------------------- factors, similarity


def test_factor_frames_use_external_ids(demo_model, demo):
    users, items = demo_model.user_factors, demo_model.item_factors
    assert users.index.tolist() == demo.users.ids.tolist()
    assert items.index.tolist() == demo.items.ids.tolist()
    user = demo.users.ids[5]
    recs = demo_model.recommend(user, k=3, exclude_seen=False)
    scores = items @ users.loc[user]
    assert recs[user] == scores.sort_values(ascending=False, kind="stable").index[:3].tolist()


def test_bias_columns_are_named(demo):
    bpr = rs.BPR(factors=4, iterations=2, threads=1).fit(demo)
    lmf = rs.LMF(factors=4, iterations=2, threads=1).fit(demo)
    assert list(bpr.item_factors.columns) == [0, 1, 2, 3, "item_bias"]
    assert list(lmf.user_factors.columns) == [0, 1, 2, 3, "item_bias", "user_bias"]


def test_similar_items_is_cosine_of_item_factors(demo_model, demo):
    item = demo.items.ids[0]
    factors = demo_model.item_factors_.astype(np.float64)
    normalized = factors / np.linalg.norm(factors, axis=1, keepdims=True)
    cosine = normalized @ normalized[0]
    cosine[0] = -np.inf
    expected = demo.items.to_ids(np.argsort(-cosine, kind="stable")[:5]).tolist()
    assert demo_model.similar_items(item, k=5)[item] == expected


# --------------------------------------------------------------------------- ANN, persistence


def test_hnsw_index_ranks_known_users_with_exact_filters(demo, tmp_path, capsys):
    exact = rs.ALS(factors=16, iterations=8, threads=1).fit(demo)
    ann = rs.ALS(factors=16, iterations=8, threads=1, index="hnsw",
                 index_params={"M": 16}).fit(demo, show_progress=True)
    assert "HNSW graph" in capsys.readouterr().err  # the build has its own progress bar
    users = list(demo.users.ids[:200])
    allowed = list(demo.items.ids[::2])
    a = ann.recommend(users, k=10, items=allowed).to_pandas()
    e = exact.recommend(users, k=10, items=allowed).to_pandas()
    assert a.merge(demo.to_pandas()[["user", "item"]], on=["user", "item"]).empty
    assert a["item"].isin(allowed).all() and (a.groupby("user").size() == 10).all()
    overlap = len(a.merge(e, on=["user", "item"])) / len(e)
    assert overlap >= 0.95
    folded = ann.recommend(["n"], k=5, history={"n": list(demo.items.ids[:4])})
    assert not set(folded["n"]) & set(demo.items.ids[:4])
    loaded = rs.load(rs.save(ann, tmp_path / "als"))
    assert isinstance(loaded._index, HNSWIndex)
    np.testing.assert_array_equal(loaded.recommend(users, k=10).positions,
                                  ann.recommend(users, k=10).positions)


def test_saved_state_holds_no_backend_object(demo_model):
    for name, value in vars(demo_model).items():
        if name.endswith("_") and not name.startswith("_"):
            assert isinstance(value, (np.ndarray, sp.spmatrix, rs.IdIndex, str, float, int)), name


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("params", [
    {"index": "annoy"}, {"threads": -1}, {"weighting": "tfidf"}, {"factors": 0},
    {"alpha": 0.0}, {"index_params": 3}, {"bm25_b": 2.0},
])
def test_bad_hyperparameters_raise_config_errors(demo, params):
    with pytest.raises(ConfigError):
        rs.ALS(iterations=1, **params).fit(demo)


def test_users_without_interactions_get_zero_vectors(demo):
    user_rows, _, _ = demo.entries()
    train = demo.select(user_rows != 0, step="test", reason="user 0 emptied")
    model = rs.ALS(factors=8, iterations=3, threads=1).fit(train)
    assert np.isfinite(model.user_factors_).all() and np.isfinite(model.item_factors_).all()
    assert not model.user_factors_[0].any()


def test_empty_or_all_zero_input_is_a_clear_error_not_nan_factors():
    from recsys.data.ids import IdIndex

    empty = rs.Interactions(sp.csr_matrix((3, 4), dtype=np.float32),
                            IdIndex(np.arange(3)), IdIndex(np.arange(4)))
    with pytest.raises(DataError, match="no stored entries"):
        rs.ALS(iterations=1, threads=1).fit(empty)
    zeros = rs.Interactions.from_arrays(["u1", "u2"], ["a", "b"], weights=[0.0, 0.0])
    for scheme in ("raw", "log"):
        with pytest.raises(DataError, match="nonzero weight"):
            rs.ALS(iterations=1, threads=1, weighting=scheme).fit(zeros)


def test_items_without_interactions_get_finite_factors(demo):
    from recsys.data.ids import IdIndex

    # Two extra item columns nobody interacted with: all-zero columns of the matrix.
    matrix = sp.hstack([demo.matrix, sp.csr_matrix((demo.n_users, 2))], format="csr")
    items = IdIndex(np.concatenate([demo.items.ids, np.array(["never1", "never2"], object)]))
    wide = rs.Interactions(matrix, demo.users, items)
    model = rs.ALS(factors=8, iterations=3, threads=1).fit(wide)
    assert np.isfinite(model.user_factors_).all() and np.isfinite(model.item_factors_).all()


def test_exact_search_on_a_wide_catalog_equals_float64_scoring():
    # Wide enough for the float32 candidate pass (>= 4096 items): results must be those of
    # scoring everything in float64 (_dot) and ranking with top_k, scores included.
    from recsys.data.ids import IdIndex
    from recsys.ranking.topk import top_k

    rng = np.random.default_rng(0)
    n_users, n_items = 50, 6000
    matrix = sp.random(n_users, n_items, density=0.005, format="csr", random_state=1,
                       dtype=np.float32)
    matrix.data[:] = 1.0
    inter = rs.Interactions(matrix, IdIndex(np.arange(n_users)), IdIndex(np.arange(n_items)))
    model = rs.ALS(factors=16, iterations=2, threads=1).fit(inter)
    model.item_factors_ = rng.normal(size=(n_items, 16)).astype(np.float32)
    model.item_factors_[100:110] = model.item_factors_[5]  # exact ties among items
    model.user_factors_[3] = 0.0  # all scores tie: the float64 fallback path
    users = np.arange(n_users)
    # All items, an allow-list too short for the candidate pass, a wide allow-list.
    for items in (None, np.arange(0, n_items, 3), np.arange(50, n_items)):
        recs = model.recommend(users, k=10, items=items)
        cols = np.arange(n_items) if items is None else np.asarray(items)
        expected_idx, expected_val = top_k(model._dot(model.user_factors_, cols), 10,
                                           sp.csr_matrix(matrix[:, cols]))
        np.testing.assert_array_equal(recs.positions, cols[expected_idx])
        np.testing.assert_array_equal(recs.scores, expected_val)
        single = model.recommend(7, k=10, items=items)
        np.testing.assert_array_equal(single.positions[0], recs.positions[7])
        np.testing.assert_array_equal(single.scores[0], recs.scores[7])


def test_weights_are_normalised_by_their_training_mean(demo):
    # Multiplying every value by a constant changes nothing once the weights are divided by
    # their mean: alpha keeps meaning "the confidence of an average positive".
    frame = demo.to_pandas()
    given, scaled = (rs.Interactions.from_arrays(frame["user"], frame["item"],
                                                 weights=frame["weight"] * c) for c in (1, 64))
    params = dict(factors=8, iterations=3, weighting="raw", threads=1, seed=0)
    a, b = rs.ALS(**params).fit(given), rs.ALS(**params).fit(scaled)
    assert b.weight_scale_ == pytest.approx(64.0 * a.weight_scale_, rel=1e-5)
    np.testing.assert_allclose(a.user_factors_, b.user_factors_, rtol=1e-3, atol=1e-4)
    binary = rs.ALS(factors=8, iterations=1, weighting="binary", threads=1).fit(demo)
    assert binary.weight_scale_ == 1.0


def test_auto_alpha_follows_history_length_and_get_params_keeps_auto(groceries_csv, tmp_path):
    baskets = rs.datasets.baskets(groceries_csv).interactions  # about 4.4 items per basket
    model = rs.ALS(factors=8, iterations=2, threads=1).fit(baskets)
    frame = baskets.to_pandas()
    per_user = frame.groupby("user").size().mean()
    assert model.get_params()["alpha"] == "auto"
    assert model.alpha_ == pytest.approx(max(10.0, 150.0 / per_user))
    assert model.alpha_ > 30
    assert model.regularization_ == pytest.approx(5.0 * model.alpha_)
    rs.save(model, tmp_path / "als")
    loaded = rs.load(tmp_path / "als")
    assert loaded.alpha_ == model.alpha_
    history = {"new": frame["item"].iloc[:3].tolist()}
    np.testing.assert_array_equal(loaded.recommend("new", k=5, history=history).scores,
                                  model.recommend("new", k=5, history=history).scores)


def test_auto_alpha_keeps_the_floor_on_long_histories(ml_split):
    train, _ = ml_split  # about 85 entries per user: 150 / 85 < 10
    model = rs.ALS(factors=4, iterations=1, threads=1).fit(train)
    assert model.alpha_ == 10.0
    with pytest.raises(ValueError, match="alpha"):
        rs.ALS(alpha="high", factors=4, iterations=1, threads=1).fit(train)


def test_factor_matrices_beyond_memory_are_refused_before_allocating(monkeypatch):
    import recsys.models.factors as factors

    inter = rs.Interactions.from_arrays(["u1", "u2"], ["a", "b"])
    model = rs.ALS(factors=10**7, iterations=1, threads=1)
    # 4 copies x 4 bytes x 1e7 factors x 4 rows = 0.64 GB: refused when less is available.
    monkeypatch.setattr(factors, "available_memory", lambda: 100_000_000)
    with pytest.raises(ConfigError, match="factors=10000000 needs about 0.6 GB"):
        model.fit(inter)
    assert not model.is_fitted
    monkeypatch.undo()
    with pytest.raises(ConfigError, match="factors=100000000000"):
        rs.ALS(factors=10**11).fit(inter)  # 6.4 TB
