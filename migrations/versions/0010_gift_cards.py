"""Gift-card codes, sealed at rest, reserved by requests and issued on approval.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "gift_card_codes",
        sa.Column("id", Id, autoincrement=True, nullable=False),
        sa.Column("item_slug", sa.String(64), nullable=False),
        sa.Column("sealed", sa.Text, nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("request_key", sa.String(255)),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True)),
        sa.PrimaryKeyConstraint("id", name="pk_gift_card_codes"),
        sa.UniqueConstraint("fingerprint", name="uq_gift_card_codes_fingerprint"),
        sa.ForeignKeyConstraint(
            ["item_slug"], ["catalog_items.slug"], name="fk_gift_card_codes_item_slug_catalog_items"
        ),
    )
    op.create_index("ix_gift_card_codes_request_key", "gift_card_codes", ["request_key"])
    op.create_index("ix_gift_card_codes_pool", "gift_card_codes", ["item_slug", "state"])


def downgrade() -> None:
    op.drop_index("ix_gift_card_codes_pool", table_name="gift_card_codes")
    op.drop_index("ix_gift_card_codes_request_key", table_name="gift_card_codes")
    op.drop_table("gift_card_codes")
