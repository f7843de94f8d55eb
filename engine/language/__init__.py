"""The rule language and the records it speaks about: rule files, the operator table, the walk
over condition trees, the knowledge base (fact schema, catalogues, parameters), facts, decisions,
feedback events, reason templates and the values facts may hold."""

from rm_advisor.engine.language.decision import (
    Decision,
    Reason,
    Recommendation,
    RuleTrace,
    SignalTrace,
    SubjectDecision,
    Suppression,
)
from rm_advisor.engine.language.facts import Fact, FactSet, build_fact_set, validate_facts
from rm_advisor.engine.language.feedback import NEXT_STATUSES, FeedbackEvent
from rm_advisor.engine.language.knowledge import (
    Domain,
    FactSpec,
    FeedbackReasonSpec,
    FeedbackStatus,
    FieldSpec,
    KnowledgeBase,
    Text,
    resolve,
)
from rm_advisor.engine.language.operators import OPERATORS, Operator, describe, operator, show
from rm_advisor.engine.language.rules import Condition, Rule, RuleFile, rule_file_json_schema
from rm_advisor.engine.language.schemes import ScoringFile
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.language.values import (
    DATE_MAX,
    DATE_MIN,
    DATE_PATTERN,
    ID_MAX_LENGTH,
    ID_PATTERN,
    INT_MAX,
    INT_MIN,
    TEXT_PATTERN,
    DateRangeError,
    parse_date,
    printable,
    shift,
)
from rm_advisor.engine.language.walk import Path, Visitor, walk

__all__ = [
    "DATE_MAX",
    "DATE_MIN",
    "DATE_PATTERN",
    "ID_MAX_LENGTH",
    "ID_PATTERN",
    "INT_MAX",
    "INT_MIN",
    "NEXT_STATUSES",
    "OPERATORS",
    "TEXT_PATTERN",
    "Condition",
    "DateRangeError",
    "Decision",
    "Domain",
    "Fact",
    "FactSet",
    "FactSpec",
    "FeedbackEvent",
    "FeedbackReasonSpec",
    "FeedbackStatus",
    "FieldSpec",
    "KnowledgeBase",
    "Operator",
    "Path",
    "Reason",
    "Recommendation",
    "Rule",
    "RuleFile",
    "RuleTrace",
    "ScoringFile",
    "SignalTrace",
    "SubjectDecision",
    "SubjectKey",
    "Suppression",
    "Text",
    "Visitor",
    "build_fact_set",
    "describe",
    "operator",
    "parse_date",
    "printable",
    "resolve",
    "rule_file_json_schema",
    "shift",
    "show",
    "validate_facts",
    "walk"
]
