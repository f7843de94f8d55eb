"""Masking sensitive facts before a decision is logged, without changing any identifier.

* The input is masked **by field**: the fields marked ``sensitive: true`` in the fact schema
  (``knowledge_base/facts.yaml``, ``facts/*.yaml``: names, phone numbers, notes) become
  :data:`MASK`; every other field, ids included, keeps its value whatever it holds (a client named
  ``T-001`` like its own id keeps its id).
* The output is masked **where a sensitive value was put in**, and nowhere else:

  - a reason text (of a recommendation or a veto) is made again from its rule's template with the
    subject's masked facts, once the template is known to give the text back from its facts (else
    the text is read against the template): only what a sensitive placeholder (``{client.name}``)
    filled in becomes :data:`MASK`, and a word of the template that happens to equal a name (a
    client named ``complaint``) stays;
  - a reason made from a manager's clients' actions (``from_clients.*``, which names the clients
    waiting) is filled again from the masked facts of the manager and of the clients its trace names;
  - the facts a rule matched (``matched`` in a trace) by field: ``client.name`` is masked, not the
    other fields. A coaching card holds no sensitive value (its evidence leaves them out).

  Ids, rule ids, action and coaching ids, policy ids, field and signal names, the knowledge base's
  titles and the policies' texts (dates, decision ids, reason titles) are never changed. A reason text
  that fits none of its rule's templates (it should not happen) has the exact sensitive values
  replaced, as a last guard against leaking them.

So the logged output is what the engine gives on the masked input: a replay gives it back exactly
(unless a rule tests a sensitive field's value, which rules should not do).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from typing import Any

from rm_advisor.engine.inference import TRACE_PREFIX, RuleBook, client_reason
from rm_advisor.engine.language import (
    Decision,
    KnowledgeBase,
    Lang,
    Reason,
    Recommendation,
    RuleTrace,
    SignalTrace,
    SubjectDecision,
    Text,
    field_spec,
    fill,
    parse,
    pieces,
    when_missing,
)

MASK = "***"
#: Facts of a document by (type, id).
Index = dict[tuple[str, str], Mapping[str, Any]]
#: What a reason template is filled from: facts by type, and ``param``.
Env = Mapping[str, Mapping[str, Any] | None]


def jsonable(value: Any) -> Any:
    """Facts as JSON values: dates become ISO strings, tuples lists (what YAML input may hold)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return value


def mask_facts(doc: Mapping[str, Any], kb: KnowledgeBase) -> tuple[dict[str, Any], list[str]]:
    """The facts document with sensitive fields masked, and the values that were masked."""
    plural = kb.plural_to_type()
    secrets: set[str] = set()
    out: dict[str, Any] = {}
    for key, items in jsonable(doc).items():
        fields = kb.sensitive_fields(plural[key]) if key in plural else []
        if not fields or not isinstance(items, list):
            out[key] = items
            continue
        out[key] = [_mask_one(item, fields, secrets) if isinstance(item, dict) else item for item in items]
    return out, sorted(secrets, key=lambda s: (-len(s), s))


def _mask_one(fact: dict[str, Any], fields: list[str], secrets: set[str]) -> dict[str, Any]:
    masked = dict(fact)
    for name in fields:
        value = masked.get(name)
        if isinstance(value, str) and value:
            secrets.add(value)
            masked[name] = MASK
    return masked


def sensitive_refs(kb: KnowledgeBase) -> frozenset[str]:
    """The ``fact.field`` references of sensitive fields, as placeholders and traces name them."""
    return frozenset(f"{t}.{f}" for t in kb.facts for f in kb.sensitive_fields(t))


def mask_decision(decision: Decision, book: RuleBook, facts: Mapping[str, Any]) -> Decision:
    """``decision`` (made by ``book`` from the facts document ``facts``) with the sensitive values
    masked where the facts put them in."""
    masked, secrets = mask_facts(facts, book.kb)
    if not secrets:
        return decision
    masker = _Masker(book, facts_index(jsonable(facts), book.kb), facts_index(masked, book.kb), frozenset(secrets))
    return decision.model_copy(update={"clients": [masker.subject(s) for s in decision.clients],
                                       "managers": [masker.subject(s) for s in decision.managers]})


def facts_index(doc: Mapping[str, Any], kb: KnowledgeBase) -> Index:
    """The facts of a document by (type, id)."""
    plural = kb.plural_to_type()
    out: Index = {}
    for key, items in doc.items():
        if key in plural and isinstance(items, list):
            out.update({(plural[key], str(f.get("id"))): f for f in items if isinstance(f, Mapping)})
    return out


class _Masker:
    """Masks one decision's texts and traces; reason templates are looked up in the rule book and
    refilled with the masked facts of the subject they are about."""

    def __init__(self, book: RuleBook, facts: Index, masked: Index, secrets: frozenset[str]):
        self.kb = book.kb
        self.rules = book.by_id()
        self.refs = sensitive_refs(book.kb)
        self.facts, self.masked, self.secrets = facts, masked, secrets
        self.params = {k: p.value for k, p in book.kb.parameters.items()}

    def subject(self, s: SubjectDecision) -> SubjectDecision:
        envs = self._env(s, self.facts), self._env(s, self.masked)
        return s.model_copy(update={"recommendations": [self.item(r, envs) for r in s.recommendations],
                                    "vetoed": [self.item(r, envs) for r in s.vetoed],
                                    "suppressed": [self.item(r, envs) for r in s.suppressed],
                                    "signals": [self.signal(x) for x in s.signals]})

    def _env(self, s: SubjectDecision, index: Index) -> dict[str, Mapping[str, Any] | None]:
        """What the subject's reason templates were filled from (as the engine's subject_env)."""
        fact = index.get((s.subject_type, s.id)) or {}
        env: dict[str, Mapping[str, Any] | None] = {s.subject_type: fact, "param": self.params}
        env.update({t: index.get((t, str(fact.get(f)))) for t, f in self.kb.one_links(s.subject_type).items()})
        return env

    def item(self, r: Recommendation, envs: tuple[Env, Env]) -> Recommendation:
        return r.model_copy(update={
            "reasons": [self.from_clients(x, r, envs[1])
                        or self.reason(x, self._templates(x.rule_id, r.kind, r.id), envs) for x in r.reasons],
            "vetoed_by": [self.reason(x, self._veto_templates(x.rule_id), envs) for x in r.vetoed_by],
            "because": [self.trace(t) for t in r.because]})

    def from_clients(self, reason: Reason, r: Recommendation, masked: Env) -> Reason | None:
        """A reason made from the manager's clients' actions, filled again from the masked facts of
        the manager and of the clients its trace names (None: not such a reason)."""
        entry = self.kb.coaching_from_clients.get(reason.rule_id.removeprefix(TRACE_PREFIX)) \
            if reason.rule_id.startswith(TRACE_PREFIX) else None
        trace = next((t for t in r.because if t.rule_id == reason.rule_id), None)
        if entry is None or trace is None:
            return None
        clients = [self.masked.get(("client", key.partition(":")[2])) or {"id": key.partition(":")[2]}
                   for key in trace.related.get("client", [])]
        text = client_reason(self.kb, entry, masked.get("manager") or {}, clients,
                             list(trace.matched.get("clients.actions", [])), int(trace.matched.get("clients.top", 0)))
        return reason.model_copy(update={"text": text})

    def reason(self, reason: Reason, templates: list[Text], envs: tuple[Env, Env]) -> Reason:
        text = Text(zh=self.text(reason.text.zh, [t.zh for t in templates], envs, "zh"),
                    en=self.text(reason.text.en, [t.en for t in templates], envs, "en"))
        return reason.model_copy(update={"text": text})

    def trace(self, t: RuleTrace) -> RuleTrace:
        matched = {k: MASK if k in self.refs and isinstance(v, str) and v else v for k, v in t.matched.items()}
        return t.model_copy(update={"matched": matched, "signals": [self.signal(s) for s in t.signals]})

    def signal(self, s: SignalTrace) -> SignalTrace:
        return s.model_copy(update={"asserted_by": [self.trace(t) for t in s.asserted_by]})

    def text(self, filled: str, templates: list[str], envs: tuple[Env, Env], lang: Lang) -> str:
        """``filled`` (made from one of ``templates``) with what sensitive placeholders put in masked:
        the template that gives it back from the subject's facts is filled again from its masked
        facts; failing that, the text is read against each template; failing that, the exact
        sensitive values are replaced."""
        raw, masked = envs
        for template in templates:
            if fill(template, raw, lang, self.kb) == filled:
                return fill(template, masked, lang, self.kb)
        present = sorted((s for s in self.secrets if s in filled), key=lambda s: (-len(s), s))
        if not present:
            return filled
        for template in templates:
            aligned = _align(template, filled, present, self.refs, _missing_texts(template, lang, self.kb))
            if aligned is not None:
                return aligned
        for value in present:  # the last guard: no template fits
            filled = filled.replace(value, MASK) if len(value) > 1 or filled == value else filled
        return filled

    def _templates(self, rule_id: str, kind: str, item_id: str) -> list[Text]:
        rule = self.rules.get(rule_id)
        if rule is None:
            return []
        then = rule.rule.then
        if kind == "action":  # a reason may come from an alternative folded into the item
            group = self.kb.alternative_group(item_id)
            same = set(group.actions) if group is not None else {item_id}
            return [o.reason for o in then.actions if o.action in same]
        return [o.reason for o in then.coaching if o.topic == item_id]

    def _veto_templates(self, rule_id: str) -> list[Text]:
        rule = self.rules.get(rule_id)
        veto = rule.rule.then.veto if rule is not None else None
        return [veto.reason] if veto is not None else []


def _missing_texts(template: str, lang: Lang, kb: KnowledgeBase) -> dict[str, list[str]]:
    """What each placeholder of ``template`` may show for a missing value (its fallback, the field's
    ``when_missing`` text or the hole text; capitalised too, as at the start of an English text)."""
    out: dict[str, list[str]] = {}
    for p in parse(template):
        shown, _ = when_missing(p, field_spec(kb, p.ref), lang)
        out.setdefault(p.ref, []).extend(dict.fromkeys([shown, shown[:1].upper() + shown[1:]]))
    return out


def _align(template: str, filled: str, present: list[str], refs: frozenset[str],
           missing: dict[str, list[str]]) -> str | None:
    """``filled`` read as ``template`` with its placeholders filled in; what a sensitive placeholder
    filled in is masked when it is one of the ``present`` sensitive values (``missing``: what each
    placeholder shows for a missing value). None if it does not fit."""
    parts = pieces(template)
    literals, used = parts[0::2], parts[1::2]
    secret = "|".join(re.escape(s) for s in present)
    groups: dict[str, str] = {}
    pattern = re.escape(literals[0])
    for ref, literal in zip(used, literals[1:], strict=True):
        if ref in groups:
            pattern += f"(?P={groups[ref]})"
        else:
            groups[ref] = f"p{len(groups)}"
            shown = "".join(f"|{re.escape(m)}" for m in missing.get(ref, []))
            value = f"(?:{secret}{shown}|)" if ref in refs else ".*?"
            pattern += f"(?P<{groups[ref]}>{value})"
        pattern += re.escape(literal)
    match = re.fullmatch(pattern, filled, re.DOTALL)
    if match is None:
        return None
    values = {ref: match.group(name) for ref, name in groups.items()}
    masked = {ref: MASK if ref in refs and v in present else v for ref, v in values.items()}
    return literals[0] + "".join(masked[ref] + literal for ref, literal in zip(used, literals[1:], strict=True))
