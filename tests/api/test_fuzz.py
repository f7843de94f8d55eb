"""Property-based tests at the edges of the fact schema (issue 12: the class of input that gave 500s).

Documents start valid and get a few fields set to values at the edges of what their type allows,
or of another type: dates at the ends of the business calendar and of Python's, malformed dates;
texts with lone surrogates, NUL, control characters, empty or longer than an id may be; NaN,
infinities, -0.0, integers around 2**63 and far beyond, the schema's own min and max. Each is
posted through the library (``Advisor.decide`` with the contact policies) and the HTTP API (logging
into SQLite, and PostgreSQL when reachable): never an exception or a 5xx; either a decision or a
located 4xx problem, the library and the API agree on which, and what is logged is JSON that every
database can hold (no NaN, no NUL).
"""

from __future__ import annotations

import copy
import datetime as dt
import json
import math
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rm_advisor.api.app import create_app
from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.engine import Advisor, FactError
from rm_advisor.engine.errors import CODES
from rm_advisor.engine.language.facts import validate_facts
from rm_advisor.engine.language.knowledge import FieldSpec
from rm_advisor.engine.language.values import DATE_MAX, DATE_MIN, parse_date
from tests.api.conftest import settings as api_settings
from tests.helpers import KB
from tests.hostile import body, telecom
from tests.store.conftest import db_url, pg_base_url  # noqa: F401 (fixtures: SQLite and PostgreSQL)

FUZZ = settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
ONE_DAY = dt.timedelta(days=1)

BASE = telecom(interactions=[{"id": "I1", "client_id": "C1", "kind": "complaint", "status": "open",
                              "date": "2026-11-01", "note": "催缴"}])
BASE["clients"].append({"id": "T1", "manager_id": "M1", "domain": "tobacco", "days_since_last_visit": 40,
                        "network_client": False, "satisfaction": 60})
BASE["team_benchmarks"] = [{"id": "telecom.solution_proposals_90d", "domain": "telecom",
                            "field": "solution_proposals_90d", "managers": 3, "median": 2, "mean": 2.5,
                            "source": "given"}]
BASE["links"] = [{"id": "L1", "kind": "guarantor_of", "from_client": "T1", "to_client": "C1", "since": "2025-01-01"}]

#: Values at the edges of each field type (and beyond them), and malformed ones.
EDGE_DATES: list[Any] = [d.isoformat() for d in (DATE_MIN, DATE_MAX, DATE_MIN - ONE_DAY, DATE_MAX + ONE_DAY,
                                                 dt.date.min, dt.date.max)] + \
    ["2026-13-01", "2026-02-30", "20261123", "2026-W48-1", "2026-11-23T00:00:00", "0", "", 0, 1_700_000_000]
EDGE_TEXTS: list[Any] = ["\ud800", "a\udfff", "\udbff\udc00", "\x00", "C\x001", "", " ", "\n", "\x1b[31m", "x" * 201,
                         "=cmd|' /C calc'!A0", "\u202e", "\ufffe", "零售户"]
EDGE_NUMBERS: list[Any] = [math.nan, math.inf, -math.inf, -0.0, 5e-324, 1e308, -1e308, 2**63 - 1, 2**63, -(2**63),
                           -(2**63) - 1, 10**30, 10**400, 0, -1, 0.5]
OTHER_TYPES: list[Any] = [True, None, [], [1], {}, {"a": 1}, "12", 12]

dates = st.one_of(st.sampled_from(EDGE_DATES), st.dates().map(dt.date.isoformat))
texts = st.one_of(st.sampled_from(EDGE_TEXTS),
                  st.text(st.characters(exclude_categories=()), max_size=6))  # surrogates (Cs), controls too
numbers = st.one_of(st.sampled_from(EDGE_NUMBERS), st.floats(allow_nan=True, allow_infinity=True), st.integers())
anything = st.one_of(dates, texts, numbers, st.sampled_from(OTHER_TYPES))


def edge_values(spec: FieldSpec) -> list[Any]:
    """The edge values of a field's own type, its bounds and one step either side of them."""
    if spec.type == "date":
        return EDGE_DATES
    if spec.type in ("integer", "number"):
        return EDGE_NUMBERS + [b + d for b in (spec.min, spec.max) if b is not None for d in (-1, -1e-9, 0, 1e-9, 1)]
    if spec.type == "enum":
        return [*(spec.values or ()), *EDGE_TEXTS]
    if spec.type == "boolean":
        return [True, False]
    return EDGE_TEXTS


def edge(spec: FieldSpec) -> st.SearchStrategy[Any]:
    """Mostly the edge values of the field's type, else a random value of its type or another."""
    own = {"date": dates, "integer": numbers, "number": numbers, "string": texts}.get(spec.type, texts)
    return st.one_of(st.sampled_from(edge_values(spec)), st.sampled_from(edge_values(spec)), own, anything)


FIELDS_BY_TYPE: dict[str, list[tuple[str, str]]] = {}  # field type -> (plural, field) of every fact type
for _spec in KB.facts.values():
    for _name, _field in _spec.fields.items():
        FIELDS_BY_TYPE.setdefault(_field.type, []).append((_spec.plural, _name))


@st.composite
def documents(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with one to three changes, most often one (so that the change is what is
    judged): a field of a type picked first (dates, texts, numbers... equally often), ``as_of``,
    or a key that the schema does not have."""
    doc = copy.deepcopy(BASE)
    for _ in range(draw(st.sampled_from([1, 1, 1, 2, 3]))):
        kind = draw(st.sampled_from([*sorted(FIELDS_BY_TYPE), "as_of", "key"]))
        if kind == "as_of":
            doc["as_of"] = draw(st.one_of(dates, dates, anything))
        elif kind == "key":
            target = draw(st.sampled_from([doc, *doc["clients"]]))
            target[draw(texts)] = draw(anything)
        else:
            plural, name = draw(st.sampled_from(FIELDS_BY_TYPE[kind]))
            fact = draw(st.sampled_from(doc[plural]))
            fact[name] = draw(edge(KB.facts[KB.plural_to_type()[plural]].fields[name]))
    return doc


def library_accepts(advisor: Advisor, doc: dict[str, Any]) -> bool:
    try:
        decision = advisor.decide(doc, history=[])
    except FactError as exc:
        assert exc.diagnostics
        for d in exc.diagnostics:
            assert d.code in CODES and d.location.path, d
            d.format().encode("utf-8")
        return False
    decision.model_dump_json().encode("utf-8")
    return True


def _portable(value: Any) -> None:
    """JSON that PostgreSQL's JSONB and text columns hold: no NaN or Infinity, no NUL, UTF-8."""
    text = json.dumps(value, allow_nan=False, default=str)  # ValueError on NaN and Infinity
    assert "\\u0000" not in text
    text.encode("utf-8")


def test_every_field_at_its_edges_is_refused_or_storable(advisor: Advisor) -> None:
    """Every field of the schema, set to each edge value of its type (and to values of other types)
    in an otherwise valid document: refused with located diagnostics, or valid facts that any
    database can hold and whose dates and numbers stay in bounds."""
    accepted = 0
    for spec in KB.facts.values():
        for name, field in sorted(spec.fields.items()):
            for value in [*edge_values(field), *OTHER_TYPES]:
                doc = copy.deepcopy(BASE)
                doc[spec.plural][0][name] = value
                try:
                    facts = validate_facts(doc, KB)
                except FactError as exc:
                    for d in exc.diagnostics:
                        assert d.code in CODES and d.location.path, (name, value, d)
                        d.format().encode("utf-8")
                    continue
                accepted += 1
                if value in (edge_values(field)[:1] + edge_values(field)[-1:]):
                    advisor.decide(doc)  # history derives from a field's extreme values without failing
                checked = facts.get(KB.plural_to_type()[spec.plural], doc[spec.plural][0]["id"])
                assert checked is not None
                kept = checked.get(name)
                _portable(kept)
                if isinstance(kept, dt.date):
                    assert DATE_MIN <= kept <= DATE_MAX
                if isinstance(kept, int) and not isinstance(kept, bool):
                    assert -(2**63) <= kept < 2**63
    assert accepted > 100  # the sweep also reaches valid values


@pytest.fixture
def logging_client(db_url: str, live: LiveRuleSet) -> Iterator[TestClient]:
    """An app logging into an empty SQLite file, or PostgreSQL when it is reachable."""
    with TestClient(create_app(api_settings(db_url=db_url), live)) as c:
        yield c


@FUZZ
@given(doc=documents())
def test_facts_at_the_edges_get_a_decision_or_a_located_problem(advisor: Advisor, logging_client: TestClient,
                                                               doc: dict[str, Any]) -> None:
    library_accepts(advisor, doc)
    payload = body(doc)
    # what the server reads: JSON joins "\\udbff\\udc00" into one character, a Python string does not
    accepted = library_accepts(advisor, json.loads(payload))
    r = logging_client.post("/v1/decisions", content=payload, headers={"content-type": "application/json"})
    assert r.status_code in (200, 422), (r.status_code, r.text[:500])
    answer = r.json()  # valid UTF-8 JSON either way
    if r.status_code == 422:
        assert answer["code"] in ("invalid_facts", "invalid_request") and answer["errors"]
        assert all(e.get("pointer") is not None or e.get("parameter") for e in answer["errors"]), answer
    else:  # what was logged can be logged on every database
        assert answer["logged"] is True
        logged = logging_client.app.state.store.decisions.get(answer["decision_id"])  # type: ignore[attr-defined]
        _portable(logged.input)
        _portable(logged.decision.model_dump(mode="python"))
    assert accepted == (r.status_code == 200), (accepted, repr(doc)[:2000], r.text[:300])


def _date_ok(text: str) -> bool:
    try:
        parse_date(text)
    except ValueError:
        return False
    return True


@FUZZ
@given(since=st.one_of(dates.map(str), texts), flag=st.sampled_from(["true", "false", "0", "1", "yes", "True", ""]))
def test_query_dates_and_booleans_are_parsed_as_the_engine_parses_them(client: TestClient, since: str,
                                                                       flag: str) -> None:
    query = quote(since.encode("utf-8", "surrogatepass"), safe="")
    r = client.get(f"/v1/decisions/d-20261123-0000000000000000?explain={flag}")
    assert r.status_code == (404 if flag in ("true", "false") else 422), r.text
    r = client.get(f"/v1/reports/effectiveness?since={query}")
    assert r.status_code < 500, r.text
    decoded = since.encode("utf-8", "surrogatepass").decode("utf-8", "replace")  # as the server reads the URL
    assert (r.status_code == 200) == _date_ok(decoded), (since, r.text)


@pytest.mark.parametrize("doc", [{"as_of": "2199-12-31"}, {"as_of": "1900-01-01", "clients": []}])
def test_an_empty_document_at_the_ends_of_the_calendar_is_decided(advisor: Advisor, doc: dict[str, Any]) -> None:
    assert library_accepts(advisor, doc)
