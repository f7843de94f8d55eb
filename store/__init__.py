"""The decision log and feedback store: rm-advisor's I/O edge to a database.

Public API::

    from rm_advisor.store import Store, decide_and_log, effectiveness_report
    with Store() as store:                      # $RM_ADVISOR_DB_URL, else sqlite:///rm-advisor.db
        decision = decide_and_log(store, advisor, facts, source="api")   # policies applied, logged
        store.feedback.add(FeedbackInput(decision_id=decision.id, subject="T-001",
                                         item="counter_placement", status="rejected",
                                         reason_code="client_not_interested"))
        store.decisions.get(decision.id)         # the logged record
        store.users.authenticate("wang", password)  # accounts, sessions, API tokens (store.users)
        store.releases.approve(release_id, by="li")  # rule releases with four eyes (store.releases)
        replay(store.decisions, decision.id, advisor)
        effectiveness_report(store, since, until)

:class:`Store` is persistence only (decisions, feedback, history); the use cases that put it
together with the engine are in :mod:`store.service`: :func:`decide_and_log` (validate, read the
history, decide, log) and :func:`effectiveness_report`.

Errors are :class:`StoreError` (:mod:`store.errors`; an :class:`~rm_advisor.engine.errors.AdvisorError`)
with coded diagnostics (``decision_not_found``, ``feedback_duplicate``, ...); an API route or a CLI
command turns them into a response or a message.
"""

from __future__ import annotations

from typing import Any

from rm_advisor.engine.language import KnowledgeBase
from rm_advisor.store.csv_import import ImportResult, import_csv
from rm_advisor.store.database import DEFAULT_URL, ENV_URL, Database
from rm_advisor.store.decision_log import DecisionLog, DecisionSummary, ExperimentArm, LoggedDecision
from rm_advisor.store.errors import StoreError
from rm_advisor.store.feedback import FeedbackInput, FeedbackRecord, FeedbackStore
from rm_advisor.store.masking import MASK
from rm_advisor.store.releases import Release, ReleaseEvent, ReleaseStore
from rm_advisor.store.replay import ReplayReport, ReplayRun, replay
from rm_advisor.store.service import (
    ExperimentRun,
    Posted,
    decide_and_log,
    decide_in_experiment,
    effectiveness_report,
    experiment_report,
    propensity_table,
    rule_health_report,
)
from rm_advisor.store.users import ROLES, Role, SessionInfo, TokenInfo, User, UserStore

__all__ = [
    "DEFAULT_URL",
    "ENV_URL",
    "MASK",
    "ROLES",
    "Database",
    "DecisionLog",
    "DecisionSummary",
    "ExperimentArm",
    "ExperimentRun",
    "FeedbackInput",
    "FeedbackRecord",
    "FeedbackStore",
    "ImportResult",
    "LoggedDecision",
    "Posted",
    "Release",
    "ReleaseEvent",
    "ReleaseStore",
    "ReplayReport",
    "ReplayRun",
    "Role",
    "SessionInfo",
    "Store",
    "StoreError",
    "TokenInfo",
    "User",
    "UserStore",
    "decide_and_log",
    "decide_in_experiment",
    "effectiveness_report",
    "experiment_report",
    "import_csv",
    "propensity_table",
    "replay",
    "rule_health_report",
]


class Store:
    """One database with its decision log and feedback store: reads and writes, no use case."""

    def __init__(self, url: str | None = None, kb: KnowledgeBase | None = None):
        """Open (and migrate) the database; ``kb`` gives the feedback reason and action catalogues
        (default: the shipped knowledge base's)."""
        self.db = Database(url)
        self.decisions = DecisionLog(self.db)
        self.feedback = FeedbackStore(self.db, kb.feedback_reasons if kb is not None else None,
                                      kb.actions if kb is not None else None)
        self.users = UserStore(self.db)
        self.releases = ReleaseStore(self.db)
        #: acceptance tables by (as-of date, settings), each with the log's watermark when it was
        #: counted (:func:`store.service.propensity_table` counts again only when the log changed)
        self.propensity_cache: dict[tuple[Any, ...], tuple[tuple[int, int, int], Any]] = {}

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

