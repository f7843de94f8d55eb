"""``rm-advisor demo --learning``: one decision whose ranking changed because of managers' feedback.

In a throwaway decision log, a manager's new tobacco B-class retailers are decided every day for a
week; the manager turns down the anti-counterfeit training each time and takes up the e-settlement
promotion. The decision of the next day, as of a date after all of that feedback, ranks with what
the log learned (``rules/arbitration.yaml``, ``propensity``); both decisions of one retailer are
printed with the ranking's explanation.
"""

from __future__ import annotations

import datetime as dt
import tempfile
from pathlib import Path
from typing import Any

from rich.console import Console

from rm_advisor.cli.common import _

START = dt.date(2026, 11, 2)
DAYS = 7
PER_DAY = 4
REJECTED, ACCEPTED = "anti_counterfeit_training", "promote_e_settlement"


def _retailers(day: dt.date) -> dict[str, Any]:
    return {"as_of": day.isoformat(), "managers": [{"id": "M1", "domain": "tobacco", "assessment_score": 60}],
            "clients": [{"id": f"R{day:%m%d}{i}", "manager_id": "M1", "domain": "tobacco", "client_class": "B",
                         "network_client": False, "e_settlement": "low_awareness", "counterfeit_awareness": "weak",
                         "days_since_last_visit": 40, "new_brand_stocked": True, "new_brand_on_counter": False}
                        for i in range(PER_DAY)]}


def run_learning_demo(console: Console, lang: str) -> None:
    """Log a week of decisions and feedback in a temporary database, then print the first and the
    last decision about one retailer."""
    from rm_advisor.cli.render import print_decision
    from rm_advisor.engine import Advisor
    from rm_advisor.engine.language import Decision
    from rm_advisor.store import FeedbackInput, Store, decide_and_log

    advisor = Advisor.load()
    with tempfile.TemporaryDirectory() as folder, Store(f"sqlite:///{Path(folder) / 'demo.db'}",
                                                        advisor.book.kb) as store:
        first: Decision | None = None
        for day in (START + dt.timedelta(days=d) for d in range(DAYS)):
            logged = decide_and_log(store, advisor, _retailers(day), source="cli")
            first = first or logged
            for c in logged.clients:  # answered when recommended (a training ranked down may be capped out)
                shown = {r.id for r in c.recommendations}
                if REJECTED in shown:
                    store.feedback.add(FeedbackInput(decision_id=str(logged.id), subject=c.id, item=REJECTED,
                                                     status="rejected", reason_code="client_not_interested"), "cli")
                if ACCEPTED in shown:
                    store.feedback.add(FeedbackInput(decision_id=str(logged.id), subject=c.id, item=ACCEPTED,
                                                     status="accepted"), "cli")
        after = decide_and_log(store, advisor, _retailers(START + dt.timedelta(days=DAYS)), source="cli")
    assert first is not None
    console.rule(_("Before any feedback"), align="left")
    print_decision(console, _one(first), lang, explain=False)
    console.rule(_("After {days} days of feedback on {count} retailers: the training turned down each time, the "
                   "e-settlement promotion taken up", days=DAYS, count=DAYS * PER_DAY), align="left")
    # (once the training ranks low enough, the weekly contact cap holds it back: fewer answers on it)
    print_decision(console, _one(after), lang, explain=False)


def _one(decision: Any) -> Any:
    """The decision about its first retailer alone (the others are decided alike)."""
    return decision.model_copy(update={"clients": decision.clients[:1], "managers": []})
