"""engine/inference/advisor.py: the public entry point: load, validate, decide, run."""

from __future__ import annotations

from tests.helpers import action, advisor, client, rule


def test_decision_names_its_revision_and_input_hash() -> None:
    adv = advisor(rule("t.1", {"client.is_key": True}, {"actions": [action("relationship_care")]}))
    d1 = adv.decide({"clients": [client(is_key=True)]})
    d2 = adv.decide({"clients": [client(is_key=True)]})
    assert d1.revision == adv.revision and d1.revision.startswith("r-")
    assert d1.input_hash == d2.input_hash
    assert d1.input_hash != adv.decide({"clients": [client(is_key=False)]}).input_hash
