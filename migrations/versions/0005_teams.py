"""Teams: the users laurel can reach proactively, and the outbox of undelivered messages.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "teams_users",
        sa.Column("tenant_id", sa.String(64), nullable=False),
        sa.Column("aad_object_id", sa.String(64), nullable=False),
        sa.Column("member_id", sa.String(255), nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("service_url", sa.String(500), nullable=False),
        sa.Column("bot_id", sa.String(255), nullable=False),
        sa.Column("conversation_id", sa.String(500)),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("tenant_id", "aad_object_id", name="pk_teams_users"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name="fk_teams_users_person_id_people"
        ),
    )
    op.create_index("ix_teams_users_person_id", "teams_users", ["person_id"])
    op.create_table(
        "outbox",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("body", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(["person_id"], ["people.id"], name="fk_outbox_person_id_people"),
    )
    op.create_index("ix_outbox_pending", "outbox", ["platform", "person_id", "delivered_at"])


def downgrade() -> None:
    op.drop_index("ix_outbox_pending", table_name="outbox")
    op.drop_table("outbox")
    op.drop_index("ix_teams_users_person_id", table_name="teams_users")
    op.drop_table("teams_users")
