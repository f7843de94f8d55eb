"""Server settings, from `rm-advisor serve` flags or ``RM_ADVISOR_*`` environment variables.

Every field can be set as an environment variable named ``RM_ADVISOR_`` + the field name in
capitals (``RM_ADVISOR_API_KEY``, ``RM_ADVISOR_MAX_SUBJECTS``); flags given to ``serve`` win.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

Lang = Literal["zh", "en", "both"]
ENV_PREFIX = "RM_ADVISOR_"


class Settings(BaseSettings):
    """How the HTTP server runs and what it allows."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)

    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=8000, ge=0, le=65535, description="port to listen on")
    workers: int = Field(default=1, ge=1, le=32, description="worker processes (each with its own rule set copy)")
    rules_dir: Path | None = Field(default=None, description="rule directory (default: the shipped packs)")
    kb_dir: Path | None = Field(default=None, description="knowledge-base directory (default: the shipped one)")
    api_key: SecretStr | None = Field(default=None, description="key for changing routes (reload, feedback); at least "
                                                                "16 characters")
    admin_key: SecretStr | None = Field(default=None, description="key for the administration routes (purge, forget: "
                                                                  "`X-Admin-Key`); at least 16 characters, not the API "
                                                                  "key; none: those routes answer 403")
    protect_reads: bool = Field(default=False, description="reading routes need the API key too")
    cors_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        default=(), description="origins allowed by CORS, comma-separated; none: CORS is off")
    max_subjects: int = Field(default=100, ge=1, le=10_000, description="most clients + managers in one request")
    max_body_bytes: int = Field(default=1_000_000, ge=1024, description="largest request body accepted")
    max_firings: int = Field(default=10_000, ge=1, description="rule firings per decision before `firing_limit`")
    engine: Literal["compiled", "experta"] = Field(
        default="compiled", description="evaluator of chaining rules: compiled, or experta (the reference: the same "
                                        "decisions, slower)")
    max_check_nodes: int = Field(default=40_000, ge=1_000,
                                 description="most YAML nodes (aliases expanded) the files posted to one rule check "
                                             "may hold, about four times the shipped rule packs; bounds the work "
                                             "of one check")
    max_diagnostics: int = Field(default=200, ge=1, description="most problems listed in one answer (a check, a "
                                                                "refused reload, invalid facts); all are counted")
    default_lang: Lang = Field(default="both", description="language of texts when a request asks for none")
    decision_log: bool = Field(default=True, description="record every decision in the decision log and apply the "
                                                         "contact policies to it; false: decide without a database "
                                                         "(the log, feedback and report routes then answer 503)")
    db_url: SecretStr | None = Field(default=None, description="decision database URL (default: "
                                                               "sqlite:///rm-advisor.db in the working directory); "
                                                               "may hold a password")
    worker_healthcheck_timeout: int = Field(
        default=60, ge=1, le=3600,
        description="seconds a worker process may take to answer the supervisor's health-check ping (with "
                    "workers > 1, uvicorn 0.37+) before it is killed and replaced; also how long a new worker "
                    "may take to become ready on a restart (SIGHUP). Long enough for a worker to start on a "
                    "loaded machine; a hung worker is replaced after this long")
    rate_limit: str | None = Field(default=None, description="requests allowed per API key (or per client address "
                                                              "without one), e.g. `120/minute`, counted per worker "
                                                              "process; over it: 429 `rate_limited` with "
                                                              "Retry-After; none: no limit")
    freeze_gc: bool = Field(default=True, description="after start-up and after each reload, keep the cyclic "
                                                      "garbage collector off what the server keeps (gc.freeze): "
                                                      "no decision pays for scanning the rule book (about one in "
                                                      "a hundred did, 60-80 ms); false: Python's default")
    request_log: bool = Field(default=True, description="write one JSON line per request to stderr (request id, "
                                                        "route template, status, duration, revision, decision "
                                                        "id; no personal data)")
    session_idle_minutes: int = Field(default=720, ge=5, le=43_200,
                                      description="a login session ends after this many minutes without a request "
                                                  "(default 12 hours)")
    secure_cookies: bool = Field(default=True, description="send the session cookie only over HTTPS (`Secure`); "
                                                           "false only for a local demo on plain http")
    login_failures: str = Field(default="10/minute", description="failed logins allowed per client address, counted "
                                                                 "per worker process; over it: 429 `rate_limited`")
    four_eyes: Literal["auto", "on", "off"] = Field(
        default="auto", description="rule changes go through releases (`/v1/releases`: proposed by a rule author, "
                                    "approved by another user) and the direct reload is refused: `auto` once the "
                                    "database has user accounts, `on` always, `off` never (a single-operator "
                                    "install)")
    experiment: Path | None = Field(default=None, description="an experiment file (champion/challenger): each "
                                                              "client decided alone (`POST /v1/decisions/client/{id}`) "
                                                              "is decided by its arm's rule set and logged with the "
                                                              "arm; needs the decision log")
    sync_dir: Path | None = Field(default=None, description="set by `serve`: where a reload publishes the rule set "
                                                    "to the other worker processes")

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(o.strip() for o in value.split(",") if o.strip())
        return value

    @field_validator("login_failures")
    @classmethod
    def _a_login_rate(cls, value: str) -> str:
        checked = cls._a_rate(value)
        if checked is None:
            raise ValueError("a rate limit is a count per period, e.g. 10/minute")
        return checked

    @field_validator("rate_limit")
    @classmethod
    def _a_rate(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        from limits import parse

        try:
            parse(value)
        except ValueError:
            raise ValueError("a rate limit is a count per period, e.g. 120/minute or 10/second") from None
        return value.strip()

    @field_validator("api_key", "admin_key")
    @classmethod
    def _long_enough(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("the key must have at least 16 characters")
        return value

    @model_validator(mode="after")
    def _reads_need_a_key(self) -> Settings:
        if self.protect_reads and self.api_key is None:
            raise ValueError("protect_reads needs an api_key")
        if self.experiment is not None and not self.decision_log:
            raise ValueError("an experiment needs the decision log (its arms are logged with the decisions)")
        if self.admin_key is not None and self.api_key is not None and \
                self.admin_key.get_secret_value() == self.api_key.get_secret_value():
            raise ValueError("the admin key must not be the API key (managers' apps hold the API key)")
        return self

    def database_url(self) -> str | None:
        """The decision database URL in clear, for the store (None: the store's default)."""
        return self.db_url.get_secret_value() if self.db_url is not None else None

    def to_env(self) -> dict[str, str]:
        """These settings as ``RM_ADVISOR_*`` variables, so worker processes rebuild them exactly."""
        env: dict[str, str] = {}
        for name in type(self).model_fields:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, SecretStr):
                value = value.get_secret_value()
            elif isinstance(value, bool):
                value = "true" if value else "false"
            elif isinstance(value, tuple):
                value = ",".join(value)
            env[ENV_PREFIX + name.upper()] = str(value)
        return env
