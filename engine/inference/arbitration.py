"""Turn rule firings into ranked, merged, vetoed recommendations with explanations.

* Two rules recommending the same action merge into one recommendation carrying both reasons;
  its score is the highest priority among them.
* A veto (risk and compliance rules) removes the actions it names from the recommendations,
  whatever their score, and lists them under ``vetoed`` with ``vetoed_by``.
* Order: score, then number of supporting rules, then id, so ties break deterministically.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rm_advisor.engine.inference.chaining import Firing, InferenceResult, subject_key
from rm_advisor.engine.inference.compiler import CompiledRule, RuleBook
from rm_advisor.engine.inference.conditions import Env
from rm_advisor.engine.language.decision import Reason, Recommendation, RuleTrace, SignalTrace, SubjectDecision
from rm_advisor.engine.language.facts import Fact, FactSet
from rm_advisor.engine.language.templates import fill


@dataclass
class _Explainer:
    book: RuleBook
    facts: FactSet
    result: InferenceResult

    def __post_init__(self) -> None:
        self.rules = self.book.by_id()
        self.firing = {(f.rule_id, f.subject): f for f in self.result.firings}
        self._traces: dict[tuple[str, str], RuleTrace] = {}

    def env(self, subject: str) -> Env:
        subject_type, _, fact_id = subject.partition(":")
        fact = self.facts.get(subject_type, fact_id) or {}
        linked = self.book.kb.one_links(subject_type)
        facts: dict[str, Fact | None] = {subject_type: fact}
        facts.update({t: self.facts.get(t, fact.get(f)) for t, f in linked.items()})
        return Env(facts, self.facts.as_of, self.facts)

    def trace(self, rule_id: str, subject: str) -> RuleTrace:
        key = (rule_id, subject)
        if key not in self._traces:
            rule = self.rules[rule_id]
            matched: dict[str, Any] = {}
            rule.local(self.env(subject), matched)
            firing = self.firing[key]
            related = dict(firing.related)
            for name, ids in list(matched.items()):
                if name.startswith("exists:"):
                    related[name.removeprefix("exists:")] = sorted(set(related.get(name, [])) | set(ids))
                    del matched[name]
            used = [self.signal(n, subject) for n in rule.requires]
            for join in rule.joins:
                for rel in sorted(firing.related.get(join.fact, [])):
                    used += [self.signal(n, rel) for n in join.signals]
            self._traces[key] = RuleTrace(
                rule_id=rule_id, title=rule.rule.title, file=rule.file, line=rule.line,
                priority=rule.rule.priority, provenance=rule.rule.provenance,
                matched={k: _plain(v) for k, v in sorted(matched.items())},
                related={k: sorted(v) for k, v in sorted(related.items()) if v}, signals=used)
        return self._traces[key]

    def signal(self, name: str, subject: str) -> SignalTrace:
        producers = self.result.producers.get((name, subject), [])
        return SignalTrace(signal=name, subject=subject, title=self.book.kb.signals[name].title,
                           asserted_by=[self.trace(r, subject) for r in producers])


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def arbitrate(book: RuleBook, facts: FactSet, result: InferenceResult,
              max_per_subject: int | None = None) -> tuple[list[SubjectDecision], list[SubjectDecision]]:
    """Build the client and manager decisions from an inference result."""
    ex = _Explainer(book, facts, result)
    by_subject: dict[str, list[Firing]] = {}
    for f in result.firings:
        by_subject.setdefault(f.subject, []).append(f)
    out: dict[str, list[SubjectDecision]] = {"client": [], "manager": []}
    for subject_type in ("client", "manager"):
        for fact in facts.subjects(subject_type):
            key = subject_key(subject_type, fact["id"])
            firings = sorted(by_subject.get(key, []), key=lambda f: f.rule_id)
            out[subject_type].append(_decide(ex, subject_type, key, str(fact["id"]), firings, max_per_subject))
    return out["client"], out["manager"]


def _decide(ex: _Explainer, subject_type: str, key: str, fact_id: str, firings: list[Firing],
            limit: int | None) -> SubjectDecision:
    kb = ex.book.kb
    env_facts = {**ex.env(key).facts, "param": {k: p.value for k, p in kb.parameters.items()}}
    recs: dict[str, dict[str, Any]] = {}
    vetoes: dict[str, list[Reason]] = {}
    for f in firings:
        rule: CompiledRule = ex.rules[f.rule_id]
        then = rule.rule.then
        outs = [("action", o.action, o.reason, o.priority) for o in then.actions] + \
               [("coaching", o.topic, o.reason, o.priority) for o in then.coaching]
        for kind, item_id, reason, prio in outs:
            score = prio if prio is not None else rule.rule.priority
            rec = recs.setdefault(item_id, {"kind": kind, "reasons": [], "traces": []})
            rec["reasons"].append(Reason(rule_id=rule.id, text=_fill(reason, env_facts), priority=score))
            rec["traces"].append(ex.trace(rule.id, key))
        if then.veto:
            blocked = set(then.veto.actions)
            if then.veto.all_sales:
                blocked |= {a.id for a in kb.actions.values() if a.sales}
            veto = Reason(rule_id=rule.id, text=_fill(then.veto.reason, env_facts), priority=rule.rule.priority)
            for aid in blocked:
                vetoes.setdefault(aid, []).append(veto)
    kept: list[Recommendation] = []
    vetoed: list[Recommendation] = []
    for item_id, rec in recs.items():
        reasons = sorted(rec["reasons"], key=lambda r: (-r.priority, r.rule_id))
        r = Recommendation(kind=rec["kind"], id=item_id, title=_title(kb, rec["kind"], item_id),
                           score=reasons[0].priority, reasons=reasons,
                           rules=sorted({x.rule_id for x in reasons}), details=_details(kb, rec["kind"], item_id),
                           because=sorted(rec["traces"], key=lambda t: t.rule_id),
                           vetoed_by=sorted(vetoes.get(item_id, []), key=lambda x: x.rule_id))
        (vetoed if r.vetoed_by else kept).append(r)
    order = lambda r: (-r.score, -len(r.rules), r.id)  # noqa: E731
    kept.sort(key=order)
    vetoed.sort(key=order)
    held = sorted({(n, s) for (n, s) in ex.result.producers if s == key})
    return SubjectDecision(subject_type=subject_type, id=fact_id,
                           recommendations=kept[:limit] if limit else kept, vetoed=vetoed,
                           signals=[ex.signal(n, s) for n, s in held])


def _fill(text: Any, facts: Any) -> Any:
    return type(text)(zh=fill(text.zh, facts), en=fill(text.en, facts))


def _title(kb: Any, kind: str, item_id: str) -> Any:
    return (kb.actions if kind == "action" else kb.coaching)[item_id].title


def _details(kb: Any, kind: str, item_id: str) -> dict[str, Any]:
    if kind == "action":
        a = kb.actions[item_id]
        return {"channel": a.channel, "effort": a.effort, "owner_role": a.owner_role, "domain": a.domain,
                "sales": a.sales}
    c = kb.coaching[item_id]
    return {"skill_area": c.skill_area, "formats": list(c.formats), "domain": c.domain}
