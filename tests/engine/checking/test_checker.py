"""engine/checking/checker.py: every rule-file error code, with its location and hint."""

from __future__ import annotations

import pytest

from rm_advisor.engine.checking.checker import check_rule_files
from rm_advisor.engine.errors import CODES
from rm_advisor.engine.inference.book import check_rules
from tests.helpers import KB, Doc, action, codes, rule, rule_text

OK_THEN = {"actions": [action("guide_to_network_ordering")]}


def only(text: str) -> str:
    """The one error in a rule file (warnings about the same rule, e.g. a text in the wrong language, come
    with it in one pass and are not counted)."""
    found = [d.code for d in check_rules({"rules/test.yaml": text}, KB) if d.severity == "error"]
    assert len(found) == 1, found
    return found[0]


def test_valid_rule_has_no_diagnostics() -> None:
    assert codes(rule_text(rule("t.ok", {"client.network_client": False}, OK_THEN))) == []


@pytest.mark.parametrize("when, code", [
    ({"client.days_since_visit": {"gt": 3}}, "unknown_field"),
    ({"clint.days_since_last_visit": {"gt": 3}}, "unknown_fact"),
    ({"client.days_since_last_visit": {"gt": "three"}}, "type_mismatch"),
    ({"client.network_client": "yes please"}, "type_mismatch"),
    ({"client.client_class": "D"}, "bad_value"),
    ({"client.satisfaction": {"gt": 150}}, "bad_value"),
    ({"client.days_since_last_visit": {"between": [30, 10]}}, "bad_value"),
    ({"client.client_class": {"gt": "A"}}, "bad_operator"),
    ({"client.days_since_last_visit": {"in_next_days": 3}}, "bad_operator"),
    ({"signal": "counterfit_risk"}, "unknown_signal"),
    ({"signal": "lagging_performer"}, "subject_mismatch"),
    ({"interaction.kind": "complaint"}, "subject_mismatch"),
    ({"exists": {"fact": "manager"}}, "subject_mismatch"),
    ({"exists": {"fact": "visit"}}, "unknown_fact"),
    ({"any": [{"signal": "counterfeit_risk"}, {"client.is_key": True}]}, "signal_placement"),
    ({"client.days_since_last_visit": {"gt": "$visit_interval_days_z"}}, "unknown_parameter"),
    ({"client.days_since_last_visit": {"gt": 3}, "client.is_key": True}, "schema_violation"),
    ({"client.days_since_last_visit": {"greater": 3}}, "schema_violation"),
])
def test_condition_errors(when: Doc, code: str) -> None:
    assert only(rule_text(rule("t.bad", when, OK_THEN))) == code


@pytest.mark.parametrize("then, subject, code", [
    ({"actions": [action("guide_to_network_orderin")]}, "client", "unknown_action"),
    ({"coaching": [{"topic": "crm_mastery", "reason": {"zh": "z", "en": "e"}}]}, "manager", "unknown_coaching"),
    ({"signals": ["no_such_signal"]}, "client", "unknown_signal"),
    ({"coaching": [{"topic": "crm_system_mastery", "reason": {"zh": "z", "en": "e"}}]}, "client", "subject_mismatch"),
    ({"actions": [action("guide_to_network_ordering", en="for {client.nam}")]}, "client", "bad_template"),
    ({"actions": [action("guide_to_network_ordering", en="{client.name!r:>10}")]}, "client", "bad_template"),
    ({"actions": [action("guide_to_network_ordering", zh="{ client.name }")]}, "client", "bad_template"),
    ({"actions": [action("guide_to_network_ordering", en="for {Client.Name}")]}, "client", "bad_template"),
    ({"actions": [action("guide_to_network_ordering", en="say {{client.name}}")]}, "client", "bad_template"),
    ({"actions": [action("guide_to_network_ordering", en="open { and close")]}, "client", "bad_template"),
    ({"veto": {"actions": ["guide_to_network_ordering"], "reason": {"zh": "z", "en": "{client.name:>10}"}}},
     "client", "bad_template"),
    ({"actions": [action("guide_to_network_ordering", en="over {param.nope}")]}, "client", "unknown_parameter"),
    ({"veto": {"actions": ["nope"], "reason": {"zh": "z", "en": "e"}}}, "client", "unknown_action"),
    ({}, "client", "schema_violation"),
])
def test_outcome_errors(then: Doc, subject: str, code: str) -> None:
    when = {"client.is_key": True} if subject == "client" else {"manager.tenure_months": {"gt": 1}}
    assert only(rule_text(rule("t.bad", when, then, subject=subject))) == code


def test_misspelt_field_names_the_line_and_suggests_the_field() -> None:
    text = rule_text(rule("t.bad", {"client.days_since_visit": {"gt": 3}}, OK_THEN))
    _, diags = check_rule_files({"rules/t.yaml": text}, KB)
    (d,) = diags
    line = next(i for i, ln in enumerate(text.splitlines(), 1) if "days_since_visit" in ln)
    assert (d.location.file, d.location.line, d.rule_id) == ("rules/t.yaml", line, "t.bad")
    assert "days_since_last_visit" in d.hint


def test_duplicate_rule_ids_across_files() -> None:
    text = rule_text(rule("t.same", {"client.is_key": True}, OK_THEN))
    _, diags = check_rule_files({"rules/a.yaml": text, "rules/b.yaml": text}, KB)
    assert [d.code for d in diags] == ["duplicate_rule_id"]
    assert diags[0].location.file == "rules/b.yaml" and "rules/a.yaml" in diags[0].hint


def test_inverted_effective_dates() -> None:
    r = rule("t.dates", {"client.is_key": True}, OK_THEN, effective={"from": "2026-12-01", "until": "2026-01-01"})
    import datetime as dt
    r["effective"] = {"from": dt.date(2026, 12, 1), "until": dt.date(2026, 1, 1)}
    assert only(rule_text(r)) == "bad_dates"


def test_signal_cycle_names_the_rules() -> None:
    a = rule("t.a", {"signal": "outside_official_channel"}, {"signals": ["counterfeit_risk"]})
    b = rule("t.b", {"signal": "counterfeit_risk"}, {"signals": ["outside_official_channel"]})
    _, diags = check_rule_files({"rules/t.yaml": rule_text(a, b)}, KB)
    assert [d.code for d in diags] == ["signal_cycle"]
    assert "t.a" in diags[0].message and "t.b" in diags[0].message


def test_yaml_syntax_error_and_duplicate_key() -> None:
    assert codes("pack: x\nrules: [\n") == ["yaml_syntax"]
    text = rule_text(rule("t.ok", {"client.is_key": True}, OK_THEN)).replace("pack: test", "pack: test\npack: again")
    assert codes(text) == ["duplicate_key"]


def test_syntax_error_still_reports_the_other_rules() -> None:
    good = rule("t.typo", {"client.days_since_visit": {"gt": 3}}, OK_THEN)
    text = rule_text(good) + "  - id: t.broken\n    title: {zh: 坏, en: Broken\n"
    assert sorted(codes(text)) == ["unknown_field", "yaml_syntax"]


def test_no_rule_files() -> None:
    _, diags = check_rule_files({}, KB)
    assert [d.code for d in diags] == ["no_rules"]


def test_errors_are_sorted_by_file_and_line() -> None:
    r1 = rule("t.one", {"client.nope": 1}, OK_THEN)
    r2 = rule("t.two", {"client.nada": 1}, OK_THEN)
    _, diags = check_rule_files({"rules/z.yaml": rule_text(r1), "rules/a.yaml": rule_text(r1 | {"id": "t.x"}, r2)}, KB)
    keys = [(d.location.file, d.location.line) for d in diags]
    assert keys == sorted(keys) and len(keys) == 3


def test_every_rule_code_is_documented() -> None:
    for code in ("unknown_field", "unknown_action", "yaml_syntax", "signal_cycle", "firing_limit", "fact_type"):
        assert code in CODES


def test_regression_a_malformed_placeholder_is_refused_located_with_the_placeholder_meant() -> None:
    # issue 12: `{client.name!r:>10}` passed `check` and was printed raw in every reason
    text = rule_text(rule("t.fmt", {"client.is_key": True},
                          {"actions": [action("guide_to_network_ordering", en="visit {client.name!r:>10} today")]}))
    (diag,) = check_rules({"rules/t.yaml": text}, KB)
    assert (diag.code, diag.rule_id, diag.severity) == ("bad_template", "t.fmt", "error")
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "visit {client.name" in t)
    assert (diag.location.file, diag.location.line) == ("rules/t.yaml", line) and diag.location.column > 1
    assert "`{client.name!r:>10}` at character 7" in diag.message and "`{client.name}`" in diag.hint


# ---------------------------------------------------------------- what a missing value counts as


@pytest.mark.parametrize("when, ref, why", [
    ({"client.is_key": {"present": True, "unknown": "match"}}, "client.is_key", "beside `present`"),
    ({"client.domain": {"eq": "tobacco", "unknown": "ask"}}, "client.domain", "required and never missing"),
    ({"not": {"client.is_key": {"eq": True, "unknown": "ask"}}}, "client.is_key", "under `not`"),
    ({"not": {"any": [{"client.is_key": {"eq": True, "unknown": "ask"}}, {"client.domain": "bank"}]}},
     "client.is_key", "under `not`"),
    ({"exists": {"fact": "interaction", "where": {"interaction.status": {"eq": "open", "unknown": "ask"}}}},
     "interaction.status", "inside `exists`"),
    ({"events": {"where": {"interaction.status": {"eq": "open", "unknown": "ask"}}, "count": {"ge": 1}}},
     "interaction.status", "(or `events`)"),
])
def test_an_unknown_that_cannot_mean_anything_is_refused_where_it_is_written(when: Doc, ref: str, why: str) -> None:
    text = rule_text(rule("t.u", {"all": [{"client.client_class": "A"}, when]}, OK_THEN))
    [diag] = check_rules({"rules/t.yaml": text}, KB)
    assert (diag.code, diag.severity, diag.rule_id) == ("bad_unknown", "error", "t.u")
    assert why in diag.message
    assert diag.location.line == next(i for i, ln in enumerate(text.splitlines(), 1) if ref + ":" in ln)


@pytest.mark.parametrize("when", [
    {"client.is_key": {"eq": True, "unknown": "ask"}},
    {"client.tier": {"ne": "strategic", "unknown": "match"}},
    {"not": {"client.tier": {"eq": "strategic", "unknown": "no_match"}}},  # said: a missing tier passes the `not`
    {"not": {"client.is_key": {"present": True}}},  # `present` says what missing does
    {"not": {"client.domain": "bank"}},  # required: never missing
    {"exists": {"fact": "interaction", "where": {"interaction.status": {"eq": "open", "unknown": "match"}}}},
])
def test_an_unknown_said_where_it_means_something_is_accepted_silently(when: Doc) -> None:
    assert codes(rule_text(rule("t.u", when, OK_THEN))) == []


def test_a_not_over_a_field_that_may_be_missing_is_a_located_warning_and_the_rule_still_loads() -> None:
    text = rule_text(rule("t.not", {"all": [{"client.domain": "tobacco"}, {"not": {"client.tier": "strategic"}}]},
                          OK_THEN))
    files = {"rules/t.yaml": text}
    [diag] = check_rules(files, KB)
    assert (diag.code, diag.severity, diag.rule_id) == ("not_on_missing", "warning", "t.not")
    assert "holds when `client.tier` is missing" in diag.message and "unknown: match" in diag.hint
    assert diag.location.line == next(i for i, ln in enumerate(text.splitlines(), 1) if "client.tier" in ln)
    rule_set, _ = check_rule_files(files, KB)
    assert rule_set is not None and [c.rule.id for c in rule_set.rules] == ["t.not"]


def test_regression_a_warning_found_while_checking_a_rule_does_not_keep_the_rule_out() -> None:
    # the per-rule check counted every diagnostic as a problem, so a rule with only a warning was dropped
    from tests.helpers import advisor
    adv = advisor(rule("t.not", {"not": {"client.tier": "strategic"}}, OK_THEN))
    assert [r.id for r in adv.decide({"clients": [{"id": "C1", "manager_id": "M1", "domain": "tobacco"}]})
            .clients[0].recommendations] == ["guide_to_network_ordering"]


# ---------------------------------------------------------------------------- one pass (issue 22 §1)


def _one_pass_file() -> str:
    """A rule with a schema error (priority 150) beside five problems of other kinds, and a second
    rule with an invalid action priority and a misspelt action."""
    first = rule("t.many", {"all": [{"client.days_since_last_visit": {"gt": 30}},
                                    {"client.days_since_last_visit": {"lt": 10}},
                                    {"client.days_since_visit": {"gt": 3}}]},
                 {"actions": [action("guide_to_network_orderin", zh="because", en="因为")]}, priority=150)
    first["title"] = {"zh": "测试", "en": "测试"}
    second = rule("t.other", {"client.is_key": True},
                  {"actions": [action("guide_to_network_orderng", priority=300)]})
    return rule_text(first, second)


def test_a_schema_error_does_not_hide_the_rules_other_problems() -> None:
    diags = check_rules({"rules/test.yaml": _one_pass_file()}, KB)
    found = [(d.rule_id, d.code, d.severity) for d in diags]
    assert ("t.many", "schema_violation", "error") in found  # priority: 150
    assert ("t.many", "impossible_condition", "error") in found
    assert ("t.many", "unknown_field", "error") in found
    assert ("t.many", "unknown_action", "error") in found
    assert [c for r, c, s in found if r == "t.many" and c == "missing_text"] == ["missing_text"] * 3  # title, reason
    assert ("t.other", "schema_violation", "error") in found  # the action's priority: 300
    assert ("t.other", "unknown_action", "error") in found
    assert [d.location.line for d in diags] == sorted(d.location.line for d in diags)


def test_an_invalid_when_is_not_analysed_but_the_rest_of_the_rule_is() -> None:
    text = rule_text(rule("t.when", {"client.days_since_last_visit": {"greater": 3}},
                          {"actions": [action("guide_to_network_orderin")]}))
    found = sorted(d.code for d in check_rules({"rules/test.yaml": text}, KB))
    assert found == ["schema_violation", "unknown_action"]


def test_a_rule_whose_id_is_invalid_is_reported_once() -> None:
    text = rule_text(rule("Not An Id", {"client.is_key": True}, {"actions": [action("guide_to_network_orderin")]}))
    assert codes(text) == ["schema_violation"]


# ---------------------------------------------------------------------------- provenance (issue 22 §2)


def test_an_unknown_document_is_refused_without_the_document_texts() -> None:
    text = rule_text(rule("t.doc", {"client.is_key": True}, OK_THEN, provenance={"document": "D9", "quote": "某某"}))
    _, diags = check_rule_files({"rules/t.yaml": text}, KB)
    assert [d.code for d in diags] == ["unknown_document"]
    assert "D9" in diags[0].message and "D9" in text.splitlines()[diags[0].location.line - 1]


def test_a_quote_is_looked_up_verbatim_when_the_document_texts_are_given() -> None:
    documents = {d: "客户经理要努力引导客户向网络客户发展。" for d in KB.documents}
    good = rule_text(rule("t.q", {"client.is_key": True}, OK_THEN))
    assert check_rule_files({"rules/t.yaml": good}, KB, documents)[1] == []
    bad = rule_text(rule("t.q", {"client.is_key": True}, OK_THEN,
                         provenance={"document": "D4", "quote": "努力引导客户向网络客户发展!"}))
    _, diags = check_rule_files({"rules/t.yaml": bad}, KB, documents)
    assert [(d.code, d.rule_id) for d in diags] == [("quote_not_found", "t.q")]
    assert check_rule_files({"rules/t.yaml": bad}, KB)[0] is not None  # without the texts, quotes are not checked


# ---------------------------------------------------------------- comparisons between fields (`compare`)

def _compare(**spec: object) -> Doc:
    return {"compare": {"left": "client.credit_requested", "op": "gt", "right": "client.funding_need", **spec}}


@pytest.mark.parametrize("when", [
    _compare(),
    _compare(times=1.2, plus=-100, unknown="no_match"),
    _compare(op="le", times="$coaching_credit_file_clients"),
    {"compare": {"left": "client.days_since_last_visit", "op": "ge", "right": "manager.tenure_months"}},
    {"exists": {"fact": "interaction", "where": {
        "compare": {"left": "interaction.closed_date", "op": "gt", "right": "interaction.due_date", "plus": 15}}}},
    {"compare": {"left": "client.client_class", "op": "ne", "right": "client.client_class"}},
])
def test_a_comparison_between_fields_of_comparable_types_is_accepted(when: Doc) -> None:
    assert codes(rule_text(rule("t.c", when, OK_THEN))) == []


@pytest.mark.parametrize("spec, code, key, why", [
    ({"right": "client.funding_needs"}, "unknown_field", "right", "unknown field `funding_needs`"),
    ({"left": "clint.credit_requested"}, "unknown_fact", "left", "unknown fact type `clint`"),
    ({"right": "interaction.amount"}, "subject_mismatch", "right", "not reachable"),
    ({"right": "client.agreement_expiry"}, "type_mismatch", "right", "cannot be compared"),
    ({"left": "client.client_class", "right": "client.tier", "op": "eq"}, "type_mismatch", "right",
     "cannot be compared"),
    ({"left": "client.name", "right": "client.name"}, "bad_operator", "op", "needs numbers or dates"),
    ({"times": "$no_such_parameter"}, "unknown_parameter", "times", "unknown parameter"),
    ({"left": "client.agreement_expiry", "right": "client.agreement_expiry", "times": 2}, "bad_value", "times",
     "only numbers can be multiplied"),
    ({"left": "client.agreement_expiry", "right": "client.agreement_expiry", "plus": 1.5}, "type_mismatch", "plus",
     "whole number of days"),
    ({"unknown": "ask"}, "bad_unknown", "unknown", "`unknown: ask` on `compare`"),
    ({"left": "client.domain", "right": "client.domain", "op": "eq", "unknown": "match"}, "bad_unknown", "unknown",
     "required and never missing"),
])
def test_a_comparison_between_fields_is_refused_located_at_the_key_at_fault(spec: Doc, code: str, key: str,
                                                                             why: str) -> None:
    when = {"all": [{"client.domain": "bank"}, _compare(**spec)]}
    text = rule_text(rule("t.c", when, OK_THEN))
    [diag] = check_rules({"rules/t.yaml": text}, KB)
    assert (diag.code, diag.severity, diag.rule_id) == (code, "error", "t.c")
    assert why in diag.message
    lines = text.splitlines()
    compare_line = next(i for i, ln in enumerate(lines, 1) if "compare:" in ln)
    line = next(i for i, ln in enumerate(lines, 1) if i > compare_line and ln.strip().startswith(key + ":"))
    assert (diag.location.file, diag.location.line) == ("rules/t.yaml", line)
    assert diag.location.column > 1


def test_a_comparison_between_fields_with_a_misspelt_key_is_a_schema_violation() -> None:
    # `right` missing and `rigth` unknown: two violations
    assert codes(rule_text(rule("t.c", {"compare": {"left": "client.credit_requested", "op": "gt",
                                                    "rigth": "client.funding_need"}}, OK_THEN))) == [
        "schema_violation", "schema_violation"]
    assert codes(rule_text(rule("t.c", _compare(op="in_next_days"), OK_THEN))) == ["schema_violation"]


def test_a_not_over_a_comparison_between_fields_that_may_be_missing_is_a_located_warning() -> None:
    text = rule_text(rule("t.not", {"all": [{"client.domain": "bank"}, {"not": _compare()}]}, OK_THEN))
    [diag] = check_rules({"rules/t.yaml": text}, KB)
    assert (diag.code, diag.severity, diag.rule_id) == ("not_on_missing", "warning", "t.not")
    assert "holds when `client.credit_requested` is missing" in diag.message
    assert diag.location.line == next(i for i, ln in enumerate(text.splitlines(), 1) if "compare:" in ln)
    assert codes(rule_text(rule("t.not", {"not": _compare(unknown="no_match")}, OK_THEN))) == []


# ---------------------------------------------------------------- aggregates of history events (`events`)

_VISITS = {"interaction.kind": "visit"}


@pytest.mark.parametrize("when", [
    {"events": {"where": _VISITS, "within_days": 30, "count": {"ge": 2}}},
    {"events": {"where": _VISITS, "days_since_latest": {"gt": 30}, "never": "match"}},
    {"events": {"within_days": "$visit_interval_days_a", "sum": {"gt": 100}, "of": "interaction.amount"}},
    {"events": {"where": {"all": [_VISITS, {"client.is_key": True}]}, "latest": {"eq": "done"},
                "of": "interaction.status", "never": "no_match"}},
    {"not": {"events": {"where": _VISITS, "max": {"in_next_days": 10}, "of": "interaction.due_date",
                        "never": "match"}}},
])
def test_an_aggregate_of_events_written_as_the_guide_says_is_accepted(when: Doc) -> None:
    assert codes(rule_text(rule("t.e", when, OK_THEN))) == []


@pytest.mark.parametrize("spec, code, key, why", [
    ({"where": {"interaction.knd": "visit"}, "count": {"ge": 1}}, "unknown_field", "interaction.knd",
     "unknown field `knd`"),
    ({"where": {"interaction.kind": "vist"}, "count": {"ge": 1}}, "bad_value", "interaction.kind", "`vist`"),
    ({"count": {"ge": "two"}}, "type_mismatch", "ge", "compares it with str"),
    ({"count": {"ge": -1}}, "bad_value", "ge", "outside the range"),
    ({"days_since_latest": {"in_next_days": 3}}, "bad_operator", "in_next_days", "needs a date field"),
    ({"sum": {"gt": 1}, "of": "interaction.kind"}, "bad_operator", "of", "`sum` needs a number field"),
    ({"max": {"gt": 1}, "of": "interaction.note"}, "bad_operator", "of", "needs a number or date field"),
    ({"sum": {"gt": 1}, "of": "client.credit_requested"}, "subject_mismatch", "of", "not a field of the events"),
    ({"count": {"ge": 1}, "within_days": "$no_such_days"}, "unknown_parameter", "within_days", "unknown parameter"),
    ({"count": {"ge": 1, "unknown": "match"}}, "bad_unknown", "unknown", "`never:`"),
    ({"where": {"signal": "visit_overdue"}, "count": {"ge": 1}}, "signal_placement", "where", "cannot stand here"),
])
def test_an_aggregate_of_events_is_refused_located_at_the_key_at_fault(spec: Doc, code: str, key: str,
                                                                       why: str) -> None:
    text = rule_text(rule("t.e", {"all": [{"client.domain": "tobacco"}, {"events": spec}]}, OK_THEN))
    found = [d for d in check_rules({"rules/t.yaml": text}, KB) if d.severity == "error"]
    # a signal inside `where` is misplaced, and about a client, not an event: two errors
    assert [d.code for d in found] == [code] + (["subject_mismatch"] if code == "signal_placement" else [])
    diag = next(d for d in found if d.code == code)
    assert why in diag.message and diag.rule_id == "t.e"
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines, 1) if "events:" in ln)
    line = next(i for i, ln in enumerate(lines, 1) if i > start and ln.strip().startswith(key + ":"))
    assert (diag.location.file, diag.location.line) == ("rules/t.yaml", line)


@pytest.mark.parametrize("spec, message", [
    ({"count": {"ge": 1}, "max": {"ge": 1}, "of": "interaction.amount"}, "give exactly one aggregate"),
    ({"sum": {"gt": 1}}, "`sum` needs `of`"),
    ({"count": {"ge": 1}, "of": "interaction.amount"}, "`count` takes no `of`"),
    ({"count": {"ge": 1}, "never": "match"}, "`never:` beside `count`"),
])
def test_an_aggregate_of_events_of_the_wrong_shape_is_a_schema_violation(spec: Doc, message: str) -> None:
    [diag] = check_rules({"rules/t.yaml": rule_text(rule("t.e", {"events": spec}, OK_THEN))}, KB)
    assert diag.code == "schema_violation" and message in diag.message


def test_a_manager_rule_counts_the_managers_own_events_and_a_not_over_never_is_a_warning() -> None:
    coach = {"coaching": [{"topic": "plan_submission_on_time", "reason": {"zh": "因为", "en": "because"}}]}
    plans = {"events": {"where": {"interaction.kind": "plan_submission"}, "days_since_latest": {"le": 30}}}
    text = rule_text(rule("t.m", {"not": plans}, coach, subject="manager"))
    [diag] = check_rules({"rules/t.yaml": text}, KB)
    assert (diag.code, diag.severity) == ("not_on_missing", "warning")
    assert "no matching event at all" in diag.message
    assert diag.location.line == next(i for i, ln in enumerate(text.splitlines(), 1) if "events:" in ln)


# ---------------------------------------------------------------- deadlines ahead (`deadline`)

_UNPAID = {"elapsed": "client.interest_unpaid_days", "threshold": "interest_unpaid", "within_days": 4}


def _ahead(reason_zh: str, reason_en: str) -> Doc:
    return {"actions": [{"action": "remind_interest_before_deduction", "reason": {"zh": reason_zh, "en": reason_en}}]}


@pytest.mark.parametrize("when", [
    {"deadline": _UNPAID},
    {"deadline": {"due": "client.agreement_expiry", "within_days": "$telecom_expiry_lead_days"}},
    {"exists": {"fact": "interaction", "where": {"deadline": {"since": "interaction.due_date", "after_days": 15,
                                                              "within_days": 5, "unknown": "no_match"}}}},
    {"not": {"deadline": {**_UNPAID, "unknown": "match"}}},
])
def test_a_deadline_written_as_the_guide_says_is_accepted(when: Doc) -> None:
    assert codes(rule_text(rule("t.d", when, OK_THEN))) == []


@pytest.mark.parametrize("spec, code, key, why", [
    ({**_UNPAID, "elapsed": "client.interest_unpaid_dayz"}, "unknown_field", "elapsed", "unknown field"),
    ({"due": "client.interest_unpaid_days", "within_days": 3}, "type_mismatch", "due", "needs a date"),
    ({"elapsed": "client.agreement_expiry", "after_days": 3, "within_days": 3}, "type_mismatch", "elapsed",
     "needs a whole number of days"),
    ({**_UNPAID, "threshold": "interest_unpayed"}, "unknown_threshold", "threshold", "unknown threshold"),
    ({**_UNPAID, "within_days": "$no_such_days"}, "unknown_parameter", "within_days", "unknown parameter"),
    ({**_UNPAID, "within_days": "$telecom_low_usage_pct", "after_days": "$no_such"}, "unknown_parameter",
     "after_days", "unknown parameter"),
    ({"elapsed": "interaction.days_open", "after_days": 3, "within_days": 3}, "subject_mismatch", "elapsed",
     "not reachable"),
    ({"due": "client.domain", "within_days": 3, "unknown": "match"}, "type_mismatch", "due", "needs a date"),
])
def test_a_deadline_is_refused_located_at_the_key_at_fault(spec: Doc, code: str, key: str, why: str) -> None:
    text = rule_text(rule("t.d", {"all": [{"client.domain": "bank"}, {"deadline": spec}]}, OK_THEN))
    found = [d for d in check_rules({"rules/t.yaml": text}, KB) if d.severity == "error"]
    assert code in [d.code for d in found]
    diag = next(d for d in found if d.code == code)
    assert why in diag.message and diag.rule_id == "t.d"
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines, 1) if "deadline:" in ln)
    line = next(i for i, ln in enumerate(lines, 1) if i > start and ln.strip().startswith(key + ":"))
    assert (diag.location.file, diag.location.line) == ("rules/t.yaml", line)


@pytest.mark.parametrize("spec, message", [
    ({"within_days": 3}, "give exactly one of due, since, elapsed"),
    ({"due": "client.agreement_expiry", "since": "client.agreement_expiry", "within_days": 3}, "exactly one"),
    ({"due": "client.agreement_expiry", "after_days": 3, "within_days": 3}, "`after_days` beside `due`"),
    ({"elapsed": "client.interest_unpaid_days", "within_days": 3}, "needs `after_days` or a `threshold`"),
    ({**_UNPAID, "unknown": "ask"}, "unknown"),
])
def test_a_deadline_of_the_wrong_shape_is_a_schema_violation(spec: Doc, message: str) -> None:
    [diag] = check_rules({"rules/t.yaml": rule_text(rule("t.d", {"deadline": spec}, OK_THEN))}, KB)
    assert diag.code == "schema_violation" and message in diag.message


def test_a_reason_shows_the_days_left_and_the_cost_only_beside_a_deadline_that_can_give_them() -> None:
    good = _ahead("还有{deadline.days_left}天(至{deadline.date}),可免{deadline.cost}:{deadline.threshold}",
                  "{deadline.days_left} days left (by {deadline.date}), saves {deadline.cost}: {deadline.threshold}")
    assert codes(rule_text(rule("t.d", {"all": [{"client.domain": "bank"}, {"deadline": _UNPAID}]}, good))) == []
    # no deadline among the top-level conditions: nothing to fill
    assert codes(rule_text(rule("t.d", {"any": [{"deadline": _UNPAID}, {"client.is_key": True}]}, good))) == \
        ["bad_template"] * 8
    # a deadline without a threshold has no cost to show
    plain = {"due": "client.agreement_expiry", "within_days": 3}
    costly = _ahead("可免{deadline.cost}", "saves {deadline.cost}")
    assert codes(rule_text(rule("t.d", {"deadline": plain}, costly))) == ["bad_template", "bad_template"]
    # one that holds on a missing value has no days to show without a fallback
    missing = _ahead("还有{deadline.days_left}天", "{deadline.days_left|some} days left")
    assert codes(rule_text(rule("t.d", {"deadline": {**plain, "unknown": "match"}}, missing))) == ["missing_fallback"]
    typo = _ahead("还有{deadline.days_lefts}天", "{deadline.days_left} days left")
    assert codes(rule_text(rule("t.d", {"deadline": plain}, typo))) == ["bad_template"]


def test_a_not_over_a_deadline_of_a_field_that_may_be_missing_is_a_warning() -> None:
    text = rule_text(rule("t.d", {"not": {"deadline": _UNPAID}}, OK_THEN))
    [diag] = check_rules({"rules/t.yaml": text}, KB)
    assert (diag.code, diag.severity) == ("not_on_missing", "warning")
    assert diag.location.line == next(i for i, ln in enumerate(text.splitlines(), 1) if "deadline:" in ln)


# ---------------------------------------------------------------- across links between clients (`linked`)

_GUARANTOR = {"linked": {"kind": "guarantor_of", "where": {"signal": "loan_overdue"}}}


@pytest.mark.parametrize("when", [
    _GUARANTOR,
    {"all": [{"client.domain": "bank"}, {"linked": {"kind": ["member_of", "related_company"], "direction": "both",
                                                     "where": {"all": [{"signal": "credit_red_flag"},
                                                                       {"link.since": {"older_than_days": 30}}]}}}]},
    {"not": {"linked": {"kind": "same_owner",
                        "where": {"client.network_client": {"eq": False, "unknown": "no_match"}}}}},
    {"linked": {"kind": "guarantor_of"}},
])
def test_a_condition_across_links_written_as_the_guide_says_is_accepted(when: Doc) -> None:
    assert codes(rule_text(rule("t.l", when, OK_THEN))) == []


@pytest.mark.parametrize("spec, code, key, why", [
    ({"kind": "guarantor"}, "bad_value", "kind", "not a kind of link"),
    ({"kind": "same_owner", "where": {"client.netwrk_client": True}}, "unknown_field", "client.netwrk_client",
     "unknown field"),
    ({"kind": "same_owner", "where": {"manager.tenure_months": {"gt": 3}}}, "subject_mismatch",
     "manager.tenure_months", "not reachable"),
    ({"kind": "same_owner", "where": {"client.is_key": {"eq": True, "unknown": "ask"}}}, "bad_unknown",
     "client.is_key", "`unknown: ask`"),
    ({"kind": "same_owner", "where": {"any": [{"signal": "loan_overdue"}, {"client.is_key": True}]}},
     "signal_placement", "signal", "cannot stand here"),
])
def test_a_condition_across_links_is_refused_located_at_the_key_at_fault(spec: Doc, code: str, key: str,
                                                                         why: str) -> None:
    text = rule_text(rule("t.l", {"all": [{"client.domain": "bank"}, {"linked": spec}]}, OK_THEN))
    found = [d for d in check_rules({"rules/t.yaml": text}, KB) if d.severity == "error"]
    assert [d.code for d in found] == [code]
    diag = found[0]
    assert why in diag.message and diag.rule_id == "t.l"
    lines = text.splitlines()
    start = next(i for i, ln in enumerate(lines, 1) if "linked:" in ln)
    line = next(i for i, ln in enumerate(lines, 1) if i > start and ln.strip().lstrip("- ").startswith(key))
    assert (diag.location.file, diag.location.line) == ("rules/t.yaml", line)


def test_links_run_between_clients_only() -> None:
    coach = {"coaching": [{"topic": "plan_submission_on_time", "reason": {"zh": "因为", "en": "because"}}]}
    text = rule_text(rule("t.m", {"linked": {"kind": "same_owner"}}, coach, subject="manager"))
    assert [d.code for d in check_rules({"rules/t.yaml": text}, KB)] == ["subject_mismatch"]
    # a manager rule reaches across its clients' links inside `exists`
    inner = {"exists": {"fact": "client", "where": {"linked": {"kind": "guarantor_of",
                                                               "where": {"client.overdue_amount": {"gt": 0}}}}}}
    assert codes(rule_text(rule("t.m", inner, coach, subject="manager"))) == []


def test_a_rule_past_its_review_date_is_a_located_warning_naming_its_owner_and_still_loads() -> None:
    import datetime as dt

    r = rule("t.review", {"client.is_key": True}, OK_THEN)
    r["owner"] = "risk-team"
    r["review_by"] = dt.date(2026, 6, 30)
    text = rule_text(r)
    rule_set, diags = check_rule_files({"rules/t.yaml": text}, KB, review_as_of=dt.date(2026, 7, 2))
    assert [(d.code, d.severity, d.rule_id) for d in diags] == [("review_overdue", "warning", "t.review")]
    line = next(i for i, t in enumerate(text.splitlines(), 1) if t.lstrip().startswith("review_by:"))
    assert (diags[0].location.file, diags[0].location.line) == ("rules/t.yaml", line)
    assert "risk-team" in diags[0].message and "2 day(s)" in diags[0].message
    assert rule_set is not None and [c.rule.owner for c in rule_set.rules] == ["risk-team"]
    # on the day itself, before it, and where nobody asked for a date (loading to serve): no warning
    for day in (dt.date(2026, 6, 30), dt.date(2026, 1, 1), None):
        assert check_rule_files({"rules/t.yaml": text}, KB, review_as_of=day)[1] == []
    assert [d.code for d in check_rules({"t.yaml": text}, KB, review_as_of=dt.date(2027, 1, 1))] == ["review_overdue"]


def test_a_review_date_that_is_not_a_date_is_refused_where_it_is_written() -> None:
    r = rule("t.review", {"client.is_key": True}, OK_THEN)
    r["review_by"] = "next spring"
    assert only(rule_text(r)) == "schema_violation"
