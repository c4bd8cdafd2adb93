"""Directory groups and their members, and the people SCIM provisioned.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "scim_users",
        sa.Column("person_id", Id, nullable=False),
        sa.Column("user_name", sa.String(320), nullable=False),
        sa.Column("user_name_key", sa.String(320), nullable=False),
        sa.Column("document", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("person_id", name="pk_scim_users"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name="fk_scim_users_person_id_people"
        ),
        sa.UniqueConstraint("user_name_key", name="uq_scim_users_user_name_key"),
    )
    op.create_table(
        "directory_groups",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("display_name", sa.String(255), nullable=False),
        sa.Column("external_id", sa.String(255)),
        sa.PrimaryKeyConstraint("id", name="pk_directory_groups"),
    )
    op.create_table(
        "directory_group_members",
        sa.Column("group_id", Id, nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.PrimaryKeyConstraint("group_id", "person_id", name="pk_directory_group_members"),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["directory_groups.id"],
            name="fk_directory_group_members_group_id_directory_groups",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name="fk_directory_group_members_person_id_people"
        ),
    )
    op.create_index(
        "ix_directory_group_members_person_id", "directory_group_members", ["person_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_directory_group_members_person_id", table_name="directory_group_members")
    op.drop_table("directory_group_members")
    op.drop_table("directory_groups")
    op.drop_table("scim_users")
