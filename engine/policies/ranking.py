"""Ranking the recommended actions of each client by the arbitration formula
(:mod:`engine.policies.arbitration`), with the propensities of a :class:`PropensityTable`.

Pure: it takes the arbitrated subject decisions, the rule set's arbitration, the table (or None) and
each client's segment and manager, and gives the decisions re-ordered with a ``ranking`` on each
action, plus the table cut to the entries it looked up (to record with the decision). With a static
arbitration (no values or levers) and no evidence on the decisions' actions it gives them back
untouched: the decision is the one ranked by score alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rm_advisor.engine.language.decision import Acceptance, Ranking, Recommendation, SubjectDecision
from rm_advisor.engine.language.knowledge import DUTY_KINDS, KnowledgeBase, Text
from rm_advisor.engine.language.propensity import PropensityTable
from rm_advisor.engine.policies.arbitration import Arbitration
from rm_advisor.engine.policies.propensity import acceptance

#: where a client stands for the propensities: (segment, manager id or None)
Standing = tuple[str, str | None]
_Key = tuple[str, str, str | None]


def standing_of(clients: Iterable[Mapping[str, Any]], kb: KnowledgeBase) -> dict[str, Standing]:
    """Each client's segment (as the reports group it) and manager, by client id."""
    return {str(f["id"]): (kb.segment_of("client", f), None if f.get("manager_id") is None else str(f["manager_id"]))
            for f in clients}


def rank(clients: Sequence[SubjectDecision], arbitration: Arbitration, table: PropensityTable | None,
         standing: Mapping[str, Standing], kb: KnowledgeBase) -> tuple[list[SubjectDecision], PropensityTable | None]:
    """The client decisions ranked by the formula, and the part of ``table`` looked up. With no
    values or levers and no evidence on any of the actions, the decisions are given back as they
    came (ranked by score, without a ``ranking``)."""
    if arbitration.static and (table is None or not table.entries):
        return list(clients), None
    used: set[_Key] = set()
    out = []
    for subject in clients:
        segment, manager = standing.get(subject.id, ("-", None))
        recs = [_ranked(r, arbitration, table, segment, manager, subject.id, kb, used)
                for r in subject.recommendations]
        recs.sort(key=lambda r: (-(r.ranking.priority if r.ranking else r.score / 100), -r.score, -len(r.rules), r.id))
        out.append(subject.model_copy(update={"recommendations": recs}))
    if arbitration.static and not used:
        return list(clients), None
    return out, (table.only(used) if table is not None else None)


def _ranked(rec: Recommendation, arbitration: Arbitration, table: PropensityTable | None, segment: str,
            manager: str | None, subject: str, kb: KnowledgeBase, used: set[_Key]) -> Recommendation:
    spec = kb.actions.get(rec.id) if rec.kind == "action" else None
    if spec is None:
        return rec
    w = arbitration.weights
    item = arbitration.value_of(rec.id, spec.kind)
    value, levers = (item.value, item.levers) if item is not None else (1.0, 1.0)
    context = rec.score / 100
    found = _acceptance(rec, arbitration, table, segment, manager, subject, used)
    lift = found.rate / found.prior if found is not None and found.used else 1.0
    duty = spec.kind in DUTY_KINDS
    if duty:  # a duty is never ranked below what its rules call for
        lift = max(lift, 1.0)
    priority = round(context ** w.context * value ** w.value * levers ** w.levers * lift ** w.propensity, 6)
    ranking = Ranking(priority=priority, context=round(context, 4), value=value, levers=levers,
                      propensity=round(lift, 4), acceptance=found,
                      text=_text(priority, context, value, levers, lift, found, duty, item.note if item else None,
                                 kb.segment_text("client", found.segment) if found is not None else None))
    return rec.model_copy(update={"ranking": ranking})


def _acceptance(rec: Recommendation, arbitration: Arbitration, table: PropensityTable | None, segment: str,
                manager: str | None, subject: str, used: set[_Key]) -> Acceptance | None:
    """The acceptance of ``rec``'s action: the manager's own where there is evidence enough, else the segment's."""
    if table is None:
        return None
    settings = arbitration.propensity
    for who in ([manager] if settings.by_manager and manager is not None else []) + [None]:
        evidence = table.lookup(rec.id, segment, who)
        if evidence is None:
            continue
        used.add((rec.id, segment, who))
        if who is not None and evidence.decided < settings.min_decided:
            continue
        return acceptance(evidence, rec.score, settings, table, subject)
    return None


def _text(priority: float, context: float, value: float, levers: float, lift: float, found: Acceptance | None,
          duty: bool, note: Text | None, segment: Text | None = None) -> Text:
    """The formula with its numbers, and the evidence behind the propensity, in both languages."""
    zh = f"排序优先级 {priority:.2f} = 情境 {context:.2f} × 价值 {value:.2f} × 杠杆 {levers:.2f} × 接受倾向 {lift:.2f}"
    en = f"priority {priority:.2f} = context {context:.2f} × value {value:.2f} × levers {levers:.2f} × " \
         f"propensity {lift:.2f}"
    if note is not None:
        zh, en = f"{zh}（{note.zh}）", f"{en} ({note.en})"
    if found is not None:
        who_zh = f"客户经理 {found.manager} 在" if found.manager else ""
        who_en = f" with manager {found.manager}" if found.manager else ""
        how_zh, how_en = ("抽样", "drawn") if found.sampled else ("", "")
        where = segment or Text(zh=found.segment, en=found.segment)
        zh += f"；近 {found.days} 天{who_zh}「{where.zh}」中被接受 {found.accepted}/{found.decided} 次"
        en += f"; accepted {found.accepted} of {found.decided} in {where.en}{who_en} over {found.days} days"
        if found.used:
            zh += f" → 接受率{how_zh} {found.rate:.2f}（规则优先级预期 {found.prior:.2f}）"
            en += f" → propensity {how_en + ' ' if how_en else ''}{found.rate:.2f} (the rules' priority predicts " \
                  f"{found.prior:.2f})"
        else:
            zh += "，已决定的次数不足，排序不变"
            en += ", too few decided to move the rank"
    if duty and lift == 1.0 and found is not None and found.used and found.rate < found.prior:
        zh += "；风险或义务事项不因接受率降低排序"
        en += "; a risk or obligation action is not ranked lower for it"
    return Text(zh=zh, en=en)
