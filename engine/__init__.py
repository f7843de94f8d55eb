"""rm-advisor's pure core: load YAML rules, check them, infer with experta, arbitrate, explain.

Public API::

    from engine import Advisor, RuleError, FactError
    advisor = Advisor.load()            # or Advisor.load("my_rules/")
    decision = advisor.decide(facts)    # a pydantic model; decision.model_dump() for JSON
"""

from engine.advisor import Advisor
from engine.decision import Decision, Recommendation, SubjectDecision
from engine.errors import AdvisorError, Diagnostic, FactError, InferenceError, RuleError

__all__ = ["Advisor", "AdvisorError", "Decision", "Diagnostic", "FactError", "InferenceError",
           "Recommendation", "RuleError", "SubjectDecision"]
