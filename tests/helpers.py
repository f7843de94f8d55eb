"""Small builders for tests: a rule file from a list of rule dicts, rule sets loaded from texts."""

from __future__ import annotations

from typing import Any

import pandas as pd
import yaml

from rm_advisor.engine import Advisor
from rm_advisor.engine.inference.book import check_rules, load_rule_book
from rm_advisor.engine.inference.compiler import RuleBook
from rm_advisor.engine.language.decision import Decision, SubjectDecision
from rm_advisor.engine.loading.knowledge_base import load_knowledge_base
from rm_advisor.engine.loading.sources import read_kb_files
from rm_advisor.engine.portfolio.tables import check_table
from tests.conftest import ROOT

KB_FILES = read_kb_files(ROOT / "knowledge_base")
KB = load_knowledge_base(KB_FILES)
Doc = dict[str, Any]  # a plain document: a rule, an action, a fact, a facts document

QUOTE = {"document": "D4", "quote": "努力引导客户向网络客户发展"}


def rule(rule_id: str, when: Any, then: Any, subject: str = "client", priority: int = 50, **extra: Any) -> Doc:
    return {"id": rule_id, "title": {"zh": "测试", "en": "test"}, "domain": "tobacco", "subject": subject,
            "provenance": QUOTE, "priority": priority, "when": when, "then": then, **extra}


def action(action_id: str, en: str = "because", zh: str = "因为", **extra: Any) -> Doc:
    return {"action": action_id, "reason": {"zh": zh, "en": en}, **extra}


def rule_text(*rules: Doc, pack: str = "test") -> str:
    return yaml.safe_dump({"pack": pack, "rules": list(rules)}, allow_unicode=True, sort_keys=False)


def kb_files_with(name_end: str, old: str, new: str) -> dict[str, str]:
    """The shipped knowledge-base files with ``old`` replaced by ``new`` once in the file ending ``name_end``."""
    files = dict(KB_FILES)
    key = next(k for k in files if k.endswith(name_end))
    assert old in files[key]
    files[key] = files[key].replace(old, new, 1)
    return files


def book(*rules: Doc) -> RuleBook:
    return load_rule_book({"rules/test.yaml": rule_text(*rules)}, KB_FILES)


def advisor(*rules: Doc, max_firings: int = 10_000) -> Advisor:
    return Advisor(book(*rules), max_firings)


def codes(text: str) -> list[str]:
    return [d.code for d in check_rules({"rules/test.yaml": text}, KB)]


def client(cid: str = "C1", **fields: Any) -> Doc:
    return {"id": cid, "manager_id": "M1", "domain": "tobacco", **fields}


def subject_of(decision: Decision, subject_type: str, subject_id: str) -> SubjectDecision:
    """The decision about one subject, which the test expects to be there."""
    found = decision.subject(subject_type, subject_id)
    assert found is not None, f"no decision about {subject_type} {subject_id}"
    return found


def decision_id(decision: Decision) -> str:
    """The id of a logged decision (a decision that was not logged has none)."""
    assert decision.id is not None, "the decision was not logged"
    return decision.id



Ranked = SubjectDecision | list[str]  # a subject's recommendations, or their ids in rank order


def _ids(ranked: Ranked) -> list[str]:
    return [r.id for r in ranked.recommendations] if isinstance(ranked, SubjectDecision) else list(ranked)


def holdable(ranked: Ranked, kinds: tuple[str, ...] = ("service", "sales")) -> str:
    """The best recommended action of ``kinds`` (default: those a contact policy may hold back; a
    risk or obligation action is never rested)."""
    found = next((i for i in _ids(ranked) if KB.actions[i].kind in kinds), None)
    assert found is not None, f"no {'/'.join(kinds)} action is recommended"
    return found


def duty(ranked: Ranked) -> str:
    """The best recommended risk or obligation action."""
    return holdable(ranked, ("risk", "obligation"))


def rejectable(ranked: Ranked, *reasons: str) -> str:
    """The best recommended action that feedback with each of ``reasons`` (default:
    ``client_not_interested``) fits, by its kind and channel."""
    specs = [KB.feedback_reasons[r] for r in reasons or ("client_not_interested",)]
    found = next((i for i in _ids(ranked) if all(s.fits(KB.actions[i]) for s in specs)), None)
    assert found is not None, f"no recommended action takes the reasons {reasons}"
    return found


def first_difference(a: Any, b: Any, at: str = "") -> str | None:
    """Where two JSON values first differ (``.clients[0].recommendations[2].score: 65 != 90``)."""
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            found = first_difference(a.get(k), b.get(k), f"{at}.{k}")
            if found:
                return found
        return None
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return next((d for i, (x, y) in enumerate(zip(a, b, strict=True))
                     if (d := first_difference(x, y, f"{at}[{i}]"))), None)
    return None if a == b else f"{at}: {a!r} != {b!r}"[:500]


#: The history table's columns, as a CRM exports them.
HISTORY_COLUMNS = ["id", "manager_id", "client_id", "kind", "date", "status", "item", "level", "amount", "quantity",
                   "slow_quantity", "new_brand", "closed_date", "due_date"]


def ev(manager: str, kind: str, date: str, client: str | None = None, **cols: Any) -> Doc:
    """One history row (its id is given by :func:`events`)."""
    return {"manager_id": manager, "client_id": client, "kind": kind, "date": date, **cols}


def events(*rows: Doc, columns: list[str] = HISTORY_COLUMNS) -> pd.DataFrame:
    """Typed events ``E1``, ``E2``, … as the history table arrives after its check (cells given as text)."""
    raw = pd.DataFrame([{c: (None if r.get(c) is None else str(r.get(c))) for c in columns} | {"id": f"E{i}"}
                        for i, r in enumerate(rows, 1)], columns=columns, dtype=object)
    checked = check_table(raw, KB.facts["interaction"], "interaction", "history.csv")
    assert [d for d in checked.diagnostics if d.severity == "error"] == []
    return checked.frame


def table(fact_type: str, rows: list[Doc]) -> pd.DataFrame:
    """A client or manager table after its check."""
    checked = check_table(pd.DataFrame(rows, dtype=object), KB.facts[fact_type], fact_type, f"{fact_type}.csv")
    assert checked.bad_rows == 0
    return checked.frame
