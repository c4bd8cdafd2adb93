"""Directory: which source manages a person, that source's ids for them, and the
reminder kinds each person muted.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.add_column(sa.Column("source", sa.String(32)))
        batch.add_column(sa.Column("external_id", sa.String(255)))
        batch.add_column(sa.Column("employee_number", sa.String(64)))
        batch.add_column(sa.Column("muted", sa.String(200), nullable=False, server_default=""))
        batch.create_index("ix_people_source_external_id", ["source", "external_id"])


def downgrade() -> None:
    with op.batch_alter_table("people") as batch:
        batch.drop_index("ix_people_source_external_id")
        batch.drop_column("muted")
        batch.drop_column("employee_number")
        batch.drop_column("external_id")
        batch.drop_column("source")
