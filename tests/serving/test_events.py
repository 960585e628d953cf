"""``POST /events`` on a real service: read-your-writes, all-or-nothing batches, and no
acknowledged event lost to ``kill -9`` or to a reload.

Expected answers come from the same model updated in this process with the same events.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

import recsys as rs  # noqa: E402
from recsys.cli import main as cli_main  # noqa: E402
from recsys.serving.events import read_log  # noqa: E402
from tests.serving.test_app import _launch, _stop, _wait_ready  # noqa: E402

WEIGHTS = "view=1,cart=3"


@pytest.fixture(scope="module")
def demo():
    return rs.datasets.demo().interactions


@pytest.fixture(scope="module")
def knn(demo):
    return rs.ItemKNN().fit(demo)


@pytest.fixture(scope="module")
def server(knn, tmp_path_factory):
    root = tmp_path_factory.mktemp("events")
    rs.save(knn, root / "models" / "knn")
    launched = _launch(root / "models" / "knn", root / "server.log", "--events-log",
                       str(root / "events.log"), "--event-weights", WEIGHTS,
                       "--max-events", "50")
    try:
        _wait_ready(launched)
        yield launched
    finally:
        _stop(launched)


@pytest.fixture()
def client(server):
    with server.client() as client:
        yield client


def _items(response) -> list:
    assert response.status_code == 200, response.text
    return [entry["item"] for entry in response.json()["items"]]


def _log_records(path) -> list[dict]:
    return [record for batch in read_log(path)[1] for record in batch.records]


def test_events_change_the_next_recommendation_as_update_does(client, server, knn, demo):
    user = demo.users.ids[3]
    before = _items(client.post("/recommend", json={"user": user, "k": 10}))
    # The user takes the top two recommendations (one as a cart, weight 3); a new user
    # arrives with one of them.
    posted = [{"user": user, "item": before[0], "type": "cart"},
              {"user": user, "item": before[1], "weight": 2.0, "type": "view"},
              {"user": "newcomer-1", "item": before[0], "timestamp": 1.7e9}]
    answer = client.post("/events", json=posted)
    assert answer.status_code == 200, answer.text
    seq = client.get("/model").json()["events_seq"]
    assert answer.json() == {"applied": 3, "first_seq": seq - 2, "last_seq": seq}

    # Every event the service holds so far (the tests share the server), as update takes
    # them, with the cart's weight tripled by hand.
    logged = _log_records(server.model_dir.parent.parent / "events.log")
    assert [(r["user"], r["item"], r["weight"]) for r in logged[-3:]] == [
        (user, before[0], 3.0), (user, before[1], 2.0), ("newcomer-1", before[0], 1.0)]
    expected = rs.load(server.model_dir).update(pd.DataFrame(
        {"user_id": [r["user"] for r in logged], "item_id": [r["item"] for r in logged],
         "weight": [r["weight"] for r in logged]}))
    after = _items(client.post("/recommend", json={"user": user, "k": 10}))
    assert before[0] not in after and before[1] not in after  # seen now
    assert after == expected.recommend(user, k=10)[user]
    new = _items(client.post("/recommend", json={"user": "newcomer-1", "k": 5}))
    assert new == expected.recommend("newcomer-1", k=5)["newcomer-1"]
    assert before[0] not in new


def test_type_weights_are_applied_and_logged(client, server):
    path = server.model_dir.parent.parent / "events.log"
    client.post("/events", json=[{"user": "w1", "item": "i0001", "type": "cart",
                                  "weight": 0.5}, {"user": "w1", "item": "i0002"}])
    logged = [r for r in _log_records(path) if r["user"] == "w1"]
    assert [(r["item"], r["weight"], r.get("type")) for r in logged] == [
        ("i0001", 1.5, "cart"), ("i0002", 1.0, None)]
    assert all(isinstance(r["timestamp"], float) and r["timestamp"] > 1.6e9 for r in logged)


BAD_BATCHES = [
    ({"user": "u1", "item": "i1"}, None, "array"),  # not a list
    ([], None, "at least 1"),  # empty batch
    ([{"user": "u1", "item": "i1"}] * 51, None, "at most 50"),  # too many events
    ([{"user": "u1"}], (0, "item"), "required"),
    ([{"user": "ok", "item": "i0001"}, {"item": "i1"}], (1, "user"), "required"),
    ([{"user": "ok", "item": "i0001"}, {"user": 1.5, "item": "i1"}], (1, "user"), "integer"),
    ([{"user": "ok", "item": "i0001"}, {"user": True, "item": "i1"}], (1, "user"), "integer"),
    ([{"user": "u1", "item": None}], (0, "item"), "integer"),
    ([{"user": "u1", "item": "i1", "weight": "3"}], (0, "weight"), "number"),
    ([{"user": "u1", "item": "i1", "weight": 0}], (0, "weight"), "greater than 0"),
    ([{"user": "u1", "item": "i1", "weight": -2}], (0, "weight"), "greater than 0"),
    ([{"user": "u1", "item": "i1", "weight": 1e300}], (0, "weight"), "less than"),
    ([{"user": "u1", "item": "i1", "timestamp": -5}], (0, "timestamp"), "greater than"),
    ([{"user": "u1", "item": "i1", "type": "purchase"}], (0, "type"), "unknown event type"),
    ([{"user": "u1", "item": "i1", "type": ""}], (0, "type"), "at least 1"),
    ([{"user": "x" * 300, "item": "i1"}], (0, "user"), "at most 256"),
    ([{"user": 2**200, "item": "i1"}], (0, "user"), "less than"),
    ([{"user": "", "item": "i1"}], (0, "user"), "at least 1"),
    ([{"user": "u1", "item": "i1", "rating": 5}], (0, "rating"), "not permitted"),
]


@pytest.mark.parametrize("payload, where, message", BAD_BATCHES)
def test_bad_batches_are_422_naming_the_event_and_nothing_is_applied(client, server, payload,
                                                                     where, message):
    log = server.model_dir.parent.parent / "events.log"
    size, seq = log.stat().st_size, client.get("/model").json()["events_seq"]
    response = client.post("/events", json=payload)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(message in e["msg"] for e in errors), errors
    if where is not None:
        assert any(tuple(e["loc"][1:3]) == where for e in errors), errors
    assert log.stat().st_size == size
    assert client.get("/model").json()["events_seq"] == seq
    # The valid event in front of a bad one was not applied either.
    assert client.post("/recommend", json={"user": "ok", "k": 1}).status_code == 404


@pytest.mark.parametrize("body", ["[{\"user\": \"u1\", \"item\": \"i1\", \"weight\": NaN}]",
                                  "[{\"user\": \"u1\", \"item\": \"i1\", \"weight\": Infinity}]",
                                  "[{\"user\": " + "9" * 5000 + ", \"item\": \"i1\"}]",
                                  "[{\"user\": \"u1\", \"item\": \"i1\"", "null"])
def test_non_json_numbers_and_broken_json_are_422(client, server, body):
    log = server.model_dir.parent.parent / "events.log"
    size = log.stat().st_size
    response = client.post("/events", content=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert log.stat().st_size == size


def test_items_is_refused_for_a_family_without_features(client):
    response = client.post("/items", json=[{"item": "new", "features": {"category": "x"}}])
    assert response.status_code == 422
    assert "ItemKNN cannot score an item from its features" in response.json()["detail"]


def test_without_a_log_events_are_409(knn, tmp_path):
    from fastapi.testclient import TestClient

    from recsys.serving.app import create_app

    client = TestClient(create_app(rs.save(knn, tmp_path / "knn")))
    response = client.post("/events", json=[{"user": "u", "item": "i"}])
    assert response.status_code == 409 and "--events-log" in response.json()["detail"]


def test_item_rules_sent_while_a_batch_applies_are_not_lost(knn, tmp_path, monkeypatch):
    # A batch is applied to a copy of the served model, then swapped in: item attributes
    # attached to the served model meanwhile must wait for the swap, or the copy drops them.
    from fastapi.testclient import TestClient

    from recsys.serving import served
    from recsys.serving.app import create_app

    app = create_app(rs.save(knn, tmp_path / "knn"), events_log=tmp_path / "events.log")
    client = TestClient(app)
    item = str(knn.items_.ids[0])
    during: dict = {}

    def apply_while_attributes_arrive(model, kind, records, real=served.apply):
        copy = real(model, kind, records)
        worker = threading.Thread(target=lambda: during.setdefault(
            "answer", client.put("/items/attributes",
                                 json={"rows": [{"item": item, "in_stock": False}]})))
        worker.start()
        worker.join(timeout=0.5)
        during["finished before the swap"], during["worker"] = not worker.is_alive(), worker
        return copy

    monkeypatch.setattr(served, "apply", apply_while_attributes_arrive)
    posted = client.post("/events", json=[{"user": "race-1", "item": item}])
    during["worker"].join()
    assert posted.status_code == 200 and during["answer"].status_code == 200
    assert not during["finished before the swap"]
    table = app.state.holder.current.model.item_attributes
    assert not table.loc[item, "in_stock"]
    assert "race-1" in app.state.holder.current.model.users_.ids


# ----------------------------------------------------------------------------- durability


def _stream(url: str, prefix: str, items: list, acked: list, stop: threading.Event,
            failures: list) -> None:
    """Post batches of 5 events, each of a user never seen before, until ``stop``; every
    acknowledged batch's users go to ``acked``."""
    n = 0
    with httpx.Client(base_url=url, timeout=30.0) as client:
        while not stop.is_set():
            users = [f"{prefix}{n + i}" for i in range(5)]
            batch = [{"user": u, "item": items[(n + i) % len(items)]}
                     for i, u in enumerate(users)]
            n += 5
            try:
                response = client.post("/events", json=batch)
            except httpx.TransportError:
                return  # the server is gone (killed): this batch was never acknowledged
            if response.status_code != 200:
                failures.append(response.text)
                return
            acked.append((users, response.json()["last_seq"]))


def _known(client, users: list) -> list:
    """The users of ``users`` the served model knows (by an exact /recommend answer)."""
    known = []
    for start in range(0, len(users), 500):
        chunk = users[start:start + 500]
        response = client.post("/recommend", json={"users": chunk, "k": 1,
                                                    "on_unknown": "skip"})
        assert response.status_code == 200, response.text
        known += [r["user"] for r in response.json()["results"]]
    return known


def test_kill_9_during_a_stream_loses_no_acknowledged_event(knn, demo, tmp_path):
    model_dir = rs.save(knn, tmp_path / "models" / "knn")
    log = tmp_path / "events.log"
    server = _launch(model_dir, tmp_path / "first.log", "--events-log", str(log))
    acked: list = []
    failures: list = []
    stop = threading.Event()
    try:
        _wait_ready(server)
        items = list(demo.items.ids[:50])
        streams = [threading.Thread(target=_stream, args=(server.url, f"k{t}-", items, acked,
                                                          stop, failures))
                   for t in range(2)]
        for stream in streams:
            stream.start()
        deadline = time.monotonic() + 30
        while len(acked) < 40 and time.monotonic() < deadline and not failures:
            time.sleep(0.05)
        os.killpg(server.process.pid, signal.SIGKILL)  # mid-stream: batches in flight
        server.process.wait()
        for stream in streams:
            stream.join(timeout=30)
    finally:
        stop.set()
        _stop(server)
    assert not failures
    assert len(acked) >= 40
    acked_users = [u for users, _ in acked for u in users]

    restarted = _launch(model_dir, tmp_path / "second.log", "--events-log", str(log))
    try:
        _wait_ready(restarted)
        with restarted.client() as client:
            info = client.get("/model").json()
            logged = _log_records(log)
            # Every acknowledged event is in the log and in the served state; the state
            # holds exactly the logged events (a batch cut by the kill is in neither).
            assert set(acked_users) <= {r["user"] for r in logged}
            assert info["events_seq"] == len(logged) >= max(seq for _, seq in acked)
            assert info["n_users"] == knn.n_users + len(logged)
            assert sorted(_known(client, acked_users)) == sorted(acked_users)
            # And the service goes on numbering after the replayed log.
            answer = client.post("/events", json=[{"user": "after", "item": items[0]}])
            assert answer.json()["first_seq"] == len(logged) + 1
    finally:
        _stop(restarted)


def test_a_reload_during_a_stream_loses_no_event(server, client, demo):
    acked: list = []
    failures: list = []
    stop = threading.Event()
    items = list(demo.items.ids[100:150])
    stream = threading.Thread(target=_stream, args=(server.url, "r-", items, acked, stop,
                                                    failures))
    stream.start()
    try:
        # Reload only while the stream is flowing: on a busy machine the first batch can come
        # after three quick reloads, and then the test would check nothing.
        deadline = time.monotonic() + 60
        while not acked and not failures and time.monotonic() < deadline:
            time.sleep(0.01)
        reloads = 0
        while reloads < 3 and time.monotonic() < deadline:
            response = client.post("/reload")
            assert response.status_code == 200, response.text
            reloads += 1
        during = len(acked)
        while len(acked) == during and not failures and time.monotonic() < deadline:
            time.sleep(0.01)  # at least one batch acknowledged after the last reload
    finally:
        stop.set()
        stream.join(timeout=30)
    assert not failures and acked and reloads == 3
    acked_users = [u for users, _ in acked for u in users]
    assert sorted(_known(client, acked_users)) == sorted(acked_users)
    assert client.get("/model").json()["events_seq"] == max(seq for _, seq in acked)
    assert np.all(np.diff([seq for _, seq in acked]) > 0)


def _frame(records: list[dict]) -> pd.DataFrame:
    return pd.DataFrame({"user_id": [r["user"] for r in records],
                         "item_id": [r["item"] for r in records],
                         "weight": [r["weight"] for r in records]})


def test_a_retrained_model_reloads_with_only_later_events_replayed(server, client, demo):
    log = server.model_dir.parent.parent / "events.log"
    items = list(demo.items.ids[200:210])
    assert client.post("/events", json=[{"user": "ra", "item": i} for i in items[:3]]
                       ).status_code == 200
    output = server.model_dir.parent / "v2"
    assert cli_main(["retrain", str(server.model_dir), "--events", str(log),
                     "--output", str(output)]) == 0
    retrained_seq = json.loads((output / "manifest.json").read_text())["events"]["seq"]
    later = client.post("/events", json=[{"user": "rb", "item": i} for i in items[3:6]])
    assert later.status_code == 200 and later.json()["first_seq"] == retrained_seq + 1

    answer = client.post("/reload", json={"path": "v2"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["events_seq"] == later.json()["last_seq"]
    # Served = the retrained model plus the events after its snapshot point, once each.
    expected = rs.load(output).update(_frame(_log_records(log)[retrained_seq:]))
    for user in ("ra", "rb", demo.users.ids[3]):
        served = client.post("/recommend", json={"user": user, "k": 10}).json()["items"]
        want = expected.recommend(user, k=10)
        assert [e["item"] for e in served] == want[user]
        np.testing.assert_allclose([e["score"] for e in served], want.scores[0], rtol=1e-6)
    assert client.get("/model").json()["n_users"] == expected.n_users


def test_a_new_item_posted_as_events_becomes_recommendable_with_als(demo, tmp_path):
    als = rs.ALS(factors=16, iterations=5, seed=0).fit(demo)
    model_dir = rs.save(als, tmp_path / "models" / "als")
    server = _launch(model_dir, tmp_path / "server.log", "--events-log",
                     str(tmp_path / "events.log"))
    try:
        _wait_ready(server)
        with server.client() as client:
            # The users of the most popular item; 30 of them take a new item.
            anchor = int(np.argmax(als.item_popularity_))
            fans = demo.users.ids[demo.matrix[:, anchor].nonzero()[0]].tolist()
            target = fans[40]
            posted = [{"user": u, "item": "brand-new"} for u in fans[:30]]
            assert client.post("/events", json=posted).status_code == 200
            expected = rs.load(model_dir).update(_frame(_log_records(tmp_path / "events.log")))
            after = client.post("/recommend", json={"user": target, "k": 5,
                                                    "items": ["brand-new"]}).json()["items"]
            assert [e["item"] for e in after] == ["brand-new"]
            assert np.isfinite(after[0]["score"]) and after[0]["score"] != 0
            want = expected.recommend(target, k=10)
            served = client.post("/recommend", json={"user": target, "k": 10}).json()
            assert [e["item"] for e in served["items"]] == want[target]
            assert client.get("/model").json()["n_items"] == als.n_items + 1
    finally:
        _stop(server)


def test_a_new_item_posted_with_features_is_recommended_by_content_based(tmp_path):
    """POST /items on a ContentBased service: the new item, given the features of the most
    popular item, scores for every user exactly as that item does (what add_items does in
    process), and a restarted service replays it from the log."""
    data = rs.datasets.demo()
    model = rs.ContentBased().fit(data)
    anchor = str(model.items_.ids[int(np.argmax(model.item_popularity_))])
    row = data.items.loc[anchor]
    features = {"category": row["category"], "brand": row["brand"],
                "price": float(row["price"])}
    model_dir = rs.save(model, tmp_path / "models" / "content")
    log = tmp_path / "events.log"
    users = [str(u) for u in data.interactions.users.ids[:5]]

    def scores(client) -> list[dict]:
        answer = client.post("/recommend", json={"users": users, "k": 2, "exclude_seen": False,
                                                 "items": [anchor, "fresh"]}).json()
        return [{e["item"]: e["score"] for e in r["items"]} for r in answer["results"]]

    for restart in (False, True):
        server = _launch(model_dir, tmp_path / "server.log", "--events-log", str(log))
        try:
            _wait_ready(server)
            with server.client() as client:
                if not restart:
                    assert client.post("/items", json=[{"item": "fresh",
                                                        "features": features}]).status_code == 200
                assert client.get("/model").json()["n_items"] == model.n_items + 1
                for per_user in scores(client):
                    assert set(per_user) == {anchor, "fresh"}
                    assert per_user["fresh"] == pytest.approx(per_user[anchor], rel=1e-5)
                similar = client.post("/similar-items", json={"item": "fresh", "k": 1}).json()
                assert [e["item"] for e in similar["items"]] == [anchor]
        finally:
            _stop(server)
