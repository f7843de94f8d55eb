"""Readable terminal output of decisions and diagnostics (rich)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console

from rm_advisor.engine.messages import N_, Translator

if TYPE_CHECKING:
    from rm_advisor.engine.errors import Diagnostic
    from rm_advisor.engine.language import (
        CoachingCard,
        Decision,
        Recommendation,
        RuleTrace,
        SignalTrace,
        SubjectDecision,
        Text,
    )


def text(t: Text, lang: str) -> str:
    if lang == "both":
        return f"{t.zh} / {t.en}"
    return str(getattr(t, lang))


def print_diagnostics(console: Console, diags: Iterable[Diagnostic]) -> None:
    for d in diags:
        style = "red" if d.severity == "error" else "yellow"
        # emoji=False: rich would turn a location such as `rules/x.yaml:100:7` into an emoji
        console.print(d.format(), style=style, markup=False, highlight=False, soft_wrap=True, emoji=False)


def print_decision(console: Console, decision: Decision, lang: str, explain: bool = True) -> None:
    """A decision as the terminal shows it, every heading and label in ``lang`` (zh, en or both)."""
    _, L_ = Translator(lang), Translator(lang, sep=" ")
    console.print("[bold]rm-advisor[/bold] " + _("revision {revision} · as of {as_of} · {firings} rule firings",
                                                 revision=decision.revision, as_of=decision.as_of,
                                                 firings=decision.firings), highlight=False)
    for group, label in ((decision.clients, L_("Client")), (decision.managers, L_("Manager"))):
        for subject in group:
            _subject(console, subject, label, lang, explain)


def _subject(console: Console, s: SubjectDecision, label: str, lang: str, explain: bool) -> None:
    L_ = Translator(lang, sep=" ")
    kind = L_("next-best-actions") if s.subject_type == "client" else L_("coaching")
    console.rule(f"[bold]{label} {s.id}[/bold] · {kind}", align="left")
    if not s.recommendations and not s.vetoed and not s.suppressed:
        console.print("   " + L_("(nothing recommended)"))
    for i, rec in enumerate(s.recommendations, 1):
        console.print(f" [bold]{i}. [{rec.score}] {text(rec.title, lang)}[/bold] [dim]({_detail(rec, lang)})[/dim]",
                      highlight=False)
        for r in rec.reasons:
            console.print("    [green]" + L_("why") + f"[/green] {text(r.text, lang)} [dim]({r.rule_id})[/dim]",
                          highlight=False)
        if rec.ranking is not None:
            console.print("    [magenta]" + L_("ranked") + f"[/magenta] {text(rec.ranking.text, lang)}",
                          highlight=False)
        if rec.card is not None:
            for line in card_lines(rec.card, lang, "    ", explain):
                console.print(line, highlight=False)
        if rec.alternatives and rec.cause:
            others = "; ".join(f"{text(a.title, lang)} [{a.score}]" for a in rec.alternatives)
            console.print("    [cyan]" + L_("or") + f"[/cyan] {others} [dim]({text(rec.cause, lang)})[/dim]",
                          highlight=False)
        if explain:
            for trace in rec.because:
                for line in trace_lines(trace, lang, "    "):
                    console.print(line, highlight=False)
    for rec in s.vetoed:
        console.print(f" [red]✗ [{rec.score}] {text(rec.title, lang)}[/red] [dim]({rec.id})[/dim]", highlight=False)
        for v in rec.vetoed_by:
            console.print("    [red]" + L_("vetoed by {rule}", rule=v.rule_id) + f"[/red]: {text(v.text, lang)}",
                          highlight=False)
    for rec in s.suppressed:
        console.print(f" [yellow]⏸ [{rec.score}] {text(rec.title, lang)}[/yellow] [dim]({rec.id})[/dim]",
                      highlight=False)
        for p in rec.suppressed_by:
            console.print("    [yellow]" + L_("suppressed by {policy}", policy=p.policy_id) + "[/yellow]: "
                          f"{text(p.text, lang)}", highlight=False)
    if s.to_confirm:
        _ = Translator(lang)
        heading = _("to confirm (missing facts that would bring more advice)")
        console.print(f" [cyan]{heading}[/cyan]", highlight=False)
        for item in s.to_confirm:
            rules = ", ".join(dict.fromkeys(u.rule_id for u in item.unlocks))
            console.print(f"   [cyan]?[/cyan] [{item.score}] {text(item.text, lang)} [dim]({rules})[/dim]",
                          highlight=False)
    if explain:
        for f in s.derived:
            console.print(" [dim]" + L_("from history") + f": {text(f.text, lang)}[/dim]", highlight=False)
    console.print()


def _detail(rec: Recommendation, lang: str) -> str:
    from rm_advisor.engine.language import ACTION_KIND_TITLES

    d = rec.details
    kind = ACTION_KIND_TITLES.get(d.get("action_kind", ""))
    extra = ([text(kind, lang) if kind else None, d.get("channel"), d.get("owner_role")] if rec.kind == "action"
             else [d.get("skill_area"), "/".join(d.get("formats", []))])
    return " · ".join(str(x) for x in [rec.id, *extra] if x)


#: how a trace shows a field that was unknown, by the rule's ``unknown:`` treatment
_UNKNOWN = {"match": N_("unknown, counted as match"), "no_match": N_("unknown, counted as no match")}


def trace_lines(trace: RuleTrace, lang: str, indent: str) -> list[str]:
    """A rule firing and the signal chain behind it, as rich-markup lines."""
    L_ = Translator(lang, sep=" ")

    def unknown(how: str) -> str:
        return L_(_UNKNOWN[how]) if how in _UNKNOWN else L_("unknown, counted as {how}", how=how.replace("_", " "))

    matched = ", ".join(f"{k}=" + (unknown(trace.unknown[k]) if k in trace.unknown else _value(v, L_))
                        for k, v in trace.matched.items())
    rule = L_("rule")
    out = [f"{indent}[dim]{rule} {trace.rule_id} ({trace.file}:{trace.line}) · {trace.provenance.document} "
           f"«{trace.provenance.quote}»[/dim]"]
    if matched:
        out.append(f"{indent}  [dim]" + L_("matched") + f" {matched}[/dim]")
    for rel, ids in trace.related.items():
        out.append(f"{indent}  [dim]" + L_("through {relation}", relation=rel) + f": {', '.join(ids)}[/dim]")
    for sig in trace.signals:
        out.extend(_signal_lines(sig, lang, indent + "  "))
    return out


def _value(v: object, L_: Translator) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return L_("(missing)") if v is None else str(v)


def _signal_lines(sig: SignalTrace, lang: str, indent: str) -> list[str]:
    L_ = Translator(lang, sep=" ")
    line = L_("signal {signal} ({title}) on {subject}", signal=sig.signal, title=text(sig.title, lang),
              subject=sig.subject)
    out = [f"{indent}[dim]⇐ {line}[/dim]"]
    for t in sig.asserted_by:
        out.extend(trace_lines(t, lang, indent + "  "))
    return out


#: the parts of a coaching card, as the terminal labels them
_CARD_LABELS = {"diagnosis": N_("diagnosis"), "next": N_("next"), "evidence": N_("evidence"), "review": N_("review")}
#: Keep / Start / Stop
_FORMS = {"keep": N_("Keep"), "start": N_("Start"), "stop": N_("Stop")}


def card_lines(card: CoachingCard, lang: str, indent: str, explain: bool = True) -> list[str]:
    """A coaching card as rich-markup lines: the diagnosis (metric against the team), the next
    behaviour in the Keep / Start / Stop form, the evidence (with ``explain``) and the review."""
    from rich.markup import escape

    L_ = Translator(lang, sep=" ")
    form = L_(_FORMS[card.next_behaviour.form])
    out = [f"{indent}[cyan]{L_(_CARD_LABELS['diagnosis'])}[/cyan] {escape(text(card.diagnosis, lang))}",
           f"{indent}[cyan]{L_(_CARD_LABELS['next'])}[/cyan] [bold]{form}[/bold]: "
           f"{escape(text(card.next_behaviour.text, lang))}"]
    if explain and card.evidence:
        shown = "; ".join(text(e.text, lang) for e in card.evidence)
        out.append(f"{indent}[cyan]{L_(_CARD_LABELS['evidence'])}[/cyan] [dim]{escape(shown)}[/dim]")
    out.append(f"{indent}[cyan]{L_(_CARD_LABELS['review'])}[/cyan] {escape(text(card.review.text, lang))}")
    return out
