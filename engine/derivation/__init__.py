"""From history to fact fields: the posted or tabled interactions become the fields rules test
(days since the last visit, open complaints and their age, order trend, arrears...), the
segmentations and the scoring schemes, for one decision and for a portfolio alike."""

from rm_advisor.engine.derivation.facts import derive_facts
from rm_advisor.engine.derivation.frames import frame, records
from rm_advisor.engine.derivation.history import OPEN_KINDS, Derived, Prefer, Sources, derive
from rm_advisor.engine.derivation.scoring import period_start, score, segment

__all__ = ["OPEN_KINDS", "Derived", "Prefer", "Sources", "derive", "derive_facts", "frame", "period_start",
           "records", "score", "segment"]
