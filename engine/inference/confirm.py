"""What to confirm: the missing facts that would bring an action or coaching topic if known.

A rule that did not fire may have failed only because values were not on file: a voiced financing
need whose reporting status nobody recorded, a strong client whose capital strength is missing. For
each subject, :func:`to_confirm` lists those gaps, worst first, as ``SubjectDecision.to_confirm``.

A rule counts when, for the subject:

* it is of the subject's domain (or ``generic``) and in effect on the as-of date, and did not fire;
* it recommends an action or coaching topic that no rule that fired already recommends or vetoes;
* its signal conditions hold and it joins no related facts (a signal that does not hold is not a
  missing value);
* every condition that stands in its way is a comparison written with ``unknown: ask`` whose value
  is missing, on the subject or a fact linked to it (its manager), never inside ``exists`` (the
  checker refuses ``ask`` there and under ``not``);
* at most :data:`MAX_FIELDS` fields are missing for it.

Each rule is compiled once into a *probe* (:func:`compile_probe`) that evaluates its fact conditions
exactly as the gate does and returns ``True`` (they hold), ``False`` (they fail on something a
confirmation cannot change) or the missing fields that stand in the way, each with the comparison
it must pass. Through ``any`` the branch needing the fewest fields is taken; ``not`` of a comparison
on a missing value holds (it is not asked for). Before running a probe, a rule whose askable fields
are all given is skipped, which keeps the cost per subject to a few dictionary look-ups per rule.

Rules unlocked by the same fields form one item; items rank by the best score they unlock, then the
number of actions and topics, then the fewest fields, then the field names; a decision keeps the
first ``limit`` (:data:`MAX_TO_CONFIRM` by default, ``Advisor(max_to_confirm=...)``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from rm_advisor.engine.inference.conditions import Env, compile_condition
from rm_advisor.engine.language.decision import ConfirmField, ToConfirm, Unlock
from rm_advisor.engine.language.knowledge import FieldSpec, KnowledgeBase, Text, resolve
from rm_advisor.engine.language.operators import field_holds, operator, show
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
    NotCond,
    Rule,
    SignalCond,
)
from rm_advisor.engine.language.walk import Path, ScopedVisitor, walk

if TYPE_CHECKING:
    from rm_advisor.engine.inference.compiler import CompiledRule

#: at most this many items in a subject's ``to_confirm`` (``Advisor(max_to_confirm=...)`` sets another)
MAX_TO_CONFIRM = 5
#: a rule that needs more missing fields than this is not offered (the gap is too wide to be one question)
MAX_FIELDS = 3


@dataclass(frozen=True)
class Need:
    """A missing field that stands in a rule's way, with the comparison its value must pass."""

    ref: str
    ops: tuple[tuple[str, Any, Any], ...]  # (operator, as written, resolved)

    def text(self, spec: FieldSpec, named: bool = True) -> Text:
        """``Capital strength is strong`` / ``资金实力为实力强`` (``strong`` / ``为实力强`` unnamed): an
        enum value reads by its label, a yes-or-no field ``yes`` / ``是``, other comparisons as the
        operators say them."""
        en = " and ".join(_value_text(op, arg, "en", spec) for op, _, arg in self.ops)
        zh = "且".join(_value_text(op, arg, "zh", spec) for op, _, arg in self.ops)
        if not named:
            return Text(en=en.removeprefix("is "), zh=zh)
        return Text(en=f"{spec.description.en} {en}", zh=f"{spec.description.zh}{zh}")


def _value_text(op: str, arg: Any, lang: Literal["en", "zh"], spec: FieldSpec) -> str:
    if op == "eq" and isinstance(arg, bool):
        return ("is yes" if arg else "is no") if lang == "en" else ("为是" if arg else "为否")
    shown = _shown(arg, lang, spec)  # a `$parameter` by its value: the manager asked knows no parameter names
    if op == "eq":
        return f"is {shown}" if lang == "en" else f"为{shown}"
    return operator(op).describe(shown, lang, arg)


def _shown(value: Any, lang: Literal["en", "zh"], spec: FieldSpec) -> str:
    """A value as a reader says it: an enum value by its label, a list of them joined by "or"."""
    if isinstance(value, (list, tuple)) and spec.type == "enum":
        return (" or " if lang == "en" else "或").join(_shown(v, lang, spec) for v in value)
    label = spec.label(value)
    return str(getattr(label, lang)) if label is not None else show(value)


#: what a probe finds: the conditions hold (True), fail for good (False), or fail on these missing values only
Found = bool | tuple[Need, ...]
Probe = Callable[[Env], Found]


@dataclass(frozen=True)
class ConfirmProbe:
    """A rule's fact conditions as a probe, and the fields whose missing value it may ask for."""

    probe: Probe
    #: the fields written with ``unknown: ask`` (outside ``not`` and ``exists``), as (fact, field)
    asks: tuple[tuple[str, str], ...]

    def may_ask(self, env: Env) -> bool:
        """Some field this rule may ask for is missing for the subject in ``env`` (a cheap first test)."""
        facts = env.facts
        for fact, name in self.asks:
            holder = facts.get(fact)
            if holder is not None and holder.get(name) is None:
                return True
        return False


def compile_probe(rule: Rule, conditions: list[Condition], kb: KnowledgeBase, joins: bool) -> ConfirmProbe | None:
    """The probe of a rule's fact conditions (its gate), or None when nothing missing could ever be
    asked for it: it recommends nothing, joins related facts, or has no ``unknown: ask`` condition."""
    if joins or not (rule.then.actions or rule.then.coaching):
        return None
    refs = sorted({n.cond.ref for c in conditions for n in walk(c, scope=rule.subject)
                   if isinstance(n.cond, FieldCond) and not n.negated and n.scope == rule.subject
                   and n.cond.unknown == "ask"})
    if not refs:
        return None
    parts = [_Probes(kb, rule.subject).visit(c) for c in conditions]
    return ConfirmProbe(_all(parts), tuple((r.partition(".")[0], r.partition(".")[2]) for r in refs))


class _Probes(ScopedVisitor[Probe]):
    """A condition tree as a probe (``outer``: the rule's subject, whose ``exists`` relate to it)."""

    def all_(self, cond: AllCond, path: Path) -> Probe:
        return _all(self.each(cond, path))

    def any_(self, cond: AnyCond, path: Path) -> Probe:
        parts = self.each(cond, path)

        def any_of(env: Env) -> Found:
            best: tuple[Need, ...] | None = None
            for part in parts:
                found = part(env)
                if found is True:
                    return True
                if found is not False and (best is None or len(found) < len(best)):
                    best = found
            return best if best is not None else False
        return any_of

    def not_(self, cond: NotCond, path: Path) -> Probe:
        inner = self.visit(cond.not_)
        return lambda env: inner(env) is not True  # a comparison failing on a missing value: the `not` holds

    def exists(self, cond: ExistsCond, path: Path) -> Probe:
        test = compile_condition(cond, self.kb, self.outer)  # related facts are not asked about
        return lambda env: test(env, None)

    def events(self, cond: EventsCond, path: Path) -> Probe:
        test = compile_condition(cond, self.kb, self.outer)  # history is not asked about
        return lambda env: test(env, None)

    def linked(self, cond: LinkedCond, path: Path) -> Probe:
        test = compile_condition(cond, self.kb, self.outer)  # linked clients are not asked about
        return lambda env: test(env, None)

    def deadline(self, cond: DeadlineCond, path: Path) -> Probe:
        test = compile_condition(cond, self.kb, self.outer)  # `unknown: ask` is refused on a `deadline`
        return lambda env: test(env, None)

    def compare(self, cond: CompareCond, path: Path) -> Probe:
        test = compile_condition(cond, self.kb, self.outer)  # `unknown: ask` is refused on a `compare`
        return lambda env: test(env, None)

    def signal(self, cond: SignalCond, path: Path) -> Probe:
        raise ValueError("signals are matched by the Rete network, not by probes")

    def field(self, cond: FieldCond, path: Path) -> Probe:
        ref, unknown = cond.ref, cond.unknown
        fact, _, name = ref.partition(".")
        written = sorted(cond.ops.items())
        tests = [(operator(op), resolve(v, self.kb)) for op, v in written]
        need = (Need(ref, tuple((op, v, resolve(v, self.kb)) for op, v in written)),)
        asks = unknown == "ask"

        def field_(env: Env) -> Found:
            holder = env.facts.get(fact)
            value = holder.get(name) if holder is not None else None
            if field_holds(tests, value, env.as_of, unknown):
                return True
            return need if value is None and holder is not None and asks else False
        return field_


def _all(parts: list[Probe]) -> Probe:
    def all_of(env: Env) -> Found:
        needs: list[Need] = []
        for part in parts:
            found = part(env)
            if found is False:
                return False
            if found is not True:
                needs.extend(found)
        return tuple(needs) if needs else True
    return all_of


def missing_needs(rule: CompiledRule, env: Env) -> list[Need] | None:
    """The missing fields (one need each) that alone keep ``rule``'s fact conditions from holding for
    the subject in ``env``; None when they hold, or fail on something a confirmation cannot change."""
    probe = rule.confirm
    found = probe.probe(env) if probe is not None else False
    return None if isinstance(found, bool) else _merge(found)


@dataclass(frozen=True)
class _Draft:
    """An action or topic a rule would unlock, before it is written out (only the items kept are)."""

    kind: Literal["action", "coaching"]
    id: str
    title: Text
    score: int
    rule_id: str
    needs: tuple[Need, ...]


@dataclass
class _Item:
    refs: tuple[str, ...]
    drafts: list[_Draft]

    def rank(self) -> tuple[Any, ...]:
        return (-max(d.score for d in self.drafts), -len({d.id for d in self.drafts}), len(self.refs), self.refs)


def to_confirm(rules: Iterable[CompiledRule], kb: KnowledgeBase, env: Env, domain: str | None, as_of: dt.date,
               fired: Collection[str], held: Collection[str], taken: Collection[str],
               limit: int = MAX_TO_CONFIRM) -> list[ToConfirm]:
    """The missing facts that would bring advice for one subject (``env``), best first.

    ``rules`` are the rules about the subject's type; ``fired`` the ids of those that fired for it,
    ``held`` its signals, ``taken`` the actions and topics already recommended or vetoed for it.
    """
    if limit <= 0:
        return []
    items: dict[tuple[str, ...], _Item] = {}
    for rule in rules:
        probe = rule.confirm
        if (probe is None or rule.rule.domain not in ("generic", domain) or not probe.may_ask(env)
                or rule.id in fired or not rule.active_on(as_of) or not all(s in held for s in rule.requires)
                or any(s in held for s in rule.forbids)):
            continue
        needs = missing_needs(rule, env)
        if needs is None or len(needs) > MAX_FIELDS:
            continue
        drafts = _drafts(rule, kb, taken, tuple(needs))
        if drafts:
            refs = tuple(sorted(n.ref for n in needs))
            items.setdefault(refs, _Item(refs, [])).drafts.extend(drafts)
    return [_item(i, kb) for i in sorted(items.values(), key=_Item.rank)[:limit]]


def _merge(needs: tuple[Need, ...]) -> list[Need]:
    """One need per field, in the order met, with every comparison the field must pass."""
    by_ref: dict[str, list[tuple[str, Any, Any]]] = {}
    for need in needs:
        ops = by_ref.setdefault(need.ref, [])
        ops.extend(op for op in need.ops if op not in ops)
    return [Need(ref, tuple(ops)) for ref, ops in by_ref.items()]


def _drafts(rule: CompiledRule, kb: KnowledgeBase, taken: Collection[str], needs: tuple[Need, ...]) -> list[_Draft]:
    then, default = rule.rule.then, rule.rule.priority
    outs: list[tuple[Literal["action", "coaching"], str, Text, int | None]] = [
        *(("action", o.action, kb.actions[o.action].title, o.priority) for o in then.actions),
        *(("coaching", o.topic, kb.coaching[o.topic].title, o.priority) for o in then.coaching)]
    return [_Draft(kind, item_id, title, prio if prio is not None else default, rule.id, needs)
            for kind, item_id, title, prio in outs if item_id not in taken]


def _spec(kb: KnowledgeBase, ref: str) -> FieldSpec:
    fact, _, name = ref.partition(".")
    return kb.facts[fact].fields[name]


def _item(item: _Item, kb: KnowledgeBase) -> ToConfirm:
    """The item written out: its fields, what it unlocks (best first, each with what the values must
    be) and its text."""
    fields = [ConfirmField(fact=ref.partition(".")[0], field=ref.partition(".")[2],
                           description=_spec(kb, ref).description) for ref in item.refs]
    ranked: list[tuple[Unlock, Text]] = []
    for d in sorted(item.drafts, key=lambda d: (-d.score, d.id, d.rule_id)):
        texts = [n.text(_spec(kb, n.ref)) for n in d.needs]
        when = _join(texts, " and ", "且")
        short = when if len(d.needs) > 1 else d.needs[0].text(_spec(kb, d.needs[0].ref), named=False)
        ranked.append((Unlock(kind=d.kind, id=d.id, title=d.title, score=d.score, rule_id=d.rule_id, when=when),
                       short))
    unlocks = [u for u, _ in ranked]
    return ToConfirm(fields=fields, unlocks=unlocks, score=unlocks[0].score, text=_text(fields, ranked))


def _text(fields: list[ConfirmField], unlocks: list[tuple[Unlock, Text]]) -> Text:
    """"Confirm Capital strength: if strong, “Review for the strategic tier” (50) applies"."""
    by_when: dict[Text, list[Unlock]] = {}
    for u, short in unlocks:
        by_when.setdefault(short, []).append(u)
    en, zh = [], []
    for when, group in by_when.items():
        seen = list(dict.fromkeys(u.id for u in group))
        best = {i: next(u for u in group if u.id == i) for i in seen}
        en.append(f"if {when.en}, " + " and ".join(f"“{best[i].title.en}” ({best[i].score})" for i in seen)
                  + (" applies" if len(seen) == 1 else " apply"))
        zh.append(f"若{when.zh}，适用" + "、".join(f"「{best[i].title.zh}」（{best[i].score}）" for i in seen))
    names = _join([f.description for f in fields], " and ", "、")
    return Text(en=f"Confirm {names.en}: " + "; ".join(en), zh=f"请确认{names.zh}：" + "；".join(zh))


def _join(texts: list[Text], en: str, zh: str) -> Text:
    return Text(en=en.join(t.en for t in texts), zh=zh.join(t.zh for t in texts))

