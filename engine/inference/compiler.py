"""Compile a checked rule set into a :class:`RuleBook`: per rule, a Python predicate for its
fact conditions and the signal patterns and joins the Rete network must match.

Firing order is derived, not written: rules are stratified over the signal graph so that every
rule producing a signal fires before any rule that tests it (which makes ``not: {signal}`` sound).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from rm_advisor.engine.checking.checker import RuleSet
from rm_advisor.engine.checking.signals import strata
from rm_advisor.engine.inference.conditions import (
    FieldTest,
    Predicate,
    always,
    compile_condition,
    conjunction,
    field_test,
)
from rm_advisor.engine.inference.confirm import ConfirmProbe, compile_probe
from rm_advisor.engine.language.knowledge import KnowledgeBase
from rm_advisor.engine.language.links import link_key
from rm_advisor.engine.language.rules import Condition, FieldCond, LinkedSpec, Rule
from rm_advisor.engine.language.walk import conjuncts, exists_parts, form, linked_spec, signal_test
from rm_advisor.engine.policies.arbitration import Arbitration
from rm_advisor.engine.policies.contact import PolicySet

TOP_SALIENCE = 10_000
T = TypeVar("T")


@dataclass(frozen=True)
class Join:
    """``exists`` a related fact (a manager's client) — or, with ``via``, a client ``linked`` to the
    subject — that passes ``where`` and holds ``signals``."""

    fact: str
    link_field: str
    where: Predicate
    signals: tuple[str, ...]
    via: LinkedSpec | None = None
    #: the conjuncts of ``where`` other than the signal tests (``where`` is their predicate)
    conditions: tuple[Condition, ...] = ()

    @property
    def name(self) -> str:
        """What a trace lists the related subjects under: the fact type, or the link's kinds."""
        return link_key(self.via) if self.via is not None else self.fact


@dataclass(frozen=True)
class CompiledRule:
    """A rule ready to run: its fact predicate, signal patterns, joins and stratum, and the probe that
    finds what missing values keep it from firing (:mod:`engine.inference.confirm`).

    ``gate`` is ``local`` taken apart: its conjuncts in order, each field condition as its
    :class:`FieldTest` (which rules about one subject share, :mod:`engine.inference.gates`) and
    every other one as its predicate; ``local`` is their conjunction."""

    rule: Rule
    file: str
    line: int
    stratum: int
    local: Predicate
    requires: tuple[str, ...]
    forbids: tuple[str, ...]
    joins: tuple[Join, ...]
    confirm: ConfirmProbe | None = None
    gate: tuple[FieldTest | Predicate, ...] = ()

    @cached_property
    def id(self) -> str:
        return self.rule.id

    @cached_property
    def direct(self) -> bool:
        """No signal conditions and no joins: the rule fires exactly when its gate holds, so it
        needs no Rete network (its signals are asserted before the network runs)."""
        return not (self.requires or self.forbids or self.joins)

    @property
    def salience(self) -> int:
        return TOP_SALIENCE - self.stratum

    def active_on(self, day: dt.date) -> bool:
        eff = self.rule.effective
        if eff is None:
            return True
        return (eff.from_ is None or eff.from_ <= day) and (eff.until is None or day <= eff.until)


@dataclass(frozen=True)
class SourceTexts:
    """The file texts a rule book was built from (name -> text), kept so that a decision log can
    store the rule set of every revision and replay a decision without the files on disk."""

    rules: Mapping[str, str]
    knowledge_base: Mapping[str, str]


@dataclass(frozen=True)
class RuleBook:
    """A compiled, immutable rule set with its revision (a content hash), its contact policies,
    its arbitration (how recommended actions are ranked) and, when loaded from texts, those texts."""

    rules: tuple[CompiledRule, ...]
    kb: KnowledgeBase
    revision: str
    policies: PolicySet = field(default_factory=lambda: PolicySet(()))
    arbitration: Arbitration = field(default_factory=Arbitration)
    sources: SourceTexts | None = None

    def by_id(self) -> dict[str, CompiledRule]:
        return dict(self._index()[0])

    def for_subject(self, subject: str) -> tuple[CompiledRule, ...]:
        return self._index()[1].get(subject, ())

    def cached(self, name: str, build: Callable[[], T]) -> T:
        """``build()``, made once per book and kept under ``name``: what a later step works out once
        per rule set rather than once per decision (each rule's outcomes, say)."""
        memo: dict[str, Any] = self.__dict__.setdefault("_cached", {})
        if name not in memo:
            memo[name] = build()
        value: T = memo[name]
        return value

    def _index(self) -> tuple[dict[str, CompiledRule], dict[str, tuple[CompiledRule, ...]]]:
        """The rules by id and by subject, built on first use (every decision asks)."""
        index = self.__dict__.get("_by")
        if index is None:
            subjects: dict[str, list[CompiledRule]] = {}
            for r in self.rules:
                subjects.setdefault(r.rule.subject, []).append(r)
            index = ({r.id: r for r in self.rules}, {k: tuple(v) for k, v in subjects.items()})
            object.__setattr__(self, "_by", index)  # a cache on an immutable book
        return index


def compile_rule_set(rule_set: RuleSet, revision: str) -> RuleBook:
    """Compile every rule of a checked rule set."""
    levels = strata([c.rule for c in rule_set.rules])
    compiled = tuple(_compile(c.rule, c.file, c.line, levels[c.rule.id], rule_set.kb) for c in rule_set.rules)
    return RuleBook(compiled, rule_set.kb, revision)


def local_conditions(rule: Rule) -> list[Condition]:
    """The conjuncts of a rule's ``when`` that test facts only (no signals): its gate."""
    return [c for c, _ in conjuncts(rule.when) if signal_test(c) is None and _joined(c) is None]


def _compile(rule: Rule, file: str, line: int, stratum: int, kb: KnowledgeBase) -> CompiledRule:
    tops = [c for c, _ in conjuncts(rule.when)]
    tests = [t for c in tops if (t := signal_test(c)) is not None]
    joins = [_join(j, rule.subject, kb) for c in tops if (j := _joined(c)) is not None]
    gate = local_conditions(rule)
    parts = [field_test(c, kb) if isinstance(c, FieldCond) else compile_condition(c, kb, rule.subject) for c in gate]
    local = [p.predicate() if isinstance(p, FieldTest) else p for p in parts]
    return CompiledRule(rule, file, line, stratum, conjunction(local) if local else always,
                        tuple(sorted({s for s, wanted in tests if wanted})),
                        tuple(sorted({s for s, wanted in tests if not wanted})), tuple(joins),
                        compile_probe(rule, gate, kb, joins=bool(joins)), tuple(parts))


_Joined = tuple[str, list[str], list[Condition], LinkedSpec | None]


def _joined(cond: Condition) -> _Joined | None:
    """For an ``exists`` (or a ``linked``) whose ``where`` requires signals of the related fact (the
    linked client): a join the Rete network matches: (fact, those signals, the other conjuncts of
    ``where``, the link spec); else None."""
    via = linked_spec(cond)
    fact, where = ("client", via.where) if via is not None else exists_parts(cond) or ("", None)
    if where is None:
        return None
    tops = [c for c, _ in conjuncts(where)]
    required = [t[0] for c in tops if (t := signal_test(c)) is not None and t[1]]
    if not required:
        return None
    return fact, required, [c for c in tops if form(c) != "signal"], via


def _join(joined: _Joined, subject: str, kb: KnowledgeBase) -> Join:
    fact, required, rest, via = joined
    where = conjunction([compile_condition(c, kb, fact) for c in rest]) if rest else always
    link = kb.facts[fact].links.get(subject, "") if via is None else ""
    return Join(fact, link, where, tuple(sorted(set(required))), via, tuple(rest))
