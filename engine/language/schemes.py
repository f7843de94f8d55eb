"""Segments and scoring schemes as data: the models of ``knowledge_base/scoring.yaml``.

* A **segmentation** turns rated inputs into a class: the tobacco ABC classification scores a
  retailer's business scale, business ability, credit standing and social relations and cuts the
  sum into A, B and C.
* A **scoring scheme** turns manager events into points: the tobacco monthly 100-point assessment
  (three-level inspection findings deduct points) and the credit-cooperative points table (+2 per
  designated account, −1 per 50,000 RMB overdue, −10 per account with interest unpaid past 15 days...).
* A **grade ladder** lists the grades an institution uses, lowest first.

Numbers the documents give are written in the file with their quote; numbers they do not give are
``$parameters`` from ``parameters.yaml``. :mod:`engine.derivation.scoring` computes them.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from rm_advisor.engine.language.knowledge import ID_PATTERN, Provenance, Strict, Text

Number = float | int | str  # a number or a `$parameter` reference
Period = Literal["month", "quarter", "year", "days_90", "all"]


class ClassCut(Strict):
    """A class and the least total points that earn it (the last class takes the rest)."""

    value: str
    min_points: Number | None = None


class Segmentation(Strict):
    """Rated inputs → points → a class, e.g. the tobacco ABC classification."""

    id: str = Field(pattern=ID_PATTERN)
    title: Text
    subject: Literal["client"] = "client"
    field: str = Field(description="the fact field the class is written to")
    domain: str
    inputs: dict[str, dict[str, Number]] = Field(description="input field -> value -> points")
    classes: tuple[ClassCut, ...] = Field(min_length=2, description="best class first")
    provenance: Provenance

    @model_validator(mode="after")
    def _cuts_have_points(self) -> Segmentation:
        # without min_points a class above the last could never be given
        missing = [c.value for c in self.classes[:-1] if c.min_points is None]
        if missing:
            raise ValueError(f"every class but the last needs min_points: {', '.join(missing)}")
        return self


class Match(Strict):
    """Which events an item counts."""

    kind: str
    item: str | None = None
    status: str | None = None


class ScoreItem(Strict):
    """Points per unit of matching events: per event, per client (account), or per amount step."""

    id: str = Field(pattern=ID_PATTERN)
    title: Text
    match: Match
    points: Number
    per: Literal["event", "client", "amount"] = "event"
    amount_step: Number | None = Field(default=None, description="for per=amount: points per this much")
    min_age_days: Number | None = Field(default=None, description="only events older than this (days)")
    open_only: bool = Field(default=False, description="count events still open, whatever their date")
    provenance: Provenance

    @model_validator(mode="after")
    def _amount_has_step(self) -> ScoreItem:
        if self.per == "amount" and self.amount_step is None:
            raise ValueError("per: amount needs amount_step")
        return self


class ScoringScheme(Strict):
    """A points scheme over a manager's events in a period, written to a manager field."""

    id: str = Field(pattern=ID_PATTERN)
    title: Text
    subject: Literal["manager"] = "manager"
    field: str
    domain: str
    base: Number = 0
    minimum: Number | None = None
    maximum: Number | None = None
    period: Period = "month"
    levels: tuple[Text, ...] = Field(default=(), description="inspection levels that report findings")
    items: tuple[ScoreItem, ...] = Field(min_length=1)
    deductions: dict[str, tuple[str, ...]] = Field(
        default_factory=dict, description="field -> item ids whose lost points it totals (as a positive number)")
    provenance: Provenance


class Grade(Strict):
    id: str = Field(pattern=ID_PATTERN)
    title: Text


class GradeLadder(Strict):
    """An institution's manager grades, lowest first."""

    id: str = Field(pattern=ID_PATTERN)
    title: Text
    domain: str
    grades: tuple[Grade, ...] = Field(min_length=2)
    provenance: Provenance


class ScoringFile(Strict):
    segmentations: tuple[Segmentation, ...] = ()
    schemes: tuple[ScoringScheme, ...] = ()
    ladders: tuple[GradeLadder, ...] = ()
