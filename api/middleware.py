"""Two small ASGI middlewares: every response names its rule-set revision, and request bodies are
bounded in size and must be JSON.

The body guard is written here (a few lines) rather than taken from a framework version that has
one, so it works with every supported FastAPI and answers in the API's problem format.
"""

from __future__ import annotations

import email.message
from collections.abc import Callable

from starlette.datastructures import Headers, MutableHeaders
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rm_advisor.api.problems import problem_lang, problem_response
from rm_advisor.engine.messages import N_, gettext_in

REVISION_HEADER = "X-Rule-Revision"
_BODY_METHODS = {"POST", "PUT", "PATCH"}


class RevisionHeader:
    """Adds ``X-Rule-Revision``: the revision the request was served with (taken by the
    ``rule_set`` dependency), or the current one for responses that used none (404, 401...)."""

    def __init__(self, app: ASGIApp, current_revision: Callable[[], str]):
        self.app, self.current_revision = app, current_revision

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})

        async def send_with_revision(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if REVISION_HEADER.lower() not in headers:
                    headers.append(REVISION_HEADER, state.get("revision") or self.current_revision())
            await send(message)

        await self.app(scope, receive, send_with_revision)


def is_json(content_type: str | None) -> bool:
    if not content_type:
        return False
    msg = email.message.Message()
    msg["content-type"] = content_type
    sub = msg.get_content_subtype()
    return msg.get_content_maintype() == "application" and (sub == "json" or sub.endswith("+json"))


#: the JSON API; a form body (``application/x-www-form-urlencoded``) is taken elsewhere: the login form, pages
_API_PREFIX = "/v1/"


def _form_allowed(scope: Scope, content_type: str | None) -> bool:
    """A browser's form post to a page (``/login``, ``/logout``, ``/app/...``), never to the JSON API."""
    kind = (content_type or "").split(";")[0].strip().lower()
    return kind == "application/x-www-form-urlencoded" and not str(scope.get("path", "")).startswith(_API_PREFIX)


class BodyGuard:
    """Refuses bodies over ``max_bytes`` (413) and non-JSON bodies (415; a form post to a page
    outside ``/v1/`` is let through) before any route runs.

    The body is read here, counted as it arrives (a missing or lying Content-Length cannot get
    past the limit) and handed on unchanged.
    """

    def __init__(self, app: ASGIApp, max_bytes: int, current_revision: Callable[[], str]):
        self.app, self.max_bytes, self.current_revision = app, max_bytes, current_revision

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.max_bytes):
            await self._refuse(scope, receive, send, "body_too_large" if declared.isdigit() else "bad_request",
                               N_("Content-Length {declared} is over the limit of {limit} bytes")
                               if declared.isdigit() else N_("bad Content-Length {declared}"),
                               declared=repr(declared), limit=self.max_bytes)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send, "body_too_large",
                                   N_("the body is over the limit of {limit} bytes"), limit=self.max_bytes)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        if body and not is_json(headers.get("content-type")) and not _form_allowed(scope, headers.get("content-type")):
            given = headers.get("content-type")
            await self._refuse(scope, receive, send, "unsupported_media_type",
                               N_("send the body as Content-Type: application/json, not {given}") if given
                               else N_("send the body as Content-Type: application/json, not no content type"),
                               given=given)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, code: str, detail: str,
                      **fields: object) -> None:
        """A problem before the app sees the request, in the language the request asks for."""
        lang = problem_lang(Request(scope))
        response = problem_response(code, gettext_in(lang, detail).format(**fields), scope.get("path", ""),
                                    revision=self.current_revision(),
                                    headers={"Connection": "close"} if code == "body_too_large" else None, lang=lang)
        await response(scope, receive, send)
