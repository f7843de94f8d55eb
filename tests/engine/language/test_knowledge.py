"""engine/language/knowledge.py: sensitive fields, reason quotes, segments."""

from __future__ import annotations

import pytest

from rm_advisor.engine import RuleError
from rm_advisor.engine.loading.knowledge_base import load_knowledge_base
from tests.conftest import SHARED
from tests.helpers import KB, kb_files_with


def test_names_phones_and_notes_are_sensitive() -> None:
    assert {"name", "contact_person", "contact_phone"} <= set(KB.sensitive_fields("client"))
    assert KB.sensitive_fields("manager") == ["name"] and KB.sensitive_fields("interaction") == ["note"]


def test_only_text_fields_can_be_sensitive() -> None:
    files = kb_files_with("facts.yaml", "is_key: {type: boolean,", "is_key: {type: boolean, sensitive: true,")
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(files)
    [d] = exc.value.diagnostics
    assert d.code == "schema_violation" and "only string fields can be sensitive" in d.message
    assert d.location.file.endswith("facts.yaml") and d.location.line > 1


def test_reason_quotes_are_found_verbatim_in_their_documents() -> None:
    seeds = SHARED / "domain" / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"source documents not found at {seeds} (../shared beside the project)")
    quoted = [(r.id, r.provenance) for r in KB.feedback_reasons.values() if r.provenance]
    assert quoted
    for reason_id, provenance in quoted:
        text = (seeds / KB.documents[provenance.document].file).read_text(encoding="utf-8")
        assert provenance.quote in text, reason_id


def test_reports_group_subjects_by_the_segment_fields_of_the_fact_schema() -> None:
    assert KB.segment_of("client", {"domain": "bank", "segment": "corporate", "tier": "major"}) == "bank/corporate"
    assert KB.segment_of("client", {"domain": "tobacco", "client_class": "A"}) == "tobacco/A"
    assert KB.segment_of("client", {"domain": "telecom"}) == "telecom/-"
    assert KB.segment_of("manager", {"domain": "bank", "grade": "senior"}) == "bank/senior"
    assert KB.segment_of("interaction", {"kind": "visit"}) == "-"
