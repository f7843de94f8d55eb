"""Check rule files against the knowledge base and collect every problem with its location.

Checking is all-or-nothing: :func:`check_rule_files` returns a :class:`RuleSet` only when no
error was found; otherwise the caller gets every diagnostic, sorted by file and line.

One pass finds every problem: a rule with a schema error (``priority: 150``) is still checked as
far as it can be (see :func:`_salvage`), and the per-rule analysis (impossible conditions, texts in
the wrong language) runs on rules with errors too, so schema, reference, analysis and text
problems come together. Provenance is checked too: the document id always, the quote verbatim
when the caller passes the document texts.
"""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import ValidationError

from rm_advisor.engine.checking.analysis import analyse, analyse_partial
from rm_advisor.engine.checking.leads import signals_leading_nowhere
from rm_advisor.engine.checking.presence import present_when_fired, signal_guarantees
from rm_advisor.engine.checking.signals import signal_cycles
from rm_advisor.engine.errors import Code, Diagnostic, Location, suggest
from rm_advisor.engine.language import (
    AllCond,
    AnyCond,
    CompareCond,
    Condition,
    EventsCond,
    ExistsCond,
    FieldCond,
    NotCond,
    Rule,
    SignalCond,
)
from rm_advisor.engine.language.aggregates import CAN_BE_NEVER
from rm_advisor.engine.language.deadlines import PLACEHOLDERS as DEADLINE_PLACEHOLDERS
from rm_advisor.engine.language.knowledge import FieldSpec, KnowledgeBase, Text
from rm_advisor.engine.language.links import LINK_FACT
from rm_advisor.engine.language.operators import ORDERED_TYPES, describe, describe_compare, operator
from rm_advisor.engine.language.rules import DeadlineCond, LinkedCond, RuleFile
from rm_advisor.engine.language.templates import UNRECORDED, Lang, Placeholder, malformed, parse
from rm_advisor.engine.language.walk import (
    EVENT_FACT,
    Path,
    Visitor,
    children,
    conjuncts,
    exists_parts,
    form,
    signal_test,
    walk,
)
from rm_advisor.engine.loading.locations import Locator
from rm_advisor.engine.loading.validation import validate_document
from rm_advisor.engine.loading.yaml_source import ParsedYaml, parse_yaml, rule_fragments


@dataclass(frozen=True)
class CheckedRule:
    """A rule that passed checking, with where it came from."""

    rule: Rule
    file: str
    line: int


@dataclass(frozen=True)
class RuleSet:
    """A checked rule set: the rules (sorted by id) and the knowledge base they were checked against."""

    rules: tuple[CheckedRule, ...]
    kb: KnowledgeBase
    warnings: tuple[Diagnostic, ...] = ()


@dataclass
class _Ctx:
    """What one rule's checking needs: its file, path, subject and the fact types in scope."""

    parsed: ParsedYaml
    path: Path
    rule: Rule
    diags: list[Diagnostic]
    kb: KnowledgeBase
    scope: dict[str, str] = field(default_factory=dict)  # fact type -> how it is reached
    #: top-level keys replaced by a stand-in because their own value does not match the format
    masked: frozenset[str] = frozenset()
    #: the error codes found in ``when`` (the analysis of a rule with bad values in it is skipped)
    when_codes: set[str] = field(default_factory=set)
    documents: Mapping[str, str] | None = None
    review_as_of: dt.date | None = None

    def error(self, code: Code, message: str, at: Path, hint: str = "") -> None:
        if at and at[0] in self.masked:
            return
        if at and at[0] == "when":
            self.when_codes.add(code)
        self.diags.append(Diagnostic(code, message, self.parsed.locate(self.path + at),
                                     rule_id=self.rule.id, hint=hint))


def check_rule_files(files: dict[str, str], kb: KnowledgeBase, documents: Mapping[str, str] | None = None,
                     pairwise: bool = True, review_as_of: dt.date | None = None
                     ) -> tuple[RuleSet | None, list[Diagnostic]]:
    """Parse and check rule files (name -> YAML text). Returns the rule set, or None and the errors.

    ``pairwise=False`` skips the findings that compare rules with each other, which are warnings
    only (:func:`engine.checking.analysis.analyse`, signals that lead nowhere): a rule set is
    refused or accepted the same with or without them.

    ``documents`` (document id -> its text), when given, is where each rule's provenance quote must
    be found verbatim (``quote_not_found``); the document id is checked against the knowledge base
    whether or not it is given (``unknown_document``).

    ``review_as_of``, when given, is the day a rule's ``review_by`` is compared with: a date
    before it is a ``review_overdue`` warning (loading to serve leaves it out: the answer to a
    check must not change with the calendar where nobody asked for the date)."""
    diags: list[Diagnostic] = []
    checked: list[CheckedRule] = []
    partial: list[tuple[Rule, frozenset[str]]] = []  # rules with errors, analysed one by one
    first_seen: dict[str, Location] = {}
    locator = Locator()
    if not files:
        diags.append(Diagnostic("no_rules", "no rule files found", Location("<rules>"),
                                hint="rule files end in .yaml and are not *.scenarios.yaml"))
    for name in sorted(files):
        parsed = parse_yaml(files[name], name)
        diags.extend(parsed.diagnostics)
        if parsed.unreadable:
            _check_fragments(files[name], name, kb, diags, first_seen, documents)
            continue
        doc, errs = validate_document(RuleFile, parsed)
        diags.extend(errs)
        rules = [(i, r, frozenset[str](), False) for i, r in enumerate(doc.rules)] if doc is not None \
            else _salvage_rules(parsed.data)
        for i, rule, masked, repaired in rules:
            path: Path = ("rules", i)
            loc = parsed.locate(path)
            if rule.id in first_seen:
                diags.append(Diagnostic("duplicate_rule_id", f"rule id `{rule.id}` is already used",
                                        parsed.locate((*path, "id")), rule_id=rule.id,
                                        hint=f"first defined at {first_seen[rule.id]}; rename one"))
                continue
            first_seen[rule.id] = loc
            locator.add_rule(rule.id, parsed, path)
            before = _errors(diags)
            ctx = _Ctx(parsed, path, rule, diags, kb, masked=masked, documents=documents, review_as_of=review_as_of)
            _check_rule(ctx, kb)
            if _errors(diags) == before and not repaired:  # warnings (not_on_missing) do not keep a rule out
                checked.append(CheckedRule(rule, name, loc.line))
            elif not ctx.when_codes & _VALUE_CODES:
                partial.append((rule, masked))
    diags.extend(_check_cycles(checked, first_seen))
    diags.extend(_check_fallbacks(checked, kb, locator))
    diags.extend(analyse([c.rule for c in checked], kb, locator.rule, pairwise))
    diags.extend(analyse_partial(partial, kb, locator.rule))
    if pairwise:
        diags.extend(signals_leading_nowhere([c.rule for c in checked], kb, locator.rule))
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        return None, sorted(diags, key=Diagnostic.sort_key)
    ordered = tuple(sorted(checked, key=lambda c: c.rule.id))
    warnings = tuple(sorted(diags, key=Diagnostic.sort_key))
    return RuleSet(ordered, kb, warnings), list(warnings)


#: Errors in a ``when`` after which its values cannot be reasoned about (no impossibility analysis).
_VALUE_CODES = frozenset({"type_mismatch", "bad_value", "bad_operator", "unknown_parameter", "bad_unknown"})

#: Top-level rule keys whose invalid value is left out (the default stands in).
_OPTIONAL_KEYS = frozenset({"priority", "effective", "tags", "owner", "review_by"})
#: Top-level rule keys whose invalid value is replaced by a stand-in that is not checked.
_STAND_INS: dict[str, Any] = {
    "title": {"zh": "占位", "en": "stand-in"},
    "domain": "generic",
    "provenance": {"document": "D0", "quote": "stand-in"},
    "when": {"signal": "stand_in"},
    "then": {"signals": ["stand_in"]},
}
_SALVAGE_ROUNDS = 20


def _salvage_rules(data: Any) -> list[tuple[int, Rule, frozenset[str], bool]]:
    """The rules of a file that does not match the format, each as far as it can be read: a rule
    that matches is taken as it is; one that does not is read without its invalid parts (see
    :func:`_salvage`). Its schema errors are already reported; what else is wrong with it is not
    hidden behind them."""
    raw = data.get("rules") if isinstance(data, dict) else None
    found = []
    for i, item in enumerate(raw if isinstance(raw, list) else []):
        salvaged = _salvage(item)
        if salvaged is not None:
            found.append((i, *salvaged))
    return found


def _salvage(raw: Any) -> tuple[Rule, frozenset[str], bool] | None:
    """A rule read from ``raw`` with its invalid parts left out: an optional key (``priority``) or
    an unknown key is dropped, an invalid optional key inside ``then`` (an action's ``priority``)
    too, and any other invalid top-level part (``when``, ``then``, ``title``...) is replaced by a
    stand-in and marked masked, so nothing is reported about it twice. None when the id or the
    subject is itself invalid: nothing about the rule can be checked then. The flag says whether
    anything was left out or replaced."""
    if not isinstance(raw, dict):
        return None
    data = copy.deepcopy(raw)
    masked: set[str] = set()
    for _ in range(_SALVAGE_ROUNDS):
        try:
            return Rule.model_validate(data), frozenset(masked), data != raw
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_input=False)
        for err in errors:
            loc = tuple(err["loc"])
            top = loc[0] if loc else None
            if not isinstance(top, str) or top in ("id", "subject") or top in masked:
                return None
            if top in _OPTIONAL_KEYS or (err["type"] == "extra_forbidden" and len(loc) == 1):
                data.pop(top, None)
            elif top == "then" and _drop_key(data, loc, err["type"] == "extra_forbidden"):
                pass
            elif top in _STAND_INS:
                data[top] = copy.deepcopy(_STAND_INS[top])
                masked.add(top)
            else:
                return None
    return None


def _drop_key(data: dict[str, Any], loc: tuple[Any, ...], unknown: bool) -> bool:
    """Drop the key ``loc`` ends in when it is an unknown key or an outcome's optional ``priority``;
    True when it was dropped."""
    node: Any = data
    for part in loc[:-1]:
        if isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
        else:
            return False
    key = loc[-1]
    if not isinstance(node, dict) or key not in node or not (unknown or key == "priority"):
        return False
    del node[key]
    return True


def _errors(diags: list[Diagnostic]) -> int:
    return sum(1 for d in diags if d.severity == "error")


def _check_fragments(text: str, name: str, kb: KnowledgeBase, diags: list[Diagnostic],
                     first_seen: dict[str, Location], documents: Mapping[str, str] | None) -> None:
    """Report the problems of the rules that still parse in a file with a YAML syntax error."""
    for fragment in rule_fragments(text, name):
        if fragment.data is None:
            continue  # the broken rule itself: its syntax error is already reported
        diags.extend(fragment.diagnostics)
        rules = fragment.data.get("rules") if isinstance(fragment.data, dict) else None
        if not isinstance(rules, list) or not rules:
            continue
        try:
            rule = Rule.model_validate(rules[0])
        except ValidationError:
            continue  # reported again once the syntax error is fixed
        if rule.id not in first_seen:
            first_seen[rule.id] = fragment.locate(("rules", 0))
            _check_rule(_Ctx(fragment, ("rules", 0), rule, diags, kb, documents=documents), kb)


def _check_rule(ctx: _Ctx, kb: KnowledgeBase) -> None:
    rule = ctx.rule
    ctx.scope = {rule.subject: "subject", **{t: "linked" for t in kb.one_links(rule.subject)}}
    eff = rule.effective
    if eff and eff.from_ and eff.until and eff.from_ > eff.until:
        ctx.error("bad_dates", f"effective from {eff.from_} is after until {eff.until}", ("effective",),
                  hint="swap the dates")
    _check_review(ctx)
    if "when" not in ctx.masked:
        _check_placement(ctx, rule.when, ("when",), top=True)
        _check_condition(ctx, kb, rule.when, ("when",), rule.subject)
        _check_unknown(ctx, kb)
        _check_compare_unknown(ctx, kb)
        _check_events_never(ctx)
        _check_deadline_unknown(ctx, kb)
    if "then" not in ctx.masked:
        _check_outcomes(ctx, kb)
    _check_provenance(ctx, kb)


def _check_review(ctx: _Ctx) -> None:
    """A rule whose ``review_by`` date is before the day checked against is overdue (a warning)."""
    due, day = ctx.rule.review_by, ctx.review_as_of
    if due is None or day is None or due >= day or "review_by" in ctx.masked:
        return
    owner = f" (owner: {ctx.rule.owner})" if ctx.rule.owner else ""
    ctx.diags.append(Diagnostic("review_overdue", f"the rule was due for review by {due}, {(day - due).days} day(s) "
                                f"before {day}{owner}", ctx.parsed.locate((*ctx.path, "review_by")),
                                rule_id=ctx.rule.id, severity="warning",
                                hint="review the rule with its owner, then set a new review_by date"))


def _check_provenance(ctx: _Ctx, kb: KnowledgeBase) -> None:
    """The document a rule cites exists; with the document texts at hand, its quote is in it verbatim."""
    prov = ctx.rule.provenance
    if prov.document not in kb.documents:
        ctx.error("unknown_document", f"unknown document `{prov.document}`", ("provenance", "document"),
                  hint=suggest(prov.document, kb.documents) or "documents are listed in knowledge_base/documents.yaml")
    elif ctx.documents is not None and prov.quote not in ctx.documents.get(prov.document, prov.quote):
        title = kb.documents[prov.document].title
        ctx.error("quote_not_found", f"the quote is not found verbatim in {prov.document} ({title})",
                  ("provenance", "quote"),
                  hint="copy the quote from the document as it is written (same characters and punctuation)")


def _check_unknown(ctx: _Ctx, kb: KnowledgeBase) -> None:
    """What a missing value counts as must be said where it matters and make sense where it is said.

    ``not`` over a comparison on a field that may be missing holds when the value is missing, which
    an author rarely means and a reader never sees: a warning asks to say it with ``unknown:``.
    ``unknown:`` beside ``present`` (which tests the gap itself), ``ask`` under ``not`` (the negation
    holds on a missing value: nothing stands in the way to ask about) or inside ``exists`` (related
    facts are not asked about), and ``unknown:`` on a required field (never missing) are refused.
    """
    for node in walk(ctx.rule.when, ("when",), ctx.rule.subject):
        cond = node.cond
        if not isinstance(cond, FieldCond):
            continue
        fact, _, name = cond.ref.partition(".")
        spec = kb.facts[fact].fields.get(name) if fact in kb.facts else None
        if spec is None:
            continue  # reported as unknown_field
        at = (*node.path, cond.ref)
        mode = cond.unknown
        if mode is None:
            if node.negated and not spec.required and "present" not in cond.ops:
                ops = tuple((op, v, v) for op, v in sorted(cond.ops.items()))
                ctx.diags.append(Diagnostic(
                    "not_on_missing", f"`not` over `{describe(cond.ref, ops)}` holds when `{cond.ref}` is missing: "
                    f"a {fact} with no {name} on file passes it", ctx.parsed.locate(ctx.path + at),
                    rule_id=ctx.rule.id, severity="warning",
                    hint="say what unknown counts as: write the comparison without `not` (ne, not_in, lt, ...) with "
                         "`unknown: match` (as now), `no_match` or `ask`, or give the comparison inside `not` "
                         "its `unknown:`"))
            continue
        if "present" in cond.ops:
            ctx.error("bad_unknown", f"`unknown: {mode}` beside `present` on `{cond.ref}`: `present` already says "
                      "what a missing value does", at, hint="drop `unknown:`, or compare the value instead")
        elif spec.required:
            ctx.error("bad_unknown", f"`unknown: {mode}` on `{cond.ref}`, which is required and never missing", at,
                      hint="drop `unknown:`")
        elif mode == "ask" and node.negated:
            ctx.error("bad_unknown", f"`unknown: ask` under `not` on `{cond.ref}`: a missing value makes the "
                      "negation hold, so there is nothing to ask", at,
                      hint="write the comparison without `not` (ne, not_in, lt, ...) and `unknown: ask` on it")
        elif mode == "ask" and node.scope != ctx.rule.subject:
            ctx.error("bad_unknown", f"`unknown: ask` on `{cond.ref}` inside `exists` (or `events`): to_confirm asks "
                      f"for the {ctx.rule.subject}'s own fields and its linked facts', not for related facts", at,
                      hint="use `unknown: match` or `unknown: no_match` inside `exists`")


def _check_placement(ctx: _Ctx, cond: Condition, path: Path, top: bool) -> None:
    """Signals may stand as top-level conjuncts, as `not: {signal}` there, or at the top of an
    `exists.where` that is itself a top-level conjunct; the Rete network matches them there."""
    allowed: set[Path] = set()
    if top:
        for c, p in conjuncts(cond, path):
            test = signal_test(c)
            if test is not None:
                allowed.add(p if test[1] else (*p, "not"))
            for inner, p2 in children(c, p) if form(c) in ("exists", "linked") else ():
                allowed.update(p3 for c3, p3 in conjuncts(inner, p2) if form(c3) == "signal")
    for sig_path in (n.path for n in walk(cond, path) if n.form == "signal"):
        if sig_path not in allowed:
            ctx.error("signal_placement", "a signal condition cannot stand here", sig_path,
                      hint="put `signal:` (or `not: {signal: ...}`) directly under the rule's `when` "
                           "or its top-level `all`, or at the top of an `exists.where` or a `linked.where`")


def _check_condition(ctx: _Ctx, kb: KnowledgeBase, cond: Condition, path: Path, signal_subject: str) -> None:
    _Checker(ctx, kb, signal_subject).visit(cond, path)


@dataclass(frozen=True)
class _Checker(Visitor[None]):
    """Checks every node of a tree; ``subject`` is what its signals and ``exists`` relate to."""

    ctx: _Ctx
    kb: KnowledgeBase
    subject: str

    def all_(self, cond: AllCond, path: Path) -> None:
        self.each(cond, path)

    def any_(self, cond: AnyCond, path: Path) -> None:
        self.each(cond, path)

    def not_(self, cond: NotCond, path: Path) -> None:
        self.visit(cond.not_, (*path, "not"))

    def signal(self, cond: SignalCond, path: Path) -> None:
        _check_signal(self.ctx, self.kb, cond.signal, self.subject, (*path, "signal"))

    def exists(self, cond: ExistsCond, path: Path) -> None:
        _check_exists(self.ctx, self.kb, cond, path, self.subject)

    def field(self, cond: FieldCond, path: Path) -> None:
        _check_field(self.ctx, self.kb, cond, path)

    def compare(self, cond: CompareCond, path: Path) -> None:
        _check_compare(self.ctx, self.kb, cond, (*path, "compare"))

    def events(self, cond: EventsCond, path: Path) -> None:
        _check_events(self.ctx, self.kb, cond, (*path, "events"), self.subject)

    def deadline(self, cond: DeadlineCond, path: Path) -> None:
        _check_deadline(self.ctx, self.kb, cond, (*path, "deadline"))

    def linked(self, cond: LinkedCond, path: Path) -> None:
        _check_linked(self.ctx, self.kb, cond, (*path, "linked"), self.subject)


def _check_linked(ctx: _Ctx, kb: KnowledgeBase, cond: LinkedCond, at: Path, outer: str) -> None:
    """Links run between clients: the subject in scope is a client, the knowledge base declares the
    ``link`` fact type, each kind is one of its values; ``where`` is checked over the linked client
    (``client.``, its signals) and the link (``link.``), not the subject's manager."""
    spec = cond.linked
    link_spec = kb.facts.get(LINK_FACT)
    if link_spec is None:
        ctx.error("unknown_fact", f"`linked` needs the fact type `{LINK_FACT}`, which the knowledge base does not "
                  "declare", at, hint="declare it in knowledge_base/facts.yaml (kind, from_client, to_client)")
        return
    if outer != "client":
        ctx.error("subject_mismatch", f"links run between clients; here the facts in scope are {outer} facts", at,
                  hint="use `linked` in a client rule, or inside `exists: {fact: client, ...}` of a manager rule")
        return
    kinds = link_spec.fields["kind"].values or ()
    for i, kind in enumerate(spec.kind):
        if kind not in kinds:
            key = (*at, "kind", i) if len(spec.kind) > 1 else (*at, "kind")
            ctx.error("bad_value", f"`{kind}` is not a kind of link", key,
                      hint=suggest(kind, kinds) or f"kinds: {', '.join(kinds)}")
    if spec.where is None:
        return
    saved = dict(ctx.scope)
    ctx.scope = {"client": "exists", LINK_FACT: "exists"}
    _check_condition(ctx, kb, spec.where, (*at, "where"), "client")
    ctx.scope = saved


def _check_deadline(ctx: _Ctx, kb: KnowledgeBase, cond: DeadlineCond, at: Path) -> None:
    """The field that places the deadline is in scope and of the type its basis takes (a date for ``due``
    and ``since``, a whole number of days for ``elapsed``); the days are whole numbers; the threshold is
    one of the knowledge base's; ``unknown:`` is not said of a required field."""
    spec = cond.deadline
    field_spec = resolve_field(ctx, kb, spec.ref, (*at, spec.basis))
    wanted = "integer" if spec.basis == "elapsed" else "date"
    if field_spec is not None and field_spec.type != wanted:
        what = "a whole number of days" if wanted == "integer" else "a date"
        ctx.error("type_mismatch", f"`{spec.basis}: {spec.ref}` needs {what}; `{spec.ref}` is {field_spec.type}",
                  (*at, spec.basis), hint="`due` and `since` take a date field, `elapsed` a whole-number field of days")
    for name in ("after_days", "within_days"):
        written = getattr(spec, name)
        if written is None:
            continue
        days = _resolve_param(ctx, written, (*at, name))
        if days is not _UNRESOLVED and (isinstance(days, bool) or not isinstance(days, int) or days < 0):
            ctx.error("type_mismatch", f"`{name}` needs a whole number of days, got `{written}` = {days}", (*at, name))
    if spec.threshold is not None and spec.threshold not in kb.thresholds:
        ctx.error("unknown_threshold", f"unknown threshold `{spec.threshold}`", (*at, "threshold"),
                  hint=suggest(spec.threshold, kb.thresholds) or "see knowledge_base/thresholds.yaml")
    if spec.unknown is not None and field_spec is not None and field_spec.required:
        ctx.error("bad_unknown", f"`unknown: {spec.unknown}` on the deadline of `{spec.ref}`, which is required and "
                  "never missing", (*at, "unknown"), hint="drop `unknown:`")


def _check_deadline_unknown(ctx: _Ctx, kb: KnowledgeBase) -> None:
    """``not`` over a ``deadline`` whose field may be missing holds when it is missing: say so."""
    for node in walk(ctx.rule.when, ("when",), ctx.rule.subject):
        cond = node.cond
        if isinstance(cond, DeadlineCond) and node.negated and cond.deadline.unknown is None \
                and _optional(kb, cond.deadline.ref):
            ctx.diags.append(Diagnostic(
                "not_on_missing", f"`not` over the deadline of `{cond.deadline.ref}` holds when `{cond.deadline.ref}` "
                "is missing", ctx.parsed.locate((*ctx.path, *node.path, "deadline")), rule_id=ctx.rule.id,
                severity="warning", hint="give the `deadline` its `unknown:` (match, as now, or no_match)"))


def _deadlines_for_reasons(rule: Rule) -> list[DeadlineCond]:
    """The ``deadline`` conditions whose values a reason may show: top-level conjuncts, and top-level
    conjuncts of the ``where`` of a top-level ``exists`` that tests no signal (the others are joins)."""
    out: list[DeadlineCond] = []
    for c, _ in conjuncts(rule.when):
        if isinstance(c, DeadlineCond):
            out.append(c)
        parts = exists_parts(c)
        if parts is not None and parts[1] is not None:
            inner = [x for x, _ in conjuncts(parts[1])]
            if not any(signal_test(x) is not None for x in inner):
                out.extend(x for x in inner if isinstance(x, DeadlineCond))
    return out


def _check_events(ctx: _Ctx, kb: KnowledgeBase, cond: EventsCond, at: Path, outer: str) -> None:
    """The subject has history events (a client's, a manager's); ``where`` is checked over them, ``of``
    names an interaction field its aggregate can take, ``within_days`` is whole days, and the
    aggregate's operators are checked against the aggregate's type."""
    spec = cond.events
    links = kb.facts[EVENT_FACT].links if EVENT_FACT in kb.facts else {}
    if outer not in links:
        ctx.error("subject_mismatch", f"a {outer} has no history events to count",
                  at, hint=f"`events` counts the events of a {' or a '.join(sorted(links))}")
        return
    if spec.within_days is not None:
        days = _resolve_param(ctx, spec.within_days, (*at, "within_days"))
        if days is not _UNRESOLVED and (isinstance(days, bool) or not isinstance(days, int) or days < 0):
            ctx.error("type_mismatch", f"`within_days` needs a whole number of days, got `{spec.within_days}` = "
                      f"{days}", (*at, "within_days"))
    saved = dict(ctx.scope)
    ctx.scope[EVENT_FACT] = "exists"
    if spec.where is not None:
        _check_condition(ctx, kb, spec.where, (*at, "where"), EVENT_FACT)
    of_spec = resolve_field(ctx, kb, spec.of, (*at, "of")) if spec.of is not None else None
    ctx.scope = saved
    name = spec.aggregate
    if spec.of is not None and of_spec is not None and not spec.of.startswith(EVENT_FACT + "."):
        ctx.error("subject_mismatch", f"`of: {spec.of}` is not a field of the events", (*at, "of"),
                  hint=f"aggregate an `{EVENT_FACT}.` field")
        return
    if spec.of is not None and of_spec is None:
        return
    if name == "sum" and of_spec is not None and of_spec.type not in ("integer", "number"):
        ctx.error("bad_operator", f"`sum` needs a number field; `{spec.of}` is {of_spec.type}", (*at, "of"))
        return
    if name in ("min", "max") and of_spec is not None and of_spec.type not in ("integer", "number", "date"):
        ctx.error("bad_operator", f"`{name}` needs a number or date field; `{spec.of}` is {of_spec.type}",
                  (*at, "of"))
        return
    value_spec = _aggregate_spec(name, of_spec)
    test = spec.test
    if test.unknown is not None:
        ctx.error("bad_unknown", f"`unknown:` on the `{name}` of events: with no event, `never:` beside `{name}` "
                  "says what it counts as", (*at, name, "unknown"),
                  hint="write `never: match` or `never: no_match` beside the aggregate" if name in CAN_BE_NEVER
                  else f"drop it: `{name}` of no events is 0")
    label = f"{name} of events" + (f" ({spec.of})" if spec.of else "")
    for op, value in test.used().items():
        _check_operand(ctx, label, value_spec, op, value, (*at, name, op))


def _aggregate_spec(name: str, of_spec: FieldSpec | None) -> FieldSpec:
    """The type of an aggregate's value, as a field spec the operand checks read."""
    text = Text(zh="事件汇总", en="an aggregate of events")
    if name in ("count", "days_since_latest"):
        return FieldSpec(type="integer", description=text, min=0)
    assert of_spec is not None  # the model requires `of` for sum, min, max and latest
    if name == "sum":
        return FieldSpec(type="number" if of_spec.type == "number" else "integer", description=text)
    return of_spec


_NUMERIC = frozenset({"integer", "number"})


def _check_compare(ctx: _Ctx, kb: KnowledgeBase, cond: CompareCond, at: Path) -> None:
    """Both sides name fields in scope, of types one can compare with the operator; ``times`` only on
    numbers, ``plus`` a number (whole days for dates); ``unknown`` is ``match`` or ``no_match``."""
    spec = cond.compare
    left = resolve_field(ctx, kb, spec.left, (*at, "left"))
    right = resolve_field(ctx, kb, spec.right, (*at, "right"))
    if spec.unknown == "ask":
        ctx.error("bad_unknown", f"`unknown: ask` on `compare` of `{spec.left}` and `{spec.right}`: to_confirm asks "
                  "for one field's value against a fixed operand, which a comparison between fields does not have",
                  (*at, "unknown"), hint="use `unknown: match` or `unknown: no_match`")
    if left is None or right is None:
        return
    kinds = {left.type, right.type}
    if not (kinds <= _NUMERIC or len(kinds) == 1) or (left.type == "enum" and left.values != right.values):
        ctx.error("type_mismatch", f"`{spec.left}` is {left.type} and `{spec.right}` is {right.type}: "
                  "they cannot be compared", (*at, "right"),
                  hint="compare numbers with numbers, dates with dates, or two fields of one type and values")
        return
    if spec.op not in ("eq", "ne") and not kinds <= ORDERED_TYPES:
        ctx.error("bad_operator", f"`{spec.op}` needs numbers or dates; `{spec.left}` is {left.type}", (*at, "op"),
                  hint="use eq or ne")
        return
    for name in ("times", "plus"):
        written = getattr(spec, name)
        if written is None:
            continue
        value = _resolve_param(ctx, written, (*at, name))
        if value is _UNRESOLVED:
            continue
        if not kinds <= ({"date"} if name == "plus" else set()) | _NUMERIC:
            ctx.error("bad_value", f"`{name}` on `compare` of {left.type} fields: only numbers can be "
                      + ("moved" if name == "plus" else "multiplied"), (*at, name), hint=f"drop `{name}`")
        elif isinstance(value, bool) or not isinstance(value, (int, float)):
            ctx.error("type_mismatch", f"`{name}` needs a number, got `{written}` = {value}", (*at, name))
        elif name == "plus" and kinds == {"date"} and not float(value).is_integer():
            ctx.error("type_mismatch", f"`plus` on dates is a whole number of days, got `{written}` = {value}",
                      (*at, name))
    if spec.unknown is not None and spec.unknown != "ask" and left.required and right.required:
        ctx.error("bad_unknown", f"`unknown: {spec.unknown}` on `compare` of `{spec.left}` and `{spec.right}`, which "
                  "are required and never missing", (*at, "unknown"), hint="drop `unknown:`")


def _check_events_never(ctx: _Ctx) -> None:
    """``not`` over ``events`` whose aggregate may be *never* holds when there is no event: say so."""
    for node in walk(ctx.rule.when, ("when",), ctx.rule.subject):
        cond = node.cond
        if (isinstance(cond, EventsCond) and node.negated and cond.events.never is None
                and cond.events.aggregate in CAN_BE_NEVER):
            ctx.diags.append(Diagnostic(
                "not_on_missing", f"`not` over the `{cond.events.aggregate}` of events holds when there is no "
                "matching event at all", ctx.parsed.locate((*ctx.path, *node.path, "events")), rule_id=ctx.rule.id,
                severity="warning", hint="say what no event counts as with `never: match` (as now) or `never: "
                "no_match`, or write the opposite comparison without `not`"))


def _check_compare_unknown(ctx: _Ctx, kb: KnowledgeBase) -> None:
    """``not`` over a ``compare`` of a field that may be missing holds when it is missing: say so."""
    for node in walk(ctx.rule.when, ("when",), ctx.rule.subject):
        cond = node.cond
        if not isinstance(cond, CompareCond) or not node.negated or cond.compare.unknown is not None:
            continue
        spec = cond.compare
        optional = [ref for ref in (spec.left, spec.right) if _optional(kb, ref)]
        if optional:
            text = describe_compare(spec.left, spec.op, spec.right, spec.times, spec.plus)
            ctx.diags.append(Diagnostic(
                "not_on_missing", f"`not` over `{text}` holds when `{optional[0]}` is missing",
                ctx.parsed.locate((*ctx.path, *node.path, "compare")), rule_id=ctx.rule.id, severity="warning",
                hint="give the `compare` its `unknown:` (match, as now, or no_match), or write the opposite "
                     "operator without `not`"))


def _optional(kb: KnowledgeBase, ref: str) -> bool:
    fact, _, name = ref.partition(".")
    spec = kb.facts[fact].fields.get(name) if fact in kb.facts else None
    return spec is not None and not spec.required


def _check_exists(ctx: _Ctx, kb: KnowledgeBase, cond: ExistsCond, path: Path, outer: str) -> None:
    fact = cond.exists.fact
    related = kb.many_links(outer)
    if fact not in kb.facts:
        ctx.error("unknown_fact", f"unknown fact type `{fact}`", (*path, "exists", "fact"),
                  hint=suggest(fact, kb.facts))
        return
    if fact not in related:
        ctx.error("subject_mismatch", f"`{fact}` facts are not linked to a {outer}",
                  (*path, "exists", "fact"), hint=f"facts linked to a {outer}: {', '.join(related) or 'none'}")
        return
    if cond.exists.where is not None:
        saved = dict(ctx.scope)
        ctx.scope[fact] = "exists"
        _check_condition(ctx, kb, cond.exists.where, (*path, "exists", "where"), fact)
        ctx.scope = saved


def _check_signal(ctx: _Ctx, kb: KnowledgeBase, name: str, subject: str, at: Path) -> None:
    spec = kb.signals.get(name)
    if spec is None:
        ctx.error("unknown_signal", f"unknown signal `{name}`", at,
                  hint=suggest(name, kb.signals) or "add it to knowledge_base/signals/")
    elif spec.subject != subject:
        ctx.error("subject_mismatch", f"signal `{name}` is about a {spec.subject}, not a {subject}", at)


def resolve_field(ctx: _Ctx, kb: KnowledgeBase, ref: str, at: Path) -> FieldSpec | None:
    """The field spec a ``fact.field`` reference names, or None after reporting why not."""
    fact, _, name = ref.partition(".")
    if fact not in kb.facts:
        ctx.error("unknown_fact", f"unknown fact type `{fact}` in `{ref}`", at, hint=suggest(fact, kb.facts))
        return None
    if fact not in ctx.scope:
        how = f"wrap it in `exists: {{fact: {fact}, where: ...}}`" if fact in kb.many_links(ctx.rule.subject) \
            else f"a {ctx.rule.subject} rule can use: {', '.join(sorted(ctx.scope))}"
        ctx.error("subject_mismatch", f"`{fact}` is not reachable from this {ctx.rule.subject} rule here", at,
                  hint=how)
        return None
    spec = kb.facts[fact].fields.get(name)
    if spec is None:
        ctx.error("unknown_field", f"unknown field `{name}` on {fact}", at,
                  hint=suggest(name, kb.facts[fact].fields))
    return spec


def _check_field(ctx: _Ctx, kb: KnowledgeBase, cond: FieldCond, path: Path) -> None:
    ref = cond.ref
    spec = resolve_field(ctx, kb, ref, (*path, ref))
    if spec is None:
        return
    for op, value in cond.ops.items():
        at = (*path, ref) if len(cond.ops) == 1 and not isinstance(cond.root[ref], dict) else (*path, ref, op)
        _check_operand(ctx, ref, spec, op, value, at)


def _check_operand(ctx: _Ctx, ref: str, spec: FieldSpec, op: str, value: Any, at: Path) -> None:
    meaning = operator(op)
    if meaning.types is not None and spec.type not in meaning.types:
        kinds = " or ".join(sorted(meaning.types))
        ctx.error("bad_operator", f"`{op}` needs a {kinds} field; `{ref}` is {spec.type}", at,
                  hint="use eq, ne, in or not_in" if meaning.operand != "days" else "")
        return
    if meaning.operand == "days":
        days = _resolve_param(ctx, value, at)
        if days is not _UNRESOLVED and (isinstance(days, bool) or not isinstance(days, int) or days < 0):
            ctx.error("type_mismatch", f"`{op}` needs a whole number of days, got `{value}` = {days}", at)
        return
    if meaning.operand == "flag":
        return
    values = list(value) if meaning.operand in ("values", "range") else [value]
    values = [_resolve_param(ctx, v, at) for v in values]
    if any(v is _UNRESOLVED for v in values):
        return
    for v in values:
        _check_value(ctx, ref, spec, v, at)
    if meaning.operand == "range" and all(_fits(spec, v) for v in values) and values[0] > values[1]:
        ctx.error("bad_value", f"`between` range [{values[0]}, {values[1]}] on `{ref}` is empty", at,
                  hint="write the lower bound first")


_UNRESOLVED = object()


def _resolve_param(ctx: _Ctx, v: Any, at: Path) -> Any:
    if not (isinstance(v, str) and v.startswith("$")):
        return v
    spec = ctx.kb.parameters.get(v[1:])
    if spec is None:
        ctx.error("unknown_parameter", f"unknown parameter `{v}`", at,
                  hint=suggest(v[1:], ctx.kb.parameters) or "define it in knowledge_base/parameters.yaml")
        return _UNRESOLVED
    return spec.value


def _fits(spec: FieldSpec, v: Any) -> bool:
    if spec.type == "integer":
        return isinstance(v, int) and not isinstance(v, bool)
    if spec.type == "number":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if spec.type == "boolean":
        return isinstance(v, bool)
    if spec.type == "date":
        return isinstance(v, dt.date)
    return isinstance(v, str)


def _check_value(ctx: _Ctx, ref: str, spec: FieldSpec, v: Any, at: Path) -> None:
    if not _fits(spec, v):
        ctx.error("type_mismatch", f"`{ref}` is {spec.type} but the rule compares it with "
                  f"{type(v).__name__} `{v}`", at, hint=_type_hint(spec))
    elif spec.type == "enum" and spec.values and v not in spec.values:
        ctx.error("bad_value", f"`{v}` is not a value of `{ref}`", at,
                  hint=suggest(str(v), spec.values) or f"allowed: {', '.join(spec.values)}")
    elif spec.type in ("integer", "number") and (
            (spec.min is not None and v < spec.min) or (spec.max is not None and v > spec.max)):
        ctx.error("bad_value", f"{v} is outside the range of `{ref}` [{spec.min}, {spec.max}]", at)


def _type_hint(spec: FieldSpec) -> str:
    return {"integer": "write a whole number without quotes", "number": "write a number without quotes",
            "boolean": "write true or false without quotes", "date": "write a date as YYYY-MM-DD",
            "enum": f"one of: {', '.join(spec.values or ())}"}.get(spec.type, "write text")


def _check_outcomes(ctx: _Ctx, kb: KnowledgeBase) -> None:
    then, subject = ctx.rule.then, ctx.rule.subject
    for i, name in enumerate(then.signals):
        _check_signal(ctx, kb, name, subject, ("then", "signals", i))
    for i, out in enumerate(then.actions):
        at = ("then", "actions", i)
        if out.action not in kb.actions:
            ctx.error("unknown_action", f"unknown action `{out.action}`", (*at, "action"),
                      hint=suggest(out.action, kb.actions) or "see knowledge_base/actions.yaml")
        if subject != "client":
            ctx.error("subject_mismatch", "actions are recommended for clients; this rule is about a "
                      f"{subject}", at, hint="use `coaching` for managers")
        _check_template(ctx, kb, out.reason.zh, (*at, "reason", "zh"))
        _check_template(ctx, kb, out.reason.en, (*at, "reason", "en"))
    for i, co in enumerate(then.coaching):
        at = ("then", "coaching", i)
        if co.topic not in kb.coaching:
            ctx.error("unknown_coaching", f"unknown coaching topic `{co.topic}`", (*at, "topic"),
                      hint=suggest(co.topic, kb.coaching) or "see knowledge_base/coaching.yaml")
        if subject != "manager":
            ctx.error("subject_mismatch", f"coaching is for managers; this rule is about a {subject}", at,
                      hint="use `actions` for clients")
        _check_template(ctx, kb, co.reason.zh, (*at, "reason", "zh"))
        _check_template(ctx, kb, co.reason.en, (*at, "reason", "en"))
    if then.veto:
        for i, aid in enumerate(then.veto.actions):
            if aid not in kb.actions:
                ctx.error("unknown_action", f"veto names unknown action `{aid}`", ("then", "veto", "actions", i),
                          hint=suggest(aid, kb.actions))
        _check_template(ctx, kb, then.veto.reason.zh, ("then", "veto", "reason", "zh"))
        _check_template(ctx, kb, then.veto.reason.en, ("then", "veto", "reason", "en"))


def _check_template(ctx: _Ctx, kb: KnowledgeBase, text: str, at: Path) -> None:
    for offset, fragment, meant in malformed(text):
        shown = fragment if len(fragment) <= 40 else fragment[:37] + "..."
        ctx.error("bad_template", f"`{shown}` at character {offset + 1} of the text is not a placeholder; it "
                  "would be shown as written", at,
                  hint=f"write `{meant}`: a placeholder is {{fact.field}} or {{fact.field|fallback}}, with no "
                  "format, conversion or spaces, and a fallback is text without braces or |" if meant
                  else "placeholders are {fact.field} or {fact.field|fallback}; braces have no other use in a reason")
    for p in parse(text):
        ref, fact, name = p.ref, p.fact, p.field
        if fact == "deadline":
            _check_deadline_placeholder(ctx, p, at)
            continue
        if fact == "param":
            if name not in kb.parameters:
                ctx.error("unknown_parameter", f"placeholder `{{{ref}}}` names an unknown parameter", at,
                          hint=suggest(name, kb.parameters))
            continue
        if fact not in ctx.scope or ctx.scope[fact] == "exists" or name not in kb.facts.get(fact, _NOFIELDS).fields:
            options = [f"{t}.{f}" for t in ctx.scope if ctx.scope[t] != "exists" for f in kb.facts[t].fields]
            ctx.error("bad_template", f"placeholder `{{{ref}}}` cannot be filled in this rule", at,
                      hint=suggest(ref, options) or "use {fact.field} of the subject or its linked facts")


def _check_deadline_placeholder(ctx: _Ctx, p: Placeholder, at: Path) -> None:
    """``{deadline.days_left}`` and the others need a deadline the firing keeps (:func:`_deadlines_for_reasons`);
    ``cost`` and ``threshold`` need one with a threshold; a deadline that holds on a missing value
    (``unknown: match``) has no days to show, so the placeholder needs a fallback."""
    found = _deadlines_for_reasons(ctx.rule)
    if p.field not in DEADLINE_PLACEHOLDERS:
        ctx.error("bad_template", f"placeholder `{{{p.ref}}}` cannot be filled in this rule", at,
                  hint=suggest(p.ref, [f"deadline.{n}" for n in DEADLINE_PLACEHOLDERS]))
    elif not found:
        ctx.error("bad_template", f"placeholder `{{{p.ref}}}` needs a `deadline` condition among the rule's "
                  "top-level conditions", at, hint="add the `deadline` to the rule's top-level `all` (or to the "
                  "top-level `all` of a top-level `exists`)")
    elif p.field in ("cost", "threshold") and not any(d.deadline.threshold for d in found):
        ctx.error("bad_template", f"placeholder `{{{p.ref}}}` needs a `deadline` with a `threshold:`", at,
                  hint="name the threshold in knowledge_base/thresholds.yaml that the deadline is about")
    elif p.fallback is None and any(d.deadline.unknown == "match" for d in found):
        ctx.error("missing_fallback", f"`{{{p.ref}}}` is missing when the deadline holds on a missing value "
                  "(`unknown: match`)", at, hint=f"give a fallback, `{{{p.ref}|...}}`")


class _NoFields:
    fields: ClassVar[dict[str, Any]] = {}


_NOFIELDS = _NoFields()


def _check_fallbacks(rules: list[CheckedRule], kb: KnowledgeBase, locator: Locator) -> list[Diagnostic]:
    """A placeholder for a field that may be missing when its rule fires needs a fallback (or the
    field a ``when_missing`` text): else the text would have a hole. What is guaranteed present is
    :mod:`engine.checking.presence`'s, over the whole rule set (signals carry what their rules test)."""
    by_signal = signal_guarantees([c.rule for c in rules], kb)
    diags = []
    for checked in rules:
        rule = checked.rule
        present = present_when_fired(rule, kb, by_signal)
        for at, text in _reason_texts(rule):
            lang: Lang = "zh" if at[-1] == "zh" else "en"
            for p in parse(text):
                spec = kb.facts[p.fact].fields[p.field] if p.fact in kb.facts else None
                if spec is None or p.fallback is not None or spec.when_missing is not None or p.ref in present:
                    continue
                diags.append(Diagnostic(
                    "missing_fallback", f"`{{{p.ref}}}` may be missing when this rule fires, and the {lang} text "
                    "would have a hole there", locator.rule(rule.id, at), rule_id=rule.id,
                    hint=f"give a fallback, `{{{p.ref}|{UNRECORDED[lang]}}}`, or reword; a field needs none when it "
                         "is required, or the rule's `when` (or a signal it requires) tests it in a comparison that "
                         "must hold"))
    return diags


def _reason_texts(rule: Rule) -> list[tuple[Path, str]]:
    """Every reason template of a rule's outcomes with its path (``("then", "actions", 0, "reason", "zh")``)."""
    then = rule.then
    texts: list[tuple[Path, Any]] = [(("then", "actions", i, "reason"), o.reason) for i, o in enumerate(then.actions)]
    texts += [(("then", "coaching", i, "reason"), o.reason) for i, o in enumerate(then.coaching)]
    if then.veto:
        texts.append((("then", "veto", "reason"), then.veto.reason))
    return [((*at, lang), getattr(text, lang)) for at, text in texts for lang in ("zh", "en")]


def _check_cycles(rules: list[CheckedRule], where: dict[str, Location]) -> list[Diagnostic]:
    diags = []
    for names in signal_cycles([c.rule for c in rules]):
        first = min(names)
        diags.append(Diagnostic("signal_cycle", "derived signals form a loop through rules "
                                + " -> ".join(sorted(names)), where[first], rule_id=first,
                                hint="a rule must not depend, through signals, on what it asserts"))
    return diags
