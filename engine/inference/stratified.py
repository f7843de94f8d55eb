"""Forward chaining without a Rete network: the chaining rules evaluated stratum by stratum.

The rule language is stratified — a rule of stratum k tests only signals asserted by rules of
strata below k (:func:`engine.checking.signals.strata`; cycles are refused) — and a decision only
adds facts, never retracts one. So one pass over the gated chaining rules in stratum order reaches
the fixpoint experta's network reaches: when a rule's turn comes, every signal it tests (required,
forbidden, or on a related fact of a join) is already settled. Per (rule, subject) the test is a
few set look-ups; a join collects the related subjects that pass its ``where`` and hold its signals.

This is the evaluator every door uses by default (``Advisor(engine="compiled")``);
:class:`engine.inference.chaining.Inference` (experta) stays the reference, selectable as
``engine="experta"``, and ``tests/engine/inference/test_stratified.py`` requires identical
firings, match traces, related subjects and signal producers from both. The firing cap means
what it means for experta: an error when the chaining rules would fire more than ``max_firings``
activations (a join fires once per combination of related subjects, as a Rete activation does).
"""

from __future__ import annotations

import math

from rm_advisor.engine.inference.chaining import Chained, Gates, InferenceResult, Recorder
from rm_advisor.engine.inference.compiler import CompiledRule
from rm_advisor.engine.language.facts import FactSet
from rm_advisor.engine.language.subjects import SubjectKey


class StratifiedInference(Recorder):
    """Chaining rules in stratum order, one pass. Not thread-safe: one per thread."""

    def run(self, fact_set: FactSet, gates: Gates | None = None, chained: Chained | None = None) -> InferenceResult:
        gated = self._start(fact_set, gates)
        producers = self._producers
        activations = 0
        for rule, subject in sorted(gated, key=lambda rs: (rs[0].stratum, rs[0].id, rs[1])):
            related: list[list[SubjectKey]] | None
            if chained is not None and subject not in chained.open:  # decided in bulk: recorded as it fired
                given = chained.fired.get(subject, {}).get(rule.id)
                if given is None:
                    continue
                related = [list(r) for r in given] if rule.joins else None
            else:
                if (any((name, subject) not in producers for name in rule.requires)
                        or any((name, subject) in producers for name in rule.forbids)):
                    continue
                related = self._related(rule, subject, fact_set) if rule.joins else None
                if related is not None and not all(related):
                    continue
            activations += math.prod(len(r) for r in related) if related else 1
            if activations > self.max_firings:
                raise self._too_many(activations - self.max_firings)
            if related is None:
                self.fired(rule, subject, {})
                continue
            for k, subjects in enumerate(related):
                for rel in subjects:
                    self.fired(rule, subject, {f"r{k}": rel})
        return self._result()

    def _related(self, rule: CompiledRule, subject: SubjectKey, fact_set: FactSet) -> list[list[SubjectKey]]:
        """Per join, the related subjects that pass its ``where`` and hold its signals."""
        out: list[list[SubjectKey]] = [[] for _ in rule.joins]
        producers = self._producers
        for k, rel in self._joined(rule, subject, fact_set):
            if all((name, rel) in producers for name in rule.joins[k].signals):
                out[k].append(rel)
        return out
