"""The HTTP service: a FastAPI app around one saved model, and ``recsys serve``.

Endpoints (JSON in, JSON out; ids keep their JSON type, an integer id stays an integer):

- ``GET /health``: liveness, always open (no API key).
- ``GET /model``: class, params, version, n_users, n_items, loaded_at of the served model.
- ``POST /recommend``: ``{"user": "u1", "k": 10}`` answers
  ``{"user": "u1", "items": [{"item": "i9", "score": 0.93}, ...]}``; ``{"users": [...]}``
  answers ``{"results": [<one such object per user>]}``. Also ``exclude_seen``, ``items``
  (allow-list), ``exclude`` (deny-list), ``history`` (items of a user the model has not seen:
  a list for ``user``, an object ``{user id: [items]}`` for ``users``), ``on_unknown`` and
  ``strict`` (unknown history items: 422 naming them instead of being ignored), ``where``
  (a filter over item attributes and named sets), ``diversify`` (``{"by": attribute,
  "lambda": 0.7, "max_per": {"brand": 2}}``) and ``"explain": true`` (a ``because`` list per
  item). Each user's answer says ``"source": "model"`` or ``"fallback"``.
- ``POST /similar-items``: ``item`` or ``items``, ``k``, ``candidates``, ``exclude``.
- ``POST /basket``: ``items`` (the cart) -> complements, ``k``, ``candidates``, ``exclude``,
  ``strict``.
- ``PUT /items/attributes``: ``{"rows": [{"item": id, "in_stock": false, ...}]}`` updates
  the item attributes ``where`` filters read, without a refit (``"replace": true``: the rows
  are the whole table); ``PUT /item-sets/{name}`` ``{"items": [...]}`` and ``DELETE`` manage
  named item sets (``{"set": name}`` in a filter). See :mod:`.item_routes`.
- ``POST /reload``: ``{"path": DIR}`` (optional, under the models root) loads a model fully,
  then swaps it in; without a path, reloads the directory given at start-up.
- ``POST /events``: ``[{"user": .., "item": .., "weight": .., "timestamp": .., "type": ..}]``
  (only ``user`` and ``item`` required) is validated whole, appended to the event log and
  synced, then applied to the served model (``update``); answers ``{"applied": n,
  "first_seq": .., "last_seq": ..}``. Needs ``events_log``.
- ``POST /items``: ``[{"item": .., "features": {column: value}}]``, new or changed items of a
  family that scores from features (``add_items``), logged the same way.
- ``GET /metrics``: Prometheus text: requests, errors, latency histogram, model info.
- ``GET /docs``: the API, browsable, from local assets (no internet needed).

Every answer carries the served model's version in the ``X-Model-Version`` header. The
modules: :mod:`.served` (the model and its reloads), :mod:`.schemas` (requests, answers),
:mod:`.gate` (API key, limits, metrics), :mod:`.routes` (endpoints, errors), :mod:`.docs`,
:mod:`.server` (uvicorn).
"""

from __future__ import annotations

import gc
import math
import os
import threading
from collections.abc import Mapping
from contextlib import asynccontextmanager
from typing import Any

try:
    from fastapi import FastAPI
    from prometheus_client import Counter
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    raise ImportError('the HTTP service needs the "serve" extra: '
                      'pip install "recsys-lab[serve]"') from exc

from recsys.errors import ConfigError
from recsys.serving import routes
from recsys.serving.arms import DEFAULT_SALT, Arms, add_arm_routes
from recsys.serving.docs import add_docs
from recsys.serving.events import EventLog
from recsys.serving.gate import Gate, Metrics
from recsys.serving.impressions import ImpressionLog
from recsys.serving.item_routes import add_item_routes
from recsys.serving.schemas import item_rule_models, request_models
from recsys.serving.served import ModelHolder, watch

__all__ = ["API_KEY_ENV", "create_app", "read_api_key"]

API_KEY_ENV = "RECSYS_API_KEY"
# An event type may weigh up to this many plain events (weights add up in float32).
MAX_TYPE_WEIGHT = 1000.0


def read_api_key(api_key: str | None) -> str | None:
    """The API key to require: ``api_key``, else ``RECSYS_API_KEY``; None (no key) when
    neither is set. An empty key is refused rather than read as "no authentication"."""
    if api_key is None:
        api_key = os.environ.get(API_KEY_ENV)
    if api_key is not None and not api_key.strip():
        raise ConfigError(f"the API key is empty, which would let every request in: set "
                          f"{API_KEY_ENV} to a secret, or unset it to run without a key")
    return api_key


def create_app(
    model_dir: str | os.PathLike | Mapping[str, str | os.PathLike],
    api_key: str | None = None,
    *,
    max_list: int = 1000,
    max_k: int = 1000,
    max_results: int = 100_000,
    max_body_bytes: int = 4 << 20,
    body_timeout: float = 30.0,
    models_root: str | os.PathLike | None = None,
    workers: int = 1,
    watch_seconds: float | None = None,
    events_log: str | os.PathLike | None = None,
    event_weights: Mapping[str, float] | None = None,
    max_events: int = 10_000,
    max_set: int = 1_000_000,
    split: Mapping[str, float] | None = None,
    split_salt: str = DEFAULT_SALT,
    impressions: str | os.PathLike | None = None,
) -> FastAPI:
    """The HTTP service for the model saved in ``model_dir``.

    Parameters
    ----------
    model_dir : str or PathLike, or dict name -> directory
        A directory written by :func:`recsys.save`; loaded, verified and warmed up here.
        Several named directories serve several models with a traffic split (see
        :mod:`recsys.serving.arms`).
    api_key : str, optional
        Required in the ``X-API-Key`` header of every request but ``/health`` and ``/docs``
        (every copy of the header must match). None reads ``RECSYS_API_KEY``; with neither
        set, no key is required. An empty key is an error.
    max_list : int
        Longest list accepted in a request (users, items, allow/deny lists, history).
    max_k : int
        Largest ``k``.
    max_results : int
        Largest number of ranked items one request may ask for (queries x ``k``); 422 above.
    max_body_bytes : int
        Larger request bodies are refused with 413 before they are parsed.
    body_timeout : float
        Seconds a request body may take to arrive (408 after).
    models_root : str or PathLike, optional
        ``POST /reload`` only loads directories under this one. Default: the parent of
        ``model_dir``, where dated model directories usually sit side by side; when that is
        ``/``, reloading by path is off.
    workers : int
        How many processes serve this port. With more than one, ``POST /reload`` would reach
        a single process, so it answers 409; save over ``model_dir`` instead and let
        ``watch_seconds`` pick it up in every process.
    watch_seconds : float, optional
        Check every this many seconds whether ``model_dir`` was replaced on disk (saved over,
        or a symlink flipped) and reload it if so.
    events_log : str or PathLike, optional
        The event log file (created if missing) that ``POST /events`` and ``/items`` append
        to; its batches after the model's snapshot point are replayed now and after every
        reload. None: those endpoints answer 409. One process writes a log, so it needs
        ``workers=1``.
    event_weights : mapping of str to float, optional
        The weight of each event ``type`` (an event's weight is multiplied by it); with a
        table, other types are refused. None: every type weighs 1.
    max_events : int
        Most events (or items) in one batch.
    max_set : int
        Most items of a named item set (``PUT /item-sets/{name}``) and most rows of one
        ``PUT /items/attributes`` (the body size limit applies too).
    split : dict name -> share, optional
        With several models: each one's share of the users (default: equal shares).
    split_salt : str
        Key of the hash that assigns users to models; a new salt reshuffles them.
    impressions : str or PathLike, optional
        Append what ``/recommend`` shows to whom, by which model, to this JSON-lines file
        (see :mod:`recsys.serving.impressions`).

    Returns
    -------
    fastapi.FastAPI

    Examples
    --------
    >>> import recsys as rs, tempfile
    >>> from fastapi.testclient import TestClient
    >>> inter = rs.Interactions.from_arrays(["u1", "u2", "u2"], ["a", "a", "b"])
    >>> path = rs.save(rs.Popularity().fit(inter), tempfile.mkdtemp() + "/model")
    >>> client = TestClient(create_app(path, api_key="secret"))
    >>> client.post("/recommend", json={"user": "u1", "k": 1},
    ...             headers={"X-API-Key": "secret"}).json()
    {'user': 'u1', 'source': 'model', 'items': [{'item': 'b', 'score': 1.0}]}
    """
    api_key = read_api_key(api_key)
    type_weights = _type_weights(event_weights)
    directories = dict(model_dir) if isinstance(model_dir, Mapping) else {"": model_dir}
    event_log = None
    if events_log is not None:
        if workers > 1:
            raise ConfigError("an event log has one writer: serve it with one worker")
        if len(directories) > 1:
            raise ConfigError("an event log feeds one served model: it cannot be combined "
                              "with several models (A/B serving)")
        event_log = EventLog(events_log)
    try:
        holders = {name: ModelHolder(path, event_log) for name, path in directories.items()}
    except BaseException:
        if event_log is not None:
            event_log.close()
        raise
    holder = next(iter(holders.values()))
    root = routes.models_root(models_root, holder.home)
    metrics = Metrics()
    metrics.served(holder.current)
    impressions_log = None
    if impressions is not None:
        dropped = Counter("recsys_impressions_dropped", "Impressions not logged: the writer "
                          "could not keep up", registry=metrics.registry)
        impressions_log = ImpressionLog(impressions, on_drop=dropped.inc)
    app = FastAPI(title="recsys", summary="Recommendations over HTTP", docs_url=None,
                  redoc_url=None, lifespan=_lifespan(list(holders.values()), metrics,
                                                     watch_seconds, impressions_log))
    app.state.holder = holder
    app.state.metrics = metrics
    schemas = request_models(max_k, max_list, max_events)
    if isinstance(model_dir, Mapping):
        arms = Arms(holders, split or dict.fromkeys(holders, 1.0), split_salt)
        app.state.arms = arms
        add_arm_routes(app, arms, metrics, schemas, max_results, root, impressions_log,
                       workers)
    else:
        example_user = routes.json_ids(holder.current.model.users_.ids[:1])[0]
        routes.add_ranking_routes(app, holder, schemas, max_results, example_user,
                                  impressions_log)
        routes.add_admin_routes(app, holder, metrics, schemas["reload"], root, workers,
                                watch_seconds)
    routes.add_event_routes(app, holder, schemas, type_weights)
    add_item_routes(app, lambda: [h.current.model for h in holders.values()],
                    item_rule_models(max_set, max_set), workers,
                    [h.writing for h in holders.values()])
    routes.add_error_handlers(app)
    add_docs(app)
    app.add_middleware(Gate, metrics=metrics, api_key=api_key, max_body_bytes=max_body_bytes,
                       body_timeout=body_timeout)
    return app


def _type_weights(given: Mapping[str, float] | None) -> dict[str, float] | None:
    if given is None:
        return None
    weights = dict(given)
    for name, weight in weights.items():
        if not (isinstance(name, str) and name) or isinstance(weight, bool) \
                or not isinstance(weight, (int, float)) or not math.isfinite(weight) \
                or not 0 < weight <= MAX_TYPE_WEIGHT:
            raise ConfigError(f"event weight {name!r}: {weight!r} must be a number in "
                              f"(0, {MAX_TYPE_WEIGHT:g}]")
    return {name: float(weight) for name, weight in weights.items()}


def _lifespan(holders: list[ModelHolder], metrics: Metrics, seconds: float | None,
              impressions_log: ImpressionLog | None) -> Any:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        stop = threading.Event()
        watchers = [threading.Thread(target=watch, args=(holder, metrics.served, seconds, stop),
                                     name="recsys-model-watch", daemon=True)
                    for holder in (holders if seconds else [])]
        for watcher in watchers:
            watcher.start()
        # The objects of start-up (modules, the model, the app) live as long as the process:
        # moved out of the collector's generations, they are no longer scanned by every full
        # collection, which would otherwise stall a request now and then.
        gc.collect()
        gc.freeze()
        yield
        stop.set()
        for watcher in watchers:
            watcher.join(timeout=5)
        for event_log in {holder.log for holder in holders if holder.log is not None}:
            event_log.close()
        if impressions_log is not None:
            impressions_log.close()

    return lifespan
