"""engine/language/walk.py: the one walk over condition trees (paths, negation, scope, conjuncts)."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import TypeAdapter

from rm_advisor.engine.language.rules import Condition
from rm_advisor.engine.language.walk import Visitor, conjuncts, exists_parts, fields, form, signal_test, signals, walk

_COND: TypeAdapter[Condition] = TypeAdapter(Condition)


def cond(data: Any) -> Condition:
    return _COND.validate_python(data)


TREE = cond({"all": [
    {"signal": "strong_client"},
    {"not": {"signal": "credit_red_flag"}},
    {"any": [{"client.is_key": True}, {"not": {"client.days_since_last_visit": {"gt": 30}}}]},
    {"exists": {"fact": "interaction", "where": {"all": [{"interaction.kind": "complaint"},
                                                         {"signal": "open_complaint"}]}}},
]})


def test_walk_gives_every_node_with_its_path_negation_and_scope() -> None:
    nodes = [(n.form, n.path, n.negated, n.scope) for n in walk(TREE, ("when",), scope="client")]
    assert nodes[0] == ("all", ("when",), False, "client")
    assert ("signal", ("when", "all", 1, "not"), True, "client") in nodes
    assert ("field", ("when", "all", 2, "any", 1, "not"), True, "client") in nodes
    assert ("field", ("when", "all", 3, "exists", "where", "all", 0), False, "interaction") in nodes
    assert [p for f, p, _, _ in nodes if f == "signal"] == [
        ("when", "all", 0), ("when", "all", 1, "not"), ("when", "all", 3, "exists", "where", "all", 1)]


def test_signals_fields_and_conjuncts() -> None:
    assert signals(TREE) == ["strong_client", "credit_red_flag", "open_complaint"]
    assert [(c.ref, p[-1]) for c, p in fields(TREE)] == [
        ("client.is_key", "client.is_key"), ("client.days_since_last_visit", "client.days_since_last_visit"),
        ("interaction.kind", "interaction.kind")]
    tops = conjuncts(cond({"all": [{"all": [{"signal": "a"}, {"client.is_key": True}]}, {"signal": "b"}]}))
    assert [(form(c), p) for c, p in tops] == [("signal", ("all", 0, "all", 0)), ("field", ("all", 0, "all", 1)),
                                                ("signal", ("all", 1))]


def test_signal_tests_and_exists_parts() -> None:
    assert signal_test(cond({"signal": "a"})) == ("a", True)
    assert signal_test(cond({"not": {"signal": "a"}})) == ("a", False)
    assert signal_test(cond({"not": {"client.is_key": True}})) is None
    fact, where = exists_parts(cond({"exists": {"fact": "interaction"}})) or ("", None)
    assert (fact, where) == ("interaction", None)
    assert exists_parts(cond({"signal": "a"})) is None


def test_a_visitor_that_meets_a_form_it_does_not_take_says_so() -> None:
    class Count(Visitor[int]):
        def field(self, c: Any, path: Any) -> int:
            return 1

    assert Count().visit(cond({"client.is_key": True})) == 1
    with pytest.raises(TypeError, match="does not take signal"):
        Count().visit(cond({"signal": "a"}))
