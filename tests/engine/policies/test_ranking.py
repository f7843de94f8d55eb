"""engine/policies/ranking.py: propensities move ranks (only with evidence enough, never a duty's
down), are explained, are recorded with the decision, and recover the truly better actions from a
simulation of managers' feedback."""

from __future__ import annotations

import datetime as dt
import random

import yaml

from rm_advisor.engine import Advisor
from rm_advisor.engine.inference.book import load_rule_book
from rm_advisor.engine.language.feedback import FeedbackEvent
from rm_advisor.engine.language.propensity import PropensityTable
from rm_advisor.engine.policies.effectiveness import ItemRecord
from rm_advisor.engine.policies.propensity import build_table
from tests.helpers import KB_FILES, Doc, action, client, rule, rule_text

DAY = dt.date(2026, 11, 30)
RULES = (
    rule("t.care", {"client.is_key": True}, {"actions": [action("relationship_care")]}, priority=60),
    rule("t.referral", {"client.is_key": True}, {"actions": [action("ask_for_referral")]}, priority=55),
    rule("t.review", {"client.is_key": True}, {"actions": [action("monopoly_compliance_review")]}, priority=50),
)
ARBITRATION = {"propensity": {"enabled": True, "min_decided": 20, "window_days": 60, "half_life_days": 21}}


def _advisor(arbitration: Doc = ARBITRATION) -> Advisor:
    return Advisor(load_rule_book({"rules/test.yaml": rule_text(*RULES),
                                   "rules/arbitration.yaml": yaml.safe_dump(arbitration)}, KB_FILES))


def _clients(segment_class: str, n: int = 1) -> Doc:
    return {"clients": [client(f"{segment_class}{i}", is_key=True, client_class=segment_class) for i in range(n)]}


def simulate(truth: dict[tuple[str, str], float], weeks: int, per_day: int = 3,
             seed: int = 11) -> tuple[list[ItemRecord], list[FeedbackEvent]]:
    """Managers answering every recommended action with a known acceptance rate per action and
    segment (``truth``), every working day for ``weeks`` weeks before :data:`DAY`; each answer is
    dated the day after its decision."""
    rng = random.Random(seed)
    items: list[ItemRecord] = []
    feedback: list[FeedbackEvent] = []
    start = DAY - dt.timedelta(weeks=weeks)
    for day in (start + dt.timedelta(days=d) for d in range(weeks * 7)):
        if day.weekday() >= 5:
            continue
        for (item, segment), rate in sorted(truth.items()):
            for k in range(per_day):
                n = len(items)
                items.append(ItemRecord(decision_id=f"d{n}", as_of=day, subject_type="client", subject_id=f"C{k}",
                                        item_id=item, manager_id="M1", segment=segment))
                ok = rng.random() < rate
                feedback.append(FeedbackEvent(decision_id=f"d{n}", subject_id=f"C{k}", item_id=item,
                                              status="accepted" if ok else "rejected",
                                              reason_code=None if ok else "client_not_interested",
                                              date=day + dt.timedelta(days=1)))
    return items, feedback


TRUTH = {("relationship_care", "tobacco/B"): 0.15, ("ask_for_referral", "tobacco/B"): 0.75,
         ("relationship_care", "tobacco/A"): 0.7, ("ask_for_referral", "tobacco/A"): 0.2,
         ("monopoly_compliance_review", "tobacco/B"): 0.05, ("monopoly_compliance_review", "tobacco/A"): 0.05}


def _order(adv: Advisor, facts: Doc, table: PropensityTable | None) -> list[str]:
    return [r.id for r in adv.decide(facts, as_of=DAY, propensities=table).clients[0].recommendations]


def test_the_learned_ranking_recovers_the_truly_better_actions_from_simulated_feedback() -> None:
    adv = _advisor()
    settings = adv.book.arbitration.propensity
    by_score = ["relationship_care", "ask_for_referral", "monopoly_compliance_review"]
    assert _order(adv, _clients("B"), None) == by_score
    # one week is too little evidence to move a rank (15 decided per action and segment < 20) ...
    items, feedback = simulate(TRUTH, weeks=1)
    assert _order(adv, _clients("B"), build_table(items, feedback, DAY, settings)) == by_score
    # ... six weeks are enough: in B-class the referral is truly better, in A-class the care
    items, feedback = simulate(TRUTH, weeks=6)
    table = build_table(items, feedback, DAY, settings)
    # (and the other, rarely accepted there, falls below the compliance review)
    assert _order(adv, _clients("B"), table) == ["ask_for_referral", "monopoly_compliance_review",
                                                 "relationship_care"]
    assert _order(adv, _clients("A"), table) == ["relationship_care", "monopoly_compliance_review",
                                                 "ask_for_referral"]
    # the compliance review is rejected nearly always, and still not ranked below its score's place
    recs = adv.decide(_clients("B"), as_of=DAY, propensities=table).clients[0].recommendations
    review = next(r.ranking for r in recs if r.id == "monopoly_compliance_review")
    assert review is not None and review.acceptance is not None and review.acceptance.rate < 0.2
    assert review.propensity == 1.0 and review.priority == 0.5


def test_the_explanation_says_what_was_accepted_and_the_decision_records_what_it_looked_up() -> None:
    adv = _advisor()
    items, feedback = simulate(TRUTH, weeks=6)
    table = build_table(items, feedback, DAY, adv.book.arbitration.propensity)
    decision = adv.decide(_clients("B"), as_of=DAY, propensities=table)
    top = decision.clients[0].recommendations[0]
    assert top.ranking is not None and top.ranking.acceptance is not None
    a = top.ranking.acceptance
    assert (a.segment, a.decided, a.days, a.prior, a.used) == ("tobacco/B", 90, 60, 0.55, True)
    assert f"accepted {a.accepted} of 90 in tobacco class B over 60 days → propensity {a.rate:.2f} " \
           "(the rules' priority predicts 0.55)" in top.ranking.text.en
    assert f"近 60 天「烟草 B类」中被接受 {a.accepted}/90 次 → 接受率 {a.rate:.2f}" in top.ranking.text.zh
    review = next(r.ranking for r in decision.clients[0].recommendations if r.id == "monopoly_compliance_review")
    assert review is not None and "a risk or obligation action is not ranked lower for it" in review.text.en
    assert decision.propensities is not None
    assert {(e.action, e.segment) for e in decision.propensities.entries} == \
        {(item, "tobacco/B") for item in ("relationship_care", "ask_for_referral", "monopoly_compliance_review")}
    # the recorded entries alone rank the decision the same way (what a replay passes back)
    again = adv.decide(_clients("B"), as_of=DAY, propensities=decision.propensities)
    assert again == decision


def test_evidence_below_the_minimum_is_shown_but_moves_nothing() -> None:
    adv = _advisor()
    items, feedback = simulate(TRUTH, weeks=1)
    decision = adv.decide(_clients("B"), as_of=DAY, propensities=build_table(items, feedback, DAY,
                                                                             adv.book.arbitration.propensity))
    care = decision.clients[0].recommendations[0]
    assert care.ranking is not None and care.ranking.propensity == 1.0
    assert care.ranking.text.en.endswith("over 60 days, too few decided to move the rank")
    assert care.ranking.text.zh.endswith("已决定的次数不足，排序不变")


def test_without_evidence_on_its_actions_a_decision_is_ranked_by_score_and_unchanged() -> None:
    adv = _advisor()
    items, feedback = simulate({("promote_key_brands", "tobacco/B"): 0.9}, weeks=6)
    table = build_table(items, feedback, DAY, adv.book.arbitration.propensity)
    assert adv.decide(_clients("B"), as_of=DAY, propensities=table) == adv.decide(_clients("B"), as_of=DAY)


def test_by_manager_uses_the_managers_own_evidence_where_there_is_enough() -> None:
    adv = _advisor({"propensity": {**ARBITRATION["propensity"], "by_manager": True}})
    items, feedback = simulate(TRUTH, weeks=6)
    table = build_table(items, feedback, DAY, adv.book.arbitration.propensity)
    top = adv.decide(_clients("B"), as_of=DAY, propensities=table).clients[0].recommendations[0]
    assert top.id == "ask_for_referral" and top.ranking is not None and top.ranking.acceptance is not None
    assert top.ranking.acceptance.manager == "M1" and "with manager M1" in top.ranking.text.en


def test_exploration_is_reproduced_from_the_table_seed() -> None:
    adv = _advisor({"propensity": {**ARBITRATION["propensity"], "explore": True}})
    items, feedback = simulate(TRUTH, weeks=6)
    settings = adv.book.arbitration.propensity
    first = adv.decide(_clients("B", 5), as_of=DAY, propensities=build_table(items, feedback, DAY, settings, "d-1"))
    same = adv.decide(_clients("B", 5), as_of=DAY, propensities=build_table(items, feedback, DAY, settings, "d-1"))
    assert first == same
    rates = {r.ranking.acceptance.rate for c in first.clients for r in c.recommendations
             if r.ranking and r.ranking.acceptance and r.id == "ask_for_referral"}
    assert len(rates) == 5  # one draw per client


def test_a_weekly_cap_keeps_the_actions_ranked_highest() -> None:
    cap = {"policies": [{"id": "weekly", "kind": "client_weekly_cap", "max": 2,
                         "title": {"zh": "每周上限", "en": "weekly cap"}}]}
    adv = Advisor(load_rule_book({"rules/test.yaml": rule_text(*RULES), "rules/arbitration.yaml":
                                  yaml.safe_dump(ARBITRATION), "rules/cap.policies.yaml": yaml.safe_dump(cap)},
                                 KB_FILES))
    items, feedback = simulate(TRUTH, weeks=6)
    table = build_table(items, feedback, DAY, adv.book.arbitration.propensity)
    by_score = adv.decide(_clients("B"), as_of=DAY, history=[]).clients[0]
    assert [r.id for r in by_score.recommendations] == ["relationship_care", "monopoly_compliance_review"]
    learned = adv.decide(_clients("B"), as_of=DAY, history=[], propensities=table).clients[0]
    # the duty takes its slot first; the other goes to the action ranked higher, not the one scored higher
    assert [r.id for r in learned.recommendations] == ["ask_for_referral", "monopoly_compliance_review"]
    assert [r.id for r in learned.suppressed] == ["relationship_care"]
