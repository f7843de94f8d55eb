"""Compile condition trees (without signals) into plain Python predicates over facts.

These predicates decide the single-fact and related-fact part of every rule before the Rete
network sees anything; only derived signals and joins on them go through experta. A missing value
fails every comparison except ``present: false`` (and ``not`` of a comparison is then true).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from engine.facts import Fact, FactSet
from engine.knowledge import KnowledgeBase
from engine.rules import AllCond, AnyCond, Condition, ExistsCond, FieldCond, NotCond, SignalCond
from engine.values import shift

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


def always(env: Env, trace: Trace | None) -> bool:
    return True


def compile_condition(cond: Condition, kb: KnowledgeBase, outer: str) -> Predicate:
    """A predicate for ``cond``; ``outer`` is the fact type that ``exists`` relates to."""
    if isinstance(cond, AllCond):
        return conjunction([compile_condition(c, kb, outer) for c in cond.all])
    if isinstance(cond, AnyCond):
        return _any([compile_condition(c, kb, outer) for c in cond.any])
    if isinstance(cond, NotCond):
        inner = compile_condition(cond.not_, kb, outer)
        return lambda env, trace: not inner(env, trace)
    if isinstance(cond, ExistsCond):
        fact = cond.exists.fact
        where = compile_condition(cond.exists.where, kb, fact) if cond.exists.where else always
        return exists(fact, outer, where)
    if isinstance(cond, FieldCond):
        return _field(cond.ref, {op: resolve(v, kb) for op, v in cond.ops.items()})
    if isinstance(cond, SignalCond):
        raise ValueError("signals are matched by the Rete network, not by predicates")
    raise TypeError(cond)


def resolve(value: Any, kb: KnowledgeBase) -> Any:
    """Replace ``$name`` parameter references (alone or in lists) by their configured values."""
    if isinstance(value, (list, tuple)):
        return type(value)(resolve(v, kb) for v in value)
    if isinstance(value, str) and value.startswith("$"):
        return kb.parameters[value[1:]].value
    return value


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
        hits = [str(r["id"]) for r in related if where(env.with_fact(fact, r), {})]
        trace.setdefault(f"exists:{fact}", []).extend(h for h in hits if h not in trace.get(f"exists:{fact}", []))
        return bool(hits)
    return exists_


def _field(ref: str, ops: dict[str, Any]) -> Predicate:
    fact, _, name = ref.partition(".")
    tests = [comparison(op, value) for op, value in sorted(ops.items())]

    def field_(env: Env, trace: Trace | None) -> bool:
        holder = env.facts.get(fact)
        value = holder.get(name) if holder is not None else None
        if trace is not None:
            trace[ref] = value
        return all(t(value, env.as_of) for t in tests)
    return field_


def comparison(op: str, arg: Any) -> Callable[[Any, dt.date], bool]:
    """One operator as a test of (value, as_of). Built in a factory so each closure keeps its arg.

    Public because the authoring tools (why-not, static analysis) must judge values exactly as
    inference does."""
    if op == "present":
        return lambda v, _: (v is not None) == arg
    if op == "eq":
        return lambda v, _: v is not None and v == arg
    if op == "ne":
        return lambda v, _: v is not None and v != arg
    if op == "gt":
        return lambda v, _: v is not None and v > arg
    if op == "ge":
        return lambda v, _: v is not None and v >= arg
    if op == "lt":
        return lambda v, _: v is not None and v < arg
    if op == "le":
        return lambda v, _: v is not None and v <= arg
    if op == "between":
        low, high = arg
        return lambda v, _: v is not None and low <= v <= high
    if op == "in":
        allowed = frozenset(arg)
        return lambda v, _: v is not None and v in allowed
    if op == "not_in":
        banned = frozenset(arg)
        return lambda v, _: v is not None and v not in banned
    if op == "in_next_days":
        return lambda v, as_of: v is not None and as_of <= v <= shift(as_of, arg)
    if op == "older_than_days":
        return lambda v, as_of: v is not None and v < shift(as_of, -arg)
    raise ValueError(f"unknown operator {op}")
