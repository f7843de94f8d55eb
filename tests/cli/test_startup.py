"""`rm-advisor --help` and the command list load no heavy library: start-up stays instant.

bench/startup.py measures the seconds; this test guards the cause (what gets imported), so it
cannot be flaky on a busy machine."""

from __future__ import annotations

import json
import subprocess
import sys

from rm_advisor.cli.common import DB_HELP
from rm_advisor.store.database import DEFAULT_URL, ENV_URL

HEAVY = ("pandas", "numpy", "matplotlib", "sqlalchemy", "alembic", "experta", "networkx", "fastapi", "uvicorn",
         "pyarrow", "jinja2", "psycopg")


def _loaded_after(code: str) -> set[str]:
    probe = f"import sys; {code}; print(__import__('json').dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout.splitlines()[-1]))


def test_the_command_list_loads_no_heavy_library() -> None:
    loaded = _loaded_after("from rm_advisor.cli.main import app; import typer.main; typer.main.get_command(app)")
    assert loaded.isdisjoint(HEAVY), sorted(loaded & set(HEAVY))


def test_help_runs_and_lists_every_command() -> None:
    done = subprocess.run([sys.executable, "-c", "from rm_advisor.cli.main import main; main()", "--help"],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    for command in ("recommend", "check", "batch", "serve", "test", "explain", "decisions", "feedback"):
        assert command in done.stdout


def test_the_engine_package_loads_its_parts_when_used() -> None:
    assert _loaded_after("import rm_advisor.engine.errors").isdisjoint(HEAVY)
    assert {"experta", "networkx"} <= _loaded_after("from rm_advisor.engine import Advisor")


def test_the_database_option_names_the_store_defaults() -> None:
    assert f"${ENV_URL}" in DB_HELP and DEFAULT_URL in DB_HELP
