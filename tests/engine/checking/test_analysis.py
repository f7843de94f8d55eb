"""engine/checking/analysis.py: impossible conditions, subsumed rules, priority ties, parameter and text checks."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rm_advisor.engine import Advisor
from rm_advisor.engine.authoring.evaluation import evaluate_rule
from rm_advisor.engine.checking.analysis import can_hold
from rm_advisor.engine.errors import Diagnostic, RuleError
from rm_advisor.engine.inference.book import check_rules, load_rule_book
from rm_advisor.engine.inference.conditions import subject_env
from rm_advisor.engine.language.facts import build_fact_set
from rm_advisor.engine.language.rules import Rule
from tests.helpers import KB, KB_FILES, Doc, action, rule, rule_text

NET = {"actions": [action("guide_to_network_ordering")]}
VISIT = "client.days_since_last_visit"


def diags(*rules: Doc) -> list[Diagnostic]:
    return check_rules({"rules/test.yaml": rule_text(*rules)}, KB)


def found(*rules: Doc) -> list[tuple[str, str, str]]:
    return [(d.code, d.severity, d.rule_id) for d in diags(*rules)]


@pytest.mark.parametrize("when", [
    {"all": [{VISIT: {"gt": 30}}, {VISIT: {"lt": 10}}]},
    {VISIT: {"gt": 30, "lt": 31}},
    {"client.satisfaction": {"gt": 100}},
    {"all": [{"client.client_class": "A"}, {"client.client_class": {"in": ["B", "C"]}}]},
    {"client.client_class": {"not_in": ["A", "B", "C"]}},
    {"all": [{"client.network_client": True}, {"not": {"client.network_client": {"eq": True, "unknown": "no_match"}}}]},
    {"all": [{"client.network_client": {"present": False}}, {"client.network_client": False}]},
    {"all": [{"signal": "visit_overdue"}, {"not": {"signal": "visit_overdue"}}]},
    {"all": [{VISIT: {"gt": 30}}, {"any": [{VISIT: {"lt": 10}}, {VISIT: 5}]}]},
    {"all": [{VISIT: {"between": [3, 5]}}, {VISIT: {"not_in": [3, 4, 5]}}]},
    {"all": [{VISIT: {"gt": "$visit_interval_days_c"}}, {VISIT: {"lt": "$visit_interval_days_a"}}]},
    {"all": [{"client.agreement_expiry": {"in_next_days": 30}}, {"client.agreement_expiry": {"older_than_days": 10}}]},
    {"exists": {"fact": "interaction", "where": {"all": [{"interaction.days_open": {"gt": 5}},
                                                        {"interaction.days_open": {"le": 5}}]}}},
    {"all": [{VISIT: {"present": False}}, {VISIT: {"gt": 3, "unknown": "no_match"}}]},
    {"all": [{VISIT: {"present": False}}, {"not": {VISIT: {"gt": 3, "unknown": "match"}}}]},
    {"all": [{VISIT: {"gt": 30, "unknown": "match"}}, {VISIT: {"lt": 10, "unknown": "ask"}}]},  # ask: fails missing
])
def test_conditions_that_can_never_hold_are_errors(when: Doc) -> None:
    assert found(rule("t.never", when, NET)) == [("impossible_condition", "error", "t.never")]


@pytest.mark.parametrize("when", [
    {"all": [{VISIT: {"gt": 30}}, {"any": [{VISIT: {"lt": 10}}, {"client.network_client": True}]}]},
    {"client.satisfaction": {"gt": 30, "lt": 30.5}},
    {"all": [{"not": {"client.network_client": {"eq": True, "unknown": "no_match"}}},
             {"not": {"client.network_client": {"eq": False, "unknown": "no_match"}}}]},  # missing
    {"all": [{"client.agreement_expiry": {"in_next_days": 30}}, {"client.agreement_expiry": {"gt": dt.date(2030, 1,
                                                                                                           1)}}]},
    {"all": [{VISIT: {"ge": 3}}, {VISIT: {"le": 3}}, {VISIT: {"ne": 4}}]},
    {"all": [{VISIT: {"present": False}}, {VISIT: {"gt": 3, "unknown": "match"}}]},  # a missing value passes both
    {"all": [{VISIT: {"gt": 30, "unknown": "match"}}, {VISIT: {"lt": 10, "unknown": "match"}}]},
])
def test_conditions_that_can_hold_are_not_reported(when: Doc) -> None:
    assert found(rule("t.fine", when, NET)) == []


def test_contradiction_names_both_conditions_with_their_lines() -> None:
    text = rule_text(rule("t.never", {"all": [{VISIT: {"gt": 30}}, {"client.is_key": True}, {VISIT: {"lt": 10}}]}, NET))
    [d] = check_rules({"rules/test.yaml": text}, KB)
    lines = text.splitlines()
    gt_line = next(i for i, ln in enumerate(lines, 1) if ln.strip() == "gt: 30")
    lt_line = next(i for i, ln in enumerate(lines, 1) if ln.strip() == "lt: 10")
    assert (d.location.file, d.location.line) == ("rules/test.yaml", lt_line)
    assert f"(line {gt_line})" in d.message and f"(line {lt_line})" in d.message
    assert "client.is_key" not in d.message  # the conflict is minimal: only the two bounds


def test_an_impossible_rule_is_not_loaded() -> None:
    with pytest.raises(RuleError) as exc:
        load_rule_book({"rules/test.yaml": rule_text(rule("t.never", {VISIT: {"gt": 30, "lt": 10}}, NET))}, KB_FILES)
    assert [d.code for d in exc.value.diagnostics] == ["impossible_condition"]


def test_subsumed_rule_is_a_warning_on_the_narrower_rule() -> None:
    narrow = rule("t.narrow", {"all": [{VISIT: {"gt": 30}}, {"client.client_class": "A"}]}, NET)
    broad = rule("t.broad", {VISIT: {"gt": 10}}, NET)
    [d] = diags(narrow, broad)
    assert (d.code, d.severity, d.rule_id) == ("subsumed_rule", "warning", "t.narrow")
    assert "t.broad" in d.message and d.location.line == 13  # t.narrow's `when`


def test_equivalent_rules_are_reported_once() -> None:
    assert found(rule("t.a", {VISIT: {"gt": 10}}, NET), rule("t.b", {VISIT: {"ge": 11}}, NET)) == \
        [("subsumed_rule", "warning", "t.b")]


@pytest.mark.parametrize("narrow_extra, broad_extra", [
    ({"priority": 60}, {}),  # the narrow rule raises the score: it matters
    ({}, {"effective": {"from": dt.date(2026, 6, 1)}}),  # the broad rule is not always in effect
])
def test_a_rule_that_changes_the_outcome_is_not_subsumed(narrow_extra: Doc, broad_extra: Doc) -> None:
    narrow = rule("t.narrow", {"all": [{VISIT: {"gt": 30}}, {"client.client_class": "A"}]}, NET, **narrow_extra)
    broad = rule("t.broad", {VISIT: {"gt": 10}}, NET, **broad_extra)
    assert "subsumed_rule" not in [c for c, _, _ in found(narrow, broad)]


def test_signals_and_exists_take_part_in_subsumption() -> None:
    inter = {"exists": {"fact": "interaction", "where": {"interaction.kind": "complaint"}}}
    narrow = rule("t.narrow", {"all": [{"signal": "visit_overdue"}, inter, {"client.is_key": True}]}, NET)
    broad = rule("t.broad", {"all": [{"signal": "visit_overdue"}, inter]}, NET)
    other = rule("t.other", {"all": [{"signal": "visit_overdue"}, {"client.is_key": True}]},
                 {"actions": [action("periodic_visit_by_class")]})
    assert ("subsumed_rule", "warning", "t.narrow") in found(narrow, broad, other)


def test_same_action_same_priority_when_both_can_fire() -> None:
    a = rule("t.a", {"client.client_class": "A"}, NET)
    b = rule("t.b", {"client.network_client": False}, NET)
    [d] = diags(a, b)
    assert (d.code, d.severity, d.rule_id) == ("same_action_priority", "warning", "t.b")
    assert "t.a" in d.message and "guide_to_network_ordering" in d.message


@pytest.mark.parametrize("b_when, b_extra", [
    ({"client.client_class": "B"}, {}),  # cannot fire together
    ({"client.network_client": False}, {"priority": 60}),  # different priority
])
def test_no_priority_tie_when_rules_exclude_each_other_or_differ(b_when: Doc, b_extra: Doc) -> None:
    assert found(rule("t.a", {"client.client_class": "A"}, NET), rule("t.b", b_when, NET, **b_extra)) == []


def test_parameter_of_another_unit_is_an_error() -> None:
    [d] = diags(rule("t.unit", {"client.slow_stock_share_pct": {"gt": "$visit_interval_days_a"}}, NET))
    assert (d.code, d.severity) == ("parameter_unit", "error") and "percent" in d.message


def test_hard_coded_threshold_equal_to_a_parameter_is_a_warning() -> None:
    literal = rule("t.literal", {VISIT: {"gt": 7}}, NET)
    param = rule("t.param", {"all": [{"client.client_class": "A"}, {VISIT: {"gt": "$visit_interval_days_a"}}]},
                 {"actions": [action("periodic_visit_by_class")]})
    [d] = diags(literal, param)
    assert (d.code, d.severity, d.rule_id) == ("threshold_parameter", "warning", "t.literal")
    assert "$visit_interval_days_a" in d.message


def test_hard_coded_threshold_contradicting_a_parameter_for_the_same_outcome() -> None:
    literal = rule("t.literal", {"all": [{"client.domain": "tobacco"}, {VISIT: {"gt": 9}}]},
                   {"actions": [action("periodic_visit_by_class")]}, priority=40)
    param = rule("t.param", {"all": [{"client.client_class": "A"}, {VISIT: {"gt": "$visit_interval_days_a"}}]},
                 {"actions": [action("periodic_visit_by_class")]}, priority=60)
    assert found(literal, param) == [("threshold_parameter", "warning", "t.literal")]


def test_a_different_threshold_for_a_different_outcome_is_fine() -> None:
    literal = rule("t.literal", {VISIT: {"gt": 9}}, NET)
    param = rule("t.param", {VISIT: {"gt": "$visit_interval_days_a"}}, {"actions": [action("periodic_visit_by_class")]})
    assert found(literal, param) == []


@pytest.mark.parametrize("zh, en, severity", [
    ("because", "because", "warning"),  # zh is English
    ("因为", "因为", "warning"),  # en is Chinese
    ("{client.name}!", "because", "error"),  # zh says nothing
])
def test_texts_in_the_wrong_language_or_empty(zh: str, en: str, severity: str) -> None:
    found_ = found(rule("t.text", {"client.is_key": True}, {"actions": [action("guide_to_network_ordering", zh=zh,
                                                                               en=en)]}))
    assert found_ and all(code == "missing_text" for code, _, _ in found_)
    assert {s for _, s, _ in found_} == {severity}


def test_shipped_packs_have_no_analysis_errors(advisor: Advisor) -> None:
    from rm_advisor.engine.loading.sources import read_rule_files
    from tests.conftest import ROOT
    errors = [d.format() for d in check_rules(read_rule_files(ROOT / "rules"),
                                              advisor.book.kb) if d.severity == "error"]
    assert errors == []


# ---------------------------------------------------------------------------- soundness and completeness

OPS = st.sampled_from(["gt", "ge", "lt", "le", "eq", "ne", "in", "not_in", "between"])


@st.composite
def comparison(draw: st.DrawFn) -> Doc:
    op = draw(OPS)
    if op in ("in", "not_in"):
        out: Doc = {op: sorted(draw(st.sets(st.integers(0, 12), min_size=1, max_size=4)))}
    elif op == "between":
        low = draw(st.integers(0, 12))
        out = {op: [low, draw(st.integers(low, 12))]}
    else:
        out = {op: draw(st.integers(0, 12))}
    unknown = draw(st.sampled_from([None, "match", "no_match"]))  # what a missing value counts as
    return out if unknown is None else {**out, "unknown": unknown}


@st.composite
def conjunction(draw: st.DrawFn) -> Doc:
    parts = draw(st.lists(st.tuples(comparison(), st.booleans()), min_size=1, max_size=4))
    return {"all": [{"not": {VISIT: c}} if neg else {VISIT: c} for c, neg in parts]}


@settings(max_examples=200, deadline=None)
@given(conjunction())
def test_impossible_exactly_when_no_value_satisfies(when: Doc) -> None:
    """Compared with brute force over every value (and a missing one) of an integer field."""
    parsed = Rule.model_validate(rule("t.p", when, NET))
    as_of = dt.date(2026, 11, 23)
    holds_somewhere = False
    for value in [None, *range(0, 16)]:
        client: Doc = {"id": "C1", "manager_id": "M1", "domain": "tobacco"}
        if value is not None:
            client[VISIT.split(".")[1]] = value
        fs = build_fact_set({"client": [client]}, as_of, KB)
        env = subject_env(KB, fs, "client", fs.subjects("client")[0])
        holds_somewhere |= evaluate_rule(parsed, env, KB, {}).holds
    assert can_hold(parsed, KB) == holds_somewhere


def test_rules_chained_through_a_signal_may_share_an_action_and_priority() -> None:
    flag = rule("t.flag", {"client.credit_bad_record": True},
                {"signals": ["credit_red_flag"], "actions": [action("monitor_client_risk")]}, priority=95)
    general = rule("t.general", {"signal": "credit_red_flag"}, {"actions": [action("monitor_client_risk")]},
                   priority=95)
    assert found(flag, general) == []


# ---------------------------------------------------------------- comparisons between fields

_OVER = {"compare": {"left": "client.credit_requested", "op": "gt", "right": "client.funding_need"}}


def test_a_comparison_between_fields_with_its_own_negation_can_never_hold() -> None:
    assert sorted(found(rule("t.never", {"all": [_OVER, {"not": _OVER}]}, NET))) == [
        ("impossible_condition", "error", "t.never"), ("not_on_missing", "warning", "t.never")]


def test_comparisons_between_fields_are_opaque_to_value_analysis_and_prove_subsumption() -> None:
    # the comparison is not a constant threshold: nothing else conflicts with it
    assert found(rule("t.may", {"all": [_OVER, {"client.funding_need": {"gt": 5}}]}, NET)) == []
    narrow = rule("t.narrow", {"all": [_OVER, {"client.is_key": True}]}, NET)
    broad = rule("t.broad", _OVER, NET)
    assert ("subsumed_rule", "warning", "t.narrow") in found(narrow, broad)


def _implies_by_definition(a: Rule, b: Rule) -> bool:
    """``a and not b`` never holds: every branch of the two forms joined conflicts."""
    from rm_advisor.engine.checking import analysis
    if a.subject != b.subject or not analysis._window_within(a, b):
        return False
    left, right = analysis._dnf(a.when, ("when",), KB), analysis._dnf(b.when, ("when",), KB, negated=True)
    joined = analysis._product([left, right]) if left is not None and right is not None else None
    return joined is not None and all(analysis._conflict(br, KB) is not None for br in joined)


def _co_fire_by_definition(a: Rule, b: Rule) -> bool:
    from rm_advisor.engine.checking import analysis
    if not analysis._windows_overlap(a, b):
        return False
    left, right = analysis._dnf(a.when, ("when",), KB), analysis._dnf(b.when, ("when",), KB)
    joined = analysis._product([left, right]) if left is not None and right is not None else None
    return joined is None or any(analysis._conflict(br, KB) is None for br in joined)


PAIR_WHENS: list[Doc] = [
    {VISIT: {"gt": 30}}, {VISIT: {"gt": 10}}, {VISIT: {"le": 5}}, {"not": {VISIT: {"gt": 10}}},
    {"all": [{VISIT: {"gt": 30}}, {"client.client_class": "A"}]}, {"client.client_class": {"in": ["A", "B"]}},
    {"any": [{"client.client_class": "C"}, {"signal": "visit_overdue"}]}, {"signal": "visit_overdue"},
    {"not": {"signal": "visit_overdue"}}, {"client.is_key": True}, {"client.is_key": {"present": True}},
    {"any": [{"client.is_key": {"present": True}}, {"client.is_key": {"present": False}}]},  # always holds
    {"exists": {"fact": "interaction", "where": {"interaction.kind": "complaint"}}},
    {"not": {"exists": {"fact": "interaction", "where": {"interaction.kind": "complaint"}}}},
]


def test_the_indexed_pairwise_checks_agree_with_their_definitions() -> None:
    """Subsumption and priority ties look only at rules that test something in common (and at rules
    that always hold): on every pair of these conditions the shortcut gives what combining every
    branch gives."""
    from rm_advisor.engine.checking import analysis
    rules = [Rule.model_validate(rule(f"t.r{i:02d}", when, NET)) for i, when in enumerate(PAIR_WHENS)]
    shapes = analysis._Shapes(rules, KB)
    for a in rules:
        for b in rules:
            assert analysis._implies(a, b, KB, shapes) == _implies_by_definition(a, b), (a.id, b.id)
            assert analysis._can_co_fire(a, b, KB, shapes) == _co_fire_by_definition(a, b), (a.id, b.id)
    assert any(_implies_by_definition(a, rules[11]) for a in rules if a.id != "t.r11")  # the one that always holds


def test_loading_to_serve_leaves_out_the_pairwise_warnings_but_refuses_every_error() -> None:
    narrow = rule("t.narrow", {"all": [{VISIT: {"gt": 30}}, {"client.client_class": "A"}]}, NET)
    broad = rule("t.broad", {VISIT: {"gt": 10}}, NET)
    never = rule("t.never", {VISIT: {"gt": 30, "lt": 10}}, NET)
    files = {"rules/test.yaml": rule_text(narrow, broad, never)}
    assert {d.code for d in check_rules(files, KB)} == {"subsumed_rule", "impossible_condition"}
    with pytest.raises(RuleError) as exc:
        load_rule_book(files, KB_FILES)
    assert [d.code for d in exc.value.diagnostics] == ["impossible_condition"]
    with pytest.raises(RuleError) as exc:
        load_rule_book(files, KB_FILES, pairwise=True)
    assert {d.code for d in exc.value.diagnostics} == {"subsumed_rule", "impossible_condition"}
    assert [r.id for r in load_rule_book({"rules/test.yaml": rule_text(narrow, broad)}, KB_FILES).rules] == \
        ["t.broad", "t.narrow"]
