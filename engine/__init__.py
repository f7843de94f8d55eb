"""rm-advisor's pure core: load YAML rules, check them, infer with experta, arbitrate, explain.

Public API::

    from rm_advisor.engine import Advisor, RuleError, FactError
    advisor = Advisor.load()            # or Advisor.load("my_rules/")
    decision = advisor.decide(facts)    # a pydantic model; decision.model_dump() for JSON

The names load on first use (PEP 562), so importing one light module such as ``engine.errors``
does not load experta, networkx and pandas with it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rm_advisor.engine.errors import AdvisorError, Diagnostic, FactError, InferenceError, RuleError
    from rm_advisor.engine.inference.advisor import Advisor
    from rm_advisor.engine.language.decision import Decision, Recommendation, SubjectDecision

_PUBLIC = {
    "rm_advisor.engine.inference.advisor": ("Advisor",),
    "rm_advisor.engine.language.decision": ("Decision", "Recommendation", "SubjectDecision"),
    "rm_advisor.engine.errors": ("AdvisorError", "Diagnostic", "FactError", "InferenceError", "RuleError"),
}
_HOME = {name: module for module, names in _PUBLIC.items() for name in names}

__all__ = ["Advisor", "AdvisorError", "Decision", "Diagnostic", "FactError", "InferenceError",
           "Recommendation", "RuleError", "SubjectDecision"]


def __getattr__(name: str) -> Any:
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
