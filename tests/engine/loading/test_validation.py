"""engine/loading/validation.py: pydantic errors as located diagnostics, listed up to a cap and counted."""

from __future__ import annotations

from typing import Any

from rm_advisor.engine.errors import Diagnostic
from rm_advisor.engine.inference.book import check_rules
from rm_advisor.engine.language.rules import RuleFile
from rm_advisor.engine.loading.validation import MAX_DIAGNOSTICS, Omitted, problem_count, validate_document
from rm_advisor.engine.loading.yaml_source import parse_yaml
from tests.helpers import KB, action, codes, rule, rule_text

OK_THEN = {"actions": [action("guide_to_network_ordering")]}


def test_regression_thousands_of_schema_errors_are_counted_in_linear_time() -> None:
    # issue 12: `_relevant` compared every error's path with every other's (4.9 s for 10,000 errors)
    text = "rules: [" + ",".join(["1"] * 10_000) + "]\n"
    diags = check_rules({"rules/ones.yaml": text}, KB)  # CPU: bench/hostile_api.py
    assert len(diags) == MAX_DIAGNOSTICS + 1 and [d.code for d in diags[:-1]] == ["schema_violation"] * 100
    summary = diags[-1]
    assert isinstance(summary, Omitted) and summary.code == "too_many_problems"
    assert summary.count > 9_000 and f"{summary.count} more" in summary.message
    assert sum(problem_count(d) for d in diags) > 10_000
    assert summary.location.file == "rules/ones.yaml" and summary.location.line == 1


def test_a_few_schema_errors_are_all_listed_and_counted_exactly() -> None:
    text = "pack: t\nrules: [" + ",".join(["1"] * 60) + "]\n"
    diags = check_rules({"rules/ones.yaml": text}, KB)
    assert [d.code for d in diags] == ["schema_violation"] * 60 and sum(map(problem_count, diags)) == 60


def test_an_empty_rule_list_is_still_too_short() -> None:
    # the "too short" pydantic adds for a list whose items failed is dropped; one with no items stays
    assert codes("pack: t\nrules: []\n") == ["schema_violation"]
    assert "too_short" not in str(check_rules({"rules/t.yaml": "pack: t\nrules: [1]\n"}, KB))


# ---- each pydantic error a located diagnostic --------------------------------------------------

def _at(text: str, fragment: str) -> tuple[int, int]:
    """The 1-based line and column where ``fragment`` first starts in ``text``."""
    for number, line in enumerate(text.splitlines(), 1):
        if fragment in line:
            return number, line.index(fragment) + 1
    raise AssertionError(f"{fragment!r} not in the text")


def _validate(text: str, **options: Any) -> tuple[RuleFile | None, list[Diagnostic]]:
    return validate_document(RuleFile, parse_yaml(text, "rules/t.yaml"), **options)


def test_a_valid_document_is_its_model_and_no_problem() -> None:
    doc, diags = _validate(rule_text(rule("t.ok", {"client.is_key": True}, OK_THEN)))
    assert diags == [] and doc is not None and [r.id for r in doc.rules] == ["t.ok"]


def test_an_unknown_key_is_named_at_its_place_with_the_key_meant() -> None:
    text = rule_text(rule("t.ok", {"client.is_key": True}, OK_THEN), rule("t.typo", {"client.is_key": True}, OK_THEN,
                                                                           prority=60))
    doc, (diag,) = _validate(text)
    assert doc is None
    assert (diag.code, diag.rule_id, diag.message) == ("schema_violation", "t.typo",
                                                       "unknown key `prority` at rules.1.prority")
    assert diag.hint == "did you mean `priority`?"
    assert (diag.location.file, diag.location.line, diag.location.column) == ("rules/t.yaml", *_at(text, "prority:"))


def test_the_key_meant_is_one_allowed_at_that_level_never_the_unknown_key_itself() -> None:
    """`signals` is a key under a rule's `then`, not at the top of a rule file: no "did you mean `signals`"."""
    body = rule_text(rule("t.ok", {"client.is_key": True}, OK_THEN))
    _, diags = _validate(body + "signals:\n  - id: x\n")
    [extra] = [d for d in diags if "unknown key" in d.message]
    assert extra.message == "unknown key `signals` at signals" and extra.hint == "remove this key"
    _, diags = _validate(body.replace("rules:", "rule:", 1))
    assert "did you mean `rules`?" in {d.hint for d in diags}


def test_each_missing_key_is_named_at_the_mapping_that_lacks_it() -> None:
    text = "pack: t\nrules:\n  - id: t.short\n    title: {zh: 短, en: short}\n"
    _, diags = _validate(text)
    assert [d.message for d in diags] == [f"missing key `{k}` at rules.0.{k}"
                                          for k in ("domain", "subject", "provenance", "when", "then")]
    assert {(d.rule_id, d.hint, d.location.line, d.location.column) for d in diags} == {
        ("t.short", "add it", *_at(text, "id: t.short"))}


def test_a_value_of_no_allowed_type_is_one_problem_saying_what_was_expected() -> None:
    text = rule_text(rule("t.list", {"client.days_since_last_visit": {"gt": [3]}}, OK_THEN))
    _, (diag,) = _validate(text)
    assert diag.message == ("expected boolean or date or integer or number or string "
                            "at rules.0.when.client.days_since_last_visit.gt")
    assert (diag.location.line, diag.location.column) == _at(text, "gt:")


def test_the_problems_past_the_limit_are_counted_where_the_first_of_them_is() -> None:
    text = "pack: t\nrules: [1, 2, 3, 4, 5]\n"
    _, diags = _validate(text, limit=2, code="my_code")
    assert [d.code for d in diags] == ["my_code", "my_code", "too_many_problems"]
    omitted = diags[-1]
    assert isinstance(omitted, Omitted) and omitted.count == 3 and "3 more my_code problem(s)" in omitted.message
    assert (omitted.location.line, omitted.location.column) == _at(text, "3,")
    assert [problem_count(d) for d in diags] == [1, 1, 3]
