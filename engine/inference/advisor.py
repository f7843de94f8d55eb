"""The public entry point: load a rule set once, ask for decisions many times.

>>> from rm_advisor.engine import Advisor
>>> advisor = Advisor.load()                      # the shipped rules and knowledge base
>>> decision = advisor.decide({"clients": [...], "managers": [...]})
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rm_advisor.engine.derivation import Prefer, derive_facts
from rm_advisor.engine.inference.arbitration import arbitrate
from rm_advisor.engine.inference.book import load_rule_book
from rm_advisor.engine.inference.cards import with_cards
from rm_advisor.engine.inference.chaining import Chained, Gates, Inference, InferenceResult, Recorder
from rm_advisor.engine.inference.compiler import RuleBook
from rm_advisor.engine.inference.confirm import MAX_TO_CONFIRM
from rm_advisor.engine.inference.from_clients import coach_from_clients
from rm_advisor.engine.inference.stratified import StratifiedInference
from rm_advisor.engine.language.decision import Decision, SubjectDecision
from rm_advisor.engine.language.facts import FactSet, validate_facts
from rm_advisor.engine.language.feedback import FeedbackEvent
from rm_advisor.engine.language.propensity import PropensityTable
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.loading.sources import default_rules_dir, read_kb_files, read_rule_files
from rm_advisor.engine.policies.contact import apply_policies
from rm_advisor.engine.policies.ranking import rank, standing_of

#: the evaluators of the chaining rules: ``compiled`` (stratum by stratum, the default) and
#: ``experta`` (the Rete network, the reference whose semantics the other must match)
Engine = Literal["compiled", "experta"]
ENGINES: dict[str, type[Recorder]] = {"compiled": StratifiedInference, "experta": Inference}


class Advisor:
    """A compiled rule book plus one inference engine per thread (neither evaluator is thread-safe).

    ``max_to_confirm`` caps each subject's ``to_confirm`` list (the missing facts that would bring
    more advice if known; 0: none are looked for). ``engine`` picks the evaluator of the chaining
    rules (:data:`ENGINES`); both give the same decisions.
    """

    def __init__(self, book: RuleBook, max_firings: int = 10_000, max_to_confirm: int = MAX_TO_CONFIRM,
                 engine: Engine = "compiled"):
        if engine not in ENGINES:
            raise ValueError(f"unknown engine {engine!r}: use one of {', '.join(ENGINES)}")
        self.book = book
        self.max_firings = max_firings
        self.max_to_confirm = max_to_confirm
        self.engine: Engine = engine
        self._local = threading.local()

    @classmethod
    def load(cls, rules: str | os.PathLike[str] | None = None,
             knowledge_base: str | os.PathLike[str] | None = None, max_firings: int = 10_000,
             max_to_confirm: int = MAX_TO_CONFIRM, engine: Engine = "compiled") -> Advisor:
        """Load and compile rules from a directory (default: the shipped packs).

        Files are named relative to their directory (``tobacco.yaml``, ``knowledge_base/facts.yaml``),
        as the HTTP server names them, so a decision's traces do not depend on where the files are.

        Raises :class:`rm_advisor.engine.RuleError` with every problem if the rule set does not check.
        """
        rule_files = read_rule_files(rules or default_rules_dir(), relative=True)
        return cls.from_files(rule_files, read_kb_files(knowledge_base, relative=True), max_firings, max_to_confirm,
                              engine)

    @classmethod
    def from_files(cls, rule_files: dict[str, str], kb_files: dict[str, str],
                   max_firings: int = 10_000, max_to_confirm: int = MAX_TO_CONFIRM,
                   engine: Engine = "compiled") -> Advisor:
        """Load from file texts (name -> text), e.g. a rule set stored in the decision log."""
        return cls(load_rule_book(rule_files, kb_files), max_firings, max_to_confirm, engine)

    @property
    def revision(self) -> str:
        return self.book.revision

    def _inference(self) -> Recorder:
        inf: Recorder | None = getattr(self._local, "inference", None)
        if inf is None:
            inf = self._local.inference = ENGINES[self.engine](self.book, self.max_firings)
        return inf

    def validate(self, facts: Mapping[str, Any], as_of: dt.date | None = None, prefer: Prefer = "given") -> FactSet:
        """Check posted facts and derive what their interactions give (:mod:`engine.derivation`);
        raises :class:`rm_advisor.engine.FactError` listing every problem.

        A field the facts give keeps its value unless ``prefer`` is ``"history"``.
        """
        return derive_facts(validate_facts(facts, self.book.kb, as_of), self.book.kb, prefer)

    def decide(self, facts: Mapping[str, Any] | FactSet, as_of: dt.date | None = None,
               max_per_subject: int | None = None, gates: Gates | None = None,
               history: Iterable[FeedbackEvent] | None = None, prefer: Prefer = "given",
               propensities: PropensityTable | None = None, chained: Chained | None = None) -> Decision:
        """Validate facts, infer, arbitrate: ranked actions per client and coaching per manager.

        ``gates`` — (rule id, subject key) pairs whose fact conditions hold — skips evaluating
        them here; a portfolio run computes them for all subjects at once (:mod:`engine.portfolio.bulk`).
        With ``history`` (feedback events, possibly none), the rule set's contact policies hold
        back what they forbid (``suppressed``); without it, no policy is applied. With
        ``propensities`` (acceptance evidence from the decision log, as of the decision's date), the
        arbitration formula of ``rules/arbitration.yaml`` ranks by them too, and the entries it looked up
        are recorded in the decision (``propensities``). ``chained`` (with ``gates``) is what the
        chaining rules fired on, decided in bulk too (:mod:`engine.portfolio.columnar`); the
        ``"compiled"`` engine records it as given, the reference (``"experta"``) decides it again.
        """
        return self.run(facts, as_of, max_per_subject, gates, history, prefer, propensities, chained).decision

    def run(self, facts: Mapping[str, Any] | FactSet, as_of: dt.date | None = None,
            max_per_subject: int | None = None, gates: Gates | None = None,
            history: Iterable[FeedbackEvent] | None = None, prefer: Prefer = "given",
            propensities: PropensityTable | None = None, chained: Chained | None = None) -> Run:
        """:meth:`decide`, keeping the validated facts and every rule firing beside the decision
        (the authoring tools need the firings of rules whose outcome left no trace, e.g. a veto
        that had nothing to block)."""
        fact_set = facts if isinstance(facts, FactSet) else self.validate(facts, as_of, prefer)
        result = self._inference().run(fact_set, gates, chained)
        apply = history is not None and bool(self.book.policies)
        # coaching reads every recommended client action, whatever `max_per_subject` shows
        clients, managers = arbitrate(self.book, fact_set, result, None, self.max_to_confirm)
        ranked = propensities is not None or not self.book.arbitration.static
        clients, looked_up = rank(clients, self.book.arbitration, propensities,
                                  standing_of(fact_set.subjects("client"), self.book.kb) if ranked else {},
                                  self.book.kb)
        managers = coach_from_clients(self.book, fact_set, clients, managers)
        managers = with_cards(self.book, fact_set, clients, managers)
        if apply:
            clients, managers = apply_policies(clients, managers, self.book.policies, history or (),
                                               fact_set.as_of, self.book.kb)
        clients, managers = _top(clients, max_per_subject), _top(managers, max_per_subject)
        decision = Decision(revision=self.revision, as_of=fact_set.as_of, input_hash=input_hash(fact_set),
                            clients=clients, managers=managers, firings=len(result.firings), propensities=looked_up)
        return Run(fact_set, result, decision)


@dataclass(frozen=True)
class Run:
    """One decision with what produced it: the validated facts and the inference result."""

    fact_set: FactSet
    result: InferenceResult
    decision: Decision

    def fired(self) -> dict[SubjectKey, set[str]]:
        """Rule ids that fired, by subject."""
        out: dict[SubjectKey, set[str]] = {}
        for f in self.result.firings:
            out.setdefault(f.subject, set()).add(f.rule_id)
        return out

    def held(self) -> dict[SubjectKey, set[str]]:
        """Signals inference asserted, by subject."""
        out: dict[SubjectKey, set[str]] = {}
        for name, subject in self.result.producers:
            out.setdefault(subject, set()).add(name)
        return out


def _top(subjects: list[SubjectDecision], limit: int | None) -> list[SubjectDecision]:
    if not limit:
        return subjects
    return [s.model_copy(update={"recommendations": s.recommendations[:limit]}) for s in subjects]


def input_hash(fact_set: FactSet) -> str:
    """A hash of the validated input, independent of fact order."""
    doc = {"as_of": fact_set.as_of.isoformat(),
           **{t: [dict(sorted(f.items())) for f in fs] for t, fs in fact_set.by_type.items()}}
    text = json.dumps(doc, sort_keys=True, default=str, ensure_ascii=False)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()[:16]
