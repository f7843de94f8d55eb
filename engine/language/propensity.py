"""Acceptance evidence from the decision log, as plain data: what a decision's ranking learned from.

The engine never reads the log: the store counts, as of a decision's date, how often the actions it
recommended were accepted per action and segment (and per manager), and passes the counts as a
:class:`PropensityTable`; :mod:`engine.policies.arbitration` turns them into propensities. The table
a decision used is recorded with it (the entries it looked up), so a replay ranks the same way.
"""

from __future__ import annotations

import datetime as dt

from pydantic import BaseModel, ConfigDict, Field


class AcceptanceCount(BaseModel):
    """How one action fared in one segment (and with one manager) over the window before a date."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    action: str
    segment: str
    manager: str | None = Field(default=None, description="null: every manager of the segment")
    accepted: int = Field(ge=0, description="shown recommendations accepted or done")
    decided: int = Field(ge=0, description="shown recommendations accepted, done or rejected")
    weighted_accepted: float = Field(ge=0, description="accepted, each weighed by its age (time decay)")
    weighted_decided: float = Field(ge=0, description="decided, each weighed by its age (time decay)")


class PropensityTable(BaseModel):
    """Acceptance evidence as of ``as_of``: feedback dated before it, on decisions as of the
    ``window_days`` before it (never the decision's own day or later: no peeking)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    as_of: dt.date
    window_days: int = Field(ge=1)
    half_life_days: float = Field(gt=0)
    seed: str = Field(default="", description="what exploration draws are seeded from (the decision id)")
    entries: tuple[AcceptanceCount, ...] = ()

    def lookup(self, action: str, segment: str, manager: str | None = None) -> AcceptanceCount | None:
        """The evidence on ``action`` in ``segment`` (with ``manager``, that manager's own)."""
        index = self.__dict__.get("_index")
        if index is None:
            index = {(e.action, e.segment, e.manager): e for e in self.entries}
            object.__setattr__(self, "_index", index)  # a cache on a frozen table
        found: AcceptanceCount | None = index.get((action, segment, manager))
        return found

    def only(self, keys: set[tuple[str, str, str | None]]) -> PropensityTable:
        """The table cut to the entries of ``keys`` (what one decision looked up, to record with it)."""
        return self.model_copy(update={"entries": tuple(e for e in self.entries
                                                        if (e.action, e.segment, e.manager) in keys)})
