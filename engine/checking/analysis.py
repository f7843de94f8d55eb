"""Static analysis of a checked rule set: problems no single-field check can see.

* ``impossible_condition`` (error): a rule's ``when`` can never hold, e.g. ``> 30`` and ``< 10``
  on one field, a value outside the field's range or enum, a signal required and forbidden at once,
  an ``exists`` whose ``where`` no fact can satisfy. Every way through ``any`` is tried.
* ``subsumed_rule`` (warning): whenever the rule fires, another rule with the same outcome fires
  too, at the same or a higher priority, so the rule adds nothing but a reason text.
* ``same_action_priority`` (warning): two independent rules that can fire together recommend one
  action (or coaching topic) at the same priority: often one was copied and not adjusted. Rules
  chained through signals (one fires because the other did) are built to fire together and are
  not reported.
* ``parameter_unit`` (error): a ``$parameter`` is compared with a field of another unit.
* ``threshold_parameter`` (warning): a rule hard-codes a threshold where the parameters file
  defines one for the same comparison (same field, same direction) in another rule with the same
  outcome or with the same value, so tuning the parameter would silently miss this rule.
* ``missing_text`` (error when a text is blank, warning when it is in the wrong language): a zh
  text with no Chinese, an en text written in Chinese.

The analysis is sound in one direction: it reports a condition impossible, or a rule subsumed,
only when it can prove it; conditions it cannot reason about (deep negations, very many ``any``
combinations) are assumed possible.
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rm_advisor.engine.errors import Diagnostic, Location
from rm_advisor.engine.language import (
    AllCond,
    AnyCond,
    CompareCond,
    Condition,
    DeadlineCond,
    EventsCond,
    ExistsCond,
    FieldCond,
    LinkedCond,
    NotCond,
    Rule,
    SignalCond,
)
from rm_advisor.engine.language.aggregates import events_text
from rm_advisor.engine.language.deadlines import deadline_key
from rm_advisor.engine.language.knowledge import FieldSpec, KnowledgeBase, Text, resolve
from rm_advisor.engine.language.links import link_key
from rm_advisor.engine.language.operators import (
    OPERATORS,
    Unknown,
    describe,
    describe_compare,
    on_missing,
    operator,
    show,
)
from rm_advisor.engine.language.templates import literal_text, parse
from rm_advisor.engine.language.values import shift
from rm_advisor.engine.language.walk import Path, Visitor, fields, signals

Locate = Callable[[str, Path], Location]

_MAX_BRANCHES = 256
_REF_DAY = dt.date(2000, 1, 1)  # relative date conditions are shift-invariant: any as-of date will do
_RELATIVE = frozenset(name for name, op in OPERATORS.items() if op.relative)
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")


def analyse(rules: Sequence[Rule], kb: KnowledgeBase, locate: Locate, pairwise: bool = True) -> list[Diagnostic]:
    """Every finding on a set of rules that passed checking, located with ``locate(rule_id, path)``.

    ``pairwise=False`` leaves out the findings that compare rules with each other (subsumed rules,
    priority ties, thresholds against parameters): warnings only, and most of the cost on a large
    rule set; the findings about each rule alone (which include every error) always come."""
    diags: list[Diagnostic] = []
    impossible: set[str] = set()
    for rule in rules:
        found = _impossible(rule, kb, locate)
        if found:
            impossible.add(rule.id)
            diags.append(found)
        diags.extend(_units(rule, kb, locate))
        diags.extend(_texts(rule, locate))
    if not pairwise:
        return diags
    live = [r for r in rules if r.id not in impossible]
    shapes = _Shapes(live, kb)
    subsumed = _subsumption(live, kb, locate, shapes)
    diags.extend(d for d, _ in subsumed)
    diags.extend(_priority_ties(live, kb, locate, {pair for _, pair in subsumed}, shapes))
    diags.extend(_thresholds(rules, kb, locate))
    return diags


def analyse_partial(rules: Sequence[tuple[Rule, frozenset[str]]], kb: KnowledgeBase,
                    locate: Locate) -> list[Diagnostic]:
    """The findings about each rule on its own (impossible conditions, parameter units, texts) on
    rules that have errors of their own, so that they are reported with those errors and not in a
    later round. ``masked`` names the parts of a rule that stand in for invalid ones: they are not
    analysed. The findings that compare rules with each other wait for the rules to check."""
    diags: list[Diagnostic] = []
    for rule, masked in rules:
        if "when" not in masked:
            found = _impossible(rule, kb, locate)
            if found:
                diags.append(found)
            diags.extend(_units(rule, kb, locate))
        diags.extend(d for d in _texts(rule, locate, masked))
    return diags


# ---------------------------------------------------------------------------- literals and DNF


@dataclass(frozen=True)
class _Lit:
    """One atomic condition, possibly negated, in a branch of a condition's disjunctive form."""

    kind: str  # field | signal | exists | compare
    name: str  # field ref, signal name, related fact type, or a `compare` as a reader says it
    path: Path
    op: str = ""
    value: Any = None  # resolved value
    written: Any = None  # as written in the rule ($parameter)
    negated: bool = False
    where: Condition | None = field(default=None, compare=False)  # compared explicitly where it matters
    unknown: Unknown | None = None  # the field condition's `unknown:` mode

    def text(self) -> str:
        if self.kind == "field":
            body = describe(self.name, ((self.op, self.written, self.value),), self.unknown)
        elif self.kind == "signal":
            body = f"signal {self.name}"
        elif self.kind == "compare":
            body = self.name
        else:
            body = f"exists {self.name}" + (" where ..." if self.where is not None else "")
        return f"not ({body})" if self.negated else body

    def negate(self) -> _Lit:
        return _Lit(self.kind, self.name, self.path, self.op, self.value, self.written, not self.negated, self.where,
                    self.unknown)

    def on_missing(self) -> bool:
        """Whether this literal holds when the field's value is missing."""
        return on_missing({self.op: self.value}, self.unknown) != self.negated


Branch = tuple[_Lit, ...]


def _dnf(cond: Condition, path: Path, kb: KnowledgeBase, negated: bool = False) -> list[Branch] | None:
    """The condition as a list of branches (conjunctions of literals); None when too large."""
    return _Dnf(kb, negated).visit(cond, path)


@dataclass(frozen=True)
class _Dnf(Visitor["list[Branch] | None"]):
    kb: KnowledgeBase
    negated: bool

    def _junction(self, cond: AllCond | AnyCond, path: Path, conjunctive: bool) -> list[Branch] | None:
        parts = self.each(cond, path)
        if any(p is None for p in parts):
            return None
        if conjunctive != self.negated:  # `all`, or a negated `any` (De Morgan)
            return _product(parts)
        branches = [b for p in parts for b in p or ()]
        return branches if len(branches) <= _MAX_BRANCHES else None

    def all_(self, cond: AllCond, path: Path) -> list[Branch] | None:
        return self._junction(cond, path, conjunctive=True)

    def any_(self, cond: AnyCond, path: Path) -> list[Branch] | None:
        return self._junction(cond, path, conjunctive=False)

    def not_(self, cond: NotCond, path: Path) -> list[Branch] | None:
        return _Dnf(self.kb, not self.negated).visit(cond.not_, (*path, "not"))

    def signal(self, cond: SignalCond, path: Path) -> list[Branch] | None:
        return [(_Lit("signal", cond.signal, path, negated=self.negated),)]

    def exists(self, cond: ExistsCond, path: Path) -> list[Branch] | None:
        return [(_Lit("exists", cond.exists.fact, path, negated=self.negated, where=cond.exists.where),)]

    def events(self, cond: EventsCond, path: Path) -> list[Branch] | None:
        # opaque as a `compare` is: it conflicts only with its own negation
        return [(_Lit("compare", events_text(cond.events, self.kb), (*path, "events"), negated=self.negated),)]

    def linked(self, cond: LinkedCond, path: Path) -> list[Branch] | None:
        # opaque, as a `compare` is: about another client, it conflicts only with its own negation
        text = f"linked {link_key(cond.linked)} {cond.linked.model_dump_json(by_alias=True, exclude_none=True)}"
        return [(_Lit("compare", text, (*path, "linked"), negated=self.negated),)]

    def deadline(self, cond: DeadlineCond, path: Path) -> list[Branch] | None:
        # opaque as a `compare` is: it conflicts only with its own negation
        return [(_Lit("compare", deadline_key(cond.deadline, self.kb), (*path, "deadline"), negated=self.negated),)]

    def compare(self, cond: CompareCond, path: Path) -> list[Branch] | None:
        # opaque: it conflicts only with its own negation (the values it compares are not constants)
        spec = cond.compare
        text = describe_compare(spec.left, spec.op, spec.right, spec.times, spec.plus, unknown=spec.unknown)
        return [(_Lit("compare", text, (*path, "compare"), negated=self.negated),)]

    def field(self, cond: FieldCond, path: Path) -> list[Branch] | None:
        lits = [_Lit("field", cond.ref, (*path, cond.ref, op), op, resolve(v, self.kb), v, self.negated,
                     unknown=cond.unknown) for op, v in sorted(cond.ops.items())]
        return [tuple(lits)] if not self.negated else [(lit,) for lit in lits]


def _product(parts: list[list[Branch] | None]) -> list[Branch] | None:
    size = 1
    for p in parts:
        size *= len(p or ())
    if size > _MAX_BRANCHES:
        return None
    return [tuple(lit for branch in combo for lit in branch) for combo in itertools.product(*(p or [] for p in parts))]


# ---------------------------------------------------------------------------- satisfiability


@dataclass(frozen=True)
class _Conflict:
    """Literals that cannot hold together (or an ``exists`` whose ``where`` cannot hold)."""

    lits: tuple[_Lit, ...]
    inner: _Conflict | None = None


def _unsat(cond: Condition, path: Path, kb: KnowledgeBase) -> list[_Conflict] | None:
    """One conflict per branch when the condition can never hold; None when it may hold."""
    branches = _dnf(cond, path, kb)
    if branches is None:
        return None
    conflicts = []
    for branch in branches:
        found = _conflict(branch, kb)
        if found is None:
            return None
        conflicts.append(found)
    return conflicts


def _conflict(branch: Branch, kb: KnowledgeBase) -> _Conflict | None:
    """A minimal set of conflicting literals in one branch, or None if the branch may hold."""
    signals: dict[tuple[str, str], set[bool]] = {}
    for lit in branch:
        if lit.kind in ("signal", "compare"):
            signals.setdefault((lit.kind, lit.name), set()).add(lit.negated)
    for (kind, name), polarity in signals.items():
        if len(polarity) == 2:
            return _Conflict(tuple(ln for ln in branch if ln.kind == kind and ln.name == name))
    fields: dict[str, list[_Lit]] = {}
    for lit in branch:
        if lit.kind == "field":
            fields.setdefault(lit.name, []).append(lit)
    for ref, lits in fields.items():
        spec = _spec(kb, ref)
        if spec is not None and not _field_sat(spec, lits):
            return _Conflict(_minimal(spec, lits))
    exists = [ln for ln in branch if ln.kind == "exists"]
    for lit in exists:
        if not lit.negated and lit.where is not None:
            inner = _unsat(lit.where, (*lit.path, "exists", "where"), kb)
            if inner is not None:
                return _Conflict((lit,), inner[0])
        twin = [o for o in exists if o.negated != lit.negated and o.name == lit.name and o.where == lit.where]
        if twin:
            return _Conflict((lit, twin[0]))
    return None


def _minimal(spec: FieldSpec, lits: list[_Lit]) -> tuple[_Lit, ...]:
    """Drop literals one at a time while the rest still conflict: the conflict an author must fix."""
    keep = list(lits)
    for lit in list(lits):
        trial = [other for other in keep if other is not lit]
        if trial and not _field_sat(spec, trial):
            keep = trial
    return tuple(keep)


def _spec(kb: KnowledgeBase, ref: str) -> FieldSpec | None:
    fact, _, name = ref.partition(".")
    spec = kb.facts.get(fact)
    return spec.fields.get(name) if spec else None


def _field_sat(spec: FieldSpec, lits: Sequence[_Lit]) -> bool:
    """Can one value (or no value) of the field satisfy every literal? A missing value fails
    every comparison except ``present: false`` (so a negated comparison also holds when missing),
    unless its condition's ``unknown:`` says otherwise."""
    if all(ln.on_missing() for ln in lits):
        return True  # no value at all
    if any(ln.op == "present" and (ln.value is False) != ln.negated for ln in lits):
        return False  # one literal needs the value missing, another needs it given
    tests = [(ln.op, ln.value, ln.negated) for ln in lits if ln.op != "present"]
    absolute = [t for t in tests if t[0] not in _RELATIVE]
    relative = [t for t in tests if t[0] in _RELATIVE]
    return _some_value(_candidates(spec, absolute), absolute) and \
        _some_value([shift(_REF_DAY, d) for d in _offsets(relative)], relative)


def _some_value(candidates: Iterable[Any], tests: list[tuple[str, Any, bool]]) -> bool:
    if not tests:
        return True
    checks = [(operator(op), arg, neg) for op, arg, neg in tests]
    return any(all(op.holds(v, arg, _REF_DAY) != neg for op, arg, neg in checks) for v in candidates)


def _mentioned(tests: list[tuple[str, Any, bool]]) -> list[Any]:
    out: list[Any] = []
    for _, arg, _ in tests:
        out.extend(arg if isinstance(arg, (list, tuple)) else [arg])
    return out


def candidates_for(spec: FieldSpec, tests: list[tuple[str, Any, bool]], as_of: dt.date) -> list[Any]:
    """Values of a field among which one satisfies ``tests`` (operator, argument, negated) on
    ``as_of`` whenever any value does; relative date conditions become dates around ``as_of``."""
    extra: list[Any] = []
    for op, days, _ in tests:
        if op in _RELATIVE:
            extra += [as_of, shift(as_of, int(days)), shift(as_of, -int(days))]
    return _candidates(spec, [t for t in tests if t[0] not in _RELATIVE], extra)


def _candidates(spec: FieldSpec, tests: list[tuple[str, Any, bool]], extra: Sequence[Any] = ()) -> list[Any]:
    """Values that include a witness whenever one exists: the allowed values of a boolean or enum;
    for numbers and dates every mentioned bound, one step either side and the midpoints between."""
    if spec.type == "boolean":
        return [True, False]
    if spec.type == "enum" and spec.values:
        return list(spec.values)
    mentioned = _mentioned(tests) + list(extra)
    if spec.type in ("string", "enum"):
        return [v for v in mentioned if isinstance(v, str)] + ["\x00another value"]
    if spec.type == "date":
        days = sorted({d.toordinal() for d in mentioned if isinstance(d, dt.date)})
        return [dt.date.fromordinal(n) for n in _around(days, step=1, whole=True)
                if 1 <= n <= dt.date.max.toordinal()]
    nums = sorted({float(v) for v in mentioned if isinstance(v, (int, float)) and not isinstance(v, bool)}
                  | {float(b) for b in (spec.min, spec.max) if b is not None})
    whole = spec.type == "integer"
    values = _around(nums, step=1, whole=whole)
    return [v for v in values if (spec.min is None or v >= spec.min) and (spec.max is None or v <= spec.max)]


def _around(points: list[Any], step: int, whole: bool) -> list[Any]:
    if not points:
        return [0]
    out = set(points) | {p - step for p in points} | {p + step for p in points}
    if not whole:
        out |= {(a + b) / 2 for a, b in itertools.pairwise(points)}
    else:
        out |= {(a + b) // 2 for a, b in itertools.pairwise(points)}
        out = {int(v) for v in out if float(v).is_integer()}
    return sorted(out)


def _offsets(tests: list[tuple[str, Any, bool]]) -> list[int]:
    bounds = {0}
    for _, days, _ in tests:
        bounds |= {int(days), -int(days)}
    return _around(sorted(bounds), step=1, whole=True)


# ---------------------------------------------------------------------------- impossible conditions


def can_hold(rule: Rule, kb: KnowledgeBase) -> bool:
    """False only when the rule's ``when`` provably never holds."""
    return _unsat(rule.when, ("when",), kb) is None


def _impossible(rule: Rule, kb: KnowledgeBase, locate: Locate) -> Diagnostic | None:
    conflicts = _unsat(rule.when, ("when",), kb)
    if not conflicts:
        return None
    first = conflicts[0]
    where = _describe_conflict(rule.id, first, locate)
    others = len({tuple(ln.path for ln in c.lits) for c in conflicts}) - 1
    tail = f"; the {others} other way(s) through `any` fail as well" if others > 0 else ""
    last = first
    while last.inner is not None:
        last = last.inner
    return Diagnostic("impossible_condition", f"this rule can never fire: {where}{tail}",
                      locate(rule.id, last.lits[-1].path), rule_id=rule.id,
                      hint="one of these bounds or values is wrong; `rm-advisor explain` shows the values a fact needs")


def _describe_conflict(rule_id: str, conflict: _Conflict, locate: Locate) -> str:
    if conflict.inner is not None:
        lit = conflict.lits[0]
        return (f"no `{lit.name}` can satisfy the `where` of `exists` "
                f"(line {locate(rule_id, lit.path).line}): {_describe_conflict(rule_id, conflict.inner, locate)}")
    parts = [f"`{ln.text()}` (line {locate(rule_id, ln.path).line})" for ln in conflict.lits]
    if len(parts) == 1:
        return f"{parts[0]} can never hold for a value the field allows"
    return " and ".join(parts) + " can never all hold"


# ---------------------------------------------------------------------------- implication, subsumption, ties


#: a branch of a disjunctive form, worked out once: whether its literals conflict among themselves,
#: and its literals grouped by what :func:`_conflict` groups them by (:func:`_key`)
_Parts = tuple[bool, dict[tuple[str, str], list["_Lit"]]]


def _key(lit: _Lit) -> tuple[str, str]:
    """Two literals with different keys never conflict (see :func:`_conflict`)."""
    return (lit.kind, lit.name)


def _parts(branches: list[Branch] | None, kb: KnowledgeBase) -> list[_Parts] | None:
    if branches is None:
        return None
    out: list[_Parts] = []
    for branch in branches:
        groups: dict[tuple[str, str], list[_Lit]] = {}
        for lit in branch:
            groups.setdefault(_key(lit), []).append(lit)
        out.append((_conflict(branch, kb) is not None, groups))
    return out


@dataclass
class _Shape:
    """What the pairwise checks need of one rule, worked out once: its ``when`` in disjunctive form,
    as written and negated (None when too large to reason about), and the names its literals test."""

    pos: list[_Parts] | None
    neg: list[_Parts] | None
    keys: frozenset[tuple[str, str]]

    @classmethod
    def of(cls, rule: Rule, kb: KnowledgeBase) -> _Shape:
        pos, neg = _dnf(rule.when, ("when",), kb), _dnf(rule.when, ("when",), kb, negated=True)
        keys = frozenset(_key(lit) for form_ in (pos, neg) if form_ is not None for br in form_ for lit in br)
        return cls(_parts(pos, kb), _parts(neg, kb), keys)


class _Shapes(dict[str, _Shape]):
    """Rule id -> :class:`_Shape`, built on first use."""

    def __init__(self, rules: Sequence[Rule], kb: KnowledgeBase):
        super().__init__()
        self.rules = {r.id: r for r in rules}
        self.kb = kb

    def __missing__(self, rule_id: str) -> _Shape:
        shape = self[rule_id] = _Shape.of(self.rules[rule_id], self.kb)
        return shape


def _clash(a: _Parts, b: _Parts, kb: KnowledgeBase) -> bool:
    """Whether two branches conflict once joined: :func:`_conflict` of the joined branch, from what
    each branch alone gives and the literal groups both have (no other group can change)."""
    if a[0] or b[0]:
        return True
    groups_a, groups_b = a[1], b[1]
    for key in groups_a.keys() & groups_b.keys():
        lits = groups_a[key] + groups_b[key]
        kind, name = key
        if kind in ("signal", "compare"):
            if len({lit.negated for lit in lits}) == 2:
                return True
        elif kind == "field":
            spec = _spec(kb, name)
            if spec is not None and not _field_sat(spec, lits):
                return True
        elif any(o.negated != lit.negated and o.where == lit.where for lit in groups_a[key] for o in groups_b[key]):
            return True  # exists and not exists of the same facts
    return False


def _implies(a: Rule, b: Rule, kb: KnowledgeBase, shapes: _Shapes) -> bool:
    """Whenever ``a`` holds, ``b`` holds: ``a and not b`` can never hold (proven, not guessed)."""
    if a.subject != b.subject or not _window_within(a, b):
        return False
    left, right = shapes[a.id].pos, shapes[b.id].neg
    if left is None or right is None or len(left) * len(right) > _MAX_BRANCHES:
        return False
    return all(_clash(x, y, kb) for x in left for y in right)


def _can_co_fire(a: Rule, b: Rule, kb: KnowledgeBase, shapes: _Shapes) -> bool:
    if not _windows_overlap(a, b):
        return False
    left, right = shapes[a.id].pos, shapes[b.id].pos
    if left is None or right is None or len(left) * len(right) > _MAX_BRANCHES:
        return True
    return any(not _clash(x, y, kb) for x in left for y in right)


def _bounds(rule: Rule) -> tuple[dt.date, dt.date]:
    eff = rule.effective
    return ((eff.from_ if eff and eff.from_ else dt.date.min), (eff.until if eff and eff.until else dt.date.max))


def _window_within(a: Rule, b: Rule) -> bool:
    (a0, a1), (b0, b1) = _bounds(a), _bounds(b)
    return b0 <= a0 and a1 <= b1


def _windows_overlap(a: Rule, b: Rule) -> bool:
    (a0, a1), (b0, b1) = _bounds(a), _bounds(b)
    return a0 <= b1 and b0 <= a1


def _priorities(rule: Rule) -> dict[str, int]:
    """Outcome id -> the priority it is recommended at."""
    then = rule.then
    out = {o.action: (o.priority if o.priority is not None else rule.priority) for o in then.actions}
    out.update({o.topic: (o.priority if o.priority is not None else rule.priority) for o in then.coaching})
    return out


def _outcome(rule: Rule) -> tuple[Any, ...]:
    then = rule.then
    veto = (frozenset(then.veto.actions), then.veto.all_sales) if then.veto else None
    return (frozenset(_priorities(rule)), frozenset(then.signals), veto)


def _subsumption(rules: Sequence[Rule], kb: KnowledgeBase, locate: Locate,
                 shapes: _Shapes) -> list[tuple[Diagnostic, frozenset[str]]]:
    groups: dict[tuple[Any, ...], list[Rule]] = {}
    for r in rules:
        groups.setdefault((r.subject, _outcome(r)), []).append(r)
    found: list[tuple[Diagnostic, frozenset[str]]] = []
    for group in groups.values():
        ordered = sorted(group, key=lambda r: r.id)
        if len(ordered) < 2:
            continue
        # indexed by what the rules test: literals conflict only with literals of the same name
        # (_key), so a rule that holds somewhere implies only a rule that tests something it tests,
        # or one that always holds
        by_key: dict[tuple[str, str], list[int]] = {}
        always: list[int] = []
        for i, r in enumerate(ordered):
            shape = shapes[r.id]
            if shape.neg is not None and all(conflicting for conflicting, _ in shape.neg):
                always.append(i)  # its `when` always holds
            for key in shape.keys:
                by_key.setdefault(key, []).append(i)
        for i, a in enumerate(ordered):
            shape = shapes[a.id]
            if shape.pos is not None and all(conflicting for conflicting, _ in shape.pos):
                others: Iterable[int] = range(len(ordered))  # never holds: implies anything
            else:
                others = sorted({j for key in shape.keys for j in by_key.get(key, ())} | set(always))
            for j in others:
                b = ordered[j]
                if j == i:
                    continue
                pa, pb = _priorities(a), _priorities(b)
                if any(pa[k] > pb[k] for k in pa) or not _implies(a, b, kb, shapes):
                    continue
                mutual = _implies(b, a, kb, shapes) and pa == pb
                if mutual and a.id < b.id:
                    continue  # equivalent rules: report once, on the later id
                what = "is equivalent to" if mutual else "is subsumed by"
                found.append((Diagnostic(
                    "subsumed_rule", f"rule {what} `{b.id}` ({_where(locate, b.id)}): whenever it fires, "
                    f"`{b.id}` fires too with the same outcome, so it only adds a reason text",
                    locate(a.id, ("when",)), rule_id=a.id, severity="warning",
                    hint=f"delete it, merge its reason into `{b.id}`, or give it a different outcome or priority"),
                    frozenset((a.id, b.id))))
    return found


def _chained(rules: Sequence[Rule]) -> set[frozenset[str]]:
    """Pairs of rules where one fires because of the other (through the signals it asserts): they
    are built to fire together, so sharing an action and a priority is by design."""
    users: dict[str, list[str]] = {}
    for r in rules:
        for name in signals(r.when):
            users.setdefault(name, []).append(r.id)
    asserts = {r.id: r.then.signals for r in rules}
    pairs: set[frozenset[str]] = set()
    for start in asserts:
        stack, seen = [start], {start}
        while stack:
            for name in asserts.get(stack.pop(), ()):
                for user in users.get(name, []):
                    if user not in seen:
                        seen.add(user)
                        stack.append(user)
                        pairs.add(frozenset((start, user)))
    return pairs


def _priority_ties(rules: Sequence[Rule], kb: KnowledgeBase, locate: Locate,
                   skip: set[frozenset[str]], shapes: _Shapes) -> list[Diagnostic]:
    skip = skip | _chained(rules)
    by_item: dict[tuple[str, str, int], list[Rule]] = {}
    for r in rules:
        for item, prio in _priorities(r).items():
            by_item.setdefault((r.subject, item, prio), []).append(r)
    diags = []
    for (_, item, prio), group in sorted(by_item.items()):
        for a, b in itertools.combinations(sorted(group, key=lambda r: r.id), 2):
            if frozenset((a.id, b.id)) in skip or not _can_co_fire(a, b, kb, shapes):
                continue
            diags.append(Diagnostic(
                "same_action_priority", f"`{item}` is also recommended by `{a.id}` ({_where(locate, a.id)}) at "
                f"the same priority {prio}, and both rules can fire together",
                locate(b.id, ("priority",)), rule_id=b.id, severity="warning",
                hint="if one reason is stronger, give it a higher priority; if they say the same, merge them"))
    return diags


def _where(locate: Locate, rule_id: str) -> str:
    loc = locate(rule_id, ())
    return f"{loc.file.rsplit('/', 1)[-1]}:{loc.line}" if loc.file else str(loc)


# ---------------------------------------------------------------------------- parameters


def _units(rule: Rule, kb: KnowledgeBase, locate: Locate) -> list[Diagnostic]:
    diags = []
    for cond, path in fields(rule.when, ("when",)):
        spec = _spec(kb, cond.ref)
        for op, written in cond.ops.items():
            values = written if isinstance(written, (list, tuple)) else [written]
            for v in values:
                param = kb.parameters.get(v[1:]) if isinstance(v, str) and v.startswith("$") else None
                if param is None or spec is None:
                    continue
                want = "day" if op in _RELATIVE else spec.unit
                if want and param.unit and _unit(want) != _unit(param.unit):
                    diags.append(Diagnostic(
                        "parameter_unit", f"`{v}` is in {param.unit} but `{cond.ref}` `{op}` needs {want}",
                        locate(rule.id, path), rule_id=rule.id,
                        hint="use a parameter of the field's unit, or fix the unit in knowledge_base/parameters.yaml"))
    return diags


def _unit(u: str) -> str:
    return u.strip().lower().removesuffix("s")


_DIRECTION = {name: op.direction for name, op in OPERATORS.items() if op.direction}


def _thresholds(rules: Sequence[Rule], kb: KnowledgeBase, locate: Locate) -> list[Diagnostic]:
    """Literal thresholds against parameters used for the same comparison in other rules."""
    params: dict[tuple[str, str], list[tuple[Rule, str]]] = {}
    literals: list[tuple[Rule, str, str, Any, Path]] = []
    for rule in rules:
        for cond, path in fields(rule.when, ("when",)):
            for op, v in cond.ops.items():
                if op not in _DIRECTION:
                    continue
                key = (cond.ref, _DIRECTION[op])
                if isinstance(v, str) and v.startswith("$"):
                    params.setdefault(key, []).append((rule, v))
                else:
                    literals.append((rule, cond.ref, op, v, path))
    diags = []
    for rule, ref, op, value, path in literals:
        for other, name in params.get((ref, _DIRECTION[op]), []):
            param = kb.parameters.get(name[1:])
            if param is None or param.domain not in (rule.domain, "generic"):
                continue
            shared = sorted((set(_priorities(rule)) | set(rule.then.signals)) &
                            (set(_priorities(other)) | set(other.then.signals)))
            if value == param.value:
                why = f"hard-codes {show(value)}, the value of `{name}` that `{other.id}` uses on `{ref}`"
            elif shared:
                why = (f"compares `{ref}` with {show(value)} for `{shared[0]}`, but `{other.id}` decides the same "
                       f"with `{name}` = {show(param.value)}")
            else:
                continue
            diags.append(Diagnostic("threshold_parameter", why, locate(rule.id, (*path, op)), rule_id=rule.id,
                                    severity="warning",
                                    hint=f"write `{name}` so that tuning knowledge_base/parameters.yaml changes "
                                         "both rules"))
            break
    return diags


# ---------------------------------------------------------------------------- texts


def _texts(rule: Rule, locate: Locate, masked: frozenset[str] = frozenset()) -> list[Diagnostic]:
    items: list[tuple[Path, Text]] = [(("title",), rule.title)] if "title" not in masked else []
    if "then" not in masked:
        items += [(("then", "actions", i, "reason"), o.reason) for i, o in enumerate(rule.then.actions)]
        items += [(("then", "coaching", i, "reason"), o.reason) for i, o in enumerate(rule.then.coaching)]
        if rule.then.veto:
            items.append((("then", "veto", "reason"), rule.then.veto.reason))
    diags = []
    for path, text in items:
        for lang in ("zh", "en"):
            problem = _text_problem(getattr(text, lang), lang)
            if problem:
                severity, message = problem
                diags.append(Diagnostic("missing_text", f"the {lang} text {message}",
                                        locate(rule.id, (*path, lang)), rule_id=rule.id, severity=severity,
                                        hint="every title and reason needs its own zh and en text"))
    return diags


def _text_problem(text: str, lang: str) -> tuple[Any, str] | None:
    if not re.search(r"\w", literal_text(text)):
        return "error", "is empty (nothing but placeholders or punctuation)"
    # a placeholder's fallback is read too: it is shown in this language
    bare = " ".join([literal_text(text), *(p.fallback for p in parse(text) if p.fallback)])
    if lang == "zh" and not _CJK.search(bare):
        return "warning", "has no Chinese in it; was the English copied?"
    if lang == "en" and _CJK.search(bare):
        return "warning", "contains Chinese; translate it"
    return None
