"""Readable terminal output of decisions and diagnostics (rich)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from rich.console import Console

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
    console.print(f"[bold]rm-advisor[/bold] revision {decision.revision} · as of {decision.as_of} · "
                  f"{decision.firings} rule firings", highlight=False)
    for group, label in ((decision.clients, "Client" if lang == "en" else "客户"),
                         (decision.managers, "Manager" if lang == "en" else "客户经理")):
        for subject in group:
            _subject(console, subject, label, lang, explain)


def _subject(console: Console, s: SubjectDecision, label: str, lang: str, explain: bool) -> None:
    kind = "next-best-actions 下一步行动" if s.subject_type == "client" else "coaching 辅导"
    console.rule(f"[bold]{label} {s.id}[/bold] · {kind}", align="left")
    if not s.recommendations and not s.vetoed and not s.suppressed:
        console.print("   (nothing recommended)")
    for i, rec in enumerate(s.recommendations, 1):
        console.print(f" [bold]{i}. [{rec.score}] {text(rec.title, lang)}[/bold] [dim]({_detail(rec, lang)})[/dim]",
                      highlight=False)
        for r in rec.reasons:
            console.print(f"    [green]why[/green] {text(r.text, lang)} [dim]({r.rule_id})[/dim]", highlight=False)
        if rec.card is not None:
            for line in card_lines(rec.card, lang, "    ", explain):
                console.print(line, highlight=False)
        if rec.alternatives and rec.cause:
            label = {"en": "or", "zh": "或"}.get(lang, "或 / or")
            others = "; ".join(f"{text(a.title, lang)} [{a.score}]" for a in rec.alternatives)
            console.print(f"    [cyan]{label}[/cyan] {others} [dim]({text(rec.cause, lang)})[/dim]", highlight=False)
        if explain:
            for trace in rec.because:
                for line in trace_lines(trace, lang, "    "):
                    console.print(line, highlight=False)
    for rec in s.vetoed:
        console.print(f" [red]✗ [{rec.score}] {text(rec.title, lang)}[/red] [dim]({rec.id})[/dim]", highlight=False)
        for v in rec.vetoed_by:
            console.print(f"    [red]vetoed by {v.rule_id}[/red]: {text(v.text, lang)}", highlight=False)
    for rec in s.suppressed:
        console.print(f" [yellow]⏸ [{rec.score}] {text(rec.title, lang)}[/yellow] [dim]({rec.id})[/dim]",
                      highlight=False)
        for p in rec.suppressed_by:
            console.print(f"    [yellow]suppressed by {p.policy_id}[/yellow]: {text(p.text, lang)}", highlight=False)
    if s.to_confirm:
        console.print(f" [cyan]{_TO_CONFIRM.get(lang, '待确认 / to confirm')}[/cyan]", highlight=False)
        for item in s.to_confirm:
            rules = ", ".join(dict.fromkeys(u.rule_id for u in item.unlocks))
            console.print(f"   [cyan]?[/cyan] [{item.score}] {text(item.text, lang)} [dim]({rules})[/dim]",
                          highlight=False)
    if explain:
        for f in s.derived:
            label = {"en": "from history", "zh": "由历史记录"}.get(lang, "由历史记录 / from history")
            console.print(f" [dim]{label}: {text(f.text, lang)}[/dim]", highlight=False)
    console.print()


#: the heading of the missing facts that would bring more advice
_TO_CONFIRM = {"en": "to confirm (missing facts that would bring more advice)",
               "zh": "待确认(补齐后可带来更多建议的缺失信息)"}


def _detail(rec: Recommendation, lang: str) -> str:
    from rm_advisor.engine.language import ACTION_KIND_TITLES

    d = rec.details
    kind = ACTION_KIND_TITLES.get(d.get("action_kind", ""))
    extra = ([text(kind, lang) if kind else None, d.get("channel"), d.get("owner_role")] if rec.kind == "action"
             else [d.get("skill_area"), "/".join(d.get("formats", []))])
    return " · ".join(str(x) for x in [rec.id, *extra] if x)


def trace_lines(trace: RuleTrace, lang: str, indent: str) -> list[str]:
    """A rule firing and the signal chain behind it, as rich-markup lines."""
    matched = ", ".join(f"{k}=" + (f"unknown, counted as {trace.unknown[k].replace('_', ' ')}" if k in trace.unknown
                                   else _value(v)) for k, v in trace.matched.items())
    out = [f"{indent}[dim]rule {trace.rule_id} ({trace.file}:{trace.line}) · {trace.provenance.document} "
           f"«{trace.provenance.quote}»[/dim]"]
    if matched:
        out.append(f"{indent}  [dim]matched {matched}[/dim]")
    for rel, ids in trace.related.items():
        out.append(f"{indent}  [dim]through {rel}: {', '.join(ids)}[/dim]")
    for sig in trace.signals:
        out.extend(_signal_lines(sig, lang, indent + "  "))
    return out


def _value(v: object) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    return "(missing)" if v is None else str(v)


def _signal_lines(sig: SignalTrace, lang: str, indent: str) -> list[str]:
    out = [f"{indent}[dim]⇐ signal {sig.signal} ({text(sig.title, lang)}) on {sig.subject}[/dim]"]
    for t in sig.asserted_by:
        out.extend(trace_lines(t, lang, indent + "  "))
    return out


#: the parts of a coaching card, as the terminal labels them
_CARD_LABELS = {"diagnosis": ("诊断", "diagnosis"), "next": ("下一步", "next"), "evidence": ("事实", "evidence"),
                "review": ("复查", "review")}
_FORMS = {"keep": ("保持", "Keep"), "start": ("开始", "Start"), "stop": ("停止", "Stop")}


def _label(pair: tuple[str, str], lang: str) -> str:
    return pair[0] if lang == "zh" else pair[1] if lang == "en" else f"{pair[0]} {pair[1]}"


def card_lines(card: CoachingCard, lang: str, indent: str, explain: bool = True) -> list[str]:
    """A coaching card as rich-markup lines: the diagnosis (metric against the team), the next
    behaviour in the Keep / Start / Stop form, the evidence (with ``explain``) and the review."""
    from rich.markup import escape

    form = _label(_FORMS[card.next_behaviour.form], lang)
    out = [f"{indent}[cyan]{_label(_CARD_LABELS['diagnosis'], lang)}[/cyan] {escape(text(card.diagnosis, lang))}",
           f"{indent}[cyan]{_label(_CARD_LABELS['next'], lang)}[/cyan] [bold]{form}[/bold]: "
           f"{escape(text(card.next_behaviour.text, lang))}"]
    if explain and card.evidence:
        shown = "; ".join(text(e.text, lang) for e in card.evidence)
        out.append(f"{indent}[cyan]{_label(_CARD_LABELS['evidence'], lang)}[/cyan] [dim]{escape(shown)}[/dim]")
    out.append(f"{indent}[cyan]{_label(_CARD_LABELS['review'], lang)}[/cyan] {escape(text(card.review.text, lang))}")
    return out
