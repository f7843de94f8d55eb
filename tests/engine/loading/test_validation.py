"""engine/loading/validation.py: pydantic errors as located diagnostics, listed up to a cap and counted."""

from __future__ import annotations

from rm_advisor.engine.inference.book import check_rules
from rm_advisor.engine.loading.validation import MAX_DIAGNOSTICS, Omitted, problem_count
from tests.helpers import KB, codes


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
