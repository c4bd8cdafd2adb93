"""Rewards: the catalog, and redemptions holding points until a decision.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "catalog_items",
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("price", sa.BigInteger, nullable=False),
        sa.Column("approval_needed", sa.Boolean, nullable=False),
        sa.Column("stock", sa.Integer),
        sa.Column("min_tier", sa.String(64)),
        sa.Column("per_person_limit", sa.Integer),
        sa.Column("available_from", sa.Date),
        sa.Column("available_until", sa.Date),
        sa.Column("owner_email", sa.String(320)),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("slug", name="pk_catalog_items"),
        sa.CheckConstraint(
            "stock IS NULL OR stock >= 0", name="ck_catalog_items_stock_not_negative"
        ),
    )
    op.create_table(
        "redemptions",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("item_slug", sa.String(64), nullable=False),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("hold_id", Id, nullable=False),
        sa.Column("approver_id", Id),
        sa.Column("created_at", When, nullable=False),
        sa.Column("decided_at", When),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.PrimaryKeyConstraint("id", name="pk_redemptions"),
        sa.UniqueConstraint("key", name="uq_redemptions_key"),
        sa.ForeignKeyConstraint(
            ["person_id"], ["people.id"], name="fk_redemptions_person_id_people"
        ),
        sa.ForeignKeyConstraint(
            ["item_slug"], ["catalog_items.slug"], name="fk_redemptions_item_slug_catalog_items"
        ),
        sa.ForeignKeyConstraint(["hold_id"], ["holds.id"], name="fk_redemptions_hold_id_holds"),
        sa.ForeignKeyConstraint(
            ["approver_id"], ["people.id"], name="fk_redemptions_approver_id_people"
        ),
    )
    op.create_index("ix_redemptions_approver_id", "redemptions", ["approver_id"])
    op.create_index(
        "ix_redemptions_person", "redemptions", ["person_id", "item_slug", "created_at"]
    )


def downgrade() -> None:
    op.drop_index("ix_redemptions_person", table_name="redemptions")
    op.drop_index("ix_redemptions_approver_id", table_name="redemptions")
    op.drop_table("redemptions")
    op.drop_table("catalog_items")
