"""Offline simulation over the decision log: replay a period's logged decisions on a new rule set,
list what would change (:func:`engine.authoring.diff_decisions`), and estimate the acceptance the
new rule set would have had (:mod:`engine.authoring.simulation`: doubly robust, with IPS beside it).

Each logged decision is made again from its logged (masked) input, as-of date and feedback history,
as a replay makes it (:func:`store.replay.replay_on`); the new rule set shows the first
``max_per_subject`` of each subject's recommendations, as the logged answer did. Decisions a forget
changed are left out (their input no longer holds what they were decided on) and counted.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field
from sqlalchemy import select

from rm_advisor.engine.authoring import RESAMPLES, LoggedItem, OffPolicyEstimate, estimate_acceptance
from rm_advisor.engine.inference import Advisor
from rm_advisor.engine.policies import settled_states
from rm_advisor.store.decision_log import limited
from rm_advisor.store.replay import replay_on
from rm_advisor.store.schema import DecisionRow

if TYPE_CHECKING:
    from rm_advisor.store import Store


class Simulation(BaseModel):
    """What a new rule set would have changed over a period of logged decisions, and its estimated
    acceptance."""

    since: dt.date | None
    until: dt.date | None
    revision: str = Field(description="the new rule set's revision")
    logged_revisions: list[str]
    decisions: int = Field(description="decisions replayed")
    erased: int = Field(description="decisions left out: a forget changed them")
    changed: int = Field(description="decisions whose replay differs")
    changes: dict[str, int] = Field(description="differences by kind (added, removed, rank, ...)")
    added_shown: int = Field(description="items the new rule set shows that the logged one did not")
    removed_shown: int = Field(description="items the logged rule set showed that the new one does not")
    acceptance: OffPolicyEstimate


def simulate(store: Store, advisor: Advisor, since: dt.date | None = None, until: dt.date | None = None,
             resamples: int = RESAMPLES, seed: int = 0) -> Simulation:
    """Replay the decisions as of ``since`` .. ``until`` on ``advisor``'s rule set and estimate its acceptance."""
    query = select(DecisionRow.id).order_by(DecisionRow.as_of, DecisionRow.id)
    if since is not None:
        query = query.where(DecisionRow.as_of >= since)
    if until is not None:
        query = query.where(DecisionRow.as_of <= until)
    with store.db.transaction() as session:
        ids = list(session.execute(query).scalars())
    items = store.decisions.items(since, until)
    states = settled_states([i for i in items if i.shown], store.feedback.events({i.decision_id for i in items}))
    logged_items, new_shown, kinds = [], [], Counter[str]()
    revisions: set[str] = set()
    erased = changed = 0
    logged_shown: set[tuple[str, str, str]] = set()
    by_decision: dict[str, list[LoggedItem]] = {}
    for i in items:
        state = states.get((i.decision_id, i.subject_type, i.subject_id, i.item_id))
        item = LoggedItem(decision_id=i.decision_id, subject=f"{i.subject_type}:{i.subject_id}", item_id=i.item_id,
                          shown=i.shown, accepted=i.shown and state in ("accepted", "done"))
        by_decision.setdefault(i.decision_id, []).append(item)
    for decision_id in ids:
        logged = store.decisions.get(decision_id)
        if logged.erasure_id is not None:
            erased += 1
            continue
        revisions.add(logged.revision)
        run = replay_on(advisor, logged)
        changed += bool(run.changes)
        kinds.update(c.what for c in run.changes)
        mine = by_decision.get(decision_id, [])
        logged_items += mine
        logged_shown |= {(decision_id, i.subject, i.item_id) for i in mine if i.shown}
        again = limited(run.decision, logged.max_per_subject)
        new_shown += [(decision_id, f"{s.subject_type}:{s.id}", r.id) for s in [*again.clients, *again.managers]
                      for r in s.recommendations]
    estimate = estimate_acceptance(logged_items, new_shown, resamples, seed)
    new = set(new_shown)
    return Simulation(since=since, until=until, revision=advisor.book.revision, logged_revisions=sorted(revisions),
                      decisions=len(ids) - erased, erased=erased, changed=changed, changes=dict(sorted(kinds.items())),
                      added_shown=len(new - logged_shown), removed_shown=len(logged_shown - new), acceptance=estimate)
