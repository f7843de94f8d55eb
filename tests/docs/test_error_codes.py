"""docs/error-codes.md is written from engine/errors.py, the code uses no code the table lacks, and
the type of a diagnostic's code is the table's codes, so that mypy rejects any other."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

from mypy import api as mypy

from rm_advisor.engine.errors import CODES, Code, codes_markdown
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


def test_the_code_type_names_exactly_the_codes_of_the_table() -> None:
    # a Literal cannot be built from CODE_GROUPS for mypy; mypy checks that each code of the table
    # is a Code (the table's keys are typed so), this checks that each Code is in the table
    codes = get_args(Code)
    assert len(codes) == len(set(codes))
    assert set(codes) == set(CODES)


def test_mypy_rejects_a_diagnostic_made_or_matched_with_a_code_not_in_the_table(tmp_path: Path) -> None:
    probe = tmp_path / "probe.py"
    probe.write_text("from rm_advisor.engine.errors import Diagnostic\n"
                     "ok = Diagnostic('fact_type', 'x')\n"
                     "typo = Diagnostic('fact_typo', 'x')\n"
                     "print(ok.code == 'fact_tpye')\n", encoding="utf-8")
    report, _, status = mypy.run(["--config-file", str(ROOT / "pyproject.toml"), str(probe)])
    errors = [line.split(":") for line in report.splitlines() if ": error: " in line]
    # line 3 makes a diagnostic with the typo, line 4 compares a code with one (mypy's strict equality)
    assert status == 1 and [(e[1], e[-1].split()[-1]) for e in errors] == \
        [("3", "[arg-type]"), ("4", "[comparison-overlap]")], report
