"""The decision log and feedback store: rm-advisor's I/O edge to a database.

Public API::

    from rm_advisor.store import Store
    with Store() as store:                      # $RM_ADVISOR_DB_URL, else sqlite:///rm-advisor.db
        decision = store.decide(advisor, facts, source="api")      # policies applied, logged
        store.feedback.add(FeedbackInput(decision_id=decision.id, subject="T-001",
                                         item="counter_placement", status="rejected",
                                         reason_code="client_not_interested"))
        store.decisions.get(decision.id)         # the logged record
        replay(store.decisions, decision.id, advisor)
        store.effectiveness(since, until)

Errors are :class:`store.errors.StoreError` (an :class:`~rm_advisor.engine.errors.AdvisorError`) with
coded diagnostics (``decision_not_found``, ``feedback_duplicate``, ...); an API route or a CLI command
turns them into a response or a message.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from rm_advisor.engine.inference import Advisor
from rm_advisor.engine.language import Decision, KnowledgeBase
from rm_advisor.engine.policies import EffectivenessReport, Thresholds, effectiveness
from rm_advisor.store.csv_import import ImportResult, import_csv
from rm_advisor.store.database import DEFAULT_URL, ENV_URL, Database
from rm_advisor.store.decision_log import DecisionLog, DecisionSummary, LoggedDecision
from rm_advisor.store.feedback import FeedbackInput, FeedbackRecord, FeedbackStore
from rm_advisor.store.masking import MASK
from rm_advisor.store.replay import ReplayReport, ReplayRun, replay

__all__ = ["DEFAULT_URL", "ENV_URL", "MASK", "Database", "DecisionLog", "DecisionSummary", "FeedbackInput",
           "FeedbackRecord", "FeedbackStore", "ImportResult", "LoggedDecision", "ReplayReport", "ReplayRun",
           "Store", "import_csv", "replay"]


class Store:
    """One database with its decision log and feedback store."""

    def __init__(self, url: str | None = None, kb: KnowledgeBase | None = None):
        """Open (and migrate) the database; ``kb`` gives the feedback reason catalogue (default:
        the shipped knowledge base's)."""
        self.db = Database(url)
        self.decisions = DecisionLog(self.db)
        self.feedback = FeedbackStore(self.db, kb.feedback_reasons if kb is not None else None)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        self.db.close()

    def decide(self, advisor: Advisor, facts: Mapping[str, Any], as_of: dt.date | None = None,
               max_per_subject: int | None = None, source: str = "cli") -> Decision:
        """Decide with the contact policies and the feedback history, and log the decision.

        Returns the decision with its id; it is committed before this returns.
        """
        fact_set = advisor.validate(facts, as_of)
        subjects = [(t, str(f["id"])) for t in ("client", "manager") for f in fact_set.subjects(t)]
        history = self.feedback.history_for(subjects, fact_set.as_of, advisor.book.policies)
        decision = advisor.decide(fact_set, max_per_subject=max_per_subject, history=history)
        return self.decisions.record(decision, facts, advisor.book, source, history, max_per_subject)

    def effectiveness(self, since: dt.date | None = None, until: dt.date | None = None,
                      thresholds: Thresholds | None = None) -> EffectivenessReport:
        """Acceptance and completion of the items recommended between ``since`` and ``until``."""
        items = self.decisions.items(since, until)
        events = self.feedback.events({i.decision_id for i in items})
        return effectiveness(items, events, since, until, thresholds)

