"""Decisions behind buttons, claimed exactly once.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "decisions",
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(255), nullable=False),
        sa.Column("options", sa.String(100), nullable=False),
        sa.Column("outcome", sa.String(16)),
        sa.Column(
            "decided_by", Id, sa.ForeignKey("people.id", name="fk_decisions_decided_by_people")
        ),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("note", sa.Text, server_default="", nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_decisions"),
    )


def downgrade() -> None:
    op.drop_table("decisions")
