"""Item rules over HTTP: ``PUT /items/attributes``, ``PUT`` and ``DELETE /item-sets/{name}``.

Both change the served model(s) in memory, without a refit: a new attribute table is built
and checked completely aside, then attached with one assignment per model, so a request sees
the old table or the new one, and a bad request changes nothing. The changes live as long as
the loaded model: a reload brings back what was saved with the model (save the model with
its attributes, or send them again after a reload).
"""

# No "from __future__ import annotations": FastAPI reads the bodies' local annotations when
# the routes are defined.
import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Annotated, Any

import numpy as np
from fastapi import FastAPI, Path
from fastapi.responses import Response
from pydantic import BaseModel

from recsys.data.attributes import updated_attributes
from recsys.data.ids import as_id_array
from recsys.models.base import Recommender
from recsys.serving.gate import error
from recsys.serving.schemas import RulesAnswer, error_responses

SetName = Annotated[str, Path(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:-]+$")]


def add_item_routes(app: FastAPI, models: Callable[[], list[Recommender]],
                    schemas: dict[str, type[BaseModel]], workers: int,
                    writing: Sequence[threading.Lock]) -> None:
    """The item-rule endpoints over the served models (``models()``: every model served
    now, all of which get the same rules). A change holds ``writing``, the served models'
    write locks (always taken in the same order): an event batch applied to a copy of a
    model meanwhile would otherwise swap in a copy without the change."""
    AttributesBody, ItemSetBody = schemas["attributes"], schemas["item_set"]
    errors = error_responses(401, 403, 409, 413, 422)

    @contextlib.contextmanager
    def lock() -> Iterator[None]:
        with contextlib.ExitStack() as held:
            for each in writing:
                held.enter_context(each)
            yield

    def single_process() -> Response | None:
        if workers > 1:
            return error(409, f"this service runs {workers} worker processes and a request "
                              "reaches only one of them: attach item rules to the model "
                              "before saving it instead")
        return None

    @app.put("/items/attributes", response_model=RulesAnswer, responses=errors)
    def put_attributes(body: AttributesBody) -> Any:  # type: ignore[valid-type]
        refused = single_process()
        if refused is not None:
            return refused
        given: Any = body  # a schema built at run time: its fields are unknown to mypy
        with lock():
            served = models()
            tables = [updated_attributes(model.__dict__.get("_item_table"), given.rows,
                                         replace=given.replace) for model in served]
            for model, table in zip(served, tables, strict=True):  # all checked: attach
                model.set_item_attributes(table)
            return _summary(served[0], tables[0].index)

    @app.put("/item-sets/{name}", response_model=RulesAnswer, responses=errors)
    def put_item_set(name: SetName, body: ItemSetBody) -> Any:  # type: ignore[valid-type]
        refused = single_process()
        if refused is not None:
            return refused
        ids = as_id_array(getattr(body, "items"))  # noqa: B009 (a schema built at run time)
        with lock():
            served = models()
            for model in served:
                model.item_sets[name] = ids
            return _summary(served[0], ids)

    @app.delete("/item-sets/{name}", response_model=RulesAnswer,
                responses=error_responses(401, 403, 404, 409))
    def delete_item_set(name: SetName) -> Any:
        refused = single_process()
        if refused is not None:
            return refused
        with lock():
            served = models()
            if name not in served[0].item_sets:
                return error(404, f"no item set {name!r}")
            for model in served:
                model.item_sets.pop(name, None)
            return _summary(served[0], np.zeros(0, object))


def _summary(model: Recommender, given: Any) -> dict:
    found = model.items_.to_index(as_id_array(given), missing="ignore")
    return {"attributes": [str(c) for c in model.item_attributes.columns],
            "sets": {name: int(mask.sum()) for name, mask in model.item_sets.masks().items()},
            "unknown_items": int((found < 0).sum())}
