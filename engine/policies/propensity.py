"""Propensity: how often managers accept an action in a segment, learned from the decision log.

Pure computation over plain records, as :mod:`engine.policies.effectiveness` (the store reads them):

* :func:`build_table` counts, as of a date D, the shown recommendations of client decisions as of
  the ``window_days`` before D, settled by the feedback dated before D (no peeking at D itself or
  later), per action × segment (and × manager). Each counts with weight ``0.5 ** (age /
  half_life_days)``: recent evidence weighs more.
* :func:`acceptance` is the Beta-Binomial posterior of one action's acceptance rate: the prior is
  the rate the rules' priority predicts (score / 100) worth ``prior_strength`` decided
  recommendations, updated with the weighted counts. Its mean — or, exploring, a Thompson draw
  seeded from the decision (a replay draws the same) — over the prior is the propensity factor of
  :mod:`engine.policies.arbitration`; below ``min_decided`` decided it is not used.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from collections.abc import Iterable

from rm_advisor.engine.language.decision import Acceptance
from rm_advisor.engine.language.feedback import FeedbackEvent
from rm_advisor.engine.language.propensity import AcceptanceCount, PropensityTable
from rm_advisor.engine.policies.arbitration import PropensitySettings
from rm_advisor.engine.policies.effectiveness import ItemRecord, settled_states

#: the prior rate stays inside this range, so a rule of priority 100 (or 0) can still learn
PRIOR_RANGE = (0.01, 0.99)


def build_table(items: Iterable[ItemRecord], feedback: Iterable[FeedbackEvent], as_of: dt.date,
                settings: PropensitySettings, seed: str = "") -> PropensityTable:
    """The acceptance evidence as of ``as_of`` from logged items and their feedback (see the module doc)."""
    first = as_of - dt.timedelta(days=settings.window_days)
    shown = [i for i in items if i.shown and i.subject_type == "client" and first <= i.as_of < as_of]
    states = settled_states(shown, (e for e in feedback if e.date < as_of))
    counts: dict[tuple[str, str, str | None], list[float]] = {}
    for i in shown:
        state = states.get((i.decision_id, i.subject_type, i.subject_id, i.item_id))
        if state not in ("accepted", "done", "rejected"):
            continue
        weight = 0.5 ** ((as_of - i.as_of).days / settings.half_life_days)
        yes = state != "rejected"
        segment = i.segment or "-"
        keys: list[tuple[str, str, str | None]] = [(i.item_id, segment, None)]
        if settings.by_manager and i.manager_id is not None:
            keys.append((i.item_id, segment, i.manager_id))
        for key in keys:
            c = counts.setdefault(key, [0, 0, 0.0, 0.0])
            c[0] += yes
            c[1] += 1
            c[2] += weight * yes
            c[3] += weight
    entries = tuple(AcceptanceCount(action=a, segment=s, manager=m, accepted=int(c[0]), decided=int(c[1]),
                             weighted_accepted=round(c[2], 9), weighted_decided=round(c[3], 9))
                    for (a, s, m), c in sorted(counts.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2] or "")))
    return PropensityTable(as_of=as_of, window_days=settings.window_days, half_life_days=settings.half_life_days,
                           seed=seed, entries=entries)


def prior_rate(score: int) -> float:
    """The acceptance rate a recommendation's score predicts."""
    return min(max(score / 100, PRIOR_RANGE[0]), PRIOR_RANGE[1])


def acceptance(evidence: AcceptanceCount, score: int, settings: PropensitySettings, table: PropensityTable,
               subject: str) -> Acceptance:
    """The posterior acceptance rate of ``evidence``'s action for one subject (see the module doc)."""
    prior = prior_rate(score)
    alpha = prior * settings.prior_strength + evidence.weighted_accepted
    beta = (1 - prior) * settings.prior_strength + max(evidence.weighted_decided - evidence.weighted_accepted, 0.0)
    rate = alpha / (alpha + beta)
    if settings.explore:
        key = f"{table.seed}|{table.as_of.isoformat()}|{subject}|{evidence.action}"
        rate = random.Random(int(hashlib.sha256(key.encode()).hexdigest()[:16], 16)).betavariate(alpha, beta)
    return Acceptance(segment=evidence.segment, manager=evidence.manager, accepted=evidence.accepted,
                      decided=evidence.decided, days=table.window_days, prior=round(prior, 4), rate=round(rate, 4),
                      used=evidence.decided >= settings.min_decided, sampled=settings.explore)
