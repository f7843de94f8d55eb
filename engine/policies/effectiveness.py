"""Which recommendations get accepted: rates per rule, action, manager and segment over a period.

Pure computation (pandas) over plain records: the recommended items of logged decisions and the
feedback on them. Only the items an answer showed count (``shown``): an item below a ``top`` limit
was logged and may take feedback, but no manager was asked to act on it. The store (:mod:`store`)
reads those records from the database; a batch report or a test can pass its own.

Per item, the feedback settles into one state: ``rejected`` or ``done`` (final), else ``accepted``,
else ``snoozed``, else no answer. Then, for any group of items:

* acceptance rate = accepted (incl. done) / decided (accepted + rejected); snoozed items are undecided;
* rejection rate  = rejected / decided;
* completion rate = done / accepted (incl. done);
* an item recommended because of several rules counts once for each rule.

"Noisy" rules fire often and are nearly always rejected: at least ``min_recommended``
recommendations in the period, at least ``min_decided`` of them decided, and a rejection rate of at
least ``min_rejection_rate``. The defaults (20, 5, 0.8) suit a team of a few managers over a month;
pass others for other volumes.

Purged decisions (``rm-advisor log purge``) leave their shown items behind as
:class:`SettledCount` rows, already settled and counted by what the report groups on, and the
number of decisions per as-of date: passed back in, they make a report over a purged period the
same as before the purge.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, ConfigDict, Field

from rm_advisor.engine.language.feedback import FeedbackEvent

if TYPE_CHECKING:  # pandas loads when a report is computed, not with the models (CLI start-up)
    import pandas as pd

GroupBy = Literal["rule", "action", "manager", "segment"]
_STATE_RANK = {"snoozed": 1, "accepted": 2, "done": 3, "rejected": 4}  # a later stage wins


class ItemRecord(BaseModel):
    """One recommended item of one logged decision; ``shown``: the answer showed it (within its limit)."""

    model_config = ConfigDict(frozen=True)

    decision_id: str
    as_of: dt.date
    subject_type: Literal["client", "manager"]
    subject_id: str
    item_id: str
    manager_id: str | None = None
    segment: str | None = None
    rules: tuple[str, ...] = ()
    shown: bool = True


State = Literal["rejected", "done", "accepted", "snoozed"]


class SettledCount(BaseModel):
    """``count`` shown items of purged decisions alike in everything the report groups on, and in
    how their feedback settled (``state``; None: no answer; ``reason_code``: a rejection's)."""

    model_config = ConfigDict(frozen=True)

    as_of: dt.date
    item_id: str
    manager_id: str | None = None
    segment: str | None = None
    rules: tuple[str, ...] = ()
    state: State | None = None
    reason_code: str | None = None
    count: int = Field(ge=1)


ItemKey = tuple[str, str, str, str]


def _last_events(feedback: Iterable[FeedbackEvent]) -> dict[ItemKey, FeedbackEvent]:
    """Per item (decision, subject type, subject id, item id), the feedback event that settles it:
    the latest stage wins (rejected or done, else accepted, else snoozed)."""
    last: dict[ItemKey, FeedbackEvent] = {}
    for e in feedback:
        key = (e.decision_id, e.subject_type, e.subject_id, e.item_id)
        held = last.get(key)
        if held is None or _STATE_RANK[e.status] >= _STATE_RANK[held.status]:
            last[key] = e
    return last


def settled_states(items: Iterable[ItemRecord], feedback: Iterable[FeedbackEvent]) -> dict[ItemKey, State]:
    """How each of ``items`` settled, by (decision, subject type, subject id, item id); items
    without an answer are left out."""
    last = _last_events(feedback)
    keys = {(i.decision_id, i.subject_type, i.subject_id, i.item_id) for i in items}
    return {k: e.status for k, e in last.items() if k in keys}


def settle(items: Iterable[ItemRecord], feedback: Iterable[FeedbackEvent]) -> list[SettledCount]:
    """The shown ``items`` counted as :class:`SettledCount` rows, each settled by its feedback as the
    report settles it (the latest stage wins: rejected or done, else accepted, else snoozed)."""
    last = _last_events(feedback)
    counts: dict[tuple[object, ...], int] = {}
    for i in items:
        if not i.shown:
            continue
        event = last.get((i.decision_id, i.subject_type, i.subject_id, i.item_id))
        state = event.status if event is not None else None
        reason = event.reason_code if event is not None and state == "rejected" else None
        grain = (i.as_of, i.item_id, i.manager_id, i.segment, tuple(i.rules), state, reason)
        counts[grain] = counts.get(grain, 0) + 1
    return [SettledCount(as_of=k[0], item_id=k[1], manager_id=k[2], segment=k[3], rules=k[4], state=k[5],
                         reason_code=k[6], count=n)
            for k, n in sorted(counts.items(), key=lambda kv: repr(kv[0]))]


class Thresholds(BaseModel):
    """When a rule counts as noisy: fires often and is nearly always rejected."""

    min_recommended: int = Field(default=20, ge=1)
    min_decided: int = Field(default=5, ge=1)
    min_rejection_rate: float = Field(default=0.8, ge=0.0, le=1.0)


class RateRow(BaseModel):
    """Counts and rates for one rule, action, manager or segment."""

    key: str
    recommended: int
    answered: int
    accepted: int
    rejected: int
    done: int
    snoozed: int
    acceptance_rate: float | None
    rejection_rate: float | None
    completion_rate: float | None
    top_reason: str | None = Field(description="most frequent rejection reason code")


class EffectivenessReport(BaseModel):
    """Acceptance and completion over a period, per rule, action, manager and segment."""

    since: dt.date | None
    until: dt.date | None
    decisions: int
    total: RateRow
    by_rule: list[RateRow]
    by_action: list[RateRow]
    by_manager: list[RateRow]
    by_segment: list[RateRow]
    noisy_rules: list[RateRow]
    thresholds: Thresholds


_COLUMNS = {"rule": "rule", "action": "item_id", "manager": "manager_id", "segment": "segment"}


def effectiveness(items: Iterable[ItemRecord], feedback: Iterable[FeedbackEvent],
                  since: dt.date | None = None, until: dt.date | None = None,
                  thresholds: Thresholds | None = None, settled: Iterable[SettledCount] = (),
                  settled_decisions: Mapping[dt.date, int] | None = None) -> EffectivenessReport:
    """Rates over the items shown as recommendations between ``since`` and ``until`` (decision
    as-of dates, inclusive), with all the feedback given on them; items not shown do not count.

    ``settled`` and ``settled_decisions`` (decisions per as-of date) are what purged decisions left
    behind; they count as the items and decisions they stand for."""
    limits = thresholds or Thresholds()
    frame = _items_with_state(items, feedback, since, until, settled)
    kept = sum(n for day, n in (settled_decisions or {}).items()
               if (since is None or day >= since) and (until is None or day <= until))
    by = {g: _rates(frame, g) for g in _COLUMNS}
    noisy = [r for r in by["rule"] if r.recommended >= limits.min_recommended
             and r.accepted + r.rejected >= limits.min_decided
             and (r.rejection_rate or 0.0) >= limits.min_rejection_rate]
    noisy.sort(key=lambda r: (-(r.rejection_rate or 0.0), -r.recommended, r.key))
    total = _row("all", frame)
    return EffectivenessReport(since=since, until=until, decisions=int(frame["decision_id"].nunique()) + kept,
                               total=total, by_rule=by["rule"], by_action=by["action"],
                               by_manager=by["manager"], by_segment=by["segment"], noisy_rules=noisy,
                               thresholds=limits)


def _items_with_state(items: Iterable[ItemRecord], feedback: Iterable[FeedbackEvent],
                      since: dt.date | None, until: dt.date | None, settled: Iterable[SettledCount]) -> pd.DataFrame:
    import pandas as pd

    key = ["decision_id", "subject_type", "subject_id", "item_id"]
    frame = pd.DataFrame([i.model_dump() for i in items if i.shown],
                         columns=[*key, "as_of", "manager_id", "segment", "rules"])
    events = pd.DataFrame([e.model_dump() for e in feedback], columns=[*key, "status", "reason_code"])
    events["rank"] = events["status"].map(_STATE_RANK)
    last = events.sort_values("rank", kind="stable").drop_duplicates(key, keep="last")
    frame = frame.merge(last[[*key, "status", "reason_code"]], on=key, how="left")
    frame["weight"] = 1
    rolled = pd.DataFrame([{"decision_id": None, "as_of": c.as_of, "item_id": c.item_id, "manager_id": c.manager_id,
                            "segment": c.segment, "rules": c.rules, "status": c.state,
                            "reason_code": c.reason_code, "weight": c.count} for c in settled],
                          columns=["decision_id", "as_of", "item_id", "manager_id", "segment", "rules", "status",
                                   "reason_code", "weight"])
    if len(rolled):
        parts = [frame.astype({"status": object, "reason_code": object}), rolled] if len(frame) else [rolled]
        frame = pd.concat(parts, ignore_index=True)
    if since is not None:
        frame = frame[frame["as_of"] >= since]
    if until is not None:
        frame = frame[frame["as_of"] <= until]
    frame["manager_id"] = frame["manager_id"].fillna("-")
    frame["segment"] = frame["segment"].fillna("-")
    return frame


def _rates(frame: pd.DataFrame, group: str) -> list[RateRow]:
    if group == "rule":
        frame = frame.explode("rules").rename(columns={"rules": "rule"}).dropna(subset=["rule"])
    col = _COLUMNS[group]
    rows = [_row(str(k), part) for k, part in frame.groupby(col, sort=True)]
    return sorted(rows, key=lambda r: (-r.answered, -r.recommended, r.key))  # rows with feedback first


def _row(key: str, part: pd.DataFrame) -> RateRow:
    status, weight = part["status"], part["weight"]
    n = {s: int(weight[status == s].sum()) for s in _STATE_RANK}
    accepted = n["accepted"] + n["done"]
    decided = accepted + n["rejected"]
    rejected = part.loc[(status == "rejected") & part["reason_code"].notna()]
    top = rejected.groupby("reason_code")["weight"].sum().sort_index().sort_values(ascending=False, kind="stable")
    return RateRow(key=key, recommended=int(weight.sum()), answered=int(weight[status.notna()].sum()),
                   accepted=accepted,
                   rejected=n["rejected"], done=n["done"], snoozed=n["snoozed"],
                   acceptance_rate=_ratio(accepted, decided), rejection_rate=_ratio(n["rejected"], decided),
                   completion_rate=_ratio(n["done"], accepted), top_reason=str(top.index[0]) if len(top) else None)


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 4) if b else None
