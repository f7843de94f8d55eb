"""Rule releases with four eyes (issue 21 §6).

* ``releases``: the rule files of a proposed revision, its check and diff summaries, who proposed
  it and who approved or rejected it, and its state (proposed, active, rejected, rolled_back,
  superseded).
* ``release_events``: the audit trail: every change of a release's state, by whom and when.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("revision", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("rule_files", _JSON, nullable=False),
        sa.Column("base_revision", sa.String(32), nullable=False),
        sa.Column("check_summary", _JSON, nullable=False),
        sa.Column("diff_summary", _JSON, nullable=False),
        sa.Column("proposed_by", sa.String(64), nullable=False),
        sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(64), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.Column("decision_note", sa.String(2000), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_releases")),
    )
    op.create_index(op.f("ix_releases_revision"), "releases", ["revision"])
    op.create_index(op.f("ix_releases_state"), "releases", ["state"])
    op.create_table(
        "release_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("release_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(16), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("serving_before", sa.String(32), nullable=True),
        sa.Column("note", sa.String(2000), nullable=True),
        sa.ForeignKeyConstraint(["release_id"], ["releases.id"], name=op.f("fk_release_events_release_id_releases"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_release_events")),
    )
    op.create_index(op.f("ix_release_events_release_id"), "release_events", ["release_id"])
    op.create_index(op.f("ix_release_events_at"), "release_events", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_release_events_at"), table_name="release_events")
    op.drop_index(op.f("ix_release_events_release_id"), table_name="release_events")
    op.drop_table("release_events")
    op.drop_index(op.f("ix_releases_state"), table_name="releases")
    op.drop_index(op.f("ix_releases_revision"), table_name="releases")
    op.drop_table("releases")
