"""engine/yaml_source.py: positions, duplicate keys, syntax errors, safe loading."""

from engine.yaml_source import parse_yaml, rule_fragments


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
