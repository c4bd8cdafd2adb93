"""Recognitions by time: stats, insights and exports read a period of them; without an
index every period query scanned the whole table (3-4 s at 2M recognitions).

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_recognitions_created_at", "recognitions", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_recognitions_created_at", table_name="recognitions")
