"""Gates record by record: which rules' fact conditions hold for each subject of a fact set.

Every rule's gate (:attr:`CompiledRule.gate`) is a list of steps: each field condition is a
:class:`~engine.inference.conditions.FieldTest`, and the rules about one subject type share one
numbered list of the distinct tests (by :attr:`FieldTest.key`: the field, each operator with its
operand, the ``unknown`` mode — one key, whatever the rule or the file). Per subject a test is
evaluated at most once, when the first rule needs it, and its result kept (a :class:`Memo`); the
other conditions (``any``, ``not``, ``exists``, ``events``, ``deadline``, ``compare``, ``linked``)
stay predicates, evaluated per rule. When a rule fires, :func:`trace` writes its match trace from
the memo — the values its tests read, and what a missing one counted as — exactly as evaluating
its gate with a trace (``rule.local(env, trace)``) writes it, without evaluating the tests again.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Hashable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from rm_advisor.engine.inference.compiler import CompiledRule, RuleBook
from rm_advisor.engine.inference.conditions import Env, FieldTest, Predicate, Trace
from rm_advisor.engine.language.subjects import SubjectKey

#: how many as-of days :meth:`GatePlan.active` keeps the rules in effect for
_DAYS_KEPT = 64
#: a step of a gate: the index of a shared field test, or a predicate of its own
Step = int | Predicate


@dataclass(frozen=True)
class GatePlan:
    """The gates of a rule book: the distinct field tests per subject type, and every rule with its
    steps, in the book's order."""

    tests: dict[str, tuple[FieldTest, ...]]
    rules: tuple[tuple[CompiledRule, tuple[Step, ...]], ...]

    def active(self, day: dt.date) -> Active:
        """The rules in effect on ``day``, each with its :class:`Gate`; worked out once per day."""
        cached = self._active.get(day)
        if cached is None:
            if len(self._active) >= _DAYS_KEPT:
                self._active.clear()
            cached = self._active[day] = Active.of(
                [(rule, Gate(steps)) for rule, steps in self.rules if rule.active_on(day)])
        return cached

    @cached_property
    def _active(self) -> dict[dt.date, Active]:
        return {}


@dataclass(frozen=True)
class Active:
    """The rules in effect on one day, in the book's order, and per subject type the same rules
    grouped by the first shared test of their gate (None: a gate without one), each with its place
    in ``rules``. Most rules of a pack begin with the same test (``client.domain: bank``), so a
    subject for whom it fails skips the whole group at one look-up (:func:`holding`)."""

    rules: list[tuple[CompiledRule, Gate]]
    groups: dict[str, list[tuple[int | None, list[tuple[int, Gate]]]]]

    @classmethod
    def of(cls, rules: list[tuple[CompiledRule, Gate]]) -> Active:
        grouped: dict[str, dict[int | None, list[tuple[int, Gate]]]] = {}
        for i, (rule, gate) in enumerate(rules):
            first = gate.tests[0] if gate.tests else None
            grouped.setdefault(rule.rule.subject, {}).setdefault(first, []).append((i, gate))
        return cls(rules, {t: list(g.items()) for t, g in grouped.items()})


def holding(active: Active, tests: dict[str, tuple[FieldTest, ...]],
            subjects: dict[str, list[tuple[SubjectKey, Memo]]]) -> list[tuple[CompiledRule, SubjectKey]]:
    """Every (rule, subject) whose gate holds, in the book's order of the rules and, per rule, the
    order of ``subjects`` (each subject type's subjects with their memos) — the order of evaluating
    each rule's gate for each subject in turn, with the same results."""
    passed: list[list[SubjectKey]] = [[] for _ in active.rules]
    for subject, groups in active.groups.items():
        shared = tests[subject]
        for key, memo in subjects.get(subject, ()):
            results = memo.results
            for first, members in groups:
                if first is not None:
                    held = results[first]
                    if held is None:
                        held = _evaluate(first, shared, memo)
                    if not held:
                        continue
                for i, gate in members:
                    if passes(gate, shared, memo):
                        passed[i].append(key)
    return [(active.rules[i][0], key) for i, keys in enumerate(passed) for key in keys]


class Gate:
    """A rule's gate as :func:`passes` runs it: the shared tests first (each a look-up once known),
    then the other conditions. Conjuncts are pure, so their order changes no answer, only how soon
    a failing one ends the evaluation; a trace keeps the written order (:func:`trace`)."""

    __slots__ = ("predicates", "steps", "tests")

    def __init__(self, steps: tuple[Step, ...]):
        self.steps = steps
        self.tests = tuple(s for s in steps if isinstance(s, int))
        self.predicates = tuple(s for s in steps if not isinstance(s, int))


def plan_gates(book: RuleBook) -> GatePlan:
    """Number the distinct field tests of each subject type and write every rule's gate with them."""
    index: dict[str, dict[Hashable, int]] = {}
    tests: dict[str, list[FieldTest]] = {}
    rules = []
    for rule in book.rules:
        known = index.setdefault(rule.rule.subject, {})
        listed = tests.setdefault(rule.rule.subject, [])
        steps: list[Step] = []
        for part in rule.gate:
            if isinstance(part, FieldTest):
                if part.key not in known:
                    known[part.key] = len(listed)
                    listed.append(part)
                steps.append(known[part.key])
            else:
                steps.append(part)
        rules.append((rule, tuple(steps)))
    return GatePlan({t: tuple(v) for t, v in tests.items()}, tuple(rules))


@dataclass
class Memo:
    """One subject's environment, and the results of the shared tests evaluated so far (None: not
    yet) with the values they read."""

    env: Env
    results: list[bool | None]
    values: list[Any]

    @classmethod
    def of(cls, env: Env, tests: int) -> Memo:
        return cls(env, [None] * tests, [None] * tests)


def passes(gate: Gate, tests: tuple[FieldTest, ...], memo: Memo) -> bool:
    """Whether a gate holds for the memo's subject (as ``rule.local(env, None)`` says)."""
    env, results = memo.env, memo.results
    for step in gate.tests:
        held = results[step]
        if held is None:
            held = _evaluate(step, tests, memo)
        if not held:
            return False
    for predicate in gate.predicates:
        if not predicate(env, None):
            return False
    return True


def trace(steps: tuple[Step, ...], tests: tuple[FieldTest, ...], memo: Memo) -> Trace:
    """The match trace of a gate that held (:func:`passes`): what ``rule.local(env, trace)`` records,
    the shared tests' part written from the memo."""
    out: Trace = {}
    env, results, values = memo.env, memo.results, memo.values
    for step in steps:
        if isinstance(step, int):
            held = results[step]
            if held is None:  # not needed to decide the gate: evaluated now, as the trace reads it
                held = _evaluate(step, tests, memo)
            tests[step].record(out, values[step], held)
        else:
            step(env, out)
    return out


def _evaluate(step: int, tests: tuple[FieldTest, ...], memo: Memo) -> bool:
    """Shared test ``step`` evaluated for the memo's subject, its result and the value it read kept."""
    test = tests[step]
    value = memo.values[step] = test.read(memo.env)
    held = memo.results[step] = test.holds(value, memo.env.as_of)
    return held
