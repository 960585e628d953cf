"""The HTTP service, run for real: ``python -m recsys serve`` in subprocesses, called over HTTP.

Two servers start at once (their start-up is mostly imports, so they overlap): the main one
(ItemKNN on the demo data, with an API key) and one whose model is swapped by the tests (integer
ids, then the hot reload under load). Every answer is checked against the same model in this
process. The multi-worker settings are checked in process, where they cost no extra servers.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import numpy as np
import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

import recsys as rs  # noqa: E402
from recsys.cli import main as cli_main  # noqa: E402

API_KEY = "s3cret-key"
START_TIMEOUT = 90.0


# ----------------------------------------------------------------------------- servers


@dataclass
class Server:
    process: subprocess.Popen
    url: str
    log: Path
    model_dir: Path

    def client(self, **kwargs) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=30.0, **kwargs)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _launch(model_dir: Path, log: Path, *args: str, api_key: str | None = None) -> Server:
    env = {k: v for k, v in os.environ.items() if k != "RECSYS_API_KEY"}
    if api_key is not None:
        env["RECSYS_API_KEY"] = api_key
    port = _free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "recsys", "serve", str(model_dir), "--port", str(port), *args],
            stdout=out, stderr=subprocess.STDOUT, env=env,
            start_new_session=True)  # its own process group: workers are stopped with it
    return Server(process, f"http://127.0.0.1:{port}", log, model_dir)


def _wait_ready(server: Server) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            pytest.fail(f"server exited with {server.process.returncode}:\n"
                        f"{server.log.read_text()}")
        try:
            if httpx.get(server.url + "/health", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    pytest.fail(f"server not up after {START_TIMEOUT} s:\n{server.log.read_text()}")


def _stop(server: Server) -> None:
    if server.process.poll() is None:
        os.killpg(server.process.pid, signal.SIGTERM)
        try:
            server.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait()


@dataclass
class Models:
    knn: rs.Recommender
    pop: rs.Recommender
    ints: rs.Recommender


@pytest.fixture(scope="module")
def models() -> Models:
    inter = rs.datasets.demo().interactions
    # Integer ids, one beyond int64, so that the JSON types are really exercised.
    users = [1, 1, 2, 2, 3, 3, 4, 2**70]
    items = [10, 20, 10, 30, 20, 30, 40, 10]
    return Models(rs.ItemKNN().fit(inter), rs.Popularity().fit(inter),
                  rs.ItemKNN(k=5).fit(rs.Interactions.from_arrays(users, items)))


@pytest.fixture(scope="module")
def servers(models: Models, tmp_path_factory) -> Iterator[dict[str, Server]]:
    root = tmp_path_factory.mktemp("serving")
    for name in ("main", "reload"):
        (root / name).mkdir()
    rs.save(models.knn, root / "main" / "knn")
    rs.save(models.knn, root / "reload" / "knn")
    rs.save(models.pop, root / "reload" / "pop")
    rs.save(models.ints, root / "reload" / "ints")
    launched = {}
    try:
        launched["main"] = _launch(root / "main" / "knn", root / "main.log", api_key=API_KEY)
        launched["reload"] = _launch(root / "reload" / "knn", root / "reload.log")
        for server in launched.values():
            _wait_ready(server)
        yield launched
    finally:
        for server in launched.values():
            _stop(server)


@pytest.fixture()
def main(servers) -> Iterator[httpx.Client]:
    with servers["main"].client(headers={"X-API-Key": API_KEY}) as client:
        yield client


# ----------------------------------------------------------------------------- expectations


def ranked(pairs: list[tuple]) -> list[dict]:
    return [{"item": item, "score": score} for item, score in pairs]


def expected_users(model: rs.Recommender, users: list, **kwargs) -> list[dict]:
    recs = model.recommend(users, **kwargs)
    # Users the model knows, or folds in from a history, are ranked by the model.
    sources = ["fallback" if user not in model.users_ and user not in kwargs.get("history", {})
               else "model" for user in recs.keys.tolist()]
    return [{"user": user, "source": source, "items": ranked(recs.to_dict()[user])}
            for user, source in zip(recs.keys.tolist(), sources, strict=True)]


def assert_no_traceback(response: httpx.Response) -> None:
    text = response.text
    assert "Traceback" not in text and 'File "' not in text, text
    assert isinstance(response.json()["detail"], str)


# ----------------------------------------------------------------------------- endpoints


def test_health_and_model(main, models):
    assert main.get("/health").json() == {"status": "ok"}
    response = main.get("/model")
    info = response.json()
    assert info["class"] == "ItemKNN" and info["params"] == models.knn.get_params()
    assert (info["n_users"], info["n_items"]) == (models.knn.n_users, models.knn.n_items)
    assert info["version"] == response.headers["X-Model-Version"] and len(info["version"]) == 16
    assert info["recsys_version"] == rs.__version__
    assert datetime.fromisoformat(info["loaded_at"]).tzinfo is not None


def test_recommend_one_user(main, models):
    user = models.knn.users_.ids[0]
    body = main.post("/recommend", json={"user": user, "k": 10}).json()
    assert list(body) == ["user", "source", "items"] and body["user"] == user
    assert len(body["items"]) == 10 and all(set(e) == {"item", "score"} for e in body["items"])
    assert body == expected_users(models.knn, [user], k=10)[0]
    scores = [e["score"] for e in body["items"]]
    assert scores == sorted(scores, reverse=True)


def test_recommend_many_users_keeps_their_order(main, models):
    users = models.knn.users_.ids[[5, 1, 3]].tolist()
    body = main.post("/recommend", json={"users": users, "k": 4}).json()
    assert list(body) == ["results"]
    assert [r["user"] for r in body["results"]] == users
    assert body["results"] == expected_users(models.knn, users, k=4)


def test_recommend_filters_policies_and_history(main, models):
    knn = models.knn
    user, other = knn.users_.ids[:2].tolist()
    allowed, denied = knn.items_.ids[:50].tolist(), knn.items_.ids[:10].tolist()
    cases = [
        ({"user": user, "k": 5, "items": allowed, "exclude": denied},
         {"k": 5, "items": allowed, "exclude": denied}),
        ({"user": user, "k": 5, "exclude_seen": False}, {"k": 5, "exclude_seen": False}),
        ({"users": [user, "nobody"], "k": 3, "on_unknown": "fallback"},
         {"k": 3, "on_unknown": "fallback"}),
        ({"users": [user, "nobody"], "k": 3, "on_unknown": "skip"},
         {"k": 3, "on_unknown": "skip"}),
    ]
    for request, kwargs in cases:
        users = request.get("users", [request.get("user")])
        body = main.post("/recommend", json=request).json()
        want = expected_users(knn, users, **kwargs)
        assert body == ({"results": want} if "users" in request else want[0]), request
    # Fold-in of a user the model has never seen: a list for one user, an object for several.
    basket = knn.items_.ids[[3, 7, 11]].tolist()
    single = main.post("/recommend", json={"user": "newcomer", "k": 5, "history": basket})
    assert single.json() == expected_users(knn, ["newcomer"], k=5,
                                           history={"newcomer": basket})[0]
    several = main.post("/recommend", json={"users": ["newcomer", other], "k": 5,
                                            "history": {"newcomer": basket}})
    assert several.json()["results"] == expected_users(knn, ["newcomer", other], k=5,
                                                       history={"newcomer": basket})
    stranger = main.post("/recommend", json={"users": [user], "history": {"ghost": basket}})
    assert stranger.status_code == 422 and "ghost" in stranger.json()["detail"]


def test_similar_items_and_basket(main, models):
    knn = models.knn
    item, other = knn.items_.ids[:2].tolist()
    body = main.post("/similar-items", json={"item": item, "k": 5}).json()
    assert body == {"item": item, "items": ranked(knn.similar_items([item], k=5).to_dict()[item])}
    many = main.post("/similar-items", json={"items": [item, other], "k": 3}).json()
    want = knn.similar_items([item, other], k=3).to_dict()
    assert many == {"results": [{"item": i, "items": ranked(want[i])} for i in (item, other)]}
    cart = knn.items_.ids[[4, 9]].tolist()
    basket = main.post("/basket", json={"items": cart, "k": 5}).json()
    assert basket == {"items": ranked(knn.recommend_for_basket(cart, k=5).to_dict()[0])}
    missing = main.post("/similar-items", json={"item": "no-such-item"})
    assert missing.status_code == 404 and "no-such-item" in missing.json()["detail"]


def test_unknown_user_is_404_naming_the_id(main):
    response = main.post("/recommend", json={"users": ["u0001", "ghost-42"], "k": 3})
    assert response.status_code == 404
    assert "ghost-42" in response.json()["detail"] and response.json()["ids"] == ["ghost-42"]
    assert_no_traceback(response)


def test_openapi_documents_the_request_bodies(main):
    paths = main.get("/openapi.json").json()["paths"]
    for path, field in (("/recommend", "users"), ("/similar-items", "item"),
                        ("/basket", "items")):
        body = paths[path]["post"]["requestBody"]["content"]["application/json"]["schema"]
        assert field in body["properties"] and "k" in body["properties"], path


def test_strict_unknown_history_items_are_422_naming_them(main):
    body = {"user": "newcomer", "history": ["i0001", "no-such-item"], "k": 3}
    lenient = main.post("/recommend", json=body)
    assert lenient.status_code == 200 and len(lenient.json()["items"]) == 3
    strict = main.post("/recommend", json={**body, "strict": True})
    assert strict.status_code == 422
    assert strict.json()["ids"] == ["no-such-item"] and "no-such-item" in strict.json()["detail"]
    basket = main.post("/basket", json={"items": ["i0001", "ghost"], "k": 3, "strict": True})
    assert basket.status_code == 422 and basket.json()["ids"] == ["ghost"]
    assert_no_traceback(strict)


@pytest.mark.parametrize("payload", [
    {"user": "u0001", "k": 0},
    {"user": "u0001", "k": 1001},
    {"user": "u0001", "k": 2.5},
    {"user": "u0001", "k": "5"},
    {"user": 1.5},
    {"user": True},
    {"k": 5},
    {"user": "u0001", "users": ["u0002"]},
    {"user": "u0001", "typo": 1},
    {"user": "u0001", "on_unknown": "ignore"},
    {"users": ["u0001"], "history": ["i0001"]},
    {"users": [f"u{i}" for i in range(1001)]},
    {"user": "u0001", "items": list(range(1001))},
    {"user": "u0001", "history": {str(i): [] for i in range(1001)}},
], ids=lambda p: json.dumps(p)[:40])
def test_invalid_requests_are_422(main, payload):
    response = main.post("/recommend", json=payload)
    assert response.status_code == 422, response.text
    assert_no_traceback(response)


def test_malformed_json_and_wrong_content_type_are_422(main):
    for content, headers in [
        (b'{"user": "u0001", "k": ', {"Content-Type": "application/json"}),
        (b"\xff\xfe", {"Content-Type": "application/json"}),
        (b"[1, 2]", {"Content-Type": "application/json"}),
        (b'{"user": "u0001"}', {"Content-Type": "application/x-www-form-urlencoded"}),
    ]:
        response = main.post("/recommend", content=content, headers=headers)
        assert response.status_code == 422, (content, response.text)
        assert_no_traceback(response)
    assert "application/json" in response.json()["detail"]
    too_large = main.post("/recommend", content=b" " * (5 << 20),
                          headers={"Content-Type": "application/json"})
    assert too_large.status_code == 413


def test_similar_items_and_basket_validate_too(main):
    for path, payload in [("/similar-items", {"k": 3}), ("/similar-items", {"item": "a", "k": 0}),
                          ("/basket", {"k": 3}), ("/basket", {"items": ["a"], "k": 1001})]:
        response = main.post(path, json=payload)
        assert response.status_code == 422, (path, payload)
        assert_no_traceback(response)


def test_empty_allow_list_gives_empty_lists(main):
    for path, payload in [("/recommend", {"user": "u0001", "items": []}),
                          ("/similar-items", {"item": "i0001", "candidates": []}),
                          ("/basket", {"items": ["i0001"], "candidates": []})]:
        response = main.post(path, json=payload)
        assert response.status_code == 200, (path, response.text)
        assert response.json()["items"] == []


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_internal_errors_are_500_without_details(models, tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from recsys.serving.app import create_app

    monkeypatch.delenv("RECSYS_API_KEY", raising=False)
    app = create_app(rs.save(models.pop, tmp_path / "pop"))
    model = app.state.holder.current.model

    def explode(*args, **kwargs):
        raise RuntimeError("secret internals at /srv/x.py")

    monkeypatch.setattr(model, "recommend", explode)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.post("/recommend", json={"user": "u0001"})
        assert response.status_code == 500
        assert "secret" not in response.text and "RuntimeError" not in response.text
        assert_no_traceback(response)
        assert 'status="500"' in client.get("/metrics").text


def test_reload_refuses_bad_models_and_keeps_serving(main, servers, tmp_path):
    before = main.get("/model").json()["version"]
    root = servers["main"].model_dir.parent
    broken = root / "broken"
    shutil.copytree(servers["main"].model_dir, broken)
    victim = next(p for p in sorted(broken.iterdir()) if p.suffix == ".npz")
    data = bytearray(victim.read_bytes())
    data[-100] ^= 0xFF
    victim.write_bytes(bytes(data))
    failures = [
        ({"path": str(tmp_path)}, 403, "must lie under"),  # outside the reload root
        ({"path": "../../etc"}, 403, "must lie under"),
        ({"path": str(root / "missing")}, 422, "is not a saved model"),
        ({"path": "broken"}, 422, victim.name),  # relative to the root; names the bad file
    ]
    for payload, status, words in failures:
        response = main.post("/reload", json=payload)
        assert response.status_code == status and words in response.json()["detail"], payload
        assert_no_traceback(response)
    assert main.get("/model").json()["version"] == before
    assert main.post("/recommend", json={"user": "u0001", "k": 1}).status_code == 200


def test_metrics_count_requests_errors_and_latency(main):
    def samples() -> dict:
        text = main.get("/metrics").text
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(text) for s in family.samples}

    before = samples()
    for _ in range(3):
        main.post("/recommend", json={"user": "u0001", "k": 2})
    main.post("/recommend", json={"user": "u0001", "k": 0})
    after = samples()
    ok = ("recsys_http_requests_total",
          (("endpoint", "/recommend"), ("method", "POST"), ("status", "200")))
    assert after[ok] - before.get(ok, 0) == 3
    bad = ("recsys_http_errors_total", (("endpoint", "/recommend"), ("status", "422")))
    assert after[bad] - before.get(bad, 0) == 1
    count = ("recsys_http_request_duration_seconds_count", (("endpoint", "/recommend"),))
    assert after[count] - before.get(count, 0) == 4
    histogram = "recsys_http_request_duration_seconds_bucket"  # its buckets exist: no timing
    buckets = [dict(labels) for name, labels in after if name == histogram]
    assert any(labels.get("le") == "0.005" for labels in buckets)
    assert any(name == "recsys_model_info" and dict(labels)["model_class"] == "ItemKNN"
               for name, labels in after)
    assert main.get("/metrics").headers["content-type"].startswith("text/plain")


# ----------------------------------------------------------------------------- API key, ids


def test_api_key_is_required_except_for_health(servers):
    with servers["main"].client() as anonymous:
        assert anonymous.get("/health").status_code == 200
        for method, path, payload in [("GET", "/model", None), ("GET", "/metrics", None),
                                      ("POST", "/recommend", {"user": "u0001"}),
                                      ("POST", "/reload", None)]:
            missing = anonymous.request(method, path, json=payload)
            assert missing.status_code == 401, path
            wrong = anonymous.request(method, path, json=payload,
                                      headers={"X-API-Key": API_KEY[:-1] + "X"})
            assert wrong.status_code == 403, path
            right = anonymous.request(method, path, json=payload,
                                      headers={"X-API-Key": API_KEY})
            assert right.status_code == 200, path


def test_integer_ids_stay_integers(servers, models):
    with servers["reload"].client() as client:
        assert client.post("/reload", json={"path": "ints"}).json()["n_users"] == 5
        body = client.post("/recommend", json={"users": [1, 2**70], "k": 3}).json()
        assert body["results"] == expected_users(models.ints, [1, 2**70], k=3)
        for result in body["results"]:
            assert type(result["user"]) is int
            assert all(type(entry["item"]) is int for entry in result["items"])
        assert body["results"][1]["user"] == 2**70
        # "1" is not 1: a string never matches an integer id.
        response = client.post("/recommend", json={"user": "1"})
        assert response.status_code == 404 and "'1'" in response.json()["detail"]
        similar = client.post("/similar-items", json={"item": 10, "k": 2}).json()
        assert similar["item"] == 10 and all(type(e["item"]) is int for e in similar["items"])
        history = client.post("/recommend", json={"users": [99], "k": 2,
                                                  "history": {"99": [10]}}).json()
        assert history["results"] == expected_users(models.ints, [99], k=2, history={99: [10]})


# ----------------------------------------------------------------------------- hot reload


def test_hot_reload_under_load_never_fails_or_mixes(servers, models):
    server = servers["reload"]
    groups = [models.knn.users_.ids[i:i + 3].tolist() for i in range(0, 60, 3)]
    expected = {
        "knn": [expected_users(models.knn, users, k=10) for users in groups],
        "pop": [expected_users(models.pop, users, k=10) for users in groups],
    }
    with server.client() as admin:
        versions = {admin.post("/reload", json={"path": "knn"}).json()["version"]: "knn"}
    stop = threading.Event()
    failures: list = []
    answered: list[tuple[int, str, list]] = []
    lock = threading.Lock()

    def hammer(offset: int) -> None:
        with server.client() as client:
            n = offset
            while not stop.is_set():
                index = n % len(groups)
                n += 1
                try:
                    response = client.post("/recommend", json={"users": groups[index], "k": 10})
                except httpx.HTTPError as exc:
                    failures.append(repr(exc))
                    continue
                if response.status_code != 200:
                    failures.append((response.status_code, response.text))
                    continue
                # Checked once every version is known (a reload's answer may arrive after
                # requests already served by the new model).
                with lock:
                    answered.append((index, response.headers["X-Model-Version"],
                                     response.json()["results"]))

    threads = [threading.Thread(target=hammer, args=(i * 7,)) for i in range(4)]
    with server.client() as admin:
        for thread in threads:
            thread.start()
        try:
            for round_ in range(6):
                time.sleep(0.25)
                name = ("pop", "knn")[round_ % 2]
                response = admin.post("/reload", json={"path": name})
                assert response.status_code == 200, response.text
                versions[response.json()["version"]] = name
        finally:
            time.sleep(0.25)
            stop.set()
            for thread in threads:
                thread.join(timeout=30)
    assert not failures, failures[:5]
    answers = {"knn": 0, "pop": 0}
    for index, version, results in answered:
        matches = [name for name in expected if results == expected[name][index]]
        # Exactly one model's answer, and the one the version header names.
        assert matches == [versions[version]], (versions.get(version), matches, groups[index])
        answers[matches[0]] += 1
    assert answers["knn"] >= 5 and answers["pop"] >= 5, answers  # both really served


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_several_workers_reload_from_disk_not_by_request(models, tmp_path, monkeypatch):
    # What ``recsys serve --workers 2`` builds in each worker process (the factory), in process.
    from fastapi.testclient import TestClient

    import recsys.serving.server as server_module

    target = rs.save(models.knn, tmp_path / "model")
    monkeypatch.setattr(server_module, "limit_blas_threads", lambda: None)  # process-wide
    monkeypatch.setattr(server_module, "WATCH_SECONDS", 0.05)
    monkeypatch.setenv(server_module.MODEL_DIR_ENV, str(target))
    monkeypatch.setenv(server_module.WORKERS_ENV, "2")
    monkeypatch.delenv("RECSYS_API_KEY", raising=False)
    with TestClient(server_module.app_from_env()) as client:  # runs the lifespan: the watcher
        response = client.post("/reload")
        assert response.status_code == 409 and "2 worker processes" in response.json()["detail"]
        assert client.get("/model").json()["class"] == "ItemKNN"
        rs.save(models.pop, target)  # atomic swap of the served directory
        deadline = time.monotonic() + 20
        while client.get("/model").json()["class"] != "Popularity":
            assert time.monotonic() < deadline, "the watcher did not pick up the new model"
            time.sleep(0.05)
        user = models.pop.users_.ids[0]
        assert (client.post("/recommend", json={"user": user, "k": 3}).json()
                == expected_users(models.pop, [user], k=3)[0])


@pytest.mark.filterwarnings("ignore:Using `httpx` with `starlette.testclient`")
def test_watch_follows_a_flipped_symlink(models, tmp_path, monkeypatch):
    from fastapi.testclient import TestClient

    from recsys.serving.app import create_app

    rs.save(models.knn, tmp_path / "v1")
    rs.save(models.pop, tmp_path / "v2")
    (tmp_path / "current").symlink_to(tmp_path / "v1")
    monkeypatch.delenv("RECSYS_API_KEY", raising=False)
    with TestClient(create_app(tmp_path / "current", watch_seconds=0.05)) as client:
        assert client.get("/model").json()["class"] == "ItemKNN"
        (tmp_path / "next").symlink_to(tmp_path / "v2")
        os.replace(tmp_path / "next", tmp_path / "current")  # the classic atomic deploy
        deadline = time.monotonic() + 20
        while client.get("/model").json()["class"] != "Popularity":
            assert time.monotonic() < deadline, "the watcher did not follow the symlink"
            time.sleep(0.05)
        assert client.get("/model").json()["path"] == "current"  # no host paths


# ----------------------------------------------------------------------------- in process


def test_threads_calling_one_model_get_the_serial_answers(models, tmp_path):
    # The served case: a model loaded from disk, shared by the server's worker threads.
    served = [rs.load(rs.save(models.knn, tmp_path / "knn")), models.pop]
    if hasattr(rs, "ALS"):  # the factor family (BLAS products), once it is exported
        served.append(rs.ALS(factors=16, seed=0).fit(rs.datasets.demo().interactions))
    for model in served:
        users = model.users_.ids[:60].tolist()
        items = model.items_.ids[:30].tolist()
        calls = [("recommend", [u], {"k": 10}) for u in users]
        calls += [("recommend", users[i:i + 10], {"k": 5, "exclude": items[:5]})
                  for i in range(0, 60, 10)]
        calls += [("similar_items", [i], {"k": 5}) for i in items]
        calls += [("recommend_for_basket", items[i:i + 3], {"k": 5}) for i in range(0, 30, 3)]

        def run(call, model=model):
            name, args, kwargs = call
            recs = getattr(model, name)(args, **kwargs)
            return recs.keys.tolist(), recs.positions.copy(), recs.scores.copy()

        serial = [run(call) for call in calls]
        with ThreadPoolExecutor(max_workers=8) as pool:
            for _ in range(2):
                threaded = list(pool.map(run, calls))
                for (keys, top, values), (keys2, top2, values2) in zip(serial, threaded,
                                                                       strict=True):
                    assert keys == keys2
                    np.testing.assert_array_equal(top, top2)
                    np.testing.assert_array_equal(values, values2)


def test_serve_command_binds_loopback_by_default(monkeypatch):
    import recsys.serving.server as server_module

    calls = []
    monkeypatch.setattr(server_module, "serve",
                        lambda *args, **kwargs: calls.append((args, kwargs)))
    assert cli_main(["serve", "models/current"]) == 0
    assert calls == [(("models/current",), {"host": "127.0.0.1", "port": 8000, "workers": 1})]
    assert cli_main(["serve", "m", "--host", "0.0.0.0", "--port", "9000", "--workers", "3"]) == 0
    assert calls[-1][1] == {"host": "0.0.0.0", "port": 9000, "workers": 3}


def test_serve_command_names_a_directory_without_a_model(tmp_path, capsys):
    assert cli_main(["serve", str(tmp_path / "nothing")]) == 2
    assert "nothing is not a saved model" in capsys.readouterr().err
