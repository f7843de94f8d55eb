"""cli/authoring.py: test, explain, graph, diff and check's analysis, on the shipped packs and on
broken copies (a failing scenario, a contradiction, a subsumed rule, a signal cycle)."""

from __future__ import annotations

import json
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from typer.testing import CliRunner

from rm_advisor.cli.main import app, sample_facts_path
from tests.conftest import ROOT

runner = CliRunner()
DEMO = str(sample_facts_path())


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    """A copy of the shipped rule packs to break."""
    target = tmp_path / "rules"
    shutil.copytree(ROOT / "rules", target, ignore=shutil.ignore_patterns("__init__.py", "__pycache__"))
    return target


def edit(path: Path, old: str, new: str) -> int:
    """Replace the first ``old`` in ``path``; returns the 1-based line where ``new`` starts."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    at = text.index(old)
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text[:at].count("\n") + 1


def append_rule(path: Path, rule_yaml: str) -> int:
    """Append a rule to a pack; returns the line of its `- id:`."""
    text = path.read_text(encoding="utf-8").rstrip("\n") + "\n\n"
    path.write_text(text + rule_yaml, encoding="utf-8")
    return text.count("\n") + 1


RULE = """  - id: {id}
    title: {{zh: 测试规则, en: Test rule}}
    domain: tobacco
    subject: client
    provenance: {{document: D4, quote: 努力引导客户向网络客户发展}}
    priority: {priority}
    when:
      all:
        - client.domain: tobacco
{conditions}
    then:
{then}
"""


def make_rule(rule_id: str, conditions: list[str], then: str, priority: int = 50) -> str:
    return RULE.format(id=rule_id, priority=priority, conditions="\n".join(f"        - {c}" for c in conditions),
                       then=then)


NET_ACTION = """      actions:
        - action: guide_to_network_ordering
          reason: {zh: 尚未网络订货, en: not ordering through the network}"""


# ---------------------------------------------------------------------------- test


def test_test_passes_on_the_shipped_packs() -> None:
    result = runner.invoke(app, ["test", "-k", "counterfeit"])
    assert result.exit_code == 0, result.output
    assert "FAIL" not in result.output and " 0 failed" in result.output


def test_test_shows_a_failing_scenario_as_expected_against_actual(rules: Path, tmp_path: Path) -> None:
    scenarios = rules / "tobacco.scenarios.yaml"
    edit(scenarios, "        actions: [guide_to_network_ordering, anti_counterfeit_training]",
         "        actions: [guide_to_network_ordering, counter_placement]")
    junit = tmp_path / "junit.xml"
    result = runner.invoke(app, ["test", str(scenarios), "--junit-xml", str(junit)])
    assert result.exit_code == 1
    out = result.output
    assert f"FAIL {scenarios}:" in out and "off-channel retailer is guided to network ordering" in out
    where = re.search(rf"client:T1  \({re.escape(str(scenarios))}:(\d+)\)", out)
    assert where, out  # the expectation's own line
    assert "- subject: client:T1" in scenarios.read_text(encoding="utf-8").splitlines()[int(where.group(1)) - 1]
    assert "- counter_placement  (expected, missing)" in out
    assert "fired        tobacco.anti_counterfeit_training" in out
    assert "1 failed" in out
    root = ET.parse(junit).getroot()
    tests = root.get("tests")
    assert root.get("failures") == "1" and tests is not None and int(tests) > 100


FINE_RULE = RULE.format(id="fine.key", priority=50, conditions="        - client.is_key: true",
                        then="      actions:\n        - action: diagnose_needs_on_visit\n"
                             "          reason: {zh: 重点客户, en: a key client}")
FINE_SCENARIOS = """scenarios:
  - name: a key client is visited
    facts:
      as_of: 2026-11-23
      clients: [{id: T1, manager_id: M1, domain: tobacco, is_key: true}]
    expect:
      - subject: client:T1
        fired: [fine.key]
"""


def test_test_file_runs_against_its_own_rule_file_not_the_whole_folder(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "fine.yaml").write_text("pack: fine\nrules:\n" + FINE_RULE, encoding="utf-8")
    (work / "fine.scenarios.yaml").write_text(FINE_SCENARIOS, encoding="utf-8")
    (work / "draft.yaml").write_text("pack: draft\nrules:\n  - id: draft.broken\n", encoding="utf-8")
    result = runner.invoke(app, ["test", str(work / "fine.scenarios.yaml")])
    assert result.exit_code == 0, result.output
    assert f"rule set: {work / 'fine.yaml'}" in result.output
    result = runner.invoke(app, ["test", str(work)])  # a folder: each file with its own rule set
    assert result.exit_code == 0, result.output


def test_a_scenario_file_names_its_rule_set(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    (work / "fine.yaml").write_text("pack: fine\nrules:\n" + FINE_RULE, encoding="utf-8")
    (work / "draft.yaml").write_text("pack: draft\nrules:\n  - id: draft.broken\n", encoding="utf-8")
    (work / "cases.scenarios.yaml").write_text("rules: .\n" + FINE_SCENARIOS, encoding="utf-8")
    result = runner.invoke(app, ["test", str(work / "cases.scenarios.yaml")])
    assert result.exit_code == 1
    assert f"FAILED: the rule set {work}/ (the rule set of {work / 'cases.scenarios.yaml'}) does not check" \
        in result.output
    (work / "cases.scenarios.yaml").write_text("rules: fine.yaml\n" + FINE_SCENARIOS, encoding="utf-8")
    assert runner.invoke(app, ["test", str(work / "cases.scenarios.yaml")]).exit_code == 0
    (work / "cases.scenarios.yaml").write_text("rules: nowhere\n" + FINE_SCENARIOS, encoding="utf-8")
    result = runner.invoke(app, ["test", str(work / "cases.scenarios.yaml")])
    assert result.exit_code == 2 and "names no file or directory" in result.output


def test_coverage_below_the_minimum_fails_the_run(tmp_path: Path) -> None:
    never = RULE.format(id="fine.never", priority=40, conditions="        - client.client_class: A",
                        then="      actions:\n        - action: diagnose_needs_on_visit\n"
                             "          reason: {zh: 一类客户, en: a class-A client}")
    (tmp_path / "fine.yaml").write_text("pack: fine\nrules:\n" + FINE_RULE + never, encoding="utf-8")
    (tmp_path / "fine.scenarios.yaml").write_text(FINE_SCENARIOS, encoding="utf-8")
    scenarios = str(tmp_path / "fine.scenarios.yaml")
    result = runner.invoke(app, ["test", scenarios, "--min-rules", "95"])
    assert result.exit_code == 1
    assert "FAILED: coverage 50.0% of the rules fired, below --min-rules 95" in result.output
    assert runner.invoke(app, ["test", scenarios, "--min-rules", "50"]).exit_code == 0
    doc = json.loads(runner.invoke(app, ["test", scenarios, "--min-conditions", "100", "--format", "json"]).output)
    assert doc["coverage"]["rules_percent"] == 50.0 and len(doc["coverage_below_minimum"]) == 1
    assert runner.invoke(app, ["test", scenarios, "--min-rules", "101"]).exit_code == 2


def test_test_json_and_junit_formats(rules: Path) -> None:
    scenarios = rules / "telecom.scenarios.yaml"
    vip = "        fired: [telecom.arrears, telecom.vip_in_arrears, telecom.vip_member]\n"
    edit(scenarios, vip, vip + "        not_actions: [analyse_arrears_and_recover]\n")
    result = runner.invoke(app, ["test", str(scenarios), "--format", "json"])
    doc = json.loads(result.output)
    assert result.exit_code == 1 and doc["failed"] >= 1
    failing = [s for s in doc["scenarios"] if not s["passed"]]
    assert failing[0]["failures"][0]["check"] == "not_actions"
    assert failing[0]["failures"][0]["item"] == "analyse_arrears_and_recover"
    xml = runner.invoke(app, ["test", str(scenarios), "--format", "junit"]).output
    assert ET.fromstring(xml.encode()).get("failures") == str(doc["failed"])


def test_test_reports_a_misspelt_id_in_an_expectation(rules: Path) -> None:
    scenarios = rules / "telecom.scenarios.yaml"
    edit(scenarios, "not_actions: [", "not_actions: [analyse_arrears_and_recovr, ")
    result = runner.invoke(app, ["test", str(scenarios)])
    assert result.exit_code == 1
    assert "scenario_unknown_id" in result.output and "did you mean `analyse_arrears_and_recover`?" in result.output


def test_test_coverage_of_one_pack() -> None:
    result = runner.invoke(app, ["test", str(ROOT / "rules" / "tobacco.scenarios.yaml"), "--coverage",
                                 "--format", "json"])
    assert result.exit_code == 0, result.output
    [tobacco] = json.loads(result.output)["coverage"]["files"]
    assert tobacco["file"].endswith("tobacco.yaml")
    assert tobacco["rules"]["never_fired"] == [] and tobacco["rules"]["total"] == tobacco["rules"]["fired"]
    text = runner.invoke(app, ["test", str(ROOT / "rules" / "tobacco.scenarios.yaml"), "--coverage"]).output
    assert "Scenario coverage" in text and "tobacco.yaml" in text


# ---------------------------------------------------------------------------- check (static analysis)


def test_check_reports_a_contradiction_with_its_location(rules: Path) -> None:
    line = append_rule(rules / "tobacco.yaml", make_rule(
        "tobacco.broken_contradiction",
        ["client.days_since_last_visit: {gt: 30}", "client.days_since_last_visit: {lt: 10}"], NET_ACTION))
    result = runner.invoke(app, ["check", str(rules)])
    assert result.exit_code == 1
    [diag] = [ln for ln in result.output.splitlines() if "impossible_condition" in ln]
    assert diag.startswith(f"{rules}/tobacco.yaml:{line + 10}:")  # the `< 10` condition
    assert "[tobacco.broken_contradiction]" in diag and f"(line {line + 9})" in diag


def test_check_warns_about_a_subsumed_rule_with_its_location(rules: Path) -> None:
    base = append_rule(rules / "tobacco.yaml", make_rule(
        "tobacco.broken_narrow", ["client.network_client: false", "client.client_class: A"],
        "      signals: [outside_official_channel]", priority=70))
    result = runner.invoke(app, ["check", str(rules), "--format", "json"])
    assert result.exit_code == 0, result.output
    [diag] = [d for d in json.loads(result.output)["diagnostics"] if d["code"] == "subsumed_rule"]
    assert (diag["file"], diag["line"], diag["rule_id"], diag["severity"]) == \
        (f"{rules}/tobacco.yaml", base + 6, "tobacco.broken_narrow", "warning")
    assert "tobacco.outside_official_channel" in diag["message"]


def test_diagnostics_at_line_100_are_not_turned_into_emoji(tmp_path: Path) -> None:
    """Regression: rich rendered a location such as `x.yaml:100:` as an emoji."""
    padding = "".join(f"# line {i}\n" for i in range(1, 89))
    text = padding + "pack: x\nrules:\n" + make_rule("x.misspelt", ["client.days_since_visit: {gt: 3}"], NET_ACTION)
    assert text.splitlines()[99].strip() == "- client.days_since_visit: {gt: 3}"
    (tmp_path / "x.yaml").write_text(text, encoding="utf-8")
    result = runner.invoke(app, ["check", str(tmp_path / "x.yaml")])
    assert f"{tmp_path}/x.yaml:100:11: unknown_field" in result.output


# ---------------------------------------------------------------------------- graph


def test_graph_on_the_shipped_packs_writes_dot_mermaid_and_svg(tmp_path: Path) -> None:
    result = runner.invoke(app, ["graph", "--out", str(tmp_path), "--pack", "tobacco"])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "rules.dot").read_text(encoding="utf-8").startswith("digraph")
    assert (tmp_path / "rules.mmd").read_text(encoding="utf-8").startswith("flowchart LR")
    assert b"<svg" in (tmp_path / "rules.svg").read_bytes()[:400]
    assert "warning: signal_unused [tobacco.class_changed]" in result.output
    assert "OK:" in result.output and " 0 error(s)" in result.output


def test_graph_reports_a_signal_cycle_naming_the_rules(rules: Path, tmp_path: Path) -> None:
    line = append_rule(rules / "tobacco.yaml", make_rule(
        "tobacco.broken_loop", ["signal: counterfeit_risk"], "      signals: [outside_official_channel]"))
    picture = tmp_path / "loop.png"
    result = runner.invoke(app, ["graph", str(rules), "--focus", "rule:tobacco.broken_loop", "--picture", str(picture),
                                 "--format", "json"])
    assert result.exit_code == 1
    doc = json.loads(result.output)
    [cycle] = [d for d in doc["diagnostics"] if d["code"] == "signal_cycle"]
    assert "tobacco.broken_loop" in cycle["message"] and "tobacco.counterfeit_exposure" in cycle["message"]
    assert (cycle["file"], cycle["line"], cycle["rule_id"]) == (f"{rules}/tobacco.yaml", line, "tobacco.broken_loop")
    assert "rule:tobacco.broken_loop" in doc["cycle"] and picture.read_bytes()[:4] == b"\x89PNG"


def test_graph_names_an_unknown_focus() -> None:
    result = runner.invoke(app, ["graph", "--focus", "action:guide_to_network_orderin"])
    assert result.exit_code == 2 and "did you mean `action:guide_to_network_ordering`?" in result.output


# ---------------------------------------------------------------------------- explain


def test_explain_why_not_an_action_on_the_demo() -> None:
    result = runner.invoke(app, ["explain", DEMO, "--action", "anti_counterfeit_training", "--subject", "client:T-003",
                                 "--lang", "en"])
    assert result.exit_code == 0, result.output
    out = result.output
    assert "not recommended" in out and "rule tobacco.anti_counterfeit_training did not fire" in out
    assert "signal counterfeit_risk" in out and "tobacco.counterfeit_exposure" in out
    assert "to flip it: change client.network_client from true to false" in out


def test_explain_rule_json_and_why() -> None:
    result = runner.invoke(app, ["explain", DEMO, "--rule", "tobacco.network_ordering", "--format", "json"])
    assert result.exit_code == 0, result.output
    by_subject = {e["subject"]: e for e in json.loads(result.output)["explanations"]}
    assert by_subject["client:T-001"]["outcome"] == "fired"
    failing = by_subject["client:T-003"]["rules"][0]["failing"][0]
    assert (failing["actual"], failing["expected"], failing["fix"]) == \
        (True, {"zh": "等于 false", "en": "== false"},
         {"field": "client.network_client", "value": False, "remove": False})
    assert failing["change"] == {"zh": "把 client.network_client 从 true 改为 false",
                                 "en": "change client.network_client from true to false"}
    zh = runner.invoke(app, ["explain", DEMO, "--rule", "tobacco.network_ordering", "--lang", "zh"]).output
    assert "未触发" in zh and "期望 等于 false" in zh
    assert "要改变结果： 把 client.network_client 从 true 改为 false" in zh
    why = runner.invoke(app, ["explain", DEMO, "--subject", "client:T-001", "--lang", "en"]).output
    assert "client:T-001 · action:guide_to_network_ordering · recommended" in why
    assert "matched client.domain=tobacco, client.network_client=false" in why


def test_explain_says_what_a_missing_value_counted_as_and_what_to_confirm(tmp_path: Path) -> None:
    facts = tmp_path / "need.json"
    facts.write_text(json.dumps({"as_of": "2026-11-23", "clients": [
        {"id": "B1", "manager_id": "M1", "domain": "bank", "new_need": True, "new_need_kind": "financing"}]}),
        encoding="utf-8")
    out = runner.invoke(app, ["explain", str(facts), "--rule", "bank.new_financing_need", "--lang", "en"]).output
    assert "actual (missing) (unknown, counted as no match) · expected == true (unknown: ask)" in out
    assert "only missing values stand in the way; confirm: client.new_need_reported == true" in out


def test_explain_says_why_nothing_is_recommended(tmp_path: Path) -> None:
    facts = tmp_path / "nothing.yaml"
    facts.write_text("as_of: 2026-11-23\nmanagers: [{id: M1, domain: tobacco}]\nclients:\n"
                     "  - {id: T-002, manager_id: M1, domain: tobacco, client_class: B, network_client: true,\n"
                     "     e_settlement: active, in_visit_delivery_system: true, counterfeit_awareness: adequate}\n",
                     encoding="utf-8")
    result = runner.invoke(app, ["explain", str(facts), "--subject", "T-002", "--lang", "en"])  # no `client:`
    assert result.exit_code == 0, result.output
    assert "client:T-002 · nothing · not recommended" in result.output
    assert "the 3 closest of the" in result.output and "rule(s) for a tobacco client" in result.output
    assert result.output.count("did not fire for client:T-002") == 3 and "to flip it:" in result.output
    assert "nothing to explain" not in result.output


def test_explain_subject_without_its_type_and_a_rule_without_a_subject() -> None:
    result = runner.invoke(app, ["explain", DEMO, "--rule", "tobacco.network_ordering", "--format", "json"])
    subjects = [e["subject"] for e in json.loads(result.output)["explanations"]]
    assert subjects and all(s.startswith("client:T-") for s in subjects)  # not the bank and telecom clients
    assert "from bank to tobacco" not in runner.invoke(app, ["explain", DEMO, "--rule", "tobacco.network_ordering",
                                                             "--lang", "en"]).output
    one = runner.invoke(app, ["explain", DEMO, "--subject", "T-001", "--rule", "tobacco.network_ordering",
                              "--format", "json"])
    assert [e["subject"] for e in json.loads(one.output)["explanations"]] == ["client:T-001"]
    wrong = runner.invoke(app, ["explain", DEMO, "--subject", "M-T01", "--rule", "tobacco.network_ordering"])
    assert wrong.exit_code == 2 and "`M-T01` is a manager" in wrong.output
    typo = runner.invoke(app, ["explain", DEMO, "--subject", "T-0001"])
    assert typo.exit_code == 2 and "did you mean" in typo.output


def test_explain_names_an_unknown_action() -> None:
    result = runner.invoke(app, ["explain", DEMO, "--action", "guide_to_network_orderin"])
    assert result.exit_code == 2 and "did you mean `guide_to_network_ordering`?" in result.output


# ---------------------------------------------------------------------------- diff


def test_diff_reports_changes_per_manager_and_action(rules: Path) -> None:
    edit(rules / "tobacco.yaml", "    provenance: {document: D4, quote: 努力引导客户向网络客户发展, ref: D4-TB-03}\n"
         "    owner: tobacco-channel-team\n    review_by: 2027-06-30\n"
         "    priority: 70\n    when:\n      all:\n        - client.domain: tobacco\n"
         "        - client.network_client: false",
         "    provenance: {document: D4, quote: 努力引导客户向网络客户发展, ref: D4-TB-03}\n"
         "    owner: tobacco-channel-team\n    review_by: 2027-06-30\n"
         "    priority: 99\n    when:\n      all:\n        - client.domain: tobacco\n"
         "        - client.network_client: false")
    result = runner.invoke(app, ["diff", str(ROOT / "rules"), str(rules), "--facts", DEMO, "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    moved = [c for c in doc["changes"] if c["item"] == "guide_to_network_ordering"]
    assert [(c["subject"], c["kind"], c["after"]) for c in moved] == [("client:T-001", "reranked", "rank 1 (score 99)")]
    assert doc["by_manager"]["M-T01"]["subjects"] == 1 and doc["by_manager"]["M-B01"]["subjects"] == 0
    assert doc["totals"]["reranked"] == len(doc["changes"])
    text = runner.invoke(app, ["diff", str(ROOT / "rules"), str(rules), "--facts", str(Path(DEMO).parent),
                               "--fail-on-change"])
    assert text.exit_code == 1 and "per manager" in text.output and "guide_to_network_ordering" in text.output


def test_diff_replays_a_portfolio_of_tables_per_manager(rules: Path, tmp_path: Path) -> None:
    edit(rules / "tobacco.yaml", "    provenance: {document: D4, quote: 努力引导客户向网络客户发展, ref: D4-TB-03}\n"
         "    owner: tobacco-channel-team\n    review_by: 2027-06-30\n"
         "    priority: 70\n    when:\n      all:\n        - client.domain: tobacco\n"
         "        - client.network_client: false",
         "    provenance: {document: D4, quote: 努力引导客户向网络客户发展, ref: D4-TB-03}\n"
         "    owner: tobacco-channel-team\n    review_by: 2027-06-30\n"
         "    priority: 99\n    when:\n      all:\n        - client.domain: tobacco\n"
         "        - client.network_client: false")
    portfolio = tmp_path / "portfolio"
    assert runner.invoke(app, ["sample-portfolio", "--out", str(portfolio), "--clients", "120",
                               "--managers", "4"]).exit_code == 0
    result = runner.invoke(app, ["diff", str(ROOT / "rules"), str(rules), "--facts", str(portfolio),
                                 "--as-of", "2026-11-23", "--format", "json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["documents"] == 4  # one book per manager
    moved = {c["subject"] for c in doc["changes"] if c["item"] == "guide_to_network_ordering"}
    assert moved and all(s.startswith("client:T") for s in moved)  # only tobacco retailers move
    changed = {m for m, row in doc["by_manager"].items() if row["subjects"]}
    assert changed and all(m.startswith("MT") for m in changed)


def test_diff_of_identical_rule_sets_changes_nothing() -> None:
    result = runner.invoke(app, ["diff", str(ROOT / "rules"), str(ROOT / "rules"), "--facts", DEMO,
                                 "--fail-on-change"])
    assert result.exit_code == 0 and "no decision changes" in result.output


# ---------------------------------------------------------------------------- schema


def test_scenario_schema_matches_the_committed_file() -> None:
    result = runner.invoke(app, ["scenario-schema"])
    committed = (ROOT / "rules" / "scenarios.schema.json").read_text(encoding="utf-8")
    assert json.loads(result.output) == json.loads(committed), \
        "run `make schema` and commit rules/scenarios.schema.json"
