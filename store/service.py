"""The use cases that put the engine and the store together; :class:`~store.Store` only reads and writes.

* :func:`decide_and_log`, behind ``rm-advisor decide`` and the API's decision routes: validate the
  facts, read their subjects' feedback history, decide with the contact policies, log the decision
  about the subjects asked for with every recommended item (committed before it is returned), and
  return what is shown;
* :func:`propensity_table`, behind the same: the acceptance evidence of the log as of a decision's
  date, which the ranking of ``rules/arbitration.yaml`` learns from (when its ``propensity`` is enabled);
* :func:`effectiveness_report`, behind ``rm-advisor report effectiveness`` and ``GET
  /v1/reports/effectiveness``: the shown items of a period's logged decisions settled by their feedback,
  with what purged decisions left in the rollup;
* :func:`rule_health_report`, behind the rule-health part of both and ``rm-advisor check --with-log``:
  the noisy rules of a report with what the log suggests changing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from rm_advisor.engine.authoring import Observation, RuleHealth, rule_health
from rm_advisor.engine.derivation import Prefer
from rm_advisor.engine.inference import Advisor
from rm_advisor.engine.language import Decision, FactSet, PropensityTable, SubjectKey
from rm_advisor.engine.policies import (
    EffectivenessReport,
    ItemRecord,
    PropensitySettings,
    Thresholds,
    build_table,
    effectiveness,
    settled_states,
)
from rm_advisor.store.decision_log import limited, new_decision_id
from rm_advisor.store.feedback import SUBJECT_TYPES

if TYPE_CHECKING:
    from rm_advisor.store import Store


@dataclass(frozen=True)
class Posted:
    """Facts as posted, which the log keeps (masked), with their validated form, which the engine
    decides on: a caller that has checked the facts already passes this, so they are checked once."""

    document: Mapping[str, Any]
    facts: FactSet

    @classmethod
    def check(cls, advisor: Advisor, document: Mapping[str, Any], as_of: dt.date | None = None,
              prefer: Prefer = "given") -> Posted:
        """Validate ``document`` and derive its history (given values kept unless ``prefer`` is
        ``"history"``); raises :class:`~rm_advisor.engine.FactError` listing every problem."""
        return cls(document, advisor.validate(document, as_of, prefer))


def decide_and_log(store: Store, advisor: Advisor, facts: Mapping[str, Any] | Posted, *,
                   as_of: dt.date | None = None, max_per_subject: int | None = None,
                   source: str = "cli", subject: SubjectKey | None = None, prefer: Prefer = "given",
                   on_logged: Callable[[float], None] | None = None) -> Decision:
    """Decide with the contact policies and the feedback history, and log the decision.

    ``facts``: a facts document, or :class:`Posted` facts already validated (``as_of`` is then not
    used). Every posted subject is decided (together: they share the contact caps); the log keeps
    the decision about ``subject`` alone when one is given (ValueError if it was not posted), else
    about every subject, with every recommended item. ``max_per_subject`` limits what is shown:
    the decision returned, with its id, has at most that many recommendations per subject. It is
    committed before this returns; ``on_logged`` is then told how many seconds the write took.
    """
    posted = facts if isinstance(facts, Posted) else Posted.check(advisor, facts, as_of, prefer)
    subjects = [(t, str(f["id"])) for t in SUBJECT_TYPES for f in posted.facts.subjects(t)]
    history = store.feedback.history_for(subjects, posted.facts.as_of, advisor.book.policies)
    settings = advisor.book.arbitration.propensity
    decision_id = new_decision_id(dt.datetime.now(dt.UTC))
    table = propensity_table(store, posted.facts.as_of, settings, decision_id) if settings.enabled else None
    # every item: the limit cuts what is shown
    decision = advisor.decide(posted.facts, history=history, propensities=table)
    started = time.perf_counter()
    logged = store.decisions.record(decision, posted.document, advisor.book, source, history, max_per_subject,
                                    subject, decision_id)
    if on_logged is not None:
        on_logged(time.perf_counter() - started)
    return limited(logged, max_per_subject)


#: acceptance tables kept per store (one per as-of date and settings; the oldest dropped first)
PROPENSITY_CACHE = 8


def propensity_table(store: Store, as_of: dt.date, settings: PropensitySettings, seed: str = "") -> PropensityTable:
    """The acceptance evidence as of ``as_of`` (:func:`engine.policies.propensity.build_table`): the
    shown client items of the decisions as of the ``settings.window_days`` before that day, settled by
    the feedback dated before it. ``seed``: what exploration draws from (the decision's id).

    A table is counted once per date and kept while the log's watermark (the decisions of the window,
    the feedback events) stays where it was: the decisions of one day share it until feedback or a
    decision of the window is written."""
    since, until = as_of - dt.timedelta(days=settings.window_days), as_of - dt.timedelta(days=1)
    key = (as_of, settings)
    mark = store.decisions.watermark(since, until)
    held = store.propensity_cache.get(key)
    if held is not None and held[0] == mark:
        table: PropensityTable = held[1]
    else:
        items = store.decisions.items(since, until)
        table = build_table(items, store.feedback.events({i.decision_id for i in items}), as_of, settings)
        store.propensity_cache.pop(key, None)
        store.propensity_cache[key] = (mark, table)
        while len(store.propensity_cache) > PROPENSITY_CACHE:
            store.propensity_cache.pop(next(iter(store.propensity_cache)))
    return table.model_copy(update={"seed": seed})


def effectiveness_report(store: Store, since: dt.date | None = None, until: dt.date | None = None,
                         thresholds: Thresholds | None = None,
                         managers: frozenset[str] | None = None) -> EffectivenessReport:
    """Acceptance and completion of the items shown as recommendations by the decisions as of
    ``since`` .. ``until``; ``managers``: only the items of these managers' subjects (the count of
    purged decisions, which the rollup keeps per day and not per manager, is then left out)."""
    from rm_advisor.store.retention import rollup

    items = store.decisions.items(since, until)
    settled, decisions = rollup(store.db, since, until)  # what purged decisions left behind
    if managers is not None:
        items = [i for i in items if i.manager_id is not None and i.manager_id in managers]
        settled = [c for c in settled if c.manager_id is not None and c.manager_id in managers]
        decisions = {}
    events = store.feedback.events({i.decision_id for i in items})
    return effectiveness(items, events, since, until, thresholds, settled, decisions)


#: at most this many logged decisions are read for the matched values behind rule-health suggestions
#: (the newest first): enough for the counts to mean something, bounded for a large log
RULE_HEALTH_DECISIONS = 2000


def rule_health_report(store: Store, advisor: Advisor, report: EffectivenessReport,
                       managers: frozenset[str] | None = None) -> list[RuleHealth]:
    """The noisy rules of ``report`` with what the log suggests changing in each (see
    :mod:`engine.authoring.rule_health`), read against ``advisor``'s rule set: the values the rules
    matched come from the newest :data:`RULE_HEALTH_DECISIONS` logged decisions that showed them;
    ``managers``: only the items of these managers' subjects, as the report was counted."""
    noisy = {r.key for r in report.noisy_rules}
    if not noisy:
        return []
    items = [i for i in store.decisions.items(report.since, report.until) if i.shown and noisy & set(i.rules)
             and (managers is None or (i.manager_id is not None and i.manager_id in managers))]
    states = settled_states(items, store.feedback.events({i.decision_id for i in items}))
    days = {i.decision_id: i.as_of for i in items}
    newest = sorted(days, key=lambda d: (days[d], d), reverse=True)[:RULE_HEALTH_DECISIONS]
    wanted: dict[str, list[ItemRecord]] = {}
    for i in items:
        wanted.setdefault(i.decision_id, []).append(i)
    observations = []
    for decision_id in newest:
        decision = store.decisions.get(decision_id).decision
        recs = {(s.subject_type, s.id, r.id): r for s in [*decision.clients, *decision.managers]
                for r in s.recommendations}
        for item in wanted[decision_id]:
            rec = recs.get((item.subject_type, item.subject_id, item.item_id))
            if rec is None:
                continue
            state = states.get((item.decision_id, item.subject_type, item.subject_id, item.item_id))
            observations += [Observation(rule_id=t.rule_id, state=state, matched=t.matched)
                             for t in rec.because if t.rule_id in noisy]
    rules = {r.id: (r.rule, r.file, r.line) for r in advisor.book.by_id().values()}
    return rule_health(report.noisy_rules, rules, observations, advisor.book.kb, report.thresholds)
