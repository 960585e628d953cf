"""Batch export (``recsys recommend``): the file equals in-process ``recommend`` for every
user, in chunks, and a failed export leaves the previous file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import recsys as rs
from recsys.cli import main
from recsys.serving.export import export_recommendations


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    inter = rs.datasets.demo().interactions
    model = rs.ALS(factors=8, iterations=2, threads=1, seed=0).fit(inter)
    rng = np.random.default_rng(0)
    model.set_item_attributes(pd.DataFrame({"in_stock": rng.random(inter.n_items) < 0.3},
                                           index=inter.items.ids))
    return model, rs.save(model, tmp_path_factory.mktemp("export") / "als")


def _expected(model, users, k, where=None) -> pd.DataFrame:
    recs = model.recommend(users, k=k, where=where, on_unknown="skip")
    return recs.to_pandas()[["user", "rank", "item", "score"]]


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_export_of_every_user_equals_recommend(saved, tmp_path, suffix):
    model, path = saved
    output = tmp_path / f"recs{suffix}"
    assert main(["recommend", str(path), "--all", "--k", "7", "--output", str(output),
                 "--chunk-users", "333"]) == 0
    got = pd.read_parquet(output) if suffix == ".parquet" else pd.read_csv(output)
    expected = _expected(model, model.users_.ids, 7)
    assert got["user"].tolist() == expected["user"].tolist()
    assert got["item"].tolist() == expected["item"].tolist()
    assert got["rank"].tolist() == expected["rank"].tolist()
    np.testing.assert_allclose(got["score"].to_numpy(), expected["score"].to_numpy(),
                               rtol=1e-6)
    assert len(got) == 7 * model.n_users


def test_users_file_and_where(saved, tmp_path):
    model, path = saved
    users = [*model.users_.ids[[5, 0, 17]].tolist(), "stranger"]
    pd.DataFrame({"user": users}).to_csv(tmp_path / "users.csv", index=False)
    output = tmp_path / "recs.csv"
    assert main(["recommend", str(path), "--users", str(tmp_path / "users.csv"), "--k", "4",
                 "--where", '{"in_stock": true}', "--output", str(output)]) == 0
    got = pd.read_csv(output)
    expected = _expected(model, users, 4, {"in_stock": True})
    assert got[["user", "rank", "item"]].values.tolist() == \
        expected[["user", "rank", "item"]].values.tolist()
    in_stock = set(model.items_.ids[model.item_attributes["in_stock"].to_numpy(bool)])
    assert set(got["item"]) <= in_stock and "stranger" not in set(got["user"])


def test_bad_where_is_named_and_writes_nothing(saved, tmp_path, capsys):
    _, path = saved
    output = tmp_path / "recs.csv"
    assert main(["recommend", str(path), "--all", "--where", '{"in_stock": 3}',
                 "--output", str(output)]) == 2
    assert "where.in_stock" in capsys.readouterr().err
    assert main(["recommend", str(path), "--all", "--where", "{not json",
                 "--output", str(output)]) == 2
    assert list(tmp_path.iterdir()) == []


def test_failed_export_keeps_the_previous_file(saved, tmp_path, monkeypatch):
    model, _ = saved
    output = tmp_path / "recs.parquet"
    export_recommendations(model, output, k=3, chunk_users=500)
    before = output.read_bytes()
    calls = []
    original = type(model).recommend

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(model), "recommend", failing)
    with pytest.raises(KeyboardInterrupt):
        export_recommendations(model, output, k=5, chunk_users=500)
    assert output.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == [
        "recs.parquet"]


def test_wrong_suffix_is_refused(saved, tmp_path):
    model, _ = saved
    with pytest.raises(rs.errors.ConfigError, match="recs.json"):
        export_recommendations(model, tmp_path / "recs.json")
