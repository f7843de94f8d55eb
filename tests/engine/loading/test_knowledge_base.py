"""engine/loading/knowledge_base.py: the knowledge base built from its files, every problem located."""

from __future__ import annotations

import pytest

from rm_advisor.engine import RuleError
from rm_advisor.engine.loading.knowledge_base import load_knowledge_base
from tests.helpers import KB, KB_FILES, kb_files_with


def test_the_reason_catalogue_is_optional() -> None:
    files = {k: v for k, v in KB_FILES.items() if not k.endswith("feedback_reasons.yaml")}
    assert load_knowledge_base(files).feedback_reasons == {}
    assert "client_not_interested" in KB.feedback_reasons


def test_a_reason_citing_an_unknown_document_is_refused() -> None:
    files = kb_files_with("feedback_reasons.yaml", "provenance: {document: D1,", "provenance: {document: D8,")
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(files)
    assert [d.code for d in exc.value.diagnostics] == ["schema_violation"]
    assert "D8" in exc.value.diagnostics[0].message


def test_a_segment_field_the_fact_type_lacks_is_refused_where_it_is_written() -> None:
    files = kb_files_with("facts.yaml", "segment_by: [domain, grade]", "segment_by: [domain, grdae]")
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(files)
    [d] = exc.value.diagnostics
    assert d.code == "schema_violation" and "grade" in d.hint and d.location.file.endswith("facts.yaml")
