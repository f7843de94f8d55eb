"""engine/language/schemes.py: the models of knowledge_base/scoring.yaml refuse schemes that could not be computed."""

from __future__ import annotations

import pytest

from rm_advisor.engine import RuleError
from rm_advisor.engine.loading.knowledge_base import load_knowledge_base
from tests.helpers import kb_files_with


@pytest.mark.parametrize("old, new, message", [
    ("- {value: B, min_points: $abc_b_min_points}", "- {value: B}", "every class but the last needs min_points: B"),
    ("        amount_step: 50000\n", "", "per: amount needs amount_step"),
])
def test_scoring_that_could_not_be_computed_is_refused_when_loaded(old: str, new: str, message: str) -> None:
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(kb_files_with("scoring.yaml", old, new))
    [d] = exc.value.diagnostics
    assert d.code == "schema_violation" and message in d.message
    assert d.location.file.endswith("scoring.yaml") and d.location.line > 1
