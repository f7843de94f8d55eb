"""The core stays pure: no FastAPI, no printing, rule text never evaluated as code."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import ROOT


def test_engine_does_not_import_fastapi_or_uvicorn() -> None:
    code = "import sys, pkgutil, importlib, engine; " \
           "[importlib.import_module(m.name) for m in pkgutil.walk_packages(engine.__path__, 'engine.')]; " \
           "bad = [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'uvicorn', 'starlette', 'api', 'cli', " \
           "'store', 'sqlalchemy', 'alembic', 'psycopg')]; " \
           "print(bad)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "[]"


def test_engine_never_prints_evals_or_opens_files_outside_sources() -> None:
    for path in sorted((ROOT / "engine").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
        assert not calls & {"print", "eval", "exec", "compile"}, path.name
        if path.name != "sources.py":
            assert "open" not in calls and "read_text" not in path.read_text(encoding="utf-8"), path.name


def test_yaml_is_only_loaded_safely() -> None:
    for path in sorted(p for top in ("engine", "api", "cli", "store", "bench") for p in (ROOT / top).rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        assert "yaml.load(" not in text and "yaml.unsafe_load" not in text and "FullLoader" not in text, path


def _imports(path: object) -> set[str]:
    tree = ast.parse(open(str(path), encoding="utf-8").read())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    return names | {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}


def test_experta_is_imported_by_its_compatibility_module_only() -> None:
    project = [p for top in ("engine", "api", "cli", "store", "bench", "tests") for p in (ROOT / top).rglob("*.py")]
    users = {p.relative_to(ROOT).as_posix() for p in project if any(m.split(".")[0] == "experta" for m in _imports(p))}
    assert users == {"engine/inference/_experta.py"}
    compat_users = {p.relative_to(ROOT).as_posix() for p in (ROOT / "engine").rglob("*.py")
                    if "engine.inference._experta" in _imports(p)}
    assert compat_users == {"engine/inference/chaining.py"}


def test_importing_the_engine_leaves_collections_and_the_root_logger_as_they_were() -> None:
    code = ("import collections, logging; root = logging.getLogger(); root.setLevel(logging.ERROR); "
            "before = (sorted(vars(collections)), list(root.handlers), root.level); "
            "import engine.inference.chaining; "
            "after = (sorted(vars(collections)), list(root.handlers), root.level); print(before == after)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "True"
