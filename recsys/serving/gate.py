"""What every request passes before an endpoint: API key, body size and read time, metrics."""

from __future__ import annotations

import asyncio
import hmac
import time
from collections.abc import MutableMapping
from typing import Any

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

API_KEY_HEADER = b"x-api-key"
# Open without a key: liveness, and the API's own documentation (no model data).
OPEN_PATHS = frozenset({"/health", "/docs", "/openapi.json"})
OPEN_PREFIXES = ("/docs/",)
ENDPOINTS = ("/health", "/model", "/recommend", "/similar-items", "/basket", "/reload",
             "/metrics", "/events", "/items", "/items/attributes")
# Request latencies of a ranking service live between a fraction of a millisecond and a
# second; prometheus-client's default buckets start at 5 ms and would hide the fast path.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0)


class Metrics:
    """The service's Prometheus metrics, in a registry of their own."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter("recsys_http_requests", "HTTP requests answered",
                                ["endpoint", "method", "status"], registry=self.registry)
        self.errors = Counter("recsys_http_errors", "HTTP requests answered with 4xx or 5xx",
                              ["endpoint", "status"], registry=self.registry)
        self.latency = Histogram("recsys_http_request_duration_seconds",
                                 "Time from request to the end of the response",
                                 ["endpoint"], buckets=LATENCY_BUCKETS, registry=self.registry)
        self.reloads = Counter("recsys_model_reloads", "Model reloads by outcome", ["outcome"],
                               registry=self.registry)
        self.model = Gauge("recsys_model_info", "The served model (value 1)",
                           ["model_class", "version"], registry=self.registry)
        self.loaded_at = Gauge("recsys_model_loaded_timestamp_seconds",
                               "Unix time the served model was loaded", registry=self.registry)

    def served(self, loaded: Any) -> None:
        """Count a reload: ``loaded`` is the new model, None when loading failed."""
        if loaded is None:
            self.reloads.labels("failed").inc()
            return
        self.reloads.labels("ok").inc()
        self.model.clear()
        self.model.labels(type(loaded.model).__name__, loaded.version).set(1)
        self.loaded_at.set(time.time())


def error(status: int, detail: str, headers: dict | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers)


class Gate:
    """Pure ASGI middleware: API key, request-size and read-time limits, request metrics.

    Pure ASGI rather than ``BaseHTTPMiddleware``: it runs on every request, and the latter
    adds a task and a stream copy per request.
    """

    def __init__(self, app: Any, metrics: Metrics, api_key: str | None, max_body_bytes: int,
                 body_timeout: float) -> None:
        self.app = app
        self.metrics = metrics
        self.api_key = api_key.encode() if api_key is not None else None
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        endpoint = path if path in ENDPOINTS else "other"  # bounded label values
        status = [500]

        async def send_and_record(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            rejection = self._reject(scope, path)
            if rejection is not None:
                await rejection(scope, receive, send_and_record)
            else:
                await self.app(scope, self._limited(receive), send_and_record)
        finally:
            code = str(status[0])
            self.metrics.requests.labels(endpoint, scope["method"], code).inc()
            if status[0] >= 400:
                self.metrics.errors.labels(endpoint, code).inc()
            self.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)

    def _reject(self, scope: dict, path: str) -> JSONResponse | None:
        headers = scope["headers"]
        if self.api_key is not None and path not in OPEN_PATHS \
                and not path.startswith(OPEN_PREFIXES):
            given = [value for name, value in headers if name == API_KEY_HEADER]
            if not given:
                return error(401, "missing API key: send it in the X-API-Key header",
                             {"WWW-Authenticate": "X-API-Key"})
            # Every copy of the header must match: with duplicates, no copy may pass a wrong
            # key past a proxy that checks only the first (or the last). Constant time each.
            if not all([hmac.compare_digest(value, self.api_key) for value in given]):
                return error(403, "invalid API key")
        for name, value in headers:
            if name == b"content-length":
                if value.isdigit() and int(value) > self.max_body_bytes:
                    return error(413, f"request body larger than {self.max_body_bytes} bytes")
                break
        return None

    def _limited(self, receive: Any) -> Any:
        # Chunked bodies carry no Content-Length: count what arrives. A body that stops
        # arriving is answered 408 after ``body_timeout`` seconds rather than holding a
        # connection and a request forever. FastAPI passes an HTTPException raised while
        # reading the body on to its handler.
        received = [0]

        async def counting_receive() -> dict:
            try:
                message = await _within(self.body_timeout, receive())
            except asyncio.TimeoutError:
                raise HTTPException(408, f"the request body did not arrive within "
                                         f"{self.body_timeout:g} s") from None
            if message["type"] == "http.request":
                received[0] += len(message.get("body", b""))
                if received[0] > self.max_body_bytes:
                    raise HTTPException(413, f"request body larger than {self.max_body_bytes} "
                                             "bytes")
            return message

        return counting_receive


async def _within(seconds: float, awaitable: Any) -> Any:
    if hasattr(asyncio, "timeout"):  # Python 3.11+: a timer, no task per call
        async with asyncio.timeout(seconds):
            return await awaitable
    return await asyncio.wait_for(awaitable, seconds)  # pragma: no cover - Python 3.10
