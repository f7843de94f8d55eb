"""The branch head's report for a portfolio run: one HTML page with KPIs, charts and per-manager
worklists and coaching (jinja2 template, matplotlib charts inlined as SVG)."""

from __future__ import annotations

import io
from collections import Counter
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # no screen: render to SVG only
import matplotlib.pyplot as plt
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from rm_advisor.engine.inference import RuleBook
from rm_advisor.engine.portfolio import PortfolioRun

ROWS_PER_MANAGER = 15


def write_report(run: PortfolioRun, path: Path, book: RuleBook, effect: Any = None, as_of_note: str = "") -> Path:
    """Render the report for ``run`` to ``path``; ``effect`` (an effectiveness report from the
    decision log) adds acceptance rates and the rules managers keep rejecting; ``as_of_note`` says
    where the as-of date came from when no --as-of gave it ("today: no --as-of")."""
    env = Environment(loader=PackageLoader("rm_advisor.cli", "templates"), autoescape=select_autoescape(["html", "j2"]))
    html = env.get_template("report.html.j2").render(**report_context(run, book), effect=_effect(effect, book),
                                                     as_of_note=as_of_note)
    path.write_text(html, encoding="utf-8")
    return path


def report_context(run: PortfolioRun, book: RuleBook) -> dict[str, Any]:
    kb = book.kb
    actions = Counter(r.id for m in run.results for c in m.decision.clients for r in c.recommendations)
    topics = Counter(r.id for m in run.results for d in m.decision.managers for r in d.recommendations)
    segment = run.derived.clients.get("client_class", pd.Series(dtype=object))
    signals: Counter[tuple[str, str]] = Counter()
    for m in run.results:
        for c in m.decision.clients:
            cls = segment.get(c.id)
            seg = str(run.derived.clients.at[c.id, "domain"]) + (f" {cls}" if isinstance(cls, str) else "")
            signals.update((seg, s.signal) for s in c.signals)
    summary = {
        "clients": sum(len(m.decision.clients) for m in run.results), "managers": len(run.results),
        "recommendations": sum(actions.values()), "coaching": sum(topics.values()), "bad_rows": run.tables.bad_rows,
        "planned": sum(1 for m in run.results for i in m.worklist.items if i.status == "planned"),
        "deferred": sum(1 for m in run.results for i in m.worklist.items if i.status == "deferred"),
        "desk": sum(len(m.worklist.desk) for m in run.results),
        "set_aside": sum(len(m.worklist.set_aside) for m in run.results),
        "vetoed": sum(len(c.vetoed) for m in run.results for c in m.decision.clients),
        "from_clients": sum(1 for m in run.results for d in m.decision.managers for r in d.recommendations
                            if any(x.startswith("from_clients.") for x in r.rules)),
        "suppressed": sum(len(c.suppressed) for m in run.results for c in m.decision.clients),
        "to_confirm": sum(len(d.to_confirm) for m in run.results for d in m.decision.clients + m.decision.managers),
    }
    charts = [
        _bar({kb.actions[a].title.en: n for a, n in actions.most_common(12)}, "Top next-best-actions (count)"),
        _bar({kb.coaching[t].title.en: n for t, n in topics.most_common(10)}, "Coaching by topic (managers)"),
        _signals_chart(signals, kb),
        _bar(dict(Counter(kb.actions[a].channel for a in actions.elements()).most_common()),
             "Recommendations by channel"),
    ]
    return {"as_of": run.tables.as_of.isoformat(), "revision": book.revision, "rules": len(book.rules),
            "s": summary, "charts": charts, "managers": [_manager(m, run, kb) for m in run.results],
            "bad": [{"file": d.location.file, "line": d.location.line, "column": d.location.path, "code": d.code,
                     "message": d.message} for d in run.tables.diagnostics if d.severity == "error"][:50]}


def _manager(m: Any, run: PortfolioRun, kb: Any) -> dict[str, Any]:
    row = run.derived.managers.loc[m.manager_id]
    bank = row.get("domain") == "bank"
    score = row.get("credit_coop_points") if bank else row.get("assessment_score")
    wl = m.worklist
    coaching = [_coaching(r) for d in m.decision.managers for r in d.recommendations]
    # what to confirm across the book, best first; at equal scores the manager's own before the clients'
    asks = sorted(((d, rank, t) for d in m.decision.managers + m.decision.clients
                   for rank, t in enumerate(d.to_confirm)), key=lambda x: (-x[2].score, x[0].subject_type != "manager",
                                                                          x[0].id, x[1]))
    return {"id": m.manager_id, "name": row.get("name", ""), "domain": row.get("domain"),
            "score": None if score is None or pd.isna(score) else round(float(score), 1),
            "score_label": "信用社积分 credit-coop points" if bank else "月度考核 monthly score",
            "capacity": wl.capacity, "used": wl.used, "coaching": coaching,
            "more": max(0, len(wl.items) - ROWS_PER_MANAGER), "rows": [_row(i) for i in wl.items[:ROWS_PER_MANAGER]],
            "desk_more": max(0, len(wl.desk) - ROWS_PER_MANAGER), "desk": [_row(i) for i in wl.desk[:ROWS_PER_MANAGER]],
            "set_aside": [{"client": _client(s.client_id, s.client_name), "contact": s.contact,
                           "action": f"{s.title.zh} · {s.title.en}", "score": s.score, "reason_zh": s.reason.zh,
                           "reason_en": s.reason.en} for s in wl.set_aside[:ROWS_PER_MANAGER]],
            "set_aside_more": max(0, len(wl.set_aside) - ROWS_PER_MANAGER),
            "to_confirm": [{"subject": _subject(d), "score": t.score, "text_zh": t.text.zh, "text_en": t.text.en,
                            "fields": ", ".join(f"{f.description.zh} {f.fact}.{f.field}" for f in t.fields)}
                           for d, _, t in asks[:ROWS_PER_MANAGER]],
            "to_confirm_more": max(0, len(asks) - ROWS_PER_MANAGER)}


def _subject(d: Any) -> str:
    return f"客户经理 manager {d.id}" if d.subject_type == "manager" else d.id


#: Keep / Start / Stop as the report prints them
_FORMS = {"keep": "保持 Keep", "start": "开始 Start", "stop": "停止 Stop"}


def _coaching(r: Any) -> dict[str, Any]:
    """A coaching item as a report row: every reason (those from the clients' actions marked), and
    its card: the diagnosis against the team, the next behaviour, the review."""
    card = r.card
    reasons = [{"zh": x.text.zh, "en": x.text.en, "from_clients": x.rule_id.startswith("from_clients.")}
               for x in r.reasons]
    out: dict[str, Any] = {"zh": r.title.zh, "en": r.title.en, "score": r.score, "reasons": reasons,
                           "from_clients": any(x["from_clients"] for x in reasons), "card": None}
    if card is not None:
        bench = card.benchmark
        out["card"] = {
            "diagnosis_zh": card.diagnosis.zh, "diagnosis_en": card.diagnosis.en,
            "benchmark_zh": bench.text.zh if bench else "没有可比的团队基准",
            "benchmark_en": bench.text.en if bench else "no team benchmark",
            "standing": bench.standing if bench else None,
            "form": _FORMS[card.next_behaviour.form], "next_zh": card.next_behaviour.text.zh,
            "next_en": card.next_behaviour.text.en, "review_zh": card.review.text.zh,
            "review_en": card.review.text.en}
    return out


def _client(client_id: str, name: str | None) -> str:
    return f"{client_id} {name}" if name else client_id


def _row(i: Any) -> dict[str, Any]:
    """A worklist item as a report row: duties (risk, obligation) are marked."""
    duty = any(k in ("risk", "obligation") for k in i.kinds)
    return {"rank": i.rank, "status": i.status, "client": _client(i.client_id, i.client_name), "contact": i.contact,
            "actions": ", ".join(t.zh for t in i.titles), "score": i.score, "duty": duty,
            "reason_zh": i.reason.zh, "reason_en": i.reason.en}


def _effect(effect: Any, book: RuleBook) -> dict[str, Any] | None:
    if effect is None:
        return None
    kb = book.kb

    def title(key: str) -> str:
        item = kb.actions.get(key) or kb.coaching.get(key)
        return f"{item.title.zh} · {item.title.en}" if item else key

    def rows(items: list[Any], named: bool = False) -> list[dict[str, Any]]:
        return [{"key": title(r.key) if named else r.key, "recommended": r.recommended, "answered": r.answered,
                 "acceptance": _pct(r.acceptance_rate), "rejection": _pct(r.rejection_rate),
                 "completion": _pct(r.completion_rate), "reason": r.top_reason or ""}
                for r in sorted(items, key=lambda r: (-r.answered, r.key))[:12]]
    return {"since": effect.since, "until": effect.until, "decisions": effect.decisions,
            "total": rows([effect.total])[0], "by_action": rows(effect.by_action, named=True),
            "by_rule": rows(effect.by_rule), "noisy": rows(effect.noisy_rules), "thresholds": effect.thresholds}


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _bar(data: dict[str, int], title: str) -> dict[str, str]:
    fig, ax = plt.subplots(figsize=(6, 3.6))
    labels = list(data)[::-1]
    ax.barh(labels, [data[k] for k in labels], color="#4c78a8")
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=7)
    return {"svg": _svg(fig), "caption": title}


def _signals_chart(signals: Counter[tuple[str, str]], kb: Any) -> dict[str, str]:
    frame = pd.Series(signals).unstack(fill_value=0) if signals else pd.DataFrame()
    title = "Signals by segment (domain and ABC class)"
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if len(frame):
        top = frame.sum().sort_values(ascending=False).index[:8]
        frame[top].rename(columns=lambda s: kb.signals[s].title.en).plot.barh(stacked=True, ax=ax, width=.8)
        ax.legend(fontsize=6, loc="lower right")
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=7)
    return {"svg": _svg(fig), "caption": title}


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]
