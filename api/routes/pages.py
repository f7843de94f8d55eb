"""The manager workspace: server-rendered pages under ``/app/`` over the read models of
:mod:`api.readmodels` (the same models ``/v1/worklists/...`` serves), in zh or en.

* ``/app/week`` (a manager's own week) and ``/app/week/{manager_id}``: the worklist under capacity,
  deferred contacts collapsed, each action with a "why" disclosure and Accept / Done / Snooze /
  Reject buttons that post feedback to the decision log (a rejection is confirmed first);
* ``/app/held/{manager_id}``: vetoed and suppressed items; ``/app/coaching/{manager_id}``: coaching;
* ``/app/clients/{client_id}``: profile, interactions, ranked actions, "why not" for any action;
* ``/app/team``: the branch head's team table with search and filters, drilling down to each week.

Every page needs a session (else a redirect to the login form); every form carries the session's
CSRF token; what a user may not see is the 404 page. Texts of the data are auto-escaped.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Query, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from rm_advisor.api.access import CsrfChecked, PageUser, Principal, managers_visible, require_manager, safe_next
from rm_advisor.api.deps import LoadedDep, StoreDep, negotiate
from rm_advisor.api.problems import PROBLEMS, Problem
from rm_advisor.api.readmodels import Workspace
from rm_advisor.api.routes.worklists import client_view, manager_decision, why_not_view
from rm_advisor.api.ruleset import LoadedRuleSet
from rm_advisor.engine.authoring import OUTCOME_TEXT
from rm_advisor.engine.messages import N_, Translator, gettext_in
from rm_advisor.store import FeedbackInput, Store, StoreError

router = APIRouter(prefix="/app", include_in_schema=False)

LANG_COOKIE = "rm_lang"
PAGE_LANGS = ("zh", "en")
_RECORDED = N_("Feedback recorded: {status}")
STATUS_TEXT = {"accepted": N_("accepted"), "rejected": N_("rejected"), "done": N_("done"), "snoozed": N_("snoozed")}
KIND_TEXT = {"risk": N_("risk"), "obligation": N_("obligation"), "service": N_("service"), "sales": N_("sales"),
             "coaching": N_("coaching")}
DOMAIN_TEXT = {"bank": N_("bank"), "tobacco": N_("tobacco"), "telecom": N_("telecom"), "generic": N_("generic")}
CONTACT_TEXT = {"visit": N_("visit"), "call": N_("call"), "desk": N_("desk work")}

_env = Environment(loader=PackageLoader("rm_advisor.web", "templates"), autoescape=select_autoescape(["html", "j2"]),
                   extensions=["jinja2.ext.i18n"])


def page_lang(request: Request) -> str:
    """zh or en: ``?lang=``, else the language cookie, else Accept-Language, else zh."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    lang = negotiate(asked, request.headers.get("accept-language"), "zh")
    return lang if lang in PAGE_LANGS else "zh"


def _pick(text: Any, lang: str) -> str:
    """A text of the data (a :class:`api.schemas.LocalText` or a zh/en mapping) in ``lang``."""
    if text is None:
        return ""
    value = text.get(lang) if isinstance(text, dict) else getattr(text, lang, None)
    return str(value or "")


def render(request: Request, principal: Principal | None, template: str, status_code: int = 200,
           **context: Any) -> HTMLResponse:
    """A page in the request's language; ``?lang=`` is remembered in a cookie."""
    lang = page_lang(request)
    tr = Translator(lang)
    env = _env.overlay()
    env.install_gettext_callables(tr.gettext, tr.ngettext, newstyle=True)  # type: ignore[attr-defined]
    query = {k: v for k, v in request.query_params.items() if k not in ("lang", "msg", "error")}
    here = request.url.path + (f"?{urlencode(query)}" if query else "")
    switch = {other: request.url.path + "?" + urlencode({**query, "lang": other}) for other in PAGE_LANGS}
    msg = request.query_params.get("msg")
    error = request.query_params.get("error")
    flash = (gettext_in(lang, _RECORDED).format(status=gettext_in(lang, STATUS_TEXT[msg]))
             if msg in STATUS_TEXT else "")
    problem = gettext_in(lang, PROBLEMS[error][1]) if error in PROBLEMS else ""
    html = env.get_template(template).render(
        lang=lang, html_lang="zh-CN" if lang == "zh" else "en", user=principal, here=here, switch=switch,
        t=lambda text: _pick(text, lang), flash=flash, problem=problem, status_text=STATUS_TEXT,
        contact_text=CONTACT_TEXT, kind_text=KIND_TEXT, domain_text=DOMAIN_TEXT, outcome_text=OUTCOME_TEXT,
        csrf=principal.csrf_token if principal else None, **context)
    response = HTMLResponse(html, status_code=status_code)
    if request.query_params.get("lang") in PAGE_LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="lax", httponly=True)
    return response


def _not_found(request: Request, principal: Principal, exc: Problem) -> HTMLResponse:
    status = PROBLEMS[exc.code][0]
    return render(request, principal, "error.html.j2", status_code=status, detail=exc.detail_in(page_lang(request)),
                  title=gettext_in(page_lang(request), PROBLEMS[exc.code][1]))


def _own(principal: Principal) -> str | None:
    return principal.manager_id if principal.role == "manager" else None


@router.get("/")
def home(principal: PageUser) -> Response:
    """A manager's own week; everyone else the team."""
    return RedirectResponse("/app/week" if _own(principal) else "/app/team", status_code=303)


def _manager_page(request: Request, principal: Principal, store: Any, loaded: Any, manager_id: str | None,
                  template: str, build: str) -> HTMLResponse:
    ws = Workspace(store, loaded.book.kb)
    if manager_id is None:
        return render(request, principal, "error.html.j2", status_code=404, title="",
                      detail=gettext_in(page_lang(request), N_("this account has no worklist of its own; open one "
                                                               "from the team page")))
    try:
        record = manager_decision(ws, principal, manager_id)
    except Problem as exc:
        return _not_found(request, principal, exc)
    lang = page_lang(request)
    view = getattr(ws, build)(record, manager_id, lang)
    return render(request, principal, template, view=view, manager_id=manager_id, section=build,
                  **_feedback_forms(loaded, lang, record.as_of))


def _feedback_forms(loaded: LoadedRuleSet, lang: str, as_of: dt.date) -> dict[str, Any]:
    """What the feedback forms offer: the rejection reasons that fit each action, the snooze dates."""
    kb = loaded.book.kb
    reasons = {a: [(r.id, _pick(r.title.model_dump(), lang)) for r in kb.feedback_reasons.values()
                   if "rejected" in r.statuses and r.fits(kb.actions[a])] for a in kb.actions}
    return {"reasons": reasons, "today": as_of.isoformat(),
            "snooze_default": (as_of + dt.timedelta(days=7)).isoformat()}


@router.get("/week", response_class=HTMLResponse)
def my_week(request: Request, principal: PageUser, store: StoreDep, loaded: LoadedDep) -> Response:
    return _manager_page(request, principal, store, loaded, _own(principal), "week.html.j2", "worklist")


@router.get("/week/{manager_id}", response_class=HTMLResponse)
def week(request: Request, manager_id: str, principal: PageUser, store: StoreDep, loaded: LoadedDep) -> Response:
    return _manager_page(request, principal, store, loaded, manager_id, "week.html.j2", "worklist")


@router.get("/held", response_class=HTMLResponse)
def my_held(request: Request, principal: PageUser, store: StoreDep, loaded: LoadedDep) -> Response:
    return _manager_page(request, principal, store, loaded, _own(principal), "held.html.j2", "held_back")


@router.get("/held/{manager_id}", response_class=HTMLResponse)
def held(request: Request, manager_id: str, principal: PageUser, store: StoreDep, loaded: LoadedDep) -> Response:
    return _manager_page(request, principal, store, loaded, manager_id, "held.html.j2", "held_back")


@router.get("/coaching", response_class=HTMLResponse)
def my_coaching(request: Request, principal: PageUser, store: StoreDep, loaded: LoadedDep) -> Response:
    return _manager_page(request, principal, store, loaded, _own(principal), "coaching.html.j2", "coaching")


@router.get("/coaching/{manager_id}", response_class=HTMLResponse)
def coaching(request: Request, manager_id: str, principal: PageUser, store: StoreDep, loaded: LoadedDep
             ) -> Response:
    return _manager_page(request, principal, store, loaded, manager_id, "coaching.html.j2", "coaching")


@router.get("/clients/{client_id}", response_class=HTMLResponse)
def client(request: Request, client_id: str, principal: PageUser, store: StoreDep, loaded: LoadedDep,
           item: Annotated[str | None, Query(max_length=200)] = None) -> Response:
    ws = Workspace(store, loaded.book.kb)
    lang = page_lang(request)
    try:
        view = client_view(ws, principal, client_id, lang)
        why_not = why_not_view(ws, principal, client_id, item, lang) if item else None
    except Problem as exc:
        return _not_found(request, principal, exc)
    if why_not is not None and request.headers.get("HX-Request"):
        return render(request, principal, "why_not.html.j2", why_not=why_not)
    return render(request, principal, "client.html.j2", view=view, why_not=why_not, manager_id=view.manager_id,
                  section="client", **_feedback_forms(loaded, lang, view.as_of))


@router.get("/team", response_class=HTMLResponse)
def team(request: Request, principal: PageUser, store: StoreDep, loaded: LoadedDep,
         q: Annotated[str, Query(max_length=200)] = "", domain: Annotated[str, Query(max_length=50)] = "",
         action: Annotated[str, Query(max_length=200)] = "",
         client_class: Annotated[str, Query(alias="class", max_length=5)] = "") -> Response:
    ws = Workspace(store, loaded.book.kb)
    lang = page_lang(request)
    view = ws.team(managers_visible(principal, store), lang)
    rows = [r for r in view.managers if (not q or q.lower() in r.manager_id.lower())
            and (not domain or r.domain == domain) and (not action or action in r.actions)
            and (not client_class or client_class in r.classes)]
    domains = sorted({r.domain for r in view.managers if r.domain})
    actions = sorted({a for r in view.managers for a in r.actions})
    titles = {a: _pick(loaded.book.kb.actions[a].title.model_dump(), lang) for a in actions
              if a in loaded.book.kb.actions}
    accepted = sum(r.accepted for r in rows)
    rejected = sum(r.rejected for r in rows)
    return render(request, principal, "team.html.j2", rows=rows, domains=domains, actions=actions, titles=titles,
                  filters={"q": q, "domain": domain, "action": action, "class": client_class},
                  acceptance=accepted / (accepted + rejected) if accepted + rejected else None,
                  accepted=accepted, rejected=rejected, section="team")


_FORM_FIELDS = ("decision_id", "subject", "item", "status", "reason_code", "until", "next")


@router.post("/feedback", dependencies=[CsrfChecked])
async def feedback(request: Request, principal: PageUser, store: StoreDep, loaded: LoadedDep) -> Response:
    """Feedback from a page's buttons, recorded as ``POST /v1/feedback`` records it; back to the page
    with a message. The form is read here (URL-encoded, as the pages send it)."""
    body = (await request.body()).decode("utf-8", "replace")
    form = {k: v[0] for k, v in parse_qs(body, keep_blank_values=True).items() if k in _FORM_FIELDS}
    flash = await run_in_threadpool(_record_feedback, principal, store, loaded, form)
    target = safe_next(form.get("next"))
    sep = "&" if "?" in target else "?"
    return RedirectResponse(f"{target}{sep}{urlencode(flash)}", status_code=303)


def _record_feedback(principal: Principal, store: Store, loaded: LoadedRuleSet, form: dict[str, str]
                     ) -> dict[str, str]:
    """Record the form's feedback; the message to show: ``msg`` (the status) or ``error`` (a problem code)."""
    try:
        record = store.decisions.get(form.get("decision_id", ""))
        for manager in record.input.get(loaded.book.kb.facts["manager"].plural, []):
            require_manager(principal, str(manager.get("id")), store)
        fb = FeedbackInput.model_validate({
            "decision_id": record.id, "subject": form.get("subject", ""), "item": form.get("item", ""),
            "status": form.get("status", ""), "reason_code": form.get("reason_code") or None,
            "until": form.get("until") or None, "manager_id": principal.manager_id})
        kb = loaded.book.kb
        store.feedback.add(fb, source="api", reasons=kb.feedback_reasons, actions=kb.actions)
        return {"msg": fb.status}
    except Problem as exc:
        return {"error": exc.code}
    except StoreError as exc:
        code = exc.diagnostics[0].code if exc.diagnostics else ""
        return {"error": code if code in PROBLEMS else "invalid_request"}
    except ValueError:  # pydantic's ValidationError: a status or date the form should not have sent
        return {"error": "feedback_bad_value"}
