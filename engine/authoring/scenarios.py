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
            to_confirm:                              # missing facts the decision asks for
              - fields: [client.network_client]      # exactly the fields of one item
                unlocks: [guide_to_network_ordering] # ... which would bring these
            not_to_confirm: [client.client_class]    # no item asks for these
          - subject: manager:M1
            from_clients: [tobacco_stale_complaints]  # coaching from the clients' actions gave it
      - name: a text where a number belongs is refused
        facts: {...}
        error: fact_type                              # expected diagnostic code instead

:func:`evaluate_case` runs one scenario and returns a :class:`CaseResult`: every unmet expectation
as a :class:`Failure` (expected against actual), and what each named subject actually got.
:func:`junit_xml` and :meth:`CaseResult.to_dict` give the results to other tools.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field

from rm_advisor.engine.errors import CODES, AdvisorError, Diagnostic, Location, suggest
from rm_advisor.engine.inference.advisor import Advisor, Run
from rm_advisor.engine.inference.compiler import RuleBook
from rm_advisor.engine.inference.from_clients import TRACE_PREFIX
from rm_advisor.engine.language.rules import FIELD_REF, file_json_schema
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.loading.validation import validate_document
from rm_advisor.engine.loading.yaml_source import parse_yaml


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ConfirmExpectation(_Strict):
    """An item the decision's ``to_confirm`` must hold: these missing fields, unlocking these items."""

    fields: tuple[Annotated[str, Field(pattern=FIELD_REF)], ...] = Field(
        min_length=1, description="fact.field of every missing field the item names (in any order)")
    unlocks: tuple[str, ...] = Field(default=(), description="actions or coaching topics it must unlock")

    def key(self) -> str:
        return " + ".join(sorted(self.fields))


class Expectation(_Strict):
    """What must (and must not) be decided about one subject."""

    subject: str = Field(pattern=r"^(client|manager):.+$", description="client:ID or manager:ID")
    actions: tuple[str, ...] = Field(default=(), description="recommended actions (not vetoed)")
    not_actions: tuple[str, ...] = Field(default=(), description="actions that must not be recommended")
    coaching: tuple[str, ...] = Field(default=(), description="recommended coaching topics")
    not_coaching: tuple[str, ...] = Field(default=(), description="coaching topics that must not be recommended")
    signals: tuple[str, ...] = Field(default=(), description="derived signals that must hold")
    not_signals: tuple[str, ...] = Field(default=(), description="derived signals that must not hold")
    vetoed: tuple[str, ...] = Field(default=(), description="actions recommended but blocked by a veto")
    fired: tuple[str, ...] = Field(default=(), description="rule ids that must fire")
    not_fired: tuple[str, ...] = Field(default=(), description="rule ids that must not fire")
    from_clients: tuple[str, ...] = Field(default=(), description="entries of coaching_from_clients.yaml that must "
                                                                 "give the subject (a manager) coaching")
    not_from_clients: tuple[str, ...] = Field(default=(), description="entries of coaching_from_clients.yaml that "
                                                                     "must not give the subject coaching")
    order: tuple[str, ...] = Field(default=(), description="these recommendations appear in this order")
    nothing: bool = Field(default=False, description="no recommendation at all for the subject")
    to_confirm: tuple[ConfirmExpectation, ...] = Field(
        default=(), description="items of `to_confirm`: missing facts that would bring advice if known")
    not_to_confirm: tuple[Annotated[str, Field(pattern=FIELD_REF)], ...] = Field(
        default=(), description="fact.field that no `to_confirm` item may name")


class Scenario(_Strict):
    """Facts, and either expectations about the decision or the error code the facts must raise."""

    name: str
    facts: dict[str, Any] = Field(description="a facts document: as_of, clients, managers, interactions")
    expect: tuple[Expectation, ...] = ()
    error: str | None = Field(default=None, description="the diagnostic code the facts must be refused with")


class ScenarioFile(_Strict):
    """A scenario file ``rules/<pack>.scenarios.yaml``."""

    rules: str | tuple[str, ...] | None = Field(
        default=None, description="the rule set these scenarios test: a rule file or folder (or a list of them), "
                                  "relative to this file; default: the rule file of the same name beside it "
                                  "(x.scenarios.yaml: x.yaml), or this file's folder when there is none")
    scenarios: tuple[Scenario, ...] = Field(min_length=1)


def declared_rule_set(text: str, name: str = "<scenarios>") -> tuple[str, ...] | None:
    """The rule files or folders a scenario file's ``rules:`` names, as written (relative to the
    file); None when it names none (or is not readable: its own problems are reported when it runs)."""
    data = parse_yaml(text, name).data
    value = data.get("rules") if isinstance(data, dict) else None
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return tuple(value)
    return None


def scenario_file_json_schema() -> dict[str, Any]:
    """The JSON Schema of a scenario file, for editors (committed as ``rules/scenarios.schema.json``)."""
    return file_json_schema(ScenarioFile, "scenarios.schema.json", "rm-advisor scenario file")


@dataclass(frozen=True)
class Case:
    """One scenario with where it is written: its file, its line and each expectation's line."""

    file: str
    line: int
    scenario: Scenario
    expect_lines: tuple[int, ...] = ()

    @property
    def id(self) -> str:
        return f"{self.file.rsplit('/', 1)[-1]}::{self.scenario.name}"

    def expect_line(self, index: int) -> int:
        return self.expect_lines[index] if index < len(self.expect_lines) else self.line


def load_scenarios(files: dict[str, str]) -> tuple[list[Case], list[Diagnostic]]:
    """Parse scenario files; returns the cases and any diagnostics."""
    cases: list[Case] = []
    diags: list[Diagnostic] = []
    for name in sorted(files):
        parsed = parse_yaml(files[name], name)
        diags.extend(parsed.diagnostics)
        if parsed.data is None:
            continue
        doc, errs = validate_document(ScenarioFile, parsed)
        diags.extend(errs)
        if doc:
            for i, sc in enumerate(doc.scenarios):
                lines = tuple(parsed.locate(("scenarios", i, "expect", j)).line for j in range(len(sc.expect)))
                cases.append(Case(name, parsed.locate(("scenarios", i)).line, sc, lines))
    return cases, diags


def check_references(cases: Iterable[Case], book: RuleBook) -> list[Diagnostic]:
    """Ids named in expectations that the rule set does not know: a misspelt id in ``not_actions``
    would otherwise make a scenario pass for the wrong reason."""
    kb = book.kb
    known = {"actions": set(kb.actions), "not_actions": set(kb.actions), "vetoed": set(kb.actions),
             "coaching": set(kb.coaching), "not_coaching": set(kb.coaching),
             "signals": set(kb.signals), "not_signals": set(kb.signals),
             "fired": {r.id for r in book.rules}, "not_fired": {r.id for r in book.rules},
             "from_clients": set(kb.coaching_from_clients), "not_from_clients": set(kb.coaching_from_clients),
             "order": set(kb.actions) | set(kb.coaching)}
    refs = {f"{t}.{f}" for t, spec in kb.facts.items() for f in spec.fields}
    outcomes = set(kb.actions) | set(kb.coaching)
    diags: list[Diagnostic] = []
    for case in cases:
        sc = case.scenario
        if sc.error and sc.error not in CODES:
            diags.append(_unknown(case, case.line, "error code", sc.error, CODES))
        for i, exp in enumerate(sc.expect):
            for key, ids in known.items():
                for item in getattr(exp, key):
                    if item not in ids:
                        diags.append(_unknown(case, case.expect_line(i), key, item, ids))
            named = [("not_to_confirm", ref, refs) for ref in exp.not_to_confirm]
            for want in exp.to_confirm:
                named += [("to_confirm", ref, refs) for ref in want.fields]
                named += [("to_confirm unlocks", item, outcomes) for item in want.unlocks]
            diags += [_unknown(case, case.expect_line(i), key, item, ids)
                      for key, item, ids in named if item not in ids]
    return diags


def _unknown(case: Case, line: int, what: str, item: str, choices: Iterable[str]) -> Diagnostic:
    return Diagnostic("scenario_unknown_id", f"scenario `{case.scenario.name}`: `{what}` names unknown `{item}`",
                      Location(case.file, line, 1), hint=suggest(item, choices))


@dataclass(frozen=True)
class Failure:
    """One unmet expectation: which subject, which check, what was expected and what came."""

    subject: str
    check: str
    expected: tuple[str, ...]
    actual: tuple[str, ...]
    line: int
    message: str
    item: str = ""  # the id that is missing or must not appear

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject or None, "check": self.check, "item": self.item or None,
                "expected": list(self.expected), "actual": list(self.actual), "line": self.line,
                "message": self.message}


@dataclass(frozen=True)
class Observed:
    """What one subject actually got."""

    subject: str
    recommended: tuple[str, ...]
    vetoed: tuple[str, ...]
    signals: tuple[str, ...]
    fired: tuple[str, ...]
    from_clients: tuple[str, ...] = ()  # entries of coaching from clients behind the subject's coaching
    #: each ``to_confirm`` item: its fields (``client.a + client.b``) and what it unlocks
    to_confirm: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {"subject": self.subject, "recommended": list(self.recommended), "vetoed": list(self.vetoed),
                "signals": list(self.signals), "fired": list(self.fired), "from_clients": list(self.from_clients),
                "to_confirm": [{"fields": fields.split(" + "), "unlocks": list(unlocks)}
                               for fields, unlocks in self.to_confirm]}


@dataclass(frozen=True)
class CaseResult:
    """The outcome of one scenario; ``run`` is None when the facts were refused."""

    case: Case
    failures: tuple[Failure, ...]
    observed: tuple[Observed, ...] = ()
    run: Run | None = field(default=None, compare=False, repr=False)
    error_codes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.case.id, "name": self.case.scenario.name, "file": self.case.file,
                "line": self.case.line, "passed": self.passed,
                "failures": [f.to_dict() for f in self.failures],
                "observed": [o.to_dict() for o in self.observed], "error_codes": list(self.error_codes)}


def evaluate_case(advisor: Advisor, case: Case) -> CaseResult:
    """Run one scenario and compare every expectation with the decision."""
    sc = case.scenario
    try:
        run = advisor.run(sc.facts)
    except AdvisorError as exc:
        codes = tuple(sorted({d.code for d in exc.diagnostics}))
        if sc.error and sc.error in codes:
            return CaseResult(case, (), error_codes=codes)
        detail = "; ".join(d.format() for d in exc.diagnostics)
        want = (sc.error,) if sc.error else ()
        return CaseResult(case, (Failure("", "error", want, codes, case.line,
                                         f"unexpected error {', '.join(codes)}: {detail}"),), error_codes=codes)
    if sc.error:
        return CaseResult(case, (Failure("", "error", (sc.error,), (), case.line,
                                         f"expected error `{sc.error}`, but the facts were accepted"),), run=run)
    failures: list[Failure] = []
    observed: list[Observed] = []
    for i, exp in enumerate(sc.expect):
        seen = observe(run, exp.subject)
        if seen is None:
            failures.append(Failure(exp.subject, "subject", (exp.subject,), (), case.expect_line(i),
                                    f"{exp.subject}: no such subject in the facts"))
            continue
        observed.append(seen)
        failures.extend(check_expectation(seen, exp, case.expect_line(i)))
    return CaseResult(case, tuple(failures), tuple(observed), run=run)


def run_case(advisor: Advisor, case: Case) -> list[str]:
    """Run one scenario; each failure is a readable line (empty when it passes)."""
    result = evaluate_case(advisor, case)
    lines = [f.message for f in result.failures]
    failing = {f.subject for f in result.failures}
    lines += [f"{o.subject}: actual recommendations {list(o.recommended)}, vetoed {list(o.vetoed)}, "
              f"signals {list(o.signals)}, fired {list(o.fired)}, to_confirm {[k for k, _ in o.to_confirm]}"
              for o in result.observed if o.subject in failing]
    return lines


def observe(run: Run, subject: str) -> Observed | None:
    """What ``subject`` (``client:T1``) got in a run, or None when the facts do not hold it."""
    try:
        key = SubjectKey.parse(subject)
    except ValueError:
        return None
    decided = run.decision.subject(key.type, key.id)
    if decided is None:
        return None
    entries = {x.rule_id.removeprefix(TRACE_PREFIX) for r in decided.recommendations for x in r.reasons
               if x.rule_id.startswith(TRACE_PREFIX)}
    asks = tuple((" + ".join(sorted(f"{f.fact}.{f.field}" for f in item.fields)),
                  tuple(dict.fromkeys(u.id for u in item.unlocks))) for item in decided.to_confirm)
    return Observed(subject, tuple(r.id for r in decided.recommendations), tuple(r.id for r in decided.vetoed),
                    tuple(sorted({s.signal for s in decided.signals})),
                    tuple(sorted(run.fired().get(key, set()))), tuple(sorted(entries)), asks)


_CHECKS = (  # expectation key, what it names, where the actual values are, must be present?
    ("actions", "recommended action", "recommended", True),
    ("coaching", "recommended coaching", "recommended", True),
    ("not_actions", "recommended action", "recommended", False),
    ("not_coaching", "recommended coaching", "recommended", False),
    ("signals", "signal", "signals", True),
    ("not_signals", "signal", "signals", False),
    ("vetoed", "vetoed action", "vetoed", True),
    ("fired", "fired rule", "fired", True),
    ("not_fired", "fired rule", "fired", False),
    ("from_clients", "coaching from clients", "from_clients", True),
    ("not_from_clients", "coaching from clients", "from_clients", False),
)


def check_expectation(seen: Observed, exp: Expectation, line: int = 0) -> list[Failure]:
    """Every way ``seen`` differs from ``exp``."""
    out: list[Failure] = []
    for key, what, attr, wanted in _CHECKS:
        names: tuple[str, ...] = getattr(exp, key)
        actual: tuple[str, ...] = getattr(seen, attr)
        for name in names:
            if (name in actual) != wanted:
                msg = f"{exp.subject}: expected {what} `{name}`, missing" if wanted else \
                      f"{exp.subject}: {what} `{name}` must not appear"
                out.append(Failure(exp.subject, key, names, actual, line, msg, name))
    if exp.order:
        got = tuple(r for r in seen.recommended if r in exp.order)
        if got != exp.order:
            out.append(Failure(exp.subject, "order", exp.order, got, line,
                               f"{exp.subject}: expected order {list(exp.order)}, got {list(got)}"))
    out.extend(_check_to_confirm(seen, exp, line))
    if exp.nothing and (seen.recommended or seen.vetoed):
        out.append(Failure(exp.subject, "nothing", (), seen.recommended + seen.vetoed, line,
                           f"{exp.subject}: expected no recommendation, got {list(seen.recommended + seen.vetoed)}"))
    return out


def _check_to_confirm(seen: Observed, exp: Expectation, line: int) -> list[Failure]:
    items = dict(seen.to_confirm)
    asked = tuple(items)
    out: list[Failure] = []
    for want in exp.to_confirm:
        key = want.key()
        if key not in items:
            out.append(Failure(exp.subject, "to_confirm", (key,), asked, line,
                               f"{exp.subject}: expected to_confirm `{key}`, missing", key))
            continue
        for item in want.unlocks:
            if item not in items[key]:
                out.append(Failure(exp.subject, "to_confirm", want.unlocks, items[key], line,
                                   f"{exp.subject}: expected to_confirm `{key}` to unlock `{item}`, missing", item))
    for ref in exp.not_to_confirm:
        if any(ref in key.split(" + ") for key in items):
            out.append(Failure(exp.subject, "not_to_confirm", exp.not_to_confirm, asked, line,
                               f"{exp.subject}: to_confirm must not ask for `{ref}`", ref))
    return out


def junit_xml(results: Iterable[CaseResult], suite: str = "rm-advisor scenarios") -> str:
    """The results as JUnit XML: one ``testsuite`` per scenario file, one ``testcase`` per scenario."""
    by_file: dict[str, list[CaseResult]] = {}
    for r in results:
        by_file.setdefault(r.case.file, []).append(r)
    root = ET.Element("testsuites", name=suite)
    total = failed = 0
    for file, items in sorted(by_file.items()):
        bad = sum(1 for r in items if not r.passed)
        total, failed = total + len(items), failed + bad
        node = ET.SubElement(root, "testsuite", name=file, tests=str(len(items)), failures=str(bad),
                             errors="0", skipped="0")
        for r in items:
            case = ET.SubElement(node, "testcase", name=r.case.scenario.name,
                                 classname=file.rsplit("/", 1)[-1].removesuffix(".yaml").replace(".", "_"),
                                 file=file, line=str(r.case.line))
            if not r.passed:
                fail = ET.SubElement(case, "failure", message=r.failures[0].message, type="scenario")
                fail.text = "\n".join(f"{r.case.file}:{f.line}: {f.message}" for f in r.failures) + "\n" + \
                    "\n".join(f"{o.subject}: recommended {list(o.recommended)}, vetoed {list(o.vetoed)}, "
                              f"signals {list(o.signals)}, fired {list(o.fired)}, "
                              f"to_confirm {[k for k, _ in o.to_confirm]}" for o in r.observed)
    root.set("tests", str(total))
    root.set("failures", str(failed))
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
