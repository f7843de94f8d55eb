"""A seeded simulation of managers answering logged recommendations: in an experiment each shown
recommendation of arm A is accepted with probability ``acceptance[A]`` (:class:`Managers`); for
offline simulation each shown item with its own probability (:class:`ItemManagers`). An accepted
one is done with probability ``completion``; the rest are left unanswered. The store tests plant an
effect with it and check that the reports find it (or say the evidence is not enough)."""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from rm_advisor.engine.language import Decision
from rm_advisor.store import ExperimentArm, FeedbackInput, Store


def clients(first: int, n: int, as_of: str = "2026-12-07", varied: bool = False) -> dict[str, Any]:
    """``n`` tobacco retailers ``T{first}`` ... of one manager, each with several recommendations
    (``varied``: some already order online, some tell counterfeits well, so their top ones differ)."""
    rows = [{"id": f"T{i:04d}", "manager_id": "M1", "name": f"零售户{i:04d}号", "domain": "tobacco",
             "client_class": "ABC"[i % 3], "network_client": varied and i % 4 == 1, "e_settlement": "low_awareness",
             "counterfeit_awareness": "adequate" if varied and i % 3 == 0 else "weak", "days_since_last_visit": 40,
             "new_brand_stocked": True, "new_brand_on_counter": False} for i in range(first, first + n)]
    return {"as_of": as_of, "clients": rows}


@dataclass(frozen=True)
class Managers:
    """Managers whose acceptance of a shown recommendation depends on the arm that made it."""

    acceptance: Mapping[str, float]
    completion: float = 0.5
    seed: int = 19

    def answer(self, store: Store, decided: Iterable[tuple[Decision, ExperimentArm | None]]) -> int:
        """Give the feedback for every shown recommendation of ``decided``; returns how many were shown."""
        rng = random.Random(self.seed)
        shown = 0
        for decision, arm in decided:
            assert arm is not None
            for subject in [*decision.clients, *decision.managers]:
                for rec in subject.recommendations:
                    shown += 1
                    if rng.random() >= self.acceptance[arm.arm]:
                        continue
                    given = {"decision_id": decision.id, "subject": f"{subject.subject_type}:{subject.id}",
                             "item": rec.id}
                    store.feedback.add(FeedbackInput(**given, status="accepted"))
                    if rng.random() < self.completion:
                        store.feedback.add(FeedbackInput(**given, status="done"))
        return shown


@dataclass(frozen=True)
class ItemManagers:
    """Managers whose acceptance of a shown recommendation depends on the item alone (``default``
    for items not named): the new rule set's true acceptance is then known for any shown set."""

    acceptance: Mapping[str, float]
    default: float = 0.3
    seed: int = 19

    def rate(self, item: str) -> float:
        return self.acceptance.get(item, self.default)

    def answer(self, store: Store, decisions: Iterable[Decision]) -> None:
        """Accept each shown recommendation of ``decisions`` with its item's probability."""
        rng = random.Random(self.seed)
        for decision in decisions:
            for subject in [*decision.clients, *decision.managers]:
                for rec in subject.recommendations:
                    if rng.random() < self.rate(rec.id):
                        store.feedback.add(FeedbackInput(decision_id=decision.id, item=rec.id, status="accepted",
                                                         subject=f"{subject.subject_type}:{subject.id}"))
