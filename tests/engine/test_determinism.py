"""Results do not depend on fact order, rule-file order or rule order within a file (hypothesis)."""

from __future__ import annotations

from typing import Any

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rm_advisor.engine import Advisor
from rm_advisor.engine.inference.book import load_rule_book
from rm_advisor.engine.language.decision import Decision
from rm_advisor.engine.loading.sources import read_rule_files
from tests.conftest import ROOT
from tests.helpers import KB_FILES

RULE_FILES = read_rule_files(ROOT / "rules")
BASE = Advisor(load_rule_book(RULE_FILES, KB_FILES))

clients = st.lists(st.fixed_dictionaries({
    "domain": st.sampled_from(["tobacco", "bank"]),
    "manager_id": st.sampled_from(["M1", "M2"]),
    "client_class": st.sampled_from(["A", "B", "C"]),
    "network_client": st.booleans(),
    "is_key": st.booleans(),
    "days_since_last_visit": st.integers(0, 40),
    "open_complaints": st.integers(0, 2),
    "credit_bad_record": st.booleans(),
    "owner_contact": st.booleans(),
    "segment": st.just("corporate"),
    "retail_products_held": st.integers(0, 3),
    "interest_unpaid_days": st.integers(0, 30),
}), min_size=1, max_size=6)


def _facts(cs: list[dict[str, Any]]) -> dict[str, Any]:
    return {"as_of": "2026-11-23",
            "managers": [{"id": "M1", "domain": "tobacco", "avg_complaint_close_days": 5, "assessment_score": 50,
                          "crm_proficiency": "low"},
                         {"id": "M2", "domain": "bank", "reads_statements": False}],
            "clients": [{"id": f"C{i}", **c} for i, c in enumerate(cs)]}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cs=clients, data=st.data())
def test_fact_order_does_not_change_the_decision(cs: list[dict[str, Any]], data: st.DataObject) -> None:
    facts = _facts(cs)
    shuffled = dict(facts, clients=data.draw(st.permutations(facts["clients"])),
                    managers=data.draw(st.permutations(facts["managers"])))
    assert BASE.decide(facts) == BASE.decide(shuffled)


def _reordered(files: dict[str, str], seed: int) -> dict[str, str]:
    """The same rules with files renamed (so loaded in another order) and rules shuffled inside."""
    import random
    rnd = random.Random(seed)
    out: dict[str, str] = {}
    for name, text in files.items():
        doc = yaml.safe_load(text)
        if "rules" in doc:  # contact-policy files have none
            rnd.shuffle(doc["rules"])
        out[f"rules/{rnd.randrange(10**6):06d}_{name.rsplit('/', 1)[-1]}"] = yaml.safe_dump(doc, allow_unicode=True)
    return out


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cs=clients, seed=st.integers(0, 10**6))
def test_rule_order_does_not_change_the_decision(cs: list[dict[str, Any]], seed: int) -> None:
    other = Advisor(load_rule_book(_reordered(RULE_FILES, seed), KB_FILES))
    facts = _facts(cs)

    def strip(d: Decision) -> Any:
        return _without_locations(d.model_dump(exclude={"revision"}))

    assert strip(BASE.decide(facts)) == strip(other.decide(facts))


def _without_locations(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _without_locations(v) for k, v in obj.items() if k not in ("file", "line")}
    if isinstance(obj, list):
        return [_without_locations(v) for v in obj]
    return obj
