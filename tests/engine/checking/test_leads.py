"""engine/checking/leads.py: every derived manager signal leads to a coaching topic on its own, in
every domain where it can hold, or `rm-advisor check` says where it leads nowhere."""

from __future__ import annotations

from typer.testing import CliRunner

from rm_advisor.cli.main import app
from rm_advisor.engine.errors import Diagnostic
from rm_advisor.engine.inference.book import check_rules
from tests.conftest import ROOT
from tests.helpers import KB, Doc, rule, rule_text

runner = CliRunner()


def coaching(topic: str = "objection_handling_and_closing") -> Doc:
    return {"topic": topic, "reason": {"zh": "因为", "en": "because"}}


def asserts(rule_id: str, when: Doc, *signals: str) -> Doc:
    return rule(rule_id, when, {"signals": list(signals)}, subject="manager")


def coaches(rule_id: str, when: Doc, topic: str = "objection_handling_and_closing") -> Doc:
    return rule(rule_id, when, {"coaching": [coaching(topic)]}, subject="manager")


WEAK = asserts("t.weak", {"manager.negotiation_win_pct": {"lt": 50}}, "weak_negotiator")


def leads(*rules: Doc) -> list[Diagnostic]:
    return [d for d in check_rules({"rules/test.yaml": rule_text(*rules)}, KB) if d.code == "signal_leads_nowhere"]


def test_a_manager_signal_no_rule_uses_leads_nowhere() -> None:
    [d] = leads(WEAK)
    assert (d.severity, d.rule_id) == ("warning", "t.weak")
    assert "bank, telecom and tobacco managers: no rule uses it" in d.message
    assert (d.location.file, d.location.line) == ("rules/test.yaml", 18)  # the `then.signals` entry


def test_a_signal_used_only_with_other_conditions_leads_nowhere_and_names_those_rules() -> None:
    junior = coaches("t.junior", {"all": [{"signal": "weak_negotiator"}, {"manager.tenure_months": {"lt": 24}}]})
    [d] = leads(WEAK, junior)
    assert "the rules that use it (t.junior) need other conditions too" in d.message
    assert "`signal: weak_negotiator`" in d.hint


def test_a_rule_with_the_signal_alone_that_coaches_is_enough() -> None:
    assert leads(WEAK, coaches("t.prepare", {"signal": "weak_negotiator"}, "negotiation_five_whats")) == []


def test_a_rule_with_the_signal_alone_that_only_asserts_is_not_enough() -> None:
    relay = asserts("t.relay", {"signal": "weak_negotiator"}, "lagging_performer")
    found = leads(WEAK, relay, coaches("t.lag", {"signal": "lagging_performer"}))
    assert [d.rule_id for d in found] == ["t.weak"]


def test_domains_are_followed_where_the_signal_can_hold_and_where_coaching_follows() -> None:
    tobacco = coaches("t.tobacco", {"all": [{"signal": "weak_negotiator"}, {"manager.domain": "tobacco"}]})
    [d] = leads(WEAK, tobacco)
    assert "for bank and telecom managers" in d.message and "cover only tobacco" in d.message
    others = coaches("t.others", {"all": [{"signal": "weak_negotiator"},
                                          {"manager.domain": {"in": ["bank", "telecom"]}}]})
    assert leads(WEAK, tobacco, others) == []


def test_a_signal_asserted_for_one_domain_needs_coaching_in_that_domain_only() -> None:
    bank_only = asserts("t.bank", {"all": [{"manager.domain": "bank"}, {"manager.negotiation_win_pct": {"lt": 50}}]},
                        "weak_negotiator")
    assert leads(bank_only, coaches("t.bank_coach", {"all": [{"signal": "weak_negotiator"},
                                                             {"manager.domain": {"ne": "tobacco"}}]})) == []
    [d] = leads(bank_only, coaches("t.tob_coach", {"all": [{"signal": "weak_negotiator"},
                                                           {"manager.domain": "tobacco"}]}))
    assert "for bank managers" in d.message


def test_client_signals_are_not_this_checks_business() -> None:
    visit = rule("t.visit", {"client.days_since_last_visit": {"gt": 30}}, {"signals": ["visit_overdue"]})
    assert leads(visit) == []


def test_the_shipped_packs_lead_every_manager_signal_to_coaching() -> None:
    result = runner.invoke(app, ["check", str(ROOT / "rules")])
    assert result.exit_code == 0, result.output
    assert "signal_leads_nowhere" not in result.output


def test_check_prints_the_warning_with_its_location(tmp_path: object) -> None:
    from pathlib import Path

    folder = Path(str(tmp_path))
    (folder / "t.yaml").write_text(rule_text(WEAK), encoding="utf-8")
    result = runner.invoke(app, ["check", str(folder / "t.yaml")])
    assert result.exit_code == 0, result.output
    assert "t.yaml:18:" in result.output and "warning: signal_leads_nowhere [t.weak]" in result.output
