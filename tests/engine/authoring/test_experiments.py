"""engine/authoring/experiments.py: experiment files checked with located errors, deterministic
assignment, Wilson intervals and the two-proportion test."""

from __future__ import annotations

import hashlib
import json
from collections import Counter

import pytest

from rm_advisor.engine.authoring.experiments import (
    ArmCounts,
    analyse,
    assign,
    check_experiment,
    experiment_file_json_schema,
    two_proportions,
    wilson,
)
from rm_advisor.engine.language import SubjectKey
from tests.conftest import ROOT

GOOD = """\
id: visit_interval
arms:
  - {name: champion, rules: ../rules}
  - {name: challenger, rules: ../rules_next, weight: 3}
start: 2026-12-01
end: 2026-12-31
"""


def test_a_good_file_is_read_with_its_defaults() -> None:
    found, diags = check_experiment(GOOD, "exp.yaml")
    assert diags == [] and found is not None
    assert [a.name for a in found.arms] == ["champion", "challenger"]
    assert found.metrics == ("acceptance", "completion") and found.min_per_arm == 100


@pytest.mark.parametrize("text, expected", [
    (GOOD.replace("weight: 3", "wieght: 3"), ("schema_violation", 4, "unknown key `wieght`")),
    (GOOD.replace("name: challenger", "name: champion"), ("bad_value", 4, "named twice")),
    (GOOD.replace("2026-12-31", "2026-11-30"), ("bad_dates", 6, "before start")),
    (GOOD.replace("weight: 3", "weight: 0"), ("schema_violation", 4, "greater than 0")),
    ("id: x\narms: [{name: a, rules: r}]\n", ("schema_violation", 2, "at least 2")),
    ("id: [\n", ("yaml_syntax", 0, "")),
])
def test_bad_files_are_refused_at_the_place(text: str, expected: tuple[str, int, str]) -> None:
    found, diags = check_experiment(text, "exp.yaml")
    code, line, words = expected
    assert found is None
    d = diags[0]
    assert d.code == code and d.location.file == "exp.yaml" and words in d.message
    if line:
        assert d.location.line == line


def test_assignment_is_stable_independent_per_experiment_and_follows_the_weights() -> None:
    weights = [("champion", 1.0), ("challenger", 3.0)]
    subjects = [SubjectKey("client", f"C{i}") for i in range(4000)]
    first = [assign("exp_a", weights, s) for s in subjects]
    assert first == [assign("exp_a", weights, s) for s in subjects]  # same answer every time
    share = Counter(first)["challenger"] / len(subjects)
    assert 0.72 < share < 0.78  # 3 of 4, within sampling noise of 4,000 draws
    other = [assign("exp_b", weights, s) for s in subjects]
    assert sum(a != b for a, b in zip(first, other, strict=True)) > 1000  # another experiment splits anew
    # the documented formula, so a CRM can tell a client's arm itself: the first 8 bytes of the
    # SHA-256 of "exp_a<US>client:C1" as a share of 2**64, times the total weight, against the
    # cumulative weights (here below 1: the champion)
    point = int.from_bytes(hashlib.sha256(b"exp_a\x1fclient:C1").digest()[:8], "big") / 2**64 * 4
    assert (point < 1) == (assign("exp_a", weights, SubjectKey("client", "C1")) == "champion")


def test_wilson_interval_matches_the_published_values() -> None:
    # Wilson (1927) score interval, 95 %: 8 of 10 -> 0.490 .. 0.943 (Newcombe 1998, table I)
    rate = wilson(8, 10)
    assert rate.rate == 0.8 and rate.low == pytest.approx(0.4902, abs=1e-4) and rate.high == pytest.approx(0.9433,
                                                                                                       abs=1e-4)
    assert wilson(0, 0).rate is None


def test_two_proportion_test_matches_the_textbook_z() -> None:
    # 40/100 against 60/100: pooled p = 0.5, z = 0.2 / sqrt(0.5 * 0.5 * 0.02) = 2.828, p = 0.00468
    difference, low, high, p_value = two_proportions(40, 100, 60, 100)
    assert difference == pytest.approx(0.2) and p_value == pytest.approx(0.00468, abs=1e-5)
    assert low == pytest.approx(0.2 - 1.959964 * (0.0048 ** 0.5), abs=1e-6) and high > difference


def test_analysis_says_not_enough_evidence_below_the_minimum_and_when_not_significant() -> None:
    small = analyse("x", [ArmCounts(name="a", shown=50, accepted=10), ArmCounts(name="b", shown=50, accepted=40)])
    assert [c.verdict for c in small.comparisons] == ["not_enough_evidence"] * 2 and not small.enough_evidence
    same = analyse("x", [ArmCounts(name="a", shown=500, accepted=200), ArmCounts(name="b", shown=500, accepted=205)],
                   metrics=("acceptance",))
    [c] = same.comparisons
    assert c.verdict == "not_enough_evidence" and c.p_value is not None and c.p_value > 0.05
    worse = analyse("x", [ArmCounts(name="a", shown=500, accepted=250), ArmCounts(name="b", shown=500, accepted=150)],
                    metrics=("acceptance",))
    assert worse.comparisons[0].verdict == "worse" and "b is worse than a" in worse.comparisons[0].summary.en
    assert "b" in worse.comparisons[0].summary.zh


def test_the_committed_schema_is_the_generated_one() -> None:
    committed = json.loads((ROOT / "rules" / "experiment.schema.json").read_text(encoding="utf-8"))
    assert committed == experiment_file_json_schema(), "run `make schema`"
