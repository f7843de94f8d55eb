"""Decision log and feedback: rule sets, decisions, decision items, feedback.

Revision ID: 0001
Revises:
Create Date: 2026-11-23
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
ITEM = ["decision_id", "subject_type", "subject_id", "item_id"]


def upgrade() -> None:
    op.create_table(
        "rule_sets",
        sa.Column("revision", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("files", JSON, nullable=False),
        sa.PrimaryKeyConstraint("revision", name=op.f("pk_rule_sets")),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("logged_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("revision", sa.String(32), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("input_hash", sa.String(80), nullable=False),
        sa.Column("max_per_subject", sa.Integer(), nullable=True),
        sa.Column("input", JSON, nullable=False),
        sa.Column("output", JSON, nullable=False),
        sa.Column("history", JSON, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decisions")),
    )
    for column in ("as_of", "logged_at", "revision"):
        op.create_index(op.f(f"ix_decisions_{column}"), "decisions", [column])
    op.create_table(
        "decision_items",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("item_id", sa.String(100), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("rules", JSON, nullable=False),
        sa.Column("manager_id", sa.String(200), nullable=True),
        sa.Column("segment", sa.String(100), nullable=True),
        sa.Column("status", sa.String(16), nullable=True),
        sa.ForeignKeyConstraint(["decision_id"], ["decisions.id"], ondelete="CASCADE",
                                name=op.f("fk_decision_items_decision_id_decisions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_decision_items")),
        sa.UniqueConstraint(*ITEM, name=op.f("uq_decision_items_decision_id_subject_type_subject_id_item_id")),
    )
    op.create_index(op.f("ix_decision_items_subject_type_subject_id"), "decision_items", ["subject_type", "subject_id"])
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("subject_type", sa.String(16), nullable=False),
        sa.Column("subject_id", sa.String(200), nullable=False),
        sa.Column("item_id", sa.String(100), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=True),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("manager_id", sa.String(200), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(ITEM, [f"decision_items.{c}" for c in ITEM], name="fk_feedback_item",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback")),
        sa.UniqueConstraint(*ITEM, "status",
                            name=op.f("uq_feedback_decision_id_subject_type_subject_id_item_id_status")),
    )
    op.create_index(op.f("ix_feedback_item_id_date"), "feedback", ["item_id", "date"])
    op.create_index(op.f("ix_feedback_subject_type_subject_id_date"), "feedback", ["subject_type", "subject_id",
                                                                                   "date"])


def downgrade() -> None:
    op.drop_table("feedback")
    op.drop_table("decision_items")
    op.drop_table("decisions")
    op.drop_table("rule_sets")
