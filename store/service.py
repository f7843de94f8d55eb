"""The use cases that put the engine and the store together; :class:`~store.Store` only reads and writes.

* :func:`decide_and_log`, behind ``rm-advisor decide`` and the API's decision routes: validate the
  facts, read their subjects' feedback history, decide with the contact policies, log the decision
  about the subjects asked for with every recommended item (committed before it is returned), and
  return what is shown;
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
from rm_advisor.engine.language import Decision, FactSet, SubjectKey
from rm_advisor.engine.policies import EffectivenessReport, ItemRecord, Thresholds, effectiveness, settled_states
from rm_advisor.store.decision_log import limited
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
    decision = advisor.decide(posted.facts, history=history)  # every item: the limit cuts what is shown
    started = time.perf_counter()
    logged = store.decisions.record(decision, posted.document, advisor.book, source, history, max_per_subject,
                                    subject)
    if on_logged is not None:
        on_logged(time.perf_counter() - started)
    return limited(logged, max_per_subject)


def effectiveness_report(store: Store, since: dt.date | None = None, until: dt.date | None = None,
                         thresholds: Thresholds | None = None) -> EffectivenessReport:
    """Acceptance and completion of the items shown as recommendations by the decisions as of
    ``since`` .. ``until``."""
    from rm_advisor.store.retention import rollup

    items = store.decisions.items(since, until)
    events = store.feedback.events({i.decision_id for i in items})
    settled, decisions = rollup(store.db, since, until)  # what purged decisions left behind
    return effectiveness(items, events, since, until, thresholds, settled, decisions)


#: at most this many logged decisions are read for the matched values behind rule-health suggestions
#: (the newest first): enough for the counts to mean something, bounded for a large log
RULE_HEALTH_DECISIONS = 2000


def rule_health_report(store: Store, advisor: Advisor, report: EffectivenessReport) -> list[RuleHealth]:
    """The noisy rules of ``report`` with what the log suggests changing in each (see
    :mod:`engine.authoring.rule_health`), read against ``advisor``'s rule set: the values the rules
    matched come from the newest :data:`RULE_HEALTH_DECISIONS` logged decisions that showed them."""
    noisy = {r.key for r in report.noisy_rules}
    if not noisy:
        return []
    items = [i for i in store.decisions.items(report.since, report.until) if i.shown and noisy & set(i.rules)]
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
