"""The core stays pure: no FastAPI, no printing, rule text never evaluated as code."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import ROOT


def test_engine_does_not_import_fastapi_or_uvicorn() -> None:
    code = "import sys, pkgutil, importlib, rm_advisor.engine as e; " \
           "[importlib.import_module(m.name) for m in pkgutil.walk_packages(e.__path__, 'rm_advisor.engine.')]; " \
           "bad = [m for m in sys.modules if m.split('.')[0] in ('fastapi', 'uvicorn', 'starlette', 'sqlalchemy', " \
           "'alembic', 'psycopg') or m.split('.')[:2] in (['rm_advisor', 'api'], ['rm_advisor', 'cli'], " \
           "['rm_advisor', 'store'])]; " \
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
                    if "rm_advisor.engine.inference._experta" in _imports(p)}
    assert compat_users == {"engine/inference/chaining.py"}


def test_importing_the_engine_leaves_collections_and_the_root_logger_as_they_were() -> None:
    code = ("import collections, logging; root = logging.getLogger(); root.setLevel(logging.ERROR); "
            "before = (sorted(vars(collections)), list(root.handlers), root.level); "
            "import rm_advisor.engine.inference.chaining; "
            "after = (sorted(vars(collections)), list(root.handlers), root.level); print(before == after)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == "True"


#: engine/'s stages, each importing only from itself, the ones before it and the shared modules below
STAGES = ("language", "loading", "checking", "derivation", "policies", "inference", "portfolio", "authoring")
#: what every stage and adapter may use beside the stages: the exception tree, the message catalogue and
#: the garbage collector's pause for steps that build many objects
SHARED = ("rm_advisor.engine.errors", "rm_advisor.engine.messages", "rm_advisor.engine.collector")


def _engine_imports(path: object) -> set[str]:
    return {m for m in _imports(path) if m == "rm_advisor.engine" or m.startswith("rm_advisor.engine.")}


def test_each_stage_imports_only_itself_and_the_stages_before_it() -> None:
    wrong = []
    for stage in STAGES:
        allowed = set(SHARED) | {f"rm_advisor.engine.{s}" for s in STAGES[:STAGES.index(stage) + 1]}
        for path in (ROOT / "engine" / stage).rglob("*.py"):
            for module in _engine_imports(path):
                if not any(module == a or module.startswith(a + ".") for a in allowed):
                    wrong.append(f"{path.relative_to(ROOT)} imports {module}")
    pairs = (("portfolio", "authoring"), ("authoring", "portfolio"))
    siblings = [f"{p.relative_to(ROOT)} imports {m}" for a, b in pairs for p in (ROOT / "engine" / a).rglob("*.py")
                for m in _engine_imports(p) if m.startswith(f"rm_advisor.engine.{b}")]
    assert wrong == [] and siblings == []  # portfolio and authoring are siblings: neither imports the other


def test_the_engine_root_holds_only_the_public_entry_and_the_shared_modules() -> None:
    assert sorted(p.name for p in (ROOT / "engine").glob("*.py")) == \
        ["__init__.py", "collector.py", "errors.py", "messages.py"]
    # locale/: the message catalogue's PO files (data, no code)
    assert sorted(p.name for p in (ROOT / "engine").iterdir() if p.is_dir() and p.name != "__pycache__") == \
        sorted((*STAGES, "locale"))
    assert not list((ROOT / "engine" / "locale").rglob("*.py"))


def test_adapters_use_the_engine_through_its_public_packages() -> None:
    # api/, cli/ and store/ import `engine`, a stage package (`engine.inference`), `engine.errors` or
    # `engine.messages`, never a module inside a stage: what a stage's __init__ exports is its public surface
    public = {"rm_advisor.engine", *SHARED} | {f"rm_advisor.engine.{s}" for s in STAGES}
    adapters = [p for top in ("api", "cli", "store") for p in (ROOT / top).rglob("*.py")]
    wrong = [f"{p.relative_to(ROOT)} imports {m}" for p in adapters for m in _engine_imports(p) if m not in public]
    assert wrong == []


#: the repository's top-level folders, installed as rm_advisor.<folder> (pyproject.toml package-dir)
INSTALLED_FOLDERS = ("engine", "api", "cli", "store", "rules", "knowledge_base", "web")


def test_project_code_imports_its_folders_under_the_distribution_name_only() -> None:
    # a bare `import api` would only work inside the repository; installed, it finds the host's `api`
    project = [p for top in (*INSTALLED_FOLDERS, "bench", "tests") for p in (ROOT / top).rglob("*.py")]
    bare = sorted(f"{p.relative_to(ROOT)} imports {m}" for p in project for m in _imports(p)
                  if m.split(".")[0] in INSTALLED_FOLDERS)
    assert bare == []


def test_each_installed_folder_is_mapped_and_linked_under_rm_advisor() -> None:
    import tomllib

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert config["package-dir"] == {"rm_advisor": "rm_advisor"} | {f"rm_advisor.{f}": f for f in INSTALLED_FOLDERS}
    listed = {name.removeprefix("rm_advisor.").replace(".", "/") for name in config["packages"]} - {"rm_advisor"}
    packages = {init.parent.relative_to(ROOT).as_posix() for folder in INSTALLED_FOLDERS
                for init in (ROOT / folder).rglob("__init__.py")}
    assert packages <= listed and all((ROOT / name).is_dir() for name in listed)
    for folder in INSTALLED_FOLDERS:
        assert (ROOT / "rm_advisor" / folder).resolve() == ROOT / folder


def test_each_engine_module_has_its_test_module() -> None:
    # tests mirror the code: engine/<stage>/<module>.py is tested by tests/engine/<stage>/test_<module>.py
    # (_experta.py, experta's compatibility shim, by test_chaining.py, which runs the agenda repro on it)
    tests = ROOT / "tests" / "engine"
    modules = [p.relative_to(ROOT / "engine") for p in (ROOT / "engine").glob("*/*.py")
               if p.name not in ("__init__.py", "_experta.py")]
    untested = sorted(str(m) for m in modules if not (tests / m.parent / f"test_{m.name}").is_file())
    orphans = sorted(str(t.relative_to(ROOT)) for t in tests.glob("*/test_*.py")
                     if not (ROOT / "engine" / t.parent.name / t.name.removeprefix("test_")).is_file())
    assert untested == [] and orphans == []
