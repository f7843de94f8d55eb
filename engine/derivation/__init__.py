"""From history to fact fields: the posted or tabled interactions become the fields rules test
(days since the last visit, open complaints and their age, order trend, arrears...), the
segmentations and the scoring schemes, for one decision and for a portfolio alike; and the team
benchmarks coaching cards compare a manager with."""

from rm_advisor.engine.derivation.benchmarks import MIN_TEAM, benchmark_id, metric_targets, team_benchmarks
from rm_advisor.engine.derivation.facts import derive_facts
from rm_advisor.engine.derivation.frames import frame, records
from rm_advisor.engine.derivation.history import OPEN_KINDS, Derived, Prefer, Sources, derive
from rm_advisor.engine.derivation.scoring import period_start, score, segment

__all__ = ["MIN_TEAM", "OPEN_KINDS", "Derived", "Prefer", "Sources", "benchmark_id", "derive", "derive_facts", "frame",
           "metric_targets", "period_start", "records", "score", "segment", "team_benchmarks"]
