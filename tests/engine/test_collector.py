"""engine/collector.py: the collector is off inside a pause and back as it was after, even on an error."""

from __future__ import annotations

import datetime as dt
import gc

import pytest

from rm_advisor.engine import Advisor
from rm_advisor.engine.collector import paused
from rm_advisor.engine.portfolio import BatchPlan, run_batch


@pytest.mark.parametrize("enabled", [True, False])
def test_a_pause_gives_the_collector_back_as_it_was(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
        with pytest.raises(RuntimeError), paused():
            raise RuntimeError("a step that fails")
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_a_batch_leaves_the_collector_on(advisor: Advisor) -> None:
    assert gc.isenabled()
    result = run_batch(advisor, BatchPlan(as_of=dt.date(2026, 11, 23), sample_clients=60, jobs=1))
    assert result.counts.clients == 60 and gc.isenabled()
