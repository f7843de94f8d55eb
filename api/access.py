"""Who is asking, and what they may see: users, sessions, API tokens, CSRF and scoping (issue 17).

A request is made by a :class:`Principal`, found in this order:

1. the ``X-API-Key`` header with the server's API key: a machine client, role ``service``, which
   sees every manager;
2. ``Authorization: Bearer <token>`` with a user's API token (``rm-advisor users token``): that
   user, without a CSRF token;
3. the session cookie ``rm_session`` of a logged-in user (``POST /login``): that user, with the
   session's CSRF token.

A wrong key, a wrong or revoked token, a disabled user's token and a cookie that names no live
session make no principal: where one is needed, that is 401 ``unauthorized``.

Scoping: :func:`managers_visible` says whose book a principal sees (a manager: their own; a branch
head: the managers of their branch; an administrator and a machine client: all; a rule author:
none). A route that returns or takes per-manager data calls :func:`require_manager` (404
``not_found`` when the principal may not see it: never data, and no hint that it exists).

A server whose database has no user accounts runs as before: the decision log, feedback and report
routes are open on a trusted network, or need the API key (``protect_reads``, a configured key for
feedback). Once an account exists, they need a principal (401 ``unauthorized`` without one).
"""

from __future__ import annotations

import datetime as dt
import hmac
from dataclasses import dataclass
from typing import Annotated, Literal
from urllib.parse import parse_qs, quote

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import RedirectResponse, Response

from rm_advisor.api.deps import admin_access, admin_key_scheme, api_key_scheme, get_settings, optional_store
from rm_advisor.api.problems import Problem
from rm_advisor.api.settings import Settings
from rm_advisor.engine.messages import N_
from rm_advisor.store import Store, User

Role = Literal["manager", "branch_head", "rule_author", "administrator"]

SESSION_COOKIE = "rm_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
LOGIN_PATH = "/login"
HOME_PATH = "/app/"
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

_session_cookie = APIKeyCookie(name=SESSION_COOKIE, scheme_name="SessionCookie", auto_error=False,
                               description="the session of a logged-in user (`POST /login`); changing requests made "
                                           f"with it carry the session's CSRF token (`{CSRF_HEADER}` header or "
                                           f"`{CSRF_FIELD}` form field)")
_bearer = HTTPBearer(scheme_name="BearerToken", auto_error=False,
                     description="a user's API token (`rm-advisor users token USERNAME`), for a CRM or a script")


@dataclass(frozen=True)
class Principal:
    """Who makes a request."""

    username: str
    display_name: str
    role: Role | Literal["service"]   # "service": a machine client that gave the server's API key
    manager_id: str | None            # the manager's own id (role manager)
    branch: str | None                # the branch of a manager or branch head
    csrf_token: str | None            # the session's CSRF token; None for bearer-token / API-key callers


SERVICE = Principal(username="service", display_name="API key", role="service", manager_id=None, branch=None,
                    csrf_token=None)


def principal_of(user: User, csrf_token: str | None = None) -> Principal:
    """The principal of a store account."""
    return Principal(username=user.username, display_name=user.display_name, role=user.role,
                     manager_id=user.manager_id, branch=user.branch, csrf_token=csrf_token)


def managers_visible(principal: Principal, store: Store) -> frozenset[str] | None:
    """None = every manager (administrator, service); a manager: {own id}; a branch head: the
    managers of their branch (manager accounts with that branch); rule_author: empty."""
    if principal.role in ("administrator", "service"):
        return None
    if principal.role == "manager":
        return frozenset({principal.manager_id}) if principal.manager_id else frozenset()
    if principal.role == "branch_head":
        return store.users.managers_of_branch(principal.branch) if principal.branch else frozenset()
    return frozenset()


def may_see_manager(principal: Principal, manager_id: str, store: Store) -> bool:
    """Whether the principal may see the book of the manager ``manager_id``."""
    visible = managers_visible(principal, store)
    return visible is None or manager_id in visible


def may_see_all(principal: Principal | None, managers: frozenset[str | None], store: Store) -> bool:
    """Whether the principal (None: a server without accounts) may see data that concerns every
    manager of ``managers`` (None in it: a subject of no known manager, which only those who see
    every manager may see). Data that concerns no manager is for those who see every manager."""
    if principal is None:
        return True
    visible = managers_visible(principal, store)
    if visible is None:
        return True
    return bool(managers) and all(m is not None and m in visible for m in managers)


def require_manager(principal: Principal, manager_id: str, store: Store) -> None:
    """Raises ``not_found`` (404, never data) when the principal may not see the manager's book."""
    if not may_see_manager(principal, manager_id, store):
        raise Problem("not_found", N_("nothing found"))


def has_users(request: Request, store: Store | None) -> bool:
    """Whether the database has user accounts (once it has, the answer is kept for the process)."""
    if store is None:
        return False
    if getattr(request.app.state, "has_users", False):
        return True
    found = store.users.exist()
    if found:
        request.app.state.has_users = True
    return found


def _unauthorized(detail: str) -> Problem:
    return Problem("unauthorized", detail, headers={"WWW-Authenticate": 'Bearer, ApiKey header="X-API-Key"'})


def _open_store(request: Request) -> Store | None:
    """The decision store if the app has one open (None: no decision log; accounts need one)."""
    store = getattr(request.app.state, "store", None)
    return store if isinstance(store, Store) else None


def optional_user(request: Request, settings: Annotated[Settings, Depends(get_settings)],
                  store: Annotated[Store | None, Depends(_open_store)],
                  key: Annotated[str | None, Security(api_key_scheme)],
                  bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
                  cookie: Annotated[str | None, Security(_session_cookie)]) -> Principal | None:
    """The principal of the request (API key, bearer token, session cookie), else None.

    A wrong key or token makes no principal (and is not passed over for another credential): a
    route open to anyone answers as before, one that needs a principal answers 401."""
    if key is not None:
        expected = settings.api_key.get_secret_value().encode() if settings.api_key is not None else b""
        if not expected or not hmac.compare_digest(key.encode("utf-8", "surrogatepass"), expected):
            return None
        return SERVICE
    if bearer is not None:
        user = store.users.by_token(bearer.credentials) if store is not None else None
        return principal_of(user) if user is not None else None
    if cookie and store is not None:
        found = store.users.session(cookie, dt.timedelta(minutes=settings.session_idle_minutes))
        if found is not None:
            return principal_of(found.user, found.csrf_token)
    return None


OptionalUser = Annotated[Principal | None, Depends(optional_user)]


def api_user(principal: OptionalUser) -> Principal:
    """JSON routes: the principal, or 401 ``unauthorized``."""
    if principal is None:
        raise _unauthorized(N_("log in, or give an API token (Authorization: Bearer) or the X-API-Key header"))
    return principal


class LoginRequired(Exception):
    """A page asked for without a session: answered with a redirect to the login form."""

    def __init__(self, next_path: str):
        super().__init__(next_path)
        self.next_path = next_path


def page_user(request: Request, principal: OptionalUser) -> Principal:
    """HTML pages: the principal, or a 303 redirect to ``/login?next=<path>``."""
    if principal is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(path)
    return principal


def login_redirect(_request: Request, exc: Exception) -> Response:
    """The answer to :class:`LoginRequired` (registered by ``create_app``)."""
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(f"{LOGIN_PATH}?next={quote(exc.next_path, safe='/')}", status_code=303)


def safe_next(value: str | None) -> str:
    """Where to go after logging in: a path of this site (``/...``, not ``//`` or ``/\\``), else ``/app/``."""
    if not value or len(value) > 2000 or not value.startswith("/") or value.startswith(("//", "/\\")) or \
            any(c in value for c in "\r\n\t\\") or not value.isprintable():
        return HOME_PATH
    return value


async def form_field(request: Request, name: str) -> str | None:
    """A field of a posted ``application/x-www-form-urlencoded`` body (read once; the route can read it again)."""
    if not request.headers.get("content-type", "").startswith("application/x-www-form-urlencoded"):
        return None
    body = await request.body()
    values = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).get(name)
    return values[0] if values else None


async def check_csrf(request: Request, principal: OptionalUser) -> None:
    """For state-changing requests authenticated by the cookie: form field ``csrf_token`` or header
    ``X-CSRF-Token`` must equal the session's CSRF token (403 ``csrf_failed`` otherwise); bearer and
    API-key callers are exempt."""
    if principal is None or principal.csrf_token is None or request.method in _SAFE_METHODS:
        return
    given = request.headers.get(CSRF_HEADER) or await form_field(request, CSRF_FIELD)
    if given is None or not hmac.compare_digest(given.encode("utf-8", "surrogatepass"),
                                                principal.csrf_token.encode()):
        raise Problem("csrf_failed", N_("the form is out of date or was not sent from this site; reload the page "
                                        "and try again"))


ApiUser = Annotated[Principal, Depends(api_user)]
PageUser = Annotated[Principal, Depends(page_user)]
CsrfChecked = Depends(check_csrf)


# the decision log, feedback and report routes: open as before on a server without accounts ---------

def _old_rule_for_reads(settings: Settings, principal: Principal | None) -> None:
    if settings.protect_reads and principal is None:
        raise _unauthorized(N_("missing or wrong X-API-Key header"))


def data_reader(request: Request, settings: Annotated[Settings, Depends(get_settings)],
                store: Annotated[Store | None, Depends(optional_store)], principal: OptionalUser
                ) -> Principal | None:
    """Reading per-manager data (the decision log, reports): the principal; None on a server
    without user accounts, where the routes are open (or need the API key with ``protect_reads``)
    and nothing is scoped."""
    if not has_users(request, store):
        _old_rule_for_reads(settings, principal)
        return principal if principal is not None and principal.role != "service" else None
    if principal is None:
        raise _unauthorized(N_("log in, or give an API token (Authorization: Bearer) or the X-API-Key header"))
    return principal


async def data_writer(request: Request, settings: Annotated[Settings, Depends(get_settings)],
                      store: Annotated[Store | None, Depends(optional_store)], principal: OptionalUser
                      ) -> Principal | None:
    """Recording per-manager data (feedback): like :func:`data_reader`, but a server without user
    accounts that has an API key needs it (as before), and a cookie session needs its CSRF token."""
    if not has_users(request, store):
        if settings.api_key is not None and principal is None:
            raise _unauthorized(N_("missing or wrong X-API-Key header"))
        await check_csrf(request, principal)
        return principal if principal is not None and principal.role != "service" else None
    if principal is None:
        raise _unauthorized(N_("log in, or give an API token (Authorization: Bearer) or the X-API-Key header"))
    await check_csrf(request, principal)
    return principal


async def decider(request: Request, principal: Annotated[Principal | None, Depends(data_reader)]) -> Principal | None:
    """Deciding on posted facts (which reads and logs the decision log): as :func:`data_reader`,
    and a cookie session needs its CSRF token."""
    if principal is not None:
        await check_csrf(request, principal)
    return principal


def reads(settings: Annotated[Settings, Depends(get_settings)], principal: OptionalUser) -> None:
    """Reading routes without per-manager data (rules, catalogues, deciding on posted facts):
    open, unless the server runs with ``protect_reads`` (then the API key, a token or a session)."""
    _old_rule_for_reads(settings, principal)


Reader = Annotated[Principal | None, Depends(data_reader)]
Writer = Annotated[Principal | None, Depends(data_writer)]
Decider = Annotated[Principal | None, Depends(decider)]


async def administrator(request: Request, settings: Annotated[Settings, Depends(get_settings)],
                        key: Annotated[str | None, Security(admin_key_scheme)], principal: OptionalUser) -> str | None:
    """The administration routes (erasing data): the admin key, as before, or a user with the
    administrator role (an API token, or a session with its CSRF token). The user's name is returned,
    to be recorded as who asked; None for the key. Another role is 403 ``forbidden``."""
    if key is None and principal is not None and principal.role != "service":
        if principal.role != "administrator":
            raise Problem("forbidden", N_("your role does not give access to this"))
        await check_csrf(request, principal)
        return principal.username
    if key is None and settings.admin_key is None and has_users(request, _open_store(request)):
        raise _unauthorized(N_("log in as an administrator, or give an API token (Authorization: Bearer)"))
    admin_access(settings, key)
    return None


Administrator = Annotated[str | None, Depends(administrator)]


def no_data(principal: Principal | None, store: Store) -> None:
    """403 ``forbidden`` for a principal who sees no manager at all (a rule author) on a route
    that is not addressed by an id (a listing, a report)."""
    if principal is not None and managers_visible(principal, store) == frozenset():
        raise Problem("forbidden", N_("your role does not give access to this"))
