"""EASE: the closed form against a direct numpy computation, the memory guard, quality."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

import recsys as rs
from recsys.errors import ConfigError
from recsys.models import ease


def small_interactions(seed: int = 0) -> rs.Interactions:
    rng = np.random.default_rng(seed)
    dense = (rng.random((40, 15)) < 0.3).astype(np.float32)
    dense[0, :] = 0
    dense[0, :3] = 1  # every user has something
    users, items = np.nonzero(dense)
    weights = rng.integers(1, 6, size=len(users)).astype(float)
    return rs.Interactions.from_arrays([f"u{u}" for u in users], [f"i{i:02d}" for i in items],
                                       weights=weights)


def direct_ease(matrix: np.ndarray, l2: float) -> np.ndarray:
    """Steck's formula written out: B = I - P diag(1/diag(P)), P = (X^T X + l2 I)^-1."""
    inverse = np.linalg.inv(matrix.T @ matrix + l2 * np.eye(matrix.shape[1]))
    weights = np.eye(matrix.shape[1]) - inverse @ np.diag(1.0 / np.diag(inverse))
    np.fill_diagonal(weights, 0.0)
    return weights


@pytest.mark.parametrize("weighting", ["binary", "raw"])
def test_closed_form_equals_direct_numpy(weighting):
    inter = small_interactions()
    matrix = inter.matrix.toarray().astype(np.float64)
    if weighting == "binary":
        matrix = (matrix > 0).astype(np.float64)
    matrix /= matrix[matrix > 0].mean()  # weights are normalised to a training mean of 1
    model = rs.EASE(l2=3.0, weighting=weighting).fit(inter)
    expected = direct_ease(matrix, 3.0)
    np.testing.assert_allclose(model.weights_, expected, rtol=1e-5, atol=1e-6)
    recs = model.recommend(list(inter.users.ids), k=inter.n_items, exclude_seen=False)
    scores = matrix @ expected
    rows = np.arange(inter.n_users)[:, None]
    np.testing.assert_allclose(recs.scores, scores[rows, recs.positions], rtol=1e-4, atol=1e-5)


def test_blockwise_gram_and_inverse_match(monkeypatch):
    # Tiny blocks exercise the block loops that large catalogs go through.
    monkeypatch.setattr(ease, "GRAM_BLOCK_CELLS", 40)
    inter = small_interactions(1)
    binary = (inter.matrix.toarray() > 0).astype(np.float64)
    gram = ease.gram_matrix(sp.csr_matrix(binary))
    np.testing.assert_array_equal(gram, binary.T @ binary)
    np.testing.assert_allclose(ease.ease_weights(gram, 7.0), direct_ease(binary, 7.0),
                               rtol=1e-5, atol=1e-6)


def test_memory_refusal_states_the_memory_needed(monkeypatch):
    inter = small_interactions()
    with pytest.raises(ConfigError, match=r"EASE needs about 0\.\d+ GB .* 15 items"):
        rs.EASE(max_memory_gb=1e-9).fit(inter)
    # Without a cap, the limit is the memory available: pretend there is almost none.
    monkeypatch.setattr(ease, "available_memory", lambda: 1000)
    with pytest.raises(ConfigError, match="available memory"):
        rs.EASE().fit(inter)
    assert ease.ease_memory_bytes(10_000) == pytest.approx(1.2e9, rel=0.05)
    with pytest.raises(ConfigError, match=r"needs about 120\.\d\d GB"):
        ease.check_ease_memory(100_000, max_memory_gb=64)


def test_invalid_parameters_are_named():
    inter = small_interactions()
    with pytest.raises(ValueError, match="l2"):
        rs.EASE(l2=0.0).fit(inter)
    with pytest.raises(ValueError, match="threads"):
        rs.EASE(threads=-1).fit(inter)


def test_ease_beats_popularity_on_movielens(ml100k):
    train, test = rs.split.random(ml100k, test_size=0.2, seed=42)
    pop = rs.evaluate(rs.Popularity().fit(train), test, k=10).summary
    model = rs.EASE(threads=1).fit(train)
    summary = rs.evaluate(model, test, k=10).summary
    assert summary["ndcg@10"] > pop["ndcg@10"] * 1.8
    assert summary["recall@10"] > pop["recall@10"]
    assert summary["coverage@10"] > pop["coverage@10"]


@settings(max_examples=25, deadline=None)
@given(n_users=st.integers(2, 30), n_items=st.integers(2, 30),
       density=st.floats(0.05, 0.9), l2=st.floats(0.1, 1000.0), seed=st.integers(0, 10**6))
def test_dual_inverse_equals_primal(n_users, n_items, density, l2, seed):
    rng = np.random.default_rng(seed)
    dense = (rng.random((n_users, n_items)) < density) * rng.integers(1, 5, (n_users, n_items))
    matrix = sp.csr_matrix(dense.astype(np.float64))
    primal = ease.primal_inverse(ease.gram_matrix(matrix), l2)
    dual = ease.dual_inverse(matrix, l2)
    direct = np.linalg.inv(dense.T @ dense + l2 * np.eye(n_items))
    scale = np.abs(direct).max()
    np.testing.assert_allclose(primal / scale, direct / scale, atol=1e-10)
    np.testing.assert_allclose(dual / scale, direct / scale, atol=1e-10)


def test_solver_auto_picks_the_smaller_side_with_the_same_weights(ml100k):
    # 943 users < 1,682 items: the user side is the cheaper one.
    fitted = {s: rs.EASE(solver=s, threads=1).fit(ml100k) for s in ("auto", "primal", "dual")}
    assert fitted["auto"].solver_ == "dual"
    assert fitted["primal"].solver_ == "primal"
    np.testing.assert_allclose(fitted["dual"].weights_, fitted["primal"].weights_, atol=1e-6)
    transposed = rs.Interactions.from_arrays(*small_transposed())
    assert rs.EASE(l2=1.0).fit(transposed).solver_ == "primal"


def small_transposed() -> tuple[list, list]:
    inter = small_interactions()  # 40 users x 15 items: more users than items
    frame = inter.to_pandas()
    return frame["user"].tolist(), frame["item"].tolist()


def test_auto_l2_is_the_rule_of_the_data_and_get_params_keeps_auto(ml100k):
    frame = ml100k.to_pandas()
    users_per_item = frame.groupby("item")["user"].nunique().mean()
    model = rs.EASE(threads=1).fit(ml100k)
    assert model.get_params()["l2"] == "auto"
    assert model.l2_ == pytest.approx(min(ease.L2_CAP, ease.L2_PER_USER * users_per_item))
    assert "l2='auto'" in repr(model)
    assert rs.EASE(l2=42.0).fit(ml100k).l2_ == 42.0
    with pytest.raises(ValueError, match="l2"):
        rs.EASE(l2="big").fit(ml100k)


def test_scaling_the_values_changes_nothing_after_normalisation():
    inter = small_interactions()
    frame = inter.to_pandas()
    scaled = rs.Interactions.from_arrays(frame["user"], frame["item"],
                                         weights=frame["weight"] * 1000.0)
    a = rs.EASE(l2=5.0, weighting="raw").fit(inter)
    b = rs.EASE(l2=5.0, weighting="raw").fit(scaled)
    assert b.weight_scale_ == pytest.approx(1000.0 * a.weight_scale_)
    np.testing.assert_allclose(a.weights_, b.weights_, rtol=1e-4, atol=1e-6)


def test_save_load_keeps_the_resolved_values(tmp_path):
    inter = rs.datasets.demo().interactions  # play counts
    assert rs.EASE(threads=1).fit(inter).weighting_ == "binary"  # "auto" binarises amounts
    model = rs.EASE(weighting="log", threads=1).fit(inter)
    assert model.weight_scale_ > 1.0
    rs.save(model, tmp_path / "ease")
    loaded = rs.load(tmp_path / "ease")
    for name in ("l2_", "solver_", "weighting_", "weight_scale_"):
        assert getattr(loaded, name) == getattr(model, name), name
    users = inter.users.ids[:20]
    history = {"new": inter.items.ids[:3].tolist()}
    assert loaded.recommend(users, k=5).to_pandas().equals(model.recommend(users, k=5).to_pandas())
    np.testing.assert_array_equal(loaded.recommend("new", k=5, history=history).scores,
                                  model.recommend("new", k=5, history=history).scores)
