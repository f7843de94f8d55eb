"""store/simulation.py: replaying a period of the decision log on a new rule set, with the diff and
the off-policy estimate of its acceptance, on simulated managers whose acceptance per item is known."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

from rm_advisor.engine import Advisor
from rm_advisor.store import Store, decide_and_log
from rm_advisor.store.simulation import simulate
from tests.conftest import ROOT
from tests.store.simulated_managers import ItemManagers, clients

MANAGERS = ItemManagers({"monopoly_check_off_channel_retailer": 0.15, "anti_counterfeit_training": 0.35,
                         "guide_to_network_ordering": 0.25, "promote_e_settlement": 0.70,
                         "periodic_visit_by_class": 0.55, "counter_placement": 0.45})


def _lower_network_ordering(tmp_path: Path) -> Advisor:
    """The shipped rules with `tobacco.network_ordering` at priority 50 instead of 70."""
    rules = tmp_path / "rules_next"
    rules.mkdir()
    for path in (ROOT / "rules").glob("*.yaml"):
        if not path.name.endswith(".scenarios.yaml"):
            shutil.copy(path, rules / path.name)
    text = (rules / "tobacco.yaml").read_text(encoding="utf-8")
    at = text.index("- id: tobacco.network_ordering")
    head, tail = text[:at], text[at:]
    (rules / "tobacco.yaml").write_text(head + tail.replace("priority: 70", "priority: 50", 1), encoding="utf-8")
    return Advisor.load(rules, ROOT / "knowledge_base")


def test_the_estimate_holds_the_true_acceptance_of_the_new_rules(store: Store, advisor: Advisor,
                                                                 tmp_path: Path) -> None:
    logged = [decide_and_log(store, advisor, clients(b * 20, 20, varied=True), max_per_subject=3) for b in range(4)]
    MANAGERS.answer(store, logged)
    new = _lower_network_ordering(tmp_path)
    result = simulate(store, new, seed=7)
    assert result.decisions == 4 and result.changed == 4 and result.revision == new.book.revision
    assert result.added_shown > 0 and result.removed_shown > 0 and "rank" in result.changes
    # the truth: each item the new rules show, at its known acceptance
    shown = [r.id for b in range(4) for s in new.decide(clients(b * 20, 20, varied=True)).clients
             for r in s.recommendations[:3]]
    truth = sum(MANAGERS.rate(i) for i in shown) / len(shown)
    est = result.acceptance
    assert est.new_shown == len(shown) and 0 < est.supported < est.new_shown
    assert est.low is not None and est.high is not None and est.estimate is not None
    assert est.low <= truth <= est.high
    logged_rate = est.logged_acceptance.rate
    assert logged_rate is not None and est.estimate > logged_rate  # e-settlement (70 %) moves up
    again = simulate(store, new, seed=7)
    assert again.acceptance == est  # seeded: the same log gives the same interval


def test_the_same_rules_change_nothing_and_estimate_the_logged_rate(store: Store, advisor: Advisor) -> None:
    logged = [decide_and_log(store, advisor, clients(b * 20, 20, varied=True), max_per_subject=3) for b in range(2)]
    MANAGERS.answer(store, logged)
    result = simulate(store, advisor, since=dt.date(2026, 12, 7), until=dt.date(2026, 12, 7))
    assert (result.changed, result.added_shown, result.removed_shown) == (0, 0, 0)
    est = result.acceptance
    assert est.coverage == 1.0 and est.estimate == est.ips == est.logged_acceptance.rate
    assert simulate(store, advisor, until=dt.date(2026, 12, 6)).decisions == 0
