"""The outbox retries on a schedule: a Slack DM or announcement, or a Teams channel
announcement, that still failed after the client's retries was lost to an outage longer
than ~10 s. Rows get a due time and an attempt count, channel messages a target (and no
person), and a row given up after a day says so.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    # Batch mode: SQLite cannot drop NOT NULL in place (it copies the table).
    with op.batch_alter_table("outbox") as batch:
        batch.alter_column("person_id", existing_type=Id, nullable=True)
        batch.add_column(sa.Column("target", sa.JSON))
        batch.add_column(sa.Column("due_at", sa.DateTime(timezone=True)))
        batch.add_column(sa.Column("attempts", sa.Integer, nullable=False, server_default="0"))
        batch.add_column(sa.Column("gave_up_at", sa.DateTime(timezone=True)))
        batch.create_index("ix_outbox_due", ["platform", "due_at"])


def downgrade() -> None:
    # Channel messages have no person to wait for: they cannot be kept in the old shape.
    op.execute(sa.text("DELETE FROM outbox WHERE person_id IS NULL"))
    with op.batch_alter_table("outbox") as batch:
        batch.drop_index("ix_outbox_due")
        batch.drop_column("gave_up_at")
        batch.drop_column("attempts")
        batch.drop_column("due_at")
        batch.drop_column("target")
        batch.alter_column("person_id", existing_type=Id, nullable=False)
