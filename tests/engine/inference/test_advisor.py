"""engine/inference/advisor.py: the public entry point: load, validate, decide, run."""

from __future__ import annotations

import datetime as dt
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from rm_advisor.engine import Advisor, Decision, FactError, RuleError
from rm_advisor.engine.inference.advisor import input_hash
from rm_advisor.engine.language.facts import FactSet
from rm_advisor.engine.language.feedback import FeedbackEvent
from rm_advisor.engine.loading.sources import read_kb_files, read_rule_files
from tests.conftest import ROOT
from tests.helpers import Doc, action, client, holdable, rule, rule_text, subject_of
from tests.helpers import advisor as advisor_of


def test_decision_names_its_revision_and_input_hash() -> None:
    adv = advisor_of(rule("t.1", {"client.is_key": True}, {"actions": [action("relationship_care")]}))
    d1 = adv.decide({"clients": [client(is_key=True)]})
    d2 = adv.decide({"clients": [client(is_key=True)]})
    assert d1.revision == adv.revision and d1.revision.startswith("r-")
    assert d1.input_hash == d2.input_hash
    assert d1.input_hash != adv.decide({"clients": [client(is_key=False)]}).input_hash


# ---- the shipped rules on the sample facts -----------------------------------------------------

DEMO: Doc = yaml.safe_load((ROOT / "knowledge_base" / "samples" / "demo_facts.yaml").read_text(encoding="utf-8"))


def _demo_fact(fact_id: str) -> Doc:
    found: Doc = next(f for t in ("clients", "managers") for f in DEMO[t] if f["id"] == fact_id)
    return found


def test_load_without_arguments_is_the_shipped_rule_set(advisor: Advisor) -> None:
    shipped = Advisor.load()
    assert shipped.revision == advisor.revision
    assert sorted(r.id for r in shipped.book.rules) == sorted(r.id for r in advisor.book.rules)
    texts = Advisor.from_files(read_rule_files(ROOT / "rules"), read_kb_files(ROOT / "knowledge_base"))
    assert texts.revision == advisor.revision
    packs = {p.name for p in (ROOT / "rules").glob("*.yaml")
             if not p.name.endswith((".scenarios.yaml", ".policies.yaml")) and p.name != "arbitration.yaml"}
    assert {r.file.rsplit("/", 1)[-1] for r in advisor.book.rules} == packs
    assert advisor.book.policies  # rules/contact.policies.yaml is loaded beside the packs
    assert advisor.book.arbitration.propensity.enabled  # and rules/arbitration.yaml


def test_a_rule_directory_that_does_not_check_is_refused_with_every_problem(tmp_path: Path) -> None:
    (tmp_path / "bad.yaml").write_text(rule_text(
        rule("t.one", {"client.days_since_visit": {"gt": 3}}, {"actions": [action("guide_to_network_ordering")]}),
        rule("t.two", {"client.is_key": True}, {"actions": [action("no_such_action")]})), encoding="utf-8")
    with pytest.raises(RuleError) as exc:
        Advisor.load(tmp_path, ROOT / "knowledge_base")
    assert sorted((d.code, d.rule_id) for d in exc.value.diagnostics) == [("unknown_action", "t.two"),
                                                                        ("unknown_field", "t.one")]


def test_every_client_and_manager_of_the_demo_facts_is_decided_as_of_their_date(advisor: Advisor) -> None:
    d = advisor.decide(DEMO)
    assert d.as_of == DEMO["as_of"] and d.revision == advisor.revision and d.firings > 0
    assert sorted(s.id for s in d.clients) == sorted(c["id"] for c in DEMO["clients"])
    assert sorted(s.id for s in d.managers) == sorted(m["id"] for m in DEMO["managers"])


def test_the_demo_retailer_outside_network_ordering_is_guided_to_it(advisor: Advisor) -> None:
    retailer = _demo_fact("T-001")
    assert (retailer["domain"], retailer["network_client"]) == ("tobacco", False)  # tobacco.network_ordering's gate
    recs = {r.id: r for r in subject_of(advisor.decide(DEMO), "client", "T-001").recommendations}
    guide = recs["guide_to_network_ordering"]
    assert guide.rules == ["tobacco.network_ordering"]
    assert guide.because[0].matched == {"client.domain": "tobacco", "client.network_client": False}
    (reason,) = guide.reasons
    scale = advisor.book.kb.facts["client"].fields["business_scale"].labels[retailer["business_scale"]]
    assert reason.text.zh.startswith(retailer["name"]) and f"经营规模:{scale.zh}" in reason.text.zh
    assert f"scale: {scale.en}" in reason.text.en  # the scale as people read it in each language


def test_a_demo_client_with_a_credit_red_flag_gets_no_sales_action(advisor: Advisor) -> None:
    # both corporate owners qualify for the cross-sell; B-001's multi-bank credit raises credit_red_flag
    assert _demo_fact("B-001")["multi_bank_credit"] is True and _demo_fact("B-002")["multi_bank_credit"] is False
    d = advisor.decide(DEMO)
    flagged, clean = subject_of(d, "client", "B-001"), subject_of(d, "client", "B-002")
    (vetoed,) = flagged.vetoed
    assert vetoed.id == "cross_sell_retail_to_corporate_owner"
    assert [v.rule_id for v in vetoed.vetoed_by] == ["bank.credit_red_flag"]
    assert "monitor_client_risk" in {r.id for r in flagged.recommendations}
    assert "cross_sell_retail_to_corporate_owner" in {r.id for r in clean.recommendations} and clean.vetoed == []


def test_a_validated_fact_set_is_decided_as_the_document_it_came_from(advisor: Advisor) -> None:
    fact_set = advisor.validate(DEMO)
    assert isinstance(fact_set, FactSet)
    assert advisor.decide(fact_set) == advisor.decide(DEMO)


def test_an_as_of_given_replaces_the_facts_date(advisor: Advisor) -> None:
    later = DEMO["as_of"] + dt.timedelta(days=30)
    d = advisor.decide(DEMO, as_of=later)
    assert d.as_of == later and d.input_hash != advisor.decide(DEMO).input_hash


def test_the_input_hash_does_not_depend_on_the_order_of_the_facts(advisor: Advisor) -> None:
    shuffled = {**DEMO, "clients": DEMO["clients"][::-1], "interactions": DEMO["interactions"][::-1]}
    fact_set = advisor.validate(DEMO)
    assert input_hash(advisor.validate(shuffled)) == input_hash(fact_set) == advisor.decide(shuffled).input_hash
    assert re.fullmatch(r"sha256:[0-9a-f]{16}", input_hash(fact_set))
    assert advisor.decide(shuffled) == advisor.decide(DEMO)


def test_facts_that_do_not_validate_are_refused_with_every_problem(advisor: Advisor) -> None:
    with pytest.raises(FactError) as exc:
        advisor.decide({"clients": [{**client("C1"), "days_since_last_visit": "often", "colour": "red"}]})
    assert sorted(d.code for d in exc.value.diagnostics) == ["fact_type", "fact_unknown_field"]


def test_engines_of_several_threads_give_the_same_answer(advisor: Advisor) -> None:
    expected = advisor.decide(DEMO)
    threads = 4
    start = threading.Barrier(threads)

    def decide(_: int) -> tuple[int, Decision]:
        start.wait()  # all threads decide at once
        engine = id(advisor._inference())  # experta is not thread-safe: one engine per thread
        return engine, advisor.decide(DEMO)

    with ThreadPoolExecutor(max_workers=threads) as pool:
        results = list(pool.map(decide, range(threads * 3)))
    assert all(d == expected for _, d in results)
    assert len({engine for engine, _ in results}) == threads
    assert id(advisor._inference()) not in {engine for engine, _ in results}  # this thread's own


def test_max_per_subject_keeps_the_best_of_each_list(advisor: Advisor) -> None:
    full = advisor.decide(DEMO)
    short = advisor.decide(DEMO, max_per_subject=2)
    for whole, cut in zip(full.clients + full.managers, short.clients + short.managers, strict=True):
        assert cut.recommendations == whole.recommendations[:2]


def test_max_per_subject_counts_what_the_contact_policies_leave(advisor: Advisor) -> None:
    # the retailer's best service or sales action was done yesterday: the rest-after-done policy holds
    # it back, and the limit applies to what is left, so two actions are still recommended
    best = holdable(subject_of(advisor.decide(DEMO), "client", "T-001"))
    history = [FeedbackEvent(decision_id="d-1", subject_id="T-001", item_id=best, status="done",
                             date=DEMO["as_of"] - dt.timedelta(days=1))]
    unlimited = subject_of(advisor.decide(DEMO, history=history), "client", "T-001")
    limited = subject_of(advisor.decide(DEMO, max_per_subject=2, history=history), "client", "T-001")
    assert best in {r.id for r in unlimited.suppressed} and best not in {r.id for r in unlimited.recommendations}
    assert len(unlimited.recommendations) > 2
    assert limited.recommendations == unlimited.recommendations[:2]


def test_a_run_keeps_the_rules_that_fired_and_the_signals_held(advisor: Advisor) -> None:
    run = advisor.run(DEMO)
    fired = set().union(*run.fired().values())
    held = set().union(*run.held().values())
    assert {"tobacco.network_ordering", "bank.multi_bank_credit", "bank.credit_red_flag"} <= fired
    assert "credit_red_flag" in held
    assert run.decision == advisor.decide(DEMO) and run.fact_set == advisor.validate(DEMO)
