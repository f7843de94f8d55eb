"""Scenario tests beside the rules: given facts, what must (and must not) be decided.

A scenario file ``rules/<pack>.scenarios.yaml``::

    scenarios:
      - name: off-channel retailer is guided to network ordering
        facts: {as_of: 2026-11-23, clients: [...], managers: [...]}
        expect:
          - subject: client:T1
            actions: [guide_to_network_ordering]     # recommended (not vetoed)
            not_actions: [counter_placement]         # not recommended
            fired: [tobacco.outside_official_channel]
            not_fired: [tobacco.counterfeit_exposure]
            signals: [outside_official_channel]
            vetoed: [cross_sell_retail_to_corporate_owner]
            order: [resolve_retailer_complaint, guide_to_network_ordering]
      - name: a text where a number belongs is refused
        facts: {...}
        error: fact_type                              # expected diagnostic code instead

Running a scenario returns the list of its failures (empty when it passes).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from engine.advisor import Advisor
from engine.decision import Decision, SubjectDecision
from engine.errors import AdvisorError
from engine.validation import validate_document
from engine.yaml_source import parse_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Expectation(_Strict):
    subject: str = Field(pattern=r"^(client|manager):.+$", description="client:ID or manager:ID")
    actions: tuple[str, ...] = ()
    not_actions: tuple[str, ...] = ()
    coaching: tuple[str, ...] = ()
    not_coaching: tuple[str, ...] = ()
    signals: tuple[str, ...] = ()
    not_signals: tuple[str, ...] = ()
    vetoed: tuple[str, ...] = ()
    fired: tuple[str, ...] = ()
    not_fired: tuple[str, ...] = ()
    order: tuple[str, ...] = Field(default=(), description="these recommendations appear in this order")
    nothing: bool = Field(default=False, description="no recommendation at all for the subject")


class Scenario(_Strict):
    name: str
    facts: dict[str, Any]
    expect: tuple[Expectation, ...] = ()
    error: str | None = None


class ScenarioFile(_Strict):
    scenarios: tuple[Scenario, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Case:
    file: str
    line: int
    scenario: Scenario

    @property
    def id(self) -> str:
        return f"{self.file.rsplit('/', 1)[-1]}::{self.scenario.name}"


def load_scenarios(files: dict[str, str]) -> tuple[list[Case], list[Any]]:
    """Parse scenario files; returns the cases and any diagnostics."""
    cases, diags = [], []
    for name in sorted(files):
        parsed = parse_yaml(files[name], name)
        diags.extend(parsed.diagnostics)
        if parsed.data is None:
            continue
        doc, errs = validate_document(ScenarioFile, parsed)
        diags.extend(errs)
        if doc:
            for i, sc in enumerate(doc.scenarios):
                cases.append(Case(name, parsed.locate(("scenarios", i)).line, sc))
    return cases, diags


def run_case(advisor: Advisor, case: Case) -> list[str]:
    """Run one scenario; each failure is a readable line."""
    sc = case.scenario
    try:
        decision = advisor.decide(sc.facts)
    except AdvisorError as exc:
        codes = sorted({d.code for d in exc.diagnostics})
        if sc.error and sc.error in codes:
            return []
        return [f"unexpected error {', '.join(codes)}: {exc}"]
    if sc.error:
        return [f"expected error `{sc.error}`, but the facts were accepted"]
    return [f for exp in sc.expect for f in check_expectation(decision, exp)]


def check_expectation(decision: Decision, exp: Expectation) -> list[str]:
    kind, _, sid = exp.subject.partition(":")
    subject = decision.subject(kind, sid)
    if subject is None:
        return [f"{exp.subject}: no such subject in the facts"]
    recs = [r.id for r in subject.recommendations]
    fired = _fired(subject)
    signals = {s.signal for s in subject.signals}
    vetoed = [r.id for r in subject.vetoed]
    out: list[str] = []
    out += _need(exp.subject, "recommended action", exp.actions, recs)
    out += _need(exp.subject, "recommended coaching", exp.coaching, recs)
    out += _forbid(exp.subject, "recommended action", exp.not_actions, recs)
    out += _forbid(exp.subject, "recommended coaching", exp.not_coaching, recs)
    out += _need(exp.subject, "signal", exp.signals, signals)
    out += _forbid(exp.subject, "signal", exp.not_signals, signals)
    out += _need(exp.subject, "vetoed action", exp.vetoed, vetoed)
    out += _need(exp.subject, "fired rule", exp.fired, fired)
    out += _forbid(exp.subject, "fired rule", exp.not_fired, fired)
    if exp.order:
        seen = [r for r in recs if r in exp.order]
        if seen != list(exp.order):
            out.append(f"{exp.subject}: expected order {list(exp.order)}, got {seen}")
    if exp.nothing and (recs or vetoed):
        out.append(f"{exp.subject}: expected no recommendation, got {recs + vetoed}")
    if out:
        out.append(f"{exp.subject}: actual recommendations {recs}, vetoed {vetoed}, "
                   f"signals {sorted(signals)}, fired {sorted(fired)}")
    return out


def _fired(subject: SubjectDecision) -> set[str]:
    """Rules that fired for the subject: behind a recommendation, a veto or a signal."""
    rules: set[str] = set()
    for rec in subject.recommendations + subject.vetoed:
        rules.update(rec.rules)
        rules.update(v.rule_id for v in rec.vetoed_by)
    stack = [t for s in subject.signals for t in s.asserted_by]
    stack += [t for rec in subject.recommendations + subject.vetoed for t in rec.because]
    while stack:
        t = stack.pop()
        if t.rule_id not in rules or t.signals:
            rules.add(t.rule_id)
            stack.extend(a for s in t.signals for a in s.asserted_by)
    return rules


def _need(subject: str, what: str, wanted: Any, actual: Any) -> list[str]:
    return [f"{subject}: expected {what} `{w}`, missing" for w in wanted if w not in actual]


def _forbid(subject: str, what: str, banned: Any, actual: Any) -> list[str]:
    return [f"{subject}: {what} `{b}` must not appear" for b in banned if b in actual]
