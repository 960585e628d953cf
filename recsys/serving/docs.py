"""``/docs`` without internet: Swagger UI served from the ``swagger-ui-bundle`` package.

FastAPI's own ``/docs`` page loads Swagger UI from a CDN, so it is blank on a machine without
internet access. Here the page and its assets come from this process. The bundled Swagger UI
(4.x) reads OpenAPI 3.0, while FastAPI writes 3.1: the page reads a 3.0 rendering of the same
schema (``/docs/openapi.json``); ``/openapi.json`` stays the 3.1 original.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

ASSETS = "/docs/assets"


def add_docs(app: FastAPI) -> bool:
    """Serve ``/docs`` from local assets; False (and no ``/docs``) when the
    ``swagger-ui-bundle`` package is not installed."""
    try:
        from swagger_ui_bundle import swagger_ui_path
    except ImportError:
        return False
    app.mount(ASSETS, StaticFiles(directory=swagger_ui_path), name="swagger-ui")
    schema: list[dict] = []

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/docs/openapi.json", title=f"{app.title} - API",
            swagger_js_url=f"{ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS}/favicon-32x32.png")

    @app.get("/docs/openapi.json", include_in_schema=False)
    async def docs_schema() -> JSONResponse:
        if not schema:
            schema.append(openapi_30(app.openapi()))
        return JSONResponse(schema[0])

    return True


def openapi_30(document: dict) -> dict:
    """An OpenAPI 3.1 document written as 3.0: ``anyOf [X, null]`` becomes ``X`` with
    ``nullable``, ``examples`` lists become one ``example``, ``const`` becomes ``enum``.

    Examples
    --------
    >>> openapi_30({"openapi": "3.1.0", "s": {"anyOf": [{"type": "string"},
    ...                                                 {"type": "null"}]}})
    {'openapi': '3.0.3', 's': {'type': 'string', 'nullable': True}}
    """
    return {**_to_30(document), "openapi": "3.0.3"}


def _to_30(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: _to_30(value) for key, value in node.items()}
    options = node.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [option for option in options if option != {"type": "null"}]
        node.pop("anyOf")
        node.update(rest[0] if len(rest) == 1 else {"anyOf": rest})
        node["nullable"] = True
    if isinstance(node.get("examples"), list) and node["examples"]:
        node["example"] = node.pop("examples")[0]
    if "const" in node:
        node["enum"] = [node.pop("const")]
    return node
