"""engine/derivation/per_record.py: a single decision's history derived record by record gives
exactly what the vectorised portfolio derivation gives — every field, value, type, open item and
source — on random books of clients, managers and events (hypothesis), with either precedence."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from rm_advisor.engine.derivation.frames import frame, records
from rm_advisor.engine.derivation.history import Prefer, derive
from rm_advisor.engine.derivation.per_record import derive_records
from rm_advisor.engine.language.subjects import SubjectKey
from tests.helpers import KB

AS_OF = dt.date(2026, 11, 23)
DOMAINS = ["tobacco", "bank", "telecom"]
KINDS = list(KB.facts["interaction"].fields["kind"].values or ())
ITEMS = [*sorted({i.match.item for s in KB.scoring.schemes for i in s.items if i.match.item}), "farmer", "other"]
RATINGS = {f: [None, *(KB.facts["client"].fields[f].values or ())]
           for s in KB.scoring.segmentations for f in s.inputs}

#: the kinds derivations and schemes read, drawn more often than the rest
DERIVED_KINDS = ["visit", "order", "complaint", "stock_check", "loan_event", "interest_due", "bill",
                 "plan_submission", "market_report", "inspection", "credit_file_check", "loan_managed"]


def _day(offset: int) -> dt.date:
    return AS_OF + dt.timedelta(days=offset)


#: mostly within the windows derivations use (28, 84, 90 days; this month, this year), some far
#: back, some after the as-of day, some undated
maybe_day = st.one_of(st.none(), st.integers(-100, 0).map(_day), st.integers(-100, 0).map(_day),
                      st.integers(-400, 40).map(_day))


def _drop_none(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None}


@st.composite
def books(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]]:
    managers = [_drop_none({
        "id": f"M{i}", "domain": draw(st.sampled_from(DOMAINS)),
        "assessment_score": draw(st.one_of(st.none(), st.integers(0, 100))),
        "credit_coop_points": draw(st.one_of(st.none(), st.floats(-50, 50).map(lambda x: round(x, 1)))),
        "plan_lapses_90d": draw(st.one_of(st.none(), st.integers(0, 5)))})
        for i in range(draw(st.integers(1, 3)))]
    clients = [_drop_none({
        "id": f"C{i}", "manager_id": draw(st.sampled_from([m["id"] for m in managers])),
        "domain": draw(st.sampled_from(DOMAINS)),
        "client_class": draw(st.sampled_from([None, "A", "B", "C"])),
        "days_since_last_visit": draw(st.one_of(st.none(), st.integers(0, 200))),
        **{f: draw(st.sampled_from(values)) for f, values in RATINGS.items()}})
        for i in range(draw(st.integers(0, 5)))]
    client_ids = [c["id"] for c in clients] * 3 + [None, "X9"]
    manager_ids = [m["id"] for m in managers] * 3 + [None]
    ids = draw(st.lists(st.sampled_from(["E1", "E2", "E10", "e3", "A7", "Z", "E21", "E02", "b", "E9", "E11",
                                         "Q1", "V1", "P0", "P1", "K1", "I1", "E30", "E31", "E32"]),
                        unique=True, max_size=20))
    ids += [f"N{i}" for i in range(draw(st.integers(0, 20)))]
    events = [_drop_none({
        "id": eid, "kind": draw(st.one_of(st.sampled_from(DERIVED_KINDS), st.sampled_from(KINDS))),
        "client_id": draw(st.sampled_from(client_ids)),
        "manager_id": draw(st.sampled_from(manager_ids)), "date": draw(maybe_day),
        "status": draw(st.sampled_from([None, "open", "closed", "done"])), "closed_date": draw(maybe_day),
        "due_date": draw(maybe_day), "item": draw(st.sampled_from([None, *ITEMS])),
        "amount": draw(st.one_of(st.none(), st.integers(0, 300_000).map(float),
                                 st.floats(0, 1e6).map(lambda x: round(x, 2)))),
        "quantity": draw(st.one_of(st.none(), st.integers(0, 60))),
        "slow_quantity": draw(st.one_of(st.none(), st.integers(0, 30))),
        "new_brand": draw(st.sampled_from([None, True, False])),
        "days_open": draw(st.one_of(st.none(), st.integers(0, 90)))}) for eid in ids]
    return clients, managers, events


def _vectorised(clients: list[dict[str, Any]], managers: list[dict[str, Any]], events: list[dict[str, Any]],
                prefer: Prefer) -> tuple[Any, ...]:
    specs = {t: KB.facts[t] for t in ("client", "manager", "interaction")}
    d = derive(frame(clients, specs["client"]), frame(managers, specs["manager"]),
               frame(events, specs["interaction"]), AS_OF, KB, prefer)
    return (records(d.clients, specs["client"]), records(d.managers, specs["manager"]),
            records(d.interactions, specs["interaction"]), d.sources)


def _typed(rows: list[dict[str, Any]]) -> list[list[tuple[str, type, Any]]]:
    """Fields in order with their Python types: 5 and 5.0 are equal but not the same answer."""
    return [[(k, type(v), v) for k, v in r.items()] for r in rows]


@settings(max_examples=150, deadline=None)
@given(books(), st.sampled_from(["given", "history"]))
def test_per_record_derivation_equals_the_vectorised_one(
        book: tuple[list[dict[str, Any]], list[dict[str, Any]], list[dict[str, Any]]], prefer: Prefer) -> None:
    clients, managers, events = book
    want_clients, want_managers, want_items, want_sources = _vectorised(clients, managers, events, prefer)
    got = derive_records(clients, managers, events, AS_OF, KB, prefer)
    assert _typed(got.clients) == _typed(want_clients)
    assert _typed(got.managers) == _typed(want_managers)
    assert _typed(got.interactions) == _typed(want_items)
    assert got.sources == want_sources


def test_a_hand_built_book_derives_its_fields() -> None:
    """One worked example, so a failure of the property above has a readable neighbour."""
    day = AS_OF.isoformat()
    clients = [{"id": "T1", "manager_id": "M1", "domain": "tobacco", "business_scale": "large",
                "business_ability": "strong", "credit_standing": "good", "social_relations": "strong"}]
    managers = [{"id": "M1", "domain": "tobacco"}]
    events = [{"id": "V1", "kind": "visit", "client_id": "T1", "manager_id": "M1", "date": AS_OF - dt.timedelta(9)},
              {"id": "Q1", "kind": "complaint", "client_id": "T1", "manager_id": "M1", "status": "open",
               "date": AS_OF - dt.timedelta(20)},
              {"id": "S1", "kind": "inspection", "manager_id": "M1", "item": "visit_not_on_schedule",
               "date": AS_OF - dt.timedelta(3)}]
    got = derive_records(clients, managers, events, AS_OF, KB)
    [client], [manager] = got.clients, got.managers
    assert (client["days_since_last_visit"], client["open_complaints"], client["client_class"]) == (9, 1, "A"), day
    assert manager["assessment_score"] < 100 and got.sources[SubjectKey("manager", "M1")]["assessment_score"] == ("S1",)
    assert [(i["id"], i["days_open"], i["status"]) for i in got.interactions] == [("Q1", 20, "open")]
