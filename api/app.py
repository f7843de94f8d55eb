"""The FastAPI application: a thin layer that parses requests, calls the engine and formats answers.

``create_app(settings)`` builds an app around one :class:`~api.ruleset.LiveRuleSet` per process;
``app_from_env`` is the factory ``rm-advisor serve`` hands to uvicorn (settings from
``RM_ADVISOR_*`` variables, so every worker process builds the same app). The decision store is
opened (and migrated) when the app starts and closed when it stops: one SQLAlchemy engine per
process, shared by the request threads, a session per unit of work.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from importlib.metadata import version

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi_offline import FastAPIOffline
from starlette.staticfiles import StaticFiles

from rm_advisor.api import access, collector, metrics, problems
from rm_advisor.api.deps import API_KEY_HEADER
from rm_advisor.api.middleware import REVISION_HEADER, BodyGuard, RevisionHeader
from rm_advisor.api.observe import REQUEST_ID_HEADER, RequestLog, install_request_log
from rm_advisor.api.openapi import operation_id, refine
from rm_advisor.api.ratelimit import RateLimit
from rm_advisor.api.routes import (
    admin,
    auth,
    catalogues,
    decision_log,
    decisions,
    feedback,
    health,
    pages,
    release_pages,
    releases,
    reports,
    rules,
    ruleset,
    worklists,
)
from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.api.settings import Settings
from rm_advisor.store import Store
from rm_advisor.store.service import open_experiment
from rm_advisor.web import STATIC

DESCRIPTION = """Next-best-actions for clients and coaching for customer managers (客户经理), decided by
YAML rules and explained: every recommendation names the rules that fired (file:line, source quote),
the facts they matched and the derived signals they relied on.

* Texts in `zh`, `en` or both: `Accept-Language` or `?lang=`; problems in English unless `zh` is asked.
* Every response names the rule-set revision that produced it in the `X-Rule-Revision` header.
* Every error is an RFC 9457 problem (`application/problem+json`) with a stable `code` and located
  `errors` (JSON pointer into the request, or file:line:column in a rule file).
* Decisions are logged (unless the server runs with `decision_log=false`) with the contact policies
  applied: their `decision_id` takes feedback (`POST /v1/feedback`) and replays.
"""

TAGS = [
    {"name": "decisions", "description": "decide for posted facts (logged, contact policies applied)"},
    {"name": "decision log", "description": "logged decisions with their feedback, and replays"},
    {"name": "feedback", "description": "what managers did with recommendations"},
    {"name": "reports", "description": "effectiveness of the recommendations"},
    {"name": "rules", "description": "the loaded rules, and checking rule files"},
    {"name": "rule set", "description": "revision, counts and hot reload"},
    {"name": "rule releases", "description": "rule changes with four eyes: proposed by a rule author, approved by "
                                              "another user, audited, rolled back in one step"},
    {"name": "catalogues", "description": "actions, coaching topics, signals, fact types, feedback reasons"},
    {"name": "workspace", "description": "read models of the manager workspace: a manager's week, what was held "
                                         "back, coaching, a client, the team (from the newest logged batch run)"},
    {"name": "health", "description": "liveness and readiness"},
    {"name": "login", "description": "the login form, logging in and out (user accounts: `rm-advisor users`)"},
    {"name": "administration", "description": "retention and erasure in the decision log (admin key)"},
]


def create_app(settings: Settings | None = None, live: LiveRuleSet | None = None) -> FastAPI:
    """Build the app. The rule set is loaded here (``live`` lets tests pass one in); a rule set
    that does not check raises :class:`rm_advisor.engine.RuleError` and no app is built."""
    settings = settings or Settings()
    live = live or LiveRuleSet.start(settings)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # opened here rather than in create_app, so building an app (the spec, tests) touches no database;
        # a database that cannot be used stops the server at startup with store_unavailable
        store = Store(settings.database_url(), live.current().book.kb) if settings.decision_log else None
        app.state.store = store
        if store is not None:
            releases.serve_active_release(live, store, settings)
        app.state.experiment = (open_experiment(settings.experiment, store, settings.kb_dir, settings.engine)
                                if store is not None and settings.experiment is not None else None)
        metrics.worker_started(live.revision)
        live.settle()  # everything the server keeps is loaded now
        try:
            yield
        finally:
            if live.freeze_gc:
                collector.release()
            metrics.worker_stopped()
            app.state.store = None
            if store is not None:
                store.close()

    # /docs and /redoc from bundled assets: intranets where managers' apps run often have no CDN
    app = FastAPIOffline(title="rm-advisor", version=version("rm-advisor"), description=DESCRIPTION,
                         openapi_tags=TAGS, separate_input_output_schemas=False, lifespan=lifespan,
                         generate_unique_id_function=operation_id)
    app.state.settings = settings
    app.state.live = live
    problems.install(app)
    app.add_exception_handler(access.LoginRequired, access.login_redirect)
    for module in (decisions, decision_log, feedback, reports, rules, ruleset, catalogues, health, admin, auth):
        app.include_router(module.router)
    for module in (worklists, pages):  # the manager workspace: its read models and its pages
        app.include_router(module.router)
    app.include_router(releases.router)
    app.include_router(release_pages.router)
    app.mount("/app/static", StaticFiles(directory=STATIC), name="static")
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes, current_revision=lambda: live.revision)
    if settings.rate_limit is not None:  # before a body is read; inside CORS, the revision header and the log
        app.add_middleware(RateLimit, settings=settings)
    app.add_middleware(RevisionHeader, current_revision=lambda: live.revision)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins), allow_methods=["GET", "POST"],
                           allow_headers=["Content-Type", "Accept-Language", API_KEY_HEADER, REQUEST_ID_HEADER,
                                          "Authorization", access.CSRF_HEADER],
                           expose_headers=[REVISION_HEADER, "Content-Language", REQUEST_ID_HEADER])
    install_request_log(settings.request_log)
    app.add_middleware(RequestLog, current_revision=lambda: live.revision)  # outermost: sees every answer
    refine(app)
    return app


def app_from_env() -> FastAPI:
    """The factory uvicorn calls in each worker process."""
    return create_app(Settings())
