"""Hostile inputs found by issue 12, shared by the regression tests of the library, the API, the
CLI and the store: each is sent as found, and each must be refused with a located problem.

``HOSTILE`` maps a name to (facts document, the engine's diagnostics as (code, path)). Documents
hold NaN, lone surrogates and NUL characters: send them with :func:`body` (JSON as a hostile client
writes it: ``NaN`` and ``\\ud800`` escapes).
"""

from __future__ import annotations

import json
from typing import Any

AS_OF = "2026-11-23"
MAX = "9999-12-31"


def telecom(as_of: str = AS_OF, interactions: list[dict[str, Any]] | None = None, **fields: Any) -> dict[str, Any]:
    """A telecom group client C1 of manager M1 whose agreement expires soon (so date rules fire)."""
    doc: dict[str, Any] = {
        "as_of": as_of,
        "clients": [{"id": "C1", "manager_id": "M1", "name": "联通集团客户", "domain": "telecom",
                     "agreement_expiry": "2026-12-10", "arrears_days": 40, "arrears_amount": 5000, **fields}],
        "managers": [{"id": "M1", "name": "王经理", "domain": "telecom"}]}
    if interactions is not None:
        doc["interactions"] = interactions
    return doc


def _note(text: str) -> list[dict[str, Any]]:
    return [{"id": "I1", "client_id": "C1", "kind": "complaint", "status": "open", "date": "2026-11-01", "note": text}]


HOSTILE: dict[str, tuple[dict[str, Any], list[tuple[str, str]]]] = {
    "as_of_0001": (telecom(as_of="0001-01-01"), [("fact_bad_value", "as_of")]),
    "as_of_9999": (telecom(as_of=MAX), [("fact_bad_value", "as_of")]),
    "expiry_and_as_of_9999": (telecom(as_of=MAX, agreement_expiry=MAX),
                              [("fact_bad_value", "as_of"), ("fact_bad_value", "clients[0].agreement_expiry")]),
    "surrogate_name": (telecom(name="\ud800"), [("fact_bad_value", "clients[0].name")]),
    "surrogate_id": (telecom(id="\ud800"), [("fact_bad_value", "clients[0].id")]),
    "surrogate_contact_person": (telecom(contact_person="张\udfff"), [("fact_bad_value", "clients[0].contact_person")]),
    "surrogate_note": (telecom(interactions=_note("\ud800")), [("fact_bad_value", "interactions[0].note")]),
    "nan": (telecom(usage_rate_pct=float("nan")), [("fact_bad_value", "clients[0].usage_rate_pct")]),
    "infinity": (telecom(arrears_amount=float("inf")), [("fact_bad_value", "clients[0].arrears_amount")]),
    "minus_infinity": (telecom(order_trend_pct=float("-inf")), [("fact_bad_value", "clients[0].order_trend_pct")]),
    "nul_id": (telecom(id="C\x001"), [("fact_bad_value", "clients[0].id")]),
    "nul_name": (telecom(name="a\x00b"), [("fact_bad_value", "clients[0].name")]),
    "nul_note": (telecom(interactions=_note("\x00")), [("fact_bad_value", "interactions[0].note")]),
    "id_too_long": (telecom(id="C" * 201), [("fact_bad_value", "clients[0].id")]),
    "huge_integer": (telecom(arrears_days=10**30), [("fact_bad_value", "clients[0].arrears_days")]),
}

#: Documents the PostgreSQL decision log could not store before (a 500 there, 200 on SQLite).
POSTGRES_500 = ("nan", "infinity", "nul_id", "nul_note", "id_too_long")


def body(doc: Any) -> bytes:
    """The JSON a hostile client posts: NaN and Infinity as bare words, surrogates as escapes."""
    return json.dumps(doc, allow_nan=True).encode("ascii")


def pointer(path: str) -> str:
    """The API's JSON pointer of an engine path (``clients[0].name`` -> ``/clients/0/name``)."""
    return "/" + path.replace("[", "/").replace("].", "/").replace("]", "").replace(".", "/")
