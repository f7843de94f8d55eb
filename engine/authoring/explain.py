"""Why a recommendation was made, and why one was not.

*Why*: the decision already carries the chain (rules that fired, the fact values they matched,
the signals they relied on and the rules that asserted those); :func:`explain_target` returns it.

*Why not*: for each candidate rule (every rule that recommends the action, or the rule asked
about) the conditions that failed, in the order they are written, each with the actual value,
the expected one and the smallest change that would flip it:

* a comparison: the nearest value that passes (a threshold plus or minus one, the date, a member
  of the list), found among the values the condition itself names, so it is exact;
* ``present``: give the value, or leave it empty;
* a required signal: which rules would assert it, and each one's own failing conditions
  (recursively); a forbidden signal that holds: the rules that asserted it and what they matched;
* ``exists``: the related fact that came closest and what it lacks, or that there is none;
* ``any``: the failing conditions of every branch (any one branch is enough).

A comparison that read a missing value says what the value counted as (``unknown``: match or
no_match, from the condition's ``unknown:`` or the operators' rule), and a rule whose only obstacles
are missing values marked ``unknown: ask`` names them (``to_confirm``, what the decision's
``to_confirm`` is built from: :mod:`engine.inference.confirm`).

A rule may also be inactive on the as-of date (``effective``), or have fired while a veto blocked
what it recommends; both are said plainly.

*Why nothing*: for a subject with no recommendation at all, the rules of its domain that would
recommend something, closest first (fewest failing conditions), each with what it lacks.
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from rm_advisor.engine.authoring.evaluation import Outcome, evaluate_rule
from rm_advisor.engine.checking.analysis import candidates_for
from rm_advisor.engine.errors import Location
from rm_advisor.engine.inference.advisor import Run
from rm_advisor.engine.inference.compiler import CompiledRule, RuleBook
from rm_advisor.engine.inference.conditions import subject_env
from rm_advisor.engine.inference.confirm import missing_needs
from rm_advisor.engine.language.decision import Reason, RuleTrace
from rm_advisor.engine.language.knowledge import FieldSpec, Text
from rm_advisor.engine.language.operators import describe, describe_op, operator, show
from rm_advisor.engine.language.subjects import SubjectKey
from rm_advisor.engine.loading.locations import Locator
from rm_advisor.engine.messages import N_, in_both

_MAX_DEPTH = 4


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True)


class Fix(_Model):
    """A change to one fact field that flips a condition: set ``value``, or remove the value."""

    field: str = Field(description="fact.field")
    value: Any = None
    remove: bool = False


#: the outcomes of an explanation as people read them (the message catalogue translates them)
OUTCOME_TEXT = {"recommended": N_("recommended"), "vetoed": N_("vetoed by a rule"),
                "not recommended": N_("not recommended"), "fired": N_("fired"), "not fired": N_("not fired")}

#: the kinds of condition an explanation reports (the API's response model uses the same)
ConditionKind = Literal["field", "signal", "exists", "compare", "events", "deadline", "linked", "all", "any"]


class ConditionReport(_Model):
    """One condition of a rule on one fact: whether it held, the value seen, what would flip it."""

    condition: str
    kind: ConditionKind = Field(
        description="a comparison, a signal test, an exists, a comparison between two fields, an aggregate of "
                    "history events, a deadline ahead, a client linked to the subject, or a group whose parts are in "
                    "`inner`")
    subject: str = Field(description="the fact the condition looked at, e.g. client:T-001")
    file: str
    line: int
    holds: bool
    actual: Any = Field(default=None, description="the value seen (fields), both values by field (`compare`), the "
                                                  "aggregate (`events`; `never` when no event), the days left and "
                                                  "the field (`deadline`), or held / not held "
                                                  "(signals)")
    events: list[str] = Field(default_factory=list, description="`events`: the history events that counted")
    expected: Text = Field(description="what the condition needs, in the notation of `condition` where it has one")
    change: Text | None = Field(default=None, description="the smallest change that would flip the condition")
    unknown: Literal["match", "no_match"] | None = Field(
        default=None, description="a comparison that read a missing value: what the value counted as")
    fix: Fix | None = Field(default=None, description="that change as data, when it is one field's value")
    asserted_by: list[RuleReport] = Field(default_factory=list,
                                            description="a forbidden signal that holds: the rules that asserted it")
    producers: list[RuleReport] = Field(default_factory=list,
                                          description="a missing signal: the rules that would assert it")
    inner: list[ConditionReport] = Field(default_factory=list,
                                           description="the failing parts of an `any`, `all` or `exists`")


class RuleReport(_Model):
    """One rule on one subject: did it fire, the values it matched, and what stopped it."""

    rule_id: str
    title: Text
    file: str
    line: int
    subject: str
    fired: bool
    active: bool = True
    note: Text | None = Field(default=None, description="why the rule could not be tested at all (not in effect, "
                                                          "no such fact)")
    matched: dict[str, Any] = Field(default_factory=dict, description="fact.field -> value of conditions that held")
    related: dict[str, list[str]] = Field(default_factory=dict,
                                          description="related facts (by type) an `exists` that held matched")
    failing: list[ConditionReport] = Field(default_factory=list,
                                           description="the conditions that failed, first failing first")
    to_confirm: list[str] = Field(default_factory=list, description=(
        "the missing fields (conditions with `unknown: ask`) that alone keep the rule from firing, each with the "
        "comparison its value must pass"))


class Explanation(_Model):
    """Why (or why not) one action, coaching topic or rule came out for one subject."""

    subject: str
    target: str = Field(description="action:ID, coaching:ID, rule:ID, or `nothing` (why nothing was recommended)")
    outcome: Literal["recommended", "vetoed", "not recommended", "fired", "not fired"]
    summary: Text
    why: list[RuleTrace] = Field(default_factory=list, description="the rules and signals behind it, with fact values")
    vetoed_by: list[Reason] = Field(default_factory=list)
    rules: list[RuleReport] = Field(default_factory=list, description="candidate rules and what stopped each")


ConditionReport.model_rebuild()


class Explainer:
    """Answers why and why-not questions about one run (facts, firings, decision) of a rule book."""

    def __init__(self, book: RuleBook, run: Run, locator: Locator | None = None):
        """``locator`` (from the rule file texts) points at single conditions; without it every
        condition is located at its rule's first line."""
        self.book, self.run, self.locator = book, run, locator or Locator()
        self.kb = book.kb
        self.fired = run.fired()
        self.held = run.held()
        self.rules = book.by_id()

    # ------------------------------------------------------------------ targets

    def subjects(self, subject_type: str, domain: str | None = None) -> list[SubjectKey]:
        """The subjects of a type in the facts; with ``domain`` (a rule's), only those of that domain
        (every one for ``generic``)."""
        return [SubjectKey.of(subject_type, f["id"]) for f in self.run.fact_set.subjects(subject_type)
                if domain in (None, "generic") or f.get("domain") == domain]

    def find_subject(self, name: str) -> list[SubjectKey]:
        """The subjects ``name`` may mean: ``client:T-002`` itself, or ``T-002`` as the id of a client
        or a manager (more than one when ids are shared)."""
        everyone = [s for t in self.kb.subjects() for s in self.subjects(t)]
        return [s for s in everyone if name in (str(s), s.id)]

    def explain_item(self, item_id: str, subject: SubjectKey) -> Explanation:
        """Why ``item_id`` (an action or coaching topic) was or was not recommended for ``subject``."""
        kind = "action" if item_id in self.kb.actions else "coaching"
        target = f"{kind}:{item_id}"
        subject_type = subject.type
        decided = self.run.decision.subject(subject.type, subject.id)
        recs = {r.id: r for r in decided.recommendations} if decided else {}
        vetoed = {r.id: r for r in decided.vetoed} if decided else {}
        if item_id in recs:
            rec = recs[item_id]
            return Explanation(subject=str(subject), target=target, outcome="recommended",
                               summary=_say(N_("recommended with score {score} by {rules}"), score=rec.score,
                                            rules=", ".join(rec.rules)),
                               why=rec.because)
        if item_id in vetoed:
            rec = vetoed[item_id]
            blockers = [self.rule_report(self.rules[v.rule_id], subject) for v in rec.vetoed_by]
            return Explanation(subject=str(subject), target=target, outcome="vetoed",
                               summary=_say(N_("recommended by {rules} but vetoed by {vetoes}"),
                                            rules=", ".join(rec.rules),
                                            vetoes=", ".join(v.rule_id for v in rec.vetoed_by)),
                               why=rec.because, vetoed_by=rec.vetoed_by, rules=blockers)
        candidates = [r for r in self.book.for_subject(subject_type)
                      if item_id in {a.action for a in r.rule.then.actions} | {c.topic for c in r.rule.then.coaching}]
        reports = [self.rule_report(r, subject) for r in candidates]
        spec = self.kb.actions.get(item_id) or self.kb.coaching.get(item_id)
        item = spec.title if spec else item_id
        summary = (_say(N_("no rule recommends “{item}” for a {subject_type}"), item=item, subject_type=subject_type)
                   if not candidates else
                   _say(N_("none of the {n} rule(s) that recommend “{item}” fired"), n=len(candidates), item=item))
        return Explanation(subject=str(subject), target=target, outcome="not recommended", summary=summary,
                           rules=reports)

    def explain_rule(self, rule_id: str, subject: SubjectKey) -> Explanation:
        """Why rule ``rule_id`` fired or did not fire for ``subject``."""
        report = self.rule_report(self.rules[rule_id], subject)
        summary = (_say(N_("fired")) if report.fired else report.note
                   or _say(N_("{n} condition(s) failed"), n=len(report.failing)))
        return Explanation(subject=str(subject), target=f"rule:{rule_id}",
                           outcome="fired" if report.fired else "not fired", summary=summary, rules=[report])

    def explain_decision(self) -> list[Explanation]:
        """Why each recommendation (and each veto) in the decision, and for a subject with none at
        all, why nothing (:meth:`explain_nothing`)."""
        out = []
        for decided in self.run.decision.clients + self.run.decision.managers:
            subject = SubjectKey(decided.subject_type, decided.id)
            for rec in decided.recommendations + decided.vetoed:
                out.append(self.explain_item(rec.id, subject))
            if not decided.recommendations and not decided.vetoed:
                out.append(self.explain_nothing(subject))
        return out

    def explain_nothing(self, subject: SubjectKey, closest: int = 3) -> Explanation:
        """Why nothing was recommended for ``subject``: the ``closest`` rules of its domain (and the
        generic ones) that recommend something, fewest failing conditions first, then the most
        conditions matched, the highest priority; each with what stopped it."""
        fact = self._fact(subject)
        domain = fact.get("domain") if fact is not None else None
        candidates = [r for r in self.book.for_subject(subject.type)
                      if (r.rule.then.actions or r.rule.then.coaching) and r.rule.domain in ("generic", domain)]
        reports = sorted((self.rule_report(r, subject) for r in candidates),
                         key=lambda r: (len(r.failing), -len(r.matched), -self.rules[r.rule_id].rule.priority,
                                        r.rule_id))
        what = self._subject_kind(subject.type, domain)
        summary = (_say(N_("no rule recommends anything for a {what}"), what=what) if not candidates else
                   _say(N_("nothing is recommended; the {closest} closest of the {n} rule(s) for a {what}, and what "
                           "each lacks"), closest=min(closest, len(reports)), n=len(candidates), what=what))
        return Explanation(subject=str(subject), target="nothing", outcome="not recommended", summary=summary,
                           rules=reports[:closest])

    # ------------------------------------------------------------------ rules

    def rule_report(self, compiled: CompiledRule, subject: SubjectKey, depth: int = 0,
                    seen: frozenset[tuple[str, SubjectKey]] = frozenset()) -> RuleReport:
        rule = compiled.rule
        fact = self._fact(subject)
        base: dict[str, Any] = dict(rule_id=rule.id, title=rule.title, file=compiled.file, line=compiled.line,
                                    subject=str(subject))
        if fact is None:
            return RuleReport(**base, fired=False, note=_say(N_("{subject} is not in the facts"), subject=subject))
        env = subject_env(self.kb, self.run.fact_set, rule.subject, fact)
        outcome = evaluate_rule(rule, env, self.kb, self.held)
        fired = rule.id in self.fired.get(subject, set())
        note = None
        if not outcome.active and rule.effective:
            eff = rule.effective
            note = _say(N_("not in effect on {as_of}: effective from {start} until {until}"),
                        as_of=self.run.fact_set.as_of, start=eff.from_ or in_both(N_("the start")),
                        until=eff.until or in_both(N_("further notice")))
        conjuncts = _conjuncts(outcome.root)
        matched = {ref: _plain(value) for c in conjuncts if c.holds for n in _looked_at(c)
                   for ref, value in ((n.ref, n.value), (n.right, n.right_value)) if ref}
        related: dict[str, list[str]] = {}
        for c in conjuncts:
            if c.kind == "linked" and c.holds:
                hits = [linked_path(c, r.subject, r) for r in c.related if r.holds] if c.related else [
                    linked_path(c, k) for k in c.candidates]
                related[c.ref] = sorted(set(related.get(c.ref, [])) | set(hits))
            if c.kind == "exists" and c.holds:
                fact = c.text.split()[1]
                hits = [str(r.subject) for r in c.related if r.holds] if c.related else [str(k) for k in c.candidates]
                related[fact] = sorted(set(related.get(fact, [])) | set(hits))
        failing = [] if fired else [self._condition(rule.id, c, depth, seen | {(rule.id, subject)})
                                    for c in conjuncts if not c.holds]
        held = set(self.held.get(subject, ()))
        signals_hold = set(compiled.requires) <= held and not set(compiled.forbids) & held
        asks = missing_needs(compiled, env) if not fired and outcome.active and signals_hold else None
        confirm = [describe(n.ref, n.ops) for n in asks or ()]
        return RuleReport(**base, fired=fired, active=outcome.active, note=note, matched=matched, related=related,
                          failing=failing, to_confirm=confirm)

    def _fact(self, subject: SubjectKey) -> Any:
        return self.run.fact_set.get(subject.type, subject.id)

    def _subject_kind(self, subject_type: str, domain: str | None) -> dict[str, str]:
        """``tobacco client`` / ``烟草客户``: the subject type with its domain's label."""
        kind = in_both(_SUBJECT_NAMES[subject_type]) if subject_type in _SUBJECT_NAMES else None
        label = self._label("client", "domain", domain) if domain else None
        return {lang: ((label[lang] + ("" if lang == "zh" else " ")) if label else "")
                + (kind[lang] if kind else subject_type) for lang in ("zh", "en")}

    def _label(self, fact: str, field: str, value: str) -> dict[str, str] | None:
        spec = self.kb.facts[fact].fields.get(field) if fact in self.kb.facts else None
        text = spec.labels.get(value) if spec is not None and spec.labels else None
        return {"zh": text.zh, "en": text.en} if text is not None else None

    # ------------------------------------------------------------------ conditions

    def _condition(self, rule_id: str, node: Outcome, depth: int, seen: frozenset[tuple[str, SubjectKey]],
                   want: bool = True) -> ConditionReport:
        """A report on ``node``, which should be ``want`` but is not."""
        loc = self.locator.rule(rule_id, node.path)
        if not loc.file:
            compiled = self.rules[rule_id]
            loc = Location(compiled.file, compiled.line)
        kind = node.kind if node.kind != "not" else "all"
        base: dict[str, Any] = dict(condition=node.text if want else f"not ({node.text})", kind=kind,
                                    subject=str(node.subject), file=loc.file, line=loc.line, holds=node.holds == want)
        if node.kind == "field":
            change, fix = _field_change(node, self._spec(node.ref), self.run.fact_set.as_of, want)
            unknown: Literal["match", "no_match"] | None = None
            if node.value is None and "present" not in {op for op, _, _ in node.ops}:
                unknown = "match" if node.holds else "no_match"
            return ConditionReport(**base, actual=_plain(node.value), expected=_expect(_field_needs(node), want),
                                   change=change, fix=fix, unknown=unknown)
        if node.kind == "compare":
            return self._compare(node, want, base)
        if node.kind == "events":
            return self._events(node, want, base)
        if node.kind == "deadline":
            return self._deadline(node, want, base)
        if node.kind == "linked":
            return self._linked(rule_id, node, depth, seen, want, base)
        if node.kind == "signal":
            return self._signal(rule_id, node, depth, seen, want, base)
        if node.kind == "not":
            return self._condition(rule_id, node.children[0], depth, seen, not want)
        if node.kind == "exists":
            return self._exists(rule_id, node, depth, seen, want, base)
        # all / any: the children that stand in the way
        blocking = [c for c in node.children if c.holds != want]
        either = (node.kind == "any") == want  # one child is enough
        change = (_say(N_("make one of these hold")) if either and want else
                  _say(N_("make one of these fail")) if either else None)
        needs = _say(N_("one of these holds")) if node.kind == "any" else _say(N_("all of these hold"))
        return ConditionReport(**base, expected=needs, change=change,
                               inner=[self._condition(rule_id, c, depth, seen, want) for c in blocking])

    def _compare(self, node: Outcome, want: bool, base: dict[str, Any]) -> ConditionReport:
        """Why a comparison between two fields failed: both values, what the left one was compared with,
        and the left value that would flip it ("needs client.credit_requested > 6000000; has 5000000")."""
        op = node.ops[0][0]
        actual = {node.ref: _plain(node.value), node.right: _plain(node.right_value)}
        missing = [ref for ref, v in ((node.ref, node.value), (node.right, node.right_value)) if v is None]
        shown = node.text.removeprefix(node.ref).strip()
        expected = _expect({"zh": shown, "en": shown}, want)
        if missing:
            return ConditionReport(**base, actual=actual, expected=expected,
                                   change=_say(N_("give {refs} a value"), refs=_joined(missing)),
                                   unknown="match" if node.holds else "no_match")
        wanted = op if want else _OPPOSITE[op]
        bound = {lang: operator(wanted).describe(show(node.target), lang) for lang in ("zh", "en")}
        best = _compare_fix(wanted, node.target, self._spec(node.ref))
        fix = Fix(field=node.ref, value=_plain(best)) if best is not None else None
        if best is None:
            change = _say(N_("needs {ref} {bound}; has {value}"), ref=node.ref, bound=bound, value=show(node.value))
        else:
            change = _say(N_("needs {ref} {bound}; has {value}: change {ref} from {value} to {best}"), ref=node.ref,
                          bound=bound, value=show(node.value), best=show(best))
        return ConditionReport(**base, actual=actual, expected=expected, change=change, fix=fix)

    def _events(self, node: Outcome, want: bool, base: dict[str, Any]) -> ConditionReport:
        """Why an aggregate of events failed: what it needs, what it had, and which events counted
        ("needs count of events (...) in the last 30 days >= 2; had 1: interaction:E1")."""
        shown = describe(node.ref, node.ops)
        needs = _expect({"zh": shown, "en": shown}, want)
        had = in_both(N_("never (no matching event)")) if node.value is None else show(node.value)
        counted = [str(k) for k in node.candidates]
        change = (_say(N_("needs {needs}; had {had}: {events}"), needs=needs, had=had, events=", ".join(counted))
                  if counted else _say(N_("needs {needs}; had {had}"), needs=needs, had=had))
        unknown: Literal["match", "no_match"] | None = None
        if node.value is None:
            unknown = "match" if node.holds else "no_match"
        rest = shown.removeprefix(node.ref).strip()
        return ConditionReport(**base, actual="never" if node.value is None else _plain(node.value),
                               expected=Text(zh=rest, en=rest) if want else needs,
                               change=change, unknown=unknown, events=counted)

    def _deadline(self, node: Outcome, want: bool, base: dict[str, Any]) -> ConditionReport:
        """Why a deadline ahead failed: the days left against the window ("needs the deadline within the
        next 4 days; 7 days left (client.interest_unpaid_days = 8)")."""
        _, written, within = node.ops[0]
        window = (in_both(N_("0 to {within} days left ({written})"), within=within, written=written)
                  if isinstance(written, str) else in_both(N_("0 to {within} days left"), within=within))
        expected = _expect(window, want)
        if node.target is None:
            return ConditionReport(**base, actual=None, expected=expected,
                                   change=_say(N_("give {refs} a value"), refs=node.ref),
                                   unknown="match" if node.holds else "no_match")
        left = int(node.target)
        had = in_both(N_("{n} days left"), n=left) if left >= 0 else in_both(N_("passed {n} days ago"), n=-left)
        change = _say(N_("needs {needs}; {had} ({ref} = {value})"), needs=expected, had=had, ref=node.ref,
                      value=show(node.value))
        return ConditionReport(**base, actual={"days_left": left, node.ref: _plain(node.value)}, expected=expected,
                               change=change)

    def _linked(self, rule_id: str, node: Outcome, depth: int, seen: frozenset[tuple[str, SubjectKey]], want: bool,
                base: dict[str, Any]) -> ConditionReport:
        """Why a condition across links failed, with the path to each linked client
        ("closest is client:G1 —guarantor_of→ client:B7; change it as below")."""
        kinds = self._link_kinds(node.ref.split(" ")[0])
        if not want:  # `not: {linked: ...}` and some linked client matches
            hits = [r for r in node.related if r.holds] if node.related else []
            paths = [linked_path(node, r.subject, r) for r in hits] or [linked_path(node, k) for k in node.candidates]
            return ConditionReport(**base, actual=paths,
                                   expected=_say(N_("no client linked by {kinds} that matches"), kinds=kinds),
                                   change=_say(N_("none of {hits} may match"), hits=", ".join(paths)))
        if not node.candidates:
            return ConditionReport(**base, actual=[], expected=_say(N_("a client linked by {kinds}"), kinds=kinds),
                                   change=_say(N_("no client is linked to {subject} by {kinds}: add the link"),
                                               subject=node.subject, kinds=kinds))
        closest = min(node.related, key=lambda r: (_failures(r), r.subject))
        inner = [self._condition(rule_id, c, depth, seen) for c in _conjuncts(closest) if not c.holds]
        return ConditionReport(**base, actual=[linked_path(node, k) for k in node.candidates],
                               expected=_say(N_("a client linked by {kinds} matching the `where`"), kinds=kinds),
                               change=_say(N_("closest is {closest}; change it as below"),
                                           closest=linked_path(node, closest.subject)),
                               inner=inner)

    def _link_kinds(self, written: str) -> dict[str, str]:
        """The link kinds a ``linked`` condition follows, by their labels (``guarantor of or same owner``)."""
        kinds = [k for k in written.replace(",", "|").split("|") if k]
        labels = [self._label("link", "kind", k) or {"zh": k, "en": k} for k in kinds]
        return {"zh": "或".join(x["zh"] for x in labels), "en": " or ".join(x["en"] for x in labels)}

    def _signal(self, rule_id: str, node: Outcome, depth: int, seen: frozenset[tuple[str, SubjectKey]], want: bool,
                base: dict[str, Any]) -> ConditionReport:
        name, subject = node.signal, node.subject
        if not want:  # a forbidden signal holds
            asserted = self.run.result.producers.get((name, subject), [])
            reports = [self.rule_report(self.rules[r], subject, depth + 1, seen) for r in asserted]
            return ConditionReport(**base, actual="held", expected=_say(N_("the signal does not hold")),
                                   asserted_by=reports,
                                   change=_say(N_("the signal must not hold: change what made {rules} fire"),
                                               rules=", ".join(asserted)))
        subject_type = subject.type
        producers = [r for r in self.book.for_subject(subject_type) if name in r.rule.then.signals]
        reports = []
        if depth < _MAX_DEPTH:
            reports = [self.rule_report(r, subject, depth + 1, seen) for r in producers if (r.id, subject) not in seen]
        spec = self.kb.signals.get(name)
        signal = spec.title if spec else name
        change = (_say(N_("make one of {rules} fire for {subject}"), rules=", ".join(r.id for r in producers),
                       subject=subject) if producers
                  else _say(N_("no rule asserts “{signal}” for a {subject_type}"), signal=signal,
                            subject_type=in_both(_SUBJECT_NAMES.get(subject_type, subject_type))))
        return ConditionReport(**base, actual="not held", expected=_say(N_("the signal holds")), change=change,
                               producers=reports)

    def _exists(self, rule_id: str, node: Outcome, depth: int, seen: frozenset[tuple[str, SubjectKey]], want: bool,
                base: dict[str, Any]) -> ConditionReport:
        fact = node.text.split()[1]
        if not want:  # `not: {exists: ...}` and some related fact matches
            hits = [str(r.subject) for r in node.related if r.holds] or [str(k) for k in node.candidates]
            return ConditionReport(**base, actual=hits, expected=_say(N_("no matching {fact}"), fact=fact),
                                   change=_say(N_("none of {hits} may match"), hits=", ".join(hits)))
        if not node.related:
            vowel, where = fact[:1] in "aeiou", "where" in node.text
            add = {(False, False): N_("add a {fact} linked to {subject}"),
                   (True, False): N_("add an {fact} linked to {subject}"),
                   (False, True): N_("add a {fact} linked to {subject} matching the `where`"),
                   (True, True): N_("add an {fact} linked to {subject} matching the `where`")}[vowel, where]
            return ConditionReport(**base, actual=[], expected=_say(N_("at least one {fact}"), fact=fact),
                                   change=_say(add, fact=fact, subject=node.subject))
        closest = min(node.related, key=lambda r: (_failures(r), r.subject))
        inner = [self._condition(rule_id, c, depth, seen) for c in _conjuncts(closest) if not c.holds]
        return ConditionReport(**base, actual=[str(k) for k in node.candidates],
                               expected=_say(N_("a {fact} matching the `where`"), fact=fact),
                               change=_say(N_("closest is {closest}; change it as below"), closest=closest.subject),
                               inner=inner)

    def _spec(self, ref: str) -> FieldSpec | None:
        fact, _, name = ref.partition(".")
        return self.kb.facts[fact].fields.get(name) if fact in self.kb.facts else None


def linked_path(node: Outcome, other: SubjectKey, outcome: Outcome | None = None) -> str:
    """The path from the subject to a linked client, with what the linked client matched:
    ``client:G1 —guarantor_of→ client:B7: signal loan_overdue, client.overdue_amount = 300000``."""
    kinds, _, direction = node.ref.partition(" ")
    arrow = {"(in)": f"←{kinds}—", "(both)": f"—{kinds}—"}.get(direction, f"—{kinds}→")
    path = f"{node.subject} {arrow} {other}"
    if outcome is None:
        return path
    seen = [f"signal {c.signal}" for c in _conjuncts(outcome) if c.kind == "signal" and c.holds]
    seen += [f"{n.ref} = {show(n.value)}" for c in _conjuncts(outcome) if c.holds for n in _looked_at(c)]
    return f"{path}: {', '.join(seen)}" if seen else path


#: the subject types as a reason names them
_SUBJECT_NAMES = {"client": N_("client"), "manager": N_("manager")}


def _say(msgid: str, **fields: object) -> Text:
    """A text the explainer composes, in both languages (:func:`engine.messages.in_both`)."""
    return Text(**in_both(msgid, **fields))


def _expect(needs: dict[str, str] | Text, want: bool) -> Text:
    """What a condition needs, or (``want`` false) that it must not hold."""
    return Text(zh=_member(needs, "zh"), en=_member(needs, "en")) if want else _say(N_("not ({needs})"), needs=needs)


def _member(text: dict[str, str] | Text, lang: str) -> str:
    return text[lang] if isinstance(text, dict) else str(getattr(text, lang))


def _field_needs(node: Outcome) -> dict[str, str]:
    """A field condition's operators with their operands, in each language (``> 30`` / ``大于 30``)."""
    out: dict[str, str] = {}
    langs: tuple[tuple[Literal["zh", "en"], str], ...] = (("zh", "且"), ("en", " and "))
    for lang, joint in langs:
        text = joint.join(describe_op(op, written, arg, lang) for op, written, arg in node.ops)
        out[lang] = f"{text} (unknown: {node.unknown})" if node.unknown else text
    return out


def _joined(refs: list[str]) -> dict[str, str]:
    return {"zh": "、".join(refs), "en": " and ".join(refs)}


def _conjuncts(node: Outcome) -> list[Outcome]:
    if node.kind == "all":
        return [c for child in node.children for c in _conjuncts(child)]
    return [node]


#: the operator that holds exactly when another fails (both sides given)
_OPPOSITE = {"eq": "ne", "ne": "eq", "gt": "le", "le": "gt", "lt": "ge", "ge": "lt"}


def _compare_fix(op: str, target: Any, spec: FieldSpec | None) -> Any:
    """The left value nearest ``target`` that passes ``op`` against it; None when it cannot be named (a strict
    bound on a real number, ``ne``, or a field whose type cannot hold it)."""
    if spec is None or op == "ne":
        return None
    if isinstance(target, dt.date):
        step = {"gt": 1, "lt": -1}.get(op, 0)
        return target + dt.timedelta(days=step) if dt.date.min < target < dt.date.max else None
    if spec.type == "integer":
        low, high = math.ceil(target), math.floor(target)
        pick = {"eq": target if float(target).is_integer() else None, "ge": low, "le": high,
                "gt": high + 1, "lt": low - 1}[op]
        return int(pick) if pick is not None else None
    if spec.type == "number" and op in ("eq", "ge", "le"):
        return target
    return None


def _looked_at(node: Outcome) -> list[Outcome]:
    """The field nodes behind a condition that held (not inside `exists`, whose facts are others)."""
    if node.kind in ("field", "compare", "events", "deadline"):
        return [node]
    if node.kind in ("all", "not"):
        return [n for c in node.children for n in _looked_at(c)]
    if node.kind == "any":
        return [n for c in node.children if c.holds for n in _looked_at(c)]
    return []


def _failures(node: Outcome) -> int:
    return sum(1 for n in node.walk() if n.kind in ("field", "compare", "events", "deadline", "signal")
               and not n.holds)


def _plain(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.date) else value


def _field_change(node: Outcome, spec: FieldSpec | None, as_of: dt.date, want: bool) -> tuple[Text | None, Fix | None]:
    """The smallest change of the field's value that makes its comparison ``want``: as text, and
    as a fix a tool can apply (None when no single value can be named)."""
    ref, value = node.ref, node.value
    ops = [(op, arg) for op, _, arg in node.ops]
    presence = dict(ops).get("present")
    remove = (_say(N_("leave {ref} empty (remove its value)"), ref=ref), Fix(field=ref, remove=True))
    if want and presence is False:
        return remove
    if not want and len(ops) == 1 and presence is True:
        return remove
    if len(ops) == 1 and presence is not None:  # present: true wanted, or present: false unwanted
        return _say(N_("give {refs} a value"), refs=ref), None
    if spec is None:
        return None, None
    tests = [(operator(op), arg) for op, arg in ops if op != "present"]
    options = candidates_for(spec, [(op, arg, False) for op, arg in ops if op != "present"], as_of)
    good = [c for c in options if all(op.holds(c, arg, as_of) for op, arg in tests) == want]
    if not good:
        return None, None
    anchor = value if value is not None else next((a for _, a in ops if not isinstance(a, (list, tuple))), None)
    best = min(good, key=lambda c: _distance(c, anchor))
    if isinstance(best, str) and best.startswith("\x00"):
        return (_say(N_("change {ref} to a value other than {value}"), ref=ref, value=show(value)) if value is not None
                else _say(N_("give {refs} a value"), refs=ref)), None
    fix = Fix(field=ref, value=_plain(best))
    if value is None:
        return _say(N_("give {ref} the value {best}"), ref=ref, best=show(best)), fix
    return _say(N_("change {ref} from {value} to {best}"), ref=ref, value=show(value), best=show(best)), fix


def _distance(candidate: Any, value: Any) -> Any:
    """How far a candidate is from the current value: numbers and dates by size, others by order."""
    if value is None:
        return (0, 0.0)
    if isinstance(value, bool) or isinstance(candidate, bool):
        return (0 if candidate == value else 1, 0.0)
    if isinstance(value, (int, float)) and isinstance(candidate, (int, float)):
        return (0, abs(candidate - value))
    if isinstance(value, dt.date) and isinstance(candidate, dt.date):
        return (0, float(abs((candidate - value).days)))
    return (1, 0.0)
