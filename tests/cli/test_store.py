"""cli/store.py: the decision-log commands as a user runs them, on a SQLite file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from rm_advisor.cli.main import app, sample_facts_path
from tests.conftest import ROOT
from tests.helpers import rejectable

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'advisor.db'}"


def run(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args])
    return result.exit_code, result.output


def decide(db: str) -> dict[str, Any]:
    code, output = run("decide", sample_facts_path(), "--db", db, "--json")
    assert code == 0, output
    decision: dict[str, Any] = json.loads(output)
    return decision


def test_decide_reject_decide_again_and_report_the_rejection(db: str) -> None:
    first = decide(db)
    t001 = next(c for c in first["clients"] if c["id"] == "T-001")
    top = rejectable([r["id"] for r in t001["recommendations"]])  # the open complaint cannot be rejected so
    code, output = run("feedback", "add", first["id"], "T-001", top, "--status", "rejected",
                       "--reason", "client_not_interested", "--manager", "M-T01", "--db", db)
    assert code == 0 and f"client:T-001 {top} rejected (client_not_interested) on 2026-11-23" in output

    code, output = run("decide", sample_facts_path(), "--db", db, "--lang", "en", "--brief")
    assert code == 0, output
    section = output.split("Client T-001")[1].split("Client T-002")[0]
    assert f"({top})" in section and "suppressed by rest_after_rejection" in section
    assert f"rejected on 2026-11-23 (Client not interested) in decision {first['id']}" in section

    code, output = run("report", "effectiveness", "--db", db)
    assert code == 0, output
    row = next(line for line in output.splitlines() if line.startswith(top + " "))
    # recommended once (the second decision held it back), answered, none accepted, rejected
    assert row.split()[1:5] == ["1", "1", "0", "1"] and row.endswith("client_not_interested")

    code, output = run("decisions", "show", first["id"], "--db", db, "--lang", "en")
    assert code == 0 and f"client:T-001 {top} rejected (client_not_interested) · by M-T01 via cli" in output


def test_feedback_errors_are_coded_and_say_what_to_do(db: str) -> None:
    first = decide(db)
    code, output = run("feedback", "add", "d-nope", "T-001", "x", "--status", "done", "--db", db)
    assert code == 1 and "decision_not_found" in output and "Traceback" not in output
    item = first["clients"][0]["recommendations"][0]["id"]
    subject = first["clients"][0]["id"]
    code, output = run("feedback", "add", first["id"], subject, item, "--status", "rejected",
                       "--reason", "client_not_intrested", "--db", db)
    assert code == 1 and "unknown_reason_code" in output and "did you mean `client_not_interested`?" in output
    assert run("feedback", "add", first["id"], subject, item, "--status", "accepted", "--db", db)[0] == 0
    code, output = run("feedback", "add", first["id"], subject, item, "--status", "accepted", "--db", db)
    assert code == 1 and "feedback_duplicate" in output
    code, output = run("feedback", "add", first["id"], " ", item, "--status", "done", "--db", db)
    assert code == 1 and "subject: feedback_bad_value" in output and "Traceback" not in output


def test_feedback_import_reports_bad_rows_by_line_and_column(db: str, tmp_path: Path) -> None:
    first = decide(db)
    item = next(c for c in first["clients"] if c["id"] == "T-001")["recommendations"][0]["id"]
    csv = tmp_path / "crm.csv"
    csv.write_text(f"decision_id,subject,item,status,reason_code\n{first['id']},T-001,{item},rejected,wrong_timing\n"
                   f"{first['id']},T-001,{item},finished,\n", encoding="utf-8")
    code, output = run("feedback", "import", csv, "--db", db)
    assert code == 1
    assert f"{csv}:3:4: feedback_bad_value" in output
    assert "imported 1, skipped 0 (already recorded), 1 error(s)" in output


def test_replay_is_identical_on_its_revision(db: str) -> None:
    first = decide(db)
    code, output = run("replay", first["id"], "--db", db)
    assert code == 0, output
    assert f"{first['id']} on its own revision {first['revision']}: identical" in output
    code, output = run("replay", "d-nope", "--db", db)
    assert code == 1 and "decision_not_found" in output


def test_decisions_list_shows_the_logged_ids(db: str) -> None:
    ids = [decide(db)["id"] for _ in range(2)]
    code, output = run("decisions", "list", "--db", db)
    assert code == 0 and output.index(ids[1]) < output.index(ids[0])


def test_an_unusable_database_is_reported_without_a_traceback(tmp_path: Path) -> None:
    code, output = run("decide", sample_facts_path(), "--db", "postgresql://x:y@127.0.0.1:1/none?connect_timeout=2")
    assert code == 1 and "store_unavailable" in output and "Traceback" not in output


def test_reasons_and_policies_are_listed_and_the_policy_schema_is_committed() -> None:
    code, output = run("feedback", "reasons", "--lang", "en")
    assert code == 0 and "client_not_interested" in output and "D1 «调不出经营户的联系电话»" in output
    assert "service/sales on visit/phone/message/in_branch" in output
    code, output = run("policies", "list", "--lang", "en")
    assert code == 0 and "rest_after_rejection (suppress_after)" in output
    assert "statuses=snoozed days=7 holds_back=service,sales" in output
    code, output = run("policies", "schema")
    committed = (ROOT / "rules" / "policies.schema.json").read_text(encoding="utf-8")
    assert code == 0 and json.loads(output) == json.loads(committed)


def test_top_limits_what_decide_shows_and_the_log_keeps_and_marks_every_recommendation(db: str) -> None:
    code, output = run("decide", sample_facts_path(), "--db", db, "--json", "--top", "1")
    assert code == 0, output
    shown = json.loads(output)
    [first] = next(c for c in shown["clients"] if c["id"] == "T-001")["recommendations"]
    code, output = run("decisions", "show", shown["id"], "--db", db, "--json")
    logged = next(c for c in json.loads(output)["decision"]["clients"] if c["id"] == "T-001")
    below = logged["recommendations"][1]["id"]
    assert logged["recommendations"][0]["id"] == first["id"]
    code, output = run("feedback", "add", shown["id"], "T-001", below, "--status", "accepted", "--db", db)
    assert code == 0, output  # an item below the cut takes feedback
    code, output = run("decisions", "show", shown["id"], "--db", db, "--lang", "en")
    assert code == 0 and "each subject's first 1 recommendation(s) shown (--top), the others logged" in output
    code, output = run("decisions", "list", "--db", db)
    assert code == 0 and output.splitlines()[0].split()[-3:] == ["rec", "shown", "supp"]
    rec, n_shown = (int(x) for x in output.splitlines()[1].split()[-3:-1])
    assert n_shown == sum(len(s["recommendations"]) for s in shown["clients"] + shown["managers"]) < rec


def _noisy_log(db: str) -> None:
    """A log where keep_regular_contact (bank: last visit more than 30 days ago) was rejected for the
    clients last visited 31..40 days before and done for those last visited 60..62 days before."""
    from rm_advisor.engine import Advisor
    from rm_advisor.store import FeedbackInput, Store, decide_and_log

    advisor = Advisor.load()
    reason = next(code for code, spec in advisor.book.kb.feedback_reasons.items()
                  if "rejected" in spec.statuses and spec.fits(advisor.book.kb.actions["keep_regular_contact"]))
    days = [(v, "rejected") for v in range(31, 41) for _ in range(4)] + [(v, "done") for v in (60, 60, 61, 61, 62, 62)]
    with Store(db) as store:
        for n, (since_visit, status) in enumerate(days):
            facts = {"as_of": "2026-11-23", "clients": [{"id": f"B{n}", "manager_id": "M1", "domain": "bank",
                                                         "relationship": "active",
                                                         "days_since_last_visit": since_visit}]}
            decision = decide_and_log(store, advisor, facts)
            assert "keep_regular_contact" in [r.id for r in decision.clients[0].recommendations]
            store.feedback.add(FeedbackInput(decision_id=decision.id, subject=f"B{n}", item="keep_regular_contact",
                                             status=status, reason_code=reason if status == "rejected" else None))


def test_check_with_log_and_the_effectiveness_report_say_what_to_change_in_a_noisy_rule(db: str) -> None:
    _noisy_log(db)
    code, output = run("check", "--with-log", db, "--lang", "en")
    assert code == 0, output  # a warning, not an error
    [line] = [ln for ln in output.splitlines() if "rule_noisy" in ln]
    assert "bank.yaml:" in line and "warning: rule_noisy [bank.keep_regular_contact]" in line
    assert "rejected 40 of 46 decided recommendations; tighten client.days_since_last_visit > " \
           "$bank_contact_interval_days (30) to client.days_since_last_visit > 35" in line
    assert "lower the priority (now 30)" in line

    code, output = run("report", "effectiveness", "--db", db, "--format", "json")
    assert code == 0, output
    [health] = json.loads(output)["rule_health"]
    assert health["rule_id"] == "bank.keep_regular_contact"
    assert [(s["kind"], s["decided_after"], s["rejected_after"]) for s in health["suggestions"]] == \
        [("tighten_threshold", 26, 20), ("lower_priority", None, None)]
    code, output = run("report", "effectiveness", "--db", db, "--lang", "zh")
    assert code == 0 and "决策日志对高拒绝率规则的修改建议" in output
    assert "收紧为 client.days_since_last_visit > 35" in output

    code, output = run("check", "--with-log", db, "--since", "2026-12-01")  # nothing logged since: no warning
    assert code == 0 and "rule_noisy" not in output
