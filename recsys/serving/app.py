"""The HTTP service: a FastAPI app around one saved model, and ``recsys serve``.

Endpoints (JSON in, JSON out; ids keep their JSON type, an integer id stays an integer):

- ``GET /health``: liveness, always open (no API key).
- ``GET /model``: class, params, version, n_users, n_items, loaded_at of the served model.
- ``POST /recommend``: ``{"user": "u1", "k": 10}`` answers
  ``{"user": "u1", "items": [{"item": "i9", "score": 0.93}, ...]}``; ``{"users": [...]}``
  answers ``{"results": [<one such object per user>]}``. Also ``exclude_seen``, ``items``
  (allow-list), ``exclude`` (deny-list), ``history`` (items of a user the model has not seen:
  a list for ``user``, an object ``{user id: [items]}`` for ``users``), ``on_unknown`` and
  ``strict`` (unknown history items: 422 naming them instead of being ignored).
- ``POST /similar-items``: ``item`` or ``items``, ``k``, ``candidates``, ``exclude``.
- ``POST /basket``: ``items`` (the cart) -> complements, ``k``, ``candidates``, ``exclude``,
  ``strict``.
- ``POST /reload``: ``{"path": DIR}`` (optional) loads a model fully, then swaps it in.
- ``GET /metrics``: Prometheus text: requests, errors, latency histogram, model info.

Every answer carries the served model's version in the ``X-Model-Version`` header. A request
reads the current model once, at its start, and uses it to the end: a reload swaps one
reference, so no answer mixes two models.
"""

import gc
import hashlib
import hmac
import json
import logging
import math
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np

try:
    from fastapi import FastAPI, HTTPException, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import JSONResponse, Response
    from prometheus_client import (
        CONTENT_TYPE_LATEST,
        CollectorRegistry,
        Counter,
        Gauge,
        Histogram,
        generate_latest,
    )
    from pydantic import (
        BaseModel,
        ConfigDict,
        Field,
        StrictInt,
        StrictStr,
        ValidationError,
        model_validator,
    )
    from starlette.concurrency import run_in_threadpool
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError('the HTTP service needs the "serve" extra: '
                      'pip install "recsys[serve]"') from exc

from recsys.errors import ConfigError, DataError, RecsysError, UnknownIdError
from recsys.models.base import Recommendations, Recommender
from recsys.ranking import PAD
from recsys.serving.persistence import MANIFEST, load_with_manifest

logger = logging.getLogger("recsys")

API_KEY_ENV = "RECSYS_API_KEY"
API_KEY_HEADER = "x-api-key"
OPEN_PATHS = frozenset({"/health"})
ENDPOINTS = ("/health", "/model", "/recommend", "/similar-items", "/basket", "/reload",
             "/metrics")
# Request latencies of a ranking service live between a fraction of a millisecond and a
# second; prometheus-client's default buckets start at 5 ms and would hide the fast path.
LATENCY_BUCKETS = (0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0)

Id = StrictInt | StrictStr  # strict: 1.0 or true is not an id, "1" and 1 are different ids


# --------------------------------------------------------------------------- the served model


@dataclass(frozen=True)
class LoadedModel:
    """One loaded model and what the service says about it; never mutated once built."""

    model: Recommender
    path: Path
    manifest: dict
    version: str
    loaded_at: str
    identity: tuple | None

    def describe(self) -> dict:
        model = self.model
        return {
            "class": type(model).__name__,
            "params": self.manifest.get("params", {}),
            "version": self.version,
            "recsys_version": self.manifest.get("recsys_version"),
            "format_version": self.manifest.get("format_version"),
            "saved_at": self.manifest.get("saved_at"),
            "loaded_at": self.loaded_at,
            "path": str(self.path),
            "n_users": model.n_users,
            "n_items": model.n_items,
        }


def _identity(path: Path) -> tuple | None:
    """What changes when a model directory is replaced: a save swaps the directory (new
    inode), a deploy flips a symlink (new target)."""
    try:
        directory, manifest = os.stat(path), os.stat(path / MANIFEST)
    except OSError:
        return None
    return (directory.st_dev, directory.st_ino, manifest.st_ino, manifest.st_mtime_ns)


def warm_up(model: Recommender) -> None:
    """Run each public call once, so that lazily built lookups exist before the first
    request (and before many threads would build them at once)."""
    model.recommend(model.users_.ids[:1], k=1)
    items = model.items_.ids[:1]
    for call in (model.similar_items, model.recommend_for_basket):
        try:
            call(items, k=1)
        except (RecsysError, NotImplementedError):  # a family without this capability
            pass


def load_model(path: str | os.PathLike) -> LoadedModel:
    """Load, verify and warm up a saved model: everything done before it can be swapped in."""
    # Absolute but not resolved: a symlinked model directory stays the symlink, so that
    # ``watch`` notices when it is flipped to another version.
    directory = Path(path).absolute()
    identity = _identity(directory)
    model, manifest = load_with_manifest(directory)
    warm_up(model)
    version = hashlib.sha256(json.dumps(manifest, sort_keys=True).encode()).hexdigest()[:16]
    return LoadedModel(model, directory, manifest, version,
                       datetime.now(timezone.utc).isoformat(timespec="milliseconds"), identity)


class ModelHolder:
    """The reference to the served model, swapped whole on reload.

    Readers take ``holder.current`` once per request and keep that object; a reload loads and
    warms up the new model completely, then rebinds ``current`` (a single reference
    assignment, atomic in CPython), so a request never sees half a reload.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.current = load_model(path)
        self._lock = threading.Lock()  # one reload at a time; reads never take it

    def reload(self, path: str | os.PathLike | None = None) -> LoadedModel:
        with self._lock:
            loaded = load_model(self.current.path if path is None else path)
            self.current = loaded
        return loaded

    def reload_if_changed(self) -> bool:
        """Reload when the served directory was replaced on disk (used by ``watch``)."""
        current = self.current
        identity = _identity(current.path)
        if identity is None or identity == current.identity:
            return False
        self.reload(current.path)
        return True


# --------------------------------------------------------------------------- request bodies


def _request_models(max_k: int, max_list: int) -> dict[str, type[BaseModel]]:
    """Request schemas with this app's limits (k in [1, max_k], lists up to max_list)."""
    K = Annotated[int, Field(ge=1, le=max_k, strict=True)]
    IdList = Annotated[list[Id], Field(max_length=max_list)]
    HistoryMap = Annotated[dict[str, IdList], Field(max_length=max_list)]

    class Body(BaseModel):
        model_config = ConfigDict(extra="forbid")

    class RecommendBody(Body):
        user: Id | None = None
        users: IdList | None = None
        k: K = 10
        exclude_seen: bool = True
        items: IdList | None = None
        exclude: IdList | None = None
        history: IdList | HistoryMap | None = None
        on_unknown: Literal["raise", "skip", "fallback"] = "raise"
        strict: bool = False

        @model_validator(mode="after")
        def _one_query(self) -> "RecommendBody":
            if (self.user is None) == (self.users is None):
                raise ValueError("give exactly one of 'user' or 'users'")
            if self.users is not None and isinstance(self.history, list):
                raise ValueError("with 'users', 'history' maps each user id to its items")
            return self

    class SimilarBody(Body):
        item: Id | None = None
        items: IdList | None = None
        k: K = 10
        candidates: IdList | None = None
        exclude: IdList | None = None
        on_unknown: Literal["raise", "skip"] = "raise"

        @model_validator(mode="after")
        def _one_query(self) -> "SimilarBody":
            if (self.item is None) == (self.items is None):
                raise ValueError("give exactly one of 'item' or 'items'")
            return self

    class BasketBody(Body):
        items: IdList
        k: K = 10
        candidates: IdList | None = None
        exclude: IdList | None = None
        strict: bool = False

    class ReloadBody(Body):
        path: str | None = None

    return {"recommend": RecommendBody, "similar": SimilarBody, "basket": BasketBody,
            "reload": ReloadBody}


# --------------------------------------------------------------------------- answers


def _json_ids(ids: np.ndarray) -> list:
    """External ids as JSON values of their own type (numpy scalars become Python ones)."""
    values = ids.tolist()
    if ids.dtype == object:
        values = [v.item() if isinstance(v, np.generic) else v for v in values]
    return values


def _ranked_lists(recs: Recommendations) -> Iterator[tuple[Any, list[dict]]]:
    """(query id, [{"item": id, "score": s}, ...]) per row, padding dropped."""
    for key, row, scores in zip(_json_ids(recs.keys), recs.positions, recs.scores,
                                strict=True):
        valid = row != PAD
        items = _json_ids(recs.item_index.to_ids(row[valid]))
        # JSON has no NaN/inf: a non-finite score (a family's "no evidence") becomes null.
        values = [s if math.isfinite(s) else None for s in scores[valid].tolist()]
        yield key, [{"item": i, "score": s} for i, s in zip(items, values, strict=True)]


def _json_response(payload: Any, loaded: LoadedModel, status_code: int = 200) -> Response:
    # Serialized here rather than through FastAPI's jsonable_encoder: the payload is plain
    # JSON already, and walking a large result twice costs more than the ranking.
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return Response(body, status_code=status_code, media_type="application/json",
                    headers={"X-Model-Version": loaded.version})


def _history_for(users: list, history: list | dict | None) -> dict | None:
    """The request's history keyed by the requested user ids.

    JSON object keys are always strings, so ``{"42": [...]}`` is matched to the requested
    user ``42`` (an integer) by its string form.
    """
    if history is None:
        return None
    if isinstance(history, list):
        return {users[0]: history}
    by_text = {str(user): user for user in users}
    strangers = [key for key in history if key not in by_text]
    if strangers:
        raise ConfigError(f"history names users that are not in the request: {strangers[:5]}")
    return {by_text[key]: items for key, items in history.items()} or None


# --------------------------------------------------------------------------- the app


class _Metrics:
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

    def served(self, loaded: LoadedModel) -> None:
        self.model.clear()
        self.model.labels(type(loaded.model).__name__, loaded.version).set(1)
        self.loaded_at.set(time.time())


class _Gate:
    """Pure ASGI middleware: API key, request-size limit, request metrics.

    Pure ASGI rather than ``BaseHTTPMiddleware``: it runs on every request, and the latter
    adds a task and a stream copy per request.
    """

    def __init__(self, app: Any, metrics: _Metrics, api_key: str | None,
                 max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.api_key = api_key.encode() if api_key else None
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        path = scope["path"]
        endpoint = path if path in ENDPOINTS else "other"  # bounded label values
        status = [500]

        async def send_and_record(message: dict) -> None:
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
        headers = dict(scope["headers"])
        if self.api_key is not None and path not in OPEN_PATHS:
            given = headers.get(API_KEY_HEADER.encode())
            if given is None:
                return _error(401, "missing API key: send it in the X-API-Key header",
                              {"WWW-Authenticate": "X-API-Key"})
            if not hmac.compare_digest(given, self.api_key):  # constant time
                return _error(403, "invalid API key")
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
            return _error(413, f"request body larger than {self.max_body_bytes} bytes")
        return None

    def _limited(self, receive: Any) -> Any:
        # Chunked bodies carry no Content-Length: count what arrives. FastAPI passes an
        # HTTPException raised while reading the body on to its handler (a 413 answer).
        received = [0]

        async def counting_receive() -> dict:
            message = await receive()
            if message["type"] == "http.request":
                received[0] += len(message.get("body", b""))
                if received[0] > self.max_body_bytes:
                    raise HTTPException(413, f"request body larger than {self.max_body_bytes} "
                                             "bytes")
            return message

        return counting_receive


# Ranking this many queries takes well under a millisecond: it runs on the event loop, which
# is cheaper than the hop to a worker thread. Bigger batches go to the thread pool so that
# they do not hold up other requests.
INLINE_QUERIES = 8


async def _ranking_call(n_queries: int, rank: Callable[[Any], Response], body: Any) -> Response:
    if n_queries <= INLINE_QUERIES:
        return rank(body)
    return await run_in_threadpool(rank, body)


async def _body(request: Request, schema: type[BaseModel]) -> Any:
    """The request body validated against ``schema``.

    pydantic-core parses and validates the raw JSON in one pass, which costs a fraction of
    FastAPI's body dependency (decode, then validate field by field) on the hot path. The
    errors are the same 422 answers. A body declared as something else than JSON is refused,
    as FastAPI does (a form post is not read as JSON by accident).
    """
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise RequestValidationError([{"loc": ("body",), "msg": "the body must be JSON",
                                       "type": "content_type"}])
    try:
        return schema.model_validate_json(await request.body())
    except ValidationError as exc:
        raise RequestValidationError(
            [{**error, "loc": ("body", *error["loc"])}
             for error in exc.errors(include_url=False, include_context=False)]) from None


def _documented(schema: type[BaseModel]) -> dict:
    """OpenAPI of a body read by :func:`_body` (FastAPI cannot infer it from the signature)."""
    return {"requestBody": {"required": True, "content": {
        "application/json": {"schema": schema.model_json_schema(
            ref_template="#/components/schemas/{model}")}}}}


def _error(status: int, detail: str, headers: dict | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status, headers=headers)


def create_app(
    model_dir: str | os.PathLike,
    api_key: str | None = None,
    max_list: int = 1000,
    max_k: int = 1000,
    max_body_bytes: int = 4 << 20,
    reload_root: str | os.PathLike | None = None,
    workers: int = 1,
    watch: float | None = None,
) -> FastAPI:
    """The HTTP service for the model saved in ``model_dir``.

    Parameters
    ----------
    model_dir : str or PathLike
        A directory written by :func:`recsys.save`; loaded, verified and warmed up here.
    api_key : str, optional
        Required in the ``X-API-Key`` header of every request but ``GET /health``. None reads
        the environment variable ``RECSYS_API_KEY``; an empty string disables the check.
    max_list : int
        Longest list accepted in a request (users, items, allow/deny lists, history).
    max_k : int
        Largest ``k``.
    max_body_bytes : int
        Larger request bodies are refused with 413 before they are parsed.
    reload_root : str or PathLike, optional
        ``POST /reload`` only loads directories under this one (default: the parent of
        ``model_dir``, where dated model directories usually sit side by side).
    workers : int
        How many processes serve this port. With more than one, ``POST /reload`` would reach
        a single process, so it answers 409; refresh by saving over ``model_dir`` instead and
        let ``watch`` pick it up in every process.
    watch : float, optional
        Check every this many seconds whether ``model_dir`` was replaced on disk (saved over,
        or a symlink flipped) and reload it if so.

    Returns
    -------
    fastapi.FastAPI

    Examples
    --------
    >>> import recsys as rs, tempfile
    >>> from fastapi.testclient import TestClient
    >>> inter = rs.Interactions.from_arrays(["u1", "u2", "u2"], ["a", "a", "b"])
    >>> path = rs.save(rs.Popularity().fit(inter), tempfile.mkdtemp() + "/model")
    >>> client = TestClient(create_app(path, api_key=""))
    >>> client.post("/recommend", json={"user": "u1", "k": 1}).json()
    {'user': 'u1', 'items': [{'item': 'b', 'score': 1.0}]}
    """
    if api_key is None:
        api_key = os.environ.get(API_KEY_ENV) or None
    holder = ModelHolder(model_dir)
    root = Path(reload_root if reload_root is not None else holder.current.path.parent).resolve()
    metrics = _Metrics()
    metrics.served(holder.current)
    schemas = _request_models(max_k, max_list)
    RecommendBody, SimilarBody = schemas["recommend"], schemas["similar"]
    BasketBody, ReloadBody = schemas["basket"], schemas["reload"]

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        stop = threading.Event()
        watcher = None
        if watch:
            watcher = threading.Thread(target=_watch, args=(holder, metrics, watch, stop),
                                       name="recsys-model-watch", daemon=True)
            watcher.start()
        # The objects of start-up (modules, the model, the app) live as long as the process:
        # moved out of the collector's generations, they are no longer scanned by every full
        # collection, which would otherwise stall a request now and then.
        gc.collect()
        gc.freeze()
        yield
        stop.set()
        if watcher is not None:
            watcher.join(timeout=5)

    app = FastAPI(title="recsys", summary="Recommendations over HTTP", lifespan=lifespan,
                  redoc_url=None)
    app.state.holder = holder
    app.state.metrics = metrics

    # The ranking endpoints (and /reload) are plain ``def``: that is CPU work, and FastAPI runs
    # such handlers in its thread pool instead of blocking the event loop; the model is only
    # read while ranking. The three trivial endpoints are ``async``: they do no real work, and
    # the hop to a thread would cost more than they do.

    @app.get("/health")
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/model")
    async def model_info() -> Response:
        loaded = holder.current
        return _json_response(loaded.describe(), loaded)

    @app.post("/recommend", openapi_extra=_documented(RecommendBody))
    async def recommend(request: Request) -> Response:
        body = await _body(request, RecommendBody)
        n_queries = 1 if body.users is None else len(body.users)
        return await _ranking_call(n_queries, _recommend, body)

    def _recommend(body: RecommendBody) -> Response:
        loaded = holder.current  # this request's model, whatever a reload does meanwhile
        users = [body.user] if body.users is None else body.users
        recs = loaded.model.recommend(
            users, k=body.k, exclude_seen=body.exclude_seen, items=body.items,
            exclude=body.exclude, history=_history_for(users, body.history),
            on_unknown=body.on_unknown, strict=body.strict)
        results = [{"user": key, "items": items} for key, items in _ranked_lists(recs)]
        if body.users is not None:
            return _json_response({"results": results}, loaded)
        return _json_response(results[0] if results else {"user": body.user, "items": []},
                              loaded)

    @app.post("/similar-items", openapi_extra=_documented(SimilarBody))
    async def similar_items(request: Request) -> Response:
        body = await _body(request, SimilarBody)
        n_queries = 1 if body.items is None else len(body.items)
        return await _ranking_call(n_queries, _similar_items, body)

    def _similar_items(body: SimilarBody) -> Response:
        loaded = holder.current
        items = [body.item] if body.items is None else body.items
        recs = loaded.model.similar_items(items, k=body.k, candidates=body.candidates,
                                          exclude=body.exclude, on_unknown=body.on_unknown)
        results = [{"item": key, "items": ranked} for key, ranked in _ranked_lists(recs)]
        if body.items is not None:
            return _json_response({"results": results}, loaded)
        return _json_response(results[0] if results else {"item": body.item, "items": []},
                              loaded)

    @app.post("/basket", openapi_extra=_documented(BasketBody))
    async def basket(request: Request) -> Response:
        body = await _body(request, BasketBody)
        return await _ranking_call(1, _basket, body)

    def _basket(body: BasketBody) -> Response:
        loaded = holder.current
        recs = loaded.model.recommend_for_basket(body.items, k=body.k, items=body.candidates,
                                                 exclude=body.exclude, strict=body.strict)
        (_, ranked), = _ranked_lists(recs)
        return _json_response({"items": ranked}, loaded)

    @app.post("/reload")
    def reload(body: ReloadBody | None = None) -> Response:
        if workers > 1:
            return _error(409, f"this service runs {workers} worker processes and a request "
                          "reaches only one of them: save the new model over the served "
                          "directory instead (every worker reloads it within "
                          f"{watch or 0:g} s)")
        path = None
        if body is not None and body.path is not None:
            path = Path(body.path)
            path = (path if path.is_absolute() else root / path).resolve()
            if not path.is_relative_to(root):
                return _error(403, f"reload paths must lie under {root}")
        try:
            loaded = holder.reload(path)
        except RecsysError:
            metrics.reloads.labels("failed").inc()
            raise  # answered 422 by the handler below; the previous model keeps serving
        metrics.reloads.labels("ok").inc()
        metrics.served(loaded)
        logger.info("serving %s (version %s) from %s", type(loaded.model).__name__,
                    loaded.version, loaded.path)
        return _json_response(loaded.describe(), loaded)

    @app.get("/metrics")
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    # Errors: a short JSON ``detail``, never a traceback.
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"loc": list(e.get("loc", ())), "msg": e.get("msg", ""),
                     "type": e.get("type", "")} for e in exc.errors()]
        detail = "invalid request"
        content_type = request.headers.get("content-type", "")
        if content_type and "json" not in content_type:  # e.g. curl -d without a header
            detail = f"the body must be JSON (Content-Type: application/json), not {content_type}"
        return _error(422, detail, errors=problems)

    @app.exception_handler(UnknownIdError)
    async def unknown_id(request: Request, exc: UnknownIdError) -> JSONResponse:
        ids = _json_ids(np.asarray(exc.ids, dtype=object)) if exc.ids else []
        # Unknown evidence (strict history or basket items) is a bad request body; an unknown
        # user or item to rank for is a resource that does not exist.
        return _error(422 if exc.evidence else 404, str(exc), ids=ids)

    @app.exception_handler(RecsysError)
    async def bad_input(request: Request, exc: RecsysError) -> JSONResponse:
        return _error(422, str(exc))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(500, "internal error (details in the server log)")

    app.add_middleware(_Gate, metrics=metrics, api_key=api_key, max_body_bytes=max_body_bytes)
    return app


def _watch(holder: ModelHolder, metrics: _Metrics, interval: float,
           stop: threading.Event) -> None:
    while not stop.wait(interval):
        try:
            if holder.reload_if_changed():
                metrics.reloads.labels("ok").inc()
                metrics.served(holder.current)
                logger.info("model directory changed; now serving version %s",
                            holder.current.version)
        except RecsysError as exc:  # e.g. caught mid-save: the next tick tries again
            metrics.reloads.labels("failed").inc()
            logger.warning("model directory changed but cannot be loaded: %s", exc)


# --------------------------------------------------------------------------- recsys serve

MODEL_DIR_ENV = "RECSYS_MODEL_DIR"
WORKERS_ENV = "RECSYS_WORKERS"
WATCH_SECONDS = 2.0  # how soon every worker of a multi-process server sees a new model


def _limit_blas_threads() -> None:
    # Requests already run in parallel threads (and processes): a BLAS pool per call on top
    # would oversubscribe the cores. This is the service process, so a global limit is ours
    # to set.
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")


def _log_to_stderr() -> None:
    # uvicorn configures only its own loggers; reloads and errors of ours should show too.
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     recsys: %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def app_from_env() -> FastAPI:
    """App factory for uvicorn worker processes, configured by ``recsys serve``."""
    _limit_blas_threads()
    _log_to_stderr()
    workers = int(os.environ.get(WORKERS_ENV, "1"))
    return create_app(os.environ[MODEL_DIR_ENV], workers=workers,
                      watch=WATCH_SECONDS if workers > 1 else None)


def _http_protocol() -> Any:
    """uvicorn's httptools protocol sending each answer in one write, when httptools is
    installed (``uvicorn[standard]``); else uvicorn's own choice."""
    try:
        from recsys.serving._protocol import CoalescingHttpToolsProtocol
    except ImportError:
        return "auto"
    return CoalescingHttpToolsProtocol


def serve(model_dir: str | os.PathLike, host: str = "127.0.0.1", port: int = 8000,
          workers: int = 1) -> None:
    """Run the HTTP service for ``model_dir`` with uvicorn until interrupted.

    The API key, if any, comes from the environment variable ``RECSYS_API_KEY``.
    """
    import uvicorn

    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    # Per-request access lines would cost more than a fast ranking; /metrics counts them.
    options = {"host": host, "port": port, "access_log": False, "log_level": "info",
               "http": _http_protocol()}
    if workers == 1:
        app = create_app(model_dir)  # a bad directory fails here, before any global setting
        _limit_blas_threads()
        _log_to_stderr()
        uvicorn.run(app, **options)
        return
    # Several processes: each worker builds its own app through the factory. Fail here, once,
    # with a clear error if the directory holds no model, not in every worker (a cheap check:
    # a full load here would also rebuild an ANN index only to throw it away).
    if not (Path(model_dir) / MANIFEST).is_file():
        raise DataError(f"{model_dir} is not a saved model: {MANIFEST} is missing")
    os.environ[MODEL_DIR_ENV] = str(Path(model_dir).resolve())
    os.environ[WORKERS_ENV] = str(workers)
    uvicorn.run("recsys.serving.app:app_from_env", factory=True, workers=workers, **options)
