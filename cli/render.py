"""Readable terminal output of decisions and diagnostics (rich)."""

from __future__ import annotations

from typing import Iterable

from rich.console import Console
from rich.table import Table
from rich.tree import Tree

from engine.decision import Decision, Recommendation, RuleTrace, SignalTrace, SubjectDecision
from engine.errors import Diagnostic


def text(t: object, lang: str) -> str:
    if lang == "both":
        return f"{getattr(t, 'zh')} / {getattr(t, 'en')}"
    return str(getattr(t, lang))


def print_diagnostics(console: Console, diags: Iterable[Diagnostic]) -> None:
    for d in diags:
        style = "red" if d.severity == "error" else "yellow"
        console.print(d.format(), style=style, markup=False, highlight=False, soft_wrap=True)


def print_decision(console: Console, decision: Decision, lang: str, explain: bool = True) -> None:
    console.print(f"[bold]rm-advisor[/bold] revision {decision.revision} · as of {decision.as_of} · "
                  f"{decision.firings} rule firings", highlight=False)
    for group, label in ((decision.clients, "Client" if lang == "en" else "客户"),
                         (decision.managers, "Manager" if lang == "en" else "客户经理")):
        for subject in group:
            _subject(console, subject, label, lang, explain)


def _subject(console: Console, s: SubjectDecision, label: str, lang: str, explain: bool) -> None:
    kind = "next-best-actions" if s.subject_type == "client" else "coaching"
    table = Table(title=f"{label} {s.id} — {kind}", title_justify="left", show_lines=explain)
    table.add_column("#", justify="right")
    table.add_column("recommendation")
    table.add_column("score", justify="right")
    table.add_column("why")
    for i, rec in enumerate(s.recommendations, 1):
        table.add_row(str(i), _rec_title(rec, lang), str(rec.score), _why(rec, lang, explain))
    for rec in s.vetoed:
        blocked = "; ".join(text(v.text, lang) for v in rec.vetoed_by)
        table.add_row("✗", f"[strike]{_rec_title(rec, lang)}[/strike]", str(rec.score),
                      f"vetoed by {', '.join(v.rule_id for v in rec.vetoed_by)}: {blocked}")
    if not s.recommendations and not s.vetoed:
        table.add_row("-", "(nothing recommended)", "", "")
    console.print(table)


def _rec_title(rec: Recommendation, lang: str) -> str:
    return f"{text(rec.title, lang)}\n[dim]{rec.id}[/dim]"


def _why(rec: Recommendation, lang: str, explain: bool) -> str:
    lines = [f"• {text(r.text, lang)} [dim]({r.rule_id})[/dim]" for r in rec.reasons]
    if explain:
        for trace in rec.because:
            lines.extend(_trace_lines(trace, lang, "  "))
    return "\n".join(lines)


def _trace_lines(trace: RuleTrace, lang: str, indent: str) -> list[str]:
    matched = ", ".join(f"{k}={v}" for k, v in trace.matched.items())
    out = [f"{indent}[dim]{trace.rule_id} @ {trace.file}:{trace.line} · {trace.provenance.document} "
           f"«{trace.provenance.quote}»[/dim]"]
    if matched:
        out.append(f"{indent}  [dim]matched {matched}[/dim]")
    for rel, ids in trace.related.items():
        out.append(f"{indent}  [dim]through {rel}: {', '.join(ids)}[/dim]")
    for sig in trace.signals:
        out.extend(_signal_lines(sig, lang, indent + "  "))
    return out


def _signal_lines(sig: SignalTrace, lang: str, indent: str) -> list[str]:
    out = [f"{indent}[dim]⇐ signal {sig.signal} ({text(sig.title, lang)}) on {sig.subject}[/dim]"]
    for t in sig.asserted_by:
        out.extend(_trace_lines(t, lang, indent + "  "))
    return out


def signal_tree(sig: SignalTrace, lang: str) -> Tree:
    tree = Tree(f"{sig.signal}: {text(sig.title, lang)}")
    for t in sig.asserted_by:
        tree.add(t.rule_id)
    return tree
