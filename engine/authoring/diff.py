"""What changed between two decisions on the same facts: per subject and item, readable lines.

Used to replay a logged decision (same revision: there should be no change; current revision: what a
rule change did). A coaching item's card is compared whole. Of the traces, only the evidence is
compared (matched values, related facts, signals): rule file names and line numbers change when a
rule moves, which changes no decision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel

from rm_advisor.engine.language.decision import Decision, Recommendation, SubjectDecision
from rm_advisor.engine.language.subjects import SubjectKey

What = Literal["subject", "added", "removed", "outcome", "rank", "score", "rules", "reasons", "vetoed_by",
               "suppressed_by", "trace", "signals", "card", "to_confirm"]


class Change(BaseModel):
    """One difference: about a subject, or about one item (action or coaching topic) of it."""

    subject: str
    item: str | None = None
    what: What
    before: str | None = None
    after: str | None = None

    def format(self) -> str:
        where = f"{self.subject} {self.item}" if self.item else self.subject
        return f"{where}: {self.what}: {self.before or '-'} -> {self.after or '-'}"


@dataclass(frozen=True)
class _Item:
    outcome: str
    rank: int
    score: int
    rules: tuple[str, ...]
    reasons: tuple[tuple[str, str, str], ...]
    vetoed_by: tuple[str, ...]
    suppressed_by: tuple[str, ...]
    trace: Any
    card: Any = None  # a coaching card, as JSON

    def label(self) -> str:
        where = f"{self.outcome} #{self.rank}" if self.outcome == "recommended" else self.outcome
        why = self.suppressed_by or self.vetoed_by
        return f"{where} [{self.score}]" + (f" by {', '.join(why)}" if why else "")


def diff_decisions(before: Decision, after: Decision) -> list[Change]:
    """Every difference between two decisions, by subject then item."""
    old, new = _subjects(before), _subjects(after)
    out: list[Change] = []
    for key in sorted(old.keys() | new.keys()):
        if key not in new or key not in old:
            out.append(Change(subject=key, what="subject", before="present" if key in old else None,
                              after="present" if key in new else None))
            continue
        out.extend(_subject_changes(key, old[key], new[key]))
    return out


def _subjects(d: Decision) -> dict[str, SubjectDecision]:
    return {str(SubjectKey(s.subject_type, s.id)): s for s in [*d.clients, *d.managers]}


def _subject_changes(key: str, a: SubjectDecision, b: SubjectDecision) -> list[Change]:
    out: list[Change] = []
    signals_a, signals_b = sorted({s.signal for s in a.signals}), sorted({s.signal for s in b.signals})
    if signals_a != signals_b:
        out.append(Change(subject=key, what="signals", before=", ".join(signals_a), after=", ".join(signals_b)))
    asked_a, asked_b = _asked(a), _asked(b)
    if asked_a != asked_b:
        out.append(Change(subject=key, what="to_confirm", before="; ".join(asked_a) or None,
                          after="; ".join(asked_b) or None))
    items_a, items_b = _items(a), _items(b)
    for item in sorted(items_a.keys() | items_b.keys()):
        x, y = items_a.get(item), items_b.get(item)
        if x is None or y is None:
            out.append(Change(subject=key, item=item, what="added" if x is None else "removed",
                              before=x.label() if x else None, after=y.label() if y else None))
        else:
            out.extend(_item_changes(key, item, x, y))
    return out


def _item_changes(key: str, item: str, x: _Item, y: _Item) -> list[Change]:
    if x.outcome != y.outcome:
        return [Change(subject=key, item=item, what="outcome", before=x.label(), after=y.label())]
    out = []
    fields: tuple[What, ...] = ("rank", "score", "rules", "vetoed_by", "suppressed_by")
    for what in fields:
        va, vb = getattr(x, what), getattr(y, what)
        if va != vb:
            out.append(Change(subject=key, item=item, what=what, before=_text(va), after=_text(vb)))
    if x.reasons != y.reasons:
        out.append(Change(subject=key, item=item, what="reasons", before=_reasons(x), after=_reasons(y)))
    if x.card != y.card:
        out.append(Change(subject=key, item=item, what="card", before=_card(x.card), after=_card(y.card)))
    if x.trace != y.trace and x.rules == y.rules:
        out.append(Change(subject=key, item=item, what="trace", before="matched facts or signals differ",
                          after="see the two decisions"))
    return out


def _asked(s: SubjectDecision) -> list[str]:
    """What the subject is asked to confirm, in rank: ``client.capital_strength -> review_strategic_tier [50]``."""
    return [" + ".join(f"{f.fact}.{f.field}" for f in t.fields) + " -> "
            + ", ".join(f"{u.id} [{u.score}]" for u in t.unlocks) for t in s.to_confirm]


def _items(s: SubjectDecision) -> dict[str, _Item]:
    out: dict[str, _Item] = {}
    for outcome, recs in (("recommended", s.recommendations), ("vetoed", s.vetoed), ("suppressed", s.suppressed)):
        for rank, rec in enumerate(recs, 1):
            out[rec.id] = _item(outcome, rank, rec)
    return out


def _item(outcome: str, rank: int, rec: Recommendation) -> _Item:
    return _Item(outcome=outcome, rank=rank, score=rec.score, rules=tuple(rec.rules),
                 reasons=tuple((r.rule_id, r.text.zh, r.text.en) for r in rec.reasons),
                 vetoed_by=tuple(sorted({v.rule_id for v in rec.vetoed_by})),
                 suppressed_by=tuple(sorted({p.policy_id for p in rec.suppressed_by})),
                 trace=_evidence([t.model_dump(mode="json") for t in rec.because]),
                 card=rec.card.model_dump(mode="json") if rec.card is not None else None)


#: Parts of a rule trace that describe the rule rather than what it matched (changes to them show
#: up as score, reason or rule changes, or not at all when a rule only moved in its file).
_RULE_PARTS = ("file", "line", "priority", "title", "provenance")


def _evidence(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _evidence(v) for k, v in obj.items() if k not in _RULE_PARTS}
    if isinstance(obj, list):
        return [_evidence(v) for v in obj]
    return obj


def _card(card: Any) -> str | None:
    """A coaching card in one line: the metric and value, the team benchmark, the next behaviour."""
    if card is None:
        return None
    bench = card.get("benchmark")
    team = (f"team {bench.get('median', bench.get('share_pct'))} ({bench['basis']}, {bench['managers']} managers)"
            if bench else "no team")
    nxt = card["next_behaviour"]
    return f"{card['metric']['field']}={card['metric'].get('value')}; {team}; {nxt['form']}: {nxt['text']['en']}"


def _text(v: Any) -> str:
    return ", ".join(v) if isinstance(v, tuple) else str(v)


def _reasons(i: _Item) -> str:
    return " | ".join(en for _, _, en in i.reasons)
