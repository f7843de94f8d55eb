"""Rule health: what an author could change in a rule that fires often and is nearly always rejected.

The effectiveness report (:mod:`engine.policies.effectiveness`) names the *noisy* rules: recommended
at least ``min_recommended`` times in a period, at least ``min_decided`` of them decided, rejected at
least ``min_rejection_rate`` of the time. For each, this module says what the log supports:

* **tighten a threshold.** For each numeric threshold the rule tests on its subject at the top of its
  ``when`` (``client.overdue_days: {ge: 30}``; a ``$parameter`` counts with its value), the decided
  recommendations are split by the value the rule matched. The least strict threshold, among the
  values seen, that keeps at least ``min_decided`` decided recommendations and brings their rejection
  rate below ``min_rejection_rate`` is proposed, with the counts before and after ("raise to >= 45:
  3 of the 12 decided rejected (25%), against 38 of 40 (95%) now"). No such value, no proposal;
* **lower the priority.** Always said for a noisy rule, with its counts and the reason managers give
  most, since a rule that is right but not urgent loses its place to better advice that way.

Only the log's numbers are used: nothing here guesses a threshold the log does not show.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rm_advisor.engine.language.knowledge import KnowledgeBase, Text, resolve
from rm_advisor.engine.language.operators import describe_op, operator
from rm_advisor.engine.language.rules import FieldCond, Rule
from rm_advisor.engine.language.walk import conjuncts
from rm_advisor.engine.messages import N_, in_both
from rm_advisor.engine.policies.effectiveness import RateRow, State, Thresholds

SuggestionKind = Literal["tighten_threshold", "lower_priority"]


class Observation(BaseModel):
    """One shown recommendation of a rule, how it settled, and the fact values the rule matched."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    state: State | None = None
    matched: dict[str, Any] = Field(default_factory=dict, description="fact.field -> value the rule looked at")


class Suggestion(BaseModel):
    """One change to a noisy rule, with the counts of the log that support it."""

    model_config = ConfigDict(frozen=True)

    kind: SuggestionKind
    text: Text
    condition: str | None = Field(default=None, description="the threshold as the rule has it (tighten_threshold)")
    proposed: str | None = Field(default=None, description="the threshold proposed (tighten_threshold)")
    decided: int = Field(description="decided recommendations of the rule now (accepted, done or rejected)")
    rejected: int = Field(description="rejected of those")
    decided_after: int | None = Field(default=None, description="decided recommendations the proposal keeps")
    rejected_after: int | None = Field(default=None, description="rejected of those")


class RuleHealth(BaseModel):
    """A noisy rule, where it is written, its rates and what the log suggests changing."""

    model_config = ConfigDict(frozen=True)

    rule_id: str
    title: Text
    file: str
    line: int
    priority: int
    rates: RateRow
    suggestions: list[Suggestion]


_DECIDED: frozenset[str] = frozenset({"accepted", "done", "rejected"})
_TIGHTEN = N_("tighten {condition} to {proposed}: {rejected_after} of the {decided_after} decided recommendations "
              "there were rejected ({rate_after}), against {rejected} of {decided} ({rate}) now")
_LOWER = N_("lower the priority (now {priority}): rejected {rejected} of {decided} decided recommendations "
            "({rate}); reason given most: {reason}")
_NO_REASON = N_("none given")
_OLD_REASON = N_("a reason no longer in the catalogue")


def rule_health(noisy: Iterable[RateRow], rules: Mapping[str, tuple[Rule, str, int]],
                observations: Iterable[Observation], kb: KnowledgeBase,
                thresholds: Thresholds | None = None) -> list[RuleHealth]:
    """The noisy rules (rows of :attr:`EffectivenessReport.noisy_rules`) with suggestions.

    ``rules``: rule id -> (rule, file, line) of the rule set the report is read against; a noisy
    rule it lacks (renamed or removed since) is left out. ``observations``: the shown recommendations
    of those rules in the report's period, with the values each matched."""
    limits = thresholds or Thresholds()
    seen: dict[str, list[Observation]] = {}
    for o in observations:
        if o.state in _DECIDED:
            seen.setdefault(o.rule_id, []).append(o)
    out = []
    for row in noisy:
        if row.key not in rules:
            continue
        rule, file, line = rules[row.key]
        decided = seen.get(row.key, [])
        tightened = [s for cond in _thresholds(rule, kb) if (s := _tighten(cond, decided, limits)) is not None]
        out.append(RuleHealth(rule_id=rule.id, title=rule.title, file=file, line=line, priority=rule.priority,
                              rates=row, suggestions=[*tightened, _lower(rule, row, kb)]))
    return out


def _thresholds(rule: Rule, kb: KnowledgeBase) -> list[tuple[str, str, Any, Any]]:
    """``(field ref, operator, operand as written, its value)`` for each one-operator numeric threshold
    (above or below) on the rule's subject among the top-level conjuncts of ``when``."""
    found = []
    for cond, _ in conjuncts(rule.when):
        if not isinstance(cond, FieldCond) or not cond.ref.startswith(f"{rule.subject}.") or len(cond.ops) != 1:
            continue
        (op, written), = cond.ops.items()
        value = resolve(written, kb)
        if operator(op).direction in ("above", "below") and _number(value):
            found.append((cond.ref, op, written, value))
    return found


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _tighten(threshold: tuple[str, str, Any, Any], decided: list[Observation],
             limits: Thresholds) -> Suggestion | None:
    ref, op, written, value = threshold
    pairs = [(o.matched[ref], o.state == "rejected") for o in decided if _number(o.matched.get(ref))]
    if not pairs:
        return None
    above = operator(op).direction == "above"
    holds = operator(op).scalar
    today = dt.date.min  # thresholds on numbers do not read the date
    # stricter candidates in the order they cut more: the least strict first
    candidates = sorted({v for v, _ in pairs if (v > value if above else v < value)}, reverse=not above)
    rejected_now = sum(r for _, r in pairs)
    for candidate in candidates:
        kept = [r for v, r in pairs if holds(v, candidate, today)]
        if len(kept) < limits.min_decided:
            break  # stricter still keeps fewer
        if sum(kept) / len(kept) < limits.min_rejection_rate:
            condition = f"{ref} {describe_op(op, written, value)}"
            proposed = f"{ref} {describe_op(op, candidate, candidate)}"
            counts = {"rejected_after": sum(kept), "decided_after": len(kept), "rejected": rejected_now,
                      "decided": len(pairs)}
            text = Text(**in_both(_TIGHTEN, condition=condition, proposed=proposed,
                                  rate_after=_percent(sum(kept), len(kept)), rate=_percent(rejected_now, len(pairs)),
                                  **counts))
            return Suggestion(kind="tighten_threshold", text=text, condition=condition, proposed=proposed, **counts)
    return None


def _lower(rule: Rule, row: RateRow, kb: KnowledgeBase) -> Suggestion:
    decided = row.accepted + row.rejected
    reason: Text | dict[str, str] = in_both(_NO_REASON)
    if row.top_reason is not None:
        spec = kb.feedback_reasons.get(row.top_reason)
        reason = spec.title if spec is not None else in_both(_OLD_REASON)
    text = Text(**in_both(_LOWER, priority=rule.priority, rejected=row.rejected, decided=decided,
                          rate=_percent(row.rejected, decided), reason=reason))
    return Suggestion(kind="lower_priority", text=text, decided=decided, rejected=row.rejected)


def _percent(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "-"
