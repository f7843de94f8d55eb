"""engine/inference/book.py: the revision of a rule set, and a rule book checked completely before it
is compiled."""

from __future__ import annotations

import re

import pytest

from rm_advisor.engine import RuleError
from rm_advisor.engine.inference.book import check_rules, load_rule_book, revision_of
from rm_advisor.engine.loading.sources import read_kb_files, read_rule_files
from tests.conftest import ROOT
from tests.helpers import KB, KB_FILES, action, rule, rule_text

RULE_FILES = read_rule_files(ROOT / "rules")
GOOD = rule_text(rule("t.ok", {"client.is_key": True}, {"actions": [action("key_client_priority_service")]}))
#: a warning only (English copied into the zh text): the rule set still loads
WARNED = rule_text(rule("t.warned", {"client.is_key": True},
                        {"actions": [action("key_client_priority_service", zh="key client")]}))
BROKEN = rule_text(rule("t.broken", {"client.days_since_visit": {"gt": 3}},
                        {"actions": [action("periodic_visit_by_class")]}))
BAD_POLICY = ("policies:\n  - id: rest\n    kind: suppress_after\n    title: {zh: 休息, en: rest}\n"
              "    statuses: [forgotten]\n    days: 3\n")


def test_a_revision_is_a_short_content_hash() -> None:
    assert re.fullmatch(r"r-[0-9a-f]{12}", revision_of(KB_FILES, RULE_FILES))


def test_the_revision_does_not_depend_on_the_order_files_were_read_in() -> None:
    backwards = dict(reversed(list(RULE_FILES.items())))
    assert list(backwards) != list(RULE_FILES)
    assert revision_of(KB_FILES, backwards) == revision_of(KB_FILES, RULE_FILES)


def test_the_revision_does_not_depend_on_where_the_folders_are() -> None:
    # a server names files relative to its rule directory, the command line relative to the working
    # directory: both name the same rule set
    relative = (read_kb_files(ROOT / "knowledge_base", relative=True), read_rule_files(ROOT / "rules", relative=True))
    assert set(relative[1]) != set(RULE_FILES)
    assert revision_of(*relative) == revision_of(KB_FILES, RULE_FILES)


@pytest.mark.parametrize("name", ["tobacco.yaml", "contact.policies.yaml", "facts.yaml", "signals/bank.yaml"])
def test_one_byte_more_in_any_file_is_another_revision(name: str) -> None:
    kb, rules = dict(KB_FILES), dict(RULE_FILES)
    files = next(f for f in (kb, rules) if any(k.endswith("/" + name) for k in f))
    key = next(k for k in files if k.endswith("/" + name))
    files[key] += " "
    assert revision_of(kb, rules) != revision_of(KB_FILES, RULE_FILES)


def test_a_renamed_file_is_another_revision() -> None:
    assert revision_of({"rules/a.yaml": GOOD}) != revision_of({"rules/b.yaml": GOOD})
    # a name and a text are kept apart: moving bytes from one to the other changes the revision
    assert revision_of({"rules/ab": "c"}) != revision_of({"rules/a": "bc"})


def test_a_book_keeps_its_texts_and_their_revision() -> None:
    files = {"rules/test.yaml": GOOD}
    book = load_rule_book(files, KB_FILES)
    assert [r.id for r in book.rules] == ["t.ok"]
    assert book.revision == revision_of(KB_FILES, files)
    assert book.sources is not None
    assert (dict(book.sources.rules), dict(book.sources.knowledge_base)) == (files, KB_FILES)


def test_contact_policy_files_are_loaded_beside_the_rules_and_count_in_the_revision() -> None:
    shipped = load_rule_book(RULE_FILES, KB_FILES)
    policy_file = next(k for k in RULE_FILES if k.endswith(".policies.yaml"))
    assert "rest_after_done" in {p.id for p in shipped.policies.policies}
    assert policy_file not in {r.file for r in shipped.rules}  # told apart from the packs
    changed = {**RULE_FILES, policy_file: RULE_FILES[policy_file] + "\n# a comment\n"}
    assert load_rule_book(changed, KB_FILES).revision != shipped.revision


def test_warnings_do_not_stop_a_book_from_loading() -> None:
    (diag,) = check_rules({"rules/test.yaml": WARNED}, KB)
    assert (diag.code, diag.severity) == ("missing_text", "warning")
    assert [r.id for r in load_rule_book({"rules/test.yaml": WARNED}, KB_FILES).rules] == ["t.warned"]


def test_any_error_in_a_rule_or_policy_file_refuses_the_book_with_every_problem() -> None:
    files = {"rules/a.yaml": GOOD, "rules/b.yaml": BROKEN, "rules/rest.policies.yaml": BAD_POLICY}
    with pytest.raises(RuleError) as exc:
        load_rule_book(files, KB_FILES)
    found = sorted((d.code, d.location.file) for d in exc.value.diagnostics)
    assert found == [("schema_violation", "rules/rest.policies.yaml"), ("unknown_field", "rules/b.yaml")]
    with pytest.raises(RuleError):
        load_rule_book({"rules/a.yaml": GOOD, "rules/rest.policies.yaml": BAD_POLICY}, KB_FILES)


def test_check_rules_reports_errors_and_warnings_sorted_without_raising() -> None:
    files = {"rules/z.yaml": WARNED, "rules/b.yaml": BROKEN, "rules/a.policies.yaml": BAD_POLICY}
    diags = check_rules(files, KB)
    assert [(d.location.file, d.code, d.severity) for d in diags] == [
        ("rules/a.policies.yaml", "schema_violation", "error"), ("rules/b.yaml", "unknown_field", "error"),
        ("rules/z.yaml", "missing_text", "warning")]
    assert check_rules({"rules/test.yaml": GOOD}, KB) == []
