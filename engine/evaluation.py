"""Evaluate one rule's condition tree on one subject and keep every node's outcome.

Inference only needs a yes or no; the authoring tools need to know *which* condition held or
failed, on which fact, with which value. This evaluator follows the compiled semantics exactly
(the same operator tests from :func:`engine.conditions.comparison`, the same parameter values,
signals as inference asserted them) so its verdict on a rule equals whether the rule fired; a test
checks that over every shipped scenario.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from engine.conditions import Env, comparison, resolve
from engine.facts import Fact, FactSet
from engine.knowledge import KnowledgeBase
from engine.rules import AllCond, AnyCond, Condition, ExistsCond, FieldCond, NotCond, Rule, SignalCond
from engine.yaml_source import Path

#: Signals held, by subject key (``client:T1``): what inference asserted.
Held = Mapping[str, Collection[str]]

_SYMBOLS = {"eq": "==", "ne": "!=", "gt": ">", "ge": ">=", "lt": "<", "le": "<="}


@dataclass(frozen=True)
class Outcome:
    """One condition node evaluated on one fact.

    ``path`` is relative to the rule (``("when", "all", 2)``); ``subject`` is the fact the node
    looked at (``client:T1``, or ``interaction:I-4`` inside an ``exists``). For an ``exists`` node,
    ``candidates`` are the related facts and ``related`` the ``where`` outcome on each of them.
    """

    path: Path
    kind: str
    holds: bool
    text: str
    subject: str
    ref: str = ""
    value: Any = None
    ops: tuple[tuple[str, Any, Any], ...] = ()  # (operator, as written, resolved)
    signal: str = ""
    children: tuple[Outcome, ...] = ()
    candidates: tuple[str, ...] = ()
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
    subject: str
    active: bool
    root: Outcome

    @property
    def holds(self) -> bool:
        """The rule fires for this subject."""
        return self.active and self.root.holds


def subject_key(fact_type: str, fact_id: Any) -> str:
    return f"{fact_type}:{fact_id}"


def subject_env(kb: KnowledgeBase, fact_set: FactSet, subject_type: str, fact: Fact) -> Env:
    """The facts a rule about ``fact`` sees: the subject and the facts it links to (its manager)."""
    linked = kb.one_links(subject_type)
    facts: dict[str, Fact | None] = {subject_type: fact}
    facts.update({t: fact_set.get(t, fact.get(f)) for t, f in linked.items()})
    return Env(facts, fact_set.as_of, fact_set)


def active_on(rule: Rule, day: dt.date) -> bool:
    eff = rule.effective
    return eff is None or ((eff.from_ is None or eff.from_ <= day) and (eff.until is None or day <= eff.until))


def evaluate_rule(rule: Rule, env: Env, kb: KnowledgeBase, held: Held) -> RuleOutcome:
    """Evaluate ``rule`` on the subject in ``env`` with the signals inference asserted."""
    subject_fact = env.facts[rule.subject]
    key = subject_key(rule.subject, subject_fact["id"] if subject_fact else "?")
    root = _Evaluator(kb, held).node(rule.when, ("when",), env, rule.subject, key)
    return RuleOutcome(rule, key, active_on(rule, env.as_of), root)


@dataclass(frozen=True)
class _Evaluator:
    kb: KnowledgeBase
    held: Held

    def node(self, cond: Condition, path: Path, env: Env, scope: str, key: str) -> Outcome:
        if isinstance(cond, AllCond):
            kids = tuple(self.node(c, (*path, "all", i), env, scope, key) for i, c in enumerate(cond.all))
            return Outcome(path, "all", all(k.holds for k in kids), "all of", key, children=kids)
        if isinstance(cond, AnyCond):
            kids = tuple(self.node(c, (*path, "any", i), env, scope, key) for i, c in enumerate(cond.any))
            return Outcome(path, "any", any(k.holds for k in kids), "any of", key, children=kids)
        if isinstance(cond, NotCond):
            inner = self.node(cond.not_, (*path, "not"), env, scope, key)
            return Outcome(path, "not", not inner.holds, "not", key, children=(inner,))
        if isinstance(cond, SignalCond):
            holds = cond.signal in self.held.get(key, ())
            return Outcome(path, "signal", holds, f"signal {cond.signal}", key, signal=cond.signal)
        if isinstance(cond, ExistsCond):
            return self._exists(cond, path, env, scope, key)
        if isinstance(cond, FieldCond):
            return self._field(cond, path, env, key)
        raise TypeError(cond)

    def _exists(self, cond: ExistsCond, path: Path, env: Env, scope: str, key: str) -> Outcome:
        fact = cond.exists.fact
        owner = env.facts.get(scope)
        related = env.fact_set.related(fact, scope, owner["id"]) if owner is not None else ()
        keys = tuple(subject_key(fact, r["id"]) for r in related)
        text = f"exists {fact}" + (" where ..." if cond.exists.where is not None else "")
        if cond.exists.where is None:
            return Outcome(path, "exists", bool(related), text, key, candidates=keys)
        where = cond.exists.where
        outs = tuple(self.node(where, (*path, "exists", "where"), env.with_fact(fact, r), fact, k)
                     for r, k in zip(related, keys, strict=True))
        return Outcome(path, "exists", any(o.holds for o in outs), text, key, candidates=keys, related=outs)

    def _field(self, cond: FieldCond, path: Path, env: Env, key: str) -> Outcome:
        ref = cond.ref
        fact, _, name = ref.partition(".")
        holder = env.facts.get(fact)
        value = holder.get(name) if holder is not None else None
        ops = tuple((op, written, resolve(written, self.kb)) for op, written in sorted(cond.ops.items()))
        holds = all(comparison(op, arg)(value, env.as_of) for op, _, arg in ops)
        at = (*path, ref)
        where = subject_key(fact, holder["id"]) if holder is not None and "id" in holder else key
        return Outcome(at, "field", holds, describe(ref, ops), where, ref=ref, value=value, ops=ops)


def describe(ref: str, ops: tuple[tuple[str, Any, Any], ...]) -> str:
    """A field condition as a reader says it: ``client.days_since_last_visit > $visit_interval_days_a (7)``."""
    return " and ".join(f"{ref} {describe_op(op, written, arg)}" for op, written, arg in ops)


def describe_op(op: str, written: Any, arg: Any) -> str:
    shown = show(arg) if written == arg else f"{show(written)} ({show(arg)})"
    if op in _SYMBOLS:
        return f"{_SYMBOLS[op]} {shown}"
    if op == "present":
        return "is given" if arg else "is missing"
    if op == "between":
        return f"between {shown}"
    if op == "in":
        return f"in {shown}"
    if op == "not_in":
        return f"not in {shown}"
    if op == "in_next_days":
        return f"within the next {shown} days"
    if op == "older_than_days":
        return f"more than {shown} days ago"
    return f"{op} {shown}"


def show(value: Any) -> str:
    """A value as YAML would write it."""
    if value is None:
        return "(missing)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
