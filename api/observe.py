"""What the server tells its operators: one JSON log line per request, and its metrics
(:mod:`api.metrics`, counted by the same middleware).

:class:`RequestLog` is the outermost middleware. For every HTTP request it takes the client's
``X-Request-ID`` (or makes one), echoes it on the response, and when the response is sent logs
one line on the ``rm_advisor.api.requests`` logger, written as JSON by :class:`JsonFormatter`:
request id, method, the route's path template, status, duration in milliseconds, the rule-set
revision, the decision id when there is one, and the problem code when the answer is a problem.

No personal data: the line names the route template (``/v1/decisions/{subject_type}/{subject_id}``),
never the path as requested, the query string, the body, a header other than the request id, or
the client's address. Routes add what they know through :func:`note` (a decision's id; the
problem code is noted where every problem response is built).
"""

from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rm_advisor.api import metrics

REQUEST_ID_HEADER = "X-Request-ID"
#: the request log's logger; its records carry the line's fields in ``record.fields``
REQUEST_LOGGER = "rm_advisor.api.requests"
#: a client's request id is kept when it is this short and plain (else one is made): it is
#: written into logs and headers as it is
_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")

_noted: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar("rm_advisor_request", default=None)


def note(**fields: Any) -> None:
    """Add fields to the current request's log line (no-op outside a request). The holder is a dict
    shared with the route's thread (contextvars are copied into it, the dict is not)."""
    noted = _noted.get()
    if noted is not None:
        noted.update(fields)


def noted() -> dict[str, Any]:
    """What has been noted for the current request (empty outside a request)."""
    return dict(_noted.get() or {})


def request_id(given: str | None) -> str:
    """The client's request id when it is plain and short enough, else a new one."""
    if given is not None and _REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def route_template(scope: Scope) -> str:
    """The path template of the route that served the request; ``unmatched`` for a 404 or a
    request refused before routing (never the raw path, which may hold a subject's id)."""
    route = scope.get("route")
    template = getattr(route, "path_format", None) or getattr(route, "path", None)
    return str(template) if template else "unmatched"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, logger, message and the record's
    ``fields`` (see :data:`REQUEST_LOGGER`)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(), "logger": record.name, "msg": record.getMessage()}
        line.update(getattr(record, "fields", None) or {})
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def install_request_log(enabled: bool) -> logging.Logger:
    """The request logger, writing JSON lines to stderr when ``enabled`` (once per process; it does
    not propagate, so an app that configures the root logger does not get each line twice)."""
    logger = logging.getLogger(REQUEST_LOGGER)
    logger.propagate = False
    if not enabled:
        logger.disabled = True
        return logger
    logger.disabled = False
    logger.setLevel(logging.INFO)
    if not any(getattr(h, "_rm_advisor", False) for h in logger.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._rm_advisor = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    return logger


class RequestLog:
    """Request id in and out, and one log line per HTTP request (see the module's doc)."""

    def __init__(self, app: ASGIApp, current_revision: Callable[[], str]):
        self.app, self.current_revision = app, current_revision
        self.log = logging.getLogger(REQUEST_LOGGER)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        rid = request_id(Headers(scope=scope).get(REQUEST_ID_HEADER))
        state = scope.setdefault("state", {})
        state["request_id"] = rid
        holder: dict[str, Any] = {}
        token = _noted.set(holder)
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = rid
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            _noted.reset(token)
            self._line(scope, state, holder, rid, status, started)

    def _line(self, scope: Scope, state: dict[str, Any], holder: dict[str, Any], rid: str, status: int,
              started: float) -> None:
        seconds = time.perf_counter() - started
        route, revision = route_template(scope), state.get("revision") or self.current_revision()
        metrics.request_done(str(scope.get("method")), route, status, seconds, holder.get("problem"), revision)
        if not self.log.isEnabledFor(logging.INFO):
            return
        fields: dict[str, Any] = {
            "request_id": rid, "method": scope.get("method"), "route": route, "status": status,
            "duration_ms": round(seconds * 1000, 2), "revision": revision}
        # a logged decision's route names its id (once it was found: a refused id is not written)
        decision_id = holder.get("decision_id") or \
            ((scope.get("path_params") or {}).get("decision_id") if status < 400 else None)
        if decision_id:
            fields["decision_id"] = decision_id
        if holder.get("problem"):
            fields["problem"] = holder["problem"]
        self.log.info("request", extra={"fields": fields})
