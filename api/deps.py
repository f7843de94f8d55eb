"""Dependencies shared by the routes: the rule set a request uses, access checks, language."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Header, Query, Request, Security
from fastapi.security import APIKeyHeader

from rm_advisor.api.problems import Problem
from rm_advisor.api.ruleset import LiveRuleSet, LoadedRuleSet
from rm_advisor.api.schemas import Lang
from rm_advisor.api.settings import Settings
from rm_advisor.engine.messages import N_
from rm_advisor.store import Store

API_KEY_HEADER = "X-API-Key"
ADMIN_KEY_HEADER = "X-Admin-Key"

_api_key = APIKeyHeader(name=API_KEY_HEADER, scheme_name="ApiKey", auto_error=False,
                        description="needed by changing routes (reload; feedback when the server has a key); by "
                                    "reading routes too when the server runs with protect_reads")

#: the API key's security scheme, for :mod:`api.access` (which finds who makes a request)
api_key_scheme = _api_key

admin_key_scheme = APIKeyHeader(name=ADMIN_KEY_HEADER, scheme_name="AdminKey", auto_error=False,
                          description="needed by the administration routes (purge, forget): the server's admin_key "
                                      "(RM_ADVISOR_ADMIN_KEY), never the API key")


def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_live(request: Request) -> LiveRuleSet:
    live: LiveRuleSet = request.app.state.live
    return live


def rule_set(request: Request, live: Annotated[LiveRuleSet, Depends(get_live)]) -> LoadedRuleSet:
    """The rule set this request uses from start to finish: taken once, so a reload during the
    request does not change its answer. Its revision goes into the response header."""
    loaded = live.current()
    request.state.revision = loaded.revision
    return loaded


def _check_key(settings: Settings, given: str | None) -> None:
    if settings.api_key is None:
        raise Problem("key_not_configured", N_("start the server with an API key (RM_ADVISOR_API_KEY or --api-key) "
                                               "to use this route"))
    expected = settings.api_key.get_secret_value().encode()
    # compare_digest takes the same time wherever the first difference is
    if given is None or not hmac.compare_digest(given.encode(), expected):
        raise Problem("unauthorized", N_("missing or wrong {header} header"), fields={"header": API_KEY_HEADER},
                      headers={"WWW-Authenticate": f'ApiKey header="{API_KEY_HEADER}"'})


def admin_access(settings: Annotated[Settings, Depends(get_settings)],
                 key: Annotated[str | None, Security(admin_key_scheme)]) -> None:
    """For the administration routes (erasing data): the admin key, which the server must have."""
    if settings.admin_key is None:
        raise Problem("key_not_configured", "start the server with an admin key (RM_ADVISOR_ADMIN_KEY) to use the "
                                            "administration routes")
    expected = settings.admin_key.get_secret_value().encode()
    if key is None or not hmac.compare_digest(key.encode(), expected):
        raise Problem("unauthorized", f"missing or wrong {ADMIN_KEY_HEADER} header",
                      headers={"WWW-Authenticate": f'ApiKey header="{ADMIN_KEY_HEADER}"'})


def require_key(settings: Annotated[Settings, Depends(get_settings)],
                key: Annotated[str | None, Security(_api_key)]) -> None:
    """For changing routes: a configured key must be given."""
    _check_key(settings, key)


def write_access(settings: Annotated[Settings, Depends(get_settings)],
                 key: Annotated[str | None, Security(_api_key)]) -> None:
    """For routes that record data (feedback): the key, when the server has one. A server without
    a key runs on a trusted network, where managers' apps may write without one."""
    if settings.api_key is not None:
        _check_key(settings, key)


def read_access(settings: Annotated[Settings, Depends(get_settings)],
                key: Annotated[str | None, Security(_api_key)]) -> None:
    """For reading routes: open, unless the server runs with ``protect_reads``."""
    if settings.protect_reads:
        _check_key(settings, key)


def optional_store(request: Request, settings: Annotated[Settings, Depends(get_settings)]) -> Store | None:
    """The decision store the app opened at startup; None when it runs without a decision log."""
    if not settings.decision_log:
        return None
    store: Store | None = getattr(request.app.state, "store", None)
    if store is None:  # never decide unlogged when logging is on
        raise RuntimeError("the decision store is not open: the app must run with its lifespan")
    return store


def log_store(store: Annotated[Store | None, Depends(optional_store)]) -> Store:
    """The decision store, for the routes that need it (feedback, logged decisions, reports)."""
    if store is None:
        raise Problem("decision_log_off", N_("this server runs without a decision log (decision_log=false); "
                                             "start it with RM_ADVISOR_DECISION_LOG=true to log, replay and take "
                                             "feedback"))
    return store


_LANGS: dict[str, Lang] = {"zh": "zh", "en": "en", "both": "both"}


def negotiate(lang: str | None, accept_language: str | None, default: Lang) -> Lang:
    """The ``lang`` parameter if given; else the best of zh/en in Accept-Language; else the default."""
    if lang is not None and lang in _LANGS:
        return _LANGS[lang]
    ranked: list[tuple[float, int, Lang]] = []
    for i, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        primary = tag.strip().split("-")[0].lower()
        if primary in ("zh", "en") and q > 0:
            ranked.append((-q, i, _LANGS[primary]))
    return sorted(ranked)[0][2] if ranked else default


def language(settings: Annotated[Settings, Depends(get_settings)],
             lang: Annotated[Lang | None, Query(description="zh, en or both; wins over Accept-Language")] = None,
             accept_language: Annotated[str | None, Header(description="zh or en (q-values honoured)")] = None
             ) -> Lang:
    """The language(s) of titles, reasons and descriptions in the response."""
    return negotiate(lang, accept_language, settings.default_lang)


def language_headers(lang: Lang) -> dict[str, str]:
    return {"Content-Language": "zh, en" if lang == "both" else lang, "Vary": "Accept-Language"}


LoadedDep = Annotated[LoadedRuleSet, Depends(rule_set)]
LangDep = Annotated[Lang, Depends(language)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
LiveDep = Annotated[LiveRuleSet, Depends(get_live)]
OptionalStoreDep = Annotated[Store | None, Depends(optional_store)]
StoreDep = Annotated[Store, Depends(log_store)]
