"""Build a knowledge base from its file texts (name -> text), checked completely.

It never opens files itself: callers pass texts (see :mod:`engine.loading.sources` for reading a
directory). A knowledge base with any error raises :class:`RuleError` and nothing of it is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from rm_advisor.engine.errors import Diagnostic, Location, RuleError, suggest
from rm_advisor.engine.language.knowledge import (
    CLIENT_PLACEHOLDERS,
    DUTY_KINDS,
    ActionFile,
    AlternativesFile,
    ClientCoachingFile,
    CoachingFile,
    DocumentFile,
    FactExtensionFile,
    FactSchemaFile,
    FactSpec,
    FeedbackReasonFile,
    FieldSpec,
    KnowledgeBase,
    ParameterFile,
    SignalFile,
    SignalSpec,
    ThresholdFile,
)
from rm_advisor.engine.language.schemes import ScoringFile
from rm_advisor.engine.language.templates import malformed, placeholders
from rm_advisor.engine.loading.validation import validate_document
from rm_advisor.engine.loading.yaml_source import ParsedYaml, parse_yaml

_KB_PARTS: dict[str, type[BaseModel]] = {
    "facts.yaml": FactSchemaFile, "actions.yaml": ActionFile, "coaching.yaml": CoachingFile,
    "documents.yaml": DocumentFile, "parameters.yaml": ParameterFile,
}
#: Knowledge-base files that may be absent (a knowledge base written before they existed).
_OPTIONAL_KB_PARTS: dict[str, type[BaseModel]] = {"feedback_reasons.yaml": FeedbackReasonFile,
                                                  "scoring.yaml": ScoringFile,
                                                  "coaching_from_clients.yaml": ClientCoachingFile,
                                                  "alternatives.yaml": AlternativesFile,
                                                  "thresholds.yaml": ThresholdFile}


def load_knowledge_base(files: dict[str, str]) -> KnowledgeBase:
    """Check and assemble the knowledge base from ``facts.yaml``, ``actions.yaml``,
    ``coaching.yaml``, ``documents.yaml``, ``parameters.yaml``, ``signals/*.yaml``, ``facts/*.yaml``
    and, when present, ``feedback_reasons.yaml`` (keys are paths ending so)."""
    diags: list[Diagnostic] = []
    parts: dict[str, Any] = {}
    signals: list[tuple[SignalSpec, ParsedYaml, int]] = []
    extensions: list[tuple[FactExtensionFile, ParsedYaml]] = []
    for name in sorted(files):
        base = name.rsplit("/", 1)[-1]
        is_signal = "/signals/" in f"/{name}"
        is_extension = "/facts/" in f"/{name}"
        model = SignalFile if is_signal else FactExtensionFile if is_extension else \
            _KB_PARTS.get(base) or _OPTIONAL_KB_PARTS.get(base)
        if model is None:
            continue
        parsed = parse_yaml(files[name], name)
        diags.extend(parsed.diagnostics)
        if parsed.unreadable:
            continue
        doc, errs = validate_document(model, parsed)
        diags.extend(errs)
        if doc is None:
            continue
        if isinstance(doc, SignalFile):
            signals.extend((s, parsed, i) for i, s in enumerate(doc.signals))
        elif isinstance(doc, FactExtensionFile):
            extensions.append((doc, parsed))
        else:
            parts[base] = (doc, parsed)
    for base in _KB_PARTS:
        if base not in parts and not any(d.location.file.endswith(base) for d in diags):
            diags.append(Diagnostic("schema_violation", f"knowledge base file `{base}` is missing",
                                    Location("knowledge_base/" + base)))
    if diags:
        raise RuleError(diags)
    kb = KnowledgeBase(
        facts=_extend_facts(dict(parts["facts.yaml"][0].facts), extensions, diags),
        signals=_unique("signals", [(s, p, ("signals", i)) for s, p, i in signals], diags),
        actions=_unique("actions", _items(parts["actions.yaml"], "actions"), diags),
        coaching=_unique("coaching", _items(parts["coaching.yaml"], "coaching"), diags),
        documents=_unique("documents", _items(parts["documents.yaml"], "documents"), diags),
        parameters=dict(sorted(parts["parameters.yaml"][0].parameters.items())),
        scoring=parts["scoring.yaml"][0] if "scoring.yaml" in parts else ScoringFile(),
        feedback_reasons=_unique("reasons", _items(parts["feedback_reasons.yaml"], "reasons"), diags)
        if "feedback_reasons.yaml" in parts else {},
        alternatives=_unique("alternatives", _items(parts["alternatives.yaml"], "alternatives"), diags)
        if "alternatives.yaml" in parts else {},
        thresholds=_unique("thresholds", _items(parts["thresholds.yaml"], "thresholds"), diags)
        if "thresholds.yaml" in parts else {},
        **_client_coaching(parts, diags),
    )
    _check_links(kb, parts["facts.yaml"][1], diags)
    _check_labels(parts["facts.yaml"], extensions, diags)
    _check_cards(kb, parts["coaching.yaml"], diags)
    if "coaching_from_clients.yaml" in parts:
        _check_client_coaching(kb, parts["coaching_from_clients.yaml"], diags)
    if "scoring.yaml" in parts:
        _check_scoring(kb, parts["scoring.yaml"][1], diags)
    _check_provenance(kb, parts, diags)
    if "thresholds.yaml" in parts:
        doc, parsed = parts["thresholds.yaml"]
        for i, threshold in enumerate(doc.thresholds):  # a threshold's days are a whole number of at least 1
            _count(kb, threshold.days, parsed.locate(("thresholds", i, "days")), diags)
    if "alternatives.yaml" in parts:
        doc, parsed = parts["alternatives.yaml"]
        _check_alternatives(kb, doc, parsed, diags)
    if diags:
        raise RuleError(diags)
    return kb


def _extend_facts(facts: dict[str, FactSpec], extensions: list[tuple[FactExtensionFile, ParsedYaml]],
                  diags: list[Diagnostic]) -> dict[str, FactSpec]:
    """Merge ``facts/*.yaml`` extensions into the base schema; a clash is an error."""
    for doc, parsed in extensions:
        for fact_type, ext in doc.extend.items():
            if fact_type not in facts:
                diags.append(Diagnostic("schema_violation", f"cannot extend unknown fact type `{fact_type}`",
                                        parsed.locate(("extend", fact_type)), hint=suggest(fact_type, facts)))
                continue
            base = facts[fact_type]
            for name in ext.fields:
                if name in base.fields:
                    diags.append(Diagnostic("schema_violation", f"field `{fact_type}.{name}` is already defined",
                                            parsed.locate(("extend", fact_type, "fields", name)),
                                            hint="rename the new field or drop it"))
            fields = {**ext.fields, **base.fields}
            facts[fact_type] = base.model_copy(update={"fields": fields})
    return facts


def _items(part: tuple[Any, Any], key: str) -> list[tuple[Any, Any, tuple[Any, ...]]]:
    doc, parsed = part
    return [(item, parsed, (key, i)) for i, item in enumerate(getattr(doc, key))]


def _unique(kind: str, items: list[tuple[Any, Any, tuple[Any, ...]]], diags: list[Diagnostic]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item, parsed, path in items:
        if item.id in out:
            diags.append(Diagnostic("schema_violation", f"{kind} id `{item.id}` is defined twice",
                                    parsed.locate((*path, "id")), hint="ids must be unique"))
        out[item.id] = item
    return dict(sorted(out.items()))


def _check_links(kb: KnowledgeBase, parsed: Any, diags: list[Diagnostic]) -> None:
    for name, spec in kb.facts.items():
        for i, seg in enumerate(spec.segment_by):
            if seg not in spec.fields:
                diags.append(Diagnostic("schema_violation", f"fact `{name}` is segmented by `{seg}`, which is not "
                                        "one of its fields", parsed.locate(("facts", name, "segment_by", i)),
                                        hint=suggest(seg, spec.fields)))
        for target, link_field in spec.links.items():
            if target not in kb.facts or link_field not in spec.fields:
                diags.append(Diagnostic("schema_violation", f"fact `{name}` links to `{target}` through "
                                        f"`{link_field}`, which does not exist",
                                        parsed.locate(("facts", name, "links", target))))


def _check_labels(base: tuple[FactSchemaFile, ParsedYaml], extensions: list[tuple[FactExtensionFile, ParsedYaml]],
                  diags: list[Diagnostic]) -> None:
    """Every value of an enum field has a zh and en label (texts show labels, never codes), and a
    label names a value the field has: each problem located at the value or the label."""
    doc, parsed = base
    fields = [(("facts", t, "fields", n), f"{t}.{n}", spec, parsed)
              for t, fact in doc.facts.items() for n, spec in fact.fields.items()]
    fields += [(("extend", t, "fields", n), f"{t}.{n}", spec, p)
               for ext, p in extensions for t, fact in ext.extend.items() for n, spec in fact.fields.items()]
    for path, ref, spec, where in fields:
        diags.extend(_label_problems(spec, ref, path, where))


def _label_problems(spec: FieldSpec, ref: str, path: tuple[Any, ...], parsed: ParsedYaml) -> list[Diagnostic]:
    values: tuple[str, ...] = (spec.values or ()) if spec.type == "enum" else ("true", "false") if spec.labels else ()
    out = []
    for i, value in enumerate(values):
        if value not in spec.labels:
            at = (*path, "values", i) if spec.type == "enum" else (*path, "labels")
            out.append(Diagnostic("value_label", f"`{ref}` has no label for its value `{value}`", parsed.locate(at),
                                  hint=f"add `{value}: {{zh: ..., en: ...}}` under the field's `labels`: texts show "
                                       "the label, never the code"))
    for key in spec.labels:
        if key not in values:
            out.append(Diagnostic("value_label", f"`{ref}` labels `{key}`, which is not one of its values",
                                  parsed.locate((*path, "labels", key)),
                                  hint=suggest(key, values) or f"its values: {', '.join(values)}"))
    return out


def _check_provenance(kb: KnowledgeBase, parts: dict[str, Any], diags: list[Diagnostic]) -> None:
    kinds = [("actions", "actions.yaml"), ("coaching", "coaching.yaml"), ("reasons", "feedback_reasons.yaml"),
             ("coaching_from_clients", "coaching_from_clients.yaml"), ("thresholds", "thresholds.yaml")]
    for kind, base in kinds:
        if base not in parts:
            continue
        doc, parsed = parts[base]
        for i, item in enumerate(getattr(doc, kind)):
            if item.provenance is not None and item.provenance.document not in kb.documents:
                diags.append(Diagnostic("unknown_document", f"unknown document `{item.provenance.document}`",
                                        parsed.locate((kind, i, "provenance", "document")),
                                        hint=suggest(item.provenance.document, kb.documents)))


def _check_alternatives(kb: KnowledgeBase, doc: AlternativesFile, parsed: ParsedYaml,
                        diags: list[Diagnostic]) -> None:
    """Each group names catalogue actions, each action is in one group at most, and a group never
    mixes a duty (risk, obligation) with what a contact policy may hold back: folding a duty into a
    sales ask, or a sales ask into a duty, would change what may be said to the client."""
    seen: dict[str, str] = {}
    for i, group in enumerate(doc.alternatives):  # in file order: the locations index the file
        duties = set()
        for j, action in enumerate(group.actions):
            at = parsed.locate(("alternatives", i, "actions", j))
            if action not in kb.actions:
                diags.append(Diagnostic("unknown_action", f"unknown action `{action}` in alternatives `{group.id}`",
                                        at, hint=suggest(action, kb.actions)))
                continue
            if action in seen:
                diags.append(Diagnostic("alternative_twice", f"action `{action}` is in alternatives `{seen[action]}` "
                                        f"and `{group.id}`", at, hint="an action answers one cause: keep it in one "
                                                                      "group"))
            seen.setdefault(action, group.id)
            duties.add(kb.actions[action].kind in DUTY_KINDS)
        if len(duties) > 1:
            kinds = ", ".join(f"{a} ({kb.actions[a].kind})" for a in group.actions if a in kb.actions)
            diags.append(Diagnostic("alternative_kinds", f"alternatives `{group.id}` mix duties and other actions: "
                                    f"{kinds}", parsed.locate(("alternatives", i, "actions")),
                                    hint="risk and obligation actions are alternatives only of each other"))


def _check_scoring(kb: KnowledgeBase, parsed: Any, diags: list[Diagnostic]) -> None:
    """Scoring schemes must write to known fields and name known parameters and documents."""
    def field(path: tuple[Any, ...], fact: str, name: str) -> None:
        if name not in kb.facts[fact].fields:
            diags.append(Diagnostic("unknown_field", f"`{fact}.{name}` is not a field of the fact schema",
                                    parsed.locate(path), hint=suggest(name, kb.facts[fact].fields)))

    def refs(path: tuple[Any, ...], node: Any) -> None:
        if isinstance(node, str) and node.startswith("$") and node[1:] not in kb.parameters:
            diags.append(Diagnostic("unknown_parameter", f"unknown parameter `{node}`", parsed.locate(path),
                                    hint=suggest(node[1:], kb.parameters)))
        elif isinstance(node, dict):
            for k, v in node.items():
                refs((*path, k), v)
        elif isinstance(node, (list, tuple)):
            for i, v in enumerate(node):
                refs((*path, i), v)

    sc = kb.scoring
    for i, seg in enumerate(sc.segmentations):
        field(("segmentations", i, "field"), "client", seg.field)
        for name in seg.inputs:
            field(("segmentations", i, "inputs", name), "client", name)
    for i, scheme in enumerate(sc.schemes):
        field(("schemes", i, "field"), "manager", scheme.field)
        ids = {item.id for item in scheme.items}
        for target, items in scheme.deductions.items():
            field(("schemes", i, "deductions", target), "manager", target)
            for item in items:
                if item not in ids:
                    diags.append(Diagnostic("schema_violation", f"deduction names unknown item `{item}`",
                                            parsed.locate(("schemes", i, "deductions", target)),
                                            hint=suggest(item, ids)))
    refs((), sc.model_dump())
    for group in ("segmentations", "schemes", "ladders"):
        for i, item in enumerate(getattr(sc, group)):
            provs = [((group, i, "provenance"), item.provenance)] + [
                ((group, i, "items", j, "provenance"), x.provenance) for j, x in enumerate(getattr(item, "items", ()))]
            for path, prov in provs:
                if prov.document not in kb.documents:
                    diags.append(Diagnostic("unknown_document", f"unknown document `{prov.document}`",
                                            parsed.locate((*path, "document")), hint=suggest(prov.document,
                                                                                             kb.documents)))


def _client_coaching(parts: dict[str, Any], diags: list[Diagnostic]) -> dict[str, Any]:
    """The ``coaching_from_clients`` entries by id and where each is written (file, line)."""
    if "coaching_from_clients.yaml" not in parts:
        return {}
    parsed = parts["coaching_from_clients.yaml"][1]
    items = _items(parts["coaching_from_clients.yaml"], "coaching_from_clients")
    origins = {item.id: (parsed.file, parsed.locate(path).line) for item, _, path in items}
    return {"coaching_from_clients": _unique("coaching_from_clients", items, diags), "origins": origins}


def _count(kb: KnowledgeBase, value: int | str, at: Location, diags: list[Diagnostic]) -> None:
    """A count given as a number or a ``$parameter`` that must hold a whole number of at least 1."""
    if isinstance(value, int):
        return
    param = kb.parameters.get(value[1:])
    if param is None:
        diags.append(Diagnostic("unknown_parameter", f"unknown parameter `{value}`", at,
                                hint=suggest(value[1:], kb.parameters)))
    elif isinstance(param.value, bool) or not isinstance(param.value, int) or param.value < 1:
        diags.append(Diagnostic("bad_value", f"parameter `{value}` is {param.value!r}: a count needs a whole "
                                "number of at least 1", at, hint="set it in knowledge_base/parameters.yaml"))


def _check_cards(kb: KnowledgeBase, part: tuple[Any, ParsedYaml], diags: list[Diagnostic]) -> None:
    """A card measures a number (with the way that is better) or a boolean or enum field (with the
    value aimed at) of the manager; its review period is a count."""
    doc, parsed = part
    fields = kb.facts["manager"].fields
    for i, topic in enumerate(doc.coaching):
        card = topic.card
        if card is None:
            continue
        path = ("coaching", i, "card")
        spec = fields.get(card.metric)
        if spec is None:
            diags.append(Diagnostic("unknown_field", f"`manager.{card.metric}` is not a field of the fact schema",
                                    parsed.locate((*path, "metric")), hint=suggest(card.metric, fields)))
            continue
        _count(kb, card.review_days, parsed.locate((*path, "review_days")), diags)
        numeric = spec.type in ("integer", "number")
        if numeric and card.target is not None:
            diags.append(Diagnostic("bad_value", f"`manager.{card.metric}` is a number: give `better` (lower or "
                                    "higher), not `target`", parsed.locate((*path, "target"))))
        elif spec.type in ("boolean", "enum"):
            wanted = (bool,) if spec.type == "boolean" else (str,)
            if card.better is not None:
                diags.append(Diagnostic("bad_value", f"`manager.{card.metric}` is {spec.type}: give `target` (the "
                                        "value aimed at), not `better`", parsed.locate((*path, "better"))))
            if not isinstance(card.target, wanted) or (spec.values and card.target not in spec.values):
                allowed = "true or false" if spec.type == "boolean" else ", ".join(spec.values or ())
                diags.append(Diagnostic("bad_value", f"`manager.{card.metric}` needs a `target` of {allowed}, "
                                        f"got {card.target!r}", parsed.locate((*path, "target") if card.target
                                                                              is not None else path)))
        elif not numeric:
            diags.append(Diagnostic("bad_value", f"`manager.{card.metric}` is {spec.type}: a card measures a "
                                    "number, a boolean or an enum field", parsed.locate((*path, "metric"))))


def _check_client_coaching(kb: KnowledgeBase, part: tuple[Any, ParsedYaml], diags: list[Diagnostic]) -> None:
    """Entries name a known topic, known actions and client signals, counts, and reason placeholders
    that can be filled."""
    doc, parsed = part
    names: dict[str, set[str]] = {"clients": set(CLIENT_PLACEHOLDERS), "manager": set(kb.facts["manager"].fields),
                                  "param": set(kb.parameters)}
    choices = sorted(f"{f}.{n}" for f, ns in names.items() for n in ns)
    for j, entry in enumerate(doc.coaching_from_clients):
        path = ("coaching_from_clients", j)
        if entry.topic not in kb.coaching:
            diags.append(Diagnostic("unknown_coaching", f"unknown coaching topic `{entry.topic}`",
                                    parsed.locate((*path, "topic")), hint=suggest(entry.topic, kb.coaching)))
        for k, aid in enumerate(entry.match.actions):
            if aid not in kb.actions:
                diags.append(Diagnostic("unknown_action", f"unknown action `{aid}`",
                                        parsed.locate((*path, "match", "actions", k)), hint=suggest(aid, kb.actions)))
        for k, name in enumerate(entry.match.signals):
            at = parsed.locate((*path, "match", "signals", k))
            signal = kb.signals.get(name)
            if signal is None:
                diags.append(Diagnostic("unknown_signal", f"unknown signal `{name}`", at,
                                        hint=suggest(name, kb.signals)))
            elif signal.subject != "client":
                diags.append(Diagnostic("subject_mismatch", f"signal `{name}` is about a {signal.subject}, not a "
                                        "client", at, hint="match the signals the manager's clients hold"))
        _count(kb, entry.top, parsed.locate((*path, "top")), diags)
        _count(kb, entry.min_clients, parsed.locate((*path, "min_clients")), diags)
        for lang in ("zh", "en"):
            text = getattr(entry.reason, lang)
            at = parsed.locate((*path, "reason", lang))
            for _, fragment, meant in malformed(text):
                diags.append(Diagnostic("bad_template", f"`{fragment}` is not a placeholder", at,
                                        hint=f"did you mean `{meant}`?" if meant else "write {fact.field}"))
            for ref in placeholders(text):
                fact, _, name = ref.partition(".")
                if name not in names.get(fact, set()):
                    diags.append(Diagnostic("bad_template", f"placeholder `{{{ref}}}` cannot be filled", at,
                                            hint=suggest(ref, choices) or "use {clients.count}, {clients.top}, "
                                            "{clients.list}, {clients.actions}, {manager.field} or {param.name}"))


def quotes_not_found(files: Mapping[str, str], documents: Mapping[str, str]) -> list[Diagnostic]:
    """``quote_not_found`` for every provenance in the knowledge-base files (name -> YAML text: actions,
    coaching, reasons, scoring...) whose quote is not verbatim in its document's text (``documents``:
    id -> text). A document missing from ``documents`` is not looked into."""
    diags: list[Diagnostic] = []
    for name in sorted(files):
        parsed = parse_yaml(files[name], name)
        for path, prov in _provenances(parsed.data, ()):
            text = documents.get(prov["document"])
            if text is not None and prov["quote"] not in text:
                diags.append(Diagnostic("quote_not_found", f"the quote is not found verbatim in {prov['document']}",
                                        parsed.locate((*path, "quote")),
                                        hint="copy the quote from the document as it is written (same characters "
                                             "and punctuation)"))
    return diags


def _provenances(node: Any, path: tuple[Any, ...]) -> list[tuple[tuple[Any, ...], dict[str, str]]]:
    """Every ``provenance: {document, quote}`` mapping in a parsed document, with its path."""
    found: list[tuple[tuple[Any, ...], dict[str, str]]] = []
    if isinstance(node, dict):
        prov = node.get("provenance")
        if isinstance(prov, dict) and isinstance(prov.get("document"), str) and isinstance(prov.get("quote"), str):
            found.append(((*path, "provenance"), prov))
        for key, value in node.items():
            if key != "provenance":
                found.extend(_provenances(value, (*path, key)))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            found.extend(_provenances(value, (*path, i)))
    return found
