"""The endpoints of the HTTP service and its error answers."""

import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from recsys.data.ids import as_id_array
from recsys.errors import ConfigError, RecsysError, UnknownIdError
from recsys.models.base import Recommendations, Recommender, Source
from recsys.models.diversify import Diversify
from recsys.ranking import PAD
from recsys.serving.gate import Metrics, error
from recsys.serving.impressions import ImpressionLog
from recsys.serving.schemas import (
    Appended,
    BasketAnswer,
    Health,
    ItemAnswer,
    ModelInfo,
    Results,
    UserAnswer,
    documented_body,
    error_responses,
)
from recsys.serving.served import LoadedModel, ModelHolder, clip

logger = logging.getLogger("recsys")

# An unknown id is echoed back (and logged) cut to this many characters, and at most
# SHOWN_IDS of them: a request may carry megabytes of id.
ID_CHARS = 64
SHOWN_IDS = 5
# "source" of an answer by recsys.models.base.Source code: known and folded-in users are
# ranked by the model, the others by the fallback.
SOURCES = {int(Source.KNOWN): "model", int(Source.HISTORY): "model",
           int(Source.FALLBACK): "fallback"}
# Parts of a score shown per item with "explain": true.
EXPLAIN_PARTS = 3


# --------------------------------------------------------------------------- answers


def json_ids(ids: np.ndarray) -> list:
    """External ids as JSON values of their own type (numpy scalars become Python ones)."""
    values = ids.tolist()
    if ids.dtype == object:
        values = [v.item() if isinstance(v, np.generic) else v for v in values]
    return values


def _ranked_lists(recs: Recommendations) -> Iterator[tuple[Any, list[dict]]]:
    """(query id, [{"item": id, "score": s}, ...]) per row, padding dropped."""
    for key, row, scores in zip(json_ids(recs.keys), recs.positions, recs.scores,
                                strict=True):
        valid = row != PAD
        items = json_ids(recs.item_index.to_ids(row[valid]))
        # JSON has no NaN/inf: a non-finite score (a family's "no evidence") becomes null.
        values = [s if math.isfinite(s) else None for s in scores[valid].tolist()]
        yield key, [{"item": i, "score": s} for i, s in zip(items, values, strict=True)]


def _json_response(payload: Any, loaded: LoadedModel, status_code: int = 200) -> Response:
    # Serialized here rather than through FastAPI's jsonable_encoder: the payload is plain
    # JSON already, and walking a large result twice costs more than the ranking.
    body = json.dumps(payload, separators=(",", ":"), allow_nan=False)
    return Response(body, status_code=status_code, media_type="application/json",
                    headers={"X-Model-Version": loaded.version})


def history_for(users: list, history: list | dict | None) -> dict | None:
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
        raise ConfigError(f"history names {len(strangers)} user(s) that are not in the "
                          f"request: {_shown_ids(strangers)}")
    return {by_text[key]: items for key, items in history.items()} or None


def _shown_id(value: Any) -> Any:
    if isinstance(value, str) and len(value) > ID_CHARS:
        return f"{value[:ID_CHARS]}... ({len(value)} characters)"
    return value


def _shown_ids(values: list) -> list:
    return [_shown_id(v) for v in values[:SHOWN_IDS]]


async def read_body(request: Request, schema: type[BaseModel]) -> Any:
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
            [{**e, "loc": ("body", *e["loc"])}
             for e in exc.errors(include_url=False, include_context=False,
                                 include_input=False)]) from None


# --------------------------------------------------------------------------- ranking


def add_ranking_routes(app: FastAPI, holder: ModelHolder, schemas: dict[str, type[BaseModel]],
                       max_results: int, example_user: Any,
                       impressions: ImpressionLog | None = None) -> None:
    """``POST /recommend``, ``/similar-items`` and ``/basket`` (``/recommend`` answers go to
    the ``impressions`` log when there is one).

    Ranking runs on the event loop only when the served model's measured one-query time
    says the whole request takes under a millisecond; anything slower runs in the thread
    pool, so that it does not hold up ``/health`` and the other requests.
    """
    RecommendBody, SimilarBody, BasketBody = (schemas[name] for name in
                                              ("recommend", "similar", "basket"))
    errors = error_responses(401, 403, 404, 408, 413, 422)
    rank_users = _recommend if impressions is None else partial(_recommend,
                                                                impressions=impressions)

    async def ranked(call: str, n_queries: int, k: int,
                     rank: Callable[[Any, LoadedModel], Response], body: Any) -> Response:
        too_many = over_limit(n_queries, k, body, max_results)
        if too_many is not None:
            return too_many
        if body.model is not None:
            return error(422, "model: this service serves one model; 'model' names one of "
                              "the models of an A/B service")
        loaded = holder.current  # this request's model, whatever a reload does meanwhile
        if loaded.inline(call, n_queries) and not extra_work(body):
            return rank(body, loaded)
        return await run_in_threadpool(rank, body, loaded)

    @app.post("/recommend", response_model=UserAnswer | Results, responses=errors,
              openapi_extra=documented_body(RecommendBody, {"user": example_user, "k": 10}))
    async def recommend(request: Request) -> Response:
        body = await read_body(request, RecommendBody)
        return await ranked("recommend", 1 if body.users is None else len(body.users), body.k,
                            rank_users, body)

    @app.post("/similar-items", response_model=ItemAnswer | Results, responses=errors,
              openapi_extra=documented_body(SimilarBody))
    async def similar_items(request: Request) -> Response:
        body = await read_body(request, SimilarBody)
        return await ranked("similar", 1 if body.items is None else len(body.items), body.k,
                            similar_answer, body)

    @app.post("/basket", response_model=BasketAnswer, responses=errors,
              openapi_extra=documented_body(BasketBody))
    async def basket(request: Request) -> Response:
        body = await read_body(request, BasketBody)
        return await ranked("basket", 1, body.k, basket_answer, body)


def over_limit(n_queries: int, k: int, body: Any, max_results: int) -> Response | None:
    """The 422 answer of a request ranking more than ``max_results`` items (candidates
    over-fetched for diversify included), else None."""
    fetch = 1 if getattr(body, "diversify", None) is None else body.diversify.fetch
    if n_queries * k * fetch <= max_results:
        return None
    asked = f"{n_queries} queries x k={k}" + (f" x fetch={fetch}" if fetch > 1 else "")
    return error(422, f"{asked} asks for more than {max_results} results; split the request "
                      "or lower k")


# A filter of up to this many keys and values compiles in well under a millisecond at 100k items
# (vectorized over cached columns): it may run on the event loop with a cheap ranking. The
# hop to a worker thread cost more than the filter (HTTP: 1.7x an unfiltered request at
# 100k items, against 1.4x in process; benchmarks/filters.py).
INLINE_CONDITIONS = 16


def extra_work(body: Any) -> bool:
    """Whether a request does more than rank (a large filter to compile, a re-ranking, the
    explanations): such requests leave the event loop whatever the ranking costs."""
    where = getattr(body, "where", None)
    return (getattr(body, "explain", False) or getattr(body, "diversify", None) is not None
            or (where is not None and _larger_than(where, INLINE_CONDITIONS)))


def _larger_than(where: Any, limit: int) -> bool:
    """Whether a filter holds more than ``limit`` keys and list values, nested ones
    included (a walk that stops at the limit: a request's filter may be deep or huge)."""
    stack, seen = [where], 0
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            seen += len(node)
            stack.extend(node.values())
        elif isinstance(node, list):  # values of "in" count too: a long list costs
            seen += len(node)
            stack.extend(node)
        if seen > limit:
            return True
    return False


def _diversify(options: Any) -> Diversify | None:
    if options is None:
        return None
    return Diversify(by=options.by, lambda_=options.lambda_, max_per=options.max_per,
                     fetch=options.fetch)


def recommend_answers(body: Any, model: Recommender, users: list, history: dict | None,
                      name: str | None = None) -> list[dict]:
    """The answer of ``model`` for ``users`` (of the request ``body``, with their ``history``
    keyed by user), one object per user answered; ``name``, the answering model's, is added
    to each when given."""
    recs = model.recommend(
        users, k=body.k, exclude_seen=body.exclude_seen, items=body.items,
        exclude=body.exclude, history=history, on_unknown=body.on_unknown,
        strict=body.strict, where=body.where, diversify=_diversify(body.diversify))
    sources = [SOURCES[code] for code in np.asarray(recs.sources).tolist()]
    results = []
    for (key, items), source in zip(_ranked_lists(recs), sources, strict=True):
        answer = {"user": key} if name is None else {"user": key, "model": name}
        answer.update(source=source, items=items)
        if body.explain:
            _explain(model, key, items, source, history)
        results.append(answer)
    return results


def _explain(model: Recommender, user: Any, items: list[dict], source: str,
             history: dict | None) -> None:
    """Add "because" to each ranked item: its largest parts, with their shares of the score
    (null for the fallback ranking, which has no parts)."""
    given = None if history is None or source == "fallback" else history.get(user)
    frame = None
    if given is not None:
        frame = pd.DataFrame({"user": user, "item": pd.Series(given, dtype=object),
                              "weight": 1.0})
        if user in model.users_:  # recommend appended the history to the training rows
            row = model.user_items_[int(model.users_.to_index(as_id_array([user]))[0])]
            trained = pd.DataFrame({"user": user, "item": model.items_.to_ids(row.indices),
                                    "weight": row.data.astype(np.float64)})
            frame = pd.concat([trained, frame], ignore_index=True)
    for entry in items:
        if source == "fallback":
            entry["because"] = None
            continue
        parts = model.explain(user, entry["item"], n=EXPLAIN_PARTS, history=frame)
        names = json_ids(np.asarray(parts["name"].to_numpy(), dtype=object))
        entry["because"] = [
            {"kind": kind, "name": part, "share": share if math.isfinite(share) else None}
            for kind, part, share in zip(parts["kind"].tolist(), names,
                                         parts["share"].tolist(), strict=True)]


def _recommend(body: Any, loaded: LoadedModel,
               impressions: ImpressionLog | None = None) -> Response:
    users = [body.user] if body.users is None else body.users
    results = recommend_answers(body, loaded.model, users, history_for(users, body.history))
    if impressions is not None:
        impressions.record(results)
    if body.users is not None:
        return _json_response({"results": results}, loaded)
    return _json_response(results[0] if results else {"user": body.user, "items": []}, loaded)


def similar_answer(body: Any, loaded: LoadedModel) -> Response:
    items = [body.item] if body.items is None else body.items
    recs = loaded.model.similar_items(items, k=body.k, candidates=body.candidates,
                                      exclude=body.exclude, on_unknown=body.on_unknown,
                                      where=body.where)
    results = [{"item": key, "items": ranked} for key, ranked in _ranked_lists(recs)]
    if body.items is not None:
        return _json_response({"results": results}, loaded)
    return _json_response(results[0] if results else {"item": body.item, "items": []}, loaded)


def basket_answer(body: Any, loaded: LoadedModel) -> Response:
    recs = loaded.model.recommend_for_basket(body.items, k=body.k, items=body.candidates,
                                             exclude=body.exclude, strict=body.strict,
                                             where=body.where)
    (_, ranked), = _ranked_lists(recs)
    return _json_response({"items": ranked}, loaded)


# --------------------------------------------------------------------------- events


def add_event_routes(app: FastAPI, holder: ModelHolder, schemas: dict[str, type[BaseModel]],
                     type_weights: dict[str, float] | None) -> None:
    """``POST /events`` and ``POST /items``: logged durably, then applied to the served model.

    An event's weight is its ``weight`` (default 1) times its type's weight in
    ``type_weights`` (default 1 for an event without a type). With a table, a type outside
    it is refused (a typo would otherwise count as 1); without one, types are kept in the
    log but weigh 1.
    """
    errors = error_responses(401, 403, 408, 409, 413, 422, 503)

    async def logged(kind: str, records: list[dict]) -> Response:
        try:
            first, last = await run_in_threadpool(holder.append, kind, records)
        except OSError as exc:
            logger.error("the event log could not be written, nothing applied: %s", exc)
            return error(503, "the event log could not be written; nothing of the batch "
                              "was applied (details in the server log)")
        loaded = holder.current
        return _json_response({"applied": len(records), "first_seq": first,
                               "last_seq": last}, loaded)

    @app.post("/events", response_model=Appended, responses=errors,
              openapi_extra=documented_body(schemas["events"], [
                  {"user": "u1", "item": "i9", "type": "cart"}]))
    async def events(request: Request) -> Response:
        if holder.log is None:
            return _no_log()
        batch = (await read_body(request, schemas["events"])).root
        return await logged("events", _event_records(batch, type_weights))

    @app.post("/items", response_model=Appended, responses=errors,
              openapi_extra=documented_body(schemas["items"], [
                  {"item": "i100", "features": {"category": "Cameras"}}]))
    async def items(request: Request) -> Response:
        if holder.log is None:
            return _no_log()
        model = holder.current.model
        if not model.supports_add_items:
            return error(422, f"{type(model).__name__} cannot score an item from its "
                              "features: add items through /events (their interactions), "
                              "or serve a family with add_items (ContentBased, LightFM)")
        batch = (await read_body(request, schemas["items"])).root
        records = [{"item": item.item, "features": item.features} for item in batch]
        return await logged("items", records)


def _no_log() -> Response:
    return error(409, "this service keeps no event log: start it with --events-log PATH")


def _event_records(batch: list, type_weights: dict[str, float] | None) -> list[dict]:
    """Log records of a validated batch: weights resolved, times defaulting to now; a type
    outside the table fails the whole batch, naming every such event."""
    now = time.time()
    records, problems = [], []
    for index, event in enumerate(batch):
        factor = 1.0
        if event.type is not None and type_weights is not None:
            if event.type not in type_weights:
                problems.append({"loc": ("body", index, "type"),
                                 "msg": f"unknown event type; known: {sorted(type_weights)}",
                                 "type": "event_type"})
                continue
            factor = type_weights[event.type]
        record = {"user": event.user, "item": event.item, "weight": event.weight * factor,
                  "timestamp": now if event.timestamp is None else event.timestamp}
        if event.type is not None:
            record["type"] = event.type
        records.append(record)
    if problems:
        raise RequestValidationError(problems)
    return records


# --------------------------------------------------------------------------- the rest


def add_admin_routes(app: FastAPI, holder: ModelHolder, metrics: Metrics,
                     reload_schema: type[BaseModel], root: Path | None,
                     workers: int, watch: float | None) -> None:
    """``GET /health``, ``/model``, ``/metrics`` and ``POST /reload``."""

    # The trivial endpoints are ``async``: they do no real work, and the hop to a thread
    # would cost more than they do. /reload is plain ``def`` (loading is slow work), which
    # FastAPI runs in its thread pool.
    @app.get("/health", response_model=Health)
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/model", response_model=ModelInfo, responses=error_responses(401, 403))
    async def model_info() -> Response:
        loaded = holder.current
        return _json_response(loaded.describe(root), loaded)

    @app.post("/reload", response_model=ModelInfo,
              responses=error_responses(401, 403, 409, 413, 422))
    # (this module has no "from __future__ import annotations": FastAPI reads this local
    # annotation at definition time)
    def reload(body: reload_schema | None = None) -> Response:  # type: ignore[valid-type]
        if workers > 1:
            return error(409, f"this service runs {workers} worker processes and a request "
                         "reaches only one of them: save the new model over the served "
                         f"directory instead (every worker reloads it within {watch or 0:g} s)")
        path = None
        if body is not None and body.path is not None:
            path = _reload_path(body.path, root)
            if isinstance(path, Response):
                return path
        try:
            loaded = holder.reload(path)
        except RecsysError as exc:
            metrics.served(None)
            message = redact(str(exc), root, holder.home)
            logger.warning("reload failed, still serving the previous model: %s", clip(message))
            return error(422, message)
        metrics.served(loaded)
        logger.info("serving %s (version %s) from %s", type(loaded.model).__name__,
                    loaded.version, loaded.path)
        return _json_response(loaded.describe(root), loaded)

    @app.get("/metrics", responses=error_responses(401, 403))
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


def _reload_path(given: str, root: Path | None) -> Path | Response:
    """The directory a ``/reload {"path": ...}`` names, or the error answer."""
    if root is None:
        return error(403, "reload by path is off: the served directory's parent is '/'; "
                          "start the service with --models-root")
    try:
        path = Path(given)
        path = (path if path.is_absolute() else root / path).resolve()
    except (OSError, ValueError, RuntimeError):  # NUL byte, too long, a symlink loop
        return error(422, "invalid path")
    if not path.is_relative_to(root):
        return error(403, "reload paths must lie under the models root")
    return path


def redact(text: str, *roots: Path | None) -> str:
    """``text`` without host paths: the models root and the served directory's parent."""
    for root in roots:
        if root is not None and str(root) not in ("", "/"):
            text = text.replace(f"{root}/", "").replace(str(root), ".")
    return text


def add_error_handlers(app: FastAPI) -> None:
    """Errors: a short JSON ``detail``, never a traceback, ids cut to a few short ones."""

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [{"loc": [_shown_id(part) for part in e.get("loc", ())][:8],
                     "msg": clip(e.get("msg", ""), 200), "type": e.get("type", "")}
                    for e in exc.errors()[:20]]
        detail = "invalid request"
        content_type = request.headers.get("content-type", "")
        if content_type and "json" not in content_type:  # e.g. curl -d without a header
            detail = ("the body must be JSON (Content-Type: application/json), not "
                      f"{clip(content_type, 100)}")
        return error(422, detail, errors=problems)

    @app.exception_handler(UnknownIdError)
    async def unknown_id(request: Request, exc: UnknownIdError) -> JSONResponse:
        ids = json_ids(np.asarray(exc.ids, dtype=object)) if exc.ids else []
        # Unknown evidence (strict history or basket items) is a bad request body; an unknown
        # user or item to rank for is a resource that does not exist.
        what = "item(s) of the request's evidence" if exc.evidence else "id(s)"
        return error(422 if exc.evidence else 404,
                     f"{len(ids)} unknown {what}: {_shown_ids(ids)}", ids=_shown_ids(ids))

    @app.exception_handler(RecsysError)
    async def bad_input(request: Request, exc: RecsysError) -> JSONResponse:
        return error(422, clip(str(exc)))

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> JSONResponse:
        logger.error("unhandled %s on %s %s: %s", type(exc).__name__, request.method,
                     clip(request.url.path, 100), clip(str(exc)), exc_info=exc)
        return error(500, "internal error (details in the server log)")


def models_root(given: str | os.PathLike | None, served: Path) -> Path | None:
    """The directory ``/reload`` paths must lie under; None (reload by path off) where the
    default, the served directory's parent, would be ``/``."""
    root = Path(given if given is not None else served.parent).resolve()
    if root == Path(root.anchor):
        if given is not None:
            raise ConfigError("the models root must not be '/': give the directory that "
                              "holds the model directories")
        return None
    return root
