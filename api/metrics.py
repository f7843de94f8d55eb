"""Prometheus metrics, served at ``GET /metrics`` (text exposition format).

One process: the client library's default registry. Several worker processes (``serve
--workers N``): ``serve`` gives them a fresh temporary directory in ``PROMETHEUS_MULTIPROC_DIR``
before any starts, each worker writes its values to files there, and ``/metrics`` (whichever
worker answers) adds up every worker's files, so one scrape counts the whole server. Gauges say
how they combine (:data:`REVISION`: one sample per live worker, labelled with its pid;
:data:`WORKERS`: the sum of live workers). A worker that stops cleanly removes its live gauges; one
that is killed leaves them until the server restarts (its counters rightly stay counted).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

#: set by ``serve`` when it starts more than one worker (prometheus_client reads it at import)
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
DECISION_ROUTE_PREFIX = "/v1/decisions"

REQUESTS = Histogram("rm_advisor_request_duration_seconds", "Time to answer a request, by method, route "
                     "template and status", ["method", "route", "status"],
                     buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
DECISIONS = Counter("rm_advisor_decisions_total", "Decision requests by route template and outcome (ok, or the "
                    "problem code)", ["route", "outcome"])
PROBLEMS = Counter("rm_advisor_problems_total", "Problem answers by problem code", ["code"])
RELOADS = Counter("rm_advisor_ruleset_reloads_total", "Rule-set reloads asked over the API, by result "
                  "(accepted, refused)", ["result"])
LOG_WRITES = Histogram("rm_advisor_decision_log_write_seconds", "Time to write one decision to the decision log",
                       buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
REVISION = Gauge("rm_advisor_revision_info", "The rule-set revision a worker serves (1), by revision",
                 ["revision"], multiprocess_mode="liveall")
WORKERS = Gauge("rm_advisor_workers", "Worker processes serving", multiprocess_mode="livesum")

_serving: list[str] = []  # the revision this process last reported


def multiprocess_dir() -> str | None:
    return os.environ.get(MULTIPROC_ENV) or None


def worker_started(revision: str) -> None:
    WORKERS.set(1)
    serving(revision)


def worker_stopped() -> None:
    """A clean stop: this worker's live gauges leave the multiprocess files."""
    if multiprocess_dir() is not None:
        multiprocess.mark_process_dead(os.getpid())  # type: ignore[no-untyped-call]


def serving(revision: str) -> None:
    """Report the revision this process serves (cheap when it has not changed)."""
    if _serving == [revision]:
        return
    for old in _serving:
        REVISION.labels(revision=old).set(0)
    REVISION.labels(revision=revision).set(1)
    _serving[:] = [revision]


def request_done(method: str, route: str, status: int, seconds: float, problem: str | None,
                 revision: str) -> None:
    REQUESTS.labels(method=method, route=route, status=str(status)).observe(seconds)
    if problem:
        PROBLEMS.labels(code=problem).inc()
    if method == "POST" and route.startswith(DECISION_ROUTE_PREFIX):
        DECISIONS.labels(route=route, outcome="ok" if status < 400 else problem or f"http_{status}").inc()
    serving(revision)


def reloaded(accepted: bool) -> None:
    RELOADS.labels(result="accepted" if accepted else "refused").inc()


def logged(seconds: float) -> None:
    LOG_WRITES.observe(seconds)


def exposition() -> tuple[bytes, str]:
    """Every metric of the server in the text format, and its content type."""
    directory = multiprocess_dir()
    if directory is None:
        from prometheus_client import REGISTRY
        registry: Any = REGISTRY
    else:
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry, path=directory)  # type: ignore[no-untyped-call]
    return generate_latest(registry), CONTENT_TYPE_LATEST
