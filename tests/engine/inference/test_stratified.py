"""engine/inference/stratified.py: the default evaluator of chaining rules must agree with experta's
Rete network, the reference, on every firing, match trace, related subject, signal producer and
decision: on generated portfolios (one decision per book and the batch's bulk gates). The random rule
sets below (chaining, ``not`` of signals, joins and missing values) and every shipped scenario are
compared in ``tests/engine/portfolio/test_columnar.py``, which holds experta, this evaluator and the
bulk chaining of a batch to one another."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import strategies as st

from rm_advisor.engine import Advisor
from rm_advisor.engine.inference.advisor import Engine, Run
from rm_advisor.engine.inference.chaining import InferenceResult
from rm_advisor.engine.portfolio.bulk import BulkGates
from rm_advisor.engine.portfolio.run import check_tables, decide_partition, facts_document, prepare
from rm_advisor.engine.portfolio.sample import generate
from tests.helpers import KB, Doc, action, client, rule

ENGINES: tuple[Engine, ...] = ("experta", "compiled")


def signature(result: InferenceResult) -> tuple[Any, ...]:
    firings = sorted((f.rule_id, str(f.subject), json.dumps(dict(f.matched), sort_keys=True, default=str),
                      json.dumps({k: sorted(map(str, v)) for k, v in f.related.items() if v}, sort_keys=True))
                     for f in result.firings)
    return firings, sorted(result.producers.items(), key=str)


def same(experta: Run, compiled: Run) -> None:
    assert signature(compiled.result) == signature(experta.result)
    assert compiled.decision == experta.decision


@pytest.fixture(scope="module")
def pair(advisor: Advisor) -> tuple[Advisor, Advisor]:
    return Advisor(advisor.book, engine="experta"), Advisor(advisor.book, engine="compiled")


def test_the_default_engine_is_the_compiled_one_and_an_unknown_engine_is_refused(advisor: Advisor) -> None:
    assert Advisor(advisor.book).engine == "compiled"
    with pytest.raises(ValueError, match="unknown engine 'clips'"):
        Advisor(advisor.book, engine="clips")  # type: ignore[arg-type]


@pytest.mark.parametrize("seed", [3, 17])
def test_generated_portfolios_decide_alike_book_by_book_and_with_bulk_gates(pair: tuple[Advisor, Advisor],
                                                                           seed: int) -> None:
    experta, compiled = pair
    kb = experta.book.kb
    p = generate(120, 3, seed=seed)
    tables = check_tables(p.clients, p.managers, p.history, kb, p.as_of)
    _, parts = prepare(tables, kb, BulkGates(experta.book))
    for part in parts:
        doc = facts_document(part, p.as_of, kb)
        same(experta.run(doc), compiled.run(doc))
        assert decide_partition(compiled, part, p.as_of) == decide_partition(experta, part, p.as_of)


# ---------------------------------------------------------------- random rule sets

CLIENT_SIGNALS = sorted(s for s, v in KB.signals.items() if v.subject == "client")
MANAGER_SIGNALS = sorted(s for s, v in KB.signals.items() if v.subject == "manager")
#: (field, operator, operand) conditions, and the values a client may hold for the field
CONDITIONS: dict[str, tuple[list[tuple[str, Any]], list[Any]]] = {
    "days_since_last_visit": ([("gt", 7), ("le", 30)], [None, 3, 10, 40]),
    "is_key": ([("eq", True), ("eq", False)], [None, True, False]),
    "network_client": ([("eq", True), ("eq", False)], [None, True, False]),
    "client_class": ([("eq", "A"), ("in", ["B", "C"])], [None, "A", "B", "C"]),
    "open_complaints": ([("ge", 1)], [None, 0, 2]),
    # deadlines ahead: the operand is the rest of the `deadline` condition
    "interest_unpaid_days": ([("deadline", {"elapsed": "client.interest_unpaid_days", "threshold": "interest_unpaid",
                                            "within_days": 4})], [None, 0, 11, 15, 16]),
    "agreement_expiry": ([("deadline", {"due": "client.agreement_expiry", "within_days": 30})],
                         [None, "2026-11-22", "2026-11-23", "2026-12-23", "2026-12-24"]),
}


def _conditions(draw: st.DrawFn, count: int) -> list[Doc]:
    fields = draw(st.lists(st.sampled_from(sorted(CONDITIONS)), min_size=count, max_size=count, unique=True))
    out = []
    for f in fields:
        op, value = draw(st.sampled_from(CONDITIONS[f][0]))
        test: dict[str, Any] = {op: value} if op != "deadline" else dict(value)
        unknown = draw(st.sampled_from([None, "match", "no_match"]))
        if unknown:
            test["unknown"] = unknown
        out.append({f"client.{f}": test} if op != "deadline" else {"deadline": test})
    return out


@st.composite
def rule_sets(draw: st.DrawFn) -> list[Doc]:
    """Three strata of client rules (the second and third chain on the first, some with ``not``),
    manager rules joining on the clients' signals, and manager rules on the manager signals."""
    first = draw(st.lists(st.sampled_from(CLIENT_SIGNALS), min_size=1, max_size=3, unique=True))
    second = draw(st.lists(st.sampled_from([s for s in CLIENT_SIGNALS if s not in first]), max_size=2, unique=True))
    rules: list[Doc] = []
    for i, sig in enumerate(first * draw(st.integers(1, 2))):
        rules.append(rule(f"t.a{i}", {"all": _conditions(draw, draw(st.integers(1, 2)))},
                          {"signals": [sig], "actions": [action("guide_to_network_ordering")]}))
    for i, sig in enumerate(second):
        when: list[Doc] = [{"signal": draw(st.sampled_from(first))}, *_conditions(draw, draw(st.integers(0, 1)))]
        rules.append(rule(f"t.b{i}", {"all": when}, {"signals": [sig], "actions": [action("periodic_visit_by_class")]}))
    for i in range(draw(st.integers(0, 2))):
        required = draw(st.sampled_from(first + second))
        when = [{"signal": required}]
        forbidden = [s for s in first + second if s != required]
        negate = draw(st.booleans())
        if forbidden and negate:
            when.append({"not": {"signal": draw(st.sampled_from(forbidden))}})
        rules.append(rule(f"t.c{i}", {"all": when}, {"actions": [action("relationship_care")]}))
    for i in range(draw(st.integers(0, 2))):  # across links: a join on the linked client's signal, or a plain test
        across: Doc = ({"signal": draw(st.sampled_from(first + second))} if draw(st.booleans())
                       else {"all": _conditions(draw, 1)})
        spec = {"kind": draw(st.sampled_from(["same_owner", "guarantor_of"])),
                "direction": draw(st.sampled_from(["out", "in", "both"])), "where": across}
        rules.append(rule(f"t.l{i}", {"linked": spec}, {"actions": [action("relationship_care")]}))
    m_sig = draw(st.sampled_from(MANAGER_SIGNALS))
    for i in range(draw(st.integers(0, 2))):
        where: list[Doc] = [{"signal": draw(st.sampled_from(first + second))},
                            *_conditions(draw, draw(st.integers(0, 1)))]
        rules.append(rule(f"t.m{i}", {"exists": {"fact": "client", "where": {"all": where}}},
                          {"signals": [m_sig], "coaching": [{"topic": "visit_coverage_by_class",
                                                             "reason": {"zh": "z", "en": "e"}}]},
                          subject="manager"))
    if draw(st.booleans()):
        test: Doc = {"signal": m_sig} if draw(st.booleans()) else {"not": {"signal": m_sig}}
        rules.append(rule("t.n0", test, {"coaching": [{"topic": "pre_job_in_service_promotion_training",
                                                       "reason": {"zh": "z", "en": "e"}}]}, subject="manager"))
    return rules


@st.composite
def portfolios(draw: st.DrawFn) -> Doc:
    managers = [{"id": f"M{i}", "domain": "tobacco"} for i in range(1, draw(st.integers(1, 2)) + 1)]
    clients = []
    for i in range(draw(st.integers(1, 6))):
        fields = {f: v for f, (_, values) in CONDITIONS.items() if (v := draw(st.sampled_from(values))) is not None}
        clients.append({**client(f"C{i}", **fields), "manager_id": draw(st.sampled_from([m["id"] for m in managers]))})
    ids = [c["id"] for c in clients]
    links = [{"id": f"K{i}", "kind": draw(st.sampled_from(["same_owner", "guarantor_of"])),
              "from_client": draw(st.sampled_from(ids)), "to_client": draw(st.sampled_from(ids))}
             for i in range(draw(st.integers(0, 4)))]
    return {"as_of": "2026-11-23", "managers": managers, "clients": clients, "links": links}
