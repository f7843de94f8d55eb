"""Request examples shown in the OpenAPI spec. Each is a real request: tests/api/test_openapi.py
sends every example in the spec and expects it to succeed with explained recommendations.

A single-subject example is named for its subject type and decides the first fact of that type
in it (``client`` -> ``POST /v1/decisions/client/T-001``). Feedback examples answer a decision about
:data:`CLIENT` (the test puts the id of a real one in place of :data:`EXAMPLE_DECISION_ID`).
"""

from __future__ import annotations

from typing import Any

_T001 = {"id": "T-001", "manager_id": "M-T01", "name": "城东便民店", "domain": "tobacco", "client_class": "A",
         "business_scale": "small", "network_client": False, "in_visit_delivery_system": True,
         "e_settlement": "low_awareness", "counterfeit_awareness": "weak", "days_since_last_visit": 12,
         "open_complaints": 1, "oldest_open_complaint_days": 9}
_T002 = {"id": "T-002", "manager_id": "M-T01", "name": "百佳烟酒行", "domain": "tobacco", "client_class": "B",
         "is_key": True, "network_client": True, "in_visit_delivery_system": True, "e_settlement": "active",
         "slow_moving_stock": True, "slow_stock_share_pct": 22, "new_brand_stocked": True,
         "new_brand_on_counter": False, "days_since_last_visit": 5}
_MT01 = {"id": "M-T01", "name": "王建国", "domain": "tobacco", "grade": "junior", "tenure_months": 14,
         "assessment_score": 64, "avg_complaint_close_days": 6.5, "new_brand_on_shelf_pct": 35,
         "diary_quality": "perfunctory", "class_a_visit_coverage_pct": 60, "crm_proficiency": "low",
         "market_reports_30d": 1}
_I1 = {"id": "I-1", "client_id": "T-001", "manager_id": "M-T01", "kind": "complaint", "date": "2026-11-14",
       "status": "open", "days_open": 9}
_MB01 = {"id": "M-B01", "name": "李晓燕", "domain": "bank", "grade": "intermediate", "tenure_months": 40,
         "assessment_score": 86, "avg_complaint_close_days": 2, "credit_file_deductions": 13,
         "negotiation_win_pct": 35, "reads_statements": False}
_B001 = {"id": "B-001", "manager_id": "M-B01", "name": "恒达机械有限公司", "domain": "bank", "segment": "corporate",
         "owner_contact": True, "retail_products_held": 0, "multi_bank_credit": True, "credit_bad_record": False,
         "integrity_termination_5y": False, "interest_unpaid_days": 21, "has_collateral": True,
         "collateral_insured": True}

#: facts documents, as posted (plain JSON: read them as such)
CLIENT: dict[str, Any] = {"as_of": "2026-11-23", "clients": [_T001], "managers": [_MT01], "interactions": [_I1]}
MANAGER: dict[str, Any] = {"as_of": "2026-11-23", "managers": [_MB01], "clients": [_B001]}
BATCH: dict[str, Any] = {"as_of": "2026-11-23", "managers": [_MT01, _MB01], "clients": [_T001, _T002, _B001],
                         "interactions": [_I1]}

ONE_SUBJECT = {
    "client": {"summary": "a tobacco retailer (POST /v1/decisions/client/T-001)",
               "description": "The client, its manager and its open complaint, from the bundled sample.",
               "value": CLIENT},
    "manager": {"summary": "a bank relationship manager (POST /v1/decisions/manager/M-B01)",
                "description": "The manager and one of their clients.", "value": MANAGER},
}
MANY_SUBJECTS = {
    "sample": {"summary": "two managers and three clients", "value": BATCH},
}

RULE_FILE = """pack: local
rules:
  - id: local.key_client_off_network
    title: {zh: 重点客户未网上订货, en: Key client not ordering online}
    domain: tobacco
    subject: client
    provenance: {document: D4, quote: 努力引导客户向网络客户发展}
    priority: 70
    when:
      all:
        - client.is_key: true
        - client.network_client: false
    then:
      actions:
        - action: guide_to_network_ordering
          reason: {zh: "重点客户{client.name}尚未网上订货", en: "Key client {client.name} does not order online yet"}
"""

RULE_CHECK = {
    "valid": {"summary": "a new pack, checked with the loaded rules",
              "value": {"files": [{"name": "local.yaml", "text": RULE_FILE}], "together": True}},
    "misspelt": {"summary": "a misspelt field: ok=false, the error located at local.yaml:11:11",
                 "value": {"files": [{"name": "local.yaml",
                                      "text": RULE_FILE.replace("client.is_key", "client.is_kee")}]}},
}

RELEASE = {
    "pack": {"summary": "propose a new local pack beside the serving ones (a rule author's token)",
             "value": {"files": [{"name": "local.yaml", "text": RULE_FILE}], "note": "key clients: a local pack"}},
}

EXAMPLE_DECISION_ID = "d-20261123-3f9a1c2b7e4d5a60"
FEEDBACK = {
    "rejected": {"summary": "the client does not want it (a reason code is required)",
                 "value": {"decision_id": EXAMPLE_DECISION_ID, "subject": "T-001", "item": "guide_to_network_ordering",
                           "status": "rejected", "reason_code": "client_not_interested", "manager_id": "M-T01"}},
    "snoozed": {"summary": "not now: back in two weeks",
                "value": {"decision_id": EXAMPLE_DECISION_ID, "subject": "T-001", "item": "anti_counterfeit_training",
                          "status": "snoozed", "reason_code": "wrong_timing", "until": "2026-12-07"}},
    "done": {"summary": "done on the day after the decision",
             "value": {"decision_id": EXAMPLE_DECISION_ID, "subject": "client:T-001",
                       "item": "resolve_retailer_complaint", "status": "done", "date": "2026-11-24"}},
}

PURGE = {
    "retention": {"summary": "remove what was logged more than 400 days ago (counts stay in the reports)",
                  "value": {"older_than_days": 400, "by": "ops: retention run"}},
}

FORGET = {
    "deletion_request": {"summary": "a client asked for its personal data to be deleted",
                         "value": {"client_id": "T-001", "by": "privacy desk, request 2026-118"}},
}
