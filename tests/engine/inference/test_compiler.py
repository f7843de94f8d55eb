"""engine/inference/compiler.py: rules compiled to CompiledRule (gate, signal patterns, joins, stratum)
and the dates a rule is active on."""

from __future__ import annotations

import datetime as dt

from tests.helpers import action, advisor, client, rule


def test_effective_dates_and_relative_date_operators() -> None:
    adv = advisor(rule("t.e", {"client.is_key": True}, {"actions": [action("key_client_priority_service")]},
                       effective={"from": dt.date(2026, 1, 1), "until": dt.date(2026, 6, 30)}))
    facts = {"clients": [client(is_key=True)]}
    assert adv.decide(facts, as_of=dt.date(2026, 3, 1)).clients[0].recommendations
    assert not adv.decide(facts, as_of=dt.date(2026, 7, 1)).clients[0].recommendations
