"""Hostile clients against a real ``recsys serve`` (loopback): small requests that would cost a
lot, huge ids, stalled connections, duplicate keys, bad reload paths. Each probe asserts the
exact answer, that the server stays up and keeps serving the same model, and that its log
stays small and free of tracebacks."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

httpx = pytest.importorskip("httpx")
pytest.importorskip("fastapi")

import recsys as rs  # noqa: E402
from recsys.errors import ConfigError  # noqa: E402
from tests.serving.test_app import Server, _free_port, _stop, _wait_ready  # noqa: E402

KEY = "hostile-test-key"
TIMEOUT = 1.0  # header and body read timeouts of the server under test, in seconds


@pytest.fixture(scope="module")
def ml100k(ml100k_dir) -> rs.Interactions:
    return rs.datasets.movielens_100k(ml100k_dir, show_progress=False).interactions


@pytest.fixture(scope="module")
def server(ml100k, tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    rs.save(rs.ItemKNN(k=50).fit(ml100k), root / "models" / "knn")
    rs.save(rs.Popularity().fit(ml100k), root / "models" / "pop")
    launched = _launch(root / "models" / "knn", root / "server.log", "--max-results", "5000",
                       "--header-timeout", str(TIMEOUT), "--body-timeout", str(TIMEOUT),
                       api_key=KEY)
    try:
        _wait_ready(launched)
        yield launched
    finally:
        _stop(launched)


def _launch(model_dir: Path, log: Path, *args: str, api_key: str | None) -> Server:
    env = {k: v for k, v in os.environ.items() if k != "RECSYS_API_KEY"}
    if api_key is not None:
        env["RECSYS_API_KEY"] = api_key
    port = _free_port()
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "recsys", "serve", str(model_dir), "--port", str(port),
             *args], stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    return Server(process, f"http://127.0.0.1:{port}", log, model_dir)


@pytest.fixture()
def client(server):
    with server.client(headers={"X-API-Key": KEY}) as client:
        yield client


def _still_serving(client, server) -> None:
    assert server.process.poll() is None
    assert client.get("/model").json()["class"] == "ItemKNN"
    assert client.post("/recommend", json={"user": 1, "k": 3}).status_code == 200


def test_results_per_request_are_capped(client, server, ml100k):
    users = ml100k.users.ids[:1000].tolist()
    response = client.post("/recommend", json={"users": users, "k": 1000})
    assert response.status_code == 422
    assert "943 queries x k=1000" in response.json()["detail"]
    assert len(response.content) < 1000
    response = client.post("/recommend", json={"users": users[:500], "k": 10})
    assert response.status_code == 200 and len(response.json()["results"]) == 500
    assert client.post("/similar-items", json={"items": users[:10], "k": 501}).status_code == 422
    _still_serving(client, server)


def test_huge_unknown_ids_are_echoed_and_logged_cut(client, server):
    log_before = server.log.stat().st_size
    ghost = "g" * 3_000_000
    response = client.post("/recommend", json={"user": ghost, "k": 3})
    assert response.status_code == 404
    assert len(response.content) < 1000
    assert response.json()["ids"] == ["g" * 64 + "... (3000000 characters)"]
    many = client.post("/recommend", json={"users": [f"x{i}" for i in range(900)], "k": 1})
    assert many.status_code == 404 and len(many.json()["ids"]) == 5
    assert "900 unknown" in many.json()["detail"]
    strict = client.post("/recommend", json={"user": 1, "history": [ghost], "strict": True})
    assert strict.status_code == 422 and len(strict.content) < 1000
    assert server.log.stat().st_size - log_before < 10_000
    _still_serving(client, server)


def _raw(server: Server) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=30)


def _closed_within(sock: socket.socket, seconds: float) -> bytes:
    """What the server sends before closing the connection (b"" for nothing)."""
    sock.settimeout(seconds)
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def test_silent_and_half_sent_request_heads_are_cut_off(server, client):
    with _raw(server) as silent, _raw(server) as partial:
        partial.sendall(b"POST /recommend HTTP/1.1\r\nHost: x\r\nX-Api")
        assert _closed_within(silent, 20 * TIMEOUT) == b""
        assert _closed_within(partial, 20 * TIMEOUT) == b""
    _still_serving(client, server)


def test_a_body_that_stops_arriving_is_answered_408(server, client):
    with _raw(server) as sock:
        sock.sendall(b"POST /recommend HTTP/1.1\r\nHost: x\r\nContent-Type: application/json"
                     b"\r\nX-API-Key: " + KEY.encode() + b"\r\nContent-Length: 100\r\n\r\n"
                     b'{"user": 1,')
        answer = _closed_within(sock, 20 * TIMEOUT)
    assert answer.startswith(b"HTTP/1.1 408")
    _still_serving(client, server)


@pytest.mark.parametrize(("keys", "status"), [
    ([KEY, "wrong"], 403), (["wrong", KEY], 403), ([KEY, KEY], 200), (["", KEY], 403)])
def test_every_copy_of_a_duplicated_key_header_must_match(server, keys, status):
    headers = [("X-API-Key", key) for key in keys]
    response = httpx.get(server.url + "/model", headers=headers)
    assert response.status_code == status


@pytest.mark.parametrize(("path", "status"), [
    ("knn\0../../etc", 422), ("x" * 5000, 422), ("y" * 300, 422), ("/etc", 403),
    ("../..", 403), ("missing", 422), ("", 422)])
def test_bad_reload_paths_keep_the_model_and_show_no_host_path(client, server, path, status):
    before = client.get("/model").json()
    response = client.post("/reload", json={"path": path})
    assert response.status_code == status, response.text
    text = response.text
    assert str(server.model_dir.parent) not in text and "Traceback" not in text
    assert client.get("/model").json()["version"] == before["version"]
    assert "Traceback" not in server.log.read_text()
    _still_serving(client, server)


def test_model_and_reload_answers_name_no_host_path(client, server):
    described = client.get("/model").json()
    assert described["path"] == "knn"
    reloaded = client.post("/reload", json={"path": "pop"})
    assert reloaded.status_code == 200 and reloaded.json()["path"] == "pop"
    assert str(server.model_dir.parent) not in reloaded.text
    # A reload without a path always reads the directory given at start-up.
    back = client.post("/reload")
    assert back.status_code == 200 and back.json()["class"] == "ItemKNN"


def test_malformed_bodies_are_422_not_500(client, server):
    for body in (b"[" * 100_000, b"\xff\xfe{", b'{"user": 1, "k": 1e400}', b'{"user": 1.0}',
                 b'{"user": 1, "k": 100000000000000000000000000000}', b"{}" * 1000):
        response = client.post("/recommend", content=body,
                               headers={"Content-Type": "application/json"})
        assert response.status_code == 422, body[:20]
        assert len(response.content) < 5000
    _still_serving(client, server)


def test_an_empty_key_is_refused_at_start(ml100k, server, tmp_path):
    process = _launch(server.model_dir, tmp_path / "empty.log", api_key="").process
    assert process.wait(timeout=120) == 2
    assert "the API key is empty" in (tmp_path / "empty.log").read_text()


def test_an_open_host_without_a_key_is_announced(caplog):
    from recsys.serving.server import warn_if_open

    with caplog.at_level(logging.WARNING, logger="recsys"):
        warn_if_open("0.0.0.0", None)
        warn_if_open("127.0.0.1", None)
        warn_if_open("::1", None)
        warn_if_open("0.0.0.0", "key")
    assert [r.getMessage()[:34] for r in caplog.records] == ["serving on 0.0.0.0 without an API "]


def test_models_root_is_never_slash(tmp_path):
    from recsys.serving.routes import models_root

    assert models_root(None, Path("/model")) is None  # reload by path off
    assert models_root(None, tmp_path / "m") == tmp_path.resolve()
    with pytest.raises(ConfigError, match="must not be '/'"):
        models_root("/", tmp_path / "m")


def test_two_workers_both_start_and_stay(server, tmp_path):
    launched = _launch(server.model_dir, tmp_path / "workers.log", "--workers", "2",
                       api_key=KEY)
    try:
        _wait_ready(launched)
        deadline = time.monotonic() + 120
        while launched.log.read_text().count("Application startup complete") < 2:
            assert time.monotonic() < deadline, launched.log.read_text()
            time.sleep(0.2)
        log = launched.log.read_text()
        assert "died" not in log and "Traceback" not in log, log
        assert launched.process.poll() is None
    finally:
        _stop(launched)
