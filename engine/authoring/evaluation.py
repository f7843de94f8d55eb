"""Evaluate one rule's condition tree on one subject and keep every node's outcome.

Inference only needs a yes or no; the authoring tools need to know *which* condition held or
failed, on which fact, with which value. This evaluator follows the compiled semantics exactly
(the same operator tests from :mod:`engine.language.operators`, the same parameter values,
signals as inference asserted them) so its verdict on a rule equals whether the rule fired; a test
checks that over every shipped scenario.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from typing import Any

from rm_advisor.engine.inference.conditions import (
    Env,
    always,
    compare_operands,
    compile_condition,
    events_value,
    matching_events,
)
from rm_advisor.engine.language.aggregates import events_key, events_text
from rm_advisor.engine.language.deadlines import (
    DAYS_LEFT,
    days_left,
    deadline_holds,
    deadline_key,
    deadline_operands,
)
from rm_advisor.engine.language.knowledge import KnowledgeBase, resolve
from rm_advisor.engine.language.links import LINK_FACT, link_key, linked_pairs
from rm_advisor.engine.language.operators import (
    Unknown,
    compare_holds,
    compare_target,
    describe,
    describe_compare,
    field_holds,
    operator,
)
from rm_advisor.engine.language.rules import (
    AllCond,
    AnyCond,
    CompareCond,
    DeadlineCond,
    EventsCond,
    ExistsCond,
    FieldCond,
    LinkedCond,
    NotCond,
    Rule,
    SignalCond,
)
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.language.walk import EVENT_FACT, Path, Visitor

#: Signals held, by subject: what inference asserted.
Held = Mapping[SubjectKey, Collection[str]]

@dataclass(frozen=True)
class Outcome:
    """One condition node evaluated on one fact.

    ``path`` is relative to the rule (``("when", "all", 2)``); ``subject`` is the fact the node
    looked at (``client:T1``, or ``interaction:I-4`` inside an ``exists``). For an ``exists`` node,
    ``candidates`` are the related facts and ``related`` the ``where`` outcome on each of them. For a
    ``compare`` node, ``ref``/``value`` are its left field and value, ``right``/``right_value`` its right
    one, ``target`` what the left value was compared with (the right value times ``times`` plus ``plus``)
    and ``ops`` the one operator. For an ``events`` node, ``ref`` names the aggregate, ``value`` is
    it (None: *never*), ``ops`` its comparison, ``unknown`` the ``never:`` mode and ``candidates`` the
    events that counted. For a ``deadline`` node, ``ref``/``value`` are the field that places it and
    its value, ``target`` (and ``right_value``, under the trace's name ``right``) the days left (None
    when the value is missing) and ``ops`` the window (``("within", as written, days)``). For a
    ``linked`` node, ``ref`` names the link's kinds, ``candidates`` are the linked clients and
    ``related`` the ``where`` outcome on each of them.
    """

    path: Path
    kind: str
    holds: bool
    text: str
    subject: SubjectKey
    ref: str = ""
    value: Any = None
    ops: tuple[tuple[str, Any, Any], ...] = ()  # (operator, as written, resolved)
    unknown: Unknown | None = None  # what a missing value counts as, when the condition says
    signal: str = ""
    right: str = ""
    right_value: Any = None
    target: Any = None
    children: tuple[Outcome, ...] = ()
    candidates: tuple[SubjectKey, ...] = ()
    related: tuple[Outcome, ...] = ()

    def walk(self) -> Iterator[Outcome]:
        """This node and every node below it, including the ``where`` of each related fact."""
        yield self
        for child in self.children + self.related:
            yield from child.walk()


@dataclass(frozen=True)
class RuleOutcome:
    """A rule evaluated on one subject: active on the as-of date, and whether ``when`` holds."""

    rule: Rule
    subject: SubjectKey
    active: bool
    root: Outcome

    @property
    def holds(self) -> bool:
        """The rule fires for this subject."""
        return self.active and self.root.holds


def active_on(rule: Rule, day: dt.date) -> bool:
    eff = rule.effective
    return eff is None or ((eff.from_ is None or eff.from_ <= day) and (eff.until is None or day <= eff.until))


def evaluate_rule(rule: Rule, env: Env, kb: KnowledgeBase, held: Held) -> RuleOutcome:
    """Evaluate ``rule`` on the subject in ``env`` with the signals inference asserted."""
    subject_fact = env.facts[rule.subject]
    key = SubjectKey.of(rule.subject, subject_fact["id"] if subject_fact else "")
    root = _Evaluator(kb, held, env, rule.subject, key).visit(rule.when, ("when",))
    return RuleOutcome(rule, key, active_on(rule, env.as_of), root)


@dataclass(frozen=True)
class _Evaluator(Visitor[Outcome]):
    """Outcomes of the nodes of one tree on one fact (``key``), the ``scope`` fact in ``env``."""

    kb: KnowledgeBase
    held: Held
    env: Env
    scope: str
    key: SubjectKey

    def all_(self, cond: AllCond, path: Path) -> Outcome:
        kids = tuple(self.each(cond, path))
        return Outcome(path, "all", all(k.holds for k in kids), "all of", self.key, children=kids)

    def any_(self, cond: AnyCond, path: Path) -> Outcome:
        kids = tuple(self.each(cond, path))
        return Outcome(path, "any", any(k.holds for k in kids), "any of", self.key, children=kids)

    def not_(self, cond: NotCond, path: Path) -> Outcome:
        inner = self.visit(cond.not_, (*path, "not"))
        return Outcome(path, "not", not inner.holds, "not", self.key, children=(inner,))

    def signal(self, cond: SignalCond, path: Path) -> Outcome:
        holds = cond.signal in self.held.get(self.key, ())
        return Outcome(path, "signal", holds, f"signal {cond.signal}", self.key, signal=cond.signal)

    def exists(self, cond: ExistsCond, path: Path) -> Outcome:
        fact, env = cond.exists.fact, self.env
        owner = env.facts.get(self.scope)
        related = env.fact_set.related(fact, self.scope, owner["id"]) if owner is not None else ()
        keys = tuple(SubjectKey.of(fact, r["id"]) for r in related)
        text = f"exists {fact}" + (" where ..." if cond.exists.where is not None else "")
        if cond.exists.where is None:
            return Outcome(path, "exists", bool(related), text, self.key, candidates=keys)
        where, at = cond.exists.where, (*path, "exists", "where")
        outs = tuple(replace(self, env=env.with_fact(fact, r), scope=fact, key=k).visit(where, at)
                     for r, k in zip(related, keys, strict=True))
        return Outcome(path, "exists", any(o.holds for o in outs), text, self.key, candidates=keys, related=outs)

    def linked(self, cond: LinkedCond, path: Path) -> Outcome:
        spec, env = cond.linked, self.env
        owner = env.facts.get(self.scope)
        pairs = linked_pairs(spec, env.fact_set, owner["id"]) if owner is not None else []
        keys = tuple(SubjectKey.of("client", o["id"]) for _, o in pairs)
        text = f"linked {link_key(spec)}" + (" where ..." if spec.where is not None else "")
        if spec.where is None:
            return Outcome((*path, "linked"), "linked", bool(pairs), text, self.key, candidates=keys,
                           ref=link_key(spec))
        where, at = spec.where, (*path, "linked", "where")
        outs = tuple(replace(self, env=env.with_fact("client", o).with_fact(LINK_FACT, ln), scope="client",
                             key=k).visit(where, at) for (ln, o), k in zip(pairs, keys, strict=True))
        return Outcome((*path, "linked"), "linked", any(o.holds for o in outs), text, self.key, candidates=keys,
                       related=outs, ref=link_key(spec))

    def compare(self, cond: CompareCond, path: Path) -> Outcome:
        spec = cond.compare
        times, plus = compare_operands(spec, self.kb)
        left, right = self._read(spec.left), self._read(spec.right)
        holds = compare_holds(spec.op, left, right, self.env.as_of, times, plus, spec.unknown)
        days = isinstance(right, dt.date) or isinstance(left, dt.date)
        text = describe_compare(spec.left, spec.op, spec.right, spec.times, spec.plus, days=days,
                                unknown=spec.unknown)
        fact = spec.left.partition(".")[0]
        holder = self.env.facts.get(fact)
        where = SubjectKey.of(fact, holder["id"]) if holder is not None and "id" in holder else self.key
        target = compare_target(right, times, plus)
        return Outcome((*path, "compare"), "compare", holds, text, where, ref=spec.left, value=left,
                       ops=((spec.op, spec.right, target),), unknown=spec.unknown, right=spec.right,
                       right_value=right, target=target)

    def events(self, cond: EventsCond, path: Path) -> Outcome:
        spec = cond.events
        # the predicate's own functions, so the verdict is the rule's
        where = compile_condition(spec.where, self.kb, EVENT_FACT) if spec.where is not None else always
        found = matching_events(spec, self.kb, self.scope, where, self.env)
        value = events_value(spec, found, self.env.as_of)
        ops = tuple((op, written, resolve(written, self.kb)) for op, written in sorted(spec.test.used().items()))
        holds = field_holds([(operator(op), arg) for op, _, arg in ops], value, self.env.as_of, spec.never)
        return Outcome((*path, "events"), "events", holds, events_text(spec, self.kb), self.key,
                       ref=events_key(spec, self.kb), value=value, ops=ops, unknown=spec.never,
                       candidates=tuple(SubjectKey.of(EVENT_FACT, e["id"]) for e in found))

    def deadline(self, cond: DeadlineCond, path: Path) -> Outcome:
        spec = cond.deadline
        after, within = deadline_operands(spec, self.kb)
        value = self._read(spec.ref)
        left = days_left(spec.basis, value, after, self.env.as_of)
        holds = deadline_holds(left, within, spec.unknown)
        fact = spec.ref.partition(".")[0]
        holder = self.env.facts.get(fact)
        where = SubjectKey.of(fact, holder["id"]) if holder is not None and "id" in holder else self.key
        return Outcome((*path, "deadline"), "deadline", holds, deadline_key(spec, self.kb), where, ref=spec.ref,
                       value=value, unknown=spec.unknown, target=left, ops=(("within", spec.within_days, within),),
                       right=DAYS_LEFT + deadline_key(spec, self.kb), right_value=left)

    def _read(self, ref: str) -> Any:
        fact, _, name = ref.partition(".")
        holder = self.env.facts.get(fact)
        return holder.get(name) if holder is not None else None

    def field(self, cond: FieldCond, path: Path) -> Outcome:
        ref = cond.ref
        fact, _, name = ref.partition(".")
        holder = self.env.facts.get(fact)
        value = holder.get(name) if holder is not None else None
        ops = tuple((op, written, resolve(written, self.kb)) for op, written in sorted(cond.ops.items()))
        holds = field_holds([(operator(op), arg) for op, _, arg in ops], value, self.env.as_of, cond.unknown)
        at = (*path, ref)
        where = SubjectKey.of(fact, holder["id"]) if holder is not None and "id" in holder else self.key
        return Outcome(at, "field", holds, describe(ref, ops, cond.unknown), where, ref=ref, value=value, ops=ops,
                       unknown=cond.unknown)
