"""The core stays pure: no FastAPI, no printing, rule text never evaluated as code."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import ROOT


def test_engine_does_not_import_fastapi_or_uvicorn() -> None:
    code = "import sys, engine, engine.advisor, engine.scenarios, engine.policies, engine.effectiveness, " \
           "engine.diff; " \
           "bad = [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'uvicorn', 'starlette', 'api', 'cli', " \
           "'store', 'sqlalchemy', 'alembic', 'psycopg')]; " \
           "print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_engine_never_prints_evals_or_opens_files_outside_sources() -> None:
    for path in sorted((ROOT / "engine").glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not calls & {"print", "eval", "exec", "compile"}, path.name
        if path.name != "sources.py":
            assert "open" not in calls and "read_text" not in path.read_text(encoding="utf-8"), path.name


def test_yaml_is_only_loaded_safely() -> None:
    for path in sorted(ROOT.glob("*/*.py")):
        text = path.read_text(encoding="utf-8")
        assert "yaml.load(" not in text and "yaml.unsafe_load" not in text and "FullLoader" not in text, path
