"""``rm-advisor workspace-demo``: the manager workspace on the sample portfolio, in one command.

It logs a batch run of the generated sample portfolio into the decision database (unless one is
logged there already), adds the demo accounts (unless they exist) and serves the API and the pages
(``/app/``). The accounts are for trying the pages on one's own machine, never for a real server:
their passwords are printed and written in README.md.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import typer

from rm_advisor.cli.common import Lang, _, err, lang_option, use_lang

#: the demo branch and the sample portfolio's first manager of each domain, who work in it
BRANCH = "demo-branch"
DEMO_PASSWORD = "demo-password"


@dataclass(frozen=True)
class DemoAccount:
    username: str
    display_name: str
    role: str
    manager_id: str | None
    branch: str


ACCOUNTS = (
    DemoAccount("manager", "王经理 (MT001)", "manager", "MT001", BRANCH),
    DemoAccount("manager2", "李经理 (MB001)", "manager", "MB001", BRANCH),
    DemoAccount("manager3", "张经理 (MC001)", "manager", "MC001", BRANCH),
    DemoAccount("head", "赵主任", "branch_head", None, BRANCH),
)


def log_batch(db_url: str, clients: int, out_dir: Path) -> None:
    """A logged batch run of the sample portfolio (``rm-advisor batch --log``, no report): the next
    decision about every manager's book, which sees the feedback given since through the policies."""
    from typer.main import get_command

    from rm_advisor.cli.main import app

    get_command(app).main(["batch", "--db", db_url, "--sample-clients", str(clients), "--no-report",
                           "--out", str(out_dir), "--lang", "en", "--jobs", "1"], standalone_mode=False)


def seed(db_url: str, clients: int, out_dir: Path) -> tuple[bool, list[str]]:
    """Log a sample batch into ``db_url`` unless one is logged, and add the demo accounts that are
    missing: (whether a batch was run, the usernames added)."""
    from rm_advisor.engine import Advisor
    from rm_advisor.store import Store

    advisor = Advisor.load()
    with Store(db_url, advisor.book.kb) as store:
        logged = bool(store.decisions.latest_by_manager())
    if not logged:
        log_batch(db_url, clients, out_dir)
    added = []
    with Store(db_url, advisor.book.kb) as store:
        known = {u.username for u in store.users.accounts()}
        for a in ACCOUNTS:
            if a.username not in known:
                store.users.add(a.username, DEMO_PASSWORD, a.role, a.display_name, a.manager_id, a.branch)
                added.append(a.username)
    return not logged, added


def workspace_demo(
    db: str = typer.Option("sqlite:///build/workspace-demo.db", "--db", help="decision database URL"),
    clients: int = typer.Option(300, "--sample-clients", min=3, help="size of the sample portfolio logged"),
    port: int = typer.Option(8000, "--port"),
    serve: bool = typer.Option(True, "--serve/--no-serve", help="serve after seeding (default)"),
    lang: Lang = lang_option(Lang.en),
) -> None:
    """Log the sample portfolio, add the demo accounts and serve the workspace at /app/."""
    use_lang(lang)
    if db.startswith("sqlite:///") and not db.startswith("sqlite:////"):
        Path(db.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    ran, added = seed(db, clients, Path("build/workspace-demo"))
    if not ran:
        err.print(_("a batch run is logged in {db} already: the pages show it", db=db), markup=False)
    for a in ACCOUNTS:
        err.print(_("log in as {user} with the password {password} ({role})", user=a.username,
                    password=DEMO_PASSWORD, role=a.display_name), markup=False)
    if added:
        err.print(_("added the demo accounts: {users}", users=", ".join(added)), markup=False)
    err.print(_("workspace: http://127.0.0.1:{port}/app/", port=port), markup=False)
    if serve:
        from rm_advisor.cli.serve import serve as serve_api

        # the demo is served over plain http on this machine: a Secure cookie would never come back
        os.environ.setdefault("RM_ADVISOR_SECURE_COOKIES", "false")
        serve_api(host=None, port=port, workers=None, rules=None, kb=None, api_key=None, protect_reads=None,
                  cors_origin=None, max_subjects=None, max_body_bytes=None, default_lang=None, db=db,
                  decision_log=None, worker_healthcheck_timeout=None, rate_limit=None, log_level="info",
                  access_log=False)


def register(app: typer.Typer) -> None:
    app.command("workspace-demo")(workspace_demo)
