"""Merchandise: sizes or variants with their own stock, and a sealed shipping address.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("catalog_items") as batch:
        batch.add_column(sa.Column("ships", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "catalog_variants",
        sa.Column(
            "item_slug",
            sa.String(64),
            sa.ForeignKey("catalog_items.slug", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("stock", sa.Integer),
        sa.CheckConstraint("stock IS NULL OR stock >= 0", name="variant_stock_not_negative"),
    )
    with op.batch_alter_table("redemptions") as batch:
        batch.add_column(sa.Column("variant", sa.String(64)))
        batch.add_column(sa.Column("shipping_sealed", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("redemptions") as batch:
        batch.drop_column("shipping_sealed")
        batch.drop_column("variant")
    op.drop_table("catalog_variants")
    with op.batch_alter_table("catalog_items") as batch:
        batch.drop_column("ships")
