"""The OpenAPI spec: generated from the routes, committed as ``api/openapi.json``, checked for drift.

Regenerate with ``make openapi`` (``rm-advisor openapi --out api/openapi.json``); a test fails when
the committed file differs from what the code generates.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from api.deps import require_key
from api.problems import MEDIA_TYPE

SPEC_PATH = Path(__file__).with_name("openapi.json")


def _needs_key(route: APIRoute) -> bool:
    def calls(dependant: Any) -> Iterator[Any]:
        for dep in dependant.dependencies:
            yield dep.call
            yield from calls(dep)

    return require_key in calls(route.dependant)


def refine(app: FastAPI) -> None:
    """Two corrections FastAPI cannot express: error responses are ``application/problem+json``
    (what they are sent as), and the API key is optional on reading routes (needed only when the
    server runs with ``protect_reads``)."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    keyed = {(r.path, m.lower()) for r in app.routes if isinstance(r, APIRoute) and _needs_key(r)
             for m in r.methods or ()}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = generate()
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    if "security" in operation and (path, method) not in keyed:
                        operation["security"] = [{}, *operation["security"]]
                    for status, response in operation.get("responses", {}).items():
                        content = response.get("content", {})
                        if status[0] in "45" and "application/json" in content:
                            content[MEDIA_TYPE] = content.pop("application/json")
            app.openapi_schema = schema
        return app.openapi_schema

    # FastAPI documents replacing app.openapi to customise the schema; mypy sees a method assigned
    app.openapi = openapi  # type: ignore[method-assign]


def spec_text(app: FastAPI) -> str:
    """The spec as committed: stable key order, UTF-8, a final newline."""
    return json.dumps(app.openapi(), ensure_ascii=False, indent=2) + "\n"
