"""Document coverage: which passages of the source documents the rule set uses, and why the others not.

The structured extractions of the source documents (``../shared/domain/extraction-*.md``) list the
passages that tie a client's or a manager's situation to an action, a tier or a score: the decision
rules of §4 (``CR-04``, ``D4-CC-13``, ...) and the figures of §8. ``docs/document-coverage.yaml``
gives each of them either the rules and scoring schemes that use it or, under ``not_used``, the
reason (zh and en) it is deliberately left out; ``docs/document-coverage.md`` is written from it by
:func:`coverage_markdown` (``make docs``).

Passage ids: §4 items keep their extraction ids. §8 items are numbered in document order, with the
extraction's two document numbers in the prefix (``extraction-000-002.md`` gives ``02``,
``extraction-003-004.md`` gives ``34``): ``F02-07`` is the 7th row of the figures table, ``S02-1``
the 1st sample profile, ``X34-1`` the 1st filler bullet, ``S34-1`` the 1st fixture sketch. Each §8
entry repeats the figure's text (``figure``), so that a renumbered extraction is noticed.

Nothing here reads a file: callers pass texts (see ``tests/docs/test_document_coverage.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from pydantic import Field, model_validator

from rm_advisor.engine.authoring.scenarios import load_scenarios
from rm_advisor.engine.errors import Diagnostic, RuleError
from rm_advisor.engine.language.knowledge import Strict, Text
from rm_advisor.engine.loading.validation import validate_document
from rm_advisor.engine.loading.yaml_source import parse_yaml


class PassageEntry(Strict):
    """One passage and how the rule set uses it, or why it does not."""

    id: str = Field(pattern=r"^[A-Z0-9]+(-[A-Z0-9]+)+$")
    source: str = Field(description="extraction file and section, e.g. `extraction-000-002.md §4.1`")
    summary: str | None = Field(default=None, description="what the passage says (decision rules)")
    figure: str | None = Field(default=None, description="the figure's text as the extraction gives it (§8)")
    rules: tuple[str, ...] = Field(default=(), description="rule ids that use the passage")
    schemes: tuple[str, ...] = Field(default=(), description="scoring ids (`scheme` or `scheme.item`) that use it")
    scenarios: tuple[str, ...] = Field(default=(), description="names of scenarios that state the passage's case")
    note: Text | None = Field(default=None, description="what of a used passage is left out, and why")
    not_used: Text | None = Field(default=None, description="why the passage is deliberately not used")

    @model_validator(mode="after")
    def _used_or_not(self) -> PassageEntry:
        used = bool(self.rules or self.schemes)
        if used == (self.not_used is not None):
            raise ValueError("give either `rules`/`schemes` or `not_used`, not both and not neither")
        if (self.summary is None) == (self.figure is None):
            raise ValueError("give `summary` (a decision rule) or `figure` (a §8 figure)")
        return self

    @property
    def used(self) -> bool:
        return self.not_used is None


class CoverageFile(Strict):
    """``docs/document-coverage.yaml``."""

    passages: tuple[PassageEntry, ...] = Field(min_length=1)


@dataclass(frozen=True)
class Passage:
    """A passage as the extraction gives it: its id, where it is, and (for §8) its text."""

    id: str
    source: str
    figure: str | None = None


def parse_coverage(text: str, name: str = "docs/document-coverage.yaml") -> CoverageFile:
    """The coverage table; :class:`RuleError` with located diagnostics when it is not well formed."""
    parsed = parse_yaml(text, name)
    doc, errs = (None, []) if parsed.unreadable else validate_document(CoverageFile, parsed)
    diags: list[Diagnostic] = [*parsed.diagnostics, *errs]
    if doc is None or diags:
        raise RuleError(diags or [Diagnostic("schema_violation", "not a coverage table")])
    return doc


def _clean(text: str) -> str:
    return " ".join(text.replace("**", "").split())


def _tag(name: str) -> str:
    first, second = (str(n) for n in re.findall(r"\d+", name)[:2])
    return first[-1] + second[-1]


def extraction_passages(name: str, text: str) -> list[Passage]:
    """The passages of one extraction (``name`` is its file name): the §4 decision rules, then the
    §8 figures, profiles, filler and fixture sketches, in document order."""
    out: list[Passage] = []
    rules = text.split("\n## 4. ", 1)[1].split("\n## 5. ", 1)[0]
    section = "§4"
    for line in rules.splitlines():
        if m := re.match(r"### (4\.\d+) ", line):
            section = "§" + m.group(1)
        elif m := re.match(r"- \*\*([A-Z0-9]+(?:-[A-Z0-9]+)+)\*\* \[", line) or \
                re.match(r"\| ([A-Z0-9]+(?:-[A-Z0-9]+)+) \|", line):
            out.append(Passage(m.group(1), f"{name} {section}"))
    tag = _tag(name)
    figures = text.split("\n## 8. ", 1)[1]
    counters = {"F": 0, "S": 0, "X": 0}
    part, section = "F", "§8"
    for line in figures.splitlines():
        if m := re.match(r"### (8\.\d+) ", line):
            section = "§" + m.group(1)
            part = {"8.1": "F", "8.2": "X", "8.3": "S"}.get(m.group(1), part)
            continue
        if line.startswith("**Sample client profiles"):
            part = "S"
            continue
        figure = None
        if part == "F" and line.startswith("| ") and not re.match(r"\| (Figure|-)", line):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            figure = f"{cells[0]} — {cells[1]}"
        elif part in ("S", "X") and (m := re.match(r"- \*+([^*]+)\*+", line)):
            figure = m.group(1).rstrip(":")
        elif part == "S" and (m := re.match(r"# (.+)", line)) and section == "§8.3":
            figure = m.group(1)
        if figure is not None:
            counters[part] += 1
            width = 2 if part == "F" else 1
            out.append(Passage(f"{part}{tag}-{counters[part]:0{width}d}", f"{name} {section}", _clean(figure)))
    return out


def coverage_problems(coverage: CoverageFile, passages: Iterable[Passage], rule_refs: Mapping[str, str | None],
                      schemes: Iterable[str], scenarios: Iterable[str] = ()) -> list[str]:
    """What is wrong with the table against the extractions and the rule set: passages missing,
    listed twice or unknown; a §8 figure that is not the extraction's; rule, scheme or scenario
    names that do not exist; a rule citing a passage (``provenance.ref``) that does not list it.
    ``rule_refs`` is every rule id with its provenance ref; ``schemes`` every scoring id and
    ``scheme.item``. An empty list means the table is complete and true."""
    expected = {p.id: p for p in passages}
    known_schemes, known_scenarios = set(schemes), set(scenarios)
    problems: list[str] = []
    seen: dict[str, PassageEntry] = {}
    for entry in coverage.passages:
        if entry.id in seen:
            problems.append(f"{entry.id}: listed twice")
        seen[entry.id] = entry
        passage = expected.get(entry.id)
        if passage is None:
            problems.append(f"{entry.id}: no such passage in the extractions")
            continue
        if entry.source != passage.source:
            problems.append(f"{entry.id}: source is `{passage.source}`, not `{entry.source}`")
        if passage.figure is not None and entry.figure != passage.figure:
            problems.append(f"{entry.id}: the extraction's figure is `{passage.figure}`, not `{entry.figure}`")
        if passage.figure is None and entry.figure is not None:
            problems.append(f"{entry.id}: a decision rule takes `summary`, not `figure`")
        problems += [f"{entry.id}: unknown rule `{r}`" for r in entry.rules if r not in rule_refs]
        problems += [f"{entry.id}: unknown scheme `{s}`" for s in entry.schemes if s not in known_schemes]
        problems += [f"{entry.id}: unknown scenario `{s}`" for s in entry.scenarios if s not in known_scenarios]
    problems += [f"{pid}: not listed" for pid in expected if pid not in seen]
    for rule_id, ref in sorted(rule_refs.items()):
        if ref in expected and ref in seen and rule_id not in seen[ref].rules:
            problems.append(f"{ref}: rule `{rule_id}` cites it (provenance ref) but is not listed under it")
    return problems


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def coverage_markdown(coverage: CoverageFile, open_cases: Sequence[str] = ()) -> str:
    """``docs/document-coverage.md``: counts, then one table per extraction section; ``open_cases``
    names the practitioner cases the shipped packs still answer wrongly (docs/open-cases.scenarios.yaml)."""
    entries = coverage.passages
    used = [e for e in entries if e.used]
    lines = [
        "# Document coverage",
        "",
        "<!-- Written from docs/document-coverage.yaml by `make docs`; tests/docs/test_document_coverage.py"
        " fails when they differ. -->",
        "",
        "Every passage of the extractions that ties a client's or a manager's situation to an action, a tier "
        "or a score (the decision rules of §4 and the figures of §8 of `extraction-000-002.md` and "
        "`extraction-003-004.md`) is either used by rules or scoring schemes, or deliberately not used, "
        "with the reason.",
        "",
        f"**{len(entries)} passages: {len(used)} used, {len(entries) - len(used)} not used.**",
        "",
        *(f"- {label}: {len(group)}, {sum(e.used for e in group)} used, {sum(not e.used for e in group)} not used"
          for label, group in (("decision rules (§4)", [e for e in entries if e.summary is not None]),
                               ("figures, profiles and sketches (§8)", [e for e in entries if e.figure is not None]))),
        "",
        "| section | passages | used | not used |",
        "|---|---:|---:|---:|",
    ]
    sections: dict[str, list[PassageEntry]] = {}
    for e in entries:
        sections.setdefault(e.source, []).append(e)
    for source, group in sections.items():
        n = sum(e.used for e in group)
        lines.append(f"| {source} | {len(group)} | {n} | {len(group) - n} |")
    for source, group in sections.items():
        lines += ["", f"## {source}", "", "| passage | what it says | used by | not used because |",
                  "|---|---|---|---|"]
        for e in group:
            what = _cell(e.summary if e.summary is not None else e.figure or "")
            uses = ", ".join(f"`{x}`" for x in (*e.rules, *e.schemes))
            if e.scenarios:
                uses += "; scenarios: " + "; ".join(f"“{_cell(s)}”" for s in e.scenarios)
            if e.note:
                uses += f" — {_cell(e.note.en)} ({_cell(e.note.zh)})"
            why = f"{_cell(e.not_used.en)} ({_cell(e.not_used.zh)})" if e.not_used else ""
            lines.append(f"| {e.id} | {what} | {uses} | {why} |")
    if open_cases:
        lines += ["", "## Practitioner cases the shipped packs answer wrongly", "",
                  "Kept in `docs/open-cases.scenarios.yaml` (each still fails; "
                  "`tests/docs/test_document_coverage.py` says when one passes, so it can move to "
                  "`rules/practice_cases.scenarios.yaml`):", ""]
        lines += [f"- {name}" for name in open_cases]
    return "\n".join(lines) + "\n"


def markdown_from_texts(coverage_text: str, open_cases_text: str | None = None) -> str:
    """:func:`coverage_markdown` of the coverage table's text and the open cases' scenario file text
    (what ``make docs`` writes to ``docs/document-coverage.md``)."""
    names: list[str] = []
    if open_cases_text is not None:
        cases, diags = load_scenarios({"docs/open-cases.scenarios.yaml": open_cases_text})
        if diags:
            raise RuleError(diags)
        names = [c.scenario.name for c in cases]
    return coverage_markdown(parse_coverage(coverage_text), names)
