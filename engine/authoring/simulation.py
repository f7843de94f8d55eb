"""Offline simulation: the acceptance a new rule set would have had on a period of logged decisions,
estimated off-policy from what managers did with what the logged rule set showed.

The logging policy is the logged rule set with its ``top`` limit. It is deterministic: given a
decision's facts it shows the items ranked 1 .. ``max_per_subject`` (all, without a limit), so the
propensity of a logged item being shown is derived from its logged rank: 1 when it was shown, 0
otherwise (an item may carry another logged propensity; the estimator divides by it). The new rule
set, replayed on the same facts, is deterministic too. Where both show an item its reward is
observed (accepted or done: 1; else 0) with importance weight 1 / propensity; where only the new
rule set shows it no reward was observed, and a reward model fills in: the item's acceptance among
the logged shown recommendations, shrunk toward the overall rate by ``prior`` pseudo-counts.

* **doubly robust** (the estimate): per new shown item, the model's value plus, where the logging
  policy showed it too, the weighted difference between the observed reward and the model;
* **IPS** (self-normalised, beside it): the weighted acceptance over the items both show only.

The interval is a percentile bootstrap over the subjects of the decisions (each client of each
decision is a unit; the reward model is refitted in each resample; seeded, so the same log gives the
same interval). The estimate is sound when acceptance
depends on the item (and what the model does not see averages out), and its ``coverage`` (the share
of the new shown items with an observed reward) says how much rests on the model.

Pure: the caller gathers the logged items and the new policy's shown items.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from rm_advisor.engine.authoring.experiments import Rate, wilson

#: bootstrap resamples of the interval
RESAMPLES = 1000
#: pseudo-counts shrinking an item's logged acceptance toward the overall rate (the reward model)
PRIOR = 5.0


class LoggedItem(BaseModel):
    """A recommended item of a logged decision: shown by the logging policy or not, and its reward."""

    model_config = ConfigDict(frozen=True)

    decision_id: str
    subject: str
    item_id: str
    shown: bool
    accepted: bool = Field(default=False, description="shown, and accepted or done")
    propensity: float = Field(default=1.0, gt=0, le=1, description="the logging policy's probability of showing "
                                                                   "it, when shown (derived from rank: 1)")


ShownKey = tuple[str, str, str]  # (decision id, subject, item id)


class OffPolicyEstimate(BaseModel):
    """The new policy's estimated acceptance (accepted or done / shown) with its interval."""

    decisions: int
    subjects: int = Field(description="subjects of those decisions: the units the bootstrap resamples")
    logged_shown: int
    logged_acceptance: Rate
    new_shown: int
    supported: int = Field(description="new shown items the logging policy showed too (reward observed)")
    coverage: float | None = Field(description="supported / new shown")
    estimate: float | None = Field(description="doubly robust")
    low: float | None = Field(description="95 % percentile bootstrap interval, by decision subject")
    high: float | None
    ips: float | None = Field(description="self-normalised inverse propensity, over the supported items")
    ips_low: float | None
    ips_high: float | None
    resamples: int
    seed: int


def estimate_acceptance(logged: Sequence[LoggedItem], new_shown: Iterable[ShownKey], resamples: int = RESAMPLES,
                        seed: int = 0, prior: float = PRIOR) -> OffPolicyEstimate:
    """Estimate the acceptance of the policy that shows ``new_shown`` on the decisions of ``logged``."""
    new = new_shown_list(new_shown)
    units = sorted({(i.decision_id, i.subject) for i in logged} | {(k[0], k[1]) for k in new})
    items = sorted({i.item_id for i in logged} | {k[2] for k in new})
    d_at, a_at = {d: n for n, d in enumerate(units)}, {a: n for n, a in enumerate(items)}
    shape = (len(units), len(items))
    k, n, shown_new = np.zeros(shape), np.zeros(shape), np.zeros(shape)
    weight_both, reward_both = np.zeros(shape), np.zeros(len(units))
    seen = {(i.decision_id, i.subject, i.item_id): i for i in logged if i.shown}
    for i in seen.values():
        k[d_at[(i.decision_id, i.subject)], a_at[i.item_id]] += i.accepted
        n[d_at[(i.decision_id, i.subject)], a_at[i.item_id]] += 1
    for key in new:
        d, a = d_at[(key[0], key[1])], a_at[key[2]]
        shown_new[d, a] += 1
        both = seen.get(key)
        if both is not None:
            weight_both[d, a] += 1 / both.propensity
            reward_both[d] += both.accepted / both.propensity
    rng = np.random.default_rng(seed)
    weights = np.vstack([np.ones(len(units)),
                         rng.multinomial(len(units), [1 / len(units)] * len(units), size=resamples)
                         if units else np.zeros((resamples, 0))])
    with np.errstate(divide="ignore", invalid="ignore"):
        k_w, n_w = weights @ k, weights @ n
        overall = k_w.sum(axis=1) / n_w.sum(axis=1)
        model = (k_w + prior * overall[:, None]) / (n_w + prior)
        supported_weight = weights @ weight_both
        dr = ((weights @ shown_new) * model).sum(axis=1) + weights @ reward_both \
            - (supported_weight * model).sum(axis=1)
        dr = dr / (weights @ shown_new).sum(axis=1)
        ips = (weights @ reward_both) / supported_weight.sum(axis=1)
    supported = sum(1 for key in new if key in seen)
    accepted = sum(i.accepted for i in seen.values())
    low, high = _interval(dr[1:])
    ips_low, ips_high = _interval(ips[1:])
    return OffPolicyEstimate(decisions=len({u[0] for u in units}), subjects=len(units), logged_shown=len(seen),
                             logged_acceptance=wilson(accepted, len(seen)), new_shown=len(new), supported=supported,
                             coverage=supported / len(new) if new else None, estimate=_value(dr[0]), low=low,
                             high=high, ips=_value(ips[0]), ips_low=ips_low, ips_high=ips_high, resamples=resamples,
                             seed=seed)


def new_shown_list(keys: Iterable[ShownKey]) -> list[ShownKey]:
    """The new policy's shown items, each once, sorted (so the estimate does not depend on order)."""
    return sorted(set(keys))


def _value(x: float) -> float | None:
    return None if not np.isfinite(x) else float(x)


def _interval(values: np.ndarray) -> tuple[float | None, float | None]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None, None
    return float(np.percentile(finite, 2.5)), float(np.percentile(finite, 97.5))
