"""api/collector.py: a server with ``freeze_gc`` keeps the garbage collector off what it keeps,
and a reload gives the previous rule set back to it."""

from __future__ import annotations

import gc
import weakref
from pathlib import Path

from fastapi.testclient import TestClient

from rm_advisor.api import examples
from rm_advisor.api.app import create_app
from rm_advisor.api.ruleset import LiveRuleSet
from tests.api.conftest import AUTH, copy_rules, settings

ONE = "/v1/decisions/client/T-001"


def test_a_started_server_freezes_what_it_keeps_and_a_reload_frees_the_previous_rule_set(tmp_path: Path) -> None:
    rules_dir = copy_rules(tmp_path / "rules")
    s = settings(rules_dir=rules_dir, freeze_gc=True)
    live = LiveRuleSet.start(s)
    assert live.freeze_gc
    try:
        with TestClient(create_app(s, live)) as c:
            started = gc.get_freeze_count()
            book = weakref.ref(live.current().book)
            assert started > 0 and gc.isenabled()  # the rule book among what is frozen; collection still on
            tobacco = rules_dir / "tobacco.yaml"
            tobacco.write_text(tobacco.read_text(encoding="utf-8") + "\n# edited\n", encoding="utf-8")
            assert c.post("/v1/ruleset/reload", headers=AUTH).json()["changed"] is True
            r = c.post(ONE, json=examples.CLIENT)  # the first request after the reload settles the collector
            assert r.status_code == 200, r.text
            assert book() is None  # the previous rule set was collected, not kept frozen
            assert gc.get_freeze_count() > 0
        assert gc.get_freeze_count() == 0  # a stopped server gives everything back to the collector
    finally:
        gc.unfreeze()


def test_without_freeze_gc_nothing_is_frozen(tmp_path: Path) -> None:
    s = settings(freeze_gc=False)
    with TestClient(create_app(s, LiveRuleSet.start(s))) as c:
        assert c.post(ONE, json=examples.CLIENT).status_code == 200
        assert gc.get_freeze_count() == 0
