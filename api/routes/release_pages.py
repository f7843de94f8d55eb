"""The workspace's Releases page: rule releases for rule authors and administrators, in zh or en.

``/app/releases`` lists the releases with their states, the diff summary of each (against the
revision serving when it was proposed, over the newest logged batch run or the sample portfolio)
and, for an administrator who did not propose a release, Approve and Reject buttons (with the
session's CSRF token; each confirmed in a dialog). The buttons do what ``POST
/v1/releases/{id}/approve`` and ``/reject`` do (:func:`api.routes.releases.activate`), then come
back to the page with a message.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import HTMLResponse, RedirectResponse, Response

from rm_advisor.api.access import CsrfChecked, PageUser, Principal
from rm_advisor.api.deps import LiveDep, StoreDep
from rm_advisor.api.problems import PROBLEMS, Problem
from rm_advisor.api.routes.pages import page_lang, render
from rm_advisor.api.routes.releases import APPROVERS, READERS, activate, reject_as
from rm_advisor.api.ruleset import LiveRuleSet
from rm_advisor.engine.errors import RuleError
from rm_advisor.engine.messages import N_, gettext_in
from rm_advisor.store import Store, StoreError

router = APIRouter(prefix="/app/releases", include_in_schema=False)

STATE_TEXT = {"proposed": N_("proposed"), "active": N_("active"), "rejected": N_("rejected"),
              "rolled_back": N_("rolled back"), "superseded": N_("superseded")}
EVENT_TEXT = {"proposed": N_("proposed"), "approved": N_("approved"), "rejected": N_("rejected"),
              "superseded": N_("superseded"), "rolled_back": N_("rolled back"), "reactivated": N_("reactivated"),
              "direct": N_("activated directly")}
BASIS_TEXT = {"decision_log": N_("the newest logged batch run"), "sample_portfolio": N_("the sample portfolio")}
DONE_TEXT = {"approved": N_("Release approved: it serves now"), "rejected": N_("Release rejected")}


@router.get("", response_class=HTMLResponse)
def releases_page(request: Request, principal: PageUser, store: StoreDep, live: LiveDep) -> Response:
    if principal.role not in READERS:
        lang = page_lang(request)
        return render(request, principal, "error.html.j2", status_code=403,
                      title=gettext_in(lang, PROBLEMS["forbidden"][1]),
                      detail=gettext_in(lang, N_("your role does not give access to this")))
    done = request.query_params.get("done")
    notice = gettext_in(page_lang(request), DONE_TEXT[done]) if done in DONE_TEXT else ""
    return render(request, principal, "releases.html.j2", releases=store.releases.list(), serving=live.revision,
                  may_decide=principal.role in APPROVERS, state_text=STATE_TEXT, event_text=EVENT_TEXT,
                  basis_text=BASIS_TEXT, notice=notice, section="releases")


@router.post("/{release_id}/{step}", dependencies=[CsrfChecked])
async def decide(request: Request, principal: PageUser, store: StoreDep, live: LiveDep,
                 release_id: Annotated[int, Path(ge=1, le=2**31 - 1)], step: str) -> Response:
    """The Approve and Reject buttons: back to the page with ``done`` or ``error`` (a problem code)."""
    body = (await request.body()).decode("utf-8", "replace")
    note = (parse_qs(body).get("note") or [""])[0][:2000] or None
    query = await run_in_threadpool(_decide, store, live, principal, release_id, step, note)
    return RedirectResponse(f"/app/releases?{query}", status_code=303)


def _decide(store: Store, live: LiveRuleSet, principal: Principal, release_id: int, step: str,
            note: str | None) -> str:
    try:
        if step == "approve":
            activate(store, live, principal, release_id, note)
            return "done=approved"
        if step == "reject":
            reject_as(store, principal, release_id, note)
            return "done=rejected"
        return "error=not_found"
    except Problem as exc:
        return f"error={exc.code}"
    except StoreError as exc:
        code = exc.diagnostics[0].code if exc.diagnostics else ""
        return f"error={code if code in PROBLEMS else 'invalid_request'}"
    except RuleError:
        return "error=rule_set_invalid"
