"""engine/loading/knowledge_base.py: the knowledge base built from its files, every problem located."""

from __future__ import annotations

import pytest
import yaml

from rm_advisor.engine import RuleError
from rm_advisor.engine.loading.knowledge_base import load_knowledge_base
from rm_advisor.engine.loading.sources import read_kb_files
from tests.conftest import ROOT
from tests.helpers import KB, KB_FILES, kb_files_with


def test_the_reason_catalogue_is_optional() -> None:
    files = {k: v for k, v in KB_FILES.items() if not k.endswith("feedback_reasons.yaml")}
    assert load_knowledge_base(files).feedback_reasons == {}
    assert "client_not_interested" in KB.feedback_reasons


def test_a_reason_citing_an_unknown_document_is_refused() -> None:
    files = kb_files_with("feedback_reasons.yaml", "provenance: {document: D1,", "provenance: {document: D8,")
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(files)
    assert [d.code for d in exc.value.diagnostics] == ["unknown_document"]
    assert "D8" in exc.value.diagnostics[0].message


def test_catalogue_quotes_are_looked_up_in_the_document_texts() -> None:
    from rm_advisor.engine.loading import quotes_not_found

    files = kb_files_with("actions.yaml", "quote: ", "quote: 不在文中")
    texts = {"D0": "", "D1": "", "D2": "", "D3": "", "D4": ""}
    found = quotes_not_found(files, texts)
    assert found and {d.code for d in found} == {"quote_not_found"}
    first = next(d for d in found if d.location.file.endswith("actions.yaml"))
    line = files[first.location.file].splitlines()[first.location.line - 1]
    assert "quote: 不在文中" in line


def test_a_segment_field_the_fact_type_lacks_is_refused_where_it_is_written() -> None:
    files = kb_files_with("facts.yaml", "segment_by: [domain, grade]", "segment_by: [domain, grdae]")
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(files)
    [d] = exc.value.diagnostics
    assert d.code == "schema_violation" and "grade" in d.hint and d.location.file.endswith("facts.yaml")


# ---- the parts and how they are put together ---------------------------------------------------

REQUIRED = ("facts.yaml", "actions.yaml", "coaching.yaml", "documents.yaml", "parameters.yaml")


def _problems(files: dict[str, str]) -> list[tuple[str, str, str]]:
    """(code, file name, message) of each problem that refuses the knowledge base."""
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(files)
    return [(d.code, d.location.file.rsplit("/", 1)[-1], d.message) for d in exc.value.diagnostics]


def test_signals_come_from_every_signal_file() -> None:
    signal_files = {k: v for k, v in KB_FILES.items() if "/signals/" in k}
    assert len(signal_files) >= 5
    ids = [s["id"] for text in signal_files.values() for s in yaml.safe_load(text)["signals"]]
    assert sorted(KB.signals) == sorted(ids) == list(KB.signals)  # every one, unique, sorted by id


def test_fact_extensions_add_their_fields_to_the_schema() -> None:
    telecom = next(k for k in KB_FILES if k.endswith("/facts/telecom.yaml"))
    added = set(yaml.safe_load(KB_FILES[telecom])["extend"]["client"]["fields"])
    assert added and added <= set(KB.facts["client"].fields)
    without = load_knowledge_base({k: v for k, v in KB_FILES.items() if k != telecom})
    assert added.isdisjoint(without.facts["client"].fields)


@pytest.mark.parametrize("part", REQUIRED)
def test_a_missing_part_is_named(part: str) -> None:
    files = {k: v for k, v in KB_FILES.items() if not k.endswith("/" + part)}
    assert _problems(files) == [("schema_violation", part, f"knowledge base file `{part}` is missing")]


def test_files_that_are_no_part_of_a_knowledge_base_are_not_read() -> None:
    # samples/demo_facts.yaml sits in the folder; a stray file need not even be YAML
    assert any(k.endswith("samples/demo_facts.yaml") for k in read_kb_files(ROOT / "knowledge_base")) is False
    files = {**KB_FILES, "knowledge_base/samples/demo_facts.yaml": "clients: [",
             "knowledge_base/notes.yaml": "{{{ not yaml"}
    assert load_knowledge_base(files) == KB


def test_extending_an_unknown_fact_type_or_redefining_a_field_is_refused() -> None:
    extra = ("extend:\n  clinet:\n    fields:\n      loyalty: {type: integer, description: {zh: 忠诚度, en: Loyalty}}\n"
             "  client:\n    fields:\n      name: {type: string, description: {zh: 名称, en: Name}}\n")
    with pytest.raises(RuleError) as exc:
        load_knowledge_base({**KB_FILES, "knowledge_base/facts/extra.yaml": extra})
    unknown, clash = sorted(exc.value.diagnostics, key=lambda d: d.location.line)
    assert (unknown.code, unknown.message, unknown.hint) == (
        "schema_violation", "cannot extend unknown fact type `clinet`", "did you mean `client`?")
    assert clash.message == "field `client.name` is already defined"
    assert (unknown.location.file, unknown.location.line, clash.location.line) == ("knowledge_base/facts/extra.yaml",
                                                                                  2, 7)


def test_an_id_defined_twice_is_refused_where_it_is_repeated() -> None:
    bank = next(k for k in KB_FILES if k.endswith("/signals/bank.yaml"))
    again = "signals:\n" + KB_FILES[bank].split("signals:\n", 1)[1].split("\n  - id:", 1)[0] + "\n"
    assert again.startswith("signals:\n  - id: credit_red_flag\n")
    assert _problems({**KB_FILES, "knowledge_base/signals/zz_again.yaml": again}) == [
        ("schema_violation", "zz_again.yaml", "signals id `credit_red_flag` is defined twice")]


def test_problems_in_several_files_are_reported_together() -> None:
    files = kb_files_with("actions.yaml", "actions:", "actions: [")
    files = {**files, **{k: v + "bogus: 1\n" for k, v in files.items() if k.endswith("/coaching.yaml")}}
    found = sorted((code, name) for code, name, _ in _problems(files))
    assert found == [("schema_violation", "coaching.yaml"), ("yaml_syntax", "actions.yaml")]


def test_regression_a_file_that_is_not_yaml_has_its_syntax_error_only() -> None:
    # a syntax error came with a schema_violation "should be a valid dictionary" at line 1, column 1
    (problem,) = _problems(kb_files_with("parameters.yaml", "parameters:", "parameters: ["))
    assert problem[:2] == ("yaml_syntax", "parameters.yaml")


def test_scoring_must_name_known_fields_and_parameters() -> None:
    scoring = next(k for k in KB_FILES if k.endswith("/scoring.yaml"))
    text = KB_FILES[scoring].replace("field: client_class", "field: client_klass", 1)
    problems = _problems({**KB_FILES, scoring: text.replace("$abc_a_min_points", "$abc_a_min_pionts", 1)})
    assert sorted((code, name) for code, name, _ in problems) == [("unknown_field", "scoring.yaml"),
                                                                  ("unknown_parameter", "scoring.yaml")]


def test_alternatives_name_catalogue_actions_once_and_never_mix_duties_with_sales() -> None:
    files = kb_files_with("alternatives.yaml", "actions: [befriend_client_first, relationship_care]",
                          "actions: [befriend_client_first, resolve_retailer_complaint, ask_for_referal]")
    text = next(v for k, v in files.items() if k.endswith("alternatives.yaml"))
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "ask_for_referal" in t)
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(files)
    found = [(d.code, d.location.line, d.message, d.hint) for d in exc.value.diagnostics]
    assert ("unknown_action", line, "unknown action `ask_for_referal` in alternatives `trust_not_yet_built`",
            "did you mean `ask_for_referral`?") in found
    twice = [f for f in found if f[0] == "alternative_twice"]
    assert [f[2] for f in twice] == ["action `resolve_retailer_complaint` is in alternatives `open_complaint` and "
                                     "`trust_not_yet_built`"]
    kinds = [f for f in found if f[0] == "alternative_kinds"]
    assert len(kinds) == 1 and "resolve_retailer_complaint (obligation)" in kinds[0][2]
    assert "befriend_client_first (service)" in kinds[0][2]


def test_the_alternatives_file_is_optional() -> None:
    files = {k: v for k, v in KB_FILES.items() if not k.endswith("alternatives.yaml")}
    assert load_knowledge_base(files).alternatives == {}
    assert sorted(KB.alternatives) == ["contact_overdue", "open_complaint", "promise_overdue", "trust_not_yet_built"]


# ---- value labels ----------------------------------------------------------------------------


def test_every_enum_value_of_the_shipped_schema_has_a_zh_and_en_label() -> None:
    enums = [(f"{t}.{n}", f) for t, spec in KB.facts.items() for n, f in spec.fields.items() if f.type == "enum"]
    assert len(enums) > 30
    assert [(ref, v) for ref, f in enums for v in f.values or () if v not in f.labels] == []
    assert KB.facts["client"].fields["e_settlement"].labels["low_awareness"].zh == "已开通但不熟悉"


MAJOR = "          major: {zh: 大客户, en: major}\n"
INSPECTOR = "          inspector: {zh: 稽查队员, en: inspector}\n"


def _label_problems(name_end: str, old: str, new: str) -> list[tuple[str, str, str]]:
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(kb_files_with(name_end, old, new))
    return [(d.code, str(d.location).split("/")[-1], d.message) for d in exc.value.diagnostics]


def test_an_enum_value_without_a_label_is_refused_at_the_value() -> None:
    # facts.yaml: the value `major` sits on the `values:` line of client.tier
    [(code, where, message)] = _label_problems("knowledge_base/facts.yaml", MAJOR, "")
    assert code == "value_label" and "`client.tier`" in message and "`major`" in message
    line = next(i for i, t in enumerate(KB_FILES["knowledge_base/facts.yaml"].splitlines(), 1)
                if "values: [strategic, major, general]" in t)
    assert where.startswith(f"facts.yaml:{line}:")
    # and in a fact extension file the same
    [(code, where, message)] = _label_problems("facts/tobacco.yaml", INSPECTOR, "")
    assert code == "value_label" and "`inspector`" in message and where.startswith("tobacco.yaml:")


def test_a_label_for_a_value_the_field_does_not_have_is_refused_at_the_label() -> None:
    [(code, where, message)] = _label_problems("knowledge_base/facts.yaml", MAJOR,
                                               MAJOR + "          majr: {zh: 大, en: big}\n")
    assert code == "value_label" and "`majr`" in message and where.startswith("facts.yaml:")


def test_a_boolean_labels_both_of_its_values_or_neither() -> None:
    half = _label_problems("knowledge_base/facts.yaml", "is_key: {type: boolean, ",
                           "is_key: {type: boolean, labels: {true: {zh: 重点, en: key}}, ")
    assert [(c, m) for c, _, m in half] == [("value_label", "`client.is_key` has no label for its value `false`")]
    kb = load_knowledge_base(kb_files_with("knowledge_base/facts.yaml", "is_key: {type: boolean, ",
                                           "is_key: {type: boolean, labels: {true: {zh: 重点, en: key}, "
                                           "false: {zh: 非重点, en: not key}}, "))
    assert kb.facts["client"].fields["is_key"].labels["false"].en == "not key"


def test_only_enum_and_boolean_fields_have_labels() -> None:
    problems = _label_problems("knowledge_base/facts.yaml", "referrals_given: {type: integer, ",
                               "referrals_given: {type: integer, labels: {0: {zh: 无, en: none}}, ")
    assert [c for c, _, _ in problems] == ["schema_violation"]
# ---- coaching cards and coaching from clients ----------------------------------------------------


def _located(files: dict[str, str]) -> list[tuple[str, str, int]]:
    """(code, file name, line) of each problem that refuses the knowledge base."""
    with pytest.raises(RuleError) as exc:
        load_knowledge_base(files)
    return [(d.code, d.location.file.rsplit("/", 1)[-1], d.location.line) for d in exc.value.diagnostics]


def test_coaching_from_clients_is_optional_and_its_entries_say_where_they_are_written() -> None:
    without = load_knowledge_base({k: v for k, v in KB_FILES.items() if not k.endswith("coaching_from_clients.yaml")})
    assert without.coaching_from_clients == {} and without.origins == {}
    entry = KB.coaching_from_clients["tobacco_stale_complaints"]
    file, line = KB.origins[entry.id]
    text = next(v for k, v in KB_FILES.items() if k.endswith("coaching_from_clients.yaml"))
    assert file.endswith("knowledge_base/coaching_from_clients.yaml")
    assert text.splitlines()[line - 1].strip() == "- id: tobacco_stale_complaints"


@pytest.mark.parametrize(("old", "new", "code"), [
    ("topic: complaint_to_opportunity", "topic: complaint_to_oportunity", "unknown_coaching"),
    ("actions: [resolve_retailer_complaint,", "actions: [resolve_retailer_complain,", "unknown_action"),
    ("signals: [complaint_past_due]", "signals: [complaint_pastdue]", "unknown_signal"),
    ("signals: [complaint_past_due]", "signals: [lagging_performer]", "subject_mismatch"),
    ("min_clients: $coaching_stale_complaint_clients", "min_clients: $no_such_count", "unknown_parameter"),
    ("min_clients: $coaching_stale_complaint_clients", "min_clients: $tobacco_order_drop_pct", "bad_value"),
    ("wait on complaints open longer than", "wait on {client.name} open longer than", "bad_template"),
    ("wait on complaints open longer than", "wait on {clients.cnt} open longer than", "bad_template"),
    ("wait on complaints open longer than", "wait on { clients.count } open longer than", "bad_template"),
])
def test_a_coaching_from_clients_entry_that_cannot_work_is_refused_where_it_is_written(old: str, new: str,
                                                                                      code: str) -> None:
    [(found, file, line)] = _located(kb_files_with("coaching_from_clients.yaml", old, new))
    assert (found, file) == (code, "coaching_from_clients.yaml") and line > 20


def test_a_coaching_from_clients_entry_must_match_something() -> None:
    files = kb_files_with("coaching_from_clients.yaml", "      actions: [move_members_to_group_payment]\n",
                          "      actions: []\n")
    assert [c for c, *_ in _located(files)] == ["schema_violation"]


@pytest.mark.parametrize(("old", "new", "code"), [
    ("metric: avg_complaint_close_days", "metric: avg_complaint_days", "unknown_field"),
    ("metric: avg_complaint_close_days\n      better: lower", "metric: avg_complaint_close_days\n      target: low",
     "bad_value"),
    ("metric: reads_statements\n      target: true", "metric: reads_statements\n      better: higher", "bad_value"),
    ("metric: crm_proficiency\n      target: high", "metric: crm_proficiency\n      target: expert", "bad_value"),
    ("metric: negotiation_prep_pct", "metric: name", "bad_value"),
    ("      better: lower\n      behaviour:\n        form: start\n        text: {zh: \"每件未结投诉",
     "      better: lower\n      review_days: $no_such_days\n      behaviour:\n        form: start\n        text: "
     "{zh: \"每件未结投诉", "unknown_parameter"),
])
def test_a_card_that_cannot_measure_its_metric_is_refused_where_it_is_written(old: str, new: str, code: str) -> None:
    found = _located(kb_files_with("coaching.yaml", old, new))
    assert {(c, f) for c, f, _ in found} == {(code, "coaching.yaml")}


def test_every_shipped_topic_has_a_card_and_a_behaviour_form() -> None:
    assert all(t.card is not None for t in KB.coaching.values())
    card = KB.coaching["complaint_to_opportunity"].card
    assert card is not None and (card.metric, card.better, card.behaviour.form) == (
        "avg_complaint_close_days", "lower", "start")
