"""The rule book: a rule set, its contact policies and its arbitration checked completely, then compiled.

``load_rule_book`` is what every door uses (the library, the CLI, the server's reload): it loads
the knowledge base, checks every rule file and policy file, and compiles only when nothing is
wrong; otherwise it raises :class:`RuleError` with every problem. ``check_rules`` reports without
compiling (``rm-advisor check``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import replace

from rm_advisor.engine.checking.checker import check_rule_files
from rm_advisor.engine.collector import paused
from rm_advisor.engine.errors import Diagnostic, RuleError
from rm_advisor.engine.inference.compiler import RuleBook, SourceTexts, compile_rule_set
from rm_advisor.engine.language.knowledge import KnowledgeBase
from rm_advisor.engine.loading.knowledge_base import load_knowledge_base
from rm_advisor.engine.loading.sources import is_arbitration_file, is_policy_file
from rm_advisor.engine.policies.arbitration import check_arbitration_files
from rm_advisor.engine.policies.contact import check_policy_files


def revision_of(*file_sets: dict[str, str]) -> str:
    """A content hash of the rule and knowledge-base files: equal texts, equal revision."""
    h = hashlib.sha256()
    for files in file_sets:
        for name in sorted(files):
            h.update(name.rsplit("/", 1)[-1].encode() + b"\0" + files[name].encode() + b"\0")
    return "r-" + h.hexdigest()[:12]


def _split(files: dict[str, str]) -> tuple[dict[str, str], dict[str, str], dict[str, str]]:
    """Rule files, contact-policy files (``*.policies.yaml``) and arbitration files
    (``arbitration.yaml``) of one rule directory."""
    rules = {n: t for n, t in files.items() if not is_policy_file(n) and not is_arbitration_file(n)}
    return (rules, {n: t for n, t in files.items() if is_policy_file(n)},
            {n: t for n, t in files.items() if is_arbitration_file(n)})


def check_rules(rule_files: dict[str, str], kb: KnowledgeBase,
                documents: Mapping[str, str] | None = None, review_as_of: dt.date | None = None) -> list[Diagnostic]:
    """Every problem in a rule set and its contact policies (errors and warnings), without compiling;
    with ``documents`` (document id -> text), provenance quotes are looked up in them too; with
    ``review_as_of``, rules due for review before that day are warned about (``review_overdue``)."""
    rules, policies, arbitration = _split(rule_files)
    with paused():
        _, diags = check_rule_files(rules, kb, documents, review_as_of=review_as_of)
        _, policy_diags = check_policy_files(policies, kb)
        _, arbitration_diags = check_arbitration_files(arbitration, kb)
    return sorted(diags + policy_diags + arbitration_diags, key=Diagnostic.sort_key)


def load_rule_book(rule_files: dict[str, str], kb_files: dict[str, str], pairwise: bool = False) -> RuleBook:
    """Check and compile; raise :class:`RuleError` with all problems otherwise.

    ``rule_files`` may hold contact-policy files (``*.policies.yaml``) beside the rule packs; the
    revision covers every file, and the book keeps the texts so a decision log can store them.
    Every check that can find an error runs; the findings that compare rules with each other
    (warnings only, the slow part on a large rule set) run with ``pairwise=True``, as in
    :func:`check_rules`: loading to serve does not need them.
    """
    with paused():
        kb = load_knowledge_base(kb_files)
        rules, policy_files, arbitration_files = _split(rule_files)
        rule_set, diags = check_rule_files(rules, kb, pairwise=pairwise)
        policies, policy_diags = check_policy_files(policy_files, kb)
        arbitration, arbitration_diags = check_arbitration_files(arbitration_files, kb)
        if rule_set is None or policies is None or arbitration is None or any(d.severity == "error" for d in diags):
            raise RuleError(sorted(diags + policy_diags + arbitration_diags, key=Diagnostic.sort_key))
        book = compile_rule_set(rule_set, revision_of(kb_files, rule_files))
    return replace(book, policies=policies, arbitration=arbitration,
                   sources=SourceTexts(dict(rule_files), dict(kb_files)))
