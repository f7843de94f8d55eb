"""Which fields a rule's ``when`` guarantees are present whenever the rule fires.

A reason template may name a field without a fallback (``{client.days_since_last_visit}``) only
when the value cannot be missing as the text is filled: the field is ``required`` in the fact
schema (of the subject, or of a linked fact the rule's conditions show is there), or the rule's own
``when`` guarantees it. A comparison on a missing value fails (every operator but ``present:
false``, :meth:`engine.language.operators.Operator.on_missing`), so a comparison that must hold for
the rule to fire guarantees its field; the checker's ``missing_fallback`` relies on this.

What counts, conservatively:

* a field comparison that holds guarantees its field unless every one of its operators holds on a
  missing value (``present: false``); one that fails guarantees it when they all do
  (``not: {client.x: {present: false}}``);
* ``all`` holds: what any part guarantees; ``any`` holds: what every branch guarantees;
  ``not`` swaps holding and failing;
* ``exists`` holds: what its ``where`` guarantees about the facts outside it (the subject, its
  manager), not about the related fact, which a template cannot name;
* a signal guarantees what every rule that asserts it guarantees (one of them fired for the
  subject); ``not`` of a signal guarantees nothing, nor does a signal in a loop of signals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rm_advisor.engine.language import (
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
from rm_advisor.engine.language.knowledge import KnowledgeBase
from rm_advisor.engine.language.operators import OPERATORS
from rm_advisor.engine.language.walk import Path, Visitor

#: (fields guaranteed when the condition holds, fields guaranteed when it fails)
Guarantee = tuple[frozenset[str], frozenset[str]]
_NOTHING: frozenset[str] = frozenset()


def signal_guarantees(rules: Sequence[Rule], kb: KnowledgeBase) -> dict[str, frozenset[str]]:
    """What each signal asserted by ``rules`` guarantees about its subject when it holds: what
    every rule asserting it guarantees when it fires."""
    producers: dict[str, list[Rule]] = {}
    for rule in rules:
        for name in rule.then.signals:
            producers.setdefault(name, []).append(rule)
    done: dict[str, frozenset[str]] = {}

    def of(name: str, open_: frozenset[str]) -> frozenset[str]:
        if name in done:
            return done[name]
        if name in open_:  # a loop: nothing is known yet, and nothing is the safe answer
            return _NOTHING
        inner = open_ | {name}
        found = _common([_Presence(lambda s: of(s, inner)).visit(r.when)[0] for r in producers.get(name, [])])
        done[name] = found
        return found

    return {name: of(name, frozenset()) for name in sorted(producers)}


def present_when_fired(rule: Rule, kb: KnowledgeBase,
                       signals: Mapping[str, frozenset[str]] | None = None) -> frozenset[str]:
    """The ``fact.field`` references that have a value whenever ``rule`` fires: those its ``when``
    guarantees (``signals``: what each signal guarantees, :func:`signal_guarantees`), and the
    required fields of the subject and of every linked fact it shows is there."""
    known = signals or {}
    tested, _ = _Presence(lambda s: known.get(s, _NOTHING)).visit(rule.when)
    there = {rule.subject} | {ref.partition(".")[0] for ref in tested}
    required = {f"{fact}.{name}" for fact in there if fact in kb.facts
                for name, spec in kb.facts[fact].fields.items() if spec.required}
    return tested | frozenset(required)


@dataclass(frozen=True)
class _Presence(Visitor[Guarantee]):
    #: what a signal guarantees when it holds
    signal_guarantee: Callable[[str], frozenset[str]]

    def all_(self, cond: AllCond, path: Path) -> Guarantee:
        parts = self.each(cond, path)
        return frozenset().union(*(t for t, _ in parts)), _common([f for _, f in parts])

    def any_(self, cond: AnyCond, path: Path) -> Guarantee:
        parts = self.each(cond, path)
        return _common([t for t, _ in parts]), frozenset().union(*(f for _, f in parts))

    def not_(self, cond: NotCond, path: Path) -> Guarantee:
        holds, fails = self.visit(cond.not_, (*path, "not"))
        return fails, holds

    def signal(self, cond: SignalCond, path: Path) -> Guarantee:
        return self.signal_guarantee(cond.signal), _NOTHING

    def exists(self, cond: ExistsCond, path: Path) -> Guarantee:
        where = cond.exists.where
        if where is None:
            return _NOTHING, _NOTHING
        holds, _ = self.visit(where, (*path, "exists", "where"))
        return frozenset(r for r in holds if r.partition(".")[0] != cond.exists.fact), _NOTHING

    def events(self, cond: EventsCond, path: Path) -> Guarantee:
        return _NOTHING, _NOTHING  # about the history, not about the subject's fields

    def linked(self, cond: LinkedCond, path: Path) -> Guarantee:
        return _NOTHING, _NOTHING  # about another client, not about the subject's fields

    def deadline(self, cond: DeadlineCond, path: Path) -> Guarantee:
        # it holds with its field given, unless a missing one counts as a match
        return (_NOTHING if cond.deadline.unknown == "match" else frozenset({cond.deadline.ref})), _NOTHING

    def compare(self, cond: CompareCond, path: Path) -> Guarantee:
        # it holds with a value on both sides, unless a missing one counts as a match
        refs = frozenset({cond.compare.left, cond.compare.right})
        if cond.compare.unknown == "match":
            return _NOTHING, _NOTHING
        return refs, _NOTHING

    def field(self, cond: FieldCond, path: Path) -> Guarantee:
        # only `present` holds on a missing value, and its operand is a flag, never a $parameter
        on_missing = [op in OPERATORS and OPERATORS[op].on_missing(arg) for op, arg in cond.ops.items()]
        ref = frozenset({cond.ref})
        return (_NOTHING, ref) if all(on_missing) else (ref, _NOTHING)


def _common(sets: list[frozenset[str]]) -> frozenset[str]:
    return frozenset.intersection(*sets) if sets else _NOTHING
