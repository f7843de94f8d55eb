"""store/errors.py: the store's refusals are coded AdvisorErrors whose codes the codes table lists."""

from __future__ import annotations

import pytest

from rm_advisor.engine.errors import CODE_GROUPS, AdvisorError
from rm_advisor.store import Store
from rm_advisor.store.errors import Cause, StoreError, Unusable

STORE_GROUP = CODE_GROUPS["decision log and feedback (store/)"]


def test_a_refusal_is_caught_as_an_advisor_error_with_a_code_of_the_store_group(store: Store) -> None:
    with pytest.raises(AdvisorError) as exc:  # what a CLI command or an API handler catches
        store.decisions.get("d-19990101-0000000000000000")
    assert isinstance(exc.value, StoreError) and exc.value.code == "store_error"
    [d] = exc.value.diagnostics
    assert d.code == "decision_not_found" and d.code in STORE_GROUP and d.location.path == "decision_id"


def test_an_unusable_database_is_a_store_error_that_names_its_cause() -> None:
    exc = Unusable(Cause("disk_full", "database or disk is full"), "write")
    assert isinstance(exc, StoreError) and exc.cause.kind == "disk_full"
    [d] = exc.diagnostics
    assert (d.code, d.location.path) == ("store_unavailable", "database") and d.code in STORE_GROUP
    assert d.message == "the decision database cannot write: database or disk is full"
    assert d.hint.startswith("free space on the database's disk")
    assert Cause("something_new", "x").hint == "see the server log"
