"""Champion/challenger experiments: an experiment file, the assignment of subjects to arms, and the
analysis of what managers did with each arm's recommendations.

An experiment file (YAML, ``rules/experiment.schema.json``) names an id, two or more arms (each a
rule set: a rules directory, or a revision's texts, so an arm may differ from another in its rules,
its contact policies or its arbitration settings), their weights, the dates it runs and the metrics
it is judged on::

    id: visit_interval_2026q4
    arms:
      - {name: champion, rules: ../rules, weight: 1}
      - {name: challenger, rules: ../rules_next, weight: 1}
    start: 2026-12-01
    end: 2026-12-31
    metrics: [acceptance, completion]

Assignment is deterministic: the SHA-256 of the experiment id and the subject (``client:T-001``)
gives a number in [0, 1), which the cumulative weights split into arms, so a client stays in its arm
across runs, servers and doors, and two experiments split clients independently.

The analysis counts, per arm, the recommendations shown, how many were accepted (accepted or done)
and how many were done, both as shares of the shown ones, with Wilson 95 % intervals; each
challenger is compared with the first arm (the champion) by a two-sided two-proportion z test
(pooled variance, scipy's normal distribution). The verdict is "not enough evidence yet" while an arm
has fewer shown recommendations than ``min_per_arm`` or the difference is not significant at
``alpha``.

Pure: the file text is given (the engine opens no file), the counts come from the caller.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rm_advisor.engine.errors import Diagnostic
from rm_advisor.engine.language import SubjectKey, Text
from rm_advisor.engine.language.knowledge import ID_PATTERN
from rm_advisor.engine.language.rules import file_json_schema
from rm_advisor.engine.loading.validation import validate_document
from rm_advisor.engine.loading.yaml_source import parse_yaml
from rm_advisor.engine.messages import N_, in_both

Metric = Literal["acceptance", "completion"]
Verdict = Literal["better", "worse", "not_enough_evidence"]

#: experiment ids and arm names: lower-case identifiers, as rule ids are
NAME_PATTERN = ID_PATTERN
#: the fewest shown recommendations per arm before a difference is judged at all
MIN_PER_ARM = 100
#: the significance level of the two-proportion test
ALPHA = 0.05


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Arm(_Strict):
    """One arm: a name and the rule set its subjects are decided with."""

    name: str = Field(pattern=NAME_PATTERN, description="stable name, logged with each decision")
    rules: str = Field(min_length=1, description="the arm's rules directory (relative to the experiment file), "
                                                 "or `revision:REV` for a rule set stored in the decision log")
    weight: float = Field(default=1.0, gt=0, description="share of the subjects (relative to the other arms)")


class Experiment(_Strict):
    """An experiment file: two or more arms and their split, the dates, the metrics."""

    schema_: str | None = Field(default=None, alias="$schema", description="editor hint, ignored")
    id: str = Field(pattern=NAME_PATTERN, description="stable id: assignment and reports use it")
    arms: tuple[Arm, ...] = Field(min_length=2, description="the first arm is the champion")
    start: dt.date | None = Field(default=None, description="first as-of date of the decisions it counts")
    end: dt.date | None = Field(default=None, description="last as-of date of the decisions it counts")
    metrics: tuple[Metric, ...] = Field(default=("acceptance", "completion"), min_length=1)
    min_per_arm: int = Field(default=MIN_PER_ARM, ge=1, description="fewest shown recommendations per arm")
    alpha: float = Field(default=ALPHA, gt=0, lt=1, description="significance level of the test")

    def arm(self, name: str) -> Arm:
        return next(a for a in self.arms if a.name == name)

    def assign(self, subject: SubjectKey) -> str:
        """The arm of ``subject``: the same for the same experiment id and subject, always."""
        return assign(self.id, [(a.name, a.weight) for a in self.arms], subject)


def assign(experiment_id: str, weights: list[tuple[str, float]], subject: SubjectKey) -> str:
    """The arm (by name) ``weights`` give ``subject`` in experiment ``experiment_id``."""
    digest = hashlib.sha256(f"{experiment_id}\x1f{subject.type}:{subject.id}".encode()).digest()
    point = int.from_bytes(digest[:8], "big") / 2**64 * sum(w for _, w in weights)
    reached = 0.0
    for name, weight in weights:
        reached += weight
        if point < reached:
            return name
    return weights[-1][0]


def experiment_file_json_schema() -> dict[str, Any]:
    """The JSON Schema of an experiment file (committed as ``rules/experiment.schema.json``)."""
    return file_json_schema(Experiment, "experiment.schema.json", "rm-advisor experiment file")


def check_experiment(text: str, file: str) -> tuple[Experiment | None, list[Diagnostic]]:
    """Parse and check an experiment file's text; every problem located at file:line:column."""
    parsed = parse_yaml(text, file)
    if parsed.unreadable:
        return None, list(parsed.diagnostics)
    found, diags = validate_document(Experiment, parsed)
    diags = [*parsed.diagnostics, *diags]
    if found is not None:
        seen: set[str] = set()
        for i, arm in enumerate(found.arms):
            if arm.name in seen:
                diags.append(Diagnostic("bad_value", f"arm `{arm.name}` is named twice",
                                        parsed.locate(("arms", i, "name")), hint="arm names must be unique"))
            seen.add(arm.name)
        if found.start and found.end and found.end < found.start:
            diags.append(Diagnostic("bad_dates", f"end {found.end} is before start {found.start}",
                                    parsed.locate(("end",))))
    if any(d.severity == "error" for d in diags):
        return None, sorted(diags, key=Diagnostic.sort_key)
    return found, diags


class Rate(BaseModel):
    """A share with its Wilson interval (None: nothing counted)."""

    count: int
    total: int
    rate: float | None
    low: float | None
    high: float | None


class ArmResult(BaseModel):
    """What one arm's subjects were shown and what their managers did with it."""

    name: str
    revisions: list[str] = Field(description="rule-set revisions its decisions were made with")
    decisions: int
    shown: int = Field(description="recommendations shown")
    accepted: int = Field(description="shown recommendations accepted or done")
    done: int
    acceptance: Rate = Field(description="accepted (incl. done) / shown")
    completion: Rate = Field(description="done / shown")


class Comparison(BaseModel):
    """A challenger against the champion on one metric."""

    challenger: str
    champion: str
    metric: Metric
    difference: float | None = Field(description="challenger's rate minus the champion's")
    low: float | None = Field(description="95 % interval of the difference (unpooled)")
    high: float | None
    p_value: float | None = Field(description="two-sided, two-proportion z test (pooled)")
    verdict: Verdict
    summary: Text


class ExperimentReport(BaseModel):
    """Per-arm counts and rates, each challenger compared with the champion."""

    experiment: str
    since: dt.date | None
    until: dt.date | None
    min_per_arm: int
    alpha: float
    arms: list[ArmResult]
    comparisons: list[Comparison]
    enough_evidence: bool = Field(description="some comparison is significant with enough recommendations per arm")


class ArmCounts(BaseModel):
    """The counts the caller gathers for one arm from the decision log."""

    name: str
    revisions: list[str] = []
    decisions: int = 0
    shown: int = 0
    accepted: int = 0
    done: int = 0


def wilson(count: int, total: int, level: float = 0.95) -> Rate:
    """``count`` / ``total`` with its Wilson score interval."""
    if total == 0:
        return Rate(count=0, total=0, rate=None, low=None, high=None)
    from scipy.stats import norm  # scipy loads when a report is made, not with the engine

    z = float(norm.ppf(0.5 + level / 2))
    p = count / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return Rate(count=count, total=total, rate=p, low=max(0.0, centre - half), high=min(1.0, centre + half))


def two_proportions(k1: int, n1: int, k2: int, n2: int, level: float = 0.95) -> tuple[float, float, float, float]:
    """Difference p2 - p1 with its (unpooled, Wald) interval, and the two-sided pooled z test's p-value."""
    from scipy.stats import norm

    p1, p2 = k1 / n1, k2 / n2
    z = float(norm.ppf(0.5 + level / 2))
    half = z * math.sqrt(p1 * (1 - p1) / n1 + p2 * (1 - p2) / n2)
    pooled = (k1 + k2) / (n1 + n2)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    p_value = 1.0 if se == 0 else float(2 * norm.sf(abs(p2 - p1) / se))
    return p2 - p1, p2 - p1 - half, p2 - p1 + half, p_value


def analyse(experiment_id: str, counts: list[ArmCounts], metrics: tuple[Metric, ...] = ("acceptance", "completion"),
            since: dt.date | None = None, until: dt.date | None = None, min_per_arm: int = MIN_PER_ARM,
            alpha: float = ALPHA) -> ExperimentReport:
    """The report over ``counts`` (the champion first): rates, intervals, tests and verdicts."""
    arms = [ArmResult(name=c.name, revisions=c.revisions, decisions=c.decisions, shown=c.shown, accepted=c.accepted,
                      done=c.done, acceptance=wilson(c.accepted, c.shown), completion=wilson(c.done, c.shown))
            for c in counts]
    champion = counts[0]
    comparisons = [_compare(champion, c, m, min_per_arm, alpha) for c in counts[1:] for m in metrics]
    return ExperimentReport(experiment=experiment_id, since=since, until=until, min_per_arm=min_per_arm, alpha=alpha,
                            arms=arms, comparisons=comparisons,
                            enough_evidence=any(c.verdict != "not_enough_evidence" for c in comparisons))


def _compare(champion: ArmCounts, challenger: ArmCounts, metric: Metric, min_per_arm: int,
             alpha: float) -> Comparison:
    k1, k2 = (champion.accepted, challenger.accepted) if metric == "acceptance" else (champion.done, challenger.done)
    n1, n2 = champion.shown, challenger.shown
    names = {"challenger": challenger.name, "champion": champion.name,
             "metric": in_both(N_("acceptance") if metric == "acceptance" else N_("completion"))}
    if min(n1, n2) < min_per_arm:
        return Comparison(challenger=challenger.name, champion=champion.name, metric=metric, difference=None,
                          low=None, high=None, p_value=None, verdict="not_enough_evidence",
                          summary=Text(**in_both(N_("not enough evidence yet: {shown} recommendations shown in the "
                                                    "smaller arm, {needed} needed"), shown=min(n1, n2),
                                                 needed=min_per_arm)))
    difference, low, high, p_value = two_proportions(k1, n1, k2, n2)
    fields = {**names, "difference": f"{difference:+.1%}", "low": f"{low:+.1%}", "high": f"{high:+.1%}",
              "p": f"{p_value:.3f}"}
    if p_value >= alpha:
        verdict: Verdict = "not_enough_evidence"
        summary = in_both(N_("not enough evidence yet: {challenger} against {champion} on {metric} "
                             "{difference} ({low} .. {high}), p = {p}"), **fields)
    else:
        verdict = "better" if difference > 0 else "worse"
        summary = in_both(N_("{challenger} is better than {champion} on {metric}: {difference} ({low} .. {high}), "
                             "p = {p}") if verdict == "better" else
                          N_("{challenger} is worse than {champion} on {metric}: {difference} ({low} .. {high}), "
                             "p = {p}"), **fields)
    return Comparison(challenger=challenger.name, champion=champion.name, metric=metric, difference=difference,
                      low=low, high=high, p_value=p_value, verdict=verdict, summary=Text(**summary))
