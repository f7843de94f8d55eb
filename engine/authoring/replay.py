"""Replay facts under two rule sets and report which decisions change, before a change rolls out.

:func:`replay` takes any iterable of ``(name, facts)`` pairs, where ``facts`` is a facts document
or an already validated :class:`FactSet`, so a portfolio loader can stream its documents in. For
every subject it compares the recommendations (and vetoes) of the old and the new rule set:

* ``added``: recommended now, not before;  ``removed``: recommended before, not now (``vetoed``
  says when a veto now blocks it);  ``reranked``: recommended by both at another rank;
* ``veto``: vetoed by one rule set and absent from the other.

The report groups the changes per manager (a client counts for its manager) and per action or
coaching topic, with totals.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from rm_advisor.engine.errors import AdvisorError, Diagnostic
from rm_advisor.engine.inference.advisor import Advisor, Run
from rm_advisor.engine.language.decision import SubjectDecision
from rm_advisor.engine.language.facts import FactSet
from rm_advisor.engine.language.subjects import SubjectKey

ChangeKind = Literal["added", "removed", "reranked", "veto"]
KINDS: tuple[ChangeKind, ...] = ("added", "removed", "reranked", "veto")


@dataclass(frozen=True)
class Change:
    """One action or coaching topic whose place in one subject's decision differs."""

    document: str
    subject: str
    manager: str
    item: str
    kind: ChangeKind
    before: str  # "rank 2 (score 70)", "vetoed" or "-"
    after: str

    def to_dict(self) -> dict[str, Any]:
        return {"document": self.document, "subject": self.subject, "manager": self.manager, "item": self.item,
                "kind": self.kind, "before": self.before, "after": self.after}


@dataclass(frozen=True)
class DocumentError:
    """A facts document that one of the rule sets could not decide on."""

    document: str
    side: Literal["old", "new"]
    diagnostics: tuple[Diagnostic, ...]


@dataclass(frozen=True)
class ReplayReport:
    """Every change between two rule sets over a set of facts, with per-manager and per-item counts."""

    old_revision: str
    new_revision: str
    documents: int
    subjects: int
    changes: tuple[Change, ...]
    errors: tuple[DocumentError, ...] = ()
    managers: tuple[str, ...] = field(default=())

    @property
    def changed_subjects(self) -> int:
        return len({(c.document, c.subject) for c in self.changes})

    def totals(self) -> dict[str, int]:
        counts = Counter(c.kind for c in self.changes)
        return {k: counts.get(k, 0) for k in KINDS}

    def by_manager(self) -> dict[str, dict[str, int]]:
        """Manager id -> changed subjects and counts per kind (managers without changes included)."""
        out: dict[str, dict[str, int]] = {m: {"subjects": 0, **{k: 0 for k in KINDS}} for m in self.managers}
        subjects: dict[str, set[tuple[str, str]]] = {}
        for c in self.changes:
            row = out.setdefault(c.manager, {"subjects": 0, **{k: 0 for k in KINDS}})
            row[c.kind] += 1
            subjects.setdefault(c.manager, set()).add((c.document, c.subject))
        for m, s in subjects.items():
            out[m]["subjects"] = len(s)
        return dict(sorted(out.items()))

    def by_item(self) -> dict[str, dict[str, int]]:
        """Action or coaching id -> counts per kind."""
        out: dict[str, dict[str, int]] = {}
        for c in self.changes:
            out.setdefault(c.item, {k: 0 for k in KINDS})[c.kind] += 1
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, Any]:
        return {"old_revision": self.old_revision, "new_revision": self.new_revision, "documents": self.documents,
                "subjects": self.subjects, "changed_subjects": self.changed_subjects, "totals": self.totals(),
                "by_manager": self.by_manager(), "by_item": self.by_item(),
                "changes": [c.to_dict() for c in self.changes],
                "errors": [{"document": e.document, "side": e.side,
                            "diagnostics": [d.to_dict() for d in e.diagnostics]} for e in self.errors]}


def replay(old: Advisor, new: Advisor, documents: Iterable[tuple[str, Mapping[str, Any] | FactSet]]) -> ReplayReport:
    """Decide every document under both rule sets and collect what changes."""
    changes: list[Change] = []
    errors: list[DocumentError] = []
    managers: set[str] = set()
    count = subjects = 0
    for name, facts in documents:
        count += 1
        before, after = _run(old, facts, name, "old", errors), _run(new, facts, name, "new", errors)
        if before is None or after is None:
            continue
        owners = _owners(new, after.fact_set)
        managers |= {m for m in owners.values() if m}
        olds = {_key(s): s for s in before.decision.clients + before.decision.managers}
        news = {_key(s): s for s in after.decision.clients + after.decision.managers}
        subjects += len(olds.keys() | news.keys())
        for key in sorted(olds.keys() | news.keys()):
            changes += _compare(name, key, owners.get(key, ""), olds.get(key), news.get(key))
    return ReplayReport(old.revision, new.revision, count, subjects, tuple(changes), tuple(errors),
                        tuple(sorted(managers)))


def _run(advisor: Advisor, facts: Mapping[str, Any] | FactSet, name: str, side: Literal["old", "new"],
         errors: list[DocumentError]) -> Run | None:
    try:
        return advisor.run(facts)
    except AdvisorError as exc:
        errors.append(DocumentError(name, side, tuple(exc.diagnostics)))
        return None


def _key(s: SubjectDecision) -> SubjectKey:
    return SubjectKey(s.subject_type, s.id)


def _owners(advisor: Advisor, fact_set: FactSet) -> dict[SubjectKey, str]:
    """Subject -> the manager it belongs to (a manager belongs to itself)."""
    kb = advisor.book.kb
    out: dict[SubjectKey, str] = {}
    for subject_type in kb.subjects():
        link = kb.one_links(subject_type).get("manager")
        for fact in fact_set.subjects(subject_type):
            owner = fact["id"] if subject_type == "manager" else fact.get(link) if link else None
            out[SubjectKey.of(subject_type, fact["id"])] = str(owner) if owner is not None else ""
    return out


def _places(s: SubjectDecision | None) -> dict[str, str]:
    if s is None:
        return {}
    out = {r.id: f"rank {i} (score {r.score})" for i, r in enumerate(s.recommendations, 1)}
    out.update({r.id: "vetoed" for r in s.vetoed})
    return out


def _compare(document: str, subject: SubjectKey, manager: str, old: SubjectDecision | None,
             new: SubjectDecision | None) -> list[Change]:
    before, after = _places(old), _places(new)
    out = []
    for item in sorted(before.keys() | after.keys()):
        b, a = before.get(item, "-"), after.get(item, "-")
        if b == a:
            continue
        ranked_b, ranked_a = b.startswith("rank"), a.startswith("rank")
        if ranked_a and not ranked_b:
            kind: ChangeKind = "added"
        elif ranked_b and not ranked_a:
            kind = "removed"
        elif ranked_a and ranked_b:
            if b.split()[1] == a.split()[1]:
                continue  # same rank, only the score moved: nothing a manager sees changes place
            kind = "reranked"
        else:
            kind = "veto"
        out.append(Change(document, str(subject), manager, item, kind, b, a))
    return out
