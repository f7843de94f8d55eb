"""engine/language/knowledge.py and the knowledge-base loader: sensitive fields, the feedback reason catalogue."""

from __future__ import annotations

import pytest

from rm_advisor.engine import RuleError
from rm_advisor.engine.loading.knowledge_base import load_knowledge_base
from tests.conftest import SHARED
from tests.helpers import KB, KB_FILES


def _with(name_end: str, old: str, new: str) -> dict[str, str]:
    files = dict(KB_FILES)
    key = next(k for k in files if k.endswith(name_end))
    assert old in files[key]
    files[key] = files[key].replace(old, new, 1)
    return files


def test_names_phones_and_notes_are_sensitive() -> None:
    assert {"name", "contact_person", "contact_phone"} <= set(KB.sensitive_fields("client"))
    assert KB.sensitive_fields("manager") == ["name"] and KB.sensitive_fields("interaction") == ["note"]


def test_only_text_fields_can_be_sensitive() -> None:
    files = _with("facts.yaml", "is_key: {type: boolean,", "is_key: {type: boolean, sensitive: true,")
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(files)
    [d] = exc.value.diagnostics
    assert d.code == "schema_violation" and "only string fields can be sensitive" in d.message
    assert d.location.file.endswith("facts.yaml") and d.location.line > 1


def test_the_reason_catalogue_is_optional() -> None:
    files = {k: v for k, v in KB_FILES.items() if not k.endswith("feedback_reasons.yaml")}
    assert load_knowledge_base(files).feedback_reasons == {}
    assert "client_not_interested" in KB.feedback_reasons


def test_a_reason_citing_an_unknown_document_is_refused() -> None:
    files = _with("feedback_reasons.yaml", "provenance: {document: D1,", "provenance: {document: D8,")
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(files)
    assert [d.code for d in exc.value.diagnostics] == ["schema_violation"]
    assert "D8" in exc.value.diagnostics[0].message


def test_reason_quotes_are_found_verbatim_in_their_documents() -> None:
    seeds = SHARED / "domain" / "seeds"
    if not seeds.is_dir():
        pytest.skip(f"source documents not found at {seeds} (../shared beside the project)")
    quoted = [(r.id, r.provenance) for r in KB.feedback_reasons.values() if r.provenance]
    assert quoted
    for reason_id, provenance in quoted:
        text = (seeds / KB.documents[provenance.document].file).read_text(encoding="utf-8")
        assert provenance.quote in text, reason_id


@pytest.mark.parametrize("old, new, message", [
    ("- {value: B, min_points: $abc_b_min_points}", "- {value: B}", "every class but the last needs min_points: B"),
    ("        amount_step: 50000\n", "", "per: amount needs amount_step"),
])
def test_scoring_that_could_not_be_computed_is_refused_when_loaded(old: str, new: str, message: str) -> None:
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(_with("scoring.yaml", old, new))
    [d] = exc.value.diagnostics
    assert d.code == "schema_violation" and message in d.message
    assert d.location.file.endswith("scoring.yaml") and d.location.line > 1


def test_reports_group_subjects_by_the_segment_fields_of_the_fact_schema() -> None:
    assert KB.segment_of("client", {"domain": "bank", "segment": "corporate", "tier": "major"}) == "bank/corporate"
    assert KB.segment_of("client", {"domain": "tobacco", "client_class": "A"}) == "tobacco/A"
    assert KB.segment_of("client", {"domain": "telecom"}) == "telecom/-"
    assert KB.segment_of("manager", {"domain": "bank", "grade": "senior"}) == "bank/senior"
    assert KB.segment_of("interaction", {"kind": "visit"}) == "-"


def test_a_segment_field_the_fact_type_lacks_is_refused_where_it_is_written() -> None:
    files = _with("facts.yaml", "segment_by: [domain, grade]", "segment_by: [domain, grdae]")
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(files)
    [d] = exc.value.diagnostics
    assert d.code == "schema_violation" and "grade" in d.hint and d.location.file.endswith("facts.yaml")
