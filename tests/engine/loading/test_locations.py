"""engine/loading/locations.py: rule ids, the parts of their conditions, and catalogue entries mapped
back to file:line:column."""

from __future__ import annotations

from rm_advisor.engine.errors import Location
from rm_advisor.engine.loading.locations import Locator
from tests.helpers import KB_FILES, Doc, action, rule, rule_text


def then() -> Doc:
    return {"actions": [action("guide_to_network_ordering")]}  # a new one each time: no YAML alias


FIRST = rule_text(rule("t.a", {"all": [{"client.is_key": True}, {"client.tier": "major"}]}, then()),
                  rule("t.b", {"client.is_key": True}, then()))
SECOND = rule_text(rule("t.c", {"client.is_key": True}, then()), rule("t.a", {"client.tier": "major"}, then()))


def _at(text: str, fragment: str, nth: int = 1) -> tuple[int, int]:
    """The 1-based line and column where the ``nth`` line holding ``fragment`` has it."""
    found = [(n, line.index(fragment) + 1) for n, line in enumerate(text.splitlines(), 1) if fragment in line]
    return found[nth - 1]


def _where(loc: Location) -> tuple[str, int, int]:
    return loc.file, loc.line, loc.column


def test_a_rule_is_located_at_its_item_in_its_file() -> None:
    loc = Locator.from_files({"rules/a.yaml": FIRST, "rules/c.yaml": SECOND})
    assert _where(loc.rule("t.a")) == ("rules/a.yaml", *_at(FIRST, "id: t.a"))
    assert _where(loc.rule("t.b")) == ("rules/a.yaml", *_at(FIRST, "id: t.b"))
    assert _where(loc.rule("t.c")) == ("rules/c.yaml", *_at(SECOND, "id: t.c"))


def test_a_path_inside_a_rule_is_located_at_that_part() -> None:
    loc = Locator.from_files({"rules/a.yaml": FIRST})
    assert _where(loc.rule("t.a", ("when", "all", 1))) == ("rules/a.yaml", *_at(FIRST, "client.tier: major"))
    assert _where(loc.rule("t.b", ("then", "actions", 0, "action"))) == (
        "rules/a.yaml", *_at(FIRST, "action: guide_to_network_ordering", nth=2))
    # a path that leads nowhere in the file stops at the deepest part that exists
    assert loc.rule("t.a", ("when", "all", 7, "client.nope")) == loc.rule("t.a", ("when", "all"))


def test_a_rule_id_used_twice_is_located_where_it_comes_first() -> None:
    # files are indexed in name order; the checker reports the second one as duplicate_rule_id
    loc = Locator.from_files({"rules/z.yaml": FIRST, "rules/c.yaml": SECOND})
    assert _where(loc.rule("t.a")) == ("rules/c.yaml", *_at(SECOND, "id: t.a"))


def test_an_unknown_rule_or_entry_is_named_not_located() -> None:
    loc = Locator.from_files({"rules/a.yaml": FIRST}, KB_FILES)
    assert loc.rule("t.nope") == Location(path="rule t.nope")
    assert loc.entry("actions", "no_such_action") == Location(path="actions no_such_action")


def test_files_or_items_that_are_no_rules_are_skipped() -> None:
    files = {"rules/a.yaml": FIRST, "rules/broken.yaml": "rules: [", "rules/odd.yaml": "rules: {t.x: 1}\n",
             "rules/ids.yaml": "rules: [{title: no id}, {id: 3}, 7]\n"}
    assert sorted(Locator.from_files(files).rules) == ["t.a", "t.b"]


def test_signal_action_and_coaching_entries_are_located_at_their_id() -> None:
    loc = Locator.from_files({}, KB_FILES)
    for kind, entry_id, file_end in (("signals", "credit_red_flag", "signals/bank.yaml"),
                                     ("actions", "guide_to_network_ordering", "actions.yaml"),
                                     ("coaching", "crm_system_mastery", "coaching.yaml")):
        name = next(k for k in KB_FILES if k.endswith("/" + file_end))
        assert _where(loc.entry(kind, entry_id)) == (name, *_at(KB_FILES[name], f"id: {entry_id}")), entry_id
