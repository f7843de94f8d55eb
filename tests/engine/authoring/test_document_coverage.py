"""engine/authoring/document_coverage.py: the extraction's passages are found with their ids and
sections, the checker names every kind of drift, an entry is used or says why not, and the markdown
shows counts, uses and reasons."""

from __future__ import annotations

import pytest

from rm_advisor.engine.authoring.document_coverage import (
    CoverageFile,
    coverage_markdown,
    coverage_problems,
    extraction_passages,
    markdown_from_texts,
    parse_coverage,
)
from rm_advisor.engine.errors import RuleError

EXTRACT = """# x
## 4. Decision rules
### 4.1 Tiers
- **CR-01** [group, E]: IF a → THEN b.
- **CR-02** [group, E]: IF c → THEN d.
## 5. Next
## 8. Numbers and facts
| Figure | Context | Source |
|---|---|---|
| **5** grade levels | Village banks | D1 |
**Sample client profiles**
- *Group client*: x.
"""


def _table(entries: str) -> CoverageFile:
    return parse_coverage("passages:\n" + entries)


def test_the_checker_names_what_is_missing_unknown_misplaced_or_stale() -> None:
    found = extraction_passages("extraction-000-002.md", EXTRACT)
    assert [(p.id, p.source, p.figure) for p in found] == [
        ("CR-01", "extraction-000-002.md §4.1", None), ("CR-02", "extraction-000-002.md §4.1", None),
        ("F02-01", "extraction-000-002.md §8", "5 grade levels — Village banks"),
        ("S02-1", "extraction-000-002.md §8", "Group client")]
    table = _table(
        "  - {id: CR-01, source: extraction-000-002.md §4.1, summary: a, rules: [x.unknown]}\n"
        "  - {id: F02-01, source: extraction-000-002.md §8, figure: 6 grade levels, schemes: [ladder]}\n"
        "  - {id: S02-1, source: extraction-000-002.md §8, figure: Group client, not_used: {zh: 无, en: none}}\n")
    problems = coverage_problems(table, found, {"x.cites": "CR-01"}, {"ladder"})
    assert problems == [
        "CR-01: unknown rule `x.unknown`",
        "F02-01: the extraction's figure is `5 grade levels — Village banks`, not `6 grade levels`",
        "CR-02: not listed",
        "CR-01: rule `x.cites` cites it (provenance ref) but is not listed under it",
    ]


def test_an_entry_must_be_used_or_say_why_not() -> None:
    with pytest.raises(RuleError):
        _table("  - {id: CR-01, source: s, summary: a}\n")
    with pytest.raises(RuleError):
        _table("  - {id: CR-01, source: s, summary: a, rules: [x.y], not_used: {zh: 无, en: none}}\n")


def test_the_markdown_counts_and_shows_uses_notes_and_reasons() -> None:
    table = _table(
        "  - {id: CR-01, source: extraction-000-002.md §4.1, summary: a | b, rules: [x.y],\n"
        "     note: {zh: 部分, en: partly}}\n"
        "  - {id: CR-02, source: extraction-000-002.md §4.1, summary: c,\n"
        "     not_used: {zh: 人事决定, en: an HR decision}}\n")
    md = coverage_markdown(table, ["case one"])
    assert "**2 passages: 1 used, 1 not used.**" in md
    assert "| CR-01 | a \\| b | `x.y` — partly (部分) |  |" in md
    assert "| CR-02 | c |  | an HR decision (人事决定) |" in md
    assert md.endswith("- case one\n")


def test_markdown_from_texts_names_the_open_cases() -> None:
    table = "passages:\n  - {id: CR-01, source: s, summary: a, rules: [x.y]}\n"
    cases = "scenarios:\n  - {name: a case still answered wrongly, facts: {clients: []}, expect: []}\n"
    assert markdown_from_texts(table, cases).endswith("- a case still answered wrongly\n")
    assert "answer wrongly" not in markdown_from_texts(table)
