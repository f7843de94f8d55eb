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
* :func:`decide_in_experiment`, behind ``rm-advisor decide --experiment``: each posted subject
  decided with the rule set of its arm of a champion/challenger experiment and logged with the arm;
* :func:`experiment_report`, behind ``rm-advisor report experiment`` and ``GET
  /v1/reports/experiments/{id}``: acceptance and completion per arm, intervals, the test of the
  difference and the verdict;
* :func:`rule_health_report`, behind the rule-health part of both and ``rm-advisor check --with-log``:
  the noisy rules of a report with what the log suggests changing.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from rm_advisor.engine.authoring import (
    ALPHA,
    MIN_PER_ARM,
    ArmCounts,
    Experiment,
    ExperimentReport,
    Metric,
    Observation,
    RuleHealth,
    analyse,
    check_experiment,
    rule_health,
)
from rm_advisor.engine.derivation import Prefer
from rm_advisor.engine.errors import Diagnostic, ExperimentError, Location
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
from rm_advisor.store.decision_log import ExperimentArm, limited, new_decision_id
from rm_advisor.store.errors import StoreError
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
                   on_logged: Callable[[float], None] | None = None,
                   experiment: ExperimentArm | None = None) -> Decision:
    """Decide with the contact policies and the feedback history, and log the decision.

    ``facts``: a facts document, or :class:`Posted` facts already validated (``as_of`` is then not
    used). Every posted subject is decided (together: they share the contact caps); the log keeps
    the decision about ``subject`` alone when one is given (ValueError if it was not posted), else
    about every subject, with every recommended item. ``max_per_subject`` limits what is shown:
    the decision returned, with its id, has at most that many recommendations per subject. It is
    committed before this returns; ``on_logged`` is then told how many seconds the write took.
    ``experiment``: the experiment arm whose rule set ``advisor`` is, logged with the decision.
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
                                    subject, decision_id, experiment)
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


@dataclass(frozen=True)
class ExperimentRun:
    """A checked experiment with the advisor of each arm (by arm name), loaded from the arms' rules."""

    experiment: Experiment
    advisors: Mapping[str, Advisor]

    def running(self, day: dt.date) -> bool:
        """The experiment runs on ``day`` (its start .. end, open-ended where absent)."""
        e = self.experiment
        return (e.start is None or day >= e.start) and (e.end is None or day <= e.end)


def open_experiment(path: Path, store: Store, kb: Path | None = None,
                    engine: Literal["compiled", "experta"] = "compiled") -> ExperimentRun:
    """The experiment file at ``path``, checked, with an advisor per arm: a rules directory relative
    to the file, or ``revision:REV``, a rule set the decision log holds. Raises
    :class:`~rm_advisor.engine.errors.ExperimentError` with every located problem of the file."""
    experiment, diags = check_experiment(path.read_text(encoding="utf-8"), str(path))
    if experiment is None:
        raise ExperimentError(diags)
    advisors = {}
    for arm in experiment.arms:
        if arm.rules.startswith("revision:"):
            advisors[arm.name] = store.decisions.advisor_for(arm.rules.removeprefix("revision:"))
        else:
            advisors[arm.name] = Advisor.load(path.parent / arm.rules, kb, engine=engine)
    return ExperimentRun(experiment, advisors)


def decide_in_experiment(store: Store, run: ExperimentRun, facts: Mapping[str, Any], *,
                         as_of: dt.date | None = None, max_per_subject: int | None = None, source: str = "cli",
                         prefer: Prefer = "given") -> list[tuple[Decision, ExperimentArm | None]]:
    """Decide each posted subject with its arm's rule set, and log it with the arm.

    Each arm decides every posted subject (with its own policies and the feedback history), and
    the decision about each subject assigned to it is logged alone, as a one-subject request's is
    (so each replays on its arm's revision). Contact caps are applied within each arm's decision.
    Outside the experiment's dates every subject is decided by the champion (the first arm) and
    logged as one decision without an arm. Returns what is shown, one decision per subject, each
    with its arm (None: outside the experiment's dates)."""
    arms = run.experiment.arms
    champion = run.advisors[arms[0].name]
    posted = Posted.check(champion, facts, as_of, prefer)
    if not run.running(posted.facts.as_of):
        return [(decide_and_log(store, champion, posted, max_per_subject=max_per_subject, source=source), None)]
    subjects = [SubjectKey(t, str(f["id"])) for t in SUBJECT_TYPES for f in posted.facts.subjects(t)]
    decided: list[tuple[Decision, ExperimentArm | None]] = []
    for arm in arms:
        mine = [s for s in subjects if run.experiment.assign(s) == arm.name]
        if not mine:
            continue
        advisor = run.advisors[arm.name]
        own = posted if advisor is champion else Posted.check(advisor, facts, as_of, prefer)
        history = store.feedback.history_for([(s.type, s.id) for s in subjects], own.facts.as_of,
                                             advisor.book.policies)
        settings = advisor.book.arbitration.propensity
        table = propensity_table(store, own.facts.as_of, settings) if settings.enabled else None
        decision = advisor.decide(own.facts, history=history, propensities=table)
        where = ExperimentArm(id=run.experiment.id, arm=arm.name)
        decided += [(limited(store.decisions.record(decision, facts, advisor.book, source, history, max_per_subject,
                                                    s, experiment=where), max_per_subject), where) for s in mine]
    return decided


def experiment_report(store: Store, experiment_id: str, since: dt.date | None = None, until: dt.date | None = None,
                      *, champion: str | None = None, metrics: tuple[Metric, ...] = ("acceptance", "completion"),
                      min_per_arm: int = MIN_PER_ARM, alpha: float = ALPHA) -> ExperimentReport:
    """Acceptance and completion of the recommendations each arm of ``experiment_id`` showed in the
    decisions as of ``since`` .. ``until``, the challengers tested against ``champion`` (default:
    the arm named ``champion``, else the first arm by name). Raises :class:`StoreError`
    (``experiment_not_found``) when no decision of the experiment is logged, or the champion is
    not one of its arms."""
    rows = store.decisions.experiment_items(experiment_id, since, until)
    names = sorted({r.arm for r in rows})
    chosen = champion or ("champion" if "champion" in names else names[0] if names else None)
    if chosen is None or chosen not in names:
        what = f"no decision of experiment `{experiment_id}` is logged" if not names else \
            f"experiment `{experiment_id}` has no arm `{chosen}` (its arms: {', '.join(names)})"
        raise StoreError([Diagnostic("experiment_not_found", what, Location(path="champion" if names else "id"),
                                     hint="`rm-advisor decide --experiment FILE` logs decisions with their arm")])
    shown = [r.item for r in rows if r.item is not None and r.item.shown]
    states = settled_states(shown, store.feedback.events({i.decision_id for i in shown}))
    counts = {n: ArmCounts(name=n) for n in [chosen, *(n for n in names if n != chosen)]}
    for r in rows:
        c = counts[r.arm]
        if r.revision not in c.revisions:
            c.revisions.append(r.revision)
    for name, c in counts.items():
        mine = [r for r in rows if r.arm == name]
        c.decisions = len({r.decision_id for r in mine})
        items = [r.item for r in mine if r.item is not None and r.item.shown]
        settled = [states.get((i.decision_id, i.subject_type, i.subject_id, i.item_id)) for i in items]
        c.shown, c.done = len(items), settled.count("done")
        c.accepted = c.done + settled.count("accepted")
    return analyse(experiment_id, list(counts.values()), metrics, since, until, min_per_arm, alpha)


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
