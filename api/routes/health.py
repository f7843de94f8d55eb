"""Liveness and readiness for orchestrators and load balancers."""

from __future__ import annotations

import os

from fastapi import APIRouter
from starlette.responses import Response

from api.deps import LiveDep, LoadedDep, OptionalStoreDep
from api.problems import Problem, documented, log
from api.schemas import Health, Ready
from engine.errors import StoreError

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="Liveness: the process answers")
async def healthz(live: LiveDep) -> Response:
    return Health(status="ok", revision=live.revision, pid=os.getpid()).response()


@router.get("/readyz", response_model=Ready, responses=documented("not_ready"),
            summary="Readiness: a rule set is loaded and the engine decides")
def readyz(loaded: LoadedDep, store: OptionalStoreDep) -> Response:
    """Runs an empty decision on this worker thread's engine and, with the decision log on, asks the
    decision database for an answer, so a ready answer means decisions can be made and logged."""
    try:
        loaded.advisor.decide({})
    except Exception as exc:  # any failure means: do not route traffic here
        log.exception("readiness check failed")
        raise Problem("not_ready", f"the engine could not decide: {type(exc).__name__}") from exc
    if store is not None:
        try:
            store.db.ping()
        except StoreError as exc:
            raise Problem("not_ready", exc.diagnostics[0].message) from exc
    return Ready(status="ready", revision=loaded.revision, rules=len(loaded.book.rules),
                 decision_log="off" if store is None else "ok", pid=os.getpid()).response()
