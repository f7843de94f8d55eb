"""store/masking.py: sensitive values are masked by field in the logged input and only where a
template put them in the logged output; no identifier ever changes, and a replay of the masked
input gives the logged decision back."""

from __future__ import annotations

import copy
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rm_advisor.engine import Advisor
from rm_advisor.engine.language import Decision
from rm_advisor.store import MASK, Store, decide_and_log, replay
from rm_advisor.store.masking import mask_decision
from tests.conftest import ROOT
from tests.helpers import action, client, decision_id, rule, subject_of
from tests.helpers import advisor as advisor_of

DEMO = yaml.safe_load((ROOT / "knowledge_base" / "samples" / "demo_facts.yaml").read_text(encoding="utf-8"))


def _ids(decision: Decision) -> list[Any]:
    """Every identifier of a decision: subjects, items, rules behind them, vetoes, policies, signals."""
    out: list[Any] = []
    for s in [*decision.clients, *decision.managers]:
        out.append((s.subject_type, s.id, [(x.signal, x.subject) for x in s.signals]))
        for outcome, recs in (("recommended", s.recommendations), ("vetoed", s.vetoed), ("suppressed", s.suppressed)):
            out += [(outcome, r.kind, r.id, r.rules, [x.rule_id for x in r.reasons], [v.rule_id for v in r.vetoed_by],
                     [p.policy_id for p in r.suppressed_by], [(t.rule_id, sorted(t.matched), t.related)
                                                              for t in r.because]) for r in recs]
    return out


def _logged(store: Store, advisor: Advisor, facts: dict[str, Any]) -> tuple[Decision, Decision]:
    """The decision as answered and as logged."""
    answered = decide_and_log(store, advisor, facts)
    return answered, store.decisions.get(decision_id(answered)).decision


@pytest.fixture
def sqlite_store(tmp_path: Path, advisor: Advisor) -> Iterator[Store]:
    with Store(f"sqlite:///{tmp_path / 'mask.db'}", advisor.book.kb) as s:
        yield s


@pytest.mark.parametrize("name", ["tobacco", "T-001", "complaint", "resolve_retailer_complaint", "action", "M-T01",
                                  "tobacco.anti_counterfeit_training", "client", "network_client"])
def test_regression_a_name_that_is_an_identifier_or_a_catalogue_word_changes_no_identifier(
        sqlite_store: Store, advisor: Advisor, name: str) -> None:
    # a client named `tobacco` made the log read `***.anti_counterfeit_training`; a name equal to the
    # id masked the subject; `complaint` gave `resolve_retailer_***`
    facts = copy.deepcopy(DEMO)
    facts["clients"][0]["name"] = name
    answered, logged = _logged(sqlite_store, advisor, facts)
    assert _ids(logged) == _ids(answered)
    assert subject_of(logged, "client", "T-001").recommendations
    report = replay(sqlite_store.decisions, decision_id(answered))
    assert report.on_logged.identical, [c.format() for c in report.on_logged.changes]
    logged_input = sqlite_store.decisions.get(decision_id(answered)).input
    assert (logged_input["clients"][0]["id"], logged_input["clients"][0]["name"]) == ("T-001", MASK)


def test_only_what_a_placeholder_filled_in_is_masked_in_a_reason(tmp_path: Path) -> None:
    said = action("resolve_retailer_complaint", en="complaint: {client.name} has a complaint",
                  zh="{client.name}有投诉(complaint)")
    adv = advisor_of(rule("t.complaint", {"client.network_client": False}, {"actions": [said]}))
    facts = {"as_of": "2026-11-23", "clients": [client("C1", name="complaint", network_client=False)]}
    with Store(f"sqlite:///{tmp_path / 'x.db'}", adv.book.kb) as store:
        answered, logged = _logged(store, adv, facts)
        [reason] = subject_of(logged, "client", "C1").recommendations[0].reasons
        assert (reason.text.en, reason.text.zh) == ("complaint: *** has a complaint", "***有投诉(complaint)")
        assert subject_of(answered, "client", "C1").recommendations[0].reasons[0].text.en == \
            "complaint: complaint has a complaint"  # the answer itself is whole
        assert replay(store.decisions, decision_id(answered)).on_logged.identical


def test_a_reason_its_facts_do_not_give_back_is_read_against_its_template(advisor: Advisor) -> None:
    # e.g. a value the validation completed: the text is then aligned with the template
    said = action("resolve_retailer_complaint", en="{client.name}: {client.open_complaints} complaint(s), complaint",
                  zh="{client.name}有{client.open_complaints}起投诉")
    adv = advisor_of(rule("t.complaint", {"all": [{"client.network_client": False},
                                                  {"client.open_complaints": {"ge": 1}}]}, {"actions": [said]}))
    decision = adv.decide({"as_of": "2026-11-23", "clients": [client("C1", name="complaint", network_client=False,
                                                                     open_complaints=2)]})
    other = {"as_of": "2026-11-23", "clients": [client("C1", name="complaint", network_client=False)]}
    [reason] = subject_of(mask_decision(decision, adv.book, other), "client", "C1").recommendations[0].reasons
    assert (reason.text.en, reason.text.zh) == ("***: 2 complaint(s), complaint", "***有2起投诉")


def test_the_facts_a_rule_matched_are_masked_by_field(advisor: Advisor) -> None:
    adv = advisor_of(rule("t.named", {"all": [{"client.name": {"ne": "x"}}, {"client.network_client": False}]},
                          {"actions": [action("guide_to_network_ordering")]}))
    facts = {"as_of": "2026-11-23", "clients": [client("C1", name="False", network_client=False)]}
    decision = adv.decide(facts)
    [trace] = subject_of(decision, "client", "C1").recommendations[0].because
    assert trace.matched == {"client.name": "False", "client.network_client": False}
    [masked] = subject_of(mask_decision(decision, adv.book, facts), "client", "C1").recommendations[0].because
    assert masked.matched == {"client.name": MASK, "client.network_client": False}


def test_a_reason_no_template_explains_still_loses_the_value(advisor: Advisor) -> None:
    decision = advisor.decide(DEMO)
    rec = subject_of(decision, "client", "T-001").recommendations[0]
    odd = rec.reasons[0].model_copy(update={"rule_id": "no.such_rule"})
    forged = decision.model_copy(update={"clients": [subject_of(decision, "client", "T-001").model_copy(
        update={"recommendations": [rec.model_copy(update={"reasons": [odd]})]})]})
    [reason] = subject_of(mask_decision(forged, advisor.book, DEMO), "client", "T-001") \
        .recommendations[0].reasons
    assert "城东便民店" not in reason.text.zh + reason.text.en and MASK in reason.text.zh


def _catalogue_words(advisor: Advisor) -> list[str]:
    """Ids and words a name may collide with: action, coaching, rule, signal, policy ids, domains,
    kinds, field names, value labels and missing-value texts, and the words of the reason templates."""
    book, kb = advisor.book, advisor.book.kb
    words = {*kb.actions, *kb.coaching, *kb.signals, *(r.id for r in book.rules), *(r.rule.domain for r in book.rules),
             *(p.id for p in book.policies.policies), *(f for spec in kb.facts.values() for f in spec.fields),
             "action", "coaching", "client", "manager", "recommended", "vetoed", "suppressed", MASK, "-", "a"}
    # what a missing value or a labelled value shows in a text: the schema's words
    fields = [f for spec in kb.facts.values() for f in spec.fields.values()]
    words |= {t for f in fields if f.when_missing for t in (f.when_missing.zh, f.when_missing.en)}
    words |= {t for f in fields for label in f.labels.values() for t in (label.zh, label.en)}
    for r in book.rules:
        for reason in [*(o.reason for o in r.rule.then.actions), *(o.reason for o in r.rule.then.coaching)]:
            words |= {w for w in re.split(r"[\s,.;:()]+", reason.en) if w and "{" not in w}
            words |= {reason.zh[:2], reason.zh[-3:]}
    return sorted(words)


@st.composite
def _named_facts(draw: st.DrawFn, words: list[str]) -> dict[str, Any]:
    """The demo facts with every sensitive field set from catalogue words (or the subject's own id)."""
    facts: dict[str, Any] = copy.deepcopy(DEMO)

    def name(own_id: str) -> str:
        parts = draw(st.lists(st.sampled_from([*words, own_id]), min_size=1, max_size=2))
        return draw(st.sampled_from([" ", "", "_"])).join(parts)

    for c in facts["clients"]:
        c["name"], c["contact_person"] = name(c["id"]), name(c["manager_id"])
    for m in facts["managers"]:
        m["name"] = name(m["id"])
    for i in facts["interactions"]:
        i["note"] = name(i["client_id"])
    return facts


def test_property_masking_changes_no_identifier_and_every_logged_decision_replays(advisor: Advisor) -> None:
    words = _catalogue_words(advisor)
    with tempfile.TemporaryDirectory() as folder, Store(f"sqlite:///{folder}/p.db", advisor.book.kb) as store:

        @settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
        @given(facts=_named_facts(words))
        def check(facts: dict[str, Any]) -> None:
            answered, logged = _logged(store, advisor, facts)
            assert _ids(logged) == _ids(answered)
            report = replay(store.decisions, decision_id(answered))
            assert report.on_logged.identical, [c.format() for c in report.on_logged.changes]
            assert _ids(report.on_logged.decision) == _ids(answered)

        check()


def test_coaching_from_clients_masks_the_clients_names_and_keeps_their_ids(sqlite_store: Store,
                                                                          advisor: Advisor) -> None:
    answered, logged = _logged(sqlite_store, advisor, copy.deepcopy(DEMO))
    rec = next(r for r in subject_of(logged, "manager", "M-T01").recommendations if r.id == "complaint_to_opportunity")
    [reason] = [x for x in rec.reasons if x.rule_id == "from_clients.tobacco_stale_complaints"]
    assert "T-001 ***, T-004 ***" in reason.text.en and "T-001 ***、T-004 ***" in reason.text.zh
    assert "城东便民店" not in reason.text.zh + reason.text.en
    original = next(r for r in subject_of(answered, "manager", "M-T01").recommendations if r.id == rec.id)
    assert "T-001 城东便民店, T-004 金福烟酒店" in next(
        x.text.en for x in original.reasons if x.rule_id == reason.rule_id)
    assert rec.card == original.card  # a card holds no name: logged as answered
    report = replay(sqlite_store.decisions, decision_id(answered))
    assert report.on_logged.identical, [c.format() for c in report.on_logged.changes]
