"""Where derived manager signals lead: every one must lead to a coaching topic on its own.

A rule that asserts a manager signal (``lagging_performer``, ``weak_negotiator``) says something
about the manager that coaching should act on. The signal *leads to coaching* in a domain when
some manager rule tests it and gives a coaching topic with nothing else to hold but the signal
(and, at most, a ``manager.domain`` condition): then whenever the signal holds for a manager of
that domain, a coaching topic follows. A signal that only combines with other conditions
(``weak_negotiator`` and fewer than 24 months in the post) leaves every other manager who holds
it with nothing, and one that no rule tests leads nowhere at all.

``signal_leads_nowhere`` (warning) names the signal, the rules asserting it, the domains where it
can hold and leads to no coaching, and the rules that use it only together with other conditions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from rm_advisor.engine.errors import Diagnostic, Location
from rm_advisor.engine.language.knowledge import KnowledgeBase, resolve
from rm_advisor.engine.language.operators import operator
from rm_advisor.engine.language.rules import FieldCond, Rule
from rm_advisor.engine.language.walk import Path, conjuncts, signal_test

Locate = Callable[[str, Path], Location]

_DOMAIN = "manager.domain"
_ANY_DAY = dt.date(2000, 1, 1)  # a domain condition compares enum values: no day is involved


def signals_leading_nowhere(rules: Sequence[Rule], kb: KnowledgeBase, locate: Locate) -> list[Diagnostic]:
    """A ``signal_leads_nowhere`` warning for each manager signal that some rule asserts and that,
    in some domain where it can hold, no coaching follows from on its own."""
    everywhere = _manager_domains(kb)
    diags = []
    for name in sorted({s for r in rules for s in r.then.signals}):
        spec = kb.signals.get(name)
        if spec is None or spec.subject != "manager":
            continue
        makers = sorted((r for r in rules if r.subject == "manager" and name in r.then.signals), key=lambda r: r.id)
        if not makers:
            continue
        held = set().union(*(_domains(r, kb, everywhere) for r in makers))
        users = sorted((r for r in rules if r.subject == "manager" and _requires(r, name)), key=lambda r: r.id)
        alone = [r for r in users if r.then.coaching and _only_signal_and_domain(r, name)]
        covered = set().union(*(_domains(r, kb, everywhere) for r in alone)) if alone else set()
        missing = sorted(held - covered)
        if not missing:
            continue
        maker = makers[0]
        at = ("then", "signals", maker.then.signals.index(name))
        asserted = ", ".join(r.id for r in makers)
        where = _listed(missing)
        if not users:
            why = "no rule uses it"
        else:
            why = (f"the rules that use it ({', '.join(r.id for r in users)}) need other conditions too"
                   if not alone else f"the rules that give coaching from it alone ({', '.join(r.id for r in alone)}) "
                   f"cover only {_listed(sorted(covered))}")
        diags.append(Diagnostic(
            "signal_leads_nowhere", f"manager signal `{name}` (asserted by {asserted}) leads to no coaching topic "
            f"for {where} managers: {why}", locate(maker.id, at), rule_id=maker.id, severity="warning",
            hint=f"add a manager rule whose `when` is `signal: {name}` (at most with a `manager.domain` condition) "
                 "and that gives a coaching topic, or stop asserting the signal"))
    return diags


def _manager_domains(kb: KnowledgeBase) -> frozenset[str]:
    spec = kb.facts.get("manager")
    field = spec.fields.get("domain") if spec else None
    return frozenset(field.values or ()) if field is not None else frozenset()


def _requires(rule: Rule, name: str) -> bool:
    return any(signal_test(c) == (name, True) for c, _ in conjuncts(rule.when))


def _only_signal_and_domain(rule: Rule, name: str) -> bool:
    """Every top-level conjunct is ``signal: name`` or a condition on the manager's domain."""
    for cond, _ in conjuncts(rule.when):
        if signal_test(cond) == (name, True):
            continue
        if isinstance(cond, FieldCond) and cond.ref == _DOMAIN:
            continue
        return False
    return True


def _domains(rule: Rule, kb: KnowledgeBase, everywhere: frozenset[str]) -> set[str]:
    """The manager domains a rule can fire in: those its top-level ``manager.domain`` conditions allow."""
    tests = [cond for cond, _ in conjuncts(rule.when) if isinstance(cond, FieldCond) and cond.ref == _DOMAIN]
    return {d for d in everywhere
            if all(operator(op).holds(d, resolve(arg, kb), _ANY_DAY) for t in tests for op, arg in t.ops.items())}


def _listed(domains: list[str]) -> str:
    if len(domains) <= 1:
        return "".join(domains)
    return ", ".join(domains[:-1]) + " and " + domains[-1]
