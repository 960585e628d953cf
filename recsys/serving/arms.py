"""Several models in one service, with a traffic split (A/B tests).

Each user is assigned to a model ("arm") by a keyed BLAKE2b hash of its id's canonical bytes
(``s:`` + UTF-8 for a string id, ``i:`` + decimal digits for an integer id), mapped to
``[0, 1)`` and cut by the split's cumulative shares: the same user gets the same arm in every
process, worker and restart (Python's ``hash`` is salted per process and would not), and a
new ``salt`` reshuffles everyone for the next experiment. A request may name its model
(``"model": "b"``); every answer says which model answered, and per user whether the model or
its fallback ranked it. ``/metrics`` counts users answered by model and source, and times
each model's ranking.
"""

# No "from __future__ import annotations": FastAPI reads the local annotations of the
# routes when they are defined.
import hashlib
import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from fastapi import FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from pydantic import BaseModel
from starlette.concurrency import run_in_threadpool

from recsys.errors import ConfigError, RecsysError
from recsys.serving import routes
from recsys.serving.gate import LATENCY_BUCKETS, Metrics, error
from recsys.serving.impressions import ImpressionLog
from recsys.serving.schemas import (
    BasketAnswer,
    Health,
    ItemAnswer,
    Results,
    UserAnswer,
    documented_body,
    error_responses,
)
from recsys.serving.served import LoadedModel, ModelHolder, clip

DEFAULT_SALT = "recsys"
_SCALE = float(1 << 64)


def parse_split(text: str) -> dict[str, float]:
    """``"a:90,b:10"`` as ``{"a": 90.0, "b": 10.0}``.

    Examples
    --------
    >>> parse_split("a:90, b:10")
    {'a': 90.0, 'b': 10.0}
    """
    split: dict[str, float] = {}
    for part in text.split(","):
        name, sep, share = part.strip().partition(":")
        try:
            value = float(share)
        except ValueError:
            value = -1.0
        if not sep or not name or value < 0 or name in split:
            raise ConfigError(f"--split: {part.strip()!r} is not NAME:SHARE (a model named "
                              "once, a share >= 0), e.g. a:90,b:10")
        split[name] = value
    return split


def canonical_bytes(user: Any) -> bytes:
    """The bytes of a user id that the arm hash reads: its type and its value."""
    if isinstance(user, str):
        return b"s:" + user.encode("utf-8", "surrogatepass")
    if isinstance(user, (int, np.integer)) and not isinstance(user, bool):
        return b"i:" + str(int(user)).encode()
    raise ConfigError(f"user ids are strings or integers, got {type(user).__name__}")


def bucket(user: Any, salt: str = DEFAULT_SALT) -> float:
    """Where ``user`` falls in ``[0, 1)``: a keyed BLAKE2b hash of its id, the same in every
    process.

    Examples
    --------
    >>> 0 <= bucket("u1") < 1 and bucket("u1") == bucket("u1") != bucket("u1", salt="x")
    True
    """
    digest = hashlib.blake2b(canonical_bytes(user), digest_size=8,
                             key=salt.encode("utf-8")[:64]).digest()
    return int.from_bytes(digest, "big") / _SCALE


class Arms:
    """The served models by name and how users are split between them.

    Parameters
    ----------
    holders : dict name -> ModelHolder
    split : dict name -> share
        Shares (any positive scale: 90/10, 0.9/0.1); each name must be a served model.
        Models left out get no traffic but answer requests that name them.
    salt : str
        Key of the assignment hash.
    """

    def __init__(self, holders: Mapping[str, ModelHolder], split: Mapping[str, float],
                 salt: str = DEFAULT_SALT) -> None:
        unknown = sorted(set(split) - set(holders))
        if unknown:
            raise ConfigError(f"--split names {unknown}, which are not served models "
                              f"({sorted(holders)})")
        total = float(sum(split.values()))
        if total <= 0:
            raise ConfigError("--split: the shares add up to 0")
        self.holders = dict(holders)
        self.names = list(split)
        self.bounds = np.cumsum([split[name] / total for name in self.names])
        self.bounds[-1] = 1.0  # rounding must not leave a sliver unassigned
        self.split = {name: split[name] / total for name in self.names}
        self.salt = salt
        self.default = max(self.names, key=lambda name: self.split[name])

    def assign(self, users: list) -> list[str]:
        """The arm of each user."""
        where = np.searchsorted(self.bounds, [bucket(u, self.salt) for u in users],
                                side="right")
        return [self.names[min(i, len(self.names) - 1)] for i in where.tolist()]


class ArmMetrics:
    """Per-model counts and ranking times, in the service's registry."""

    def __init__(self, metrics: Metrics, arms: Arms) -> None:
        registry = metrics.registry
        self.answers = Counter("recsys_model_answers", "Users answered, by model and source",
                               ["model", "source"], registry=registry)
        self.latency = Histogram("recsys_model_ranking_seconds",
                                 "Time one model took to rank its users of a request",
                                 ["model"], buckets=LATENCY_BUCKETS, registry=registry)
        self.info = Gauge("recsys_arm_info", "Served models, with their share of traffic",
                          ["model", "model_class", "version"], registry=registry)
        self.arms = arms

    def served(self) -> None:
        self.info.clear()
        for name, holder in self.arms.holders.items():
            loaded = holder.current
            self.info.labels(name, type(loaded.model).__name__, loaded.version).set(
                self.arms.split.get(name, 0.0))


def add_arm_routes(app: FastAPI, arms: Arms, metrics: Metrics,
                   schemas: dict[str, type[BaseModel]], max_results: int,
                   root: Path | None, impressions: ImpressionLog | None = None,
                   workers: int = 1) -> None:
    """The endpoints of a service of several models (``/recommend`` answers go to the
    ``impressions`` log when there is one)."""
    RecommendBody, SimilarBody, BasketBody = (schemas[name] for name in
                                              ("recommend", "similar", "basket"))
    arm_metrics = ArmMetrics(metrics, arms)
    arm_metrics.served()
    errors = error_responses(401, 403, 404, 408, 413, 422)

    def named(body: Any) -> str | Response:
        if body.model is None:
            return arms.default
        if body.model not in arms.holders:
            return error(422, f"model: unknown model {clip(body.model)!r}; served: "
                              f"{sorted(arms.holders)}")
        return body.model

    def rank_users(body: Any, users: list) -> Response:
        chosen = named(body) if body.model is not None else None
        if isinstance(chosen, Response):
            return chosen
        arm_of = [chosen] * len(users) if chosen is not None else arms.assign(users)
        history = routes.history_for(users, body.history)
        by_user: dict[Any, dict] = {}
        versions = {}
        for name in dict.fromkeys(arm_of):
            members = [u for u, arm in zip(users, arm_of, strict=True) if arm == name]
            loaded = arms.holders[name].current
            started = time.perf_counter()
            given = None if history is None else {u: history[u] for u in members
                                                  if u in history}
            answers = routes.recommend_answers(body, loaded.model, members, given or None,
                                               name)
            arm_metrics.latency.labels(name).observe(time.perf_counter() - started)
            for answer in answers:
                arm_metrics.answers.labels(name, answer["source"]).inc()
                by_user[answer["user"]] = answer
            versions[name] = loaded.version
        results = [by_user[u] for u in users if u in by_user]
        if impressions is not None:
            impressions.record(results)
        if body.users is not None:
            payload: Any = {"results": results}
        else:
            payload = results[0] if results else {"user": body.user, "model": arm_of[0],
                                                  "items": []}
        header = ",".join(f"{name}={version}" for name, version in versions.items())
        return Response(json.dumps(payload, separators=(",", ":"), allow_nan=False),
                        media_type="application/json", headers={"X-Model-Version": header})

    @app.post("/recommend", response_model=UserAnswer | Results, responses=errors,
              openapi_extra=documented_body(RecommendBody, {"user": "u1", "k": 10}))
    async def recommend(request: Request) -> Response:
        body = await routes.read_body(request, RecommendBody)
        users = [body.user] if body.users is None else body.users
        too_many = routes.over_limit(len(users), body.k, body, max_results)
        if too_many is not None:
            return too_many
        return await run_in_threadpool(rank_users, body, users)

    def one_model(call: Any) -> Any:
        def run(body: Any) -> Response:
            name = named(body)
            if isinstance(name, Response):
                return name
            return call(body, arms.holders[name].current)
        return run

    @app.post("/similar-items", response_model=ItemAnswer | Results, responses=errors,
              openapi_extra=documented_body(SimilarBody))
    async def similar_items(request: Request) -> Response:
        body = await routes.read_body(request, SimilarBody)
        queries = 1 if body.items is None else len(body.items)
        too_many = routes.over_limit(queries, body.k, body, max_results)
        if too_many is not None:
            return too_many
        return await run_in_threadpool(one_model(routes.similar_answer), body)

    @app.post("/basket", response_model=BasketAnswer, responses=errors,
              openapi_extra=documented_body(BasketBody))
    async def basket(request: Request) -> Response:
        body = await routes.read_body(request, BasketBody)
        too_many = routes.over_limit(1, body.k, body, max_results)
        if too_many is not None:
            return too_many
        return await run_in_threadpool(one_model(routes.basket_answer), body)

    @app.get("/health", response_model=Health)
    async def health() -> dict:
        return {"status": "ok"}

    @app.get("/model", responses=error_responses(401, 403))
    async def model_info() -> dict:
        return {"split": arms.split, "default": arms.default,
                "models": {name: holder.current.describe(root)
                           for name, holder in arms.holders.items()}}

    @app.post("/reload", responses=error_responses(401, 403, 409, 422))
    def reload() -> Any:
        """Reload every model from its directory, in turn (one that cannot be loaded keeps
        its previous model, and the answer says which)."""
        if workers > 1:
            return error(409, f"this service runs {workers} worker processes and a request "
                              "reaches only one of them: save the new models over the served "
                              "directories instead (every worker reloads them)")
        try:
            loaded: dict[str, LoadedModel] = {name: holder.reload()
                                              for name, holder in arms.holders.items()}
        except RecsysError as exc:
            metrics.served(None)
            return error(422, routes.redact(str(exc), root))
        arm_metrics.served()
        return {name: item.describe(root) for name, item in loaded.items()}

    @app.get("/metrics", responses=error_responses(401, 403))
    async def prometheus() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)
