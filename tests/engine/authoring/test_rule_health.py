"""engine/authoring/rule_health.py: what the log suggests changing in a noisy rule, with the counts."""

from __future__ import annotations

from rm_advisor.engine import Advisor
from rm_advisor.engine.authoring import Observation, rule_health
from rm_advisor.engine.policies import RateRow, Thresholds

RULE = "bank.keep_regular_contact"  # client.days_since_last_visit > $bank_contact_interval_days (30)
FIELD = "client.days_since_last_visit"


def _row(rejected: int, accepted: int, reason: str | None = "wrong_timing") -> RateRow:
    decided = rejected + accepted
    return RateRow(key=RULE, recommended=decided, answered=decided, accepted=accepted, rejected=rejected, done=0,
                   snoozed=0, acceptance_rate=accepted / decided, rejection_rate=rejected / decided,
                   completion_rate=0.0, top_reason=reason)


def _seen(values: list[int], state: str) -> list[Observation]:
    return [Observation(rule_id=RULE, state=state, matched={FIELD: v}) for v in values]


def _rules(advisor: Advisor) -> dict[str, tuple[object, str, int]]:
    return {r.id: (r.rule, r.file, r.line) for r in advisor.book.by_id().values()}


def test_a_threshold_is_tightened_to_the_least_strict_value_the_log_supports(advisor: Advisor) -> None:
    # rejected when the last visit was 31..40 days ago (4 each), accepted at 60..62 days (2 each)
    seen = _seen([v for v in range(31, 41) for _ in range(4)], "rejected") + _seen([60, 60, 61, 61, 62, 62], "done")
    seen += _seen([35], "snoozed")  # undecided: not counted
    [health] = rule_health([_row(40, 6)], _rules(advisor), seen, advisor.book.kb, Thresholds())  # type: ignore[arg-type]
    assert (health.rule_id, health.priority) == (RULE, 30) and health.file.endswith("bank.yaml") and health.line > 0
    tighten, lower = health.suggestions
    assert tighten.kind == "tighten_threshold"
    assert tighten.condition == f"{FIELD} > $bank_contact_interval_days (30)"
    # "> c" keeps 4 x (40 - c) rejected and the 6 accepted: below 80% rejected once 40 - c < 6, so from c = 35
    # (20 of 26, 77%); "> 34" keeps 24 of 30 (80%), not below
    assert tighten.proposed == f"{FIELD} > 35"
    assert (tighten.decided, tighten.rejected) == (46, 40)
    assert (tighten.decided_after, tighten.rejected_after) == (26, 20)
    assert tighten.text.en == (f"tighten {FIELD} > $bank_contact_interval_days (30) to {FIELD} > 35: 20 of the 26 "
                               "decided recommendations there were rejected (77%), against 40 of 46 (87%) now")
    assert "收紧" in tighten.text.zh and "77%" in tighten.text.zh
    assert lower.kind == "lower_priority" and (lower.decided, lower.rejected) == (46, 40)
    reason = advisor.book.kb.feedback_reasons["wrong_timing"].title
    assert reason.en in lower.text.en and reason.zh in lower.text.zh and "wrong_timing" not in lower.text.en


def test_no_threshold_is_proposed_when_no_value_the_log_shows_would_do(advisor: Advisor) -> None:
    seen = _seen([45] * 10, "rejected") + _seen([45], "accepted")  # one value: nothing stricter is seen
    [health] = rule_health([_row(10, 1, reason=None)], _rules(advisor), seen, advisor.book.kb)  # type: ignore[arg-type]
    [lower] = health.suggestions
    assert lower.kind == "lower_priority" and "none given" in lower.text.en and "未填写" in lower.text.zh


def test_a_stricter_threshold_must_keep_enough_decided_recommendations(advisor: Advisor) -> None:
    seen = _seen([31] * 20, "rejected") + _seen([70, 71], "accepted")  # only 2 decided beyond 31: below min_decided 5
    [health] = rule_health([_row(20, 2)], _rules(advisor), seen, advisor.book.kb)  # type: ignore[arg-type]
    assert [s.kind for s in health.suggestions] == ["lower_priority"]
    looser = Thresholds(min_decided=2)
    [health] = rule_health([_row(20, 2)], _rules(advisor), seen, advisor.book.kb, looser)  # type: ignore[arg-type]
    assert health.suggestions[0].proposed == f"{FIELD} > 31"


def test_a_noisy_rule_the_rule_set_no_longer_has_is_left_out(advisor: Advisor) -> None:
    gone = _row(10, 0).model_copy(update={"key": "bank.renamed_since"})
    assert rule_health([gone], _rules(advisor), [], advisor.book.kb) == []  # type: ignore[arg-type]
