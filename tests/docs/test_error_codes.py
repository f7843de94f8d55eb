"""docs/error-codes.md is written from engine/errors.py, and the code uses no code the table lacks."""

from __future__ import annotations

import ast

from rm_advisor.engine.errors import CODES, codes_markdown
from tests.conftest import ROOT


def test_the_codes_document_is_in_step_with_the_table() -> None:
    committed = (ROOT / "docs" / "error-codes.md").read_text(encoding="utf-8")
    assert committed == codes_markdown(), "run `make docs` and commit docs/error-codes.md"


def test_every_code_a_diagnostic_is_made_with_is_in_the_table() -> None:
    used: dict[str, str] = {}
    for top in ("engine", "api", "cli", "store"):
        for path in (ROOT / top).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", "")) in (
                        "Diagnostic", "ErrorItem") and node.args and isinstance(node.args[0], ast.Constant):
                    used.setdefault(str(node.args[0].value), f"{path.relative_to(ROOT)}:{node.lineno}")
    assert len(used) > 30
    assert {code: where for code, where in used.items() if code not in CODES} == {}
