"""Forward chaining with experta (through :mod:`engine.inference._experta`, its only importer).

Rules are compiled to experta rules over three fact classes: a :class:`Gate` says a rule's fact
conditions hold for a subject (decided in Python before inference), a :class:`JoinGate` that a
related fact passes a rule's join conditions, a :class:`Signal` that a rule derived a signal.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from rm_advisor.engine.errors import Diagnostic, InferenceError, Location
from rm_advisor.engine.inference._experta import MATCH, NOT, Fact, KnowledgeEngine, Rule, SafeDepthStrategy
from rm_advisor.engine.inference.compiler import CompiledRule, RuleBook
from rm_advisor.engine.inference.conditions import Env
from rm_advisor.engine.language.facts import Fact as FactRecord
from rm_advisor.engine.language.facts import FactSet


class Gate(Fact):
    """A rule's fact conditions hold for a subject (evaluated in Python before inference)."""


class JoinGate(Fact):
    """A related fact (e.g. one of a manager's clients) passes a rule's join conditions."""


class Signal(Fact):
    """A derived signal about a subject, asserted by a rule."""


def subject_key(fact_type: str, fact_id: Any) -> str:
    return f"{fact_type}:{fact_id}"


@dataclass
class Firing:
    """One rule firing on one subject; related subjects it joined through, if any."""

    rule_id: str
    subject: str
    related: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class InferenceResult:
    """What inference found: firings in order, and which firings produced each signal."""

    firings: list[Firing]
    producers: dict[tuple[str, str], list[str]]  # (signal, subject key) -> rule ids


class Inference:
    """A compiled rule book bound to one experta engine. Not thread-safe: one per thread."""

    def __init__(self, book: RuleBook, max_firings: int = 10_000):
        self.book = book
        self.max_firings = max_firings
        self._engine = _engine_class(book)()
        self._rules = book.by_id()
        # only signals some chaining rule tests need to enter the network; the rest are recorded
        self._chained = {n for r in book.rules if not r.direct
                         for n in (*r.requires, *r.forbids, *(s for j in r.joins for s in j.signals))}
        self._engine.inference = self
        self._firings: dict[tuple[str, str], Firing] = {}
        self._order: list[Firing] = []
        self._producers: dict[tuple[str, str], list[str]] = {}

    def run(self, fact_set: FactSet, gates: Iterable[tuple[str, str]] | None = None) -> InferenceResult:
        """Gate every rule on every subject, then chain signals to a fixpoint.

        ``gates`` — (rule id, subject key) pairs whose fact conditions hold — may be given by a
        caller that evaluated them in bulk (see :mod:`engine.portfolio.bulk`); by default they are
        evaluated here, one subject at a time.
        """
        self._firings, self._order, self._producers = {}, [], {}
        rules = self._rules
        passed = list(gates) if gates is not None else [(r.id, s) for r, s in self._local_gates(fact_set)]
        facts: list[Fact] = []
        chained = []
        for rule_id, subject in passed:
            rule = rules[rule_id]
            if rule.direct:
                self.fired(rule, subject, {}, declare=facts)
            else:
                chained.append((rule, subject))
        for rule, subject in self._reachable(chained):
            facts.append(Gate(rule=rule.id, subject=subject))
            facts += self._join_gates(rule, subject, fact_set)
        if not any(isinstance(f, Gate) for f in facts):
            return self._result()  # no chaining rule is gated in: the Rete network has nothing to do
        engine = self._engine
        engine.reset()
        engine.declare(*facts)
        engine.run(steps=self.max_firings)  # caps chained firings only: direct ones cannot loop
        added, removed = engine.get_activations()  # changes made by the last firing
        engine.strategy.update_agenda(engine.agenda, added, removed)
        if engine.agenda.activations:
            raise InferenceError([Diagnostic(
                "firing_limit", f"inference stopped after {self.max_firings} firings with "
                f"{len(engine.agenda.activations)} activations pending", Location(path="<inference>"),
                hint="look for rules that keep asserting new signals; or raise max_firings")])
        return self._result()

    def _reachable(self, chained: list[tuple[CompiledRule, str]]) -> list[tuple[CompiledRule, str]]:
        """Gates of chaining rules whose required signals can still appear for their subject.

        A rule that requires a signal nothing can assert for that subject cannot fire, so its gate
        is left out of the network (a sound pruning: Rete still decides everything else, including
        ``not`` and joins). Taken in stratum order, producers come before consumers.
        """
        possible: dict[str, set[str]] = {}
        for (name, subject) in self._producers:
            possible.setdefault(subject, set()).add(name)
        kept = []
        for rule, subject in sorted(chained, key=lambda rs: (rs[0].stratum, rs[0].id, rs[1])):
            have = possible.setdefault(subject, set())
            if rule.joins or set(rule.requires) <= have:
                kept.append((rule, subject))
                have.update(rule.rule.then.signals)
        return kept

    def _result(self) -> InferenceResult:
        return InferenceResult(list(self._order), {k: sorted(v) for k, v in self._producers.items()})

    def _local_gates(self, fs: FactSet) -> Iterator[tuple[CompiledRule, str]]:
        """Rules whose fact conditions hold, per subject, evaluated record by record."""
        for rule in self.book.rules:
            if not rule.active_on(fs.as_of):
                continue
            subject = rule.rule.subject
            for fact in fs.subjects(subject):
                if rule.local(subject_env(self.book, fs, subject, fact), None):
                    yield rule, subject_key(subject, fact["id"])

    def _join_gates(self, rule: CompiledRule, key: str, fs: FactSet) -> list[Fact]:
        if not rule.joins:
            return []
        subject, _, fact_id = key.partition(":")
        fact = fs.get(subject, fact_id)
        if fact is None:  # a gate for a subject the fact set does not hold: nothing to join through
            return []
        env = subject_env(self.book, fs, subject, fact)
        return [JoinGate(rule=rule.id, join=k, subject=key, related=subject_key(join.fact, rel["id"]))
                for k, join in enumerate(rule.joins)
                for rel in fs.related(join.fact, subject, fact["id"])
                if join.where(env.with_fact(join.fact, rel), None)]

    def fired(self, rule: CompiledRule, subject: str, bindings: dict[str, Any],
              declare: list[Fact] | None = None) -> None:
        """Record a firing and assert its signals (into ``declare`` before the Rete run starts).

        Called by experta when a chaining rule fires, and directly for rules without signal
        conditions, whose firing is decided by their gate alone.
        """
        key = (rule.id, subject)
        firing = self._firings.get(key)
        if firing is None:
            firing = self._firings[key] = Firing(rule.id, subject)
            self._order.append(firing)
            new = []
            for name in rule.rule.then.signals:
                producers = self._producers.setdefault((name, subject), [])
                if not producers and name in self._chained:
                    new.append(Signal(name=name, subject=subject))
                producers.append(rule.id)
            if declare is not None:
                declare += new
            elif new:
                self._engine.declare(*new)
        for k, join in enumerate(rule.joins):
            related = bindings.get(f"r{k}")
            bucket = firing.related.setdefault(join.fact, [])
            if related is not None and related not in bucket:
                bucket.append(related)


def subject_env(book: RuleBook, fs: FactSet, subject: str, fact: FactRecord) -> Env:
    """What a rule about ``subject`` sees: the fact and the facts it links to (its manager...)."""
    linked = book.kb.one_links(subject)
    return Env({subject: fact, **{t: fs.get(t, fact.get(f)) for t, f in linked.items()}}, fs.as_of, fs)


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

    def fire(engine: Any, s: str, **bindings: Any) -> None:
        engine.inference.fired(rule, s, bindings)

    fire.__name__ = "rule_" + rule.id.replace(".", "_")
    return fire
