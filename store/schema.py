"""The tables of the decision database (SQLAlchemy 2 declarative models).

Changing a model needs a migration in ``store/migrations/versions`` (see docs/decision-log.md);
``tests/store/test_migrations.py`` fails while the models and the migrations disagree.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: JSON documents: JSONB on PostgreSQL, JSON text elsewhere.
Json = JSON().with_variant(JSONB(), "postgresql")

ID = String(64)
NAMING = {"ix": "ix_%(table_name)s_%(column_0_N_name)s", "uq": "uq_%(table_name)s_%(column_0_N_name)s",
          "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s"}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class RuleSetRow(Base):
    """The rule, policy and knowledge-base file texts of one revision, so a decision can be replayed."""

    __tablename__ = "rule_sets"

    revision: Mapped[str] = mapped_column(String(32), primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    files: Mapped[dict[str, Any]] = mapped_column(Json, doc="{'rules': {name: text}, 'knowledge_base': {...}}")


class DecisionRow(Base):
    """One logged decision: masked input, full output with the trace, the feedback history it used.

    The output is the decision about the subjects the request asked for (``subject_type`` and
    ``subject_id`` name the one a one-subject request asked for; null: every subject posted), with
    every recommended item; ``max_per_subject`` is how many of each subject's the answer showed."""

    __tablename__ = "decisions"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    logged_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    source: Mapped[str] = mapped_column(String(16))
    revision: Mapped[str] = mapped_column(String(32), index=True)
    as_of: Mapped[dt.date] = mapped_column(Date, index=True)
    input_hash: Mapped[str] = mapped_column(String(80))
    max_per_subject: Mapped[int | None] = mapped_column(Integer)
    input: Mapped[dict[str, Any]] = mapped_column(Json)
    output: Mapped[dict[str, Any]] = mapped_column(Json)
    history: Mapped[list[Any] | None] = mapped_column(Json, doc="feedback events the policies saw; null: none applied")
    subject_type: Mapped[str | None] = mapped_column(String(16), doc="the one subject asked for; null: all posted")
    subject_id: Mapped[str | None] = mapped_column(String(200))
    all_recommended: Mapped[bool] = mapped_column(
        Boolean, server_default=false(),
        doc="the output holds every recommended item (false: logged before migration 0002, the shown ones only)")
    erasure_id: Mapped[int | None] = mapped_column(
        Integer, doc="the erasure (`erasures.id`) that removed a client's personal data from it; null: none")
    experiment_id: Mapped[str | None] = mapped_column(
        String(64), index=True, doc="the experiment whose arm made the decision (migration 0005); null: none")
    arm: Mapped[str | None] = mapped_column(String(64), doc="the experiment arm's name")


class DecisionItemRow(Base):
    """One item of a logged decision (recommended, vetoed or suppressed), for feedback and reports;
    ``shown``: the answer showed it as a recommendation (recommended, within the ``top`` limit)."""

    __tablename__ = "decision_items"
    __table_args__ = (UniqueConstraint("decision_id", "subject_type", "subject_id", "item_id"),
                      Index(None, "subject_type", "subject_id"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[str] = mapped_column(ID, ForeignKey("decisions.id", ondelete="CASCADE"))
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[str] = mapped_column(String(16), doc="recommended | vetoed | suppressed")
    rank: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer)
    rules: Mapped[list[str]] = mapped_column(Json)
    manager_id: Mapped[str | None] = mapped_column(String(200))
    segment: Mapped[str | None] = mapped_column(String(100))
    status: Mapped[str | None] = mapped_column(String(16), doc="latest feedback status")
    shown: Mapped[bool] = mapped_column(Boolean, server_default=false(), doc="shown as a recommendation")


class FeedbackRow(Base):
    """One feedback event. A status is recorded at most once per item (the unique constraint is what
    keeps two servers from recording it twice)."""

    __tablename__ = "feedback"
    __table_args__ = (
        ForeignKeyConstraint(["decision_id", "subject_type", "subject_id", "item_id"],
                             ["decision_items.decision_id", "decision_items.subject_type",
                              "decision_items.subject_id", "decision_items.item_id"],
                             name="fk_feedback_item", ondelete="CASCADE"),
        UniqueConstraint("decision_id", "subject_type", "subject_id", "item_id", "status"),
        Index(None, "subject_type", "subject_id", "date"),
        Index(None, "item_id", "date"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    decision_id: Mapped[str] = mapped_column(ID)
    subject_type: Mapped[str] = mapped_column(String(16))
    subject_id: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(16))
    reason_code: Mapped[str | None] = mapped_column(String(64))
    date: Mapped[dt.date] = mapped_column(Date)
    until: Mapped[dt.date | None] = mapped_column(Date)
    manager_id: Mapped[str | None] = mapped_column(String(200), doc="who reported it")
    source: Mapped[str] = mapped_column(String(16), doc="api | cli | csv")
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ErasureRow(Base):
    """One purge or forget: when, by whom, and how many records it removed or changed. It holds no
    personal data: a forget does not name the client it erased."""

    __tablename__ = "erasures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), doc="purge | forget")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    by: Mapped[str] = mapped_column(String(200), doc="who asked for it (an operator name, or `api`)")
    before: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True),
                                                       doc="purge: decisions logged before this were removed")
    decisions: Mapped[int] = mapped_column(Integer, doc="decisions removed (purge) or changed (forget)")
    items: Mapped[int] = mapped_column(Integer, doc="decision items removed or changed")
    feedback: Mapped[int] = mapped_column(Integer, doc="feedback events removed or changed")


class RollupRow(Base):
    """Shown recommendations of purged decisions, counted by what the effectiveness report groups
    on and by how their feedback settled, so a report over a purged period stays the same."""

    __tablename__ = "effectiveness_rollup"
    __table_args__ = (Index(None, "as_of"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    as_of: Mapped[dt.date] = mapped_column(Date)
    item_id: Mapped[str] = mapped_column(String(100))
    manager_id: Mapped[str | None] = mapped_column(String(200))
    segment: Mapped[str | None] = mapped_column(String(100))
    rules: Mapped[list[str]] = mapped_column(Json)
    state: Mapped[str | None] = mapped_column(String(16), doc="rejected | done | accepted | snoozed; null: no answer")
    reason_code: Mapped[str | None] = mapped_column(String(64), doc="rejected: the reason code")
    count: Mapped[int] = mapped_column(Integer)


class RollupDecisionsRow(Base):
    """How many purged decisions of one as-of date had shown recommendations (the report's count)."""

    __tablename__ = "effectiveness_rollup_decisions"

    as_of: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    decisions: Mapped[int] = mapped_column(Integer)


class UserRow(Base):
    """A person who logs in: a manager, a branch head, a rule author or an administrator. The
    password is kept as an argon2id hash only; a disabled account cannot log in and its sessions
    and tokens stop working."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16), doc="manager | branch_head | rule_author | administrator")
    manager_id: Mapped[str | None] = mapped_column(String(200), doc="role manager: the manager's id in the facts")
    branch: Mapped[str | None] = mapped_column(String(100), index=True, doc="a manager's or branch head's branch")
    password_hash: Mapped[str] = mapped_column(String(200), doc="argon2id (argon2-cffi's encoded form)")
    disabled: Mapped[bool] = mapped_column(Boolean, server_default=false())
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class SessionRow(Base):
    """A browser session: the SHA-256 of its cookie token (the token itself is never stored), its
    CSRF token, and when it was last used (it ends after the idle timeout)."""

    __tablename__ = "sessions"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ApiTokenRow(Base):
    """A user's API token for a CRM or a script: named, shown once, kept as its SHA-256, revocable."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(Integer, ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    last_used: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class ReleaseRow(Base):
    """A rule release: the rule files of one revision proposed by a rule author, checked and diffed
    against the serving revision, then activated or rejected by another user (four eyes)."""

    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    revision: Mapped[str] = mapped_column(String(32), index=True)
    state: Mapped[str] = mapped_column(String(16), index=True,
                                       doc="proposed | active | rejected | rolled_back | superseded")
    rule_files: Mapped[dict[str, Any]] = mapped_column(Json, doc="{name: text} of the rule and policy files")
    base_revision: Mapped[str] = mapped_column(String(32), doc="the revision serving when it was proposed")
    check_summary: Mapped[dict[str, Any]] = mapped_column(Json, doc="errors, warnings and the warnings listed")
    diff_summary: Mapped[dict[str, Any]] = mapped_column(Json, doc="what changes against base_revision, and over what")
    proposed_by: Mapped[str] = mapped_column(String(64))
    proposed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    decided_by: Mapped[str | None] = mapped_column(String(64), doc="who approved or rejected it")
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(String(2000), doc="the proposer's note")
    decision_note: Mapped[str | None] = mapped_column(String(2000), doc="the approver's or rejecter's note")


class ReleaseEventRow(Base):
    """One change of a release's state (the audit trail): what, by whom, when, from which revision."""

    __tablename__ = "release_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    release_id: Mapped[int] = mapped_column(Integer, ForeignKey("releases.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(16), doc="proposed | approved | rejected | superseded | rolled_back | "
                                                      "reactivated | direct")
    state: Mapped[str] = mapped_column(String(16), doc="the release's state after the event")
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    serving_before: Mapped[str | None] = mapped_column(String(32), doc="the revision serving before the event")
    note: Mapped[str | None] = mapped_column(String(2000))
