"""Retraining on the training data plus the event log: ``retrain`` and ``recsys retrain``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import recsys as rs
from recsys.cli import main as cli_main
from recsys.errors import ConfigError
from recsys.serving.events import EventLog
from recsys.serving.retrain import retrain


@pytest.fixture(scope="module")
def demo():
    return rs.datasets.demo().interactions


def _pairs(model) -> dict:
    matrix = model.user_items_.tocoo()
    return {(model.users_.ids[r], model.items_.ids[c]): float(v)
            for r, c, v in zip(matrix.row, matrix.col, matrix.data, strict=True)}


def test_retrain_fits_the_same_configuration_on_training_data_plus_the_log(demo, tmp_path):
    model = rs.ItemKNN(k=50).fit(demo)
    path = rs.save(model, tmp_path / "v1")
    events = [{"user": demo.users.ids[0], "item": demo.items.ids[7], "weight": 2.0},
              {"user": "new-user", "item": demo.items.ids[7], "weight": 1.0},
              {"user": "new-user", "item": "new-item", "weight": 4.0}]
    with EventLog(tmp_path / "events.log") as log:
        log.append("events", events[:2])
        log.append("events", events[2:])
    new, seq = retrain(path, tmp_path / "events.log", tmp_path / "v2")
    assert seq == 3
    manifest = json.loads((new / "manifest.json").read_text())
    assert manifest["events"]["seq"] == 3 and manifest["params"]["k"] == 50

    # Known answer: a fit from scratch on the training rows and the events, summed.
    rows = demo.to_pandas().rename(columns={"user": "user_id", "item": "item_id"})
    frame = pd.concat([rows[["user_id", "item_id", "weight"]] if "weight" in rows
                       else rows[["user_id", "item_id"]].assign(weight=1.0),
                       pd.DataFrame(events).rename(columns={"user": "user_id",
                                                            "item": "item_id"})])
    expected = rs.ItemKNN(k=50).fit(rs.Interactions.from_pandas(
        frame, "user_id", "item_id", weight="weight", duplicates="sum"))
    retrained = rs.load(new)
    assert _pairs(retrained) == pytest.approx(_pairs(expected))
    users = [demo.users.ids[0], demo.users.ids[5], "new-user"]
    got, want = retrained.recommend(users, k=10), expected.recommend(users, k=10)
    for user in users:
        assert got[user] == want[user]
    np.testing.assert_allclose(retrained.similarity_.toarray().sum(),
                               expected.similarity_.toarray().sum(), rtol=1e-5)

    # Retraining the retrained model reads only what the log added since.
    with EventLog(tmp_path / "events.log") as log:
        log.append("events", [{"user": "later", "item": "new-item", "weight": 1.0}])
    newer, seq = retrain(new, tmp_path / "events.log", tmp_path / "v3")
    assert seq == 4
    assert len(_pairs(rs.load(newer))) == len(_pairs(retrained)) + 1


def test_retrain_refuses_another_logs_model_and_feature_families(demo, tmp_path):
    path = rs.save(rs.ItemKNN().fit(demo), tmp_path / "v1")
    with EventLog(tmp_path / "a.log") as log:
        log.append("events", [{"user": "x", "item": demo.items.ids[0], "weight": 1.0}])
    with EventLog(tmp_path / "b.log") as log:
        log.append("events", [{"user": "y", "item": demo.items.ids[0], "weight": 1.0}])
    new, _ = retrain(path, tmp_path / "a.log", tmp_path / "v2")
    with pytest.raises(ConfigError, match="retrained from event log"):
        retrain(new, tmp_path / "b.log", tmp_path / "v3")
    assert not (tmp_path / "v3").exists()
    data = rs.datasets.demo()
    content = rs.save(rs.ContentBased(categorical_columns=["category"]).fit(data),
                      tmp_path / "content")
    with pytest.raises(ConfigError, match="item features"):
        retrain(content, tmp_path / "a.log", tmp_path / "v4")


def test_retrain_command(demo, tmp_path, capsys):
    path = rs.save(rs.Popularity().fit(demo), tmp_path / "v1")
    with EventLog(tmp_path / "events.log") as log:
        log.append("events", [{"user": "x", "item": "fresh", "weight": 1.0}] * 2)
    assert cli_main(["retrain", str(path), "--events", str(tmp_path / "events.log"),
                     "--output", str(tmp_path / "v2")]) == 0
    assert "through record 2" in capsys.readouterr().out
    assert "fresh" in rs.load(tmp_path / "v2").items_.ids.tolist()
    assert cli_main(["retrain", str(path), "--events", str(tmp_path / "missing.log"),
                     "--output", str(tmp_path / "v3")]) == 2
    assert "cannot read the event log" in capsys.readouterr().err
