"""Decisions: the rule book checked and compiled, conditions as predicates, forward chaining with
experta, arbitration into ranked and explained recommendations, and the Advisor that runs them."""

from engine.inference.advisor import Advisor
from engine.inference.book import check_rules, load_rule_book, revision_of
from engine.inference.chaining import Inference
from engine.inference.compiler import CompiledRule, RuleBook, SourceTexts

__all__ = [
    "Advisor", "CompiledRule", "Inference", "RuleBook", "SourceTexts", "check_rules", "load_rule_book",
    "revision_of",
]
