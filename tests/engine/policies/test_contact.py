"""engine/policies/contact.py: contact policies are checked like rules and hold back what they forbid."""

from __future__ import annotations

import datetime as dt
import functools
import json
from pathlib import Path

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from rm_advisor.engine import Advisor, RuleError
from rm_advisor.engine.inference.book import check_rules, load_rule_book
from rm_advisor.engine.language.decision import Decision, SubjectDecision
from rm_advisor.engine.language.feedback import FeedbackEvent
from rm_advisor.engine.language.knowledge import FeedbackStatus
from rm_advisor.engine.policies.contact import policy_file_json_schema
from tests.conftest import ROOT
from tests.helpers import KB, KB_FILES, Doc, action, client, duty, holdable, rule, rule_text, subject_of

AS_OF = dt.date(2026, 11, 25)  # a Wednesday: its week began on Monday 2026-11-23
NET = {"client.network_client": False}
RULE_LIST = [
    rule("t.network", NET, {"actions": [action("guide_to_network_ordering")]}, priority=70),
    rule("t.settle", NET, {"actions": [action("promote_e_settlement")]}, priority=60),
    rule("t.counter", NET, {"actions": [action("counter_placement")]}, priority=50),
    rule("t.urge", NET, {"actions": [action("phone_clerk_urge_order")]}, priority=45),
    rule("t.crm", NET, {"actions": [action("reevaluate_client_in_crm")]}, priority=40),
]
RULES = rule_text(*RULE_LIST)
TITLE = {"zh": "策略", "en": "policy"}


def policies(*items: Doc) -> str:
    return yaml.safe_dump({"policies": [{"title": TITLE, **p} for p in items]}, allow_unicode=True)


def advisor(*items: Doc) -> Advisor:
    return _advisor(policies(*items))


@functools.cache
def _advisor(policy_text: str) -> Advisor:  # compiling is the slow part: once per policy set
    return Advisor(load_rule_book({"rules/t.yaml": RULES, "rules/t.policies.yaml": policy_text}, KB_FILES))


def event(subject: str, item: str, status: FeedbackStatus = "rejected", date: dt.date = AS_OF,
          reason: str | None = None, until: dt.date | None = None, decision: str = "d-1") -> FeedbackEvent:
    reason = reason if reason is not None or status != "rejected" else "client_not_interested"
    return FeedbackEvent(decision_id=decision, subject_id=subject, item_id=item, status=status,
                         reason_code=reason, date=date, until=until)


def facts(*ids: str) -> Doc:
    return {"as_of": AS_OF.isoformat(), "clients": [client(i, network_client=False) for i in ids]}


def kept(decision: Decision, cid: str = "C1") -> list[str]:
    return [r.id for r in subject_of(decision, "client", cid).recommendations]


def held(decision: Decision, cid: str = "C1") -> dict[str, list[str]]:
    return {r.id: [s.policy_id for s in r.suppressed_by] for r in subject_of(decision, "client", cid).suppressed}


REST = {"id": "rest", "kind": "suppress_after", "statuses": ["rejected"], "days": 30}
ALL = ["guide_to_network_ordering", "promote_e_settlement", "counter_placement", "phone_clerk_urge_order",
       "reevaluate_client_in_crm"]


# ---------------------------------------------------------------- checking

def test_shipped_policies_check_clean_and_are_loaded_with_the_rules(advisor: Advisor) -> None:
    ids = {p.id for p in advisor.book.policies.policies}
    assert {"rest_after_rejection", "client_weekly_contacts", "counter_placement_weekly_volume"} <= ids


def test_policy_file_problems_are_located_coded_and_suggest_fixes() -> None:
    text = policies(
        {"id": "a", "kind": "suppress_after", "statuses": ["rejected"], "days": 30, "reasons": ["wrong_timng"]},
        {"id": "a", "kind": "action_volume_cap", "action": "counter_placment", "max": 5},
        {"id": "c", "kind": "client_weekly_cap", "max": 3, "chanels": ["visit"]},
    )
    diags = check_rules({"rules/t.yaml": RULES, "rules/t.policies.yaml": text}, KB)
    lines = [i for i, line in enumerate(text.splitlines(), 1)]

    def at(needle: str, nth: int = 0) -> int:
        return [i for i, line in zip(lines, text.splitlines(), strict=True) if needle in line][nth]

    got = {(d.code, d.location.file, d.location.line): d for d in diags}
    assert set(got) == {("unknown_reason_code", "rules/t.policies.yaml", at("wrong_timng")),
                        ("unknown_action", "rules/t.policies.yaml", at("counter_placment")),
                        ("duplicate_policy_id", "rules/t.policies.yaml", at("id: a", 1)),
                        ("schema_violation", "rules/t.policies.yaml", at("chanels"))}
    hints = {code: d.hint for (code, _, _), d in got.items()}
    assert hints["unknown_reason_code"] == "did you mean `wrong_timing`?"
    assert hints["unknown_action"] == "did you mean `counter_placement`?"
    assert hints["schema_violation"] == "did you mean `channels`?"


def test_a_policy_file_that_is_not_yaml_gets_its_syntax_error_only() -> None:
    diags = check_rules({"rules/t.yaml": RULES, "rules/t.policies.yaml": "policies:\n  - id: x\n    kind: [\n"}, KB)
    assert [(d.code, d.location.line) for d in diags] == [("yaml_syntax", 4)]


def test_a_policy_without_a_kind_or_with_a_wrong_one_says_which_kinds_there_are() -> None:
    text = policies({"id": "a", "statuses": ["rejected"], "days": 30}, {"id": "b", "kind": "suppress_aftr", "days": 3})
    diags = check_rules({"rules/t.yaml": RULES, "rules/t.policies.yaml": text}, KB)
    kind_line = next(i for i, line in enumerate(text.splitlines(), 1) if "suppress_aftr" in line)
    assert [(d.code, d.location.line, d.message, d.hint) for d in diags][1:] == [
        ("schema_violation", kind_line,
         "`kind: suppress_aftr` at policies.1 is not one of suppress_after, client_weekly_cap, action_volume_cap",
         "did you mean `suppress_after`?")]
    assert diags[0].message == "missing key `kind` at policies.0" and "which kind" in diags[0].hint


def test_a_policy_set_to_hold_back_risk_or_obligation_actions_is_refused() -> None:
    text = policies(REST | {"holds_back": ["service", "risk", "obligation"]},
                    {"id": "vol", "kind": "action_volume_cap", "action": "collect_overdue_loan", "max": 5},
                    {"id": "cap", "kind": "client_weekly_cap", "max": 3, "holds_back": ["sales"]})
    diags = check_rules({"rules/t.yaml": RULES, "rules/t.policies.yaml": text}, KB)
    found = [(d.code, d.rule_id, d.location.line, d.message) for d in diags]

    def at(needle: str) -> int:
        return next(i for i, line in enumerate(text.splitlines(), 1) if line.endswith(needle))

    assert found == [
        ("policy_holds_back_duty", "rest", at("- risk"), "policy `rest` may not hold back `risk` actions"),
        ("policy_holds_back_duty", "rest", at("- obligation"), "policy `rest` may not hold back `obligation` actions"),
        ("policy_holds_back_duty", "vol", at("action: collect_overdue_loan"),
         "policy `vol` caps `collect_overdue_loan`, an action of kind `obligation`")]
    assert all("only snoozed to a date" in d.hint for d in diags)
    with pytest.raises(RuleError):
        load_rule_book({"rules/t.yaml": RULES, "rules/t.policies.yaml": text}, KB_FILES)


def test_a_bad_policy_file_stops_the_whole_rule_set_from_loading() -> None:
    bad = policies({"id": "x", "kind": "client_weekly_cap", "max": -1})
    with pytest.raises(RuleError) as exc:
        load_rule_book({"rules/t.yaml": RULES, "rules/t.policies.yaml": bad}, KB_FILES)
    assert [d.code for d in exc.value.diagnostics] == ["schema_violation"]
    assert exc.value.diagnostics[0].location.file == "rules/t.policies.yaml"


def test_policies_count_in_the_revision() -> None:
    assert advisor(REST).revision != advisor(REST | {"days": 31}).revision


def test_policy_schema_matches_the_committed_file() -> None:
    committed = json.loads((ROOT / "rules" / "policies.schema.json").read_text(encoding="utf-8"))
    assert committed == policy_file_json_schema(), "run `rm-advisor policies schema --out rules/policies.schema.json`"


# ---------------------------------------------------------------- suppress_after

def test_without_history_no_policy_applies() -> None:
    a = advisor(REST, {"id": "cap", "kind": "client_weekly_cap", "max": 1})
    assert kept(a.decide(facts("C1"))) == ALL
    assert kept(a.decide(facts("C1"), history=[event("C1", "promote_e_settlement")])) == \
        ["guide_to_network_ordering"]


def test_a_rejected_action_rests_for_the_policy_days_then_returns() -> None:
    a = advisor(REST)
    history = [event("C1", "promote_e_settlement", date=AS_OF - dt.timedelta(days=29))]
    decision = a.decide(facts("C1", "C2"), history=history)
    assert held(decision) == {"promote_e_settlement": ["rest"]}
    suppression = subject_of(decision, "client", "C1").suppressed[0].suppressed_by[0]
    assert suppression.until == AS_OF + dt.timedelta(days=1)
    assert suppression.feedback == history and "client_not_interested" not in suppression.text.en
    assert "Client not interested" in suppression.text.en and "客户不感兴趣" in suppression.text.zh
    assert kept(decision, "C2") == ALL  # another client's rejection does not count
    later = [event("C1", "promote_e_settlement", date=AS_OF - dt.timedelta(days=30))]
    assert held(a.decide(facts("C1"), history=later)) == {}


def test_feedback_dated_after_the_as_of_date_is_ignored() -> None:
    a = advisor(REST)
    assert held(a.decide(facts("C1"), history=[event("C1", "promote_e_settlement",
                                                     date=AS_OF + dt.timedelta(days=1))])) == {}


def test_a_rest_and_a_weekly_slot_run_from_the_feedbacks_own_date() -> None:
    # a `done` answering an older decision, dated after that decision's as-of: it rests the item from
    # its own date, and takes a weekly slot in its own week, never before its date
    a = advisor({"id": "rest_done", "kind": "suppress_after", "statuses": ["done"], "days": 14},
                {"id": "cap", "kind": "client_weekly_cap", "max": 1})
    done = [event("C1", "promote_e_settlement", "done", date=AS_OF + dt.timedelta(days=5), decision="d-older")]
    on = AS_OF + dt.timedelta(days=5)  # Monday 2026-11-30: a new week
    assert held(a.decide(facts("C1") | {"as_of": str(AS_OF)}, history=done)) == \
        {"promote_e_settlement": ["cap"], "counter_placement": ["cap"], "phone_clerk_urge_order": ["cap"],
         "reevaluate_client_in_crm": ["cap"]}  # on the 25th: not done yet, no slot taken, only the cap's own
    decision = a.decide(facts("C1") | {"as_of": str(on)}, history=done)  # the done took the week's one slot
    assert kept(decision) == [] and held(decision)["promote_e_settlement"] == ["rest_done"]
    assert held(decision)["guide_to_network_ordering"] == ["cap"]
    [rest] = [p for r in subject_of(decision, "client", "C1").suppressed for p in r.suppressed_by
              if p.policy_id == "rest_done"]
    assert rest.until == on + dt.timedelta(days=14)
    last_day = a.decide(facts("C1") | {"as_of": str(on + dt.timedelta(days=13))}, history=done)
    assert held(last_day)["promote_e_settlement"] == ["rest_done"]
    assert kept(last_day) == ["guide_to_network_ordering"]  # a later week: the slot is free again
    back = a.decide(facts("C1") | {"as_of": str(on + dt.timedelta(days=14))}, history=done)
    assert held(back)["promote_e_settlement"] == ["cap"]  # rested no more: only the cap holds it


def test_reason_filters_choose_the_rest() -> None:
    a = advisor(REST | {"except_reasons": ["wrong_timing"]},
                {"id": "timing", "kind": "suppress_after", "statuses": ["rejected"], "days": 7,
                 "reasons": ["wrong_timing"]})
    ten_days_ago = AS_OF - dt.timedelta(days=10)
    timing = [event("C1", "promote_e_settlement", date=ten_days_ago, reason="wrong_timing")]
    other = [event("C1", "promote_e_settlement", date=ten_days_ago, reason="risk_concern")]
    assert held(a.decide(facts("C1"), history=timing)) == {}
    assert held(a.decide(facts("C1"), history=other)) == {"promote_e_settlement": ["rest"]}
    recent = [event("C1", "promote_e_settlement", date=AS_OF, reason="wrong_timing")]
    assert held(a.decide(facts("C1"), history=recent)) == {"promote_e_settlement": ["timing"]}


def test_a_snooze_lasts_until_its_date_or_the_policy_days() -> None:
    a = advisor({"id": "snooze", "kind": "suppress_after", "statuses": ["snoozed"], "days": 7})
    until = [event("C1", "counter_placement", "snoozed", date=AS_OF - dt.timedelta(days=20),
                   until=AS_OF + dt.timedelta(days=2))]
    assert held(a.decide(facts("C1"), history=until)) == {"counter_placement": ["snooze"]}
    ended = [event("C1", "counter_placement", "snoozed", date=AS_OF - dt.timedelta(days=9), until=AS_OF)]
    assert held(a.decide(facts("C1"), history=ended)) == {}
    plain = [event("C1", "counter_placement", "snoozed", date=AS_OF - dt.timedelta(days=6))]
    assert held(a.decide(facts("C1"), history=plain)) == {"counter_placement": ["snooze"]}


# ---------------------------------------------------------------- duties: risk and obligation

DUTY_RULES = [rule("t.complaint", NET, {"actions": [action("resolve_retailer_complaint")]}, priority=30),
              rule("t.review", NET, {"actions": [action("monopoly_compliance_review")]}, priority=20)]
DUTIES = ["resolve_retailer_complaint", "monopoly_compliance_review"]


def with_duties(*items: Doc) -> Advisor:
    return Advisor(load_rule_book({"rules/t.yaml": rule_text(*RULE_LIST, *DUTY_RULES),
                                   "rules/t.policies.yaml": policies(*items)}, KB_FILES))


def test_a_rejection_cannot_suppress_a_risk_or_obligation_action() -> None:
    assert [KB.actions[a].kind for a in DUTIES] == ["obligation", "risk"]
    a = with_duties(REST, {"id": "done", "kind": "suppress_after", "statuses": ["done"], "days": 14})
    history = [event("C1", "resolve_retailer_complaint"),  # client_not_interested, as before kinds
               event("C1", "monopoly_compliance_review", reason="risk_concern"),
               event("C1", "promote_e_settlement")]
    decision = a.decide(facts("C1"), history=history)
    assert held(decision) == {"promote_e_settlement": ["rest"]}
    assert set(DUTIES) <= set(kept(decision))
    done = [event("C1", d, "done") for d in DUTIES]
    assert held(a.decide(facts("C1"), history=done)) == {}


def test_a_duty_is_only_snoozed_to_a_date() -> None:
    a = with_duties({"id": "snooze", "kind": "suppress_after", "statuses": ["snoozed"], "days": 7})
    until = AS_OF + dt.timedelta(days=5)
    dated = [event("C1", "monopoly_compliance_review", "snoozed", date=AS_OF - dt.timedelta(days=1), until=until)]
    decision = a.decide(facts("C1"), history=dated)
    assert held(decision) == {"monopoly_compliance_review": ["snooze"]}
    assert subject_of(decision, "client", "C1").suppressed[0].suppressed_by[0].until == until
    undated = [event("C1", "monopoly_compliance_review", "snoozed", date=AS_OF - dt.timedelta(days=1)),
               event("C1", "counter_placement", "snoozed", date=AS_OF - dt.timedelta(days=1))]
    assert held(a.decide(facts("C1"), history=undated)) == {"counter_placement": ["snooze"]}


def test_caps_never_hold_back_a_duty_and_a_duty_takes_its_slot_first() -> None:
    a = with_duties({"id": "cap", "kind": "client_weekly_cap", "max": 2},
                    {"id": "vol", "kind": "action_volume_cap", "action": "guide_to_network_ordering", "max": 0})
    decision = a.decide(facts("C1"), history=[])
    # the two duties (lowest scored) fill the cap: every service and sales action waits
    assert kept(decision) == DUTIES
    assert held(decision)["promote_e_settlement"] == ["cap"]
    busy = [event("C1", "explain_policy", "done"), event("C1", "promote_key_brands", "accepted")]
    assert kept(a.decide(facts("C1"), history=busy)) == DUTIES  # over the cap, still kept


def test_a_policy_holds_back_only_its_kinds() -> None:
    a = with_duties(REST | {"holds_back": ["sales"]})
    history = [event("C1", "promote_e_settlement"), event("C1", "counter_placement")]  # service, sales
    assert held(a.decide(facts("C1"), history=history)) == {"counter_placement": ["rest"]}


def test_items_limit_a_rest_to_some_actions() -> None:
    a = advisor(REST | {"items": ["counter_placement"]})
    history = [event("C1", "promote_e_settlement"), event("C1", "counter_placement")]
    assert held(a.decide(facts("C1"), history=history)) == {"counter_placement": ["rest"]}


# ---------------------------------------------------------------- caps

def test_client_weekly_cap_keeps_the_highest_scored_and_counts_this_weeks_contacts() -> None:
    a = advisor({"id": "cap", "kind": "client_weekly_cap", "max": 3})
    assert kept(a.decide(facts("C1"), history=[])) == ALL[:3]
    monday = AS_OF - dt.timedelta(days=AS_OF.weekday())
    history = [event("C1", "explain_policy", "done", date=monday),
               event("C1", "promote_key_brands", "accepted", date=monday),
               event("C1", "value_added_service", "rejected", date=monday),          # rejected: no contact
               event("C1", "cultivate_new_brand", "done", date=monday - dt.timedelta(days=1))]  # last week
    decision = a.decide(facts("C1"), history=history)
    assert kept(decision) == ["guide_to_network_ordering"]
    cap = subject_of(decision, "client", "C1").suppressed[0].suppressed_by[0]
    assert (cap.used, cap.limit, cap.until) == (3, 3, monday + dt.timedelta(days=7))
    assert [e.item_id for e in cap.feedback] == ["explain_policy", "promote_key_brands"]


def test_an_action_already_taken_this_week_does_not_take_a_second_slot() -> None:
    a = advisor({"id": "cap", "kind": "client_weekly_cap", "max": 2})
    history = [event("C1", "promote_e_settlement", "accepted")]
    assert kept(a.decide(facts("C1"), history=history)) == ["guide_to_network_ordering", "promote_e_settlement"]


def test_client_cap_channels_leave_other_actions_free() -> None:
    a = advisor({"id": "cap", "kind": "client_weekly_cap", "max": 1, "channels": ["phone"]})
    busy = [event("C1", "explain_policy", "done")]  # a visit: not a phone contact
    assert kept(a.decide(facts("C1"), history=busy)) == ALL
    phoned = [event("C1", "reevaluate_client_in_crm", "done"), event("C9", "x", "done"),
              FeedbackEvent(decision_id="d-1", subject_id="C1", item_id="phone_clerk_urge_order", status="done",
                            date=AS_OF - dt.timedelta(days=1))]
    assert kept(a.decide(facts("C1"), history=phoned)) == ALL  # the phone action was taken: it keeps its slot
    other_phone = rule("t.phone2", NET, {"actions": [action("periodic_keep_in_touch_message")]}, priority=44)
    book = load_rule_book({"rules/t.yaml": rule_text(*RULE_LIST, other_phone),
                           "rules/t.policies.yaml": policies({"id": "cap", "kind": "client_weekly_cap", "max": 1,
                                                              "channels": ["phone", "message"]})}, KB_FILES)
    decision = Advisor(book).decide(facts("C1"), history=[])
    assert held(decision) == {"periodic_keep_in_touch_message": ["cap"]}


def test_volume_cap_across_clients_keeps_the_highest_scored_then_by_client_id() -> None:
    boosted = rule("t.key", {"client.is_key": True}, {"actions": [action("counter_placement")]}, priority=90)
    book = load_rule_book({"rules/t.yaml": rule_text(*RULE_LIST, boosted),
                           "rules/t.policies.yaml": policies({"id": "vol", "kind": "action_volume_cap",
                                                              "action": "counter_placement", "max": 2})}, KB_FILES)
    doc = {"as_of": AS_OF.isoformat(),
           "clients": [client("C3", network_client=False), client("C1", network_client=False),
                       client("C2", network_client=False), client("C4", network_client=False, is_key=True)]}
    decision = Advisor(book).decide(doc, history=[])
    getting = sorted(s.id for s in decision.clients if "counter_placement" in kept(decision, s.id))
    assert getting == ["C1", "C4"]
    supp = subject_of(decision, "client", "C2").suppressed[0].suppressed_by[0]
    assert (supp.policy_id, supp.used, supp.limit) == ("vol", 2, 2)
    # the text names the action as people know it, never its id
    title = KB.actions["counter_placement"].title
    assert title.zh in supp.text.zh and title.en in supp.text.en
    assert "counter_placement" not in supp.text.zh + supp.text.en
    history = [event("C9", "counter_placement", "done")]  # a client outside this decision
    again = Advisor(book).decide(doc, history=history)
    assert sorted(s.id for s in again.clients if "counter_placement" in kept(again, s.id)) == ["C4"]


def test_caps_leave_no_slot_unused() -> None:
    # C1's best action is blocked by the volume cap, so the client cap gives its slot to the next one
    a = advisor({"id": "cap", "kind": "client_weekly_cap", "max": 1},
                {"id": "vol", "kind": "action_volume_cap", "action": "guide_to_network_ordering", "max": 0})
    decision = a.decide(facts("C1"), history=[])
    assert kept(decision) == ["promote_e_settlement"]
    assert held(decision)["guide_to_network_ordering"] == ["vol"]


def test_the_limit_per_subject_applies_after_the_policies() -> None:
    a = advisor(REST)
    decision = a.decide(facts("C1"), max_per_subject=2, history=[event("C1", "guide_to_network_ordering")])
    assert kept(decision) == ["promote_e_settlement", "counter_placement"]


@settings(max_examples=20, deadline=None)
@given(st.permutations(list(range(6))), st.permutations(["C1", "C2", "C3"]))
def test_policy_results_do_not_depend_on_history_or_fact_order(order: list[int], ids: list[str]) -> None:
    a = advisor(REST, {"id": "cap", "kind": "client_weekly_cap", "max": 2},
                {"id": "vol", "kind": "action_volume_cap", "action": "promote_e_settlement", "max": 1})
    base = [event("C1", "guide_to_network_ordering"), event("C2", "counter_placement", "done"),
            event("C3", "promote_e_settlement", "accepted"), event("C2", "phone_clerk_urge_order", "accepted"),
            event("C9", "promote_e_settlement", "done", decision="d-2"), event("C1", "counter_placement", "snoozed")]
    ordered = a.decide(facts("C1", "C2", "C3"), history=base)
    shuffled = a.decide(facts(*ids), history=[base[i] for i in order])
    assert ordered == shuffled


def test_shipped_policies_on_the_sample_suppress_a_rejected_action(advisor: Advisor) -> None:
    doc = yaml.safe_load((ROOT / "knowledge_base" / "samples" / "demo_facts.yaml").read_text(encoding="utf-8"))
    first = advisor.decide(doc, history=[])
    top = holdable(subject_of(first, "client", "T-001"))
    rejected = event("T-001", top, date=first.as_of)
    again = advisor.decide(doc, history=[rejected])
    assert top not in kept(again, "T-001")
    assert held(again, "T-001")[top] == ["rest_after_rejection"]


def test_shipped_policies_on_the_sample_never_rest_the_open_complaint(advisor: Advisor) -> None:
    # the retailer has an open complaint: rejecting or closing its handling does not silence it
    doc = yaml.safe_load((ROOT / "knowledge_base" / "samples" / "demo_facts.yaml").read_text(encoding="utf-8"))
    first = advisor.decide(doc, history=[])
    complaint = duty(subject_of(first, "client", "T-001"))
    assert KB.actions[complaint].kind == "obligation"
    for status in ("rejected", "done"):
        again = advisor.decide(doc, history=[event("T-001", complaint, status, date=first.as_of)])
        assert complaint in kept(again, "T-001") and complaint not in held(again, "T-001")
    snoozed = event("T-001", complaint, "snoozed", date=first.as_of, until=first.as_of + dt.timedelta(days=3))
    assert held(advisor.decide(doc, history=[snoozed]), "T-001")[complaint] == ["snooze"]


def test_policy_files_are_told_apart_from_rule_files(tmp_path: Path) -> None:
    (tmp_path / "t.yaml").write_text(RULES, encoding="utf-8")
    (tmp_path / "t.policies.yaml").write_text(policies(REST), encoding="utf-8")
    a = Advisor.load(tmp_path, ROOT / "knowledge_base")
    assert [p.id for p in a.book.policies.policies] == ["rest"] and len(a.book.rules) == 5


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(0, 2), min_size=6, max_size=6), st.integers(0, 3), st.integers(1, 3),
       st.sets(st.integers(0, 7), max_size=4), st.sets(st.integers(0, 5), max_size=3))
def test_caps_ranked_from_the_tied_actions_alone_hold_back_what_the_whole_portfolio_holds_back(
        books: list[int], volume: int, per_client: int, accepted: set[int], rejected: set[int]) -> None:
    """A portfolio cut into books (as a cluster's workers hold it): the actions a volume cap ties
    across books ranked together (pending, settle_caps), each book's other actions in the book,
    give what the policies give over the whole portfolio."""
    from rm_advisor.engine.policies.contact import Settled, apply_policies, pending, settle_caps

    adv = advisor({"id": "per_client", "kind": "client_weekly_cap", "max": per_client},
                  {"id": "counters", "kind": "action_volume_cap", "action": "counter_placement", "max": volume},
                  {"id": "rest", "kind": "suppress_after", "statuses": ["rejected"], "days": 30})
    book, kb = adv.book.policies, adv.book.kb
    ids = [f"T{i:03d}" for i in range(6)]
    clients = adv.decide(facts(*ids)).clients
    # counter placements accepted this week, by clients of the portfolio and beyond it; rejections rest an action
    history = [event(f"T{i:03d}", "counter_placement", "accepted") for i in accepted] + \
        [event(f"T{i:03d}", "promote_e_settlement") for i in rejected]
    whole, _ = apply_policies(clients, [], book, history, AS_OF, kb)
    parts = [[c for c, b in zip(clients, books, strict=True) if b == n] for n in range(3)]
    found = [pending(part, [], book, history, AS_OF, kb) for part in parts]
    settled = settle_caps([c for f in found for c in f], book, history, AS_OF, kb)
    cut: dict[str, SubjectDecision] = {}
    for part, f in zip(parts, found, strict=True):
        mine = frozenset(c.client_id for c in f)
        own = Settled(mine, {k: v for k, v in settled.held.items() if k[0] in mine})
        cut.update((c.id, c) for c in apply_policies(part, [], book, history, AS_OF, kb, own)[0])
    assert [cut[c.id] for c in clients] == whole
    if volume < 3 and not accepted:  # the volume cap binds: some counter placement is held back
        assert any(r.id == "counter_placement" for c in whole for r in c.suppressed)
