"""engine/portfolio/bulk.py: the gates evaluated for a whole portfolio at once as pandas masks are exactly
the ones the per-record predicates give, so a batch decides as ``Advisor.decide`` would."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rm_advisor.engine import Advisor
from rm_advisor.engine.inference.compiler import local_conditions
from rm_advisor.engine.language.facts import FactSet, build_fact_set, validate_facts
from rm_advisor.engine.language.knowledge import resolve
from rm_advisor.engine.language.rules import AllCond, AnyCond, CompareCond, Condition, ExistsCond, FieldCond, NotCond
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.portfolio.bulk import BulkGates, Frames
from rm_advisor.engine.portfolio.columnar import fact_table
from rm_advisor.engine.portfolio.run import check_tables, prepare
from rm_advisor.engine.portfolio.sample import generate

AS_OF = dt.date(2026, 11, 23)


def local_gates(advisor: Advisor, fact_set: FactSet) -> set[tuple[str, SubjectKey]]:
    """The gates as ``Advisor.decide`` without precomputed gates evaluates them, record by record."""
    return {(rule.id, subject) for rule, subject in advisor._inference()._local_gates(fact_set)}


# ---------------------------------------------------------------- generated portfolios

@pytest.mark.parametrize("seed", [1, 2])
def test_decisions_with_bulk_gates_equal_decisions_without(advisor: Advisor, seed: int) -> None:
    p = generate(clients=150, managers=5, seed=seed)
    tables = check_tables(p.clients, p.managers, p.history, advisor.book.kb, p.as_of)
    _, parts = prepare(tables, advisor.book.kb, BulkGates(advisor.book))
    assert sum(len(part.facts["client"]) for part in parts) == 150
    assert sum(len(part.gates) for part in parts) > 0
    for part in parts:
        # as the batch decides a book (decide_partition): with its history, which `events` conditions count
        fs = build_fact_set(part.facts, p.as_of, advisor.book.kb, part.sources, history=part.history)
        assert set(part.gates) == local_gates(advisor, fs), part.manager_id
        with_gates = advisor.decide(fs, gates=part.gates)
        without = advisor.decide(fs)
        assert with_gates.model_dump() == without.model_dump(), part.manager_id


# ---------------------------------------------------------------- property: hand-built tables

Pools = dict[str, dict[str, list[Any]]]


def _tested(cond: Condition, out: dict[str, set[tuple[str, Any]]], kb: Any) -> None:
    """Every (operator, value) the condition compares each field with."""
    if isinstance(cond, (AllCond, AnyCond)):
        for c in (cond.all if isinstance(cond, AllCond) else cond.any):
            _tested(c, out, kb)
    elif isinstance(cond, NotCond):
        _tested(cond.not_, out, kb)
    elif isinstance(cond, ExistsCond) and cond.exists.where is not None:
        _tested(cond.exists.where, out, kb)
    elif isinstance(cond, CompareCond):  # both sides drawn from one pool, so they meet, pass and fail
        out[cond.compare.left].update(())
        out[cond.compare.right].update(())
    elif isinstance(cond, FieldCond):
        for op, value in cond.ops.items():
            arg = resolve(value, kb)
            out[cond.ref].update((op, a) for a in (arg if isinstance(arg, (list, tuple)) else [arg]))


def _candidates(spec: Any, tested: set[tuple[str, Any]], as_of: dt.date) -> list[Any]:
    """Values of a field on both sides of every threshold the shipped rules test it against."""
    if spec.type == "boolean":
        return [True, False]
    if spec.type == "enum":
        return list(spec.values)
    if spec.type == "string":
        return ["x", "y"]
    if spec.type == "date":
        days = {0, 200, -200} | {s * d + k for op, d in tested if op in ("in_next_days", "older_than_days")
                                 for s in (1, -1) for k in (-1, 0, 1)}
        return [as_of + dt.timedelta(days=int(d)) for d in sorted(days)]
    points = {float(v) for _, v in tested if isinstance(v, (int, float)) and not isinstance(v, bool)} | {0.0}
    steps = (-1, 0, 1) if spec.type == "integer" else (-1, -0.5, 0, 0.5, 1)
    low = spec.min if spec.min is not None else -1e9
    high = spec.max if spec.max is not None else 1e9
    keep = sorted({p + d for p in points for d in steps if low <= p + d <= high})
    return [int(v) for v in keep] if spec.type == "integer" else keep


@pytest.fixture(scope="module")
def pools(advisor: Advisor) -> Pools:
    kb = advisor.book.kb
    tested: dict[str, set[tuple[str, Any]]] = defaultdict(set)
    for rule in advisor.book.rules:
        for cond in local_conditions(rule.rule):
            _tested(cond, tested, kb)
    out: Pools = defaultdict(dict)
    for ref, ops in sorted(tested.items()):
        fact, _, name = ref.partition(".")
        if name not in ("id", "manager_id", "client_id", "domain"):
            out[fact][name] = _candidates(kb.facts[fact].fields[name], ops, AS_OF)
    return out


@st.composite
def portfolios(draw: st.DrawFn, pools: Pools) -> dict[str, list[dict[str, Any]]]:
    """A few managers, clients and open items; every tested field missing or valued around the
    rules' thresholds."""
    def fields(fact: str) -> dict[str, Any]:
        values = {n: draw(st.sampled_from([None, *pools[fact][n]])) for n in sorted(pools[fact])}
        return {n: v for n, v in values.items() if v is not None}

    domains = st.sampled_from(["tobacco", "bank", "telecom"])
    managers = [{"id": f"M{i}", "domain": draw(domains), **fields("manager")}
                for i in range(draw(st.integers(1, 3)))]
    clients = [{"id": f"C{i}", "manager_id": draw(st.sampled_from([m["id"] for m in managers])),
                "domain": draw(domains), **fields("client")} for i in range(draw(st.integers(1, 8)))]
    owner = {c["id"]: c["manager_id"] for c in clients}
    interactions = []
    for i in range(draw(st.integers(0, 6))):
        cid = draw(st.sampled_from(sorted(owner)))
        item = {"id": f"E{i}", "client_id": cid, "manager_id": owner[cid], **fields("interaction")}
        item.setdefault("kind", draw(st.sampled_from(["complaint", "loan_event", "feedback", "visit"])))
        interactions.append(item)
    return {"managers": managers, "clients": clients, "interactions": interactions}


def _frame(rows: list[dict[str, Any]], fact: str, kb: Any) -> pd.DataFrame:
    return fact_table(rows, kb.facts[fact], fact) if rows else pd.DataFrame()


@settings(max_examples=20, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                 HealthCheck.data_too_large])
@given(data=st.data())
def test_bulk_gates_equal_per_record_gates_on_random_tables(advisor: Advisor, pools: Pools, data: Any) -> None:
    doc = data.draw(portfolios(pools))
    kb = advisor.book.kb
    per_record = local_gates(advisor, validate_facts({"as_of": AS_OF.isoformat(), **doc}, kb))
    frames = Frames({fact: _frame(doc[kb.facts[fact].plural], fact, kb)
                     for fact in ("client", "manager", "interaction")}, AS_OF, kb)
    bulk = {gate for gates in BulkGates(advisor.book).gates(frames).values() for gate in gates}
    assert bulk == per_record


def test_the_value_pools_reach_the_rules(advisor: Advisor, pools: Pools) -> None:
    """A table built from the candidate values gates many rules, so the property above is not vacuous."""
    kb = advisor.book.kb
    for pick in (0, -1):
        row = {fact: {name: values[pick] for name, values in pool.items()} for fact, pool in pools.items()}
        doc = {"managers": [{"id": "M0", "domain": "tobacco", **row["manager"]}],
               "clients": [{"id": f"C{i}", "manager_id": "M0", "domain": d, **row["client"]}
                           for i, d in enumerate(("tobacco", "bank", "telecom"))],
               "interactions": [{"id": "E0", "client_id": "C0", "manager_id": "M0", **row["interaction"]}]}
        gates = local_gates(advisor, validate_facts({"as_of": AS_OF.isoformat(), **doc}, kb))
        assert len(gates) >= 10


# ---------------------------------------------------------------- property: what a missing value counts as

_DAYS, _TIER, _KEY = "client.days_since_last_visit", "client.tier", "client.is_key"
_UNKNOWN_RULES = [
    {_DAYS: {"gt": 5, "unknown": "match"}},
    {"not": {_DAYS: {"gt": 5, "unknown": "match"}}},
    {_TIER: {"ne": "strategic", "unknown": "match"}},
    {"not": {_TIER: {"eq": "strategic", "unknown": "no_match"}}},
    {_KEY: {"eq": True, "unknown": "ask"}},
    {"any": [{_KEY: {"eq": False, "unknown": "match"}}, {_DAYS: {"lt": 3, "unknown": "ask"}}]},
    {"all": [{_DAYS: {"ge": 2, "le": 8, "unknown": "no_match"}},
             {"manager.tenure_months": {"lt": 6, "unknown": "match"}}]},
    {"exists": {"fact": "interaction", "where": {"interaction.status": {"eq": "open", "unknown": "match"}}}},
    {"not": {"exists": {"fact": "interaction", "where": {"interaction.days_open": {"gt": 3, "unknown": "match"}}}}},
]


@pytest.fixture(scope="module")
def unknown_advisor() -> Advisor:
    from tests.helpers import action, rule
    from tests.helpers import advisor as make

    return make(*(rule(f"t.u{i}", when, {"actions": [action("guide_to_network_ordering")]})
                  for i, when in enumerate(_UNKNOWN_RULES)))


@settings(max_examples=40, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bulk_gates_count_a_missing_value_as_the_condition_says(unknown_advisor: Advisor, data: Any) -> None:
    def maybe(values: list[Any]) -> Any:
        return data.draw(st.sampled_from([None, *values]))

    managers = [{"id": "M0", "domain": "tobacco", "tenure_months": maybe([2, 9])}, {"id": "M1", "domain": "tobacco"}]
    clients = [{"id": f"C{i}", "manager_id": data.draw(st.sampled_from(["M0", "M1"])), "domain": "tobacco",
                "days_since_last_visit": maybe([1, 2, 5, 6, 9]), "tier": maybe(["strategic", "major"]),
                "is_key": maybe([True, False])} for i in range(data.draw(st.integers(1, 6)))]
    items = [{"id": f"E{i}", "client_id": data.draw(st.sampled_from([c["id"] for c in clients])), "kind": "complaint",
              "status": maybe(["open", "closed"]), "days_open": maybe([1, 4])}
             for i in range(data.draw(st.integers(0, 4)))]
    for item in items:
        item["manager_id"] = next(c["manager_id"] for c in clients if c["id"] == item["client_id"])
    doc = {"managers": [{k: v for k, v in m.items() if v is not None} for m in managers],
           "clients": [{k: v for k, v in c.items() if v is not None} for c in clients],
           "interactions": [{k: v for k, v in e.items() if v is not None} for e in items]}
    kb = unknown_advisor.book.kb
    per_record = local_gates(unknown_advisor, validate_facts({"as_of": AS_OF.isoformat(), **doc}, kb))
    frames = Frames({fact: _frame(doc[kb.facts[fact].plural], fact, kb)
                     for fact in ("client", "manager", "interaction")}, AS_OF, kb)
    bulk = {gate for gates in BulkGates(unknown_advisor.book).gates(frames).values() for gate in gates}
    assert bulk == per_record


def test_a_client_with_nothing_on_file_passes_exactly_the_conditions_that_count_unknown_as_a_match(
        unknown_advisor: Advisor) -> None:
    kb = unknown_advisor.book.kb
    doc = {"managers": [{"id": "M0", "domain": "tobacco"}], "clients": [{"id": "C0", "manager_id": "M0",
                                                                          "domain": "tobacco"}], "interactions": []}
    frames = Frames({fact: _frame(doc[kb.facts[fact].plural], fact, kb)
                     for fact in ("client", "manager", "interaction")}, AS_OF, kb)
    bulk = {rule_id for gates in BulkGates(unknown_advisor.book).gates(frames).values() for rule_id, _ in gates}
    per_record = {rule_id for rule_id, _ in local_gates(unknown_advisor, validate_facts({"as_of": AS_OF.isoformat(),
                                                                                         **doc}, kb))}
    assert bulk == per_record == {"t.u0", "t.u2", "t.u3", "t.u5", "t.u8"}


# ---------------------------------------------------------------- property: comparisons between fields

_REQ, _NEED = "client.credit_requested", "client.funding_need"
_COMPARE_RULES = [
    {"compare": {"left": _REQ, "op": "gt", "right": _NEED}},
    {"compare": {"left": _REQ, "op": "ge", "right": _NEED, "times": 1.2, "unknown": "match"}},
    {"not": {"compare": {"left": _REQ, "op": "le", "right": _NEED, "plus": 1}}},
    {"compare": {"left": _REQ, "op": "eq", "right": _NEED, "unknown": "no_match"}},
    {"compare": {"left": _REQ, "op": "ne", "right": _NEED, "times": 0.5, "plus": 2}},
    {"compare": {"left": "client.days_since_last_visit", "op": "lt", "right": "manager.tenure_months",
                 "unknown": "match"}},
    {"any": [{"compare": {"left": _REQ, "op": "lt", "right": _NEED}}, {"client.is_key": True}]},
    {"exists": {"fact": "interaction", "where": {
        "compare": {"left": "interaction.closed_date", "op": "gt", "right": "interaction.due_date", "plus": 15}}}},
    {"exists": {"fact": "interaction", "where": {
        "compare": {"left": "interaction.amount", "op": "gt", "right": _NEED, "unknown": "match"}}}},
    {"not": {"exists": {"fact": "interaction", "where": {
        "compare": {"left": "interaction.date", "op": "le", "right": "client.agreement_expiry", "plus": -30}}}}},
]


@pytest.fixture(scope="module")
def compare_advisor() -> Advisor:
    from tests.helpers import action, rule
    from tests.helpers import advisor as make

    return make(*(rule(f"t.c{i}", when, {"actions": [action("guide_to_network_ordering")]})
                  for i, when in enumerate(_COMPARE_RULES)))


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bulk_gates_compare_two_fields_as_the_per_record_predicates_do(compare_advisor: Advisor, data: Any) -> None:
    def maybe(values: list[Any]) -> Any:
        return data.draw(st.sampled_from([None, *values]))

    def day(offset: int) -> str:
        return (AS_OF + dt.timedelta(days=offset)).isoformat()

    amounts = [0, 1, 2, 5, 6, 10, 12.5]
    dates = [day(d) for d in (-60, -31, -30, -29, 0, 14, 15, 16, 30)]
    managers = [{"id": "M0", "domain": "tobacco", "tenure_months": maybe([2, 9])}, {"id": "M1", "domain": "tobacco"}]
    clients = [{"id": f"C{i}", "manager_id": data.draw(st.sampled_from(["M0", "M1"])), "domain": "tobacco",
                "credit_requested": maybe(amounts), "funding_need": maybe(amounts),
                "days_since_last_visit": maybe([1, 2, 9]), "is_key": maybe([True, False]),
                "agreement_expiry": maybe(dates)} for i in range(data.draw(st.integers(1, 6)))]
    items = [{"id": f"E{i}", "client_id": data.draw(st.sampled_from([c["id"] for c in clients])), "kind": "loan_event",
              "date": maybe(dates), "due_date": maybe(dates), "closed_date": maybe(dates), "amount": maybe(amounts)}
             for i in range(data.draw(st.integers(0, 4)))]
    for item in items:
        item["manager_id"] = next(c["manager_id"] for c in clients if c["id"] == item["client_id"])
    doc = {"managers": [{k: v for k, v in m.items() if v is not None} for m in managers],
           "clients": [{k: v for k, v in c.items() if v is not None} for c in clients],
           "interactions": [{k: v for k, v in e.items() if v is not None} for e in items]}
    kb = compare_advisor.book.kb
    per_record = local_gates(compare_advisor, validate_facts({"as_of": AS_OF.isoformat(), **doc}, kb))
    frames = Frames({fact: _frame(doc[kb.facts[fact].plural], fact, kb)
                     for fact in ("client", "manager", "interaction")}, AS_OF, kb)
    bulk = {gate for gates in BulkGates(compare_advisor.book).gates(frames).values() for gate in gates}
    assert bulk == per_record


def test_the_compare_rules_are_reachable_both_ways(compare_advisor: Advisor) -> None:
    """Each rule of the property above both holds and fails on some hand-picked book, so it is not vacuous."""
    kb = compare_advisor.book.kb
    books: list[tuple[dict[str, Any], dict[str, Any]]] = [  # (client fields, interaction fields)
        ({"credit_requested": 8, "funding_need": 6, "days_since_last_visit": 1, "agreement_expiry": "2026-12-31"},
         {"date": "2026-11-01", "due_date": "2026-10-01", "closed_date": "2026-10-20", "amount": 7}),
        ({"credit_requested": 6, "funding_need": 6, "is_key": False, "days_since_last_visit": 20,
          "agreement_expiry": "2026-11-15"},
         {"date": "2026-11-01", "due_date": "2026-10-01", "closed_date": "2026-10-10", "amount": 1}),
        ({"credit_requested": 5, "funding_need": 6}, {"amount": 1}),
    ]
    fired: dict[str, set[bool]] = defaultdict(set)
    for fields, item in books:
        doc = {"managers": [{"id": "M0", "domain": "tobacco", "tenure_months": 9}],
               "clients": [{"id": "C0", "manager_id": "M0", "domain": "tobacco", **fields}],
               "interactions": [{"id": "E0", "client_id": "C0", "manager_id": "M0", "kind": "loan_event", **item}]}
        gates = {rule_id for rule_id, _ in local_gates(compare_advisor,
                                                       validate_facts({"as_of": AS_OF.isoformat(), **doc}, kb))}
        for i in range(len(_COMPARE_RULES)):
            fired[f"t.c{i}"].add(f"t.c{i}" in gates)
    assert {r for r, seen in fired.items() if seen != {True, False}} == set()


# ---------------------------------------------------------------- property: aggregates of history events

_VISIT = {"interaction.kind": "visit"}
_EVENT_RULES = [
    {"events": {"where": _VISIT, "within_days": 30, "count": {"ge": 2}}},
    {"events": {"where": _VISIT, "days_since_latest": {"gt": 30}, "never": "match"}},
    {"events": {"where": _VISIT, "within_days": "$visit_interval_days_a", "count": {"eq": 0}}},
    {"not": {"events": {"where": {"interaction.kind": "complaint"}, "max": {"ge": 5}, "of": "interaction.amount"}}},
    {"events": {"within_days": 60, "sum": {"gt": 4}, "of": "interaction.amount"}},
    {"events": {"where": {"all": [{"interaction.kind": "order"}, {"interaction.status": {"ne": "open",
                                                                                       "unknown": "match"}}]},
                "latest": {"in": ["done", "closed"]}, "of": "interaction.status", "never": "no_match"}},
    {"events": {"where": {"any": [{"interaction.kind": "complaint"}, {"client.is_key": True}]},
                "min": {"lt": dt.date(2026, 11, 1)}, "of": "interaction.date"}},
    {"events": {"where": {"compare": {"left": "interaction.closed_date", "op": "gt", "right": "interaction.due_date",
                                      "plus": 15}}, "within_days": 90, "count": {"ge": 1}}},
    {"exists": {"fact": "interaction", "where": {"all": [{"interaction.kind": "complaint"},
                                                         {"interaction.status": "open"}]}}},
]


@pytest.fixture(scope="module")
def events_advisor() -> Advisor:
    from tests.helpers import action, rule
    from tests.helpers import advisor as make

    rules = [rule(f"t.e{i}", when, {"actions": [action("guide_to_network_ordering")]})
             for i, when in enumerate(_EVENT_RULES)]
    plans = {"events": {"where": {"interaction.kind": "plan_submission"}, "within_days": 30, "count": {"lt": 1}}}
    coach = {"topic": "plan_submission_on_time", "reason": {"zh": "因为", "en": "because"}}
    rules.append(rule("t.m", plans, {"coaching": [coach]}, subject="manager"))
    return make(*rules)


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bulk_gates_aggregate_history_events_as_the_per_record_predicates_do(events_advisor: Advisor,
                                                                              data: Any) -> None:
    def maybe(values: list[Any]) -> Any:
        return data.draw(st.sampled_from([None, *values]))

    def day(offset: int) -> str:
        return (AS_OF + dt.timedelta(days=offset)).isoformat()

    dates = [day(d) for d in (-120, -91, -90, -61, -60, -31, -30, -29, -8, -7, -6, 0, 1)]
    managers = [{"id": "M0", "domain": "tobacco"}, {"id": "M1", "domain": "tobacco"}]
    clients = [{"id": f"C{i}", "manager_id": data.draw(st.sampled_from(["M0", "M1"])), "domain": "tobacco",
                "is_key": maybe([True, False])} for i in range(data.draw(st.integers(1, 5)))]
    kinds = ["visit", "order", "complaint", "plan_submission"]
    items = []
    for i in range(data.draw(st.integers(0, 12))):
        cid = data.draw(st.sampled_from([c["id"] for c in clients]))
        kind = data.draw(st.sampled_from(kinds))
        item = {"id": f"E{i:02d}", "client_id": cid, "kind": kind, "date": maybe(dates),
                "status": maybe(["open", "closed", "done"]), "amount": maybe([0, 1, 2.5, 5, 7]),
                "due_date": maybe(dates), "closed_date": maybe(dates)}
        item["manager_id"] = next(c["manager_id"] for c in clients if c["id"] == cid)
        if kind == "plan_submission":
            del item["client_id"]  # a manager's own event
        items.append({k: v for k, v in item.items() if v is not None})
    doc = {"managers": managers, "clients": [{k: v for k, v in c.items() if v is not None} for c in clients],
           "interactions": items}
    kb = events_advisor.book.kb
    valid = validate_facts({"as_of": AS_OF.isoformat(), **doc}, kb)
    # the history kept apart from the interactions (as derivation leaves them: only the open items)
    open_items = [dict(e) for e in valid.subjects("interaction") if e.get("status") == "open"]
    derived = build_fact_set({"client": valid.subjects("client"), "manager": valid.subjects("manager"),
                              "interaction": open_items}, AS_OF, kb, history=valid.subjects("interaction"))
    per_record = local_gates(events_advisor, derived)
    history = _frame(items, "interaction", kb)
    frames = Frames({"client": _frame(doc["clients"], "client", kb), "manager": _frame(managers, "manager", kb),
                     "interaction": _frame(open_items, "interaction", kb) if open_items else pd.DataFrame(),
                     "history": history if len(history) else pd.DataFrame()}, AS_OF, kb)
    bulk = {gate for gates in BulkGates(events_advisor.book).gates(frames).values() for gate in gates}
    assert bulk == per_record
    # and a fact set that was not derived counts its interactions, on both paths
    assert {g for gs in BulkGates(events_advisor.book).gates(Frames(
        {"client": frames.tables["client"], "manager": frames.tables["manager"], "interaction": history}, AS_OF,
        kb)).values() for g in gs} == local_gates(events_advisor, valid)


def test_the_event_rules_hold_and_fail_on_plain_books(events_advisor: Advisor) -> None:
    """Each rule of the property above holds for one client and fails for another, so it is not vacuous."""
    kb = events_advisor.book.kb

    def day(offset: int) -> str:
        return (AS_OF + dt.timedelta(days=offset)).isoformat()

    busy: list[dict[str, Any]] = [{"id": "A1", "client_id": "C0", "kind": "visit", "date": day(-3)},
            {"id": "A2", "client_id": "C0", "kind": "visit", "date": day(-20)},
            {"id": "A3", "client_id": "C0", "kind": "complaint", "date": day(-200), "amount": 9, "status": "closed"},
            {"id": "A4", "client_id": "C0", "kind": "order", "date": day(-10), "status": "done", "amount": 5},
            {"id": "A5", "client_id": "C0", "kind": "order", "date": day(-40), "due_date": day(-80),
             "closed_date": day(-50), "status": "closed"},
            {"id": "A6", "manager_id": "M0", "kind": "plan_submission", "date": day(-5)}]
    quiet: list[dict[str, Any]] = [{"id": "B1", "client_id": "C1", "kind": "visit", "date": day(-45)}]
    doc = {"as_of": AS_OF.isoformat(),
           "managers": [{"id": "M0", "domain": "tobacco"}, {"id": "M1", "domain": "tobacco"}],
           "clients": [{"id": "C0", "manager_id": "M0", "domain": "tobacco"},
                       {"id": "C1", "manager_id": "M1", "domain": "tobacco"}],
           "interactions": [{**e, "manager_id": "M1" if e.get("client_id") == "C1" else "M0"} for e in busy + quiet]}
    gates = local_gates(events_advisor, validate_facts(doc, kb))
    holds = {(r, k.id) for r, k in gates}
    for i in range(len(_EVENT_RULES) - 1):  # the last is a plain `exists` beside them
        assert {(f"t.e{i}", "C0") in holds, (f"t.e{i}", "C1") in holds} == {True, False}, i
    assert ("t.m", "M1") in holds and ("t.m", "M0") not in holds


# ---------------------------------------------------------------- property: deadlines ahead

_DEADLINE_RULES = [
    {"deadline": {"elapsed": "client.interest_unpaid_days", "threshold": "interest_unpaid", "within_days": 4}},
    {"deadline": {"elapsed": "client.interest_unpaid_days", "after_days": "$unpaid_interest_days",
                  "within_days": "$unpaid_interest_warn_days", "unknown": "match"}},
    {"deadline": {"due": "client.agreement_expiry", "within_days": 60}},
    {"not": {"deadline": {"due": "client.agreement_expiry", "within_days": 0, "unknown": "no_match"}}},
    {"any": [{"deadline": {"due": "client.agreement_expiry", "within_days": 15}}, {"client.is_key": True}]},
    {"exists": {"fact": "interaction", "where": {"deadline": {"elapsed": "interaction.days_open",
                                                              "after_days": 30, "within_days": 10}}}},
    {"exists": {"fact": "interaction", "where": {"deadline": {"since": "interaction.due_date", "after_days": 15,
                                                              "within_days": 7, "unknown": "match"}}}},
    {"not": {"exists": {"fact": "interaction", "where": {"deadline": {"since": "interaction.date", "after_days": 0,
                                                                      "within_days": 3}}}}},
]


@pytest.fixture(scope="module")
def deadline_advisor() -> Advisor:
    from tests.helpers import action, rule
    from tests.helpers import advisor as make

    return make(*(rule(f"t.d{i}", when, {"actions": [action("guide_to_network_ordering")]})
                  for i, when in enumerate(_DEADLINE_RULES)))


def _deadline_book(data: Any) -> dict[str, Any]:
    def maybe(values: list[Any]) -> Any:
        return data.draw(st.sampled_from([None, *values]))

    dates = [(AS_OF + dt.timedelta(days=d)).isoformat() for d in (-20, -16, -15, -14, -1, 0, 1, 3, 4, 15, 16, 60, 61)]
    clients = [{"id": f"C{i}", "manager_id": "M0", "domain": "bank", "is_key": maybe([True, False]),
                "interest_unpaid_days": maybe([0, 1, 10, 11, 12, 15, 16, 40]), "agreement_expiry": maybe(dates)}
               for i in range(data.draw(st.integers(1, 6)))]
    items = [{"id": f"E{i}", "client_id": data.draw(st.sampled_from([c["id"] for c in clients])), "manager_id": "M0",
              "kind": "loan_event", "days_open": maybe([0, 19, 20, 25, 30, 31]), "due_date": maybe(dates),
              "date": maybe(dates)} for i in range(data.draw(st.integers(0, 4)))]
    return {"managers": [{"id": "M0", "domain": "bank"}],
            "clients": [{k: v for k, v in c.items() if v is not None} for c in clients],
            "interactions": [{k: v for k, v in e.items() if v is not None} for e in items]}


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bulk_gates_place_deadlines_as_the_per_record_predicates_do(deadline_advisor: Advisor, data: Any) -> None:
    doc = _deadline_book(data)
    kb = deadline_advisor.book.kb
    per_record = local_gates(deadline_advisor, validate_facts({"as_of": AS_OF.isoformat(), **doc}, kb))
    frames = Frames({fact: _frame(doc[kb.facts[fact].plural], fact, kb)
                     for fact in ("client", "manager", "interaction")}, AS_OF, kb)
    bulk = {gate for gates in BulkGates(deadline_advisor.book).gates(frames).values() for gate in gates}
    assert bulk == per_record


def test_the_deadline_rules_hold_and_fail_on_plain_books(deadline_advisor: Advisor) -> None:
    """Each rule of the property above holds on one book and fails on another, so it is not vacuous."""
    kb = deadline_advisor.book.kb
    books: list[tuple[dict[str, Any], dict[str, Any]]] = [  # (client fields, loan event fields)
        ({"interest_unpaid_days": 11, "agreement_expiry": "2026-12-31"},
         {"days_open": 25, "due_date": "2026-11-10", "date": "2026-11-22"}),
        ({"interest_unpaid_days": 16, "agreement_expiry": "2026-11-23", "is_key": False},
         {"days_open": 31, "due_date": "2026-10-01", "date": "2026-11-01"}),
        ({"agreement_expiry": "2027-03-01"}, {"date": "2026-11-25"}),
    ]
    fired: dict[str, set[bool]] = defaultdict(set)
    for fields, item in books:
        doc = {"managers": [{"id": "M0", "domain": "bank"}],
               "clients": [{"id": "C0", "manager_id": "M0", "domain": "bank", **fields}],
               "interactions": [{"id": "E0", "client_id": "C0", "manager_id": "M0", "kind": "loan_event", **item}]}
        gates = {rule_id for rule_id, _ in local_gates(deadline_advisor,
                                                       validate_facts({"as_of": AS_OF.isoformat(), **doc}, kb))}
        for i in range(len(_DEADLINE_RULES)):
            fired[f"t.d{i}"].add(f"t.d{i}" in gates)
    assert {r for r, seen in fired.items() if seen != {True, False}} == set()


# ---------------------------------------------------------------- property: across links between clients

_LINKED_RULES = [
    {"linked": {"kind": "guarantor_of", "where": {"client.overdue_amount": {"gt": 0}}}},
    {"linked": {"kind": "guarantor_of", "direction": "in"}},
    {"linked": {"kind": ["same_owner", "related_company"], "direction": "both",
                "where": {"client.is_key": {"eq": True, "unknown": "match"}}}},
    {"not": {"linked": {"kind": "member_of", "where": {"link.since": {"older_than_days": 30}}}}},
    {"any": [{"linked": {"kind": "member_of", "where": {"compare": {
        "left": "client.overdue_amount", "op": "gt", "right": "client.funding_need"}}}}, {"client.is_key": False}]},
    {"linked": {"kind": "member_of", "where": {"linked": {"kind": "guarantor_of", "direction": "both"}}}},
]


@pytest.fixture(scope="module")
def linked_advisor() -> Advisor:
    from tests.helpers import action, rule
    from tests.helpers import advisor as make

    return make(*(rule(f"t.l{i}", when, {"actions": [action("guide_to_network_ordering")]})
                  for i, when in enumerate(_LINKED_RULES)))


def _linked_book(data: Any) -> dict[str, Any]:
    def maybe(values: list[Any]) -> Any:
        return data.draw(st.sampled_from([None, *values]))

    ids = [f"C{i}" for i in range(data.draw(st.integers(1, 5)))]
    clients = [{"id": cid, "manager_id": "M0", "domain": "bank", "is_key": maybe([True, False]),
                "overdue_amount": maybe([0, 5, 10]), "funding_need": maybe([0, 7])} for cid in ids]
    kinds = ["guarantor_of", "same_owner", "member_of", "related_company"]
    links = [{"id": f"K{i}", "kind": data.draw(st.sampled_from(kinds)), "from_client": data.draw(st.sampled_from(ids)),
              "to_client": data.draw(st.sampled_from([*ids, "GONE"])),
              "since": maybe(["2026-01-01", "2026-11-01"])} for i in range(data.draw(st.integers(0, 6)))]
    return {"managers": [{"id": "M0", "domain": "bank"}],
            "clients": [{k: v for k, v in c.items() if v is not None} for c in clients],
            "links": [{k: v for k, v in ln.items() if v is not None} for ln in links]}


@settings(max_examples=60, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_bulk_gates_reach_across_links_as_the_per_record_predicates_do(linked_advisor: Advisor, data: Any) -> None:
    doc = _linked_book(data)
    kb = linked_advisor.book.kb
    per_record = local_gates(linked_advisor, validate_facts({"as_of": AS_OF.isoformat(), **doc}, kb))
    frames = Frames({fact: _frame(doc[kb.facts[fact].plural], fact, kb) for fact in ("client", "manager", "link")},
                    AS_OF, kb)
    bulk = {gate for gates in BulkGates(linked_advisor.book).gates(frames).values() for gate in gates}
    assert bulk == per_record


def test_the_linked_rules_hold_and_fail_on_plain_books(linked_advisor: Advisor) -> None:
    """Each rule of the property above holds on one book and fails on another, so it is not vacuous."""
    kb = linked_advisor.book.kb
    books: list[list[dict[str, Any]]] = [
        [{"kind": "guarantor_of", "from_client": "C0", "to_client": "C1"},
         {"kind": "same_owner", "from_client": "C1", "to_client": "C0"},
         {"kind": "member_of", "from_client": "C0", "to_client": "C1", "since": "2026-01-01"}],
        [{"kind": "guarantor_of", "from_client": "C1", "to_client": "C0"},
         {"kind": "member_of", "from_client": "C0", "to_client": "C1", "since": "2026-11-20"}],
        [],
    ]
    fired: dict[str, set[bool]] = defaultdict(set)
    for links in books:
        doc = {"managers": [{"id": "M0", "domain": "bank"}],
               "clients": [{"id": "C0", "manager_id": "M0", "domain": "bank", "is_key": True},
                           {"id": "C1", "manager_id": "M0", "domain": "bank", "overdue_amount": 10, "funding_need": 7,
                            "is_key": True}],
               "links": [{"id": f"K{i}", **ln} for i, ln in enumerate(links)]}
        gates = {(rule_id, str(s)) for rule_id, s in local_gates(linked_advisor,
                                                                  validate_facts({"as_of": AS_OF.isoformat(), **doc},
                                                                                 kb))}
        for i in range(len(_LINKED_RULES)):
            fired[f"t.l{i}"].add((f"t.l{i}", "client:C0") in gates)
    assert {r for r, seen in fired.items() if seen != {True, False}} == set()
