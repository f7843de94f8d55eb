"""Texts without holes, in both languages: every text a manager reads from the demo batch (the bundled
sample portfolio, 2,000 clients of 40 managers in all three domains, as `rm-advisor batch` and `make demo`
run it) has a value or a fallback for each placeholder and shows no code of the fact schema.

The whole demo batch, in this process (about 6 s of CPU; 15 s on the busy 2-core machine): it is what
people are shown, and at 2,000 clients rules that fire for one client in a few hundred fire too (a poor
law-compliance record, a credit red flag), which a portfolio of a few hundred clients would mostly leave
out. `rm-advisor check` covers every rule statically (`missing_fallback`,
tests/engine/checking/test_presence.py); this covers what the engine writes."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.inference import arbitration
from rm_advisor.engine.language import Filled, KnowledgeBase, Lang, Text, render
from rm_advisor.engine.portfolio.batch import BatchPlan, BatchResult, run_batch
from rm_advisor.engine.portfolio.sample import AS_OF

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Read:
    """One text a person reads: where it is, which rule wrote it (if one did), and the text."""

    where: str
    rule_id: str
    text: Text


@dataclass(frozen=True)
class Demo:
    result: BatchResult
    #: every placeholder filled without a value or a fallback while the batch ran: (rule template, ref)
    holes: list[tuple[str, str]]


@pytest.fixture(scope="module")
def demo(advisor: Advisor) -> Iterator[Demo]:
    holes: list[tuple[str, str]] = []

    def recording(text: str, facts: Mapping[str, Mapping[str, Any] | None], lang: Lang | None = None,
                  kb: KnowledgeBase | None = None) -> Filled:
        filled = render(text, facts, lang, kb)
        holes.extend((text, ref) for ref in filled.holes)
        return filled

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(arbitration, "render", recording)
        result = run_batch(advisor, BatchPlan(AS_OF, jobs=1))  # the sample portfolio of `rm-advisor batch`
    yield Demo(result, holes)


def _read(result: BatchResult) -> Iterator[Read]:
    """Every reason, veto, suppression, derived-field and worklist text of the batch."""
    for r in result.run.results:
        for s in [*r.decision.clients, *r.decision.managers]:
            for rec in [*s.recommendations, *s.vetoed, *s.suppressed]:
                at = f"{s.subject_type} {s.id} {rec.id}"
                yield from (Read(at, x.rule_id, x.text) for x in rec.reasons)
                yield from (Read(f"{at} veto", x.rule_id, x.text) for x in rec.vetoed_by)
                yield from (Read(f"{at} held back by {x.policy_id}", "", x.text) for x in rec.suppressed_by)
            yield from (Read(f"{s.subject_type} {s.id} derived {d.field}", "", d.text) for d in s.derived)
        w = r.worklist
        yield from (Read(f"worklist {w.manager_id} {i.client_id}", "", i.reason) for i in [*w.items, *w.desk])
        yield from (Read(f"worklist {w.manager_id} {x.client_id} set aside", "", x.reason) for x in w.set_aside)


def _templates(advisor: Advisor, rule_id: str) -> list[str]:
    rule = advisor.book.by_id().get(rule_id)
    if rule is None:
        return []
    then = rule.rule.then
    texts = [o.reason for o in then.actions] + [o.reason for o in then.coaching]
    texts += [then.veto.reason] if then.veto else []
    return [t.zh for t in texts] + [t.en for t in texts]


def _codes(kb: KnowledgeBase) -> tuple[set[str], set[str]]:
    """(codes no zh text may show, codes no en text may show): every enum value of the fact schema
    that is not a word of its own zh label (A of A类 is how Chinese writes the class), and true and
    false; in English, the codes that are not words (with an underscore) and true and false."""
    zh = {"true", "false"}
    for spec in kb.facts.values():
        for f in spec.fields.values():
            zh |= {v for v in f.values or () if f.type == "enum" and v not in _WORD.findall(f.labels[v].zh)}
    return zh, {"true", "false"} | {v for v in zh if "_" in v}


def test_the_demo_batch_writes_every_kind_of_text_in_all_three_domains(demo: Demo) -> None:
    read = list(_read(demo.result))
    assert demo.result.counts.clients == 2000 and len(read) > 15_000
    assert {r.where.split()[1][0] for r in read if r.where.startswith("client ")} == {"T", "B", "G"}  # domains
    for kind in (" veto", " derived ", " set aside", "manager "):
        assert any(kind in r.where for r in read), kind


def test_no_placeholder_was_filled_without_a_value_or_a_fallback(demo: Demo) -> None:
    assert sorted(set(demo.holes)) == []


def test_no_text_has_a_question_mark_its_template_did_not_write(advisor: Advisor, demo: Demo) -> None:
    # a question mark is a hole (what a missing value used to show) unless the rule's own words ask one
    odd = [f"{r.where}: {text}" for r in _read(demo.result) for text in (r.text.zh, r.text.en)
           if text.count("?") + text.count("？") >
           max((t.count("?") + t.count("？") for t in _templates(advisor, r.rule_id)), default=0)]
    assert odd[:10] == [], f"{len(odd)} texts"


def test_no_text_shows_a_code_of_the_fact_schema(advisor: Advisor, demo: Demo) -> None:
    zh_codes, en_codes = _codes(advisor.book.kb)
    assert {"low_awareness", "major", "resisting", "true", "false"} <= zh_codes and "A" not in zh_codes
    zh = [f"{r.where}: {r.text.zh}" for r in _read(demo.result) if set(_WORD.findall(r.text.zh)) & zh_codes]
    en = [f"{r.where}: {r.text.en}" for r in _read(demo.result) if set(_WORD.findall(r.text.en)) & en_codes]
    assert (zh[:10], en[:10]) == ([], []), f"{len(zh)} zh and {len(en)} en texts"
