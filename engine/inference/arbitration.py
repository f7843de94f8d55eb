"""Turn rule firings into ranked, merged, vetoed recommendations with explanations.

* Two rules recommending the same action merge into one recommendation carrying both reasons;
  its score is the highest priority among them.
* A veto (risk and compliance rules) removes the actions it names from the recommendations,
  whatever their score, and lists them under ``vetoed`` with ``vetoed_by``.
* One cause, one recommendation: actions of one group of ``knowledge_base/alternatives.yaml``
  recommended together become one — the group's first action present, scored as the most urgent
  of them — with the others as its ``alternatives`` and their reasons and rules merged into it (a
  vetoed action is not folded: it stays under ``vetoed``).
* Order: score, then number of supporting rules, then id, so ties break deterministically.
* ``to_confirm``: the missing facts that would bring more advice if known
  (:mod:`engine.inference.confirm`), leaving out what the rules that fired already recommend or veto.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from rm_advisor.engine.inference.chaining import Firing, InferenceResult
from rm_advisor.engine.inference.compiler import CompiledRule, RuleBook
from rm_advisor.engine.inference.conditions import UNKNOWN_KEY, Env, subject_env
from rm_advisor.engine.inference.confirm import MAX_TO_CONFIRM, to_confirm
from rm_advisor.engine.language.deadlines import TRACE_KEY as DEADLINE_KEY
from rm_advisor.engine.language.deadlines import placeholder_values
from rm_advisor.engine.language.decision import (
    Alternative,
    DerivedField,
    Reason,
    Recommendation,
    RuleTrace,
    SignalTrace,
    SubjectDecision,
    ToConfirm,
)
from rm_advisor.engine.language.facts import FactSet
from rm_advisor.engine.language.knowledge import FieldSpec, KnowledgeBase, Text
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.language.templates import parse, render, show


@dataclass
class _Traces:
    """Rule and signal traces of one inference result, each built once from the firings' match traces."""

    book: RuleBook
    facts: FactSet
    result: InferenceResult

    def __post_init__(self) -> None:
        self.rules = self.book.by_id()
        self.firing = {(f.rule_id, f.subject): f for f in self.result.firings}
        self._traces: dict[tuple[str, SubjectKey], RuleTrace] = {}
        self._signals: dict[tuple[str, SubjectKey], SignalTrace] = {}
        self._sources: dict[SubjectKey, dict[str, tuple[str, ...]]] = {}
        # what each rule recommends or vetoes is the same in every decision: kept with the book
        self._taken: dict[str, frozenset[str]] = self.book.cached("arbitration.taken", dict)
        self._outcomes: dict[str, _Outcomes] = self.book.cached("arbitration.outcomes", dict)

    def rule(self, rule_id: str, subject: SubjectKey) -> RuleTrace:
        key = (rule_id, subject)
        if key not in self._traces:
            self._traces[key] = self._rule_trace(self.firing[key])
        return self._traces[key]

    def _rule_trace(self, firing: Firing) -> RuleTrace:
        rule = self.rules[firing.rule_id]
        matched: dict[str, Any] = {}
        unknown: dict[str, Any] = {}
        related = {fact: [str(k) for k in keys] for fact, keys in firing.related.items()} if firing.related else {}
        for k, v in firing.matched.items():  # one pass: the values, what missing ones counted as, exists
            if ":" not in k:  # a field (``client.tier``): every prefixed key has a colon
                matched[k] = v
            elif k.startswith("exists:"):
                related[k[len("exists:"):]] = sorted(set(v))
            elif k.startswith(UNKNOWN_KEY):
                unknown[k[len(UNKNOWN_KEY):]] = v
            elif not k.startswith(DEADLINE_KEY):
                matched[k] = v
        sourced = self._sourced(firing.subject)
        derived = {ref: list(sourced[ref]) for ref in matched if ref in sourced} if sourced else {}
        used = [self.signal(n, firing.subject) for n in rule.requires] if rule.requires else []
        for join in rule.joins:
            for rel in sorted(firing.related.get(join.name, [])):
                used += [self.signal(n, rel) for n in join.signals]
        return RuleTrace.trusted(rule_id=rule.id, title=rule.rule.title, file=rule.file, line=rule.line,
                                 priority=rule.rule.priority, provenance=rule.rule.provenance,
                                 matched={k: _plain(v) for k, v in sorted(matched.items())},
                                 related={k: sorted(v) for k, v in sorted(related.items()) if v} if related else {},
                                 signals=used, derived=derived,
                                 unknown=dict(sorted(unknown.items())) if unknown else {})

    def _sourced(self, subject: SubjectKey) -> dict[str, tuple[str, ...]]:
        """For ``subject``'s rules, the fields (``client.days_since_last_visit``, or a field of its
        manager) history derived, each with the events it derived them from (a field without events
        left out); once per subject."""
        sourced = self._sources.get(subject)
        if sourced is None:
            sourced = self._sources[subject] = {}
            if self.facts.sources:
                fact = self.facts.get(subject.type, subject.id) or {}
                holders: list[tuple[str, SubjectKey]] = [(subject.type, subject)]
                for fact_type, link in self.book.kb.one_links(subject.type).items():
                    if fact_type != subject.type and link and fact.get(link) is not None:
                        holders.append((fact_type, SubjectKey.of(fact_type, fact[link])))
                for fact_type, holder in holders:
                    for name, ids in self.facts.sources.get(holder, {}).items():
                        if ids:
                            sourced[f"{fact_type}.{name}"] = tuple(ids)
        return sourced

    def taken(self, rule_id: str) -> frozenset[str]:
        """The actions and topics a rule recommends or vetoes (once per rule)."""
        if rule_id not in self._taken:
            outs, blocked, _ = self.outcomes(rule_id)
            self._taken[rule_id] = frozenset({item_id for _, item_id, *_ in outs} | (blocked or set()))
        return self._taken[rule_id]

    def outcomes(self, rule_id: str) -> _Outcomes:
        """A rule's actions and topics (kind, id, reason template, score, and the reason itself when
        its template has no placeholder to fill), what its veto blocks (None: no veto) and its veto's
        reason when that has none either; worked out once per rule."""
        if rule_id not in self._outcomes:
            rule = self.rules[rule_id].rule
            then, default = rule.then, rule.priority
            outs: list[_Outcome] = []
            items: list[tuple[Literal["action", "coaching"], str, Text, int | None]] = [
                *(("action", o.action, o.reason, o.priority) for o in then.actions),
                *(("coaching", o.topic, o.reason, o.priority) for o in then.coaching)]
            for kind, item_id, reason, priority in items:
                score = priority if priority is not None else default
                outs.append((kind, item_id, reason, score, _fixed(rule_id, reason, score)))
            blocked, veto = None, None
            if then.veto:
                blocked = set(then.veto.actions)
                if then.veto.all_sales:
                    blocked |= {a.id for a in self.book.kb.actions.values() if a.sales}
                veto = _fixed(rule_id, then.veto.reason, rule.priority)
            self._outcomes[rule_id] = (outs, blocked, veto)
        return self._outcomes[rule_id]

    def signal(self, name: str, subject: SubjectKey) -> SignalTrace:
        key = (name, subject)
        if key not in self._signals:
            producers = self.result.producers.get(key, [])
            self._signals[key] = SignalTrace.trusted(signal=name, subject=str(subject),
                                                     title=self.book.kb.signals[name].title,
                                                     asserted_by=[self.rule(r, subject) for r in producers])
        return self._signals[key]


#: an action or topic a rule recommends: kind, id, reason template, score, the reason when fixed
_Outcome = tuple[Literal["action", "coaching"], str, Text, int, "Reason | None"]
#: a rule's outcomes, what its veto blocks (None: no veto), its veto's reason when fixed
_Outcomes = tuple[list[_Outcome], "set[str] | None", "Reason | None"]


def _fixed(rule_id: str, text: Text, priority: int) -> Reason | None:
    """The reason of a template without placeholders — the same for every firing (filling it gives
    the template itself) — else None."""
    if parse(text.zh) or parse(text.en):
        return None
    return Reason(rule_id=rule_id, text=text, priority=priority)


@dataclass
class _Candidate:
    """An action or coaching topic some rules recommend for one subject, before ranking and vetoes."""

    kind: Literal["action", "coaching"]
    id: str
    reasons: list[Reason] = field(default_factory=list)
    traces: list[RuleTrace] = field(default_factory=list)


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def arbitrate(book: RuleBook, facts: FactSet, result: InferenceResult, max_per_subject: int | None = None,
              max_to_confirm: int = MAX_TO_CONFIRM) -> tuple[list[SubjectDecision], list[SubjectDecision]]:
    """Build the client and manager decisions from an inference result (``to_confirm``: at most
    ``max_to_confirm`` items per subject, none with 0)."""
    traces = _Traces(book, facts, result)
    by_subject: dict[SubjectKey, list[Firing]] = {}
    for f in result.firings:
        by_subject.setdefault(f.subject, []).append(f)
    held: dict[SubjectKey, set[str]] = {}
    for name, subject in result.producers:
        held.setdefault(subject, set()).add(name)
    params = {k: p.value for k, p in book.kb.parameters.items()}
    out: dict[str, list[SubjectDecision]] = {"client": [], "manager": []}
    for subject_type in ("client", "manager"):
        probed = [r for r in book.for_subject(subject_type) if r.confirm is not None]
        in_domain: dict[Any, list[CompiledRule]] = {}  # the probed rules a subject of a domain may ask about
        for fact in facts.subjects(subject_type):
            key = SubjectKey.of(subject_type, fact["id"])
            firings = sorted(by_subject.get(key, []), key=lambda f: f.rule_id)
            env = subject_env(book.kb, facts, subject_type, fact)
            decided = _decide(traces, key, {**env.facts, "param": params}, firings, max_per_subject,
                              sorted(held.get(key, ())))
            domain = fact.get("domain")
            if domain not in in_domain:
                in_domain[domain] = [r for r in probed if r.rule.domain in ("generic", domain)]
            if max_to_confirm > 0 and in_domain[domain]:
                asks = _to_confirm(traces, in_domain[domain], env, domain, firings, held.get(key, set()),
                                   max_to_confirm)
                decided = decided.model_copy(update={"to_confirm": asks}) if asks else decided
            out[subject_type].append(decided)
    return out["client"], out["manager"]


def _to_confirm(traces: _Traces, rules: list[CompiledRule], env: Env, domain: str | None, firings: list[Firing],
                held: set[str], limit: int) -> list[ToConfirm]:
    """What to confirm for one subject, leaving out what the rules that fired already recommend or veto."""
    taken: set[str] = set()
    for f in firings:
        taken |= traces.taken(f.rule_id)
    return to_confirm(rules, traces.book.kb, env, domain, env.as_of, {f.rule_id for f in firings}, held, taken,
                      limit)


def _decide(traces: _Traces, key: SubjectKey, env: dict[str, Any], firings: list[Firing],
            limit: int | None, held: list[str]) -> SubjectDecision:
    kb = traces.book.kb
    candidates: dict[str, _Candidate] = {}
    vetoes: dict[str, list[Reason]] = {}
    for f in firings:
        rule = traces.rules[f.rule_id]
        outs, blocked, fixed_veto = traces.outcomes(rule.id)
        facts: dict[str, Any] | None = None
        for kind, item_id, reason, score, fixed in outs:
            if fixed is None:
                facts = facts if facts is not None else _reason_facts(env, f, kb)
                fixed = Reason(rule_id=rule.id, text=_fill(reason, facts, kb), priority=score)
            candidate = candidates.get(item_id)
            if candidate is None:
                candidate = candidates[item_id] = _Candidate(kind, item_id)
            candidate.reasons.append(fixed)
            candidate.traces.append(traces.rule(rule.id, key))
        if blocked is not None and rule.rule.then.veto is not None:
            veto = fixed_veto
            if veto is None:
                facts = facts if facts is not None else _reason_facts(env, f, kb)
                veto = Reason(rule_id=rule.id, text=_fill(rule.rule.then.veto.reason, facts, kb),
                              priority=rule.rule.priority)
            for aid in blocked:
                vetoes.setdefault(aid, []).append(veto)
    kept: list[Recommendation] = []
    vetoed: list[Recommendation] = []
    for c in candidates.values():
        reasons = sorted(c.reasons, key=lambda r: (-r.priority, r.rule_id))
        r = Recommendation(kind=c.kind, id=c.id, title=_title(kb, c.kind, c.id),
                           score=reasons[0].priority, reasons=reasons,
                           rules=sorted({x.rule_id for x in reasons}), details=_details(kb, c.kind, c.id),
                           because=sorted(c.traces, key=lambda t: t.rule_id),
                           vetoed_by=sorted(vetoes.get(c.id, []), key=lambda x: x.rule_id))
        (vetoed if r.vetoed_by else kept).append(r)
    kept = _fold_alternatives(kb, kept)
    order = lambda r: (-r.score, -len(r.rules), r.id)  # noqa: E731
    kept.sort(key=order)
    vetoed.sort(key=order)
    return SubjectDecision(subject_type=key.type, id=key.id,
                           recommendations=kept[:limit] if limit else kept, vetoed=vetoed,
                           signals=[traces.signal(n, key) for n in held], derived=_derived(traces, key))


def _reason_facts(env: dict[str, Any], firing: Firing, kb: KnowledgeBase) -> dict[str, Any]:
    """What a firing's reason templates are filled from: the subject's facts and parameters, and
    ``{deadline.*}``, the firing's own deadline."""
    ahead = placeholder_values(firing.matched, kb)
    return {**env, "deadline": ahead} if ahead else env


def _fold_alternatives(kb: KnowledgeBase, recs: list[Recommendation]) -> list[Recommendation]:
    """Recommendations of one alternatives group folded into the best of them (see the module doc)."""
    by_group: dict[str, list[Recommendation]] = {}
    for r in recs:
        group = kb.alternative_group(r.id) if r.kind == "action" else None
        if group is not None:
            by_group.setdefault(group.id, []).append(r)
    folded: dict[str, Recommendation] = {}
    dropped: set[str] = set()
    for gid, members in by_group.items():
        if len(members) < 2:
            continue
        group = kb.alternatives[gid]
        first, *others = sorted(members, key=lambda r: group.actions.index(r.id))
        reasons = sorted([*first.reasons, *(x for o in others for x in o.reasons)],
                         key=lambda x: (-x.priority, x.rule_id))
        folded[first.id] = first.model_copy(update={
            "score": reasons[0].priority, "reasons": reasons, "rules": sorted({x.rule_id for x in reasons}),
            "because": sorted([*first.because, *(t for o in others for t in o.because)], key=lambda t: t.rule_id),
            "alternatives": [Alternative(id=o.id, title=o.title, score=o.score, rules=o.rules) for o in others],
            "cause": group.title})
        dropped |= {o.id for o in others}
    return [folded.get(r.id, r) for r in recs if r.id not in dropped]


def _derived(traces: _Traces, key: SubjectKey) -> list[DerivedField]:
    """The subject's fields that came from history, each saying from which events."""
    fact = traces.facts.get(key.type, key.id) or {}
    fields = traces.book.kb.facts[key.type].fields
    out = []
    for name, events in sorted(traces.facts.sources.get(key, {}).items()):
        value = fact.get(name)
        out.append(DerivedField(field=name, value=_plain(value), events=list(events),
                                text=_derived_text(fields[name], value, events)))
    return out


def _derived_text(spec: FieldSpec, value: Any, events: tuple[str, ...]) -> Text:
    """How a derived field reads: its value as a person reads it (a label, yes or no, a number), and
    where it came from."""
    title = spec.description
    shown = ", ".join(events[:5]) + ("…" if len(events) > 5 else "")
    if value is None:
        return Text(zh=f"{title.zh}：未知（本期没有可据以计算的记录）",
                    en=f"{title.en}: unknown (no events to go on in its period)")
    zh, en = show(value, spec, "zh"), show(value, spec, "en")
    if not events:
        return Text(zh=f"{title.zh}：{zh}（由其他字段计算）",
                    en=f"{title.en}: {en} (worked out from other fields)")
    return Text(zh=f"{title.zh}：{zh}（由 {len(events)} 条历史记录计算：{shown}）",
                en=f"{title.en}: {en} (from {len(events)} history event(s): {shown})")


def _fill(text: Text, facts: dict[str, Any], kb: KnowledgeBase) -> Text:
    """A reason template filled in both languages, with the fact schema's labels."""
    return Text(zh=render(text.zh, facts, "zh", kb).text, en=render(text.en, facts, "en", kb).text)


def _title(kb: Any, kind: str, item_id: str) -> Any:
    return (kb.actions if kind == "action" else kb.coaching)[item_id].title


def _details(kb: Any, kind: str, item_id: str) -> dict[str, Any]:
    if kind == "action":
        a = kb.actions[item_id]
        return {"channel": a.channel, "effort": a.effort, "owner_role": a.owner_role, "domain": a.domain,
                "action_kind": a.kind, "sales": a.sales}
    c = kb.coaching[item_id]
    return {"skill_area": c.skill_area, "formats": list(c.formats), "domain": c.domain}
