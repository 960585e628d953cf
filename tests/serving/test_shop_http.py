"""A shop's service, run for real: two models with a traffic split (ALS with an exact index
and with HNSW) behind ``python -m recsys serve --model ... --split ...``, called over HTTP:
stable arms across a restart, where filters under both indexes, item rules updated without a
refit, explanations, and hostile bodies."""

from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

import recsys as rs  # noqa: E402
from tests.serving.test_app import Server, _free_port, _wait_ready  # noqa: E402

SPLIT = {"exact": 70, "hnsw": 30}
# The per-model ranking histogram of /metrics (its _seconds unit is Prometheus naming).
RANKING_HISTOGRAM = "recsys_model_ranking_seconds"


def _serve(dirs: dict, log) -> Server:
    port = _free_port()
    args = [a for name, path in dirs.items() for a in ("--model", f"{name}={path}")]
    split = ",".join(f"{name}:{share}" for name, share in SPLIT.items())
    env = {k: v for k, v in os.environ.items() if k != "RECSYS_API_KEY"}
    with open(log, "ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "recsys", "serve", *args, "--split", split, "--port",
             str(port)], stdout=out, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)
    server = Server(process, f"http://127.0.0.1:{port}", log, next(iter(dirs.values())))
    _wait_ready(server)
    return server


def _kill(server: Server) -> None:
    os.killpg(server.process.pid, signal.SIGKILL)
    server.process.wait()


def _arm(user: str) -> str:
    """The documented assignment, computed here from its definition."""
    digest = hashlib.blake2b(b"s:" + user.encode(), digest_size=8, key=b"recsys").digest()
    share = int.from_bytes(digest, "big") / 2**64
    return "exact" if share < 0.7 else "hnsw"


@pytest.fixture(scope="module")
def shop(tmp_path_factory) -> Iterator[dict]:
    inter = rs.datasets.demo().interactions
    items = inter.items.ids
    rng = np.random.default_rng(0)
    attributes = pd.DataFrame({
        "in_stock": rng.random(len(items)) < 0.5,
        "price": rng.integers(1, 1000, len(items)).astype(float),
        "category": rng.choice(["phones", "covers", "tv"], len(items)),
    }, index=items)
    models = {}
    root = tmp_path_factory.mktemp("shop")
    for name, index in (("exact", "exact"), ("hnsw", "hnsw")):
        model = rs.ALS(factors=16, iterations=3, threads=1, index=index, seed=0).fit(inter)
        model.set_item_attributes(attributes)
        model.item_sets["cheap"] = items[attributes["price"].to_numpy() < 100]
        models[name] = model
    dirs = {name: rs.save(model, root / name) for name, model in models.items()}
    state = {"server": _serve(dirs, root / "server.log"), "models": models, "dirs": dirs,
             "inter": inter, "attributes": attributes, "root": root}
    try:
        yield state
    finally:
        _kill(state["server"])  # the one running now (a test restarts it)


@pytest.fixture()
def client(shop) -> Iterator[httpx.Client]:
    with shop["server"].client() as client:
        yield client


def _arms_of(client, users) -> dict:
    arms = {}
    for start in range(0, len(users), 500):  # the service takes 1,000 users per request
        body = client.post("/recommend", json={"users": users[start:start + 500], "k": 3,
                                               "on_unknown": "fallback"}).json()
        arms.update({r["user"]: r["model"] for r in body["results"]})
    return arms


def test_both_arms_answer_with_stable_assignment_across_a_restart(shop, client):
    users = [f"visitor-{i}" for i in range(1000)] + shop["inter"].users.ids[:200].tolist()
    before = _arms_of(client, users)
    assert before == {u: _arm(u) for u in users}
    share = np.mean([before[u] == "hnsw" for u in users])
    assert abs(share - 0.3) < 0.05  # 1,200 users: 4 standard deviations
    # A fresh process (kill -9, start again) puts every user in the same arm.
    _kill(shop["server"])
    shop["server"] = _serve(shop["dirs"], shop["root"] / "server.log")
    with shop["server"].client() as fresh:
        assert _arms_of(fresh, users) == before


def test_answers_say_model_and_source_and_match_each_model(shop, client):
    user = next(u for u in shop["inter"].users.ids.tolist() if _arm(u) == "hnsw")
    for name in ("exact", "hnsw", None):
        body = client.post("/recommend", json={"user": user, "k": 5, **(
            {"model": name} if name else {})}).json()
        model = name or "hnsw"
        assert body["model"] == model and body["source"] == "model"
        assert [e["item"] for e in body["items"]] == shop["models"][model].recommend(
            [user], k=5)[user]
    unknown = client.post("/recommend", json={"user": "nobody", "k": 3,
                                              "on_unknown": "fallback"}).json()
    assert unknown["source"] == "fallback"
    from prometheus_client.parser import text_string_to_metric_families  # serve extra

    metrics = client.get("/metrics").text
    assert 'recsys_model_answers_total{model="hnsw",source="model"}' in metrics
    # The ranking histogram carries the model label (a label check: no duration is read).
    labelled = {sample.labels.get("model") for family in text_string_to_metric_families(metrics)
                if family.name == RANKING_HISTOGRAM for sample in family.samples}
    assert {"exact", "hnsw"} <= labelled


@pytest.mark.parametrize("where", [
    {"in_stock": True},
    {"category": {"in": ["phones", "tv"]}, "price": {"lt": 500}},
    {"or": [{"set": "cheap"}, {"not": {"in_stock": True}}]},
])
def test_where_never_returns_an_excluded_item_under_either_index(shop, client, where):
    attributes = shop["attributes"]
    users = shop["inter"].users.ids[:300].tolist()
    model = shop["models"]["exact"]
    allowed = set(attributes.index[rs.data.attributes.compile_filter(
        where, attributes, {"cheap": np.isin(attributes.index, model.item_sets["cheap"])})])
    for name in ("exact", "hnsw"):
        body = client.post("/recommend", json={"users": users, "k": 20, "where": where,
                                               "model": name}).json()
        shown = [e["item"] for r in body["results"] for e in r["items"]]
        assert shown and set(shown) <= allowed, name


def test_put_attributes_then_filter_reflects_it_and_bad_rows_change_nothing(shop, client):
    user = shop["inter"].users.ids[0]
    ask = {"user": user, "k": 10, "where": {"in_stock": True}, "model": "exact"}
    first = [e["item"] for e in client.post("/recommend", json=ask).json()["items"]]
    gone = first[:3]
    answer = client.put("/items/attributes", json={"rows": [
        {"item": item, "in_stock": False} for item in gone] + [{"item": "brand-new",
                                                                "price": 5}]})
    assert answer.status_code == 200 and answer.json()["unknown_items"] == 1
    after = [e["item"] for e in client.post("/recommend", json=ask).json()["items"]]
    assert not set(gone) & set(after) and after[:7] == first[3:10]
    # A bad value in the last row: 422 naming it, and nothing of the request applied.
    bad = client.put("/items/attributes", json={"rows": [
        {"item": after[0], "in_stock": False}, {"item": after[1], "price": "cheap"}]})
    assert bad.status_code == 422 and "rows[1].price" in bad.json()["detail"]
    assert [e["item"] for e in client.post("/recommend", json=ask).json()["items"]] == after
    # A named set, sent once, then used by name.
    assert client.put("/item-sets/promo", json={"items": after[5:8]}).status_code == 200
    promo = client.post("/recommend", json={**ask, "where": {"set": "promo"}}).json()
    assert {e["item"] for e in promo["items"]} == set(after[5:8])


def test_explain_gives_shares_that_sum_to_one(shop, client):
    user = shop["inter"].users.ids[3]
    body = client.post("/recommend", json={"user": user, "k": 3, "explain": True,
                                           "model": "exact"}).json()
    model = shop["models"]["exact"]
    for entry in body["items"]:
        parts = model.explain(user, entry["item"], n=3)
        assert [p["name"] for p in entry["because"]] == parts["name"].tolist()
        assert np.allclose([p["share"] for p in entry["because"]], parts["share"])


@pytest.mark.parametrize("payload, named", [
    ({"where": {"colour": "red"}}, "where.colour"),
    ({"where": {"price": {"lt": "cheap"}}}, "where.price.lt"),
    ({"where": {"in_stock": {"in": [True, 3]}}}, "where.in_stock.in[1]"),
    ({"where": {"price": {"between": [1, 2]}}}, "between"),
    ({"where": {"set": "no-such-set"}}, "no-such-set"),
    ({"where": {"category": {"in": ["x"] * 100_001}}}, "at most 100000"),
    ({"diversify": {"by": "colour"}}, "colour"),
    ({"diversify": {"max_per": {"brand": 0}}}, "max_per"),
    ({"explain": "yes"}, "explain"),
    ({"model": "c"}, "model"),
])
def test_hostile_bodies_are_422_naming_the_field(shop, client, payload, named):
    response = client.post("/recommend", json={"user": shop["inter"].users.ids[0], "k": 5,
                                               "model": "exact", **payload})
    assert response.status_code == 422, response.text
    assert named in response.text


def test_deep_nesting_and_non_json_are_422(shop, client):
    nested: dict = {"in_stock": True}
    for _ in range(40):
        nested = {"not": nested}
    user = shop["inter"].users.ids[0]
    deep = client.post("/recommend", json={"user": user, "where": nested})
    assert deep.status_code == 422 and "too large" in deep.json()["detail"]
    raw = client.post("/recommend", content=b'{"user": "u1", "where": {',
                      headers={"content-type": "application/json"})
    assert raw.status_code == 422 and "JSON" in raw.text
    rows = client.put("/items/attributes", json={"rows": [{"price": 3}]})
    assert rows.status_code == 422 and "rows[0]" in rows.json()["detail"]
