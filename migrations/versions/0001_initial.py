"""Initial schema: people, ledger, recognitions, leaderboards, configuration.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = sa.DateTime(timezone=True)

# Frozen copies of the data this revision seeds; later code may change its own defaults.
ORGANISATION_ACCOUNTS = ("issuance", "redeemed", "expired")
DEFAULT_TIERS = (
    ("Bronze", 50, "🥉"),
    ("Silver", 250, "🥈"),
    ("Gold", 1000, "🥇"),
    ("Platinum", 2500, "💎"),
)


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("handle", sa.String(100), nullable=False),
        sa.Column("display_name", sa.String(200), nullable=False),
        sa.Column("tz", sa.String(64), server_default="UTC", nullable=False),
        sa.Column("locale", sa.String(8)),
        sa.Column("department", sa.String(200)),
        sa.Column("manager_id", Id, sa.ForeignKey("people.id", name="fk_people_manager_id_people")),
        sa.Column("hire_date", sa.Date),
        sa.Column("birthday", sa.String(5)),
        sa.Column("active", sa.Boolean, server_default=sa.true(), nullable=False),
        sa.Column("is_bot", sa.Boolean, server_default=sa.false(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_people"),
        sa.UniqueConstraint("email", name="uq_people_email"),
        sa.UniqueConstraint("handle", name="uq_people_handle"),
    )
    op.create_index("ix_people_manager_id", "people", ["manager_id"])
    op.create_table(
        "person_roles",
        sa.Column(
            "person_id",
            Id,
            sa.ForeignKey("people.id", name="fk_person_roles_person_id_people"),
            nullable=False,
        ),
        sa.Column("role", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("person_id", "role", name="pk_person_roles"),
    )
    op.create_table(
        "identities",
        sa.Column("platform", sa.String(32), nullable=False),
        sa.Column("workspace", sa.String(128), nullable=False),
        sa.Column("user_id", sa.String(128), nullable=False),
        sa.Column(
            "person_id",
            Id,
            sa.ForeignKey("people.id", name="fk_identities_person_id_people"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("platform", "workspace", "user_id", name="pk_identities"),
    )
    op.create_index("ix_identities_person_id", "identities", ["person_id"])
    _ledger()
    _recognitions()
    _configuration()


def _ledger() -> None:
    accounts = op.create_table(
        "accounts",
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("owner", Id, nullable=False),
        sa.Column("balance", sa.BigInteger, server_default="0", nullable=False),
        sa.Column("period_key", sa.String(10)),
        sa.Column("period_granted", sa.BigInteger, server_default="0", nullable=False),
        sa.CheckConstraint(
            "balance >= 0 OR kind = 'issuance'", name="ck_accounts_no_negative_balance"
        ),
        sa.PrimaryKeyConstraint("kind", "owner", name="pk_accounts"),
    )
    assert accounts is not None
    op.bulk_insert(
        accounts,
        [{"kind": k, "owner": 0, "balance": 0, "period_granted": 0} for k in ORGANISATION_ACCOUNTS],
    )
    op.create_table(
        "transfers",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("memo", sa.String(500), server_default="", nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_transfers"),
        sa.UniqueConstraint("key", name="uq_transfers_key"),
    )
    op.create_table(
        "entries",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column(
            "transfer_id",
            Id,
            sa.ForeignKey("transfers.id", name="fk_entries_transfer_id_transfers"),
            nullable=False,
        ),
        sa.Column("account_kind", sa.String(16), nullable=False),
        sa.Column("account_owner", Id, nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_entries"),
    )
    op.create_index("ix_entries_transfer_id", "entries", ["transfer_id"])
    op.create_index("ix_entries_account", "entries", ["account_kind", "account_owner"])
    op.create_table(
        "holds",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column(
            "person_id",
            Id,
            sa.ForeignKey("people.id", name="fk_holds_person_id_people"),
            nullable=False,
        ),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("resolved_at", When),
        sa.PrimaryKeyConstraint("id", name="pk_holds"),
        sa.UniqueConstraint("key", name="uq_holds_key"),
    )
    op.create_index("ix_holds_person_id", "holds", ["person_id"])


def _recognitions() -> None:
    op.create_table(
        "recognitions",
        sa.Column("id", Id, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column(
            "giver_id",
            Id,
            sa.ForeignKey("people.id", name="fk_recognitions_giver_id_people"),
            nullable=False,
        ),
        sa.Column("amount", sa.Integer, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("value_slugs", sa.JSON, nullable=False),
        sa.Column("source", sa.String(32), nullable=False),
        sa.Column("context", sa.JSON, nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("revoked_at", When),
        sa.PrimaryKeyConstraint("id", name="pk_recognitions"),
        sa.UniqueConstraint("key", name="uq_recognitions_key"),
    )
    op.create_index("ix_recognitions_giver", "recognitions", ["giver_id", "id"])
    op.create_table(
        "recognition_receivers",
        sa.Column(
            "recognition_id",
            Id,
            sa.ForeignKey(
                "recognitions.id", name="fk_recognition_receivers_recognition_id_recognitions"
            ),
            nullable=False,
        ),
        sa.Column(
            "person_id",
            Id,
            sa.ForeignKey("people.id", name="fk_recognition_receivers_person_id_people"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("recognition_id", "person_id", name="pk_recognition_receivers"),
    )
    op.create_index(
        "ix_recognition_receivers_person", "recognition_receivers", ["person_id", "recognition_id"]
    )
    op.create_table(
        "daily_giving",
        sa.Column("person_id", Id, nullable=False),
        sa.Column("day", sa.String(10), nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("person_id", "day", name="pk_daily_giving"),
    )
    op.create_table(
        "totals",
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("bucket", sa.String(24), nullable=False),
        sa.Column("value_slug", sa.String(64), nullable=False),
        sa.Column("person_id", Id, nullable=False),
        sa.Column("points", sa.BigInteger, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("role", "bucket", "value_slug", "person_id", name="pk_totals"),
    )
    op.create_index("ix_totals_rank", "totals", ["role", "bucket", "value_slug", "points"])


def _configuration() -> None:
    op.create_table(
        "settings",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.JSON, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_settings"),
    )
    version = op.create_table(
        "config_version",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("version", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_config_version"),
    )
    assert version is not None
    op.bulk_insert(version, [{"id": 1, "version": 0}])
    op.create_table(
        "company_values",
        sa.Column("slug", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("active", sa.Boolean, server_default=sa.true(), nullable=False),
        sa.Column("position", sa.Integer, server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("slug", name="pk_company_values"),
    )
    tiers = op.create_table(
        "tiers",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("threshold", sa.BigInteger, nullable=False),
        sa.Column("badge", sa.String(32), server_default="", nullable=False),
        sa.Column("perks", sa.Text, server_default="", nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_tiers"),
        sa.UniqueConstraint("threshold", name="uq_tiers_threshold"),
    )
    assert tiers is not None
    op.bulk_insert(
        tiers, [{"name": n, "threshold": t, "badge": b, "perks": ""} for n, t, b in DEFAULT_TIERS]
    )
    op.create_table(
        "allowance_rules",
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("amount", sa.BigInteger, nullable=False),
        sa.Column("period", sa.String(16)),
        sa.PrimaryKeyConstraint("scope", "subject", name="pk_allowance_rules"),
    )


def downgrade() -> None:
    for table in (
        "allowance_rules",
        "tiers",
        "company_values",
        "config_version",
        "settings",
        "totals",
        "daily_giving",
        "recognition_receivers",
        "recognitions",
        "holds",
        "entries",
        "transfers",
        "accounts",
        "identities",
        "person_roles",
        "people",
    ):
        op.drop_table(table)
