"""Retention and erasure: the effectiveness rollup that purges keep, the record of each erasure.

* ``effectiveness_rollup``: the shown recommendations of purged decisions, counted per as-of date,
  action, manager, segment, rules and settled feedback state (and rejection reason), so an
  effectiveness report over a purged period gives the same counts and rates;
  ``effectiveness_rollup_decisions``: how many purged decisions of each as-of date it counted.
* ``erasures``: each purge and forget (kind, when, by whom, counts; no personal data).
* ``decisions.erasure_id``: the forget that removed a client's personal data from the decision
  (a replay then says it cannot be identical).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    op.create_table(
        "erasures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(200), nullable=False),
        sa.Column("before", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.Column("items", sa.Integer(), nullable=False),
        sa.Column("feedback", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_erasures")),
    )
    op.create_table(
        "effectiveness_rollup",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("item_id", sa.String(100), nullable=False),
        sa.Column("manager_id", sa.String(200), nullable=True),
        sa.Column("segment", sa.String(100), nullable=True),
        sa.Column("rules", _JSON, nullable=False),
        sa.Column("state", sa.String(16), nullable=True),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_effectiveness_rollup")),
    )
    op.create_index(op.f("ix_effectiveness_rollup_as_of"), "effectiveness_rollup", ["as_of"])
    op.create_table(
        "effectiveness_rollup_decisions",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("decisions", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("as_of", name=op.f("pk_effectiveness_rollup_decisions")),
    )
    # plain ADD COLUMN: SQLite's batch mode would copy decisions, whose drop cascades to the items
    op.add_column("decisions", sa.Column("erasure_id", sa.Integer(), nullable=True))


def downgrade() -> None:
    op.drop_column("decisions", "erasure_id")
    op.drop_table("effectiveness_rollup_decisions")
    op.drop_index(op.f("ix_effectiveness_rollup_as_of"), table_name="effectiveness_rollup")
    op.drop_table("effectiveness_rollup")
    op.drop_table("erasures")
