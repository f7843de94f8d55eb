"""Logging in and out: ``GET /login`` (the form), ``POST /login``, ``POST /logout``.

* The login form carries a CSRF token of its own: ``GET /login`` sets a pre-session cookie
  (``rm_login_csrf``, HttpOnly, SameSite=Strict, 15 minutes) and puts the same value in a hidden
  field; ``POST /login`` needs both, equal (403 ``csrf_failed`` otherwise), so another site cannot
  log a browser in under its own account.
* A failed login answers one message for a wrong username, a wrong password and a disabled account
  (401: the form again; a client that asks for JSON gets the problem ``login_failed``, and
  ``csrf_failed`` for a missing form token), after the same argon2 check in each case. Failures are counted per client
  address (``login_failures``, default 10 a minute); over it: 429 ``rate_limited`` with Retry-After.
* A session cookie ``rm_session`` is HttpOnly, SameSite=Lax, Path=/, and Secure unless the server
  runs with ``secure_cookies=false`` (a local demo on plain http). It names a session of the
  decision database, which ends after ``session_idle_minutes`` without a request, on logout, and
  when the user is disabled.
* After logging in the browser goes to ``next`` if it is a path of this site (``/...``, not
  ``//...``), else to ``/app/``.
"""

from __future__ import annotations

import hmac
import secrets
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Query, Request
from jinja2 import Environment, FileSystemLoader, select_autoescape
from limits import parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.responses import HTMLResponse, RedirectResponse, Response

from rm_advisor.api.access import (
    CSRF_FIELD,
    LOGIN_PATH,
    SESSION_COOKIE,
    OptionalUser,
    check_csrf,
    safe_next,
)
from rm_advisor.api.deps import SettingsDep, get_settings, negotiate, optional_store
from rm_advisor.api.problems import problem_lang, problem_response
from rm_advisor.api.ratelimit import retry_after
from rm_advisor.api.settings import Settings
from rm_advisor.engine.messages import N_, Translator, gettext_in
from rm_advisor.store import Store

router = APIRouter(tags=["login"])

LOGIN_CSRF_COOKIE = "rm_login_csrf"
_LOGIN_CSRF_SECONDS = 15 * 60
_MAX_FORM = 8192
#: web/templates (installed: rm_advisor/web/templates)
TEMPLATES = Path(__file__).resolve().parents[2] / "web" / "templates"

_env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=select_autoescape(["html", "j2"]),
                   extensions=["jinja2.ext.i18n"])


class _Failures:
    """Failed logins per client address, in memory per worker process."""

    def __init__(self) -> None:
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def over(self, settings: Settings, address: str) -> int | None:
        """Seconds to wait when the address has failed too often; None otherwise."""
        item = parse(settings.login_failures)
        if self.limiter.test(item, address):
            return None
        return retry_after(self.limiter, item, address)

    def failed(self, settings: Settings, address: str) -> None:
        self.limiter.hit(parse(settings.login_failures), address)


def _failures(request: Request) -> _Failures:
    found = getattr(request.app.state, "login_failures", None)
    if not isinstance(found, _Failures):
        found = _Failures()
        request.app.state.login_failures = found
    return found


def _page_lang(request: Request, lang: str | None) -> str:
    chosen = negotiate(lang, request.headers.get("accept-language"), "zh")
    return chosen if chosen in ("zh", "en") else "zh"


def _wants_json(request: Request) -> bool:
    """A client asking for JSON (not a browser's form post) gets problems instead of the form."""
    accept = request.headers.get("accept", "").lower()
    return "json" in accept and "text/html" not in accept


def _refused(request: Request, code: str, detail: str) -> Response:
    plang = problem_lang(request)
    return problem_response(code, gettext_in(plang, detail), request.url.path, lang=plang)


def _cookie_args(settings: Settings) -> dict[str, Any]:
    return {"httponly": True, "secure": settings.secure_cookies, "samesite": "lax", "path": "/"}


def _render(lang: str, csrf: str, next_path: str, error: str | None, status: int, settings: Settings) -> Response:
    tr = Translator(lang)
    env = _env.overlay()
    env.install_gettext_callables(tr.gettext, tr.ngettext, newstyle=True)  # type: ignore[attr-defined]
    html = env.get_template("login.html.j2").render(lang=lang, html_lang="en" if lang == "en" else "zh-CN",
                                                    csrf_token=csrf, next=next_path, error=error,
                                                    other_lang="en" if lang == "zh" else "zh")
    response = HTMLResponse(html, status_code=status, headers={"Content-Language": lang, "Vary": "Accept-Language",
                                                               "Cache-Control": "no-store"})
    response.set_cookie(LOGIN_CSRF_COOKIE, csrf, max_age=_LOGIN_CSRF_SECONDS, httponly=True,
                        secure=settings.secure_cookies, samesite="strict", path=LOGIN_PATH)
    return response


@router.get(LOGIN_PATH, response_class=HTMLResponse, summary="The login form")
def login_form(request: Request, settings: SettingsDep,
               next: Annotated[str | None, Query(description="where to go after logging in (a path of this site; "
                                                 "anything else: /app/)")] = None,
               lang: Annotated[str | None, Query(description="zh or en; wins over Accept-Language")] = None
               ) -> Response:
    """A form asking for the username and the password, in Chinese or English."""
    return _render(_page_lang(request, lang), secrets.token_urlsafe(32), safe_next(next), None, 200, settings)


@router.post(LOGIN_PATH, response_class=HTMLResponse, summary="Log in (form post)",
             responses={303: {"description": "logged in: to `next` or /app/"},
                        401: {"description": "login_failed: the form again, with one message for every failure"},
                        403: {"description": "csrf_failed: the form's CSRF token is missing or wrong"},
                        429: {"description": "rate_limited: too many failed logins from this address"}})
async def login(request: Request, settings: Annotated[Settings, Depends(get_settings)],
                store: Annotated[Store | None, Depends(optional_store)]) -> Response:
    """Check the username and the password (an ``application/x-www-form-urlencoded`` form with
    ``username``, ``password``, ``csrf_token`` and ``next``); start a session and set its cookie."""
    body = await request.body()
    form = {k: v[0] for k, v in parse_qs(body[:_MAX_FORM].decode("utf-8", "replace"), keep_blank_values=True).items()}
    lang = _page_lang(request, request.query_params.get("lang") or form.get("lang"))
    next_path = safe_next(form.get("next"))
    fresh = secrets.token_urlsafe(32)
    given, expected = form.get(CSRF_FIELD, ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not given or not expected or not hmac.compare_digest(given.encode(), expected.encode()):
        if _wants_json(request):
            return _refused(request, "csrf_failed", N_("The form had expired. Please log in again."))
        return _render(lang, fresh, next_path, gettext_in(lang, N_("The form had expired. Please log in again.")),
                       403, settings)
    address = request.client.host if request.client else "unknown"
    failures = _failures(request)
    wait = failures.over(settings, address)
    if wait is not None:
        plang = problem_lang(request)
        detail = gettext_in(plang, N_("too many failed logins; try again in {seconds} s")).format(seconds=wait)
        return problem_response("rate_limited", detail, request.url.path, headers={"Retry-After": str(wait)},
                                lang=plang)
    user = store.users.authenticate(form.get("username", ""), form.get("password", "")) if store is not None else None
    if user is None or store is None:
        failures.failed(settings, address)
        if _wants_json(request):
            return _refused(request, "login_failed", N_("The username or password is wrong."))
        return _render(lang, fresh, next_path, gettext_in(lang, N_("The username or password is wrong.")), 401,
                       settings)
    token, _csrf = store.users.start_session(user.username)
    response = RedirectResponse(next_path, status_code=303)
    response.set_cookie(SESSION_COOKIE, token, **_cookie_args(settings))
    response.delete_cookie(LOGIN_CSRF_COOKIE, path=LOGIN_PATH)
    return response


@router.post("/logout", summary="Log out", dependencies=[Depends(check_csrf)],
             responses={303: {"description": "logged out: to the login form"},
                        403: {"description": "csrf_failed: the session's CSRF token is missing or wrong"}})
def logout(request: Request, principal: OptionalUser, settings: SettingsDep,
           store: Annotated[Store | None, Depends(optional_store)]) -> Response:
    """End the session of the cookie (with the session's CSRF token: form field ``csrf_token`` or
    header ``X-CSRF-Token``) and delete the cookie."""
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and store is not None and principal is not None:
        store.users.end_session(cookie)
    response = RedirectResponse(LOGIN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, **_cookie_args(settings))
    return response
