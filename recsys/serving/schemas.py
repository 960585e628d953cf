"""Request and answer schemas of the HTTP service.

Requests are validated by these pydantic models (limits come from the app's settings). The
answer models are never built on the hot path (answers are serialized directly); they
document in the OpenAPI schema what each endpoint really returns, errors included.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    StrictInt,
    StrictStr,
    model_validator,
)

Id = StrictInt | StrictStr  # strict: 1.0 or true is not an id, "1" and 1 are different ids
# Ids that events add to a model are kept, in memory and in the log, for good: bounded.
MAX_ID_CHARS = 256
NewId = (Annotated[StrictInt, Field(ge=-2**127, lt=2**128)]
         | Annotated[StrictStr, Field(min_length=1, max_length=MAX_ID_CHARS)])
# Weights add up in float32 histories: keep each far from its limits.
MAX_WEIGHT = 1e6
# The longest reload path accepted (Linux's PATH_MAX); longer is a 422, not an OS error.
MAX_PATH_CHARS = 4096


# A filter over item attributes and named sets (see recsys.data.attributes): checked when
# it is compiled, against the served model's attributes, so that the error names the field.
Where = Annotated[dict[str, Any], Field(
    description='filter over item attributes and named sets, e.g. {"in_stock": true, '
                '"price": {"lt": 500}, "category": {"in": ["phones"]}, "set": "promo"}; '
                'and / or / not combine filters',
    examples=[{"in_stock": True, "price": {"lt": 500}}])]
ModelName = Annotated[str, Field(min_length=1, max_length=100,
                                 description="the served model to ask (A/B serving)")]
# Candidates ranked per list for diversify, as a multiple of k: bounded per request.
MAX_FETCH = 20


class DiversifyOptions(BaseModel):
    """Re-ranking for diversity (``recsys.models.diversify.Diversify``)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    by: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="item attribute for MMR (items of one value count as alike)")
    lambda_: Annotated[float, Field(ge=0, le=1, alias="lambda")] = 0.7
    max_per: Annotated[dict[str, Annotated[int, Field(ge=1, strict=True)]],
                       Field(max_length=20)] | None = Field(
        None, description='at most this many items per attribute value, e.g. {"brand": 2}')
    fetch: Annotated[int, Field(ge=1, le=MAX_FETCH, strict=True)] = 5

    @model_validator(mode="after")
    def _something(self) -> DiversifyOptions:
        if self.by is None and not self.max_per:
            raise ValueError("diversify needs 'by' (MMR) or 'max_per' (caps), or both")
        return self


def request_models(max_k: int, max_list: int,
                   max_events: int = 10_000) -> dict[str, type[BaseModel]]:
    """Request schemas with this app's limits (k in [1, max_k], lists up to max_list, event
    batches up to max_events)."""
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
        where: Where | None = None
        diversify: DiversifyOptions | None = None
        explain: Annotated[bool, Field(strict=True)] = Field(
            False, description='add "because" to each item: the history items (or other '
                               "parts) its score comes from")
        model: ModelName | None = None

        @model_validator(mode="after")
        def _one_query(self) -> RecommendBody:
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
        where: Where | None = None
        model: ModelName | None = None

        @model_validator(mode="after")
        def _one_query(self) -> SimilarBody:
            if (self.item is None) == (self.items is None):
                raise ValueError("give exactly one of 'item' or 'items'")
            return self

    class BasketBody(Body):
        items: IdList
        k: K = 10
        candidates: IdList | None = None
        exclude: IdList | None = None
        strict: bool = False
        where: Where | None = None
        model: ModelName | None = None

    class ReloadBody(Body):
        path: Annotated[str, Field(min_length=1, max_length=MAX_PATH_CHARS)] | None = None

    class Event(Body):
        user: NewId
        item: NewId
        weight: Annotated[float, Field(gt=0, le=MAX_WEIGHT, allow_inf_nan=False,
                                       strict=True)] = 1.0
        timestamp: Annotated[float, Field(ge=0, allow_inf_nan=False, strict=True,
                                          description="seconds since 1970 (default: when "
                                                      "the batch arrives)")] | None = None
        type: Annotated[str, Field(min_length=1, max_length=64)] | None = None

    Features = Annotated[dict[Annotated[str, Field(min_length=1, max_length=MAX_ID_CHARS)],
                              StrictStr | Annotated[float, Field(allow_inf_nan=False)] | bool
                              | IdList | None], Field(max_length=max_list)]

    class Item(Body):
        item: NewId
        features: Features

    EventBatch = RootModel[Annotated[list[Event], Field(min_length=1, max_length=max_events)]]
    ItemBatch = RootModel[Annotated[list[Item], Field(min_length=1, max_length=max_events)]]

    return {"recommend": RecommendBody, "similar": SimilarBody, "basket": BasketBody,
            "reload": ReloadBody, "events": EventBatch, "items": ItemBatch}


# --------------------------------------------------------------------------- answers


class Part(BaseModel):
    kind: str = Field(description='"item" (a history item), "factor", "feature", "member", ...')
    name: Any
    share: float | None = Field(description="contribution / score (the shares sum to 1)")


class Ranked(BaseModel):
    item: Id
    score: float | None = Field(description="null where the family has no evidence")
    because: list[Part] | None = Field(None, description='with "explain": true; null for '
                                                         "the fallback ranking")


class UserAnswer(BaseModel):
    user: Id
    model: str | None = Field(None, description="the model that answered (A/B serving)")
    source: Literal["model", "fallback"] = Field(
        description="ranked by the model, or by the fallback (popularity) for a user it "
                    "knows nothing about")
    items: list[Ranked]


class ItemAnswer(BaseModel):
    item: Id
    items: list[Ranked]


class Results(BaseModel):
    results: list[UserAnswer] | list[ItemAnswer]


class BasketAnswer(BaseModel):
    items: list[Ranked]


class ModelInfo(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    class_: str = Field(alias="class")
    params: dict[str, Any]
    version: str
    recsys_version: str | None
    format_version: int | None
    saved_at: str | None
    loaded_at: str
    path: str = Field(description="relative to the models root")
    n_users: int
    n_items: int
    events_seq: int = Field(description="the last event log record applied (0: none)")


class Appended(BaseModel):
    applied: int = Field(description="records applied: every record of the batch")
    first_seq: int = Field(description="the event log's sequence number of the first one")
    last_seq: int = Field(description="... and of the last one")


class Health(BaseModel):
    status: Literal["ok"]


class Problem(BaseModel):
    loc: list[str | int]
    msg: str
    type: str


class ErrorAnswer(BaseModel):
    detail: str
    ids: list[Id] | None = Field(None, description="unknown ids (404, 422), cut to a few")
    errors: list[Problem] | None = Field(None, description="what is invalid (422)")


def error_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error answers an endpoint can give."""
    meaning = {401: "no API key", 403: "wrong API key, or a reload path outside the root",
               404: "unknown user or item",
               409: "reload by request is off (several workers), or no event log",
               408: "the body did not arrive in time", 413: "request body too large",
               422: "invalid request, unknown evidence, or a model that cannot be loaded",
               503: "the event log could not be written (nothing applied)"}
    return {code: {"model": ErrorAnswer, "description": meaning[code]} for code in codes}


def documented_body(schema: type[BaseModel], example: dict | list | None = None) -> dict:
    """OpenAPI of a body read by hand (FastAPI cannot infer it from the signature)."""
    content: dict[str, Any] = {"schema": schema.model_json_schema(
        ref_template="#/components/schemas/{model}")}
    if example is not None:
        content["example"] = example
    return {"requestBody": {"required": True, "content": {"application/json": content}}}


def item_rule_models(max_rows: int, max_set: int) -> dict[str, type[BaseModel]]:
    """Bodies of ``PUT /items/attributes`` and ``PUT /item-sets/{name}``."""

    class AttributesBody(BaseModel):
        model_config = ConfigDict(extra="forbid")

        rows: Annotated[list[dict[str, Any]], Field(
            max_length=max_rows,
            description='one object per item: {"item": id, "in_stock": false, ...}; an '
                        "attribute left out keeps its value, null makes it missing",
            examples=[[{"item": "i1", "in_stock": False, "price": 499.0}]])]
        replace: bool = Field(False, description="the rows are the whole new table")

    class ItemSetBody(BaseModel):
        model_config = ConfigDict(extra="forbid")

        items: Annotated[list[Id], Field(max_length=max_set)]

    return {"attributes": AttributesBody, "item_set": ItemSetBody}


class RulesAnswer(BaseModel):
    attributes: list[str] = Field(description="the attributes the served model now has")
    sets: dict[str, int] = Field(description="named item sets and their sizes")
    unknown_items: int = Field(0, description="items of the request the model does not know "
                                              "(kept for the next fit, unused until then)")
