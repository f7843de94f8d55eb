"""Compile condition trees (without signals) into plain Python predicates over facts.

These predicates decide the single-fact and related-fact part of every rule before the Rete
network sees anything; only derived signals and joins on them go through experta. A missing value
fails every comparison except ``present: false`` (and ``not`` of a comparison is then true), unless
the condition says otherwise with ``unknown:``; what each operator means is in
:mod:`engine.language.operators`. A trace records each value a condition read and, for a missing
one, what it counted as (``unknown:client.tier``: ``match`` or ``no_match``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from typing import Any

from rm_advisor.engine.language.aggregates import aggregate, events_key, in_window, window_start
from rm_advisor.engine.language.deadlines import (
    DAYS_LEFT,
    days_left,
    deadline_holds,
    deadline_key,
    deadline_operands,
    record,
)
from rm_advisor.engine.language.deadlines import TRACE_KEY as DEADLINE_KEY
from rm_advisor.engine.language.facts import Fact, FactSet
from rm_advisor.engine.language.knowledge import KnowledgeBase, resolve, resolve_count
from rm_advisor.engine.language.links import LINK_FACT, link_key, linked_pairs
from rm_advisor.engine.language.operators import Unknown, compare_holds, field_holds, on_missing, operator
from rm_advisor.engine.language.rules import (
    AllCond,
    AnyCond,
    CompareCond,
    CompareSpec,
    Condition,
    DeadlineCond,
    DeadlineSpec,
    EventsCond,
    EventsSpec,
    ExistsCond,
    FieldCond,
    LinkedCond,
    LinkedSpec,
    NotCond,
    SignalCond,
)
from rm_advisor.engine.language.walk import EVENT_FACT, Path, ScopedVisitor

Trace = dict[str, Any]
Predicate = Callable[["Env", "Trace | None"], bool]


@dataclass(frozen=True)
class Env:
    """The facts a predicate sees: one fact per type in scope, the as-of date, and all facts."""

    facts: Mapping[str, Fact | None]
    as_of: dt.date
    fact_set: FactSet

    def with_fact(self, fact_type: str, fact: Fact) -> Env:
        return Env({**self.facts, fact_type: fact}, self.as_of, self.fact_set)


def subject_env(kb: KnowledgeBase, fact_set: FactSet, subject_type: str, fact: Fact) -> Env:
    """What a rule about ``fact`` sees: the subject and the facts it links to (its manager...)."""
    linked = kb.one_links(subject_type)
    facts: dict[str, Fact | None] = {subject_type: fact}
    facts.update({t: fact_set.get(t, fact.get(f)) for t, f in linked.items()})
    return Env(facts, fact_set.as_of, fact_set)


def always(env: Env, trace: Trace | None) -> bool:
    return True


def compile_condition(cond: Condition, kb: KnowledgeBase, outer: str) -> Predicate:
    """A predicate for ``cond``; ``outer`` is the fact type that ``exists`` relates to."""
    return _Compiler(kb, outer).visit(cond)


class _Compiler(ScopedVisitor[Predicate]):
    def all_(self, cond: AllCond, path: Path) -> Predicate:
        return conjunction(self.each(cond, path))

    def any_(self, cond: AnyCond, path: Path) -> Predicate:
        return _any(self.each(cond, path))

    def not_(self, cond: NotCond, path: Path) -> Predicate:
        inner = self.visit(cond.not_)
        return lambda env, trace: not inner(env, trace)

    def exists(self, cond: ExistsCond, path: Path) -> Predicate:
        fact = cond.exists.fact
        where = _Compiler(self.kb, fact).visit(cond.exists.where) if cond.exists.where else always
        return exists(fact, self.outer, where)

    def field(self, cond: FieldCond, path: Path) -> Predicate:
        return field_test(cond, self.kb).predicate()

    def compare(self, cond: CompareCond, path: Path) -> Predicate:
        return _compare(cond.compare, self.kb)

    def events(self, cond: EventsCond, path: Path) -> Predicate:
        spec = cond.events
        where = _Compiler(self.kb, EVENT_FACT).visit(spec.where) if spec.where is not None else always
        return _events(spec, self.kb, self.outer, where)

    def deadline(self, cond: DeadlineCond, path: Path) -> Predicate:
        return _deadline(cond.deadline, self.kb)

    def linked(self, cond: LinkedCond, path: Path) -> Predicate:
        spec = cond.linked
        where = _Compiler(self.kb, "client").visit(spec.where) if spec.where is not None else always
        return linked(spec, self.outer, where)

    def signal(self, cond: SignalCond, path: Path) -> Predicate:
        raise ValueError("signals are matched by the Rete network, not by predicates")


def conjunction(preds: list[Predicate]) -> Predicate:
    if len(preds) == 1:
        return preds[0]

    def all_of(env: Env, trace: Trace | None) -> bool:
        if trace is None:
            return all(p(env, None) for p in preds)
        results = [p(env, trace) for p in preds]  # evaluate all, so the trace shows every value
        return all(results)
    return all_of


def _any(preds: list[Predicate]) -> Predicate:
    def any_of(env: Env, trace: Trace | None) -> bool:
        if trace is None:
            return any(p(env, None) for p in preds)
        results = [p(env, trace) for p in preds]
        return any(results)
    return any_of


def exists(fact: str, outer: str, where: Predicate) -> Predicate:
    """True when some ``fact`` linked to the current ``outer`` fact satisfies ``where``."""

    def exists_(env: Env, trace: Trace | None) -> bool:
        owner = env.facts.get(outer)
        if owner is None:
            return False
        related = env.fact_set.related(fact, outer, owner["id"])
        if trace is None:
            return any(where(env.with_fact(fact, r), None) for r in related)
        hits = []
        for r in related:
            inner: Trace = {}
            if where(env.with_fact(fact, r), inner):
                hits.append(str(r["id"]))
                _keep_deadline(trace, inner)
        trace.setdefault(f"exists:{fact}", []).extend(h for h in hits if h not in trace.get(f"exists:{fact}", []))
        return bool(hits)
    return exists_


def linked(spec: LinkedSpec, outer: str, where: Predicate) -> Predicate:
    """True when some client linked to the ``outer`` client (by a link of ``spec``'s kinds and
    direction) satisfies ``where``, seen as ``client`` with its link as ``link``."""
    key = "exists:" + link_key(spec)

    def linked_(env: Env, trace: Trace | None) -> bool:
        owner = env.facts.get(outer)
        if owner is None:
            return False
        pairs = linked_pairs(spec, env.fact_set, owner["id"])
        if trace is None:
            return any(where(env.with_fact("client", o).with_fact(LINK_FACT, ln), None) for ln, o in pairs)
        hits = [str(o["id"]) for ln, o in pairs if where(env.with_fact("client", o).with_fact(LINK_FACT, ln), {})]
        bucket = trace.setdefault(key, [])
        bucket.extend(h for h in hits if h not in bucket)
        return bool(hits)
    return linked_


def _keep_deadline(trace: Trace, inner: Trace) -> None:
    """A deadline that held for a related fact (a loan event): the reason's ``{deadline.*}`` may show it."""
    left = inner.get(DEADLINE_KEY + "days_left")
    if left is not None and (trace.get(DEADLINE_KEY + "days_left") is None
                             or left < trace[DEADLINE_KEY + "days_left"]):
        for name in ("days_left", "date", "threshold"):
            trace.pop(DEADLINE_KEY + name, None)
            if DEADLINE_KEY + name in inner:
                trace[DEADLINE_KEY + name] = inner[DEADLINE_KEY + name]


#: the prefix of a trace key that says what a missing value counted as (``unknown:client.tier``)
UNKNOWN_KEY = "unknown:"


class FieldTest:
    """One field condition on its own: a field (``client.tier``), its operators with their operands
    (``$parameters`` resolved) and its ``unknown`` mode. Two conditions with the same :attr:`key`
    mean the same test, so the rules about a subject may share its result
    (:mod:`engine.inference.gates`); :meth:`predicate` is the condition as every other one is."""

    __slots__ = ("counted", "fact", "key", "missing", "name", "reads_gap", "ref", "tests", "unknown")

    def __init__(self, ref: str, ops: Mapping[str, Any], unknown: Unknown | None):
        self.ref = ref
        self.fact, _, self.name = ref.partition(".")
        self.tests = [(operator(op), arg) for op, arg in sorted(ops.items())]
        self.unknown = unknown
        self.missing = on_missing(dict(ops), unknown)  # what it gives on a missing value, whatever the day
        self.reads_gap = "present" in ops  # a `present` test is about the gap itself: nothing to say it counted as
        self.counted = UNKNOWN_KEY + ref
        #: what the test means: the field, each operator with its operand, the unknown mode
        self.key: Hashable = (ref, tuple((op, _frozen(arg)) for op, arg in sorted(ops.items())), unknown)

    def read(self, env: Env) -> Any:
        """The value the test reads (None: missing)."""
        holder = env.facts.get(self.fact)
        return holder.get(self.name) if holder is not None else None

    def holds(self, value: Any, as_of: dt.date) -> bool:
        """Whether the test holds for ``value``, as :func:`engine.language.operators.field_holds` says:
        a missing value gives :func:`engine.language.operators.on_missing` (worked out once), a
        present one goes straight to the operators (``unknown`` speaks for missing values only)."""
        if value is None:
            return self.missing
        for op, arg in self.tests:
            if not op.scalar(value, arg, as_of):
                return False
        return True

    def record(self, trace: Trace, value: Any, holds: bool) -> None:
        """What the test read, and for a missing value what it counted as, into ``trace``."""
        trace[self.ref] = value
        if value is None and not self.reads_gap:
            trace.setdefault(self.counted, "match" if holds else "no_match")

    def predicate(self) -> Predicate:
        def field_(env: Env, trace: Trace | None) -> bool:
            value = self.read(env)
            holds = self.holds(value, env.as_of)
            if trace is not None:
                self.record(trace, value, holds)
            return holds
        return field_


def field_test(cond: FieldCond, kb: KnowledgeBase) -> FieldTest:
    """The test of a field condition, its ``$parameters`` resolved."""
    return FieldTest(cond.ref, {op: resolve(v, kb) for op, v in cond.ops.items()}, cond.unknown)


def _frozen(arg: Any) -> Hashable:
    """An operand as part of a test's key: lists (``in``, ``between``) as tuples, and every value
    with its type, so that ``eq: 1`` and ``eq: true`` stay two tests."""
    if isinstance(arg, (list, tuple)):
        return ("seq", tuple(_frozen(a) for a in arg))
    if isinstance(arg, dict):
        return ("map", tuple(sorted((str(k), _frozen(v)) for k, v in arg.items())))
    try:
        hash(arg)
    except TypeError:
        return (type(arg).__name__, repr(arg))
    return (type(arg).__name__, arg)


def compare_operands(spec: CompareSpec, kb: KnowledgeBase) -> tuple[float | None, float | None]:
    """``times`` and ``plus`` of a ``compare`` with their ``$parameters`` resolved."""
    times = resolve(spec.times, kb) if spec.times is not None else None
    plus = resolve(spec.plus, kb) if spec.plus is not None else None
    return times, plus


def _read(env: Env, ref: str) -> Any:
    fact, _, name = ref.partition(".")
    holder = env.facts.get(fact)
    return holder.get(name) if holder is not None else None


def _compare(spec: CompareSpec, kb: KnowledgeBase) -> Predicate:
    left, right, op, unknown = spec.left, spec.right, spec.op, spec.unknown
    times, plus = compare_operands(spec, kb)

    def compare_(env: Env, trace: Trace | None) -> bool:
        lv, rv = _read(env, left), _read(env, right)
        holds = compare_holds(op, lv, rv, env.as_of, times, plus, unknown)
        if trace is not None:
            trace[left], trace[right] = lv, rv
            for ref, value in ((left, lv), (right, rv)):
                if value is None:
                    trace.setdefault(UNKNOWN_KEY + ref, "match" if holds else "no_match")
        return holds
    return compare_


def window_days(spec: EventsSpec, kb: KnowledgeBase) -> int | None:
    """The window of an ``events`` condition in days, its ``$parameter`` resolved (None: no window)."""
    return resolve_count(spec.within_days, kb) if spec.within_days is not None else None


def matching_events(spec: EventsSpec, kb: KnowledgeBase, outer: str, where: Predicate, env: Env) -> list[Fact]:
    """The subject's history events inside the window that match ``where``, sorted by id."""
    owner = env.facts.get(outer)
    if owner is None:
        return []
    start = window_start(env.as_of, window_days(spec, kb))
    return [e for e in env.fact_set.events_of(outer, owner["id"])
            if in_window(e.get("date"), env.as_of, start) and where(env.with_fact(EVENT_FACT, e), None)]


def events_value(spec: EventsSpec, events: list[Fact], as_of: dt.date) -> Any:
    """The aggregate of the matching events (None: *never*)."""
    of = spec.of.partition(".")[2] if spec.of else ""
    return aggregate(spec.aggregate, [(e["date"], str(e["id"]), e.get(of) if of else None) for e in events], as_of)


def _events(spec: EventsSpec, kb: KnowledgeBase, outer: str, where: Predicate) -> Predicate:
    tests = [(operator(op), resolve(v, kb)) for op, v in sorted(spec.test.used().items())]
    key = events_key(spec, kb)

    def events_(env: Env, trace: Trace | None) -> bool:
        found = matching_events(spec, kb, outer, where, env)
        value = events_value(spec, found, env.as_of)
        holds = field_holds(tests, value, env.as_of, spec.never)
        if trace is not None:
            trace[key] = value
            if value is None:
                trace.setdefault(UNKNOWN_KEY + key, "match" if holds else "no_match")
            if found:
                ids = trace.setdefault(f"exists:{EVENT_FACT}", [])
                ids.extend(str(e["id"]) for e in found if str(e["id"]) not in ids)
        return holds
    return events_


def _deadline(spec: DeadlineSpec, kb: KnowledgeBase) -> Predicate:
    ref, basis, unknown, threshold = spec.ref, spec.basis, spec.unknown, spec.threshold
    after, within = deadline_operands(spec, kb)
    key = DAYS_LEFT + deadline_key(spec, kb)

    def deadline_(env: Env, trace: Trace | None) -> bool:
        value = _read(env, ref)
        left = days_left(basis, value, after, env.as_of)
        holds = deadline_holds(left, within, unknown)
        if trace is not None:
            trace[ref] = value
            trace[key] = left
            if left is None:
                trace.setdefault(UNKNOWN_KEY + ref, "match" if holds else "no_match")
            elif holds:
                record(trace, left, env.as_of, threshold)
        return holds
    return deadline_
