"""engine/authoring/simulation.py: the off-policy estimate of a new policy's acceptance from logged
items (propensities from the logged ranks), on hand-made logs whose answer is known."""

from __future__ import annotations

import pytest

from rm_advisor.engine.authoring import LoggedItem, estimate_acceptance


def _log(decisions: int) -> list[LoggedItem]:
    """Each decision showed `a` (accepted in 1 of 4) and `b` (accepted in 1 of 2); `c` was ranked below."""
    out = []
    for d in range(decisions):
        out += [LoggedItem(decision_id=f"d{d}", subject="client:C", item_id="a", shown=True, accepted=d % 4 == 0),
                LoggedItem(decision_id=f"d{d}", subject="client:C", item_id="b", shown=True, accepted=d % 2 == 0),
                LoggedItem(decision_id=f"d{d}", subject="client:C", item_id="c", shown=False)]
    return out


def test_the_same_shown_items_estimate_the_logged_rate_exactly() -> None:
    logged = _log(40)
    same = [(i.decision_id, i.subject, i.item_id) for i in logged if i.shown]
    est = estimate_acceptance(logged, same, resamples=200)
    assert est.coverage == 1.0 and est.estimate == pytest.approx(0.375) and est.ips == pytest.approx(0.375)
    assert est.logged_acceptance.rate == 0.375
    assert est.low is not None and est.high is not None and est.low < 0.375 < est.high


def test_dropping_an_item_the_managers_refuse_raises_the_estimate_to_what_is_left() -> None:
    logged = _log(40)
    only_b = [(f"d{d}", "client:C", "b") for d in range(40)]
    est = estimate_acceptance(logged, only_b, resamples=200)
    assert est.estimate == pytest.approx(0.5) and est.ips == pytest.approx(0.5) and est.supported == 40


def test_an_item_never_shown_is_filled_in_by_the_model_and_lowers_the_coverage() -> None:
    logged = _log(40)
    b_and_c = [(f"d{d}", "client:C", x) for d in range(40) for x in ("b", "c")]
    est = estimate_acceptance(logged, b_and_c, resamples=200, seed=1)
    assert est.coverage == 0.5 and est.ips == pytest.approx(0.5)
    # `c` was never shown: the model gives it the overall logged rate (0.375); the estimate is (0.5 + 0.375) / 2
    assert est.estimate == pytest.approx(0.4375)
    assert estimate_acceptance(logged, b_and_c, resamples=200, seed=1) == est  # seeded


def test_a_logged_propensity_below_one_weights_the_observed_reward() -> None:
    logged = [LoggedItem(decision_id="d1", subject="client:C", item_id="a", shown=True, accepted=True, propensity=0.5),
              LoggedItem(decision_id="d2", subject="client:C", item_id="a", shown=True, accepted=False)]
    est = estimate_acceptance(logged, [("d1", "client:C", "a"), ("d2", "client:C", "a")], resamples=50)
    assert est.ips == pytest.approx(2 / 3)  # (1 / 0.5) / (1 / 0.5 + 1 / 1)


def test_an_empty_log_estimates_nothing() -> None:
    est = estimate_acceptance([], [], resamples=20)
    assert (est.decisions, est.estimate, est.low, est.ips) == (0, None, None, None)
