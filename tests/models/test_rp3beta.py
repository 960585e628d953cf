"""RP3beta on a graph small enough to compute by hand, and the quality bar on ML-100K."""

import numpy as np
import pytest
import scipy.sparse as sp

import recsys as rs
from recsys.models.rp3beta import AUTO_BETAS, FALLBACK_BETA, rp3beta_similarity

SQRT2 = np.sqrt(2.0)


@pytest.fixture
def triangle() -> rs.Interactions:
    # u1: a, b   u2: a, c   u3: b       popularity: a 2, b 2, c 1
    return rs.Interactions.from_arrays(["u1", "u1", "u2", "u2", "u3"],
                                       ["a", "b", "a", "c", "b"],
                                       weights=[5.0, 1.0, 2.0, 3.0, 4.0])


def test_hand_computed_graph(triangle):
    # P_iu @ P_ui: a -> (1/2, 1/4, 1/4), b -> (1/4, 3/4, 0), c -> (1/2, 0, 1/2); the columns
    # are divided by popularity ** 0.5 (sqrt 2, sqrt 2, 1) and the diagonal dropped.
    model = rs.RP3beta(alpha=1.0, beta=0.5, k=10).fit(triangle)
    expected = np.array([[0.0, 1 / (4 * SQRT2), 1 / 4],
                         [1 / (4 * SQRT2), 0.0, 0.0],
                         [1 / (2 * SQRT2), 0.0, 0.0]])
    np.testing.assert_allclose(model.similarity_.toarray(), expected, rtol=1e-6)
    # u3 holds b: scores are row b, so a (1 / (4 sqrt 2)) is recommended.
    recs = model.recommend("u3", k=1)
    assert recs["u3"] == ["a"]
    np.testing.assert_allclose(recs.scores[0], [1 / (4 * SQRT2)], rtol=1e-6)


def test_alpha_powers_the_transition_probabilities_and_k_prunes(triangle):
    # alpha = 2 squares every probability: a -> 1/4 * (1/4, 1/4, 0) + 1/4 * (1/4, 0, 1/4).
    model = rs.RP3beta(alpha=2.0, beta=0.0, k=10).fit(triangle)
    np.testing.assert_allclose(model.similarity_.toarray()[0], [0.0, 1 / 16, 1 / 16])
    # beta = 0.5, k = 1: row a keeps its larger entry, c (1/4 > 1 / (4 sqrt 2)).
    pruned = rs.RP3beta(alpha=1.0, beta=0.5, k=1).fit(triangle).similarity_.toarray()
    np.testing.assert_allclose(pruned[0], [0.0, 0.0, 0.25])
    assert (np.count_nonzero(pruned, axis=1) <= 1).all()


def test_matches_dense_reference_on_random_data():
    rng = np.random.default_rng(3)
    dense = (rng.random((60, 25)) < 0.2).astype(np.float64)
    dense[:, 24] = 0  # an item nobody has
    alpha, beta, k = 0.7, 0.4, 5
    user_item = dense / np.maximum(dense.sum(axis=1, keepdims=True), 1)
    item_user = dense.T / np.maximum(dense.T.sum(axis=1, keepdims=True), 1)
    popularity = dense.sum(axis=0)
    full = (item_user ** alpha) @ (user_item ** alpha)
    full = full / np.where(popularity > 0, popularity ** beta, 1.0)[None, :]
    np.fill_diagonal(full, 0.0)
    got = rp3beta_similarity(sp.csr_matrix(dense), alpha, beta, k).toarray()
    for row, values in enumerate(full):
        top = np.argsort(-values, kind="stable")[:k]
        top = top[values[top] > 0]
        np.testing.assert_allclose(got[row, top], values[top], rtol=1e-5)
        assert np.count_nonzero(got[row]) == len(top)


def test_invalid_parameters_are_named(triangle):
    with pytest.raises(ValueError, match="alpha"):
        rs.RP3beta(alpha=-1.0).fit(triangle)
    with pytest.raises(ValueError, match="k must be"):
        rs.RP3beta(k=0).fit(triangle)


def test_rp3beta_beats_popularity_on_movielens(ml100k):
    train, test = rs.split.random(ml100k, test_size=0.2, seed=42)
    pop = rs.evaluate(rs.Popularity().fit(train), test, k=10).summary
    summary = rs.evaluate(rs.RP3beta().fit(train), test, k=10).summary
    assert summary["ndcg@10"] > pop["ndcg@10"] * 1.5
    assert summary["coverage@10"] > pop["coverage@10"]


def test_auto_beta_is_the_penalty_best_on_a_validation_split_of_the_training_data(tmp_path):
    train, _ = rs.split.random(rs.datasets.demo().interactions, test_size=0.2, seed=42)
    model = rs.RP3beta().fit(train)
    assert model.get_params()["beta"] == "auto"
    # By hand: the same split (20% per user, seed 0), one fixed-beta model per penalty.
    part, valid = rs.split.random(train, test_size=0.2, seed=0)
    per_user = np.array([rs.evaluate(rs.RP3beta(beta=beta).fit(part), valid, train=part,
                                     k=10).per_user["ndcg@10"].to_numpy()
                         for beta in AUTO_BETAS])
    scores = per_user.mean(axis=1)
    np.testing.assert_allclose(model.beta_search_[:, 0], AUTO_BETAS)
    np.testing.assert_allclose(model.beta_search_[:, 1], scores, rtol=1e-6)
    # The strongest penalty within one paired standard error of the best.
    best = int(np.argmax(scores))
    gaps = per_user - per_user[best]
    near = scores >= scores[best] - gaps.std(axis=1, ddof=1) / np.sqrt(per_user.shape[1])
    np.testing.assert_array_equal(model.beta_search_[:, 2], near)
    assert model.beta_ == max(b for b, n in zip(AUTO_BETAS, near, strict=True) if n)
    # Then fitted on all of train with it: the same similarities as that beta given.
    fixed = rs.RP3beta(beta=model.beta_).fit(train)
    np.testing.assert_array_equal(model.similarity_.toarray(), fixed.similarity_.toarray())
    rs.save(model, tmp_path / "rp3")
    loaded = rs.load(tmp_path / "rp3")
    assert (loaded.beta_, loaded.get_params()["beta"]) == (model.beta_, "auto")
    np.testing.assert_array_equal(loaded.beta_search_, model.beta_search_)


def test_auto_beta_without_anything_to_hold_out_falls_back(caplog):
    single = rs.Interactions.from_arrays(["u1", "u2", "u3"], ["a", "b", "a"])
    with caplog.at_level("WARNING", logger="recsys"):
        model = rs.RP3beta().fit(single)
    assert (model.beta_, model.beta_search_) == (FALLBACK_BETA, None)
    assert "no validation entry" in caplog.text


@pytest.mark.parametrize("beta", ["high", "AUTO", None, True, float("nan"), [0.4]])
def test_bad_beta_is_named_and_a_failed_refit_keeps_the_model(triangle, beta):
    model = rs.RP3beta(beta=0.5, k=10).fit(triangle)
    before = model.similarity_.toarray()
    with pytest.raises(ValueError, match="beta"):
        model.set_params(beta=beta).fit(triangle)
    assert model.beta_ == 0.5
    np.testing.assert_array_equal(model.similarity_.toarray(), before)


def test_a_model_file_from_before_beta_auto_still_loads(triangle, tmp_path):
    import json

    model = rs.RP3beta(beta=0.5, k=10).fit(triangle)
    path = rs.save(model, tmp_path / "rp3")
    manifest = json.loads((path / "manifest.json").read_text())
    for name in ("beta_", "beta_search_"):  # what a file saved before beta="auto" lacks
        del manifest["scalars"][name]
    (path / "manifest.json").write_text(json.dumps(manifest))
    old = rs.load(path)
    np.testing.assert_array_equal(old.recommend(["u3"], k=2).positions,
                                  model.recommend(["u3"], k=2).positions)
    # A tampered search table is refused (the scores do not depend on it).
    model.beta_search_ = np.zeros((2, 2))
    with pytest.raises(rs.errors.ModelFileError, match="beta_search_"):
        rs.load(rs.save(model, tmp_path / "tampered"))
