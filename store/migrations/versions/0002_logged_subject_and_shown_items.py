"""The subject a one-subject request asked for, every recommended item logged with which were shown.

* ``decisions.subject_type`` / ``subject_id``: the one subject a one-subject request
  (``POST /v1/decisions/{client|manager}/{id}``) asked for, whose decision alone is logged; null:
  every subject posted (and every decision logged before this migration).
* ``decisions.all_recommended``: the output holds every recommended item, the first
  ``max_per_subject`` of each subject being the ones shown; false for decisions logged before,
  whose output holds the shown items only (a replay then applies the limit again).
* ``decision_items.shown``: the answer showed the item as a recommendation. Items logged before
  were all shown when recommended.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN on both databases: SQLite's batch mode would copy decision_items, whose
    # drop would cascade to the feedback rows referring to it
    op.add_column("decisions", sa.Column("subject_type", sa.String(16), nullable=True))
    op.add_column("decisions", sa.Column("subject_id", sa.String(200), nullable=True))
    op.add_column("decisions", sa.Column("all_recommended", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.add_column("decision_items", sa.Column("shown", sa.Boolean(), server_default=sa.false(), nullable=False))
    items = sa.table("decision_items", sa.column("shown", sa.Boolean()), sa.column("outcome", sa.String(16)))
    op.execute(items.update().values(shown=items.c.outcome == "recommended"))


def downgrade() -> None:
    # SQLite (3.35 and later) drops a column in place too
    op.drop_column("decision_items", "shown")
    for column in ("all_recommended", "subject_id", "subject_type"):
        op.drop_column("decisions", column)
