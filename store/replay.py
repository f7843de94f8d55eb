"""Replaying a logged decision: on the revision it names (from the rule texts stored in the log, so
nothing on disk is needed) it must come out the same; on the current rule set it shows what changed.

A replay runs on the logged, masked input with the logged as-of date and feedback history, so
contact policies see what they saw then, and with the acceptance evidence the ranking looked up
(recorded in the decision), so the propensities are those it had; it gives the decision about the
subjects logged (the one a one-subject request asked for) with every recommended item, as the log holds it (a decision
logged before migration 0002, which holds the shown items only, is cut at its limit again).
"""

from __future__ import annotations

from pydantic import BaseModel

from rm_advisor.engine.authoring import Change, diff_decisions
from rm_advisor.engine.errors import Diagnostic, Location
from rm_advisor.engine.inference import Advisor
from rm_advisor.engine.language import Decision, SubjectKey
from rm_advisor.store.decision_log import DecisionLog, LoggedDecision, about
from rm_advisor.store.errors import StoreError


class ReplayRun(BaseModel):
    """The decision re-made on one rule set, and how it differs from the logged one."""

    revision: str
    identical: bool
    changes: list[Change]
    decision: Decision


class ReplayReport(BaseModel):
    """Replays of one logged decision on its own revision and (optionally) on the current one."""

    decision_id: str
    logged_revision: str
    on_logged: ReplayRun
    on_current: ReplayRun | None = None


def replay(log: DecisionLog, decision_id: str, current: Advisor | None = None) -> ReplayReport:
    """Re-run a logged decision on its revision and, given ``current``, on that advisor's rule set.

    A decision a forget changed is refused (``decision_erased``): the facts it was decided on are
    gone, so no replay could be identical."""
    logged = log.get(decision_id)
    if logged.erasure_id is not None:
        raise erased(logged)
    own = replay_on(log.advisor_for(logged.revision), logged)
    other = replay_on(current, logged) if current is not None else None
    return ReplayReport(decision_id=decision_id, logged_revision=logged.revision, on_logged=own, on_current=other)


def replay_on(advisor: Advisor, logged: LoggedDecision) -> ReplayRun:
    """``logged`` made again by ``advisor``, and what differs (offline simulation replays with it too)."""
    limit = None if logged.all_recommended else logged.max_per_subject
    subject = SubjectKey.parse(logged.subject) if logged.subject else None
    decided = advisor.decide(logged.input, as_of=logged.as_of, max_per_subject=limit, history=logged.history,
                             propensities=logged.decision.propensities)
    again = _logged_subjects(_about(decided, subject), logged.decision).model_copy(update={"id": logged.id})
    changes = diff_decisions(logged.decision, again)
    return ReplayRun(revision=again.revision, identical=not changes, changes=changes, decision=again)


def _logged_subjects(decision: Decision, logged: Decision) -> Decision:
    """The clients of ``decision`` that the logged decision is about: a batch book's input holds the
    clients of other books its links reach, which are decided (and logged) in their own books."""
    mine = {c.id for c in logged.clients}
    return decision.model_copy(update={"clients": [c for c in decision.clients if c.id in mine]})


def _about(decision: Decision, subject: SubjectKey | None) -> Decision:
    """The replayed decision about the logged subject; without it (a rule set that no longer knows
    the subject's facts) the replay shows the subject as removed."""
    try:
        return about(decision, subject)
    except ValueError:
        return decision.model_copy(update={"clients": [], "managers": []})


def erased(logged: LoggedDecision) -> StoreError:
    """Why a decision a forget changed cannot be replayed identically."""
    return StoreError([Diagnostic(
        "decision_erased", f"decision {logged.id} cannot be replayed identically: a client's personal data was erased "
        f"from it (erasure #{logged.erasure_id}), so its input no longer holds the facts it was decided on",
        Location(path="decision_id"), hint="`rm-advisor log erasures` lists the erasures; the decision's items and "
        "feedback still count in reports")])
