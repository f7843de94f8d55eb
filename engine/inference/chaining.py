"""Forward chaining with experta (through :mod:`engine.inference._experta`, its only importer).

Rules are compiled to experta rules over three fact classes: a :class:`Gate` says a rule's fact
conditions hold for a subject (decided in Python before inference), a :class:`JoinGate` that a
related fact passes a rule's join conditions, a :class:`Signal` that a rule derived a signal.
"""

from __future__ import annotations

import abc
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from rm_advisor.engine.errors import Diagnostic, InferenceError, Location
from rm_advisor.engine.inference._experta import MATCH, NOT, Fact, KnowledgeEngine, Rule, SafeDepthStrategy
from rm_advisor.engine.inference.compiler import CompiledRule, RuleBook
from rm_advisor.engine.inference.conditions import subject_env
from rm_advisor.engine.inference.gates import Memo, Step, holding, plan_gates, trace
from rm_advisor.engine.language.facts import FactSet
from rm_advisor.engine.language.links import LINK_FACT, linked_pairs
from rm_advisor.engine.language.subjects import SubjectKey


class Gate(Fact):
    """A rule's fact conditions hold for a subject (evaluated in Python before inference)."""


class JoinGate(Fact):
    """A related fact (e.g. one of a manager's clients) passes a rule's join conditions."""


class Signal(Fact):
    """A derived signal about a subject, asserted by a rule."""


#: (rule id, subject) pairs whose fact conditions hold
Gates = Iterable[tuple[str, SubjectKey]]
#: each join's related subjects, in the order the evaluator finds them
Related = tuple[tuple[SubjectKey, ...], ...]


@dataclass(frozen=True)
class Chained:
    """What the chaining rules fired on, decided beforehand (in bulk: :mod:`engine.portfolio.columnar`):
    per subject, each chaining rule that fired with the related subjects of its joins. The subjects in
    ``open`` (a batch book's clients of other books) are not covered: the evaluator decides them."""

    fired: Mapping[SubjectKey, Mapping[str, Related]]
    open: frozenset[SubjectKey] = frozenset()


@dataclass
class Firing:
    """One rule firing on one subject, with its match trace: the fact values its conditions read
    (``client.class``: ``A``; ``exists:interaction``: the ids of related facts that matched) and
    the related subjects each join went through."""

    rule_id: str
    subject: SubjectKey
    matched: Mapping[str, Any] = field(default_factory=dict)
    related: dict[str, list[SubjectKey]] = field(default_factory=dict)


@dataclass
class InferenceResult:
    """What inference found: firings in order, and which firings produced each signal."""

    firings: list[Firing]
    producers: dict[tuple[str, SubjectKey], list[str]]  # (signal, subject) -> rule ids


class Recorder(abc.ABC):
    """What every evaluator shares: the gates of a fact set, and firings recorded once per (rule,
    subject) with their match trace and the signals they assert. Not thread-safe: one per thread."""

    def __init__(self, book: RuleBook, max_firings: int = 10_000):
        self.book = book
        self.max_firings = max_firings
        self._rules = book.by_id()
        self._plan = plan_gates(book)
        self._steps: dict[str, tuple[Step, ...]] = {r.id: steps for r, steps in self._plan.rules}
        self._memos: dict[SubjectKey, Memo] = {}
        self._firings: dict[tuple[str, SubjectKey], Firing] = {}
        self._order: list[Firing] = []
        self._producers: dict[tuple[str, SubjectKey], list[str]] = {}
        self._facts: FactSet | None = None

    @abc.abstractmethod
    def run(self, fact_set: FactSet, gates: Gates | None = None, chained: Chained | None = None) -> InferenceResult:
        """Gate every rule on every subject, then chain signals to a fixpoint.

        ``gates`` — (rule id, subject key) pairs whose fact conditions hold — may be given by a
        caller that evaluated them in bulk (see :mod:`engine.portfolio.bulk`); by default they are
        evaluated here, one subject at a time. ``chained`` (with those gates) is what the chaining
        rules fired on, decided in bulk too; an evaluator that takes it records those firings
        instead of deciding them (the reference, experta, decides everything itself).
        """

    def _start(self, fact_set: FactSet, gates: Gates | None,
               declare: list[Any] | None = None) -> list[tuple[CompiledRule, SubjectKey]]:
        """Reset, fire the direct rules that passed their gate, and return the chaining rules that did."""
        self._firings, self._order, self._producers, self._facts = {}, [], {}, fact_set
        self._memos = {}
        rules = self._rules
        passed = [(rules[r], s) for r, s in gates] if gates is not None else self._local_gates(fact_set)
        chained = []
        for rule, subject in passed:
            if rule.direct:
                self.fired(rule, subject, {}, declare=declare)
            else:
                chained.append((rule, subject))
        return chained

    def _result(self) -> InferenceResult:
        return InferenceResult(list(self._order), {k: sorted(v) for k, v in self._producers.items()})

    def _too_many(self, pending: int) -> InferenceError:
        return InferenceError([Diagnostic(
            "firing_limit", f"inference stopped after {self.max_firings} firings with "
            f"{pending} activations pending", Location(path="<inference>"),
            hint="look for rules that keep asserting new signals; or raise max_firings")])

    def _local_gates(self, fs: FactSet) -> list[tuple[CompiledRule, SubjectKey]]:
        """Rules whose fact conditions hold, per subject, evaluated record by record (each subject's
        environment built once, and each distinct field test evaluated once: :mod:`engine.inference.gates`)."""
        subjects: dict[str, list[tuple[SubjectKey, Memo]]] = {}
        plan, memos = self._plan, self._memos
        active = plan.active(fs.as_of)
        for subject in active.groups:
            count = len(plan.tests[subject])
            subjects[subject] = []
            for fact in fs.subjects(subject):
                key = SubjectKey.of(subject, fact["id"])
                memo = memos[key] = Memo.of(subject_env(self.book.kb, fs, subject, fact), count)
                subjects[subject].append((key, memo))
        return holding(active, plan.tests, subjects)

    def _joined(self, rule: CompiledRule, key: SubjectKey, fs: FactSet) -> Iterator[tuple[int, SubjectKey]]:
        """(join index, related subject) for each related fact that passes one of ``rule``'s joins."""
        if not rule.joins:
            return
        fact = fs.get(key.type, key.id)
        if fact is None:  # a gate for a subject the fact set does not hold: nothing to join through
            return
        env = subject_env(self.book.kb, fs, key.type, fact)
        for k, join in enumerate(rule.joins):
            if join.via is not None:  # clients linked to the subject, each seen with its link
                for link, rel in linked_pairs(join.via, fs, fact["id"]):
                    if join.where(env.with_fact(join.fact, rel).with_fact(LINK_FACT, link), None):
                        yield k, SubjectKey.of(join.fact, rel["id"])
                continue
            for rel in fs.related(join.fact, key.type, fact["id"]):
                if join.where(env.with_fact(join.fact, rel), None):
                    yield k, SubjectKey.of(join.fact, rel["id"])

    def _match(self, rule: CompiledRule, key: SubjectKey) -> dict[str, Any]:
        """The values ``rule``'s fact conditions read for ``key``, recorded once, when it fires (from
        the subject's memo when its gates were evaluated here)."""
        memo = self._memos.get(key)
        if memo is not None:
            return trace(self._steps[rule.id], self._plan.tests[key.type], memo)
        matched: dict[str, Any] = {}
        fact = self._facts.get(key.type, key.id) if self._facts is not None else None
        if fact is not None and self._facts is not None:
            rule.local(subject_env(self.book.kb, self._facts, key.type, fact), matched)
        return matched

    def fired(self, rule: CompiledRule, subject: SubjectKey, bindings: dict[str, Any],
              declare: list[Any] | None = None) -> None:
        """Record a firing and the signals it asserts (``bindings``: ``r<k>``, the related subject
        join ``k`` went through); :meth:`_asserted` hears of each signal new for its subject."""
        key = (rule.id, subject)
        firing = self._firings.get(key)
        if firing is None:
            firing = self._firings[key] = Firing(rule.id, subject, self._match(rule, subject))
            self._order.append(firing)
            for name in rule.rule.then.signals:
                producers = self._producers.setdefault((name, subject), [])
                if not producers:
                    self._asserted(name, subject, declare)
                producers.append(rule.id)
        for k, join in enumerate(rule.joins):
            related = bindings.get(f"r{k}")
            bucket = firing.related.setdefault(join.name, [])
            if related is not None and related not in bucket:
                bucket.append(related)

    def _asserted(self, name: str, subject: SubjectKey, declare: list[Any] | None) -> None:  # noqa: B027 (a hook)
        """A signal now holds for ``subject`` (recorded in the producers already). A hook for an
        evaluator with a working memory of its own (experta's); the others need nothing here."""


class Inference(Recorder):
    """The reference evaluator: the chaining rules matched by experta's Rete network. The semantics
    of rm-advisor are this evaluator's; :class:`engine.inference.stratified.StratifiedInference`
    must agree with it on every firing."""

    def __init__(self, book: RuleBook, max_firings: int = 10_000):
        super().__init__(book, max_firings)
        self._engine = _engine_class(book)()
        # only signals some chaining rule tests need to enter the network; the rest are recorded
        self._chained = {n for r in book.rules if not r.direct
                         for n in (*r.requires, *r.forbids, *(s for j in r.joins for s in j.signals))}
        self._engine.inference = self

    def run(self, fact_set: FactSet, gates: Gates | None = None, chained: Chained | None = None) -> InferenceResult:
        facts: list[Fact] = []
        gated = self._start(fact_set, gates, declare=facts)
        for rule, subject in self._reachable(gated):
            facts.append(Gate(rule=rule.id, subject=subject))
            facts += [JoinGate(rule=rule.id, join=k, subject=subject, related=rel)
                      for k, rel in self._joined(rule, subject, fact_set)]
        if not any(isinstance(f, Gate) for f in facts):
            return self._result()  # no chaining rule is gated in: the Rete network has nothing to do
        engine = self._engine
        engine.reset()
        engine.declare(*facts)
        engine.run(steps=self.max_firings)  # caps chained firings only: direct ones cannot loop
        added, removed = engine.get_activations()  # changes made by the last firing
        engine.strategy.update_agenda(engine.agenda, added, removed)
        if engine.agenda.activations:
            raise self._too_many(len(engine.agenda.activations))
        return self._result()

    def _asserted(self, name: str, subject: SubjectKey, declare: list[Any] | None) -> None:
        if name not in self._chained:
            return
        if declare is not None:
            declare.append(Signal(name=name, subject=subject))
        else:
            self._engine.declare(Signal(name=name, subject=subject))

    def _reachable(self, chained: list[tuple[CompiledRule, SubjectKey]]) -> list[tuple[CompiledRule, SubjectKey]]:
        """Gates of chaining rules whose required signals can still appear for their subject.

        A rule that requires a signal nothing can assert for that subject cannot fire, so its gate
        is left out of the network (a sound pruning: Rete still decides everything else, including
        ``not`` and joins). Taken in stratum order, producers come before consumers.
        """
        possible: dict[SubjectKey, set[str]] = {}
        for (name, subject) in self._producers:
            possible.setdefault(subject, set()).add(name)
        kept = []
        for rule, subject in sorted(chained, key=lambda rs: (rs[0].stratum, rs[0].id, rs[1])):
            have = possible.setdefault(subject, set())
            if rule.joins or set(rule.requires) <= have:
                kept.append((rule, subject))
                have.update(rule.rule.then.signals)
        return kept


def _engine_class(book: RuleBook) -> type:
    attrs: dict[str, Any] = {"__strategy__": SafeDepthStrategy}
    for idx, rule in enumerate(r for r in book.rules if not r.direct):
        attrs[f"rule_{idx}"] = Rule(*_patterns(rule), salience=rule.salience)(_action(rule))
    return type("RmAdvisorEngine", (KnowledgeEngine,), attrs)


def _patterns(rule: CompiledRule) -> list[Any]:
    patterns: list[Any] = [Gate(rule=rule.id, subject=MATCH.s)]
    patterns += [Signal(name=n, subject=MATCH.s) for n in rule.requires]
    patterns += [NOT(Signal(name=n, subject=MATCH.s)) for n in rule.forbids]
    for k, join in enumerate(rule.joins):
        var = getattr(MATCH, f"r{k}")
        patterns.append(JoinGate(rule=rule.id, join=k, subject=MATCH.s, related=var))
        patterns += [Signal(name=n, subject=var) for n in join.signals]
    return patterns


def _action(rule: CompiledRule) -> Any:
    """The rule's right-hand side; made in a factory so each closure keeps its own rule."""

    def fire(engine: Any, s: SubjectKey, **bindings: Any) -> None:
        engine.inference.fired(rule, s, bindings)

    fire.__name__ = "rule_" + rule.id.replace(".", "_")
    return fire
