"""Scenario coverage: which rules, conditions and actions the scenarios never exercise, per file.

* A **rule** is covered when it fired for some subject in some scenario.
* A **condition** (a field comparison, a signal test or an ``exists``) is covered when the
  scenarios made it both true and false on some subject: a condition never seen false is never
  tested as a guard (no close case where only it changes), one never seen true never let the rule
  (or its ``any`` branch) through.
* An **action or coaching topic** that a file's rules recommend is covered when some scenario
  decision recommended or vetoed it; separately, when some expectation names it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from typing import Any

from rm_advisor.engine.authoring.evaluation import evaluate_rule
from rm_advisor.engine.authoring.scenarios import CaseResult
from rm_advisor.engine.errors import Location
from rm_advisor.engine.inference.compiler import RuleBook
from rm_advisor.engine.inference.conditions import subject_env
from rm_advisor.engine.language import (
    AllCond,
    AnyCond,
    CompareCond,
    Condition,
    DeadlineCond,
    EventsCond,
    ExistsCond,
    FieldCond,
    LinkedCond,
    NotCond,
    Rule,
    SignalCond,
)
from rm_advisor.engine.language.aggregates import events_text
from rm_advisor.engine.language.deadlines import deadline_key
from rm_advisor.engine.language.knowledge import KnowledgeBase, resolve
from rm_advisor.engine.language.links import link_key
from rm_advisor.engine.language.operators import describe, describe_compare
from rm_advisor.engine.language.walk import Path, Visitor
from rm_advisor.engine.loading.locations import Locator

_ATOMS = ("field", "signal", "exists", "compare", "events", "deadline", "linked")


@dataclass(frozen=True)
class ConditionCoverage:
    """One atomic condition of a rule and the outcomes the scenarios gave it."""

    rule_id: str
    path: Path
    text: str
    location: Location
    seen_true: bool
    seen_false: bool

    @property
    def covered(self) -> bool:
        return self.seen_true and self.seen_false

    def to_dict(self) -> dict[str, Any]:
        return {"rule_id": self.rule_id, "condition": self.text, "file": self.location.file,
                "line": self.location.line, "seen_true": self.seen_true, "seen_false": self.seen_false}


@dataclass(frozen=True)
class FileCoverage:
    """Coverage of one rule file."""

    file: str
    rules: tuple[str, ...]
    fired: frozenset[str]
    conditions: tuple[ConditionCoverage, ...]
    outcomes: tuple[str, ...]  # action and coaching ids the file's rules recommend or veto
    decided: frozenset[str]  # of those, the ones some scenario decision recommended or vetoed
    expected: frozenset[str]  # of those, the ones some expectation names

    @property
    def never_fired(self) -> list[str]:
        return [r for r in self.rules if r not in self.fired]

    @property
    def never_decided(self) -> list[str]:
        return [o for o in self.outcomes if o not in self.decided]

    @property
    def never_expected(self) -> list[str]:
        return [o for o in self.outcomes if o not in self.expected]

    @property
    def conditions_covered(self) -> int:
        return sum(1 for c in self.conditions if c.covered)

    def to_dict(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "rules": {"total": len(self.rules), "fired": len(self.rules) - len(self.never_fired),
                      "never_fired": self.never_fired},
            "conditions": {"total": len(self.conditions), "covered": self.conditions_covered,
                           "never_true": [c.to_dict() for c in self.conditions if not c.seen_true],
                           "never_false": [c.to_dict() for c in self.conditions if not c.seen_false]},
            "actions": {"total": len(self.outcomes), "never_decided": self.never_decided,
                        "never_expected": self.never_expected},
        }


@dataclass(frozen=True)
class Coverage:
    """Coverage of every rule file by a set of scenario results."""

    files: tuple[FileCoverage, ...]
    scenarios: int

    @property
    def rules_percent(self) -> float:
        """The share of the rules that fired in some scenario, in percent (100 with no rules)."""
        total = sum(len(f.rules) for f in self.files)
        return 100.0 * sum(len(f.rules) - len(f.never_fired) for f in self.files) / total if total else 100.0

    @property
    def conditions_percent(self) -> float:
        """The share of the conditions seen both true and false, in percent (100 with none)."""
        total = sum(len(f.conditions) for f in self.files)
        return 100.0 * sum(f.conditions_covered for f in self.files) / total if total else 100.0

    def to_dict(self) -> dict[str, Any]:
        return {"scenarios": self.scenarios, "rules_percent": round(self.rules_percent, 2),
                "conditions_percent": round(self.conditions_percent, 2),
                "files": [f.to_dict() for f in self.files]}


def measure(book: RuleBook, results: Iterable[CaseResult], locator: Locator,
            packs: Collection[str] | None = None) -> Coverage:
    """Coverage of ``book`` by scenario results (from :func:`engine.authoring.scenarios.evaluate_case`).

    With ``packs``, only rule files named for those packs (``rules/tobacco.yaml`` for ``tobacco``)
    are reported, when any is: running one pack's scenarios says nothing about the other packs."""
    seen: dict[tuple[str, Path], set[bool]] = {}
    fired: set[str] = set()
    decided: set[str] = set()
    expected: set[str] = set()
    count = 0
    for result in results:
        count += 1
        for exp in result.case.scenario.expect:
            expected.update(exp.actions, exp.not_actions, exp.coaching, exp.not_coaching, exp.vetoed, exp.order)
        if result.run is None:
            continue
        run = result.run
        for subjects in run.fired().values():
            fired |= subjects
        for subject in run.decision.clients + run.decision.managers:
            decided.update(r.id for r in subject.recommendations + subject.vetoed)
        _record_conditions(book, run, seen)
    files: dict[str, list[Rule]] = {}
    for compiled in book.rules:
        files.setdefault(compiled.file, []).append(compiled.rule)
    wanted = {f for f in files if packs and f.rsplit("/", 1)[-1].removesuffix(".yaml") in packs}
    out = []
    for file, rules in sorted(files.items()):
        if wanted and file not in wanted:
            continue
        conds = tuple(ConditionCoverage(r.id, path, text, locator.rule(r.id, path),
                                        True in seen.get((r.id, path), ()), False in seen.get((r.id, path), ()))
                      for r in rules for path, text in atoms(r, book.kb))
        outcomes = tuple(sorted({o for r in rules for o in _outcomes(r)}))
        out.append(FileCoverage(file, tuple(r.id for r in rules), frozenset(fired & {r.id for r in rules}),
                                conds, outcomes, frozenset(decided & set(outcomes)),
                                frozenset(expected & set(outcomes))))
    return Coverage(tuple(out), count)


def _record_conditions(book: RuleBook, run: Any, seen: dict[tuple[str, Path], set[bool]]) -> None:
    held = run.held()
    fact_set = run.fact_set
    for subject_type in book.kb.subjects():
        rules = [c.rule for c in book.for_subject(subject_type) if c.active_on(fact_set.as_of)]
        for fact in fact_set.subjects(subject_type):
            env = subject_env(book.kb, fact_set, subject_type, fact)
            for rule in rules:
                for node in evaluate_rule(rule, env, book.kb, held).root.walk():
                    if node.kind in _ATOMS:
                        seen.setdefault((rule.id, node.path), set()).add(node.holds)


def atoms(rule: Rule, kb: KnowledgeBase) -> list[tuple[Path, str]]:
    """Every atomic condition of a rule (field comparisons, signal tests, ``exists``) with its text."""
    return list(_atoms(rule.when, ("when",), kb))


def _atoms(cond: Condition, path: Path, kb: KnowledgeBase) -> list[tuple[Path, str]]:
    return _Atoms(kb).visit(cond, path)


@dataclass(frozen=True)
class _Atoms(Visitor[list[tuple[Path, str]]]):
    kb: KnowledgeBase

    def all_(self, cond: AllCond, path: Path) -> list[tuple[Path, str]]:
        return [a for part in self.each(cond, path) for a in part]

    def any_(self, cond: AnyCond, path: Path) -> list[tuple[Path, str]]:
        return [a for part in self.each(cond, path) for a in part]

    def not_(self, cond: NotCond, path: Path) -> list[tuple[Path, str]]:
        return self.visit(cond.not_, (*path, "not"))

    def signal(self, cond: SignalCond, path: Path) -> list[tuple[Path, str]]:
        return [(path, f"signal {cond.signal}")]

    def exists(self, cond: ExistsCond, path: Path) -> list[tuple[Path, str]]:
        where = cond.exists.where
        own = [(path, f"exists {cond.exists.fact}" + (" where ..." if where is not None else ""))]
        return own + (self.visit(where, (*path, "exists", "where")) if where is not None else [])

    def field(self, cond: FieldCond, path: Path) -> list[tuple[Path, str]]:
        ops = tuple((op, v, resolve(v, self.kb)) for op, v in sorted(cond.ops.items()))
        return [((*path, cond.ref), describe(cond.ref, ops))]

    def events(self, cond: EventsCond, path: Path) -> list[tuple[Path, str]]:
        return [((*path, "events"), events_text(cond.events, self.kb))]

    def linked(self, cond: LinkedCond, path: Path) -> list[tuple[Path, str]]:
        where = cond.linked.where
        own = [((*path, "linked"), f"linked {link_key(cond.linked)}" + (" where ..." if where is not None else ""))]
        return own + (self.visit(where, (*path, "linked", "where")) if where is not None else [])

    def deadline(self, cond: DeadlineCond, path: Path) -> list[tuple[Path, str]]:
        return [((*path, "deadline"), deadline_key(cond.deadline, self.kb))]

    def compare(self, cond: CompareCond, path: Path) -> list[tuple[Path, str]]:
        spec = cond.compare
        return [((*path, "compare"), describe_compare(spec.left, spec.op, spec.right, spec.times, spec.plus,
                                                      unknown=spec.unknown))]


def _outcomes(rule: Rule) -> set[str]:
    then = rule.then
    out = {a.action for a in then.actions} | {c.topic for c in then.coaching}
    if then.veto:
        out |= set(then.veto.actions)
    return out
