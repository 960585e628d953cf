"""Several models in one service: the split's parsing and checks, and the multi-worker
factory (what each ``recsys serve --workers N --model ...`` worker builds), in process."""

from __future__ import annotations

import json

import pytest

import recsys as rs
from recsys.cli import main
from recsys.errors import ConfigError
from recsys.serving.arms import Arms, bucket, parse_split


@pytest.mark.parametrize("text", ["a", "a:x", "a:-1", "a:1,a:2", ":5"])
def test_bad_split_is_named(text):
    with pytest.raises(ConfigError, match="NAME:SHARE"):
        parse_split(text)


def test_split_names_must_be_served_and_shares_positive():
    with pytest.raises(ConfigError, match=r"\['c'\]"):
        Arms({"a": None, "b": None}, {"a": 1, "c": 1})
    with pytest.raises(ConfigError, match="add up to 0"):
        Arms({"a": None}, {"a": 0})


def test_assignment_follows_the_shares_and_the_salt():
    arms = Arms({"a": None, "b": None, "c": None}, {"a": 50, "b": 30, "c": 20})
    users = [f"user-{i}" for i in range(20_000)] + list(range(10_000))
    assigned = arms.assign(users)
    for name, share in arms.split.items():  # 30,000 users: 0.01 is over 3 standard deviations
        assert abs(assigned.count(name) / len(users) - share) < 0.01
    # An integer id and its text are different users; a new salt reshuffles.
    assert bucket(42) != bucket("42")
    salted = Arms(arms.holders, {"a": 50, "b": 30, "c": 20}, salt="next").assign(users)
    assert 0.4 < sum(x != y for x, y in zip(assigned, salted, strict=True)) / len(users) < 0.8


def test_command_line_refuses_mixed_or_malformed_models(tmp_path, capsys):
    assert main(["serve", str(tmp_path), "--model", f"a={tmp_path}"]) == 2
    assert "not both" in capsys.readouterr().err
    assert main(["serve", "--model", "a"]) == 2
    assert "NAME=DIR" in capsys.readouterr().err
    assert main(["serve", str(tmp_path), "--split", "a:1"]) == 2
    assert "several --model" in capsys.readouterr().err


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_worker_factory_serves_every_model(tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    import recsys.serving.server as server_module

    inter = rs.datasets.demo().interactions
    dirs = {"pop": str(rs.save(rs.Popularity().fit(inter), tmp_path / "pop")),
            "knn": str(rs.save(rs.ItemKNN().fit(inter), tmp_path / "knn"))}
    monkeypatch.setattr(server_module, "limit_blas_threads", lambda: None)  # process-wide
    monkeypatch.setattr(server_module, "WATCH_SECONDS", 0.05)
    monkeypatch.setenv(server_module.MODEL_DIRS_ENV, json.dumps(dirs))
    monkeypatch.setenv(server_module.WORKERS_ENV, "2")
    monkeypatch.setenv(server_module.SETTINGS_ENV, '{"split": {"pop": 1, "knn": 1}}')
    monkeypatch.delenv("RECSYS_API_KEY", raising=False)
    with TestClient(server_module.app_from_env()) as client:
        assert set(client.get("/model").json()["models"]) == {"pop", "knn"}
        users = inter.users.ids[:200].tolist()
        answers = client.post("/recommend", json={"users": users, "k": 2}).json()["results"]
        assert {a["model"] for a in answers} == {"pop", "knn"}
        assert client.post("/reload").status_code == 409
        assert client.put("/item-sets/x", json={"items": []}).status_code == 409
