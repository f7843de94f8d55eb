"""store/csv_import.py: importing CRM feedback, with every bad row reported by line and column."""

from __future__ import annotations

from pathlib import Path

import pytest

from rm_advisor.engine import Advisor, Decision
from rm_advisor.store import Store, decide_and_log, import_csv
from rm_advisor.store.csv_import import import_csv_text
from tests.helpers import rejectable, subject_of
from tests.store.conftest import tobacco_facts


@pytest.fixture
def decision(store: Store, advisor: Advisor) -> Decision:
    return decide_and_log(store, advisor, tobacco_facts(2))


def test_good_rows_are_recorded_and_bad_rows_reported_by_line_and_column(store: Store, decision: Decision,
                                                                        tmp_path: Path) -> None:
    t000 = subject_of(decision, "client", "T000")
    a = rejectable(t000)
    b = next(r.id for r in t000.recommendations if r.id != a)
    c = subject_of(decision, "client", "T001").recommendations[0].id
    d = decision.id
    path = tmp_path / "crm.csv"
    path.write_text("\ufeffsubject,item,decision_id,status,reason_code,manager_id\n"  # any column order, a BOM
                    f"T000,{a},{d},rejected,client_not_interested,M1\n"
                    f"T000,{b},{d},acepted,,M1\n"                       # line 3: bad status
                    f"T001,{c},{d},rejected,not_a_reason,M1\n"          # line 4: unknown reason
                    "\n"
                    f"T001,{c},d-nope,done,,M1\n"                        # line 6: unknown decision
                    f"T001,{c},{d},done,,M1\n", encoding="utf-8")
    result = import_csv(store.feedback, path)
    assert [(r.subject_id, r.item_id, r.status) for r in result.imported] == [("T000", a, "rejected"), ("T001", c,
                                                                                                        "done")]
    assert [(x.code, x.location.line, x.location.column) for x in result.errors] == [
        ("feedback_bad_value", 3, 4), ("unknown_reason_code", 4, 5), ("decision_not_found", 6, 3)]
    assert all(x.location.file == str(path) for x in result.errors)


def test_importing_the_same_file_again_skips_what_is_recorded(store: Store, decision: Decision) -> None:
    item = rejectable(subject_of(decision, "client", "T000"), "wrong_timing", "risk_concern")
    text = f"decision_id,subject,item,status,reason_code\n{decision.id},T000,{item},rejected,wrong_timing\n"
    assert len(import_csv_text(store.feedback, text).imported) == 1
    again = import_csv_text(store.feedback, text)
    assert (len(again.imported), again.skipped, again.errors) == (0, 1, [])
    assert [(x.code, x.severity) for x in again.diagnostics] == [("feedback_duplicate", "warning")]
    changed = import_csv_text(store.feedback, text.replace("wrong_timing", "risk_concern"))
    assert [(x.code, x.location.line) for x in changed.errors] == [("feedback_duplicate", 2)]


def test_reimported_rows_with_a_colon_in_a_bare_id_are_skipped_for_managers_and_clients(store: Store,
                                                                                       advisor: Advisor) -> None:
    doc = tobacco_facts(1)
    doc["managers"][0]["id"] = doc["clients"][0]["manager_id"] = "M:1"  # ids may hold a colon
    doc["clients"][0]["id"] = "T:0"
    decision = decide_and_log(store, advisor, doc)
    topic = subject_of(decision, "manager", "M:1").recommendations[0].id
    item = subject_of(decision, "client", "T:0").recommendations[0].id
    text = f"decision_id,subject,item,status\n{decision.id},M:1,{topic},accepted\n{decision.id},T:0,{item},accepted\n"
    first = import_csv_text(store.feedback, text)
    assert [(r.subject_type, r.subject_id) for r in first.imported] == [("manager", "M:1"), ("client", "T:0")]
    again = import_csv_text(store.feedback, text)
    assert (len(again.imported), again.skipped, again.errors) == (0, 2, [])


def test_unknown_and_missing_columns_stop_the_import(store: Store, decision: Decision) -> None:
    result = import_csv_text(store.feedback, "decision_id,subject,item,stauts\nx,y,z,done\n", "f.csv")
    assert [(x.code, x.location.line, x.location.column, x.hint) for x in result.errors] == [
        ("csv_columns", 1, 1, "required columns: decision_id, subject, item, status"),
        ("csv_columns", 1, 4, "did you mean `status`?")]
    assert result.imported == []


def test_an_unreadable_file_is_reported(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "latin1.csv"
    path.write_bytes("decision_id,subject,item,status\nd,é,x,done\n".encode("latin-1"))
    assert [x.code for x in import_csv(store.feedback, path).errors] == ["csv_columns"]
