"""The shipped knowledge: provenance found verbatim, every action and topic reachable, every rule
fired and every condition seen true and false by a scenario, and the error-code list covered by tests."""

from __future__ import annotations

import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.authoring.coverage import measure
from rm_advisor.engine.errors import CODES
from rm_advisor.engine.loading.locations import Locator
from rm_advisor.engine.loading.sources import read_rule_files
from tests.conftest import ROOT, SHARED, ShippedResults

SEEDS = SHARED / "domain" / "seeds"


def _documents(advisor: Advisor) -> dict[str, str]:
    if not SEEDS.is_dir():
        pytest.skip(f"source documents not found at {SEEDS} (../shared beside the project)")
    return {d.id: (SEEDS / d.file).read_text(encoding="utf-8") for d in advisor.book.kb.documents.values()}


def test_every_quote_is_found_verbatim_in_its_document(advisor: Advisor) -> None:
    docs = _documents(advisor)
    kb = advisor.book.kb
    items = [(f"rule {r.id}", r.rule.provenance) for r in advisor.book.rules]
    items += [(f"action {a.id}", a.provenance) for a in kb.actions.values()]
    items += [(f"coaching {c.id}", c.provenance) for c in kb.coaching.values()]
    items += [(f"coaching from clients {e.id}", e.provenance) for e in kb.coaching_from_clients.values()]
    sc = kb.scoring
    for group in (sc.segmentations, sc.schemes, sc.ladders):
        for item in group:
            items += [(f"scoring {item.id}", item.provenance)]
            items += [(f"scoring {item.id}.{x.id}", x.provenance) for x in getattr(item, "items", ())]
    assert len(items) > 300
    missing = [f"{what}: «{p.quote}» not in {p.document}" for what, p in items if p.quote not in docs[p.document]]
    assert missing == []


def test_check_with_the_documents_finds_every_shipped_quote(advisor: Advisor) -> None:
    """What `rm-advisor check --documents` does, the same verdict as the test above."""
    from rm_advisor.engine.inference import check_rules
    from rm_advisor.engine.loading import quotes_not_found, read_kb_files

    docs = _documents(advisor)
    found = check_rules(read_rule_files(ROOT / "rules"), advisor.book.kb, docs)
    found += quotes_not_found(read_kb_files(ROOT / "knowledge_base"), docs)
    assert [d.format() for d in found if d.code in ("quote_not_found", "unknown_document")] == []


def test_every_action_and_coaching_topic_is_reachable_from_a_rule_or_from_clients(advisor: Advisor) -> None:
    used = {o.action for r in advisor.book.rules for o in r.rule.then.actions}
    used |= {o.topic for r in advisor.book.rules for o in r.rule.then.coaching}
    kb = advisor.book.kb
    used |= {e.topic for e in kb.coaching_from_clients.values()}
    assert sorted(set(kb.actions) - used) == []
    assert sorted(set(kb.coaching) - used) == []


def test_every_rule_fires_in_some_scenario(advisor: Advisor, shipped_results: ShippedResults) -> None:
    cov = measure(advisor.book, shipped_results.values(), Locator.from_files(read_rule_files(ROOT / "rules")))
    assert {f.file.rsplit("/", 1)[-1] for f in cov.files} == {p.name for p in (ROOT / "rules").glob("*.yaml")
                                                               if not p.name.endswith((".scenarios.yaml",
                                                                                       ".policies.yaml"))
                                                               and p.name != "arbitration.yaml"}
    assert [r for f in cov.files for r in f.never_fired] == []
    assert [o for f in cov.files for o in f.never_decided] == []
    assert [f"{c.location}: [{c.rule_id}] {c.text}" for f in cov.files for c in f.conditions if not c.covered] == []


def test_every_signal_is_produced_and_every_parameter_used(advisor: Advisor) -> None:
    produced = {s for r in advisor.book.rules for s in r.rule.then.signals}
    assert sorted(set(advisor.book.kb.signals) - produced) == []
    texts = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "rules").glob("*.yaml"))
    texts += (ROOT / "knowledge_base" / "scoring.yaml").read_text(encoding="utf-8")
    texts += (ROOT / "knowledge_base" / "coaching_from_clients.yaml").read_text(encoding="utf-8")
    # worklist capacities default to parameters when a manager has no own capacity
    engine_code = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "engine").rglob("*.py"))
    # a card's review period defaults to a parameter (engine/language/knowledge.py)
    unused = [name for name in advisor.book.kb.parameters if f"${name}" not in texts
              and f"param.{name}" not in texts and f'params["{name}"]' not in engine_code
              and f'"${name}"' not in engine_code]
    assert unused == []


def test_every_error_code_is_exercised_by_a_test() -> None:
    sources = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "tests").rglob("*.py"))
    sources += "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "rules").glob("*.scenarios.yaml"))
    untested = [code for code in CODES if f'"{code}"' not in sources and f"error: {code}" not in sources
                and f"'{code}'" not in sources]
    assert untested == []


def test_every_coaching_topic_has_a_card_with_one_next_behaviour(advisor: Advisor) -> None:
    kb = advisor.book.kb
    assert [t.id for t in kb.coaching.values() if t.card is None] == []
    forms = {t.card.behaviour.form for t in kb.coaching.values() if t.card is not None}
    assert forms <= {"keep", "start", "stop"} and {"start", "stop"} <= forms


def test_each_domain_has_coaching_from_clients(advisor: Advisor) -> None:
    entries = advisor.book.kb.coaching_from_clients.values()
    assert {e.domain for e in entries} >= {"bank", "tobacco", "telecom"}
    bank = next(e for e in entries if e.domain == "bank")
    assert {"complete_collateral_insurance", "issue_collection_notice"} <= set(bank.match.actions)
    assert bank.topic == "credit_file_documents_and_ledger"
