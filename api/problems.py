"""One error format for every error the API returns: RFC 9457 problem details.

Every problem has a stable ``code`` (clients match on it, never on wording), the HTTP status, a
readable ``detail``, the rule-set ``revision`` that was serving, and an ``errors`` list locating
each problem: a JSON pointer into the request body, a query/path/header parameter, or
``file:line:column`` in a rule file. No stack trace ever reaches a client.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Any

from fastapi import FastAPI, Request, routing
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from rm_advisor.api.observe import note
from rm_advisor.engine.errors import MAX_ERRORS, Diagnostic, FactError, InferenceError, RuleError
from rm_advisor.engine.language import printable
from rm_advisor.engine.loading import problem_count
from rm_advisor.engine.messages import N_, gettext_in
from rm_advisor.store.database import cause_of
from rm_advisor.store.errors import Cause, StoreError, Unusable

log = logging.getLogger("rm_advisor.api")

MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://rm-advisor.invalid/problems/"

#: Stable problem codes: HTTP status and title (English; the message catalogue has them in Chinese).
#: Documented in docs/api.md; never reuse a code.
PROBLEMS: dict[str, tuple[int, str]] = {
    "bad_json": (400, N_("The request body is not valid JSON")),
    "bad_request": (400, N_("The request could not be read")),
    "unauthorized": (401, N_("A valid API key is required")),
    "login_failed": (401, N_("The username or password is wrong")),
    "csrf_failed": (403, N_("The request did not carry the session's CSRF token")),
    "forbidden": (403, N_("Your role does not give access to this")),
    "release_self_approval": (403, N_("The user who proposed a release cannot approve or reject it")),
    "four_eyes_required": (403, N_("Rule changes go through releases on this server (four eyes)")),
    "key_not_configured": (403, N_("This route needs an API key and the server has none configured")),
    "not_found": (404, N_("Not found")),
    "decision_not_found": (404, N_("No logged decision has this id")),
    "release_not_found": (404, N_("No rule release has this id or revision")),
    "experiment_not_found": (404, N_("No decision of this experiment is logged, or it has no such arm")),
    "method_not_allowed": (405, N_("Method not allowed")),
    "feedback_duplicate": (409, N_("This status is already recorded for this item")),
    "feedback_conflict": (409, N_("The item's earlier feedback does not allow this status")),
    "revision_not_logged": (409, N_("The decision's rule set is not in the decision log, so it cannot be replayed")),
    "decision_erased": (409, N_("A client's personal data was erased from the decision, so "
                                "it cannot be replayed identically")),
    "packs_removed": (409, N_("The reload would remove whole rule packs; confirm with allow_removed_packs=true")),
    "release_state": (409, N_("The release's state does not allow this")),
    "release_unchanged": (409, N_("The proposed rule files are serving or proposed already")),
    "release_stale": (409, N_("The knowledge base changed since the release was proposed")),
    "body_too_large": (413, N_("The request body is too large")),
    "rules_too_large": (413, N_("The posted rule files hold more YAML than one check takes")),
    "unsupported_media_type": (415, N_("The request body must be JSON")),
    "invalid_request": (422, N_("The request does not match the API schema")),
    "invalid_facts": (422, N_("The posted facts do not fit the fact schema")),
    "too_many_subjects": (422, N_("Too many clients and managers in one request")),
    "subject_not_in_facts": (422, N_("The subject asked for is not among the posted facts")),
    "unknown_item": (422, N_("The action, coaching topic or rule asked about is not in the rule set")),
    "inference_failed": (422, N_("Inference stopped before it finished")),
    "rule_set_invalid": (422, N_("The rule set has errors; nothing of it was loaded")),
    "rules_unreadable": (422, N_("The rule files could not be read")),
    "feedback_unknown_item": (422, N_("The decision did not recommend this item to this subject")),
    "feedback_bad_value": (422, N_("A feedback field is missing or has a value it does not allow")),
    "unknown_reason_code": (422, N_("The reason code is not in the reason catalogue")),
    "feedback_reason_kind": (422, N_("The reason code does not fit the kind or channel of the action")),
    "rate_limited": (429, N_("Too many requests; try again after Retry-After seconds")),
    "internal_error": (500, N_("Internal error")),
    "not_ready": (503, N_("Not ready to decide")),
    "store_unavailable": (503, N_("The decision database cannot be used")),
    "decision_log_off": (503, N_("This server runs without a decision log")),
}

#: Codes of :class:`store.errors.StoreError` answered as problems of the same code (statuses as
#: in docs/decision-log.md); any other store code is a bug, answered as ``internal_error``.
STORE_CODES = frozenset({"decision_not_found", "feedback_duplicate", "feedback_conflict", "revision_not_logged",
                         "decision_erased", "experiment_not_found",
                         "feedback_unknown_item", "feedback_bad_value", "unknown_reason_code",
                         "feedback_reason_kind", "store_unavailable", "release_not_found", "release_state",
                         "release_self_approval", "release_unchanged"})
#: Most problems listed in one answer when the app has no settings (all are counted).
MAX_LISTED = 200
#: Store diagnostic locations that are not fields of the request.
_NOT_REQUEST_FIELDS = frozenset({"database", "revision"})


class ErrorItem(BaseModel):
    """One located problem."""

    code: str = Field(description="stable code of this problem (a diagnostic code or a problem code)")
    detail: str = Field(description="what is wrong, for people")
    pointer: str | None = Field(default=None, description="JSON pointer (RFC 6901) into the request body")
    parameter: str | None = Field(default=None, description="name of the query, path or header parameter")
    file: str | None = Field(default=None, description="rule or knowledge-base file")
    line: int | None = None
    column: int | None = None
    rule_id: str | None = None
    hint: str | None = Field(default=None, description="how to fix it, e.g. `did you mean ...`")
    severity: str = "error"


class ProblemDetails(BaseModel):
    """RFC 9457 problem details, with rm-advisor's extension members."""

    type: str = Field(description=f"{TYPE_BASE}<code>")
    title: str
    status: int
    detail: str
    instance: str = Field(description="the request path")
    code: str = Field(description="stable problem code, see docs/api.md")
    revision: str | None = Field(default=None, description="the rule-set revision that was serving")
    errors: list[ErrorItem] = Field(default_factory=list)


class Problem(Exception):
    """Raised by routes and dependencies; becomes a problem-details response.

    ``detail`` is English; with ``fields`` it is a message of the catalogue (marked ``N_``) whose
    ``{name}`` fields are filled in the language of the answer (:func:`problem_lang`)."""

    def __init__(self, code: str, detail: str, errors: Iterable[ErrorItem] = (),
                 headers: dict[str, str] | None = None, fields: dict[str, object] | None = None):
        assert code in PROBLEMS, code
        self.template, self.fields = detail, dict(fields or {})
        detail = detail.format(**self.fields) if self.fields else detail
        super().__init__(detail)
        self.code, self.detail, self.errors, self.headers = code, detail, list(errors), headers

    def detail_in(self, lang: str) -> str:
        """The detail in ``lang`` (zh or en): as written when the catalogue does not have it."""
        text = gettext_in(lang, self.template)
        return text.format(**self.fields) if self.fields else text


def problem_lang(request: Request) -> str:
    """The language of a problem's title and detail: ``zh`` or ``en`` as the ``lang`` parameter, else
    Accept-Language, else the server's ``default_lang`` asks; ``both`` (the default) answers in English,
    since a problem is one text (the stable ``code`` is what clients match on)."""
    from rm_advisor.api.deps import negotiate

    app = request.scope.get("app")  # absent before the app (a middleware's own problem in a bare stack)
    settings = getattr(getattr(app, "state", None), "settings", None)
    lang = negotiate(request.query_params.get("lang"), request.headers.get("accept-language"),
                     getattr(settings, "default_lang", "both"))
    return lang if lang in ("zh", "en") else "en"


def problem_body(code: str, detail: str, instance: str, errors: Iterable[ErrorItem] = (),
                 revision: str | None = None, lang: str = "en") -> dict[str, Any]:
    status, title = PROBLEMS[code]
    note(problem=code)  # the request log line and the problem counter name it
    return ProblemDetails(type=TYPE_BASE + code, title=gettext_in(lang, title), status=status, detail=detail,
                          instance=instance, code=code, revision=revision,
                          errors=list(errors)).model_dump(exclude_none=True)


def problem_response(code: str, detail: str, instance: str, errors: Iterable[ErrorItem] = (),
                     headers: dict[str, str] | None = None, revision: str | None = None,
                     lang: str = "en") -> JSONResponse:
    """A problem-details response in ``lang`` (the title; ``detail`` comes translated); ``revision``
    defaults to what the request was served with."""
    return JSONResponse(problem_body(code, detail, instance, errors, revision, lang), status_code=PROBLEMS[code][0],
                        media_type=MEDIA_TYPE, headers={"Content-Language": lang, **(headers or {})})


def _served_revision(request: Request) -> str | None:
    """The revision the request took, else the one serving now."""
    revision = getattr(request.state, "revision", None)
    live = getattr(request.app.state, "live", None)
    return revision or (live.revision if live is not None else None)


_FACT_PATH = re.compile(r"^(?P<key>[^\[]+)(?:\[(?P<index>\d+)\](?:\.(?P<field>.*))?)?$", re.DOTALL)


def pointer(path: str) -> str:
    """``clients[0].days_open`` (the engine's path in a facts document) as a JSON pointer."""
    if path.startswith("<"):
        return ""  # the whole document
    m = _FACT_PATH.match(path)
    if m is None:
        return "/" + _escape(path)
    parts = [m["key"]] + ([m["index"]] if m["index"] is not None else []) + \
        ([m["field"]] if m["field"] is not None else [])
    return "".join("/" + _escape(p) for p in parts)


def _escape(token: str) -> str:
    # a key with a NUL or a lone surrogate is named escaped: every answer must encode as UTF-8
    return printable(token.replace("~", "~0").replace("/", "~1"))


def diagnostic_item(d: Diagnostic) -> ErrorItem:
    """A located engine diagnostic: file:line:column in a rule file, or a path in posted facts."""
    loc = d.location
    return ErrorItem(code=d.code, detail=d.message, severity=d.severity, rule_id=d.rule_id or None,
                     hint=d.hint or None, file=loc.file or None, line=loc.line or None,
                     column=loc.column or None, pointer=pointer(loc.path) if loc.path else None)


def listed(diags: Iterable[Diagnostic], limit: int) -> tuple[list[Diagnostic], int, int]:
    """The diagnostics to list (at most ``limit``: errors first, then warnings, in file order) and
    how many errors and warnings there are in all (an omitted-problems diagnostic counts for the
    problems it stands for)."""
    errors = [d for d in diags if d.severity == "error"]
    warnings = [d for d in diags if d.severity != "error"]
    shown = errors[:limit] + warnings[:max(0, limit - len(errors))]
    return (sorted(shown, key=Diagnostic.sort_key), sum(map(problem_count, errors)),
            sum(map(problem_count, warnings)))


def counted(errors: int, warnings: int, shown: int, lang: str = "en") -> str:
    """``3 error(s) and 1 warning(s)``, saying when not all of them are listed."""
    text = gettext_in(lang, N_("{errors} error(s) and {warnings} warning(s)") if warnings else N_("{errors} error(s)"))
    more = gettext_in(lang, N_(" (the first {shown} listed)")) if shown < errors + warnings else ""
    return (text + more).format(errors=errors, warnings=warnings, shown=shown)


def _limit(request: Request) -> int:
    settings = getattr(request.app.state, "settings", None)
    return int(getattr(settings, "max_diagnostics", MAX_LISTED))


def rule_set_problem(exc: RuleError, limit: int) -> Problem:
    """A refused rule set: every problem counted, the first ``limit`` listed, the first error named."""
    shown, errors, warnings = listed(exc.diagnostics, limit)
    first = next((d for d in exc.diagnostics if d.severity == "error"), None)
    return Problem("rule_set_invalid", N_("{counted}; the previous rule set keeps serving. First error: {first}"),
                   map(diagnostic_item, shown),
                   fields={"counted": counted(errors, warnings, len(shown)), "first": first.format() if first else "-"})


def cause_item(cause: Cause) -> ErrorItem:
    """Why the decision database cannot be used, as an item coded by the cause class."""
    return ErrorItem(code=cause.kind, detail=cause.text, hint=cause.hint)


def store_item(d: Diagnostic, path_params: dict[str, Any]) -> ErrorItem:
    """A store diagnostic located in the request: a path parameter, else a field of the body."""
    field = d.location.path
    in_path = field in path_params
    in_body = bool(field) and not in_path and field not in _NOT_REQUEST_FIELDS
    return ErrorItem(code=d.code, detail=d.message, severity=d.severity, hint=d.hint or None,
                     parameter=field if in_path else None, pointer="/" + _escape(field) if in_body else None)


_PYDANTIC_CODES = {"missing": "missing_field", "extra_forbidden": "unknown_field"}


def validation_item(err: dict[str, Any]) -> ErrorItem:
    """A FastAPI/pydantic request error: body errors get a pointer, others the parameter name."""
    where, *rest = err["loc"] or ("body",)
    kind = err["type"]
    code = _PYDANTIC_CODES.get(kind) or ("wrong_type" if kind.endswith(("_type", "_parsing")) else "bad_value")
    detail = printable(str(err.get("msg", "invalid")))
    if where == "body":
        return ErrorItem(code=code, detail=detail, pointer="".join("/" + _escape(str(p)) for p in rest))
    return ErrorItem(code=code, detail=detail, parameter=printable(str(rest[0]) if rest else str(where)))


async def _on_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Problem)
    lang = problem_lang(request)
    return problem_response(exc.code, exc.detail_in(lang), request.url.path, exc.errors, exc.headers,
                            _served_revision(request), lang)


async def _on_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    lang = problem_lang(request)
    bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        position = bad_json["loc"][-1] if len(bad_json["loc"]) > 1 else 0
        reason = (bad_json.get("ctx") or {}).get("error", "invalid JSON")
        return problem_response("bad_json", gettext_in(lang, N_("{reason} at character {position}")).format(
                                    reason=reason, position=position), request.url.path,
                                revision=_served_revision(request), lang=lang)
    items = [validation_item(e) for e in errors[:MAX_ERRORS]]  # a list of a million bad items is one request
    where = ", ".join(i.parameter or i.pointer or gettext_in(lang, N_("the body")) for i in items[:5])
    detail = N_("{count} problem(s) in the request; the first {listed} are listed: {where}") \
        if len(errors) > MAX_ERRORS else N_("{count} problem(s) in the request: {where}")
    return problem_response("invalid_request", gettext_in(lang, detail).format(count=len(errors), listed=MAX_ERRORS,
                                                                               where=where),
                            request.url.path, items, revision=_served_revision(request), lang=lang)


_HTTP_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
               413: "body_too_large", 415: "unsupported_media_type", 422: "invalid_request"}


def _route_path(request: Request) -> str:
    """The path as the router matched it (without a root path the app is mounted at)."""
    path, root = request.scope.get("path", ""), request.scope.get("root_path", "")
    return str(path[len(root):] if root and path.startswith(root) else path)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes on the request's path. Starlette's 405 names the methods of
    the first route whose path matched, and two routes share ``/v1/decisions`` (GET and POST)."""
    path = _route_path(request)
    methods: set[str] = set()
    for route in routing.iter_route_contexts(request.app.router.routes):  # included routers' routes too
        regex, route_methods = getattr(route, "path_regex", None), route.methods
        if regex is not None and route_methods and regex.match(path):
            methods |= route_methods
    return sorted(methods)


def refused_segments(request: Request) -> list[ErrorItem]:
    """The path parameters a route of this method would have taken but for their value
    (``/v1/decisions/branch/B1``: `branch` is not a subject type), located by name."""
    path = _route_path(request)
    for route in routing.iter_route_contexts(request.app.router.routes):
        fmt, convertors = route.path_format, getattr(route, "param_convertors", None) or {}
        if not fmt or not convertors or request.method not in (route.methods or ()):
            continue
        loose = re.fullmatch(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(fmt)), path)
        if loose is None:
            continue
        return [ErrorItem(code="bad_value", parameter=name, detail=f"`{value}` is not a valid {name}",
                          hint=getattr(convertors[name], "hint", None))
                for name, value in loose.groupdict().items()
                if name in convertors and not re.fullmatch(convertors[name].regex, value)]
    return []


async def _on_http(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "bad_request" if exc.status_code < 500 else "internal_error")
    lang = problem_lang(request)
    detail = gettext_in(lang, exc.detail) if isinstance(exc.detail, str) else gettext_in(lang, PROBLEMS[code][1])
    headers = dict(getattr(exc, "headers", None) or {})
    items: list[ErrorItem] = []
    if code == "not_found" and exc.detail == "Not Found":
        items = refused_segments(request)
        where = {"method": request.method, "path": request.url.path}
        detail = gettext_in(lang, N_("no route {method} {path}: {why}")).format(**where, why=items[0].detail) \
            if items else gettext_in(lang, N_("no route {method} {path}; see /docs or docs/api.md")).format(**where)
    if code == "method_not_allowed":
        allowed = allowed_methods(request) or headers.get("Allow", "").split(", ")
        headers["Allow"] = ", ".join(allowed)
        detail = gettext_in(lang, N_("{method} is not allowed on {path}; allowed: {allowed}")).format(
            method=request.method, path=request.url.path, allowed=headers["Allow"])
    return problem_response(code, detail, request.url.path, items, headers=headers or None,
                            revision=_served_revision(request), lang=lang)


async def _on_fact_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, FactError)
    items = [diagnostic_item(d) for d in exc.diagnostics]
    lang = problem_lang(request)
    count = gettext_in(lang, N_("{count} problem(s) in the posted facts")).format(count=len(items))
    if exc.stopped_at is not None:
        count = gettext_in(lang, N_("more than {count} problems in the posted facts (validation stopped after the "
                                    "first {count}, listed)")).format(count=exc.stopped_at)
    detail = gettext_in(lang, N_("{count}; first: {pointer}: {detail}")).format(
        count=count, pointer=items[0].pointer, detail=items[0].detail) if items \
        else gettext_in(lang, N_("invalid facts"))
    return problem_response("invalid_facts", detail, request.url.path, items, revision=_served_revision(request),
                            lang=lang)


async def _on_inference_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InferenceError)
    items = [diagnostic_item(d) for d in exc.diagnostics]
    return problem_response("inference_failed", str(exc), request.url.path, items,
                            revision=_served_revision(request), lang=problem_lang(request))


async def _on_rule_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RuleError)
    return await _on_problem(request, rule_set_problem(exc, _limit(request)))


async def _on_store_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StoreError)
    code = exc.diagnostics[0].code if exc.diagnostics else ""
    if code not in STORE_CODES:
        return await _on_unexpected(request, exc)
    items = [cause_item(exc.cause)] if isinstance(exc, Unusable) else \
        [store_item(d, request.path_params) for d in exc.diagnostics]
    return problem_response(code, exc.diagnostics[0].message, request.url.path, items,
                            revision=_served_revision(request), lang=problem_lang(request))


async def _on_database_down(request: Request, exc: Exception) -> JSONResponse:
    # a full disk, a read-only or locked database, a lost connection: the answer names the cause
    # class (no URL, host or password); the server log has the driver's whole message
    log.error("decision database error on %s %s: %s", request.method, request.url.path, exc)
    cause = cause_of(exc)
    lang = problem_lang(request)
    detail = gettext_in(lang, N_("the decision database cannot be used now: {cause}")).format(cause=cause.text)
    return problem_response("store_unavailable", detail, request.url.path, [cause_item(cause)],
                            revision=_served_revision(request), lang=lang)


async def _on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    # The trace goes to the server log only; the client gets a code and the request path.
    log.exception("unexpected error on %s %s", request.method, request.url.path)
    lang = problem_lang(request)
    return problem_response("internal_error", gettext_in(lang, N_("an unexpected error occurred; it has been logged")),
                            request.url.path, revision=_served_revision(request), lang=lang)


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into problem details."""
    app.add_exception_handler(Problem, _on_problem)
    app.add_exception_handler(RequestValidationError, _on_validation)
    app.add_exception_handler(StarletteHTTPException, _on_http)
    app.add_exception_handler(FactError, _on_fact_error)
    app.add_exception_handler(InferenceError, _on_inference_error)
    app.add_exception_handler(RuleError, _on_rule_error)
    app.add_exception_handler(StoreError, _on_store_error)
    app.add_exception_handler(OperationalError, _on_database_down)
    app.add_exception_handler(InterfaceError, _on_database_down)
    app.add_exception_handler(Exception, _on_unexpected)


def documented(*codes: str) -> dict[int | str, dict[str, Any]]:
    """The ``responses`` entry of a route for the problems it can return (OpenAPI)."""
    by_status: dict[int, list[str]] = {}
    for code in codes:
        by_status.setdefault(PROBLEMS[code][0], []).append(code)
    return {status: {"model": ProblemDetails, "description": "problem: " + ", ".join(f"`{c}`" for c in cs)}
            for status, cs in sorted(by_status.items())}
