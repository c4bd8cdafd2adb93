"""Admin changes waiting for their proposer's Confirm.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "admin_changes",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("proposer_id", Id, nullable=False),
        sa.Column("change", sa.Text, nullable=False),  # core/admin.py encode()
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_admin_changes"),
        sa.ForeignKeyConstraint(
            ["proposer_id"], ["people.id"], name="fk_admin_changes_proposer_id_people"
        ),
    )


def downgrade() -> None:
    op.drop_table("admin_changes")
