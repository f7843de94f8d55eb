"""History for one decision: the posted ``interactions`` are the history, derived exactly as a
portfolio's history table is (:func:`engine.derivation.history.derive`), so a decision does not
depend on the door the facts came through."""

from __future__ import annotations

from collections.abc import Sequence

from rm_advisor.engine.derivation.frames import frame, records
from rm_advisor.engine.derivation.history import Prefer, derive
from rm_advisor.engine.language.facts import Fact, FactSet, build_fact_set
from rm_advisor.engine.language.knowledge import KnowledgeBase


def derive_facts(fact_set: FactSet, kb: KnowledgeBase, prefer: Prefer = "given") -> FactSet:
    """``fact_set`` with the fields its interactions give (days since the last visit, open
    complaints, scoring schemes...) and, as its interactions, the items still open with their age.

    Given values are kept unless ``prefer`` is ``"history"``; :attr:`FactSet.sources` says which
    values came from which events.
    """
    specs = {t: kb.facts[t] for t in ("client", "manager", "interaction")}
    tables = {t: frame(list(fact_set.subjects(t)), spec) for t, spec in specs.items()}
    derived = derive(tables["client"], tables["manager"], tables["interaction"], fact_set.as_of, kb, prefer)
    by_type: dict[str, Sequence[Fact]] = dict(fact_set.by_type)
    by_type["client"] = records(derived.clients, specs["client"])
    by_type["manager"] = records(derived.managers, specs["manager"])
    by_type["interaction"] = records(derived.interactions, specs["interaction"])
    return build_fact_set(by_type, fact_set.as_of, kb, derived.sources)
