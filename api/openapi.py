"""The OpenAPI spec: generated from the routes, committed as ``api/openapi.json``, checked for drift.

Regenerate with ``make openapi`` (``rm-advisor openapi --out api/openapi.json``); a test fails when
the committed file differs from what the code generates.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI, routing
from fastapi.routing import APIRoute

from rm_advisor.api.deps import require_key
from rm_advisor.api.middleware import REVISION_HEADER
from rm_advisor.api.problems import MEDIA_TYPE
from rm_advisor.engine.language import (
    DATE_PATTERN,
    ID_MAX_LENGTH,
    ID_PATTERN,
    INT_MAX,
    INT_MIN,
    TEXT_PATTERN,
    FactSpec,
    FieldSpec,
    KnowledgeBase,
)

SPEC_PATH = Path(__file__).with_name("openapi.json")
#: every answer names the rule-set revision that produced it (api/middleware.py sets it)
_REVISION_DOC = {"description": "the rule-set revision that was serving", "schema": {"type": "string"}}


def _needs_key(route: APIRoute) -> bool:
    def calls(dependant: Any) -> Iterator[Any]:
        for dep in dependant.dependencies:
            yield dep.call
            yield from calls(dep)

    return require_key in calls(route.dependant)


#: what a posted value of each field type may be (engine/language/values.py: the facts validator's rules)
_FIELD_TYPES: dict[str, dict[str, Any]] = {
    "string": {"type": "string", "pattern": TEXT_PATTERN},
    "integer": {"type": "integer", "minimum": INT_MIN, "maximum": INT_MAX}, "number": {"type": "number"},
    "boolean": {"type": "boolean"}, "date": {"type": "string", "format": "date", "pattern": DATE_PATTERN},
    "enum": {"type": "string"}}
_ID = {"type": "string", "minLength": 1, "maxLength": ID_MAX_LENGTH, "pattern": ID_PATTERN}


def _field_schema(spec: FieldSpec, identifier: bool = False) -> dict[str, Any]:
    schema = dict(_ID if identifier and spec.type == "string" else _FIELD_TYPES[spec.type])
    if spec.type == "enum":
        schema["enum"] = list(spec.values or ())
    if spec.type in ("integer", "number"):
        schema |= {k: v for k, v in (("minimum", spec.min), ("maximum", spec.max)) if v is not None}
    unit = f" ({spec.unit})" if spec.unit else ""
    return schema | {"description": spec.description.en + unit}


def _fact_schema(name: str, spec: FactSpec) -> dict[str, Any]:
    """One fact type as the engine checks a posted fact: its fields and no others; a field that is
    not required may be null (null means missing)."""
    ids = {"id", *spec.links.values()}
    props = {field: _field_schema(f, field in ids) if f.required
             else {"anyOf": [_field_schema(f, field in ids), {"type": "null"}]} for field, f in spec.fields.items()}
    schema = {"type": "object", "title": f"{name} fact", "description": spec.description.en, "properties": props,
              "required": [field for field, f in spec.fields.items() if f.required], "additionalProperties": False}
    links = list(spec.links.values())
    if links and not any(spec.fields[f].required for f in links):  # fact_unlinked: it must name one of them
        schema["anyOf"] = [{"required": [f], "properties": {f: {"not": {"type": "null"}}}} for f in links]
    return schema


def facts_schemas(kb: KnowledgeBase, description: str) -> dict[str, dict[str, Any]]:
    """The facts document as the engine checks it (FastAPI's model of it is loose on purpose, so
    the engine reports every problem with its pointer): the knowledge base's fact lists and
    ``as_of``, nothing else, each fact with the fields of its type. Component name -> schema."""
    facts = {f"{name.capitalize()}Fact": _fact_schema(name, spec) for name, spec in kb.facts.items()}
    props: dict[str, Any] = {"as_of": {"anyOf": [_FIELD_TYPES["date"], {"type": "null"}],
                                       "description": "the date relative conditions use (default: today)"}}
    for name, spec in kb.facts.items():
        props[spec.plural] = {"type": "array", "items": {"$ref": f"#/components/schemas/{name.capitalize()}Fact"},
                              "description": f"{name} facts (`GET /v1/catalogues/facts`)"}
    document = {"type": "object", "title": "FactsDocument", "description": description, "properties": props,
                "additionalProperties": False}
    return {"FactsDocument": document, **facts}


#: operation ids where a route function's name would not say what it does in a generated client
_OPERATION_IDS = {
    "action": "get_action", "actions": "list_actions", "coaching": "list_coaching_topics",
    "coaching_topic": "get_coaching_topic", "signals": "list_signals", "fact_types": "list_fact_types",
    "feedback_reasons": "list_feedback_reasons", "add": "add_feedback", "recent": "list_decisions",
    "logged": "get_decision", "replay": "replay_decision", "explain_logged": "explain_decision",
    "check": "check_rules", "info": "get_rule_set", "reload": "reload_rule_set",
    "effectiveness": "get_effectiveness", "purge_route": "purge_decisions", "forget_route": "forget_client",
    "erasures_route": "list_erasures", "prometheus_metrics": "get_metrics",
}


def operation_id(route: APIRoute) -> str:
    """A route's stable operation id, which generated clients use as the method name
    (``decide_one``, ``get_worklist``, ``add_feedback``): its function's name, or the name above
    where that would be vague. tests/api/test_openapi.py checks they are unique and unchanged."""
    return _OPERATION_IDS.get(route.name, route.name)


def refine(app: FastAPI) -> None:
    """Corrections FastAPI cannot express: error responses are ``application/problem+json`` (what
    they are sent as); the API key is optional on reading routes (needed only when the server runs
    with ``protect_reads``); and what the knowledge base being served decides is stated: a facts
    document as the engine checks it (its fact types and fields, no others) and the reason codes
    feedback may give."""
    generate: Callable[[], dict[str, Any]] = app.openapi
    # the routes of included routers too (FastAPI keeps them in their routers)
    keyed = {(r.path_format, m.lower()) for r in routing.iter_route_contexts(app.router.routes)
             if isinstance(r.original_route, APIRoute) and _needs_key(r.original_route) for m in r.methods or ()}

    made_for: list[str] = []  # the revision whose knowledge base the spec states

    def openapi() -> dict[str, Any]:
        loaded = app.state.live.current()
        if app.openapi_schema is None or made_for != [loaded.revision]:
            app.openapi_schema = None  # a reload may have changed the knowledge base: generate again
            made_for[:] = [loaded.revision]
            schema = generate()
            components = schema.get("components", {}).get("schemas", {})
            kb = loaded.book.kb
            if "FactsDocument" in components:
                components.update(facts_schemas(kb, components["FactsDocument"].get("description", "")))
                schema["components"]["schemas"] = dict(sorted(components.items()))
            reason = components.get("FeedbackIn", {}).get("properties", {}).get("reason_code", {})
            for branch in reason.get("anyOf", []):
                if branch.get("type") == "string" and kb.feedback_reasons:
                    branch["enum"] = sorted(kb.feedback_reasons)  # the reason catalogue served now
            for path, operations in schema.get("paths", {}).items():
                for method, operation in operations.items():
                    if "security" in operation and (path, method) not in keyed:
                        operation["security"] = [{}, *operation["security"]]
                    for status, response in operation.get("responses", {}).items():
                        response.setdefault("headers", {})[REVISION_HEADER] = _REVISION_DOC
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
