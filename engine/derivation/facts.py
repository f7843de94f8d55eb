"""History for one decision: the posted ``interactions`` are the history, derived as a portfolio's
history table is, so a decision does not depend on the door the facts came through.

A decision's few records are derived record by record (:mod:`engine.derivation.per_record`);
a portfolio's tables by the vectorised :func:`engine.derivation.history.derive`. A property test
keeps the two equal, field by field, value by value, type by type.
"""

from __future__ import annotations

from collections.abc import Sequence

from rm_advisor.engine.derivation.history import Prefer
from rm_advisor.engine.derivation.per_record import derive_records
from rm_advisor.engine.language.facts import Fact, FactSet, build_fact_set
from rm_advisor.engine.language.knowledge import KnowledgeBase


def derive_facts(fact_set: FactSet, kb: KnowledgeBase, prefer: Prefer = "given") -> FactSet:
    """``fact_set`` with the fields its interactions give (days since the last visit, open
    complaints, scoring schemes...) and, as its interactions, the items still open with their age.

    Given values are kept unless ``prefer`` is ``"history"``; :attr:`FactSet.sources` says which
    values came from which events, and :attr:`FactSet.history` keeps every posted interaction for
    the ``events`` conditions that count them.
    """
    derived = derive_records(list(fact_set.subjects("client")), list(fact_set.subjects("manager")),
                             list(fact_set.subjects("interaction")), fact_set.as_of, kb, prefer)
    by_type: dict[str, Sequence[Fact]] = dict(fact_set.by_type)
    by_type["client"], by_type["manager"], by_type["interaction"] = \
        derived.clients, derived.managers, derived.interactions
    return build_fact_set(by_type, fact_set.as_of, kb, derived.sources, history=fact_set.subjects("interaction"))
