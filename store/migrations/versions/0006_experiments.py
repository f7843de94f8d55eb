"""The experiment arm each decision was made in (champion/challenger, issue 19 §3).

* ``decisions.experiment_id`` / ``decisions.arm``: the experiment whose arm decided the logged
  subject, and the arm's name; null: no experiment (every decision logged before this migration).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # plain ADD COLUMN on both databases (see 0002: no batch copy of a table others refer to)
    op.add_column("decisions", sa.Column("experiment_id", sa.String(64), nullable=True))
    op.add_column("decisions", sa.Column("arm", sa.String(64), nullable=True))
    op.create_index(op.f("ix_decisions_experiment_id"), "decisions", ["experiment_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_decisions_experiment_id"), table_name="decisions")
    op.drop_column("decisions", "arm")
    op.drop_column("decisions", "experiment_id")
