"""One small exception tree and the diagnostic record every checker produces.

Every problem found in a rule file or in posted facts becomes a :class:`Diagnostic` with a stable
``code`` (tests and tools match on codes, never on wording), a location and a fix hint.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

Severity = Literal["error", "warning"]

#: Every diagnostic code, as a type: ``Diagnostic("typo_code", ...)`` is a mypy error. A Literal cannot
#: be built from :data:`CODE_GROUPS` for mypy, so the codes are written out here in its order, and
#: mypy checks that every code of the table is one of them (its keys are typed ``Code``);
#: tests/docs/test_error_codes.py checks the other way, that every one of them is in the table.
Code = Literal[
    # rule files
    "yaml_syntax", "yaml_too_complex", "too_many_problems", "duplicate_key", "schema_violation", "duplicate_rule_id",
    "unknown_fact", "unknown_field", "unknown_action", "unknown_coaching", "unknown_signal", "type_mismatch",
    "bad_operator", "bad_value", "bad_template", "missing_fallback", "subject_mismatch", "signal_cycle", "bad_dates",
    "signal_placement", "unknown_parameter", "no_rules", "value_label", "file_not_utf8", "alternative_twice",
    "alternative_kinds", "bad_unknown", "not_on_missing", "unknown_document", "quote_not_found",
    "unknown_threshold", "review_overdue",
    # static analysis of rule sets (engine/checking/analysis.py)
    "impossible_condition", "subsumed_rule", "same_action_priority", "parameter_unit", "threshold_parameter",
    "missing_text",
    # coaching (engine/checking/leads.py)
    "signal_leads_nowhere",
    # rule graph (engine/authoring/graph.py)
    "signal_unproduced", "signal_unused", "unreachable_outcome",
    # rule health against the decision log (engine/authoring/rule_health.py)
    "rule_noisy",
    # scenario files
    "scenario_unknown_id",
    # facts
    "fact_unknown_type", "fact_unknown_field", "fact_missing_field", "fact_unlinked", "fact_type", "fact_bad_value",
    "fact_duplicate_id", "fact_shape", "fact_error_limit", "fact_ref_skipped",
    # portfolio tables as files (rm-advisor batch)
    "table_unreadable", "table_encoding", "table_ragged_row", "table_bad_quote", "table_duplicate_column",
    "too_many_bad_rows", "cluster_unreachable",
    # inference
    "firing_limit",
    # contact policies (rules/*.policies.yaml)
    "duplicate_policy_id", "unknown_reason_code", "policy_holds_back_duty",
    # arbitration (rules/arbitration.yaml)
    "duplicate_arbitration_entry", "arbitration_lowers_duty",
    # decision log and feedback (store/)
    "store_unavailable", "decision_not_found", "revision_not_logged", "feedback_unknown_item", "feedback_duplicate",
    "feedback_conflict", "feedback_bad_value", "feedback_reason_kind", "csv_columns", "decision_erased",
    "backup_unsupported", "backup_target_exists", "restore_not_a_log", "restore_newer_schema",
    # user accounts, sessions and API tokens (store/users.py, api/access.py)
    "user_exists", "user_not_found", "user_bad_value", "user_disabled", "token_exists", "token_not_found",
    "login_failed", "csrf_failed", "forbidden",
    # rule releases with four eyes (store/releases.py, api/routes/releases.py)
    "release_not_found", "release_state", "release_self_approval", "release_unchanged", "release_stale",
    "four_eyes_required",
    # champion/challenger experiments (engine/authoring/experiments.py, store/service.py)
    "experiment_not_found",
]

#: Stable diagnostic codes by where they arise, and what each means (docs/error-codes.md is written
#: from this table; a test keeps it in step). Never renumber or reuse a code.
CODE_GROUPS: dict[str, dict[Code, str]] = {
    "rule files": {
        "yaml_syntax": "the file is not valid YAML",
        "yaml_too_complex": "the file nests too deeply or expands to too many nodes through aliases",
        "too_many_problems": "a file has more problems than are listed; this one counts the others",
        "duplicate_key": "a YAML mapping repeats a key",
        "schema_violation": "the rule file does not match the rule format (missing or unknown key, wrong shape)",
        "duplicate_rule_id": "two rules share one id",
        "unknown_fact": "a condition names a fact type that the fact schema does not define",
        "unknown_field": "a condition or template names a field the fact type does not have",
        "unknown_action": "a rule recommends an action that is not in the action catalogue",
        "unknown_coaching": "a rule recommends a coaching topic that is not in the coaching catalogue",
        "unknown_signal": "a rule uses or asserts a signal that is not in the signal catalogue",
        "type_mismatch": "a value in a condition does not fit the field's type",
        "bad_operator": "an operator cannot be used on this field's type",
        "bad_value": "a value is outside what the field allows (enum values, ranges)",
        "bad_template": "a reason template names a placeholder that cannot be filled",
        "missing_fallback": "a reason template names a field that may be missing when the rule fires (not required, "
                            "not guaranteed by the rule's `when`) and gives no fallback: write `{client.field|text}`",
        "subject_mismatch": "an outcome or condition does not fit the rule's subject",
        "signal_cycle": "derived signals depend on each other in a loop through a negation",
        "bad_dates": "the effective dates of a rule are inverted",
        "signal_placement": "a signal condition sits where it cannot be matched (inside `any` or deep nesting)",
        "unknown_parameter": "a condition names a parameter that the parameters file does not define",
        "no_rules": "the rule directory holds no rule files",
        "file_not_utf8": "a rule, policy, scenario or knowledge-base file is not UTF-8 text (the location is the first "
                         "byte that is not)",
        "alternative_twice": "an action is in two groups of knowledge_base/alternatives.yaml (it answers one cause)",
        "alternative_kinds": "a group of alternatives mixes risk or obligation actions with service or sales ones",
        "value_label": "an enum field of the fact schema has no zh/en label for one of its values (or a boolean "
                       "field labels only one of true and false), or a label names a value the field does not have",
        "bad_unknown": "a condition's `unknown:` cannot mean anything where it is: beside `present`, on a required "
                       "field, or `ask` under `not` or inside `exists`",
        "not_on_missing": "a `not` over a comparison on a field that may be missing holds when the value is missing, "
                          "and the rule does not say so with `unknown:` (warning)",
        "unknown_document": "a provenance (of a rule or a catalogue entry) names a document that "
                            "knowledge_base/documents.yaml does not list",
        "quote_not_found": "a provenance quote (of a rule or a catalogue entry) is not found verbatim in its document "
                           "(checked when the document texts are available: `rm-advisor check --documents DIR`)",
        "unknown_threshold": "a `deadline` condition names a threshold that knowledge_base/thresholds.yaml does not "
                             "define",
        "review_overdue": "a rule's `review_by` date is past (against the as-of date of `rm-advisor check --as-of`, "
                          "else today): review it, then move the date on (warning)",
    },
    "static analysis of rule sets (engine/checking/analysis.py)": {
        "impossible_condition": "a rule's conditions can never all hold (e.g. `> 30` and `< 10` on one field)",
        "subsumed_rule": "whenever a rule fires, another rule with the same outcome fires too (warning)",
        "same_action_priority": "two rules that can fire together recommend one action at one priority (warning)",
        "parameter_unit": "a `$parameter` is compared with a field of another unit",
        "threshold_parameter": "a hard-coded threshold where the parameters file defines one for the same comparison "
                               "(warning)",
        "missing_text": "a zh or en text is empty (error) or in the wrong language (warning)",
    },
    "coaching (engine/checking/leads.py)": {
        "signal_leads_nowhere": "a derived manager signal leads to no coaching topic on its own in some domain where "
                                "it can hold: no rule uses it, or every rule that does needs other conditions too "
                                "(warning)",
    },
    "rule graph (engine/authoring/graph.py)": {
        "signal_unproduced": "a rule uses a signal (or the catalogue lists one) that no rule asserts (warning)",
        "signal_unused": "a signal is asserted but no rule uses it (warning)",
        "unreachable_outcome": "no rule that can fire recommends this action or coaching topic (warning)",
    },
    "rule health against the decision log (engine/authoring/rule_health.py)": {
        "rule_noisy": "a rule fires often and its recommendations are nearly always rejected, by the decision log "
                      "(`rm-advisor check --with-log`); the message says what the log suggests changing (warning)",
    },
    "scenario files": {
        "scenario_unknown_id": "a scenario expectation names an action, signal, rule or error code that does not exist",
    },
    "facts": {
        "fact_unknown_type": "posted facts use a fact type the schema does not define",
        "fact_unknown_field": "a posted fact has a field the schema does not define",
        "fact_missing_field": "a posted fact lacks a required field",
        "fact_unlinked": "a posted fact (an interaction) names neither the client nor the manager it belongs to",
        "fact_type": "a posted value has the wrong type",
        "fact_bad_value": "a posted value is outside the allowed values or range",
        "fact_duplicate_id": "two posted facts of one type share an id",
        "fact_shape": "the posted document is not shaped as facts (a mapping of fact lists)",
        "fact_error_limit": "the posted facts have more problems than are listed (MAX_ERRORS); validation "
                            "stopped there",
        "fact_ref_skipped": "a table row refers to a client or manager whose own row was skipped as bad (the message "
                            "names that row); it is skipped too",
    },
    "portfolio tables as files (rm-advisor batch)": {
        "table_unreadable": "a table file cannot be read at all (missing, not CSV or Parquet, no header row, "
                            "unknown encoding)",
        "table_encoding": "a CSV row holds bytes that are not valid in the file's encoding",
        "table_ragged_row": "a CSV row has more or fewer fields than the header",
        "table_bad_quote": "a CSV row has a quote that is not closed, text right after a closing quote, or a field "
                           "too long to be a cell",
        "table_duplicate_column": "a table's header names a column twice; the first is used (warning)",
        "too_many_bad_rows": "the batch stopped: more rows were bad than the bad-row limit allows",
        "cluster_unreachable": "`batch --scheduler`: no Dask scheduler answers at the address given (or it does not "
                               "answer in time)",
    },
    "inference": {
        "firing_limit": "inference stopped at the firing cap, which suggests a runaway rule loop",
    },
    "contact policies (rules/*.policies.yaml)": {
        "duplicate_policy_id": "two contact policies share one id",
        "unknown_reason_code": "a policy or a feedback names a reason code that is not in the reason catalogue",
        "policy_holds_back_duty": "a policy is set to hold back risk or obligation actions (in `holds_back`, or a "
                                  "volume cap on one); those are never suppressed or capped, only snoozed to a date",
    },
    "arbitration (rules/arbitration.yaml)": {
        "duplicate_arbitration_entry": "an action or an action kind has two entries in the arbitration, or two "
                                       "arbitration files set the weights or the propensity settings",
        "arbitration_lowers_duty": "an arbitration entry gives a risk or obligation action a value or levers below 1; "
                                   "duties are never ranked below what their rules call for",
    },
    # raised as store/errors.py:StoreError (the engine never imports store/)
    "decision log and feedback (store/)": {
        "store_unavailable": "the decision database cannot be opened or migrated",
        "decision_not_found": "no logged decision has this id",
        "revision_not_logged": "the rule set of a logged decision is not in the database, so it cannot be replayed",
        "feedback_unknown_item": "the decision did not recommend this item to this subject",
        "feedback_duplicate": "this status was already recorded for this item",
        "feedback_conflict": "the item's earlier feedback (rejected or done) does not allow this status",
        "feedback_bad_value": "a feedback field is missing or has a value outside what it allows",
        "feedback_reason_kind": "the reason code does not fit the kind (or channel) of the action the feedback is "
                                "about, e.g. `client_not_interested` on a risk action",
        "csv_columns": "a feedback CSV file lacks a required column or has an unknown one",
        "decision_erased": "a client's personal data was erased from the logged decision (`rm-advisor log forget`), "
                           "so its input no longer holds what it was decided on and a replay cannot be identical",
        "backup_unsupported": "`rm-advisor log backup` and `restore` copy SQLite files, and run pg_dump and pg_restore "
                              "for a PostgreSQL decision log; those are not on PATH (the message says what to run), or "
                              "the log is neither",
        "backup_target_exists": "the backup file exists, or the database to restore into already holds decisions "
                                "(`--force` replaces it)",
        "restore_not_a_log": "the file to restore is not a SQLite decision log (not SQLite, damaged, or without the "
                             "decision log's tables)",
        "restore_newer_schema": "the file to restore was written by a newer rm-advisor (a schema revision this one "
                                "does not know)",
    },
    "user accounts, sessions and API tokens (store/users.py, api/access.py)": {
        "user_exists": "`rm-advisor users add`: an account with this username exists already",
        "user_not_found": "no account has this username",
        "user_bad_value": "an account field does not fit: a username with other characters, an unknown role, a "
                          "manager without a manager id, a branch head without a branch, a password shorter than "
                          "10 characters",
        "user_disabled": "the account is disabled: it cannot log in and its sessions and tokens no longer work",
        "token_exists": "the user has an API token of this name already (revoke it first, or name the new one)",
        "token_not_found": "the user has no API token of this name",
        "login_failed": "the username or the password is wrong, or the account is disabled (one answer for all "
                        "three, so a login form does not tell which usernames exist)",
        "csrf_failed": "a request made with the session cookie that changes something did not carry the "
                       "session's CSRF token (form field `csrf_token` or header `X-CSRF-Token`)",
        "forbidden": "the logged-in user's role does not allow this route (a resource that is not addressed by "
                     "an id; one addressed by an id they may not see is `not_found`)",
    },
    "rule releases with four eyes (store/releases.py, api/routes/releases.py)": {
        "release_not_found": "no rule release has this id (or no earlier release has this revision, to roll back to)",
        "release_state": "the release's state does not allow this: only a proposed release is approved or rejected, "
                         "and only a revision that served before (superseded or rolled back) is rolled back to",
        "release_self_approval": "the user who proposed a release cannot approve it: another user with an approver "
                                 "role must (four eyes)",
        "release_unchanged": "the proposed rule files are the revision serving now (or proposed already): nothing "
                             "to release",
        "release_stale": "the knowledge base changed since the release was proposed, so its revision would differ; "
                         "propose it again",
        "four_eyes_required": "rule changes go through releases on this server (four eyes): the direct reload, or "
                              "`release propose --direct`, is refused; propose a release for another user to approve",
    },
    "champion/challenger experiments (engine/authoring/experiments.py, store/service.py)": {
        "experiment_not_found": "no decision of the experiment is in the decision log, or the champion named is not "
                                "one of its arms",
    },
}
#: every code and its meaning
CODES: dict[Code, str] = {code: text for group in CODE_GROUPS.values() for code, text in group.items()}


#: At most this many problems are collected in one document (posted facts) and listed in one
#: answer; past it, validation stops and says so. Bounds the work and the answer a small hostile
#: request can cause (a megabyte of empty facts would otherwise yield a million diagnostics).
MAX_ERRORS = 100


@dataclass(frozen=True, order=True)
class Location:
    """Where a problem is: a file with line and column, or a path inside a request document."""

    file: str = ""
    line: int = 0
    column: int = 0
    path: str = ""

    def __str__(self) -> str:
        """``file:line:column``; a table cell, which has a named column and no numbered one, as
        ``clients.csv:14:satisfaction`` (the column as bad_rows.csv names it); ``path`` without a file."""
        if self.file:
            if not self.line:
                return self.file
            if self.column or not self.path:
                return f"{self.file}:{self.line}:{self.column}" if self.column else f"{self.file}:{self.line}"
            return f"{self.file}:{self.line}:{self.path}"
        return self.path


@dataclass(frozen=True)
class Diagnostic:
    """One problem, with a stable code, a location, the rule or fact it concerns, and a hint."""

    code: Code
    message: str
    location: Location = field(default_factory=Location)
    rule_id: str = ""
    hint: str = ""
    severity: Severity = "error"

    def sort_key(self) -> tuple[Location, str, str]:
        return (self.location, self.code, self.message)

    def format(self) -> str:
        """``file:line:col: code [rule] message (hint)`` as a CLI prints it."""
        rule = f" [{self.rule_id}]" if self.rule_id else ""
        hint = f" (hint: {self.hint})" if self.hint else ""
        level = "" if self.severity == "error" else f"{self.severity}: "
        return f"{self.location}: {level}{self.code}{rule} {self.message}{hint}"

    def to_dict(self) -> dict[str, object]:
        loc = self.location
        return {
            "code": self.code, "severity": self.severity, "message": self.message,
            "rule_id": self.rule_id or None, "hint": self.hint or None,
            "file": loc.file or None, "line": loc.line or None, "column": loc.column or None,
            "path": loc.path or None,
        }


class AdvisorError(Exception):
    """Base of every error rm-advisor raises on purpose."""

    code = "error"

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics = sorted(diagnostics, key=Diagnostic.sort_key)
        super().__init__("\n".join(d.format() for d in self.diagnostics))


class RuleError(AdvisorError):
    """A rule set failed checking; nothing of it was loaded."""

    code = "rule_error"


class FactError(AdvisorError):
    """Posted facts do not fit the fact schema.

    ``stopped_at``: validation stopped after this many problems because there were more; the
    diagnostics then end with one ``fact_error_limit`` that says so (located at the document).
    """

    code = "fact_error"

    def __init__(self, diagnostics: Iterable[Diagnostic], stopped_at: int | None = None):
        super().__init__(diagnostics)
        self.stopped_at = stopped_at
        if stopped_at is not None:
            self.diagnostics.append(Diagnostic(
                "fact_error_limit", f"more than {stopped_at} problems: the first {stopped_at} are listed and "
                "validation stopped there", Location(path="<facts>"), hint="fix these and check again"))
            self.args = ("\n".join(d.format() for d in self.diagnostics),)


class InferenceError(AdvisorError):
    """Inference could not finish (e.g. the firing cap was reached)."""

    code = "inference_error"


class ExperimentError(AdvisorError):
    """An experiment file failed checking (engine/authoring/experiments.py)."""

    code = "experiment_invalid"


class TooManyBadRows(AdvisorError):
    """Checking portfolio tables stopped: more rows were bad than allowed (the diagnostic names
    the file and the line of the row that went over the limit)."""

    code = "too_many_bad_rows"


def codes_markdown() -> str:
    """docs/error-codes.md: every code by group with its meaning (``make docs`` writes it)."""
    out = ["# Diagnostic codes", "",
           "Every problem rm-advisor reports carries one of these codes (tools and tests match on codes, never on",
           "wording). Written from `engine/errors.py:CODE_GROUPS` by `make docs`; a test fails when this file",
           "is out of step.", ""]
    for group, codes in CODE_GROUPS.items():
        out += [f"## {group[0].upper()}{group[1:]}", "", "| code | meaning |", "|---|---|"]
        out += [f"| `{code}` | {_cell(text)} |" for code, text in codes.items()]
        out.append("")
    return "\n".join(out)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def suggest(word: str, choices: Iterable[str]) -> str:
    """A ``did you mean`` hint, or an empty string when nothing is close."""
    close = difflib.get_close_matches(word, sorted(set(choices)), n=1, cutoff=0.6)
    return f"did you mean `{close[0]}`?" if close else ""
