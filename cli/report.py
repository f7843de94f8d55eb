"""The branch head's report for a portfolio run: one HTML page with KPIs, charts and per-manager
worklists and coaching (jinja2 template, matplotlib charts inlined as SVG).

What the page needs of the decisions is gathered per set of books (:func:`report_piece`, where the
books are written: in the calling process, or on each Dask worker for its buckets) into a
:class:`ReportPiece`; pieces add up with ``+``, in manager order, into the piece of the whole
portfolio, and the page is rendered from that and the checked tables."""

from __future__ import annotations

import io
import os
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")  # no screen: render to SVG only
import matplotlib.pyplot as plt
import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape

from rm_advisor.engine.inference import RuleBook
from rm_advisor.engine.messages import N_, Translator

if TYPE_CHECKING:
    from rm_advisor.engine.portfolio import ManagerResult, Partition, PortfolioTables

ROWS_PER_MANAGER = 15


#: the address of a server that serves the workspace pages (``/app/``); the report links to them when set
WORKSPACE_URL_ENV = "RM_ADVISOR_WORKSPACE_URL"


def workspace_url(value: str | None = None) -> str | None:
    """The workspace's base address (``value``, else ``$RM_ADVISOR_WORKSPACE_URL``) without a final
    slash; None when none is set or it is not an http(s) address: the report then links nowhere."""
    url = (value if value is not None else os.environ.get(WORKSPACE_URL_ENV, "")).strip().rstrip("/")
    return url if url.startswith(("http://", "https://")) and len(url) > len("https://") else None


#: the report's counts of a set of books that do not come from elsewhere (bad rows: the tables')
NUMBERS = ("clients", "managers", "planned", "deferred", "desk", "set_aside", "vetoed", "from_clients", "suppressed",
           "to_confirm")


@dataclass
class ReportPiece:
    """What the report needs of some books' decisions: how often each action, coaching topic and
    segment's signal was given (counted in the books' order: ties rank as they first came), the
    counts of :data:`NUMBERS`, and each manager's section of the page, in manager order. Two pieces
    add up (``+``) into the piece of their books together, the first's books before the second's."""

    actions: Counter[str] = field(default_factory=Counter)
    topics: Counter[str] = field(default_factory=Counter)
    signals: Counter[tuple[str, str]] = field(default_factory=Counter)
    numbers: dict[str, int] = field(default_factory=dict)
    managers: list[dict[str, Any]] = field(default_factory=list)

    def __add__(self, other: ReportPiece) -> ReportPiece:
        return ReportPiece(self.actions + other.actions, self.topics + other.topics, self.signals + other.signals,
                           {k: self.numbers.get(k, 0) + other.numbers.get(k, 0) for k in NUMBERS},
                           self.managers + other.managers)


def report_piece(results: list[ManagerResult], parts: list[Partition], lang: str = "both") -> ReportPiece:
    """The report's piece of ``results``, decided from the books ``parts`` (whose facts give each
    client's segment and each manager's name and score), its texts in ``lang``."""
    facts = {(t, str(f["id"])): f for p in parts for t in ("client", "manager") for f in p.facts[t]}
    signals: Counter[tuple[str, str]] = Counter()
    for m in results:
        for c in m.decision.clients:
            client = facts[("client", c.id)]
            cls = client.get("client_class")
            seg = str(client.get("domain")) + (f" {cls}" if isinstance(cls, str) else "")
            signals.update((seg, s.signal) for s in c.signals)
    numbers = {
        "clients": sum(len(m.decision.clients) for m in results), "managers": len(results),
        "planned": sum(1 for m in results for i in m.worklist.items if i.status == "planned"),
        "deferred": sum(1 for m in results for i in m.worklist.items if i.status == "deferred"),
        "desk": sum(len(m.worklist.desk) for m in results),
        "set_aside": sum(len(m.worklist.set_aside) for m in results),
        "vetoed": sum(len(c.vetoed) for m in results for c in m.decision.clients),
        "from_clients": sum(1 for m in results for d in m.decision.managers for r in d.recommendations
                            if any(x.startswith("from_clients.") for x in r.rules)),
        "suppressed": sum(len(c.suppressed) for m in results for c in m.decision.clients),
        "to_confirm": sum(len(d.to_confirm) for m in results for d in m.decision.clients + m.decision.managers),
    }
    return ReportPiece(Counter(r.id for m in results for c in m.decision.clients for r in c.recommendations),
                       Counter(r.id for m in results for d in m.decision.managers for r in d.recommendations),
                       signals, numbers, [_manager(m, facts[("manager", m.manager_id)], lang) for m in results])


def write_report(piece: ReportPiece, tables: PortfolioTables, path: Path, book: RuleBook, effect: Any = None,
                 lang: str = "both", as_of_note: str = "", pages_url: str | None = None) -> Path:
    """Render the report of the books ``piece`` gathers, decided from ``tables``, to ``path`` in
    ``lang`` (zh, en or both); ``effect`` (an effectiveness report from the decision log) adds
    acceptance rates and the rules managers keep rejecting; ``as_of_note`` says where the as-of
    date came from when no --as-of gave it.

    The template's strings come from the message catalogue through jinja2's i18n extension; the
    texts of the data (titles, reasons) are shown in the same language by ``pair``. With a workspace
    address (``pages_url``, else ``$RM_ADVISOR_WORKSPACE_URL``) each manager's worklist links to the
    manager's pages there; without one the file links nowhere and stays self-contained."""
    env = Environment(loader=PackageLoader("rm_advisor.cli", "templates"), autoescape=select_autoescape(["html", "j2"]),
                      extensions=["jinja2.ext.i18n"])
    L_ = Translator(lang, sep=" ")
    env.install_gettext_callables(L_.gettext, L_.ngettext, newstyle=True)  # type: ignore[attr-defined]
    html = env.get_template("report.html.j2").render(**report_context(piece, tables, book, lang),
                                                     effect=_effect(effect, book, lang), pair=lambda t: _pair(t, lang),
                                                     html_lang="en" if lang == "en" else "zh-CN",
                                                     as_of_note=as_of_note, pages_url=workspace_url(pages_url))
    path.write_text(html, encoding="utf-8")
    return path


def _pair(t: dict[str, str] | None, lang: str) -> Markup:
    """A text of the data (``{"zh": ..., "en": ...}``) in ``lang``; both: Chinese, English below it, muted."""
    if not t:
        return Markup("–")
    if lang in ("zh", "en"):
        return escape(t[lang])
    return escape(t["zh"]) + Markup('<br><span class="muted">') + escape(t["en"]) + Markup("</span>")


def _text(t: Any, lang: str) -> str:
    """A :class:`engine.language.Text` as one plain string in ``lang`` (both: ``zh · en``)."""
    return str(getattr(t, lang)) if lang in ("zh", "en") else f"{t.zh} · {t.en}"


def _zh_en(t: Any) -> dict[str, str]:
    return {"zh": t.zh, "en": t.en}


def report_context(piece: ReportPiece, tables: PortfolioTables, book: RuleBook, lang: str = "both") -> dict[str, Any]:
    """The template's values: the piece of every book, and the tables' date and bad rows."""
    kb = book.kb
    L_ = Translator(lang, sep=" ")
    actions, topics, n = piece.actions, piece.topics, piece.numbers
    summary = {
        "clients": n.get("clients", 0), "managers": n.get("managers", 0),
        "recommendations": sum(actions.values()), "coaching": sum(topics.values()), "bad_rows": tables.bad_rows,
        **{k: n.get(k, 0) for k in NUMBERS if k not in ("clients", "managers")},
    }
    charts = [
        # inside a chart the labels stay English (matplotlib's fonts may lack Chinese); captions follow ``lang``
        _bar({kb.actions[a].title.en: n for a, n in actions.most_common(12)}, N_("Top next-best-actions (count)"), L_),
        _bar({kb.coaching[t].title.en: n for t, n in topics.most_common(10)}, N_("Coaching by topic (managers)"), L_),
        _signals_chart(piece.signals, kb, L_),
        _bar(dict(Counter(kb.actions[a].channel for a in actions.elements()).most_common()),
             N_("Recommendations by channel"), L_),
    ]
    return {"as_of": tables.as_of.isoformat(), "revision": book.revision, "rules": len(book.rules),
            "s": summary, "charts": charts, "managers": piece.managers,
            "bad": [{"file": d.location.file, "line": d.location.line, "column": d.location.path, "code": d.code,
                     "message": d.message} for d in tables.diagnostics if d.severity == "error"][:50]}


def _manager(m: Any, row: Mapping[str, Any], lang: str) -> dict[str, Any]:
    """A manager's section of the page: ``m``'s worklist, coaching and what to confirm, and from
    the manager's facts (``row``) the name and the score."""
    L_ = Translator(lang, sep=" ")
    bank = row.get("domain") == "bank"
    score = row.get("credit_coop_points") if bank else row.get("assessment_score")
    wl = m.worklist
    coaching = [_coaching(r, lang) for d in m.decision.managers for r in d.recommendations]
    # what to confirm across the book, best first; at equal scores the manager's own before the clients'
    asks = sorted(((d, rank, t) for d in m.decision.managers + m.decision.clients
                   for rank, t in enumerate(d.to_confirm)), key=lambda x: (-x[2].score, x[0].subject_type != "manager",
                                                                          x[0].id, x[1]))
    return {"id": m.manager_id, "name": row.get("name", ""), "domain": row.get("domain"),
            "score": None if score is None or pd.isna(score) else round(float(score), 1),
            "score_label": L_("credit-coop points") if bank else L_("monthly score"),
            "capacity": wl.capacity, "used": wl.used, "coaching": coaching,
            "more": max(0, len(wl.items) - ROWS_PER_MANAGER),
            "rows": [_row(i, lang) for i in wl.items[:ROWS_PER_MANAGER]],
            "desk_more": max(0, len(wl.desk) - ROWS_PER_MANAGER),
            "desk": [_row(i, lang) for i in wl.desk[:ROWS_PER_MANAGER]],
            "set_aside": [{"client": _client(s.client_id, s.client_name), "contact": s.contact,
                           "action": _text(s.title, lang), "score": s.score, "reason": _zh_en(s.reason)}
                          for s in wl.set_aside[:ROWS_PER_MANAGER]],
            "set_aside_more": max(0, len(wl.set_aside) - ROWS_PER_MANAGER),
            "to_confirm": [{"subject": _subject(d, L_), "score": t.score, "text": _zh_en(t.text),
                            "fields": ", ".join(f"{_text(f.description, lang)} {f.fact}.{f.field}" for f in t.fields)}
                           for d, _, t in asks[:ROWS_PER_MANAGER]],
            "to_confirm_more": max(0, len(asks) - ROWS_PER_MANAGER)}


def _subject(d: Any, L_: Translator) -> str:
    return L_("manager") + f" {d.id}" if d.subject_type == "manager" else str(d.id)


#: Keep / Start / Stop as the report prints them (msgids of the catalogue, as the terminal's)
_FORMS = {"keep": N_("Keep"), "start": N_("Start"), "stop": N_("Stop")}


def _coaching(r: Any, lang: str) -> dict[str, Any]:
    """A coaching item as a report row: every reason (those from the clients' actions marked), and
    its card: the diagnosis against the team, the next behaviour, the review."""
    card = r.card
    reasons = [{"text": _zh_en(x.text), "from_clients": x.rule_id.startswith("from_clients.")} for x in r.reasons]
    out: dict[str, Any] = {"title": _zh_en(r.title), "score": r.score, "reasons": reasons,
                           "from_clients": any(x["from_clients"] for x in reasons), "card": None}
    if card is not None:
        bench = card.benchmark
        out["card"] = {
            "diagnosis": _zh_en(card.diagnosis), "standing": bench.standing if bench else None,
            "form": _FORMS[card.next_behaviour.form], "next": _zh_en(card.next_behaviour.text),
            "review": _zh_en(card.review.text)}
    return out


def _client(client_id: str, name: str | None) -> str:
    return f"{client_id} {name}" if name else client_id


def _row(i: Any, lang: str) -> dict[str, Any]:
    """A worklist item as a report row: duties (risk, obligation) are marked."""
    duty = any(k in ("risk", "obligation") for k in i.kinds)
    # the actions in one language (both: Chinese, as the worklist reads on a narrow column)
    return {"rank": i.rank, "status": i.status, "client": _client(i.client_id, i.client_name), "contact": i.contact,
            "actions": ", ".join(t.en if lang == "en" else t.zh for t in i.titles), "score": i.score, "duty": duty,
            "reason": _zh_en(i.reason)}


def _effect(effect: Any, book: RuleBook, lang: str = "both") -> dict[str, Any] | None:
    if effect is None:
        return None
    kb = book.kb

    def title(key: str) -> str:
        item = kb.actions.get(key) or kb.coaching.get(key)
        return _text(item.title, lang) if item else key

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


def _bar(data: dict[str, int], title: str, L_: Translator) -> dict[str, str]:
    fig, ax = plt.subplots(figsize=(6, 3.6))
    labels = list(data)[::-1]
    ax.barh(labels, [data[k] for k in labels], color="#4c78a8")
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=7)
    return {"svg": _svg(fig), "caption": L_(title)}


def _signals_chart(signals: Counter[tuple[str, str]], kb: Any, L_: Translator) -> dict[str, str]:
    frame = pd.Series(signals).unstack(fill_value=0) if signals else pd.DataFrame()
    title = N_("Signals by segment (domain and ABC class)")
    fig, ax = plt.subplots(figsize=(6, 3.6))
    if len(frame):
        top = frame.sum().sort_values(ascending=False).index[:8]
        frame[top].rename(columns=lambda s: kb.signals[s].title.en).plot.barh(stacked=True, ax=ax, width=.8)
        ax.legend(fontsize=6, loc="lower right")
    ax.set_title(title, fontsize=10)
    ax.tick_params(labelsize=7)
    return {"svg": _svg(fig), "caption": L_(title)}


def _svg(fig: Any) -> str:
    buf = io.StringIO()
    fig.tight_layout()
    fig.savefig(buf, format="svg")
    plt.close(fig)
    text = buf.getvalue()
    return text[text.index("<svg"):]
