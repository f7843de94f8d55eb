"""cli/main.py: the rm-advisor commands as a user runs them."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from typer.testing import CliRunner

from rm_advisor.cli.main import app, main, sample_facts_path
from rm_advisor.engine.loading import read_kb_files
from tests.conftest import ROOT
from tests.helpers import action, client, rule, rule_text

runner = CliRunner()

BROKEN = """pack: broken
rules:
  - id: broken.misspelt
    title: {zh: 拼错, en: Misspelt}
    domain: tobacco
    subject: client
    provenance: {document: D4, quote: 努力引导客户向网络客户发展}
    when:
      client.days_since_visit: {gt: 30}
    then:
      actions:
        - action: periodic_visit_by_class
          reason: {zh: 原因, en: reason}
  - id: broken.unknown_action
    title: {zh: 未知动作, en: Unknown action}
    domain: tobacco
    subject: client
    provenance: {document: D4, quote: 努力引导客户向网络客户发展}
    when:
      client.network_client: false
    then:
      actions:
        - action: guide_to_network_orderin
          reason: {zh: 原因, en: reason}
  - id: broken.syntax
    title: {zh: 语法, en: Syntax
    domain: tobacco
"""


def test_check_reports_misspelt_field_unknown_action_and_syntax_error_with_lines(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    result = runner.invoke(app, ["check", str(tmp_path)])
    assert result.exit_code == 1
    lines = [ln for ln in result.output.splitlines() if "broken.yaml:" in ln]
    assert [ln.split(": ")[1].split()[0] for ln in lines] == ["unknown_field", "unknown_action", "yaml_syntax"]
    assert [ln.split(":")[1] for ln in lines] == ["9", "23", "27"]
    assert "did you mean `days_since_last_visit`?" in lines[0]


def test_check_json_format(tmp_path: Path) -> None:
    (tmp_path / "broken.yaml").write_text(BROKEN, encoding="utf-8")
    result = runner.invoke(app, ["check", str(tmp_path), "--format", "json"])
    doc = json.loads(result.output)
    assert result.exit_code == 1 and doc["ok"] is False and doc["errors"] == 3
    assert {d["code"] for d in doc["diagnostics"]} == {"unknown_field", "unknown_action", "yaml_syntax"}


def test_check_shipped_rules_is_clean() -> None:
    result = runner.invoke(app, ["check"])
    assert result.exit_code == 0, result.output
    assert "OK:" in result.output


def _provenances(node: Any) -> list[dict[str, str]]:
    if isinstance(node, dict):
        own = [node["provenance"]] if isinstance(node.get("provenance"), dict) else []
        return own + [p for k, v in node.items() if k != "provenance" for p in _provenances(v)]
    return [p for v in node for p in _provenances(v)] if isinstance(node, list) else []


def test_check_finds_quotes_in_the_documents_folder(tmp_path: Path) -> None:
    from tests.helpers import KB

    docs = tmp_path / "docs"
    docs.mkdir()
    # documents that hold the rule's quote and every quote the shipped knowledge base cites
    cited: dict[str, list[str]] = {}
    for text in read_kb_files(None).values():
        for prov in _provenances(yaml.safe_load(text)):
            cited.setdefault(prov["document"], []).append(prov["quote"])
    for d in KB.documents.values():
        (docs / d.file).write_text("……".join(["努力引导客户向网络客户发展", *cited.get(d.id, [])]), encoding="utf-8")
    rules = tmp_path / "rules"
    rules.mkdir()
    ok = rule("t.q", {"client.is_key": True}, {"actions": [action("guide_to_network_ordering")]})
    (rules / "t.yaml").write_text(rule_text(ok), encoding="utf-8")
    result = runner.invoke(app, ["check", str(rules), "--documents", str(docs)])
    assert result.exit_code == 0, result.output
    assert f"quotes checked in {docs}" in result.output
    (rules / "t.yaml").write_text(rule_text(dict(ok, provenance={"document": "D4", "quote": "不在文中的话"})),
                                  encoding="utf-8")
    result = runner.invoke(app, ["check", str(rules)], env={"RM_ADVISOR_DOCUMENTS": str(docs)})
    assert result.exit_code == 1 and "quote_not_found [t.q]" in result.output
    assert runner.invoke(app, ["check", str(rules)], env={"RM_ADVISOR_DOCUMENTS": ""}).exit_code == 0
    assert runner.invoke(app, ["check", str(rules), "--documents", str(tmp_path / "none")]).exit_code == 2


def test_recommend_json_on_the_sample_explains_every_recommendation() -> None:
    result = runner.invoke(app, ["recommend", str(sample_facts_path()), "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["revision"].startswith("r-")
    recs = [r for c in doc["clients"] for r in c["recommendations"]]
    assert recs and all(r["because"] and r["reasons"][0]["text"]["zh"] and r["reasons"][0]["text"]["en"]
                        for r in recs)
    assert any(m["recommendations"] for m in doc["managers"])


def test_recommend_table_in_english(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "t.yaml").write_text(rule_text(rule("t.net", {"client.network_client": False},
                                                 {"actions": [action("guide_to_network_ordering",
                                                                     en="not on network")]})))
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"clients": [client(network_client=False)]}))
    result = runner.invoke(app, ["recommend", str(facts), "--rules", str(rules), "--lang", "en"])
    assert result.exit_code == 0, result.output
    assert "guide_to_network_ordering" in result.output and "not on network" in result.output


def test_recommend_says_what_kind_of_action_each_is(tmp_path: Path) -> None:
    """A duty reads as one: the kind (what a contact policy may hold back) in the manager's language."""
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"as_of": "2026-11-23", "clients": [
        {"id": "T1", "manager_id": "M1", "domain": "tobacco", "client_class": "A", "open_complaints": 1,
         "oldest_open_complaint_days": 20}]}))
    doc = json.loads(runner.invoke(app, ["recommend", str(facts), "--json"]).output)
    [complaint] = [r for r in doc["clients"][0]["recommendations"] if r["id"] == "resolve_retailer_complaint"]
    assert complaint["details"]["action_kind"] == "obligation"
    for lang, title in (("en", "obligation"), ("zh", "应尽义务")):
        shown = runner.invoke(app, ["recommend", str(facts), "--lang", lang]).output
        [line] = [line for line in shown.splitlines() if "resolve_retailer_complaint ·" in line]
        assert title in line


def test_recommend_bad_facts_names_the_field(tmp_path: Path) -> None:
    facts = tmp_path / "facts.yaml"
    facts.write_text("clients:\n  - {id: C1, manager_id: M1, domain: tobacco, days_since_last_visit: ten}\n")
    result = runner.invoke(app, ["recommend", str(facts)])
    assert result.exit_code == 1
    assert "clients[0].days_since_last_visit" in result.output and "fact_type" in result.output


def test_demo_runs() -> None:
    result = runner.invoke(app, ["demo", "--lang", "zh"])
    assert result.exit_code == 0, result.output
    assert "客户" in result.output


def test_schema_matches_the_committed_file() -> None:
    result = runner.invoke(app, ["schema"])
    committed = (Path(__file__).resolve().parents[2] / "rules" / "rules.schema.json").read_text(encoding="utf-8")
    assert json.loads(result.output) == json.loads(committed), "run `make schema` and commit rules/rules.schema.json"


@pytest.mark.parametrize(("manager", "entry", "behaviour"), [
    ("M-T01", "from_clients.tobacco_stale_complaints", "Start: Follow up every open complaint within the same week"),
    ("M-B01", "from_clients.bank_credit_file_problems", "Start: After every loan event, check the client's credit"),
    ("M-C01", "from_clients.telecom_group_payment_waiting", "Start: Design one tariff or handset offer"),
])
def test_the_demo_shows_coaching_from_clients_with_its_card_for_each_domain(manager: str, entry: str,
                                                                           behaviour: str) -> None:
    result = runner.invoke(app, ["demo", "--lang", "en"])
    assert result.exit_code == 0, result.output
    section = result.output.split(f"Manager {manager}", 1)[1].split("\nManager ", 1)[0]
    first = section.split("\n 2. ", 1)[0]  # the top coaching item
    assert f"({entry})" in first and "highest-scored" in first
    assert "diagnosis " in first and "team median" in first and "given in the facts" in first
    assert f"next {behaviour}" in first
    assert "review Measure again on 2026-12-23 (30 days after this decision)" in first
    assert "and count again the clients waiting" in first


def test_the_card_reads_in_chinese_and_in_both_languages() -> None:
    zh = runner.invoke(app, ["demo", "--lang", "zh"]).output
    assert "诊断 投诉平均办结天数:6.5天;团队中位数3.5天" in zh and "下一步 开始:" in zh and "复查 2026-12-23" in zh
    both = runner.invoke(app, ["demo"]).output
    assert "下一步 next 开始 Start: " in both and "诊断 diagnosis " in both


def test_recommend_json_carries_the_card() -> None:
    result = runner.invoke(app, ["recommend", str(sample_facts_path()), "--json"])
    assert result.exit_code == 0, result.output
    decision = json.loads(result.output)
    coaching = [r for m in decision["managers"] for r in m["recommendations"]]
    assert coaching and all(r["card"]["next_behaviour"]["form"] in ("keep", "start", "stop") for r in coaching)
    bank = next(r for m in decision["managers"] if m["id"] == "M-B01" for r in m["recommendations"])
    assert bank["card"]["benchmark"] == {
        "basis": "given", "domain": "bank", "managers": 14, "median": 6.0, "mean": 7.2, "share_pct": None,
        "standing": "behind", "text": bank["card"]["benchmark"]["text"]}
@pytest.mark.parametrize("command", [["check"], ["recommend", str(sample_facts_path())], ["batch", "--out", "OUT"],
                                     ["test"], ["decide", str(sample_facts_path()), "--db", "DB"]])
def test_a_knowledge_base_file_that_is_not_utf8_is_named_by_every_command(
        command: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    kb = tmp_path / "kb"
    shutil.copytree(ROOT / "knowledge_base", kb)
    actions = kb / "actions.yaml"
    actions.write_bytes(actions.read_bytes() + "# 广东烟草\n".encode("gbk"))
    line = actions.read_bytes().count(b"\n")
    args = [a.replace("OUT", str(tmp_path / "out")).replace("DB", f"sqlite:///{tmp_path / 'log.db'}") for a in command]
    monkeypatch.setattr(sys, "argv", ["rm-advisor", *args, "--kb", str(kb)])
    with pytest.raises(SystemExit) as exc:
        main()
    said = capsys.readouterr()
    assert exc.value.code == 1
    assert f"{actions}:{line}:3: file_not_utf8" in said.err + said.out and "Traceback" not in said.err + said.out


NEED = {"as_of": "2026-11-23", "clients": [{"id": "B1", "manager_id": "M1", "domain": "bank", "name": "华东机电",
                                            "new_need": True, "new_need_kind": "financing", "tier": "general"}]}


def test_recommend_shows_what_to_confirm_in_the_language_asked_for(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps(NEED, ensure_ascii=False), encoding="utf-8")
    zh = runner.invoke(app, ["recommend", str(facts), "--lang", "zh"])
    assert zh.exit_code == 0, zh.output
    assert "待确认" in zh.output and "请确认新需求已报告相关部门：若为否" in zh.output
    assert "bank.new_need_unreported, bank.new_financing_need" in zh.output
    en = runner.invoke(app, ["recommend", str(facts), "--lang", "en"])
    assert "to confirm" in en.output and "Confirm The new need was reported to the departments: if no" in en.output
    doc = json.loads(runner.invoke(app, ["recommend", str(facts), "--json"]).output)
    [item] = doc["clients"][0]["to_confirm"]
    assert [f["field"] for f in item["fields"]] == ["new_need_reported"] and item["score"] == 65


def test_recommend_says_what_a_missing_value_counted_as_in_the_trace(tmp_path: Path) -> None:
    facts = tmp_path / "facts.json"
    facts.write_text(json.dumps({"clients": [{"id": "B2", "manager_id": "M1", "domain": "bank",
                                              "capital_strength": "strong", "pays_on_time": True,
                                              "integrity_termination_5y": False, "credit_bad_record": False}]}),
                     encoding="utf-8")
    out = runner.invoke(app, ["recommend", str(facts), "--lang", "en"]).output
    assert "Review the strategic-client tier" in out
    assert "client.tier=unknown, counted as match" in out
