"""engine/portfolio/run.py: a whole portfolio decided per manager; rows
that point nowhere are reported and skipped; worker processes give the same answer as one."""

from __future__ import annotations

import datetime as dt
import gc
import io
from typing import Any

import pandas as pd
import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.loading.sources import read_kb_files, read_rule_files
from rm_advisor.engine.portfolio import run as portfolio
from rm_advisor.engine.portfolio.bulk import BulkGates
from rm_advisor.engine.portfolio.run import ManagerResult, PortfolioTables, check_tables, decide_partitions, prepare
from rm_advisor.engine.portfolio.sample import generate
from tests.conftest import ROOT

AS_OF = dt.date(2026, 11, 23)

CLIENTS = """id,manager_id,domain,network_client,days_since_last_visit
T1,MT1,tobacco,false,3
T2,MT1,tobacco,true,40
X1,M9,tobacco,false,50
B1,MB1,bank,,
"""
MANAGERS = """id,domain,capacity_visits_week
MT1,tobacco,3
MB1,bank,
"""
HISTORY = """id,manager_id,client_id,kind,date,status,amount,quantity,slow_quantity,new_brand,closed_date,due_date,item
E1,MT1,T1,visit,2026-11-20,done,,,,,,,
E2,MT1,T99,complaint,2026-11-10,open,,,,,,,
E3,M9,X1,visit,2026-11-01,done,,,,,,,
E4,M7,T2,order,2026-11-02,done,,12,,false,,,
E5,MB1,B1,loan_event,2026-10-01,open,120000,,,,,,
E6,MT1,,market_report,2026-11-15,done,,,,,,,
"""


def read_csv(text: str) -> pd.DataFrame:
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""])


@pytest.fixture(scope="module")
def hand_tables(advisor: Advisor) -> PortfolioTables:
    return check_tables(read_csv(CLIENTS), read_csv(MANAGERS), read_csv(HISTORY), advisor.book.kb, AS_OF,
                        {"clients": "in/clients.csv", "managers": "in/managers.csv", "history": "in/history.csv"})


def test_rows_pointing_at_unknown_managers_or_clients_are_bad_rows_with_file_and_line(
        hand_tables: PortfolioTables) -> None:
    found = [(d.code, d.location.file, d.location.line, d.location.path) for d in hand_tables.diagnostics]
    assert sorted(found) == sorted([
        ("fact_bad_value", "in/clients.csv", 4, "manager_id"),    # X1: manager M9 is not in managers.csv
        ("fact_bad_value", "in/history.csv", 3, "client_id"),     # E2: client T99 does not exist
        ("fact_ref_skipped", "in/history.csv", 4, "client_id"),   # E3: its client X1 was dropped
        ("fact_bad_value", "in/history.csv", 5, "manager_id"),    # E4: manager M7 does not exist
    ])
    assert all(d.severity == "error" for d in hand_tables.diagnostics)
    assert hand_tables.bad_rows == 4
    assert list(hand_tables.clients.frame.index) == ["T1", "T2", "B1"]
    assert list(hand_tables.history.frame.index) == ["E1", "E5", "E6"]  # a manager's own event needs no client


def test_the_good_rows_are_decided_per_manager_and_the_orphans_skipped(
        advisor: Advisor, hand_tables: PortfolioTables) -> None:
    _, parts = prepare(hand_tables, advisor.book.kb, BulkGates(advisor.book))
    assert sorted(p.manager_id for p in parts) == ["MB1", "MT1"]
    results = decide_partitions(advisor, parts, AS_OF)
    assert [r.manager_id for r in results] == ["MB1", "MT1"]  # ordered by manager id
    decided = {r.manager_id: sorted(c.id for c in r.decision.clients) for r in results}
    assert decided == {"MB1": ["B1"], "MT1": ["T1", "T2"]}
    mt1 = results[1]
    t1 = mt1.decision.subject("client", "T1")
    assert t1 is not None and t1.recommendations  # off the network: it gets advice
    assert {i.client_id for i in mt1.worklist.items} <= {"T1", "T2"}
    b1 = results[0].decision.subject("client", "B1")
    assert b1 is not None and b1.recommendations  # 120,000 RMB overdue from the history


def test_capacity_comes_from_the_manager_or_the_default_parameter(
        advisor: Advisor, hand_tables: PortfolioTables) -> None:
    _, parts = prepare(hand_tables, advisor.book.kb, BulkGates(advisor.book))
    params = advisor.book.kb.parameters
    capacity = {p.manager_id: p.capacity for p in parts}
    assert capacity["MT1"] == {"visit": 3, "call": params["call_capacity_per_week"].value}
    assert capacity["MB1"] == {"visit": params["visit_capacity_per_week"].value,
                               "call": params["call_capacity_per_week"].value}


def test_progress_counts_every_client_and_manager(advisor: Advisor, hand_tables: PortfolioTables) -> None:
    _, parts = prepare(hand_tables, advisor.book.kb, BulkGates(advisor.book))
    done: list[int] = []
    decide_partitions(advisor, parts, AS_OF, progress=done.append)
    assert sum(done) == 3 + 2


def results_of(run: list[ManagerResult]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    return [(r.manager_id, r.decision.model_dump(), r.worklist.model_dump()) for r in run]


def test_worker_processes_give_the_same_results_as_one(advisor: Advisor) -> None:
    p = generate(clients=120, managers=6, seed=5)
    tables = check_tables(p.clients, p.managers, p.history, advisor.book.kb, p.as_of)
    _, parts = prepare(tables, advisor.book.kb, BulkGates(advisor.book))
    texts = (read_rule_files(ROOT / "rules"), read_kb_files(ROOT / "knowledge_base"))
    one = decide_partitions(advisor, parts, p.as_of, jobs=1)
    two = decide_partitions(advisor, parts, p.as_of, jobs=2, texts=texts)
    assert [r.manager_id for r in one] == sorted(p.managers["id"])
    assert sum(len(r.decision.clients) for r in one) == 120
    assert any(c.recommendations for r in one for c in r.decision.clients)
    assert results_of(two) == results_of(one)


def test_a_portfolio_run_leaves_the_calling_process_as_it_was(advisor: Advisor) -> None:
    # an application embedding the engine keeps its garbage collector; no advisor stays behind
    p = generate(clients=60, managers=3, seed=5)
    tables = check_tables(p.clients, p.managers, p.history, advisor.book.kb, p.as_of)
    _, parts = prepare(tables, advisor.book.kb, BulkGates(advisor.book))
    texts = (read_rule_files(ROOT / "rules"), read_kb_files(ROOT / "knowledge_base"))
    assert gc.isenabled()
    decide_partitions(advisor, parts, p.as_of, jobs=1)
    decide_partitions(advisor, parts, p.as_of, jobs=2, texts=texts)
    assert gc.isenabled() and portfolio._worker == {}


def test_the_batch_keeps_a_given_score_that_no_event_contradicts(advisor: Advisor) -> None:
    # managers.csv says 58 and the month has no inspection event: 58 stands (it used to become 100.0)
    managers = read_csv("id,domain,assessment_score\nMT1,tobacco,58\nMT2,tobacco,\n")
    clients = read_csv("id,manager_id,domain\nT1,MT1,tobacco\nT2,MT2,tobacco\n")
    history = read_csv("id,manager_id,client_id,kind,date,status\nE1,MT1,T1,visit,2026-11-20,done\n")
    tables = check_tables(clients, managers, history, advisor.book.kb, AS_OF)
    _, parts = prepare(tables, advisor.book.kb, BulkGates(advisor.book))
    by_manager = {r.manager_id: r.decision.managers[0] for r in decide_partitions(advisor, parts, AS_OF)}
    assert "lagging_performer" in {s.signal for s in by_manager["MT1"].signals}
    assert "assessment_score" not in {f.field for f in by_manager["MT1"].derived}
    [unknown] = [f for f in by_manager["MT2"].derived if f.field == "assessment_score"]  # nothing to go on
    assert unknown.value is None and "lagging_performer" not in {s.signal for s in by_manager["MT2"].signals}


def test_each_book_carries_the_portfolios_team_benchmarks_of_its_domain(advisor: Advisor) -> None:
    kb = advisor.book.kb
    p = generate(clients=200, managers=10, seed=5)
    tables = check_tables(p.clients, p.managers, p.history, kb, p.as_of)
    _, parts = prepare(tables, kb, BulkGates(advisor.book))
    by_domain: dict[str, list[portfolio.Partition]] = {}
    for part in parts:
        by_domain.setdefault(str(part.facts["manager"][0]["domain"]), []).append(part)
    tobacco = by_domain["tobacco"]
    assert len(tobacco) > 1 and all(part.facts["team_benchmark"] == tobacco[0].facts["team_benchmark"]
                                    for part in tobacco)
    win = next(b for b in tobacco[0].facts["team_benchmark"] if b["field"] == "negotiation_win_pct")
    values = [float(part.facts["manager"][0]["negotiation_win_pct"]) for part in tobacco]
    assert (win["managers"], win["source"], win["domain"]) == (len(values), "portfolio", "tobacco")
    assert win["median"] == round(float(pd.Series(values).median()), 2)
    assert {b["domain"] for part in parts for b in part.facts.get("team_benchmark", [])} <= {"tobacco", "bank"}
    # the logged input holds them, so a replay compares with the same team
    doc = portfolio.facts_document(tobacco[0], p.as_of, kb)
    assert doc["team_benchmarks"] == tobacco[0].facts["team_benchmark"]
    decision = portfolio.decide_partition(advisor, tobacco[0], p.as_of).decision
    cards = [r.card for r in decision.managers[0].recommendations if r.card and r.card.benchmark]
    assert cards and {c.benchmark.basis for c in cards if c.benchmark} == {"portfolio"}


def test_a_domain_with_one_manager_has_no_team_to_compare_with(advisor: Advisor) -> None:
    kb = advisor.book.kb
    p = generate(clients=60, managers=3, seed=3)  # one manager per domain
    tables = check_tables(p.clients, p.managers, p.history, kb, p.as_of)
    _, parts = prepare(tables, kb, BulkGates(advisor.book))
    assert all("team_benchmark" not in part.facts for part in parts)


def test_the_batch_counts_history_events_as_a_single_decision_does(advisor: Advisor) -> None:
    """Failed phone-order calls arrive as history rows; the batch's gates, its traces and a decision on the
    same book posted as facts all count them alike (tobacco.phone_order_calls_failing)."""
    clients = "id,manager_id,domain,weekly_plan\nT1,MT1,tobacco,none\nT2,MT1,tobacco,none\n"
    managers = "id,domain\nMT1,tobacco\n"
    history = ("id,manager_id,client_id,kind,date,outcome\n"
               "C1,MT1,T1,order_call,2026-11-03,unreachable\nC2,MT1,T1,order_call,2026-11-17,unreachable\n"
               "C3,MT1,T2,order_call,2026-11-17,unreachable\nC4,MT1,T2,order_call,2026-09-01,unreachable\n")
    tables = check_tables(read_csv(clients), read_csv(managers), read_csv(history), advisor.book.kb, AS_OF)
    _, parts = prepare(tables, advisor.book.kb, BulkGates(advisor.book))
    [part] = parts
    assert ("tobacco.phone_order_calls_failing", "T1") in {(r, k.id) for r, k in part.gates}
    assert ("tobacco.phone_order_calls_failing", "T2") not in {(r, k.id) for r, k in part.gates}
    [result] = decide_partitions(advisor, parts, AS_OF)
    facts = {"as_of": AS_OF.isoformat(), "managers": [{"id": "MT1", "domain": "tobacco"}],
             "clients": [{"id": c, "manager_id": "MT1", "domain": "tobacco", "weekly_plan": "none"}
                         for c in ("T1", "T2")],
             "interactions": [{"id": i, "manager_id": "MT1", "client_id": c, "kind": "order_call", "date": d,
                               "outcome": "unreachable"}
                              for i, c, d in (("C1", "T1", "2026-11-03"), ("C2", "T1", "2026-11-17"),
                                              ("C3", "T2", "2026-11-17"), ("C4", "T2", "2026-09-01"))]}
    single = advisor.decide(facts)
    batch_t1 = next(c for c in result.decision.clients if c.id == "T1")
    single_t1 = next(c for c in single.clients if c.id == "T1")
    assert batch_t1.model_dump() == single_t1.model_dump()
    [trace] = [t for r in batch_t1.recommendations for t in r.because
               if t.rule_id == "tobacco.phone_order_calls_failing"]
    assert trace.related == {"interaction": ["C1", "C2"]}


# ---------------------------------------------------------------- links between clients, across books

_LINK_RULES = ("bank.guarantor_of_overdue_loan", "bank.group_red_flag_reaches_members",
               "tobacco.same_owner_counterfeit_exposure", "telecom.group_in_arrears_member_prepays")


def _rows(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """A table's rows as a facts document lists them: empty cells left out."""
    return [{str(k): v for k, v in row.items() if not pd.isna(v)} for row in frame.to_dict("records")]


@pytest.mark.parametrize("seed", [1, 2])
def test_a_batch_with_links_decides_every_client_as_one_decision_over_the_same_facts(advisor: Advisor,
                                                                                      seed: int) -> None:
    """Links cross books (a guarantor and the borrower it guarantees have different managers): every
    client of the batch is decided as ``Advisor.decide`` decides it given the whole portfolio, links
    included, and the link rules fire across books."""
    kb = advisor.book.kb
    p = generate(clients=400, managers=6, seed=seed)
    tables = check_tables(p.clients, p.managers, p.history, kb, p.as_of, links=p.links)
    assert tables.bad_rows == 0 and tables.links is not None and len(tables.links.frame) == len(p.links)
    _, parts = prepare(tables, kb, BulkGates(advisor.book))
    assert any(part.context for part in parts)
    batch = {c.id: c for r in decide_partitions(advisor, parts, p.as_of) for c in r.decision.clients}
    assert sorted(batch) == sorted(p.clients["id"])  # each client decided once, in its own book
    single = advisor.decide({"as_of": p.as_of.isoformat(), "managers": _rows(p.managers),
                             "clients": _rows(p.clients), "interactions": _rows(p.history),
                             "links": _rows(p.links)})
    assert len(single.clients) == len(batch)
    for c in single.clients:
        assert batch[c.id].model_dump() == c.model_dump(), c.id
    manager_of = dict(zip(p.clients["id"], p.clients["manager_id"], strict=True))
    crossing = {(rule, c.id) for c in batch.values() for r in c.recommendations for t in r.because
                if (rule := t.rule_id) in _LINK_RULES
                and any(manager_of[o.removeprefix("client:")] != manager_of[c.id]
                        for ids in t.related.values() for o in ids)}
    assert crossing, "no link rule fired across books"


def test_without_a_links_table_no_link_rule_fires(advisor: Advisor) -> None:
    kb = advisor.book.kb
    p = generate(clients=400, managers=6, seed=1)
    _, parts = prepare(check_tables(p.clients, p.managers, p.history, kb, p.as_of), kb, BulkGates(advisor.book))
    assert not any(part.context for part in parts)
    fired = {t.rule_id for r in decide_partitions(advisor, parts, p.as_of) for c in r.decision.clients
             for rec in c.recommendations for t in rec.because}
    assert fired and not fired & set(_LINK_RULES)


def test_a_link_to_an_unknown_client_is_a_bad_row_with_file_and_line(advisor: Advisor) -> None:
    links = read_csv("id,kind,from_client,to_client,since\nK1,guarantor_of,B1,T1,2026-01-01\n"
                     "K2,guarantor_of,B1,B404,\nK3,member_of,X1,T1,\nK4,owns,B1,T2,\n")
    tables = check_tables(read_csv(CLIENTS), read_csv(MANAGERS), read_csv(HISTORY), advisor.book.kb, AS_OF,
                          {"links": "links.csv"}, links=links)
    assert tables.links is not None and list(tables.links.frame.index) == ["K1"]
    found = {(d.code, d.location.file, d.location.line, d.location.path) for d in tables.links.diagnostics}
    assert ("fact_bad_value", "links.csv", 3, "to_client") in found  # B404: no such client
    assert ("fact_ref_skipped", "links.csv", 4, "from_client") in found  # X1: skipped (unknown manager)
    assert ("fact_bad_value", "links.csv", 5, "kind") in found


def test_a_book_reaches_as_many_links_as_the_rules_read_and_a_whole_chain_when_one_asserts_a_signal() -> None:
    from tests.helpers import action, rule
    from tests.helpers import advisor as make

    one = make(rule("t.a", {"linked": {"kind": "guarantor_of"}}, {"actions": [action("guide_to_network_ordering")]}))
    two = make(rule("t.b", {"linked": {"kind": "member_of", "where": {"linked": {"kind": "guarantor_of"}}}},
                    {"actions": [action("guide_to_network_ordering")]}))
    chain = make(rule("t.c", {"linked": {"kind": "guarantor_of"}}, {"signals": ["loan_overdue"]}))
    assert [portfolio.link_hops(a.book) for a in (one, two, chain)] == [1, 2, None]
    ab = {"id": "K1", "from_client": "A", "to_client": "B"}
    bc = {"id": "K2", "from_client": "B", "to_client": "C"}
    links = {"A": [ab], "B": [ab, bc], "C": [bc]}
    assert [portfolio.reached_from({"A"}, links, hops) for hops in (0, 1, 2, None)] == [set(), {"B"}, {"B", "C"},
                                                                                     {"B", "C"}]


def test_a_book_ranked_with_the_logs_propensities_is_ranked_as_one_decision_is(advisor: Advisor) -> None:
    from rm_advisor.engine.language.propensity import AcceptanceCount, PropensityTable

    p = generate(clients=40, managers=3, seed=5)
    tables = check_tables(p.clients, p.managers, p.history, advisor.book.kb, p.as_of)
    _, parts = prepare(tables, advisor.book.kb, BulkGates(advisor.book))
    results = decide_partitions(advisor, parts, p.as_of, jobs=1)
    client = next(c for r in results for c in r.decision.clients if len(c.recommendations) > 2
                  and not advisor.book.kb.actions[c.recommendations[0].id].duty)
    part = next(x for x in parts for c in x.facts["client"] if str(c["id"]) == client.id)
    fact = next(c for c in part.facts["client"] if str(c["id"]) == client.id)
    segment = advisor.book.kb.segment_of("client", fact)
    table = PropensityTable(as_of=p.as_of, window_days=90, half_life_days=30, entries=(AcceptanceCount(
        action=client.recommendations[0].id, segment=segment, accepted=0, decided=200, weighted_accepted=0,
        weighted_decided=150),))
    ranked = portfolio.with_propensities(results, parts, advisor, table)
    book = next(r for r in ranked if r.manager_id == part.manager_id)
    after = next(c for c in book.decision.clients if c.id == client.id)
    assert after.recommendations[0].id != client.recommendations[0].id  # rejected 200 times: it moved down
    one = advisor.decide(portfolio.facts_document(part, p.as_of, advisor.book.kb), gates=part.gates,
                         propensities=table)
    assert [(c.id, [r.id for r in c.recommendations]) for c in one.clients] == \
        [(c.id, [r.id for r in c.recommendations]) for c in book.decision.clients]
    assert book.decision.propensities == one.propensities and one.propensities is not None
    assert portfolio.with_propensities(results, parts, advisor, None) == results
