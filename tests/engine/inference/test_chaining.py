"""engine/inference/chaining.py: experta on 3.11, the agenda-bug fix, chaining, joins, negation, the cap."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from rm_advisor.engine import InferenceError
from rm_advisor.engine.inference.chaining import Inference
from rm_advisor.engine.language.subjects import SubjectKey
from tests.conftest import ROOT
from tests.helpers import action, advisor, client, rule, subject_of


def _run_repro(strategy: str, seed: int) -> list[int]:
    env = {**os.environ, "PYTHONHASHSEED": str(seed)}
    out = subprocess.run([sys.executable, "-m", "tests.engine.inference.agenda_repro", strategy], capture_output=True,
                         text=True, check=True, cwd=ROOT, env=env)
    fired: list[int] = json.loads(out.stdout)
    return fired


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_agenda_bug_is_real_in_stock_experta(seed: int) -> None:
    fired = _run_repro("stock", seed)
    assert any(i % 5 == 0 for i in fired), "experta's DepthStrategy no longer shows the bug"


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4, 5, 6, 7])
def test_agenda_bug_regression_safe_strategy_honours_not(seed: int) -> None:
    assert sorted(_run_repro("safe", seed)) == [i for i in range(50) if i % 5 != 0]


def test_experta_imports_on_a_fresh_interpreter_without_touching_root_logging() -> None:
    code = ("import logging; before = list(logging.getLogger().handlers);"
            "import rm_advisor.engine.inference.chaining; import experta;"
            "assert logging.getLogger().handlers == before, logging.getLogger().handlers; print('ok')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "ok"


def test_signals_chain_across_rules() -> None:
    adv = advisor(
        rule("t.a", {"client.network_client": False}, {"signals": ["outside_official_channel"]}),
        rule("t.b", {"signal": "outside_official_channel"}, {"signals": ["counterfeit_risk"]}),
        rule("t.c", {"signal": "counterfeit_risk"}, {"actions": [action("anti_counterfeit_training")]}),
    )
    d = adv.decide({"clients": [client(network_client=False)]})
    (rec,) = d.clients[0].recommendations
    assert rec.id == "anti_counterfeit_training"
    chain = rec.because[0].signals[0]
    assert chain.signal == "counterfeit_risk" and chain.asserted_by[0].rule_id == "t.b"
    assert chain.asserted_by[0].signals[0].asserted_by[0].matched == {"client.network_client": False}


def test_negated_signal_waits_for_its_producers() -> None:
    # t.z is listed first and would fire first by file order; stratification makes t.a fire before it
    adv = advisor(
        rule("t.z", {"all": [{"client.is_key": True}, {"not": {"signal": "counterfeit_risk"}}]},
             {"actions": [action("key_client_priority_service")]}),
        rule("t.b", {"signal": "outside_official_channel"}, {"signals": ["counterfeit_risk"]}),
        rule("t.a", {"client.network_client": False}, {"signals": ["outside_official_channel"]}),
    )
    blocked = adv.decide({"clients": [client(is_key=True, network_client=False)]})
    assert blocked.clients[0].recommendations == []
    allowed = adv.decide({"clients": [client(is_key=True, network_client=True)]})
    assert [r.id for r in allowed.clients[0].recommendations] == ["key_client_priority_service"]


def test_manager_rule_joins_clients_through_their_signals() -> None:
    adv = advisor(
        rule("t.overdue", {"client.days_since_last_visit": {"gt": 7}}, {"signals": ["visit_overdue"]}),
        rule("t.coach", {"exists": {"fact": "client", "where": {"all": [
            {"signal": "visit_overdue"}, {"client.client_class": "A"}]}}},
             {"coaching": [{"topic": "visit_coverage_by_class", "reason": {"zh": "z", "en": "e"}}]},
             subject="manager"),
    )
    facts = {"managers": [{"id": "M1", "domain": "tobacco"}, {"id": "M2", "domain": "tobacco"}],
             "clients": [client("C1", client_class="A", days_since_last_visit=9),
                         client("C2", client_class="B", days_since_last_visit=20),
                         client("C3", client_class="A", days_since_last_visit=2),
                         {**client("C4", client_class="A", days_since_last_visit=30), "manager_id": "M2"},
                         client("C5", client_class="A", days_since_last_visit=12)]}
    d = adv.decide(facts)
    m1 = subject_of(d, "manager", "M1")
    (rec,) = m1.recommendations
    assert rec.because[0].related == {"client": ["client:C1", "client:C5"]}
    assert subject_of(d, "manager", "M2").recommendations[0].because[0].related == {"client": ["client:C4"]}


def test_a_gate_for_a_subject_the_facts_do_not_hold_joins_nothing() -> None:
    adv = advisor(
        rule("t.overdue", {"client.days_since_last_visit": {"gt": 7}}, {"signals": ["visit_overdue"]}),
        rule("t.coach", {"exists": {"fact": "client", "where": {"signal": "visit_overdue"}}},
             {"coaching": [{"topic": "visit_coverage_by_class", "reason": {"zh": "z", "en": "e"}}]},
             subject="manager"),
    )
    fs = adv.validate({"managers": [{"id": "M1", "domain": "tobacco"}],
                       "clients": [client("C1", days_since_last_visit=9)]})
    # gates evaluated elsewhere (engine.portfolio.bulk does so) may name a subject this fact set lacks
    result = Inference(adv.book).run(fs, gates=[("t.overdue", SubjectKey("client", "C1")),
                                                ("t.coach", SubjectKey("manager", "M9"))])
    assert [(f.rule_id, f.subject) for f in result.firings] == [("t.overdue", SubjectKey("client", "C1"))]


def test_in_next_days_on_dates() -> None:
    adv = advisor(rule("t.exp", {"client.agreement_expiry": {"in_next_days": 30}},
                       {"actions": [action("renew_agreement_before_expiry")]}))
    soon = adv.decide({"as_of": "2026-11-23", "clients": [client(agreement_expiry="2026-12-10")]})
    late = adv.decide({"as_of": "2026-11-23", "clients": [client(agreement_expiry="2027-03-01")]})
    past = adv.decide({"as_of": "2026-11-23", "clients": [client(agreement_expiry="2026-11-01")]})
    assert soon.clients[0].recommendations and not late.clients[0].recommendations
    assert not past.clients[0].recommendations


def test_firing_cap_stops_inference_with_a_clear_error() -> None:
    adv = advisor(
        rule("t.a", {"client.network_client": False}, {"signals": ["outside_official_channel"]}),
        rule("t.b", {"signal": "outside_official_channel"}, {"signals": ["counterfeit_risk"]}),
        rule("t.c", {"signal": "counterfeit_risk"}, {"signals": ["order_decline"]}),
        rule("t.d", {"signal": "order_decline"}, {"actions": [action("anti_counterfeit_training")]}),
        max_firings=2,  # t.a needs no chaining; t.b, t.c, t.d chain through the network
    )
    with pytest.raises(InferenceError) as exc:
        adv.decide({"clients": [client(network_client=False)]})
    assert [d.code for d in exc.value.diagnostics] == ["firing_limit"]


def test_engine_reuse_gives_the_same_answer_and_no_leftovers() -> None:
    adv = advisor(rule("t.a", {"client.network_client": False}, {"actions": [action("guide_to_network_ordering")]}))
    first = adv.decide({"clients": [client(network_client=False)]})
    adv.decide({"clients": [client("C9", network_client=True)]})
    again = adv.decide({"clients": [client(network_client=False)]})
    assert first == again


def test_each_firing_carries_its_match_trace_for_the_explanation() -> None:
    adv = advisor(
        rule("t.overdue", {"all": [{"client.days_since_last_visit": {"gt": 7}},
                                   {"exists": {"fact": "interaction", "where": {"interaction.kind": "complaint"}}}]},
             {"signals": ["visit_overdue"]}),
        rule("t.visit", {"signal": "visit_overdue"}, {"actions": [action("guide_to_network_ordering")]}),
    )
    fs = adv.validate({"clients": [client("C1", days_since_last_visit=9)],
                       "interactions": [{"id": "I1", "client_id": "C1", "kind": "complaint"},
                                        {"id": "I2", "client_id": "C1", "kind": "visit"}]})
    result = Inference(adv.book).run(fs)
    firing = {f.rule_id: f for f in result.firings}
    c1 = SubjectKey("client", "C1")
    assert firing["t.overdue"].subject == c1
    assert firing["t.overdue"].matched == {"client.days_since_last_visit": 9, "exists:interaction": ["I1"]}
    assert firing["t.visit"].matched == {}  # a signal condition is matched by the network, not read from facts
    [because] = adv.decide(fs).clients[0].recommendations[0].because
    [signal] = because.signals
    [asserted] = signal.asserted_by
    assert (because.rule_id, signal.subject, asserted.rule_id) == ("t.visit", "client:C1", "t.overdue")  # text out
    assert asserted.matched == {"client.days_since_last_visit": 9} and asserted.related == {"interaction": ["I1"]}
