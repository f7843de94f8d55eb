"""Decisions: the rule book checked and compiled, conditions as predicates, forward chaining stratum
by stratum (experta's Rete network kept as the reference), arbitration into ranked and explained
recommendations, coaching from the clients' actions, coaching cards, and the Advisor that runs them."""

from rm_advisor.engine.inference.advisor import ENGINES, Advisor, Engine
from rm_advisor.engine.inference.book import check_rules, load_rule_book, revision_of
from rm_advisor.engine.inference.chaining import Inference
from rm_advisor.engine.inference.compiler import CompiledRule, RuleBook, SourceTexts
from rm_advisor.engine.inference.from_clients import TRACE_PREFIX, client_reason

__all__ = [
    "ENGINES", "TRACE_PREFIX", "Advisor", "CompiledRule", "Engine", "Inference", "RuleBook", "SourceTexts",
    "check_rules", "client_reason", "load_rule_book", "revision_of",
]
