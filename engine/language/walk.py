"""One walk over condition trees: every evaluator, checker and tool reads conditions through here.

A condition is one of ten forms (:mod:`engine.language.rules`): ``all``, ``any``, ``not``, ``signal``,
``exists``, ``compare`` (two fields), ``events`` (an aggregate of history events), ``deadline`` (a
dated threshold ahead), ``linked`` (a client linked to the subject) and a field comparison.
Two ways to go over a tree:

* :func:`walk` yields every node in order with its YAML path, whether it sits under an odd number
  of ``not``, and the fact type in scope (the innermost ``exists``'s fact, else the rule's subject);
  :func:`signals`, :func:`fields`, :func:`conjuncts` and :func:`signal_test` are built on it;
* :class:`Visitor` is a fold: a subclass says what each form means (a predicate, a pandas mask, a
  branch list, an explanation) and :meth:`Visitor.visit` picks the method for a node's form.

This module is the only place that tells the forms apart (``isinstance`` on the condition models).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from rm_advisor.engine.language.knowledge import KnowledgeBase
from rm_advisor.engine.language.rules import (
    AllCond,
    AnyCond,
    CompareCond,
    Condition,
    DeadlineCond,
    EventsCond,
    ExistsCond,
    FieldCond,
    LinkedCond,
    LinkedSpec,
    NotCond,
    SignalCond,
)

Path = tuple[str | int, ...]
Form = Literal["all", "any", "not", "signal", "exists", "compare", "events", "deadline", "linked", "field"]
#: the fact type an ``events`` condition's ``where`` is about: the history events are interactions
EVENT_FACT = "interaction"
#: the scope of a ``linked`` condition's ``where``: the linked client (``client.``) and the link (``link.``)
LINK_SCOPE = "link"
T = TypeVar("T")

_FORMS: dict[type, Form] = {AllCond: "all", AnyCond: "any", NotCond: "not", SignalCond: "signal",
                            ExistsCond: "exists", CompareCond: "compare", EventsCond: "events",
                            DeadlineCond: "deadline", LinkedCond: "linked", FieldCond: "field"}


def form(cond: Condition) -> Form:
    """Which of the ten forms ``cond`` is."""
    return _FORMS[type(cond)]


def children(cond: Condition, path: Path = ()) -> list[tuple[Condition, Path]]:
    """The direct sub-conditions of ``cond`` with their paths (an ``exists`` without ``where``: none)."""
    if isinstance(cond, AllCond):
        return [(c, (*path, "all", i)) for i, c in enumerate(cond.all)]
    if isinstance(cond, AnyCond):
        return [(c, (*path, "any", i)) for i, c in enumerate(cond.any)]
    if isinstance(cond, NotCond):
        return [(cond.not_, (*path, "not"))]
    if isinstance(cond, ExistsCond) and cond.exists.where is not None:
        return [(cond.exists.where, (*path, "exists", "where"))]
    if isinstance(cond, EventsCond) and cond.events.where is not None:
        return [(cond.events.where, (*path, "events", "where"))]
    if isinstance(cond, LinkedCond) and cond.linked.where is not None:
        return [(cond.linked.where, (*path, "linked", "where"))]
    return []


@dataclass(frozen=True)
class Node:
    """One condition in a tree, where it is and what surrounds it."""

    cond: Condition
    path: Path
    #: under an odd number of ``not``
    negated: bool
    #: the fact type its fields and signals are about: the rule's subject, or an ``exists``'s fact
    scope: str

    @property
    def form(self) -> Form:
        return form(self.cond)


def walk(cond: Condition, path: Path = (), scope: str = "", negated: bool = False) -> Iterator[Node]:
    """Every node of the tree, parents before children, left to right."""
    stack = [Node(cond, path, negated, scope)]
    while stack:
        node = stack.pop()
        yield node
        inner_scope = (node.cond.exists.fact if isinstance(node.cond, ExistsCond)
                       else EVENT_FACT if isinstance(node.cond, EventsCond)
                       else LINK_SCOPE if isinstance(node.cond, LinkedCond) else node.scope)
        flip = node.negated != (node.form == "not")
        stack.extend(Node(c, p, flip, inner_scope) for c, p in reversed(children(node.cond, node.path)))


def signals(cond: Condition) -> list[str]:
    """Every signal the tree mentions, in order (with repeats)."""
    return [n.cond.signal for n in walk(cond) if isinstance(n.cond, SignalCond)]


def fields(cond: Condition, path: Path = ()) -> Iterator[tuple[FieldCond, Path]]:
    """Every field comparison with the path of its field key (``(..., "client.x")``)."""
    for n in walk(cond, path):
        if isinstance(n.cond, FieldCond):
            yield n.cond, (*n.path, n.cond.ref)


def compares(cond: Condition, path: Path = ()) -> Iterator[tuple[CompareCond, Path]]:
    """Every comparison between two fields with the path of its ``compare`` key."""
    for n in walk(cond, path):
        if isinstance(n.cond, CompareCond):
            yield n.cond, (*n.path, "compare")


def refs(cond: Condition) -> list[str]:
    """Every ``fact.field`` the tree reads, in order (with repeats): field comparisons and both sides of
    each ``compare``, the field of each ``deadline``."""
    out: list[str] = []
    for n in walk(cond):
        if isinstance(n.cond, FieldCond):
            out.append(n.cond.ref)
        elif isinstance(n.cond, CompareCond):
            out.extend((n.cond.compare.left, n.cond.compare.right))
        elif isinstance(n.cond, EventsCond) and n.cond.events.of is not None:
            out.append(n.cond.events.of)
        elif isinstance(n.cond, DeadlineCond):
            out.append(n.cond.deadline.ref)
    return out


def conjuncts(cond: Condition, path: Path = ()) -> list[tuple[Condition, Path]]:
    """The conjuncts of ``cond`` with nested top-level ``all`` flattened (where signals may stand)."""
    if not isinstance(cond, AllCond):
        return [(cond, path)]
    return [pair for c, p in children(cond, path) for pair in conjuncts(c, p)]


def signal_test(cond: Condition) -> tuple[str, bool] | None:
    """``(signal, wanted)`` for ``signal: s`` (True) and ``not: {signal: s}`` (False), else None."""
    if isinstance(cond, SignalCond):
        return cond.signal, True
    if isinstance(cond, NotCond) and isinstance(cond.not_, SignalCond):
        return cond.not_.signal, False
    return None


def linked_spec(cond: Condition) -> LinkedSpec | None:
    """The spec of a ``linked`` condition, else None."""
    return cond.linked if isinstance(cond, LinkedCond) else None


def exists_parts(cond: Condition) -> tuple[str, Condition | None] | None:
    """``(fact, where)`` of an ``exists`` (``where`` None when absent), else None."""
    if isinstance(cond, ExistsCond):
        return cond.exists.fact, cond.exists.where
    return None


class Visitor(Generic[T]):
    """A fold over condition trees: one method per form, each given the node and its path.

    A method decides whether and how to visit the children (call :meth:`visit` on them), so a
    visitor may carry state down (a negation, a scope) by holding it or by making another visitor.
    The default of every method raises, so a visitor that meets a form it does not support says so.
    """

    def visit(self, cond: Condition, path: Path = ()) -> T:
        if isinstance(cond, AllCond):
            return self.all_(cond, path)
        if isinstance(cond, AnyCond):
            return self.any_(cond, path)
        if isinstance(cond, NotCond):
            return self.not_(cond, path)
        if isinstance(cond, SignalCond):
            return self.signal(cond, path)
        if isinstance(cond, ExistsCond):
            return self.exists(cond, path)
        if isinstance(cond, CompareCond):
            return self.compare(cond, path)
        if isinstance(cond, EventsCond):
            return self.events(cond, path)
        if isinstance(cond, DeadlineCond):
            return self.deadline(cond, path)
        if isinstance(cond, LinkedCond):
            return self.linked(cond, path)
        return self.field(cond, path)

    def all_(self, cond: AllCond, path: Path) -> T:
        raise TypeError(f"{type(self).__name__} does not take `all` conditions")

    def any_(self, cond: AnyCond, path: Path) -> T:
        raise TypeError(f"{type(self).__name__} does not take `any` conditions")

    def not_(self, cond: NotCond, path: Path) -> T:
        raise TypeError(f"{type(self).__name__} does not take `not` conditions")

    def signal(self, cond: SignalCond, path: Path) -> T:
        raise TypeError(f"{type(self).__name__} does not take signal conditions")

    def exists(self, cond: ExistsCond, path: Path) -> T:
        raise TypeError(f"{type(self).__name__} does not take `exists` conditions")

    def field(self, cond: FieldCond, path: Path) -> T:
        raise TypeError(f"{type(self).__name__} does not take field conditions")

    def compare(self, cond: CompareCond, path: Path) -> T:
        raise TypeError(f"{type(self).__name__} does not take `compare` conditions")

    def events(self, cond: EventsCond, path: Path) -> T:
        raise TypeError(f"{type(self).__name__} does not take `events` conditions")

    def deadline(self, cond: DeadlineCond, path: Path) -> T:
        raise TypeError(f"{type(self).__name__} does not take `deadline` conditions")

    def linked(self, cond: LinkedCond, path: Path) -> T:
        raise TypeError(f"{type(self).__name__} does not take `linked` conditions")

    def each(self, cond: AllCond | AnyCond, path: Path) -> list[T]:
        """The children of an ``all`` or ``any``, visited in order."""
        return [self.visit(c, p) for c, p in children(cond, path)]


@dataclass(frozen=True)
class ScopedVisitor(Visitor[T]):
    """A visitor that compiles the conditions of rules about one fact type against a knowledge
    base: ``outer`` is the fact type an ``exists`` relates to (an evaluator per record, per column)."""

    kb: KnowledgeBase
    outer: str
