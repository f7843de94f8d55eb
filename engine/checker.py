"""Check rule files against the knowledge base and collect every problem with its location.

Checking is all-or-nothing: :func:`check_rule_files` returns a :class:`RuleSet` only when no
error was found; otherwise the caller gets every diagnostic, sorted by file and line.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import networkx as nx
from pydantic import ValidationError

from engine.analysis import analyse
from engine.errors import Diagnostic, Location, suggest
from engine.knowledge import FieldSpec, KnowledgeBase
from engine.locations import Locator
from engine.rules import AllCond, AnyCond, Condition, ExistsCond, FieldCond, NotCond, Rule, RuleFile, SignalCond
from engine.templates import malformed, placeholders
from engine.validation import validate_document
from engine.yaml_source import ParsedYaml, Path, parse_yaml, rule_fragments


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

    def error(self, code: str, message: str, at: Path, hint: str = "") -> None:
        self.diags.append(Diagnostic(code, message, self.parsed.locate(self.path + at),
                                     rule_id=self.rule.id, hint=hint))


def check_rule_files(files: dict[str, str], kb: KnowledgeBase) -> tuple[RuleSet | None, list[Diagnostic]]:
    """Parse and check rule files (name -> YAML text). Returns the rule set, or None and the errors."""
    diags: list[Diagnostic] = []
    checked: list[CheckedRule] = []
    first_seen: dict[str, Location] = {}
    locator = Locator()
    if not files:
        diags.append(Diagnostic("no_rules", "no rule files found", Location("<rules>"),
                                hint="rule files end in .yaml and are not *.scenarios.yaml"))
    for name in sorted(files):
        parsed = parse_yaml(files[name], name)
        diags.extend(parsed.diagnostics)
        if parsed.data is None and parsed.diagnostics:
            _check_fragments(files[name], name, kb, diags, first_seen)
            continue
        doc, errs = validate_document(RuleFile, parsed)
        diags.extend(errs)
        if doc is None:
            continue
        for i, rule in enumerate(doc.rules):
            path: Path = ("rules", i)
            loc = parsed.locate(path)
            if rule.id in first_seen:
                diags.append(Diagnostic("duplicate_rule_id", f"rule id `{rule.id}` is already used",
                                        parsed.locate((*path, "id")), rule_id=rule.id,
                                        hint=f"first defined at {first_seen[rule.id]}; rename one"))
                continue
            first_seen[rule.id] = loc
            before = len(diags)
            _check_rule(_Ctx(parsed, path, rule, diags, kb), kb)
            if len(diags) == before:
                checked.append(CheckedRule(rule, name, loc.line))
                locator.add_rule(rule.id, parsed, path)
    diags.extend(_check_cycles(checked, first_seen))
    diags.extend(analyse([c.rule for c in checked], kb, locator.rule))
    errors = [d for d in diags if d.severity == "error"]
    if errors:
        return None, sorted(diags, key=Diagnostic.sort_key)
    ordered = tuple(sorted(checked, key=lambda c: c.rule.id))
    warnings = tuple(sorted(diags, key=Diagnostic.sort_key))
    return RuleSet(ordered, kb, warnings), list(warnings)


def _check_fragments(text: str, name: str, kb: KnowledgeBase, diags: list[Diagnostic],
                     first_seen: dict[str, Location]) -> None:
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
            _check_rule(_Ctx(fragment, ("rules", 0), rule, diags, kb), kb)


def _check_rule(ctx: _Ctx, kb: KnowledgeBase) -> None:
    rule = ctx.rule
    ctx.scope = {rule.subject: "subject", **{t: "linked" for t in kb.one_links(rule.subject)}}
    eff = rule.effective
    if eff and eff.from_ and eff.until and eff.from_ > eff.until:
        ctx.error("bad_dates", f"effective from {eff.from_} is after until {eff.until}", ("effective",),
                  hint="swap the dates")
    _check_placement(ctx, rule.when, ("when",), top=True)
    _check_condition(ctx, kb, rule.when, ("when",), rule.subject)
    _check_outcomes(ctx, kb)


def _conjuncts(cond: Condition, path: Path) -> Iterator[tuple[Condition, Path]]:
    if isinstance(cond, AllCond):
        for i, c in enumerate(cond.all):
            yield from _conjuncts(c, (*path, "all", i))
    else:
        yield cond, path


def _check_placement(ctx: _Ctx, cond: Condition, path: Path, top: bool) -> None:
    """Signals may stand as top-level conjuncts, as `not: {signal}` there, or at the top of an
    `exists.where` that is itself a top-level conjunct; the Rete network matches them there."""
    allowed: set[Path] = set()
    if top:
        for c, p in _conjuncts(cond, path):
            if isinstance(c, SignalCond):
                allowed.add(p)
            elif isinstance(c, NotCond) and isinstance(c.not_, SignalCond):
                allowed.add((*p, "not"))
            elif isinstance(c, ExistsCond) and c.exists.where is not None:
                for c2, p2 in _conjuncts(c.exists.where, (*p, "exists", "where")):
                    if isinstance(c2, SignalCond):
                        allowed.add(p2)
    for sig_path in _signal_paths(cond, path):
        if sig_path not in allowed:
            ctx.error("signal_placement", "a signal condition cannot stand here", sig_path,
                      hint="put `signal:` (or `not: {signal: ...}`) directly under the rule's `when` "
                           "or its top-level `all`, or at the top of an `exists.where`")


def _signal_paths(cond: Condition, path: Path) -> Iterator[Path]:
    if isinstance(cond, SignalCond):
        yield path
    elif isinstance(cond, AllCond):
        for i, c in enumerate(cond.all):
            yield from _signal_paths(c, (*path, "all", i))
    elif isinstance(cond, AnyCond):
        for i, c in enumerate(cond.any):
            yield from _signal_paths(c, (*path, "any", i))
    elif isinstance(cond, NotCond):
        yield from _signal_paths(cond.not_, (*path, "not"))
    elif isinstance(cond, ExistsCond) and cond.exists.where is not None:
        yield from _signal_paths(cond.exists.where, (*path, "exists", "where"))


def _check_condition(ctx: _Ctx, kb: KnowledgeBase, cond: Condition, path: Path, signal_subject: str) -> None:
    if isinstance(cond, AllCond):
        for i, c in enumerate(cond.all):
            _check_condition(ctx, kb, c, (*path, "all", i), signal_subject)
    elif isinstance(cond, AnyCond):
        for i, c in enumerate(cond.any):
            _check_condition(ctx, kb, c, (*path, "any", i), signal_subject)
    elif isinstance(cond, NotCond):
        _check_condition(ctx, kb, cond.not_, (*path, "not"), signal_subject)
    elif isinstance(cond, SignalCond):
        _check_signal(ctx, kb, cond.signal, signal_subject, (*path, "signal"))
    elif isinstance(cond, ExistsCond):
        _check_exists(ctx, kb, cond, path, signal_subject)
    elif isinstance(cond, FieldCond):
        _check_field(ctx, kb, cond, path)


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


_ORDERED = ("integer", "number", "date")


def _check_operand(ctx: _Ctx, ref: str, spec: FieldSpec, op: str, value: Any, at: Path) -> None:
    if op in ("gt", "ge", "lt", "le", "between") and spec.type not in _ORDERED:
        ctx.error("bad_operator", f"`{op}` needs a number or date field; `{ref}` is {spec.type}", at,
                  hint="use eq, ne, in or not_in")
        return
    if op in ("in_next_days", "older_than_days"):
        if spec.type != "date":
            ctx.error("bad_operator", f"`{op}` needs a date field; `{ref}` is {spec.type}", at)
            return
        days = _resolve_param(ctx, value, at)
        if days is not _UNRESOLVED and (isinstance(days, bool) or not isinstance(days, int) or days < 0):
            ctx.error("type_mismatch", f"`{op}` needs a whole number of days, got `{value}` = {days}", at)
        return
    if op == "present":
        return
    values = list(value) if op in ("in", "not_in", "between") else [value]
    values = [_resolve_param(ctx, v, at) for v in values]
    if any(v is _UNRESOLVED for v in values):
        return
    for v in values:
        _check_value(ctx, ref, spec, v, at)
    if op == "between" and all(_fits(spec, v) for v in values) and values[0] > values[1]:
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
                  hint=f"write `{meant}`: a placeholder is {{fact.field}}, with no format, conversion or spaces"
                  if meant else "placeholders are {fact.field}; braces have no other use in a reason")
    for ref in placeholders(text):
        fact, _, name = ref.partition(".")
        if fact == "param":
            if name not in kb.parameters:
                ctx.error("unknown_parameter", f"placeholder `{{{ref}}}` names an unknown parameter", at,
                          hint=suggest(name, kb.parameters))
            continue
        if fact not in ctx.scope or ctx.scope[fact] == "exists" or name not in kb.facts.get(fact, _NOFIELDS).fields:
            options = [f"{t}.{f}" for t in ctx.scope if ctx.scope[t] != "exists" for f in kb.facts[t].fields]
            ctx.error("bad_template", f"placeholder `{{{ref}}}` cannot be filled in this rule", at,
                      hint=suggest(ref, options) or "use {fact.field} of the subject or its linked facts")


class _NoFields:
    fields: ClassVar[dict[str, Any]] = {}


_NOFIELDS = _NoFields()


def _check_cycles(rules: list[CheckedRule], where: dict[str, Location]) -> list[Diagnostic]:
    graph = signal_graph([c.rule for c in rules])
    diags = []
    for cycle in sorted(nx.simple_cycles(graph), key=sorted):
        names = [n[1] for n in cycle if n[0] == "rule"]
        first = min(names)
        diags.append(Diagnostic("signal_cycle", "derived signals form a loop through rules "
                                + " -> ".join(sorted(names)), where[first], rule_id=first,
                                hint="a rule must not depend, through signals, on what it asserts"))
    return diags


#: a node of the rule graphs: (kind, id), kind being field, rule, signal, action or coaching
Node = tuple[str, str]


def signal_graph(rules: list[Rule] | tuple[Rule, ...]) -> nx.DiGraph[Node]:
    """Rules and signals as a graph: signal -> rule that uses it, rule -> signal it asserts."""
    graph: nx.DiGraph[Node] = nx.DiGraph()
    for rule in rules:
        node = ("rule", rule.id)
        graph.add_node(node)
        for name in used_signals(rule.when):
            graph.add_edge(("signal", name), node)
        for name in rule.then.signals:
            graph.add_edge(node, ("signal", name))
    return graph


def used_signals(cond: Condition) -> list[str]:
    """Every signal a condition tree mentions."""
    if isinstance(cond, SignalCond):
        return [cond.signal]
    if isinstance(cond, AllCond):
        return [s for c in cond.all for s in used_signals(c)]
    if isinstance(cond, AnyCond):
        return [s for c in cond.any for s in used_signals(c)]
    if isinstance(cond, NotCond):
        return used_signals(cond.not_)
    if isinstance(cond, ExistsCond) and cond.exists.where is not None:
        return used_signals(cond.exists.where)
    return []
