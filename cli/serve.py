"""``rm-advisor serve`` (the HTTP API under uvicorn) and ``rm-advisor openapi`` (its spec)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError

from rm_advisor.cli.common import Lang, _, err, lang_option, use_lang
from rm_advisor.cli.render import print_diagnostics
from rm_advisor.engine import RuleError


def _settings(**flags: Any) -> Any:
    from rm_advisor.api.settings import Settings  # the API stack loads only for these commands

    try:
        return Settings(**{k: v for k, v in flags.items() if v is not None and v != ()})
    except ValidationError as exc:
        for e in exc.errors():
            err.print(_("setting {name}: {error}", name=".".join(str(p) for p in e["loc"]), error=e["msg"]),
                      markup=False)
        raise typer.Exit(2) from None


def serve(
    host: str | None = typer.Option(None, help="address to listen on (env RM_ADVISOR_HOST, default 127.0.0.1)"),
    port: int | None = typer.Option(None, help="port (env RM_ADVISOR_PORT, default 8000)"),
    workers: int | None = typer.Option(None, help="worker processes (env RM_ADVISOR_WORKERS, default 1)"),
    rules: Path | None = typer.Option(None, "--rules", "-r", help="rule directory (env RM_ADVISOR_RULES_DIR)"),
    kb: Path | None = typer.Option(None, "--kb", help="knowledge-base directory (env RM_ADVISOR_KB_DIR)"),
    api_key: str | None = typer.Option(None, help="key for reload and feedback; prefer env RM_ADVISOR_API_KEY"),
    protect_reads: bool | None = typer.Option(None, "--protect-reads/--open-reads",
                                                 help="reading routes need the key too (env RM_ADVISOR_PROTECT_READS)"),
    cors_origin: list[str] | None = typer.Option(None, help="allow this origin by CORS (repeatable) "
                                                               "(env RM_ADVISOR_CORS_ORIGINS, comma-separated)"),
    max_subjects: int | None = typer.Option(None, help="most clients + managers per request (default 100)"),
    max_body_bytes: int | None = typer.Option(None, help="largest request body (default 1000000)"),
    default_lang: str | None = typer.Option(None, "--lang", "--default-lang", metavar="zh|en|both",
                                            help="zh, en or both when a request asks for none (texts; problems "
                                                 "are in English unless zh is asked for or set here), and the "
                                                 "language of these messages (env RM_ADVISOR_DEFAULT_LANG)"),
    db: str | None = typer.Option(None, "--db", help="decision database URL (env RM_ADVISOR_DB_URL, default "
                                                        "sqlite:///rm-advisor.db in the working directory)"),
    decision_log: bool | None = typer.Option(None, "--decision-log/--no-decision-log",
                                                help="log every decision and apply the contact policies (default) "
                                                     "(env RM_ADVISOR_DECISION_LOG)"),
    worker_healthcheck_timeout: int | None = typer.Option(
        None, help="seconds a worker may take to answer the supervisor's health check before it is replaced "
                   "(env RM_ADVISOR_WORKER_HEALTHCHECK_TIMEOUT, default 60)"),
    rate_limit: str | None = typer.Option(None, help="requests per API key (or client address without one) and "
                                                     "worker, e.g. 120/minute (env RM_ADVISOR_RATE_LIMIT, "
                                                     "default: no limit)"),
    experiment: Path | None = typer.Option(None, "--experiment", help="an experiment file: each client decided "
                                                                       "alone is decided and logged by its arm "
                                                                       "(env RM_ADVISOR_EXPERIMENT)"),
    log_level: str = typer.Option("info", help="uvicorn log level"),
    access_log: bool = typer.Option(False, "--access-log/--no-access-log",
                                    help="uvicorn's access log too (client address and the path as requested, "
                                         "which may hold a subject's id); the JSON request log "
                                         "(RM_ADVISOR_REQUEST_LOG, on by default) has neither"),
) -> None:
    """Serve the HTTP API (docs at /docs, spec at /openapi.json)."""
    from rm_advisor.api import server
    from rm_advisor.api.problems import Problem
    from rm_advisor.api.ruleset import build, read_files
    from rm_advisor.api.sync import RevisionChannel
    from rm_advisor.engine.errors import ExperimentError
    from rm_advisor.store import Store
    from rm_advisor.store.errors import StoreError
    from rm_advisor.store.service import open_experiment

    use_lang(default_lang if default_lang in ("zh", "en", "both") else "en")
    settings = _settings(host=host, port=port, workers=workers, rules_dir=rules, kb_dir=kb, api_key=api_key,
                         protect_reads=protect_reads, cors_origins=tuple(cors_origin or ()),
                         max_subjects=max_subjects, max_body_bytes=max_body_bytes, default_lang=default_lang,
                         db_url=db, decision_log=decision_log, worker_healthcheck_timeout=worker_healthcheck_timeout,
                         rate_limit=rate_limit, experiment=experiment)
    try:  # check once here, so a broken rule set is reported before any worker starts
        loaded = build(*read_files(settings.rules_dir, settings.kb_dir), settings.max_firings)
    except RuleError as exc:
        print_diagnostics(err, exc.diagnostics)
        err.print(_("not serving: the rule set has {count} problem(s)", count=len(exc.diagnostics)), markup=False)
        raise typer.Exit(1) from None
    except Problem as exc:
        err.print(_("not serving: {reason}", reason=exc.detail), markup=False)
        raise typer.Exit(1) from None
    where = _("off (decisions are not logged; no contact policies)")
    if settings.decision_log:
        try:  # open (and migrate) once here: a database that cannot be used is reported before any worker starts
            with Store(settings.database_url(), loaded.book.kb) as store:
                where = store.db.display_url
                if settings.experiment is not None:  # its file and arms checked before any worker starts
                    open_experiment(settings.experiment, store, settings.kb_dir, settings.engine)
        except ExperimentError as exc:
            print_diagnostics(err, exc.diagnostics)
            err.print(_("not serving: the experiment file has {count} problem(s)", count=len(exc.diagnostics)),
                      markup=False)
            raise typer.Exit(1) from None
        except OSError as exc:  # the experiment file cannot be read
            err.print(_("not serving: {reason}", reason=str(exc)), markup=False)
            raise typer.Exit(1) from None
        except StoreError as exc:
            print_diagnostics(err, exc.diagnostics)
            err.print(_("not serving: the decision database cannot be used (or run with --no-decision-log)"),
                      markup=False)
            raise typer.Exit(1) from None
    with tempfile.TemporaryDirectory(prefix="rm-advisor-") as sync_dir:
        # every worker starts from exactly the texts checked above and follows reloads through sync_dir
        RevisionChannel(sync_dir).publish(loaded.snapshot())
        os.environ.update(settings.model_copy(update={"sync_dir": Path(sync_dir)}).to_env())
        if settings.workers > 1:  # each worker writes its metrics there; /metrics adds them all up
            metrics_dir = Path(sync_dir) / "metrics"
            metrics_dir.mkdir()
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
        url = f"http://{settings.host}:{settings.port}/docs"
        err.print("rm-advisor: " + _("revision {revision}, {rules} rules, decision log {log}, {url}",
                                     revision=loaded.revision, rules=len(loaded.book.rules), log=where,
                                     url=url),
                  markup=False)
        del loaded
        server.run(settings, log_level, access_log)


def openapi(
    output: Path | None = typer.Option(None, "--out", "-o", help="write the spec to this file"),
    check: bool = typer.Option(False, "--check", help="exit 1 if the file given with --out differs"),
    lang: Lang = lang_option(Lang.en, "language of the --check message: zh, en or both"),
) -> None:
    """Print (or write, or check) the OpenAPI spec of the HTTP API."""
    use_lang(lang)
    from rm_advisor.api.app import create_app
    from rm_advisor.api.openapi import spec_text

    text = spec_text(create_app(_settings()))
    if output is None:
        sys.stdout.write(text)
    elif check:
        same = output.exists() and output.read_text(encoding="utf-8") == text
        err.print(_("{file}: up to date", file=output) if same
                  else _("{file}: differs from the code; run make openapi", file=output), markup=False)
        raise typer.Exit(0 if same else 1)
    else:
        output.write_text(text, encoding="utf-8")


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``openapi`` to the ``rm-advisor`` command."""
    app.command()(serve)
    app.command()(openapi)
