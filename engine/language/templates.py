"""Reason templates: ``{client.days_since_last_visit}`` placeholders filled from fact values.

A placeholder is ``{fact.field}``, or ``{fact.field|fallback}`` with the text to show when the
value is missing (``{client.referrals_given|未记录}``, ``{client.referrals_given|not recorded}``).
Values are shown as a person reads them, in the text's language: an enum value as its label from
the fact schema (``low_awareness`` → 已开通但不熟悉 · set up but little understood), a boolean as
是/否 · yes/no (or the field's own labels), a number as a number (``12``, ``72.5``, never ``12.0``),
a date as ``2027-01-10``. A missing value shows the placeholder's fallback, else the field's
``when_missing`` text, else :data:`UNRECORDED`; :func:`render` reports that last case as a hole,
which ``rm-advisor check`` makes impossible in checked rules (``missing_fallback``).

Filling is a plain substitution of known placeholders; template text is never evaluated or passed
to ``str.format`` (which could reach attributes).
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rm_advisor.engine.language.knowledge import FieldSpec, KnowledgeBase, Text

Lang = Literal["zh", "en"]

_REF = r"[a-z][a-z_]*\.[a-z][a-z0-9_]*"
#: ``{fact.field}`` or ``{fact.field|fallback}``: a fallback is text without braces or ``|``, not blank.
_PLACEHOLDER = re.compile(r"\{(" + _REF + r")(?:\|([^{}|]*[^\s{}|][^{}|]*))?\}")
#: A brace that is not part of a placeholder, with what follows it up to the next brace.
_STRAY = re.compile(r"\{[^{}]*\}?|\}")
_REF_START = re.compile(r"\{+\s*(" + _REF + ")")
_CJK = re.compile(r"[\u4e00-\u9fff]")
#: What a missing value without a fallback shows (a hole: :func:`render` reports it).
UNRECORDED: dict[Lang, str] = {"zh": "未记录", "en": "not recorded"}


@dataclass(frozen=True)
class Placeholder:
    """One ``{fact.field}`` or ``{fact.field|fallback}`` of a template, where it sits in the text."""

    ref: str
    fallback: str | None
    start: int
    end: int

    @property
    def fact(self) -> str:
        return self.ref.partition(".")[0]

    @property
    def field(self) -> str:
        return self.ref.partition(".")[2]


@dataclass(frozen=True)
class Filled:
    """A filled template: the text, and the placeholders that had neither a value nor a fallback
    (each shown as :data:`UNRECORDED`)."""

    text: str
    holes: tuple[str, ...] = ()


def parse(text: str) -> list[Placeholder]:
    """The placeholders of a template, in order."""
    return [p for _, p, _, _ in _compiled(text)[0]]


@functools.lru_cache(maxsize=8192)
def _compiled(text: str) -> tuple[tuple[tuple[str, Placeholder, str, str], ...], str]:
    """A template cut once (rule texts are filled for every firing): per placeholder the literal text
    before it, the placeholder, its fact type and field; then the text after the last one."""
    out, at = [], 0
    for m in _PLACEHOLDER.finditer(text):
        p = Placeholder(m.group(1), m.group(2), m.start(), m.end())
        out.append((text[at:p.start], p, p.fact, p.field))
        at = p.end
    return tuple(out), text[at:]


def placeholders(text: str) -> list[str]:
    """The ``fact.field`` references a template uses, in order."""
    return [p.ref for p in parse(text)]


def pieces(text: str) -> list[str]:
    """``text`` cut at its placeholders: literal text at even positions (possibly empty), the
    ``fact.field`` references at odd ones; ``"".join`` of the literals and filled values is :func:`fill`."""
    out, at = [], 0
    for p in parse(text):
        out += [text[at:p.start], p.ref]
        at = p.end
    return [*out, text[at:]]


def literal_text(text: str) -> str:
    """The template's own words: ``text`` without its placeholders (and their fallbacks)."""
    return _PLACEHOLDER.sub("", text)


def malformed(text: str) -> list[tuple[int, str, str]]:
    """Braces that are not a placeholder (``{client.name!r:>10}``, ``{ client.name }``,
    ``{Client.Name}``, ``{client.name|}``, a lone ``{`` or ``}``): ``(offset, fragment, the placeholder
    it may mean or "")`` for each, in order. :func:`fill` leaves them as written, so a checker refuses them."""
    rest = _PLACEHOLDER.sub(lambda m: " " * len(m.group(0)), text)
    out = []
    for m in _STRAY.finditer(rest):
        fragment = text[m.start():m.end()]
        ref = _REF_START.match(fragment)
        out.append((m.start(), fragment, "{" + ref.group(1) + "}" if ref else ""))
    return out


def language(text: str) -> Lang:
    """The language a template is written in: zh when it has Chinese in it, else en."""
    return "zh" if _CJK.search(text) else "en"


def field_spec(kb: KnowledgeBase | None, ref: str) -> FieldSpec | None:
    """The schema of the field ``ref`` (``client.tier``) names, if ``kb`` defines it."""
    fact, _, name = ref.partition(".")
    spec = kb.facts.get(fact) if kb is not None else None
    return spec.fields.get(name) if spec is not None else None


def when_missing(p: Placeholder, spec: FieldSpec | None, lang: Lang) -> tuple[str, bool]:
    """What ``p`` shows for a missing value, and whether that is a hole (no fallback, no
    ``when_missing`` text in the schema)."""
    if p.fallback is not None:
        return p.fallback, False
    if spec is not None and spec.when_missing is not None:
        return getattr(spec.when_missing, lang), False
    return UNRECORDED[lang], True


def show(value: Any, spec: FieldSpec | None, lang: Lang) -> str:
    """A present value as a person reads it in ``lang`` (a label, yes or no, a plain number)."""
    if isinstance(value, Text):  # a knowledge-base text ({deadline.cost}): the reader's language
        return str(getattr(value, lang))
    label = spec.label(value) if spec is not None else None
    if label is not None:
        return str(getattr(label, lang))
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return f"{value:.2f}".rstrip("0").rstrip(".")
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    return str(value)


def render(text: str, facts: Mapping[str, Mapping[str, Any] | None], lang: Lang | None = None,
           kb: KnowledgeBase | None = None) -> Filled:
    """Fill ``text`` from ``facts`` (fact type -> its values, ``param`` -> parameter values) in
    ``lang`` (default: :func:`language` of the text), with the labels of ``kb``'s fact schema."""
    lang = lang or language(text)
    parts, tail = _compiled(text)
    if not parts:
        return Filled(text)
    out: list[str] = []
    holes: list[str] = []
    for i, (before, p, fact, name) in enumerate(parts):
        out.append(before)
        spec = field_spec(kb, p.ref)
        value = (facts.get(fact) or {}).get(name)
        if value is None:
            shown, hole = when_missing(p, spec, lang)
            if hole:
                holes.append(p.ref)
            worded = True
        else:
            shown = show(value, spec, lang)
            worded = (spec is not None and spec.label(value) is not None) or isinstance(value, bool)
        if i == 0 and p.start == 0 and lang == "en" and worded:
            shown = shown[:1].upper() + shown[1:]  # a sentence starts with a capital letter
        out.append(shown)
    out.append(tail)
    return Filled("".join(out), tuple(holes))


def fill(text: str, facts: Mapping[str, Mapping[str, Any] | None], lang: Lang | None = None,
         kb: KnowledgeBase | None = None) -> str:
    """The text of :func:`render`."""
    return render(text, facts, lang, kb).text
