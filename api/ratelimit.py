"""Rate limits per API key, or per client address for a request without a valid key.

``rate_limit`` (``RM_ADVISOR_RATE_LIMIT``, e.g. ``120/minute``; off by default) is parsed by the
``limits`` library and counted in a moving window. A request over it answers 429 ``rate_limited``
with ``Retry-After`` (whole seconds until the window lets one more through). The key is the API
key or the admin key when the request holds one the server has (so a made-up key is no way round
the limit: it counts as the address), kept only as a hash; else the client's address.

Counted in memory, per worker process: with ``--workers N`` a client gets up to N times the
limit when its connections spread over the workers. Liveness, readiness and metrics are not
limited (orchestrators and Prometheus call them on a schedule).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from rm_advisor.api.deps import ADMIN_KEY_HEADER, API_KEY_HEADER
from rm_advisor.api.problems import problem_lang, problem_response
from rm_advisor.api.settings import Settings
from rm_advisor.engine.messages import N_, gettext_in

#: paths never limited
EXEMPT = frozenset({"/healthz", "/readyz", "/metrics"})


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()[:32]


class RateLimit:
    """The middleware (installed only when ``rate_limit`` is set)."""

    def __init__(self, app: ASGIApp, settings: Settings):
        assert settings.rate_limit is not None
        self.app, self.text, self.item = app, settings.rate_limit, parse(settings.rate_limit)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.keys = {k.get_secret_value(): "key:" + _digest(k.get_secret_value())
                     for k in (settings.api_key, settings.admin_key) if k is not None}

    def bucket(self, scope: Scope) -> str:
        headers = Headers(scope=scope)
        for name in (API_KEY_HEADER, ADMIN_KEY_HEADER):
            given = headers.get(name)
            if given is None:
                continue
            for secret, bucket in self.keys.items():
                if hmac.compare_digest(given.encode("utf-8"), secret.encode("utf-8")):
                    return bucket
        client = scope.get("client")
        return "addr:" + (str(client[0]) if client else "unknown")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "") in EXEMPT:
            await self.app(scope, receive, send)
            return
        bucket = self.bucket(scope)
        if self.limiter.hit(self.item, bucket):
            await self.app(scope, receive, send)
            return
        retry = retry_after(self.limiter, self.item, bucket)
        request = Request(scope)
        lang = problem_lang(request)
        detail = gettext_in(lang, N_("over the rate limit of {limit} requests; try again in {seconds} s")).format(
            limit=self.text, seconds=retry)
        live = getattr(getattr(scope.get("app"), "state", None), "live", None)
        response = problem_response("rate_limited", detail, scope.get("path", ""),
                                    headers={"Retry-After": str(retry)},
                                    revision=live.revision if live is not None else None, lang=lang)
        await response(scope, receive, send)


def retry_after(limiter: MovingWindowRateLimiter, item: RateLimitItem, bucket: str) -> int:
    """Whole seconds until ``bucket`` may make one more request (at least 1)."""
    reset = limiter.get_window_stats(item, bucket).reset_time
    return max(1, math.ceil(reset - time.time()))
