"""engine/language/knowledge.py: sensitive fields, reason quotes, segments, action kinds."""

from __future__ import annotations

import json
import re

import pytest
from pydantic import ValidationError

from rm_advisor.engine import RuleError
from rm_advisor.engine.language.knowledge import ClientMatch, client_coaching_json_schema
from rm_advisor.engine.loading.knowledge_base import load_knowledge_base
from tests.conftest import ROOT, SHARED
from tests.helpers import KB, KB_FILES, kb_files_with


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


def test_every_action_has_a_kind_and_the_sales_flag_follows_it() -> None:
    kinds = {a.id: a.kind for a in KB.actions.values()}
    assert set(kinds.values()) == {"risk", "obligation", "service", "sales"}
    assert (kinds["monitor_client_risk"], kinds["collect_overdue_loan"], kinds["resolve_retailer_complaint"],
            kinds["ask_for_referral"], kinds["periodic_visit_by_class"]) == ("risk", "obligation", "obligation",
                                                                             "sales", "service")
    assert all(a.sales == (a.kind == "sales") and a.duty == (a.kind in ("risk", "obligation"))
               for a in KB.actions.values())


def test_an_action_without_a_kind_in_a_catalogue_with_kinds_is_refused() -> None:
    files = kb_files_with("actions.yaml", "    kind: service\n", "")
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(files)
    assert [d.code for d in exc.value.diagnostics] == ["schema_violation"]
    files = kb_files_with("actions.yaml", "    kind: sales\n", "    kind: sales\n    sales: true\n")
    with pytest.raises(RuleError):  # the flag is derived from the kind now, not written
        load_knowledge_base(files)


def test_a_catalogue_written_before_kinds_loads_as_service_and_sales() -> None:
    # a revision logged before kinds keeps its `sales: true` flags: it replays as it was decided
    files = dict(KB_FILES)
    key = next(k for k in files if k.endswith("actions.yaml"))
    text = re.sub(r"    kind: (risk|obligation|service)\n", "", files[key])
    text = text.replace("    kind: sales\n", "    sales: true\n")
    old = load_knowledge_base({**files, key: text})
    assert {a.id for a in old.actions.values() if a.kind == "sales"} == {a.id for a in KB.actions.values() if a.sales}
    assert {a.kind for a in old.actions.values()} == {"service", "sales"}


def test_the_committed_schema_of_coaching_from_clients_is_written_from_the_model() -> None:
    committed = json.loads((ROOT / "knowledge_base" / "coaching_from_clients.schema.json").read_text(encoding="utf-8"))
    assert committed == client_coaching_json_schema(), \
        "run `make schema` (rm-advisor coaching-schema) and commit knowledge_base/coaching_from_clients.schema.json"
    assert committed["$defs"]["ClientMatch"]["additionalProperties"] is False


def test_a_client_match_names_at_least_one_criterion() -> None:
    assert ClientMatch(kinds=("risk",)).kinds == ("risk",)
    with pytest.raises(ValidationError, match="at least one"):
        ClientMatch()
