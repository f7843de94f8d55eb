"""Liveness and readiness for orchestrators and load balancers."""

from __future__ import annotations

import os

from fastapi import APIRouter
from starlette.responses import PlainTextResponse, Response

from rm_advisor.api import metrics
from rm_advisor.api.deps import LiveDep, LoadedDep, OptionalStoreDep
from rm_advisor.api.problems import Problem, cause_item, documented, log
from rm_advisor.api.schemas import Health, Ready
from rm_advisor.engine.messages import N_
from rm_advisor.store.errors import Unusable

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz(live: LiveDep) -> Response:
    return Health(status="ok", revision=live.revision, pid=os.getpid()).response()


@router.get("/metrics", response_class=PlainTextResponse, summary="Prometheus metrics of the whole server",
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition format (every worker's values added up)"}})
def prometheus_metrics() -> Response:
    """Requests (latency by route and status), decisions by route and outcome, problems by code,
    rule-set reloads (accepted, refused), decision-log write latency, the revision each worker
    serves and the number of workers; docs/api.md "Metrics" lists them."""
    body, content_type = metrics.exposition()
    return Response(body, media_type=content_type)


@router.get("/readyz", response_model=Ready, responses=documented("not_ready"),
            summary="Readiness: a rule set is loaded, the engine decides and the decision log takes writes")
def readyz(loaded: LoadedDep, store: OptionalStoreDep) -> Response:
    """Runs an empty decision on this worker thread's engine and, with the decision log on, has the
    decision database take a write that leaves nothing behind (SQLite: room for about 16 KB is
    needed; a database server: an update rolled back), so a ready answer means decisions can be
    made and logged. A 503 ``not_ready`` names the cause: the item's code is its class
    (``disk_full``, ``read_only``, ``locked``, ``unreachable``, ``refused``, ``io_error``,
    ``database_error``)."""
    try:
        loaded.advisor.decide({})
    except Exception as exc:  # any failure means: do not route traffic here
        log.exception("readiness check failed")
        raise Problem("not_ready", N_("the engine could not decide: {error}"),
                      fields={"error": type(exc).__name__}) from exc
    if store is not None:
        try:
            store.db.ready()
        except Unusable as exc:
            raise Problem("not_ready", exc.diagnostics[0].message, [cause_item(exc.cause)]) from exc
    return Ready(status="ready", revision=loaded.revision, rules=len(loaded.book.rules),
                 decision_log="off" if store is None else "ok", pid=os.getpid()).response()
