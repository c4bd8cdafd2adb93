"""Files offered in Teams, waiting for the person's consent.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-02
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "pending_files",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("token", sa.String(64), nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("mime", sa.String(128), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),  # sealed when `sealed`
        sa.Column("sealed", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_pending_files"),
        sa.UniqueConstraint("token", name="uq_pending_files_token"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name="fk_pending_files_person_id_people"
        ),
    )


def downgrade() -> None:
    op.drop_table("pending_files")
