"""Small builders for tests: a rule file from a list of rule dicts, rule sets loaded from texts."""

from __future__ import annotations

from typing import Any

import yaml

from engine import Advisor
from engine.compiler import RuleBook
from engine.loader import check_rules, load_knowledge_base, load_rule_book
from engine.sources import read_kb_files
from tests.conftest import ROOT

KB_FILES = read_kb_files(ROOT / "knowledge_base")
KB = load_knowledge_base(KB_FILES)
QUOTE = {"document": "D4", "quote": "努力引导客户向网络客户发展"}


def rule(rule_id: str, when: Any, then: Any, subject: str = "client", priority: int = 50, **extra: Any) -> dict:
    return {"id": rule_id, "title": {"zh": "测试", "en": "test"}, "domain": "tobacco", "subject": subject,
            "provenance": QUOTE, "priority": priority, "when": when, "then": then, **extra}


def action(action_id: str, en: str = "because", zh: str = "因为", **extra: Any) -> dict:
    return {"action": action_id, "reason": {"zh": zh, "en": en}, **extra}


def rule_text(*rules: dict, pack: str = "test") -> str:
    return yaml.safe_dump({"pack": pack, "rules": list(rules)}, allow_unicode=True, sort_keys=False)


def book(*rules: dict) -> RuleBook:
    return load_rule_book({"rules/test.yaml": rule_text(*rules)}, KB_FILES)


def advisor(*rules: dict, max_firings: int = 10_000) -> Advisor:
    return Advisor(book(*rules), max_firings)


def codes(text: str) -> list[str]:
    return [d.code for d in check_rules({"rules/test.yaml": text}, KB)]


def client(cid: str = "C1", **fields: Any) -> dict:
    return {"id": cid, "manager_id": "M1", "domain": "tobacco", **fields}
