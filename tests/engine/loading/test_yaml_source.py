"""engine/loading/yaml_source.py: positions, duplicate keys, syntax errors, safe loading."""

import pytest

from rm_advisor.engine.loading.yaml_source import MAX_DEPTH, parse_yaml, rule_fragments


def test_positions_point_at_keys_and_items() -> None:
    p = parse_yaml("a:\n  b: 1\n  c:\n    - x\n    - y\n", "f.yaml")
    assert p.positions[("a", "b")] == (2, 3)
    assert p.positions[("a", "c", 1)] == (5, 7)
    assert p.locate(("a", "c", 1, "tag-added-by-validator")).line == 5


def test_unsafe_tags_are_refused() -> None:
    p = parse_yaml("x: !!python/object/apply:os.system ['echo hi']\n", "f.yaml")
    assert p.data is None and [d.code for d in p.diagnostics] == ["yaml_syntax"]


def test_duplicate_keys_are_reported() -> None:
    p = parse_yaml("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert [(d.code, d.location.line) for d in p.diagnostics] == [("duplicate_key", 3)]


def test_fragments_keep_original_lines() -> None:
    text = "pack: p\nrules:\n  - id: a.one\n    x: 1\n  - id: a.two\n    y: [\n"
    frags = rule_fragments(text, "f.yaml")
    assert frags[0].locate(("rules", 0, "x")).line == 4
    assert frags[1].diagnostics[0].location.line >= 6


def _alias_bomb(levels: int) -> str:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]" for i in range(1, levels)]
    return "\n".join(lines) + "\n"


def test_regression_alias_bomb_is_refused_not_expanded() -> None:
    # nine levels of ten aliases stand for 10^9 nodes; walking them took minutes (a check-route DoS)
    p = parse_yaml(_alias_bomb(9), "bomb.yaml")
    assert p.data is None and [d.code for d in p.diagnostics] == ["yaml_too_complex"]


def test_aliases_within_the_budget_still_work() -> None:
    p = parse_yaml(_alias_bomb(3), "ok.yaml")
    assert p.diagnostics == () and len(p.data["l2"]) == 10


def test_regression_deep_nesting_is_a_diagnostic_not_a_recursion_error() -> None:
    p = parse_yaml("a: " + "[" * 5000 + "]" * 5000 + "\n", "deep.yaml")
    assert p.data is None and [d.code for d in p.diagnostics] == ["yaml_too_complex"]


def _block_nest(depth: int) -> str:
    return "".join("  " * i + f"k{i}:\n" for i in range(depth)) + "  " * depth + "leaf\n"


def test_nesting_up_to_the_limit_is_read() -> None:
    p = parse_yaml("a: " + "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1) + "\n", "ok.yaml")
    assert p.diagnostics == () and p.data is not None
    assert parse_yaml(_block_nest(MAX_DEPTH - 1), "ok.yaml").diagnostics == ()


@pytest.mark.parametrize("text, line, column", [
    ("rules:\n  - a: " + "[" * 200 + "]" * 200 + "\n", 2, 8 + MAX_DEPTH - 3),  # 3 levels before the first [
    (_block_nest(MAX_DEPTH + 5), MAX_DEPTH + 1, 2 * MAX_DEPTH + 1),        # indentation
])
def test_too_deep_is_too_complex_at_the_place_whatever_the_yaml_library_says(text: str, line: int,
                                                                             column: int) -> None:
    # the project's own limit, checked before PyYAML's (libyaml 0.2.5 stops at 1,000 with its own message)
    p = parse_yaml(text, "deep.yaml")
    assert p.data is None
    assert [(d.code, d.location.line, d.location.column) for d in p.diagnostics] == [
        ("yaml_too_complex", line, column)]
    assert f"more than {MAX_DEPTH} levels" in p.diagnostics[0].message


@pytest.mark.parametrize("text", [
    "a: 1\nb: [x, 2.5, true, null, ~, 2026-01-02]\nc: {d: 'e', f: \"g\"}\n",
    "1: one\nnull: none\nyes: y\n1.5: f\n",                 # keys that are not text
    "a: &x {b: 1}\nc:\n  <<: *x\n  d: 2\n",                  # a merge key: the library's constructor
    "a: !!set {x, y}\nb: !!omap [{k: 1}]\nc: !!str 12\nd: !!binary aGk=\n",  # tagged values
    "a: &l [1, 2]\nb: *l\nt: 2026-01-02 10:00:00\n",
    "a: 1\na: 2\n",
])
def test_data_is_what_the_safe_loader_builds(text: str) -> None:
    import yaml
    p = parse_yaml(text, "f.yaml")
    assert p.data == yaml.safe_load(text)
    assert p.positions[()] == (1, 1)


def test_the_duplicate_key_and_its_place_survive_a_merge_key() -> None:
    p = parse_yaml("base: &b {x: 1}\nm:\n  <<: *b\n  y: 2\n  y: 3\n", "f.yaml")
    assert [(d.code, d.location.line, d.location.column) for d in p.diagnostics] == [("duplicate_key", 5, 3)]
    assert p.data["m"] == {"x": 1, "y": 3} and p.positions[("m", "y")] == (5, 3)
