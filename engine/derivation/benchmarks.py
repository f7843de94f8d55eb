"""Team benchmarks: each coaching card's behaviour metric over the managers of one domain.

For every metric a coaching card measures (``card.metric`` in ``coaching.yaml``), the managers of
one domain who have a value form the team: a number gets the team's median and mean, a boolean or
enum field the share of the team at the card's target. A team needs at least :data:`MIN_TEAM`
managers with a value (a manager alone is no benchmark for themselves). The records have the shape
of ``team_benchmark`` facts (``knowledge_base/facts.yaml``): the batch computes them over the whole
portfolio and gives each manager's book those of its domain (``source: portfolio``), so that a
decision logged from the batch replays with the same benchmark; a single decision uses the ones
posted with it, or computes them from the managers posted.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from rm_advisor.engine.language.facts import Fact
from rm_advisor.engine.language.knowledge import KnowledgeBase

#: the fewest managers with a value that make a team benchmark
MIN_TEAM = 2


def metric_targets(kb: KnowledgeBase) -> dict[str, bool | str | None]:
    """Every manager field some coaching card measures, with the value it aims at (None: a number)."""
    out: dict[str, bool | str | None] = {}
    for topic in sorted(kb.coaching.values(), key=lambda t: t.id):
        if topic.card is not None:
            out.setdefault(topic.card.metric, topic.card.target)
    return dict(sorted(out.items()))


def target_text(target: bool | str) -> str:
    """A target as a ``team_benchmark`` fact holds it: ``true``, ``false`` or the enum value."""
    return ("true" if target else "false") if isinstance(target, bool) else target


def benchmark_id(domain: str, field: str, target: bool | str | None) -> str:
    """``tobacco.avg_complaint_close_days``; a boolean or enum metric adds its target
    (``bank.reads_statements.true``)."""
    return f"{domain}.{field}" if target is None else f"{domain}.{field}.{target_text(target)}"


def team_benchmarks(managers: Iterable[Fact], kb: KnowledgeBase, source: str = "portfolio") -> list[dict[str, Any]]:
    """``team_benchmark`` records for every domain and card metric with a team, sorted by id."""
    by_domain: dict[str, list[Fact]] = {}
    for m in managers:
        if m.get("domain") is not None:
            by_domain.setdefault(str(m["domain"]), []).append(m)
    out = []
    targets = metric_targets(kb) if any(len(team) >= MIN_TEAM for team in by_domain.values()) else {}
    for domain, team in sorted(by_domain.items()):
        for field, target in targets.items():
            values = [m[field] for m in team if m.get(field) is not None]
            if len(values) < MIN_TEAM:
                continue
            record: dict[str, Any] = {"id": benchmark_id(domain, field, target), "domain": domain, "field": field,
                                      "managers": len(values), "source": source}
            if target is None:
                record["median"] = round(float(statistics.median(values)), 2)
                record["mean"] = round(float(statistics.fmean(values)), 2)
            else:
                record["target"] = target_text(target)
                record["share_pct"] = round(100 * sum(1 for v in values if v == target) / len(values), 1)
            out.append(record)
    return sorted(out, key=lambda r: str(r["id"]))
