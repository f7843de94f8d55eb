"""What a proposed rule release is shown with: its check, and what it changes against the serving one.

:func:`review_release` checks the proposed rule files completely (a rule set with any error is
refused with :class:`~rm_advisor.engine.RuleError`, as a reload refuses it), warns about rules past
their ``review_by`` date, compiles them, and replays facts under the serving and the proposed rule
book (:func:`engine.authoring.replay`): the newest logged batch run (each manager's newest
``batch`` decision, its masked input), or, while the log holds none, a small generated sample
portfolio. The summaries are plain JSON, kept with the release.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Literal

from rm_advisor.engine.authoring import replay
from rm_advisor.engine.errors import RuleError
from rm_advisor.engine.inference import Advisor, RuleBook, check_rules, load_rule_book
from rm_advisor.engine.language import FactSet, KnowledgeBase
from rm_advisor.store.decision_log import DecisionLog

#: At most this many warnings and single changes are kept with a release (all are counted).
MAX_LISTED = 100
#: The generated sample portfolio a diff runs over when the decision log has no batch run.
SAMPLE_CLIENTS, SAMPLE_MANAGERS = 120, 6

Basis = Literal["decision_log", "sample_portfolio"]


@dataclass(frozen=True)
class ReleaseReview:
    """A proposed rule set, compiled, with its check and diff summaries."""

    book: RuleBook
    check_summary: dict[str, Any]
    diff_summary: dict[str, Any]

    @property
    def revision(self) -> str:
        return self.book.revision


def review_release(rule_files: dict[str, str], kb_files: dict[str, str], serving: RuleBook, log: DecisionLog | None,
                   today: dt.date | None = None) -> ReleaseReview:
    """Check, compile and diff ``rule_files`` (with the serving knowledge base ``kb_files``)
    against ``serving``; raises :class:`RuleError` with every problem when the files do not check."""
    book = load_rule_book(rule_files, kb_files)
    warnings = [d for d in check_rules(rule_files, book.kb, review_as_of=today or dt.date.today())
                if d.severity == "warning"]
    check = {"errors": 0, "warnings": len(warnings), "by_code": _count(d.code for d in warnings),
             "listed": [d.to_dict() for d in warnings[:MAX_LISTED]]}
    basis, documents = _documents(log, book.kb)
    report = replay(Advisor(serving), Advisor(book), documents)
    full = report.to_dict()
    diff = {"basis": basis, "old_revision": report.old_revision, "new_revision": report.new_revision,
            "documents": report.documents, "subjects": report.subjects,
            "changed_subjects": report.changed_subjects, "totals": report.totals(), "by_item": report.by_item(),
            "changes_total": len(report.changes), "changes": full["changes"][:MAX_LISTED],
            "errors": len(report.errors)}
    return ReleaseReview(book, check, diff)


def _count(codes: Iterator[str] | Any) -> dict[str, int]:
    out: dict[str, int] = {}
    for code in codes:
        out[code] = out.get(code, 0) + 1
    return dict(sorted(out.items()))


def _documents(log: DecisionLog | None, kb: KnowledgeBase) -> tuple[Basis, list[tuple[str, Any]]]:
    """The newest logged batch run, one document per manager; else the sample portfolio."""
    latest = log.latest_by_manager() if log is not None else {}
    if log is not None and latest:
        ids = sorted(set(latest.values()))
        return "decision_log", [(decision_id, log.get(decision_id).input) for decision_id in ids]
    return "sample_portfolio", _sample(kb)


def _sample(kb: KnowledgeBase) -> list[tuple[str, FactSet]]:
    from rm_advisor.engine.language import build_fact_set
    from rm_advisor.engine.portfolio import check_tables, generate, prepare

    portfolio = generate(clients=SAMPLE_CLIENTS, managers=SAMPLE_MANAGERS)
    tables = check_tables(portfolio.clients, portfolio.managers, portfolio.history, kb, portfolio.as_of)
    parts = prepare(tables, kb, None)[1]
    return [(f"sample#{p.manager_id}", build_fact_set(p.facts, portfolio.as_of, kb, history=p.history))
            for p in parts]


__all__ = ["MAX_LISTED", "ReleaseReview", "RuleError", "review_release"]
