"""engine/inference/from_clients.py: coaching derived from what the manager's highest-scored
clients wait on, with the count, the clients and the action named, for one decision and for the
batch alike."""

from __future__ import annotations

from typing import Any

import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.inference.from_clients import ranked_clients, trace_id
from rm_advisor.engine.language import Recommendation, SubjectDecision
from tests.helpers import subject_of

AS_OF = "2026-11-23"


def _bank(n_problems: int, others: int = 0) -> dict[str, Any]:
    clients = [{"id": f"B{i}", "manager_id": "MB", "name": f"客户{i}", "domain": "bank", "has_collateral": True,
                "collateral_insured": False} for i in range(n_problems)]
    clients += [{"id": f"X{i}", "manager_id": "MB", "domain": "bank", "interest_unpaid_days": 30 + i}
                for i in range(others)]
    return {"as_of": AS_OF, "managers": [{"id": "MB", "name": "李经理", "domain": "bank"}], "clients": clients}


def _coaching(advisor: Advisor, facts: dict[str, Any], topic: str, manager: str = "MB") -> Recommendation | None:
    decision = advisor.decide(facts)
    return next((r for r in subject_of(decision, "manager", manager).recommendations if r.id == topic), None)


def test_a_bank_manager_whose_clients_lack_collateral_insurance_gets_credit_file_coaching(advisor: Advisor) -> None:
    rec = _coaching(advisor, _bank(2), "credit_file_documents_and_ledger")
    assert rec is not None and rec.rules == ["from_clients.bank_credit_file_problems"]
    [reason] = rec.reasons
    assert reason.text.en.startswith("2 of your 2 highest-scored clients wait on credit-file fixes "
                                     "(complete the collateral insurance): B0 客户0, B1 客户1.")
    assert "评分最高的2户客户中有2户在等待信贷档案补正(补办抵押物保险):B0 客户0、B1 客户1" in reason.text.zh
    [trace] = rec.because
    assert trace.matched == {"clients.count": 2, "clients.top": 2, "clients.actions": ["complete_collateral_insurance"]}
    assert trace.related == {"client": ["client:B0", "client:B1"]}
    assert trace.file.endswith("coaching_from_clients.yaml") and trace.line > 0
    assert trace.provenance.quote == "抵押物保险缺一户扣3分"


def test_one_client_is_below_the_threshold(advisor: Advisor) -> None:
    assert _coaching(advisor, _bank(1), "credit_file_documents_and_ledger") is None


def test_only_the_highest_scored_clients_count(advisor: Advisor) -> None:
    # ten clients with unpaid interest (score 90) outrank the uninsured ones (70): none of them is in the top 10
    assert _coaching(advisor, _bank(2, others=10), "credit_file_documents_and_ledger") is None
    rec = _coaching(advisor, _bank(2, others=8), "credit_file_documents_and_ledger")
    assert rec is not None and rec.because[0].matched["clients.top"] == 10


def test_the_reason_merges_into_the_topic_the_rules_already_give(advisor: Advisor) -> None:
    facts = _bank(3)
    facts["managers"][0]["credit_file_deductions"] = 12
    rec = _coaching(advisor, facts, "credit_file_documents_and_ledger")
    assert rec is not None
    assert rec.rules == ["coaching.credit_file_deductions", "from_clients.bank_credit_file_problems"]
    assert [r.rule_id for r in rec.reasons] == ["from_clients.bank_credit_file_problems",
                                                "coaching.credit_file_deductions"]
    assert rec.score == 72  # the stronger of the two


def test_a_signal_in_the_match_must_be_held_by_the_client(advisor: Advisor) -> None:
    def retailer(cid: str, days: int) -> dict[str, Any]:
        return {"id": cid, "manager_id": "MT", "name": f"店{cid}", "domain": "tobacco", "open_complaints": 1,
                "oldest_open_complaint_days": days}
    fresh = {"as_of": AS_OF, "managers": [{"id": "MT", "domain": "tobacco"}],
             "clients": [retailer("T1", 2), retailer("T2", 2)]}
    assert _coaching(advisor, fresh, "complaint_to_opportunity", "MT") is None  # open, but not past due
    stale = {**fresh, "clients": [retailer("T1", 20), retailer("T2", 9)]}
    rec = _coaching(advisor, stale, "complaint_to_opportunity", "MT")
    assert rec is not None and rec.rules == ["from_clients.tobacco_stale_complaints"]
    assert "2 of your 2 highest-scored retailers wait on complaints open longer than 3 days" in rec.reasons[0].text.en
    assert [s.signal for s in rec.because[0].signals] == ["complaint_past_due", "complaint_past_due"]


def test_coaching_from_clients_is_for_the_managers_of_its_domain(advisor: Advisor) -> None:
    facts = _bank(3)
    facts["managers"][0]["domain"] = "telecom"
    assert _coaching(advisor, facts, "credit_file_documents_and_ledger") is None


def test_top_limits_what_is_shown_not_what_the_coaching_counts(advisor: Advisor) -> None:
    full = advisor.decide(_bank(2))
    shown = advisor.decide(_bank(2), max_per_subject=1)
    assert subject_of(shown, "manager", "MB").recommendations == subject_of(full, "manager", "MB").recommendations[:1]
    assert all(len(c.recommendations) <= 1 for c in shown.clients)


@pytest.mark.parametrize("seed", [3, 11])
def test_the_batch_book_and_the_posted_book_give_the_same_coaching(advisor: Advisor, seed: int) -> None:
    from rm_advisor.engine.portfolio import BulkGates, check_tables, facts_document, generate, prepare
    from rm_advisor.engine.portfolio.run import decide_partition

    kb = advisor.book.kb
    p = generate(clients=300, managers=6, seed=seed)
    tables = check_tables(p.clients, p.managers, p.history, kb, p.as_of)
    _, parts = prepare(tables, kb, BulkGates(advisor.book))
    found = 0
    for part in parts:
        batch = decide_partition(advisor, part, p.as_of).decision
        posted = advisor.decide(facts_document(part, p.as_of, kb))  # the book's derived values, as given
        assert _recommended(batch.managers[0]) == _recommended(posted.managers[0])
        found += sum(1 for r in batch.managers[0].recommendations for x in r.rules if x.startswith("from_clients."))
    assert found > 0


def _recommended(manager: SubjectDecision) -> Any:
    """A manager's coaching without the traces' history details (values given derive nothing)."""
    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "derived"}
        return [strip(v) for v in value] if isinstance(value, list) else value
    return strip([r.model_dump(mode="json") for r in manager.recommendations])


def test_clients_are_ranked_by_their_best_score_then_by_how_much_is_recommended(advisor: Advisor) -> None:
    facts = _bank(2, others=2)
    facts["clients"][1]["collection_notices_missing"] = 1  # B1: two actions, the first still 80 < 90
    ranked = ranked_clients(advisor.decide(facts).clients)
    assert [(c.id, c.recommendations[0].score, len(c.recommendations)) for c in ranked] == [
        ("X0", 90, 1), ("X1", 90, 1), ("B1", 80, 2), ("B0", 70, 1)]
    assert trace_id(advisor.book.kb.coaching_from_clients["bank_credit_file_problems"]) == \
        "from_clients.bank_credit_file_problems"
