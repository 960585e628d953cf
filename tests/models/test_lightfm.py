"""LightFM: equality with raw lightfm, cold start from features, the optional dependency."""

import sys

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

import recsys as rs
from recsys.errors import ConfigError

lightfm = pytest.importorskip("lightfm")

PARAMS = dict(components=16, learning_rate=0.05, epochs=4, item_alpha=1e-6, user_alpha=1e-6,
              seed=3, threads=1)


@pytest.fixture(scope="module")
def movielens(ml100k_dir):
    ds = rs.datasets.movielens_100k(ml100k_dir, show_progress=False)
    train, _ = rs.split.random(ds.interactions, test_size=0.2, seed=42)
    return rs.Dataset(train, item_features=ds.item_features, user_features=ds.user_features)


def l1_rows(matrix: sp.spmatrix) -> sp.csr_matrix:
    sums = np.asarray(matrix.sum(axis=1)).ravel()
    return sp.csr_matrix(sp.diags(1.0 / np.where(sums > 0, sums, 1.0)) @ matrix)


@pytest.mark.parametrize("loss", ["warp", "bpr"])
def test_scores_equal_raw_lightfm_predict(movielens, loss):
    model = rs.LightFM(loss=loss, **PARAMS).fit(movielens)
    train = movielens.interactions
    # The feature matrices are identity + side features scaled to sum to 1 per row; ids
    # without a training interaction get no identity feature (it would stay untrained).
    active_items = np.bincount(train.matrix.indices, minlength=train.n_items) > 0
    assert not active_items.all()  # the split leaves some items cold
    items = sp.csr_matrix(sp.hstack([sp.diags(active_items.astype(float)),
                                     l1_rows(movielens.item_features.matrix)]))
    users = sp.csr_matrix(sp.hstack([sp.identity(train.n_users),
                                     l1_rows(movielens.user_features.matrix)]))
    np.testing.assert_allclose(model.item_features_.toarray(), items.toarray(), rtol=1e-6)
    np.testing.assert_allclose(model.user_features_.toarray(), users.toarray(), rtol=1e-6)

    binary = train.matrix.tocoo()
    binary.data[:] = 1.0
    raw = lightfm.LightFM(no_components=16, loss=loss, learning_rate=0.05, item_alpha=1e-6,
                          user_alpha=1e-6, random_state=3)
    raw.fit(binary, user_features=users, item_features=items, epochs=4,
            num_threads=1)
    np.testing.assert_array_equal(model.item_embeddings_, raw.item_embeddings)

    rows = np.arange(0, train.n_users, 41)
    user_idx = np.repeat(rows, train.n_items)
    item_idx = np.tile(np.arange(train.n_items), len(rows))
    expected = raw.predict(user_idx, item_idx, item_features=items, user_features=users,
                           num_threads=1).reshape(len(rows), train.n_items)
    recs = model.recommend(train.users.ids[rows], k=train.n_items, exclude_seen=False)
    got = np.take_along_axis(expected, recs.positions, axis=1)
    np.testing.assert_allclose(recs.scores, got, rtol=1e-5, atol=1e-5)
    # Top-10 with seen items excluded: the same items wherever raw scores have no near-tie.
    seen = train.matrix[rows].toarray() > 0
    masked = np.where(seen, -np.inf, expected)
    raw_top = np.argsort(-masked, axis=1, kind="stable")[:, :10]
    ours = model.recommend(train.users.ids[rows], k=10)
    compared = 0
    for i in range(len(rows)):
        gaps = np.diff(np.sort(masked[i])[::-1][:11])
        if np.abs(gaps).min() > 1e-4:
            assert ours.positions[i].tolist() == raw_top[i].tolist()
            compared += 1
    assert compared >= len(rows) // 2


def cold_dataset() -> tuple[rs.Dataset, str, str]:
    """Two genres; items x_* are action, y_* are drama; users a_* like action, d_* drama.
    Item "x_new" and user "d_new" are in the index with features but no interactions."""
    rows = [(f"a{u}", f"x{i}") for u in range(8) for i in range(6) if (u + i) % 4]
    rows += [(f"d{u}", f"y{i}") for u in range(8) for i in range(6) if (u + i) % 4]
    rows += [("d_new", "x0"), ("a0", "x_new")]  # placeholders, weight 0 -> removed below
    frame = pd.DataFrame(rows, columns=["user", "item"])
    frame["weight"] = [1.0] * (len(rows) - 2) + [0.0, 0.0]
    full = rs.Interactions.from_pandas(frame, "user", "item", weight="weight")
    inter = full.select(full.matrix.data > 0)
    items = pd.DataFrame({"item": inter.items.ids})
    items["genre"] = np.where(items["item"].str.startswith("x"), "action", "drama")
    users = pd.DataFrame({"user": inter.users.ids})
    users["likes"] = np.where(users["user"].str.startswith("a"), "action", "drama")
    return rs.Dataset(
        inter,
        item_features=rs.Features.from_pandas(items, "item", inter.items, categorical=["genre"]),
        user_features=rs.Features.from_pandas(users, "user", inter.users,
                                              categorical=["likes"])), "x_new", "d_new"


def test_cold_items_and_users_are_scored_from_features():
    ds, new_item, new_user = cold_dataset()
    assert ds.interactions.matrix[:, ds.interactions.items.to_index([new_item])].nnz == 0
    model = rs.LightFM(components=8, epochs=30, learning_rate=0.05, seed=0).fit(ds)
    # The cold item is recommendable and scored from its genre: action fans rank it first
    # among the items they have not seen, drama fans rank it below the drama items.
    recs = model.recommend(["a0", "d0"], k=ds.interactions.n_items, exclude_seen=False)
    assert np.isfinite(recs.scores).all()
    a0, d0 = recs["a0"], recs["d0"]
    assert a0.index(new_item) < min(a0.index(f"y{i}") for i in range(6))
    assert d0.index(new_item) > max(d0.index(f"y{i}") for i in range(6))
    only = model.recommend(["a0"], k=1, items=[new_item])
    assert only["a0"] == [new_item] and np.isfinite(only.scores).all()
    # The cold user (drama fan, no history) gets drama items first.
    cold = model.recommend([new_user], k=3)
    assert all(item.startswith("y") for item in cold[new_user])


def cold_rows(ds: rs.Dataset) -> np.ndarray:
    counts = np.bincount(ds.interactions.matrix.indices, minlength=ds.interactions.n_items)
    return (counts == 0).astype(float)[:, None]


def test_feature_matrices_and_guards():
    ds, *_ = cold_dataset()
    n_users, n_items = ds.interactions.shape
    cf = rs.LightFM(components=4, epochs=1).fit(ds.interactions)  # identity features only
    assert cf.item_features_.shape == (n_items, n_items)
    assert cf.user_features_.shape == (n_users, n_users)
    # With a Dataset, its side features follow the identity block, scaled to sum to 1.
    default = rs.LightFM(components=4, epochs=1).fit(ds)
    assert default.item_features_.shape == (n_items, n_items + 2)
    assert default.user_features_.shape == (n_users, n_users + 2)
    np.testing.assert_allclose(default.item_features_.sum(axis=1), 2.0 - cold_rows(ds))
    by_row = rs.LightFM(components=4, epochs=1, normalize_features="row").fit(ds)
    np.testing.assert_allclose(by_row.item_features_.sum(axis=1), 1.0)
    with pytest.raises(ConfigError, match="normalize_features"):
        rs.LightFM(normalize_features="l2").fit(ds)
    with pytest.raises(ConfigError, match="identity_features=False"):
        rs.LightFM(identity_features=False).fit(ds.interactions)
    with pytest.raises(ValueError, match="loss"):
        rs.LightFM(loss="hinge").fit(ds.interactions)


def test_missing_lightfm_names_the_extra(monkeypatch, tmp_path):
    ds, *_ = cold_dataset()
    saved = rs.save(rs.LightFM(components=4, epochs=2).fit(ds), tmp_path / "lfm")
    monkeypatch.setitem(sys.modules, "lightfm", None)  # import lightfm now fails
    model = rs.LightFM()  # constructing needs no backend
    with pytest.raises(ImportError, match=r'pip install "recsys-lab\[lightfm\]"'):
        model.fit(ds)
    # A saved model loads and serves without lightfm: scoring is numpy.
    loaded = rs.load(saved)
    assert len(loaded.recommend(["a0"], k=3)["a0"]) == 3


def test_progress_bar_counts_epochs(capsys):
    ds, *_ = cold_dataset()
    rs.LightFM(components=4, epochs=3).fit(ds, show_progress=True)
    assert "3/3" in capsys.readouterr().err


# ---------------------------------------------------------------- epochs="auto"
AUTO = dict(components=16, learning_rate=0.05, seed=3, threads=1)


@pytest.fixture(scope="module")
def auto_model(movielens):
    """A model whose epochs were chosen on ML-100K (learning rate 0.05 overfits early)."""
    return rs.LightFM(**AUTO).fit(movielens.interactions)


def test_auto_epochs_is_the_best_count_of_its_validation_curve(movielens, auto_model):
    from recsys.models import lightfm as module

    train = movielens.interactions
    curve = auto_model.epoch_search_
    assert auto_model.get_params()["epochs"] == "auto"
    # The checks: every epoch up to AUTO_DENSE, then every AUTO_EVERY; the search stopped
    # AUTO_PATIENCE epochs after its best, short of the maximum (the model overfits).
    checked = curve[:, 0].astype(int)
    expected = [e for e in range(1, module.AUTO_MAX_EPOCHS + 1)
                if e <= module.AUTO_DENSE or e % module.AUTO_EVERY == 0]
    assert checked.tolist() == expected[:len(checked)]
    best = int(checked[np.argmax(curve[:, 1])])
    # Trained on all the data, 1 / 0.8 times the data of the search: 1.25 times the count.
    assert module.AUTO_SCALE == pytest.approx(1.25)
    assert auto_model.epochs_ == min(module.AUTO_MAX_EPOCHS, round(1.25 * best)) > best
    assert checked[-1] == best + module.AUTO_PATIENCE < module.AUTO_MAX_EPOCHS
    assert curve[:, 1].max() > curve[-1, 1]  # it did overfit past the chosen count
    # The curve's value at the chosen count is what the evaluation layer measures for a
    # model of that many epochs fitted on the same carved part.
    part, valid = rs.split.random(train, test_size=module.AUTO_VALID_SIZE, seed=AUTO["seed"])
    alone = rs.LightFM(**{**AUTO, "epochs": best}).fit(part)
    measured = rs.evaluate(alone, valid, train=part, k=10).summary["ndcg@10"]
    assert curve[np.argmax(curve[:, 1]), 1] == pytest.approx(measured, abs=1e-6)
    # The final model is the scaled count trained on all the data.
    fixed = rs.LightFM(**{**AUTO, "epochs": auto_model.epochs_}).fit(train)
    np.testing.assert_array_equal(auto_model.item_embeddings_, fixed.item_embeddings_)
    assert fixed.epochs_ == auto_model.epochs_ and not hasattr(fixed, "epoch_search_")


def test_auto_epochs_survive_save_load_update_and_clone(auto_model, tmp_path):
    loaded = rs.load(rs.save(auto_model, tmp_path / "lfm"))
    assert loaded.epochs_ == auto_model.epochs_ and loaded.get_params()["epochs"] == "auto"
    np.testing.assert_array_equal(loaded.epoch_search_, auto_model.epoch_search_)
    users = auto_model.users_.ids[:5]
    ours, theirs = loaded.recommend(users, k=5), auto_model.recommend(users, k=5)
    assert ours.to_dict() == theirs.to_dict()
    assert auto_model.clone().get_params()["epochs"] == "auto"
    item = auto_model.items_.ids[0]
    updated = loaded.update(pd.DataFrame({"user_id": ["newcomer"], "item_id": [item]}))
    assert updated.n_users == auto_model.n_users + 1 and updated.epochs_ == auto_model.epochs_
    assert len(updated.recommend(["newcomer"], k=3)["newcomer"]) == 3


def test_saved_epochs_are_checked_on_load(auto_model, tmp_path):
    import json

    path = rs.save(auto_model, tmp_path / "lfm")
    manifest = json.loads((path / "manifest.json").read_text())
    manifest["scalars"]["epochs_"] = 0
    (path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(rs.errors.ModelFileError, match="epochs_"):
        rs.load(path)


@pytest.mark.parametrize("epochs", [0, -1, "many", 1.5, True, None])
def test_bad_epochs_name_the_parameter(epochs):
    ds, *_ = cold_dataset()
    with pytest.raises(ConfigError, match="epochs"):
        rs.LightFM(epochs=epochs).fit(ds)


def test_failed_refit_leaves_the_fitted_model_intact():
    ds, *_ = cold_dataset()
    model = rs.LightFM(components=4, seed=0).fit(ds)
    before = model.recommend(["a0", "d0"], k=4)
    chosen, curve = model.epochs_, model.epoch_search_.copy()
    with pytest.raises(ConfigError, match="epochs"):
        model.set_params(epochs="many").fit(ds)
    negative = rs.Interactions.from_pandas(ds.interactions.to_pandas().assign(weight=-1.0),
                                           "user", "item", weight="weight",
                                           allow_negative=True)
    with pytest.raises(rs.errors.DataError, match="positive weight"):
        model.set_params(epochs="auto").fit(negative)
    assert model.epochs_ == chosen
    np.testing.assert_array_equal(model.epoch_search_, curve)
    after = model.recommend(["a0", "d0"], k=4)
    assert after.to_dict() == before.to_dict()
    np.testing.assert_array_equal(after.scores, before.scores)


def test_integer_epochs_train_exactly_that_many():
    ds, *_ = cold_dataset()
    model = rs.LightFM(components=4, epochs=7, seed=0).fit(ds)
    assert model.epochs_ == 7 and not hasattr(model, "epoch_search_")
    raw = rs.LightFM(components=4, epochs=7, seed=0)._backend()
    train = ds.interactions.matrix.tocoo()
    raw.fit(train, user_features=model.user_features_, item_features=model.item_features_,
            epochs=7, num_threads=1)
    np.testing.assert_array_equal(model.item_embeddings_, raw.item_embeddings)


def test_auto_epochs_without_validation_entries_fall_back(caplog):
    from recsys.models import lightfm as module

    # One interaction per user: the split holds nothing out, so there is nothing to stop on.
    inter = rs.Interactions.from_arrays([f"u{i}" for i in range(12)],
                                        [f"i{i % 4}" for i in range(12)])
    with caplog.at_level("WARNING", logger="recsys"):
        model = rs.LightFM(components=4, seed=0).fit(inter)
    assert model.epochs_ == module.AUTO_FALLBACK_EPOCHS
    assert model.epoch_search_.shape == (0, 2)
    assert "no validation entry" in caplog.text
