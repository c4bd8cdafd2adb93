"""The schema, as SQLAlchemy Core tables. Every change here comes with an Alembic migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL wants 64 bits.
Id = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes on both engines (SQLite would hand back naive ones)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


people = sa.Table(
    "people",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("email", sa.String(320), nullable=False, unique=True),
    sa.Column("handle", sa.String(100), nullable=False, unique=True),
    sa.Column("display_name", sa.String(200), nullable=False),
    sa.Column("tz", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("locale", sa.String(8)),
    sa.Column("department", sa.String(200)),
    sa.Column("manager_id", Id, sa.ForeignKey("people.id"), index=True),
    sa.Column("hire_date", sa.Date),
    sa.Column("birthday", sa.String(5)),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("is_bot", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UtcDateTime, nullable=False),
    # The directory source that manages the person (None: chat or seed), and its id for them.
    sa.Column("source", sa.String(32)),
    sa.Column("external_id", sa.String(255)),
    sa.Column("employee_number", sa.String(64)),
    # Reminder kinds the person muted, comma-separated ("allowance,celebrations").
    sa.Column("muted", sa.String(200), nullable=False, server_default=""),
    sa.Index("ix_people_source_external_id", "source", "external_id"),
)

person_roles = sa.Table(
    "person_roles",
    metadata,
    sa.Column("person_id", Id, sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("role", sa.String(32), primary_key=True),
)

identities = sa.Table(
    "identities",
    metadata,
    sa.Column("platform", sa.String(32), primary_key=True),
    sa.Column("workspace", sa.String(128), primary_key=True),
    sa.Column("user_id", sa.String(128), primary_key=True),
    sa.Column("person_id", Id, sa.ForeignKey("people.id"), nullable=False, index=True),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("kind", sa.String(16), primary_key=True),
    sa.Column("owner", Id, primary_key=True),  # person id; 0 = the organisation
    sa.Column("balance", sa.BigInteger, nullable=False, server_default="0"),
    # allowance accounts only: the period they are in and what it granted
    sa.Column("period_key", sa.String(10)),
    sa.Column("period_granted", sa.BigInteger, nullable=False, server_default="0"),
    sa.CheckConstraint("balance >= 0 OR kind = 'issuance'", name="no_negative_balance"),
)

transfers = sa.Table(
    "transfers",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(255), nullable=False, unique=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("memo", sa.String(500), nullable=False, server_default=""),
    sa.Column("created_at", UtcDateTime, nullable=False),
)

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("transfer_id", Id, sa.ForeignKey("transfers.id"), nullable=False, index=True),
    sa.Column("account_kind", sa.String(16), nullable=False),
    sa.Column("account_owner", Id, nullable=False),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Index("ix_entries_account", "account_kind", "account_owner"),
)

holds = sa.Table(
    "holds",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(255), nullable=False, unique=True),
    sa.Column("person_id", Id, sa.ForeignKey("people.id"), nullable=False, index=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("resolved_at", UtcDateTime),
)

recognitions = sa.Table(
    "recognitions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(255), nullable=False, unique=True),
    sa.Column("giver_id", Id, sa.ForeignKey("people.id"), nullable=False),
    sa.Column("amount", sa.Integer, nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("value_slugs", sa.JSON, nullable=False),
    sa.Column("source", sa.String(32), nullable=False),
    sa.Column("context", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("revoked_at", UtcDateTime),
    sa.Index("ix_recognitions_giver", "giver_id", "id"),
    sa.Index("ix_recognitions_created_at", "created_at"),  # periods in stats and exports
)

recognition_receivers = sa.Table(
    "recognition_receivers",
    metadata,
    sa.Column("recognition_id", Id, sa.ForeignKey("recognitions.id"), primary_key=True),
    sa.Column("person_id", Id, sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("position", sa.Integer, nullable=False),
    sa.Index("ix_recognition_receivers_person", "person_id", "recognition_id"),
)

daily_giving = sa.Table(
    "daily_giving",
    metadata,
    sa.Column("person_id", Id, primary_key=True),
    sa.Column("day", sa.String(10), primary_key=True),  # ISO date in the giver's time zone
    sa.Column("points", sa.BigInteger, nullable=False),
)

# Pre-aggregated leaderboards: one row per (role, period bucket, value, person).
totals = sa.Table(
    "totals",
    metadata,
    sa.Column("role", sa.String(16), primary_key=True),
    sa.Column("bucket", sa.String(24), primary_key=True),
    sa.Column("value_slug", sa.String(64), primary_key=True),
    sa.Column("person_id", Id, primary_key=True),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("count", sa.Integer, nullable=False),
    sa.Index("ix_totals_rank", "role", "bucket", "value_slug", "points"),
)

settings = sa.Table(
    "settings",
    metadata,
    sa.Column("key", sa.String(64), primary_key=True),
    sa.Column("value", sa.JSON, nullable=False),
)

# One row: bumped by every configuration change, so processes know when to reload it.
config_version = sa.Table(
    "config_version",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("version", sa.BigInteger, nullable=False),
)

company_values = sa.Table(
    "company_values",
    metadata,
    sa.Column("slug", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("position", sa.Integer, nullable=False, server_default="0"),
)

tiers = sa.Table(
    "tiers",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("threshold", sa.BigInteger, nullable=False, unique=True),
    sa.Column("badge", sa.String(32), nullable=False, server_default=""),
    sa.Column("perks", sa.Text, nullable=False, server_default=""),
    sa.Column("allowance_bonus", sa.Integer, nullable=False, server_default="0"),
)

allowance_rules = sa.Table(
    "allowance_rules",
    metadata,
    sa.Column("scope", sa.String(16), primary_key=True),
    sa.Column("subject", sa.String(200), primary_key=True),
    sa.Column("amount", sa.BigInteger, nullable=False),
    sa.Column("period", sa.String(16)),
)


# Incoming platform events already handled (Slack retries with the same event_id).
processed_events = sa.Table(
    "processed_events",
    metadata,
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("event_id", sa.String(255), primary_key=True),
    sa.Column("received_at", UtcDateTime, nullable=False),
)


# Commands acknowledged before they are handled (Slack's /kudos: the ack is due within 3 s,
# the work follows it). A row is written before the ack and deleted once the command is
# answered; what a crash (kill -9) left behind is handled at the next start
# (adapters/persistence/inbox.py).
pending_commands = sa.Table(
    "pending_commands",
    metadata,
    sa.Column("source", sa.String(32), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("payload", sa.JSON, nullable=False),
    sa.Column("received_at", UtcDateTime, nullable=False),
)


# Decisions behind buttons (approve/decline, confirm/cancel), taken exactly once.
decisions = sa.Table(
    "decisions",
    metadata,
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("options", sa.String(100), nullable=False),  # comma-separated outcomes
    sa.Column("outcome", sa.String(16)),
    sa.Column("decided_by", Id, sa.ForeignKey("people.id")),
    sa.Column("decided_at", UtcDateTime),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
)


# Slack workspaces that installed laurel through OAuth; the installation (with its
# tokens) is stored encrypted with LAUREL_SECRET_KEYS.
slack_installations = sa.Table(
    "slack_installations",
    metadata,
    sa.Column("enterprise_id", sa.String(32), primary_key=True),  # "" when none
    sa.Column("team_id", sa.String(32), primary_key=True),  # "" for org-wide installs
    sa.Column("sealed", sa.Text, nullable=False),
    sa.Column("installed_at", UtcDateTime, nullable=False),
)

slack_oauth_states = sa.Table(
    "slack_oauth_states",
    metadata,
    sa.Column("state", sa.String(64), primary_key=True),
    sa.Column("expires_at", UtcDateTime, nullable=False),
)


# What each scheduled job has done (job, e.g. "reminder:allowance"; key, e.g. "42:2026-11-01"),
# inserted in the same transaction as the effect: nothing is done twice, on any replica.
job_runs = sa.Table(
    "job_runs",
    metadata,
    sa.Column("job", sa.String(64), primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("ran_at", UtcDateTime, nullable=False),
)


# The rewards catalog, and the redemptions that hold points until a decision.
catalog_items = sa.Table(
    "catalog_items",
    metadata,
    sa.Column("slug", sa.String(64), primary_key=True),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("price", sa.BigInteger, nullable=False),
    sa.Column("approval_needed", sa.Boolean, nullable=False),
    sa.Column("stock", sa.Integer),  # NULL: unlimited
    sa.Column("min_tier", sa.String(64)),
    sa.Column("per_person_limit", sa.Integer),
    sa.Column("available_from", sa.Date),
    sa.Column("available_until", sa.Date),
    sa.Column("owner_email", sa.String(320)),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("ships", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.CheckConstraint("stock IS NULL OR stock >= 0", name="stock_not_negative"),
)

# Sizes or variants of an item, in the order the shop lists them; a variant's own stock
# (NULL: only the item's stock counts).
catalog_variants = sa.Table(
    "catalog_variants",
    metadata,
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

redemptions = sa.Table(
    "redemptions",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(255), nullable=False, unique=True),
    sa.Column("person_id", Id, sa.ForeignKey("people.id"), nullable=False),
    sa.Column("item_slug", sa.String(64), sa.ForeignKey("catalog_items.slug"), nullable=False),
    sa.Column("quantity", sa.Integer, nullable=False),
    sa.Column("points", sa.BigInteger, nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("hold_id", Id, sa.ForeignKey("holds.id"), nullable=False),
    sa.Column("approver_id", Id, sa.ForeignKey("people.id"), index=True),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("decided_at", UtcDateTime),
    sa.Column("note", sa.Text, nullable=False, server_default=""),
    sa.Column("variant", sa.String(64)),
    sa.Column("shipping_sealed", sa.Text),  # the address, sealed with LAUREL_SECRET_KEYS
    sa.Index("ix_redemptions_person", "person_id", "item_slug", "created_at"),
)


# Gift-card codes, sealed with LAUREL_SECRET_KEYS: available, then reserved by a pending
# request (its key), then issued on approval and shown once to the redeemer.
gift_card_codes = sa.Table(
    "gift_card_codes",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("item_slug", sa.String(64), sa.ForeignKey("catalog_items.slug"), nullable=False),
    sa.Column("sealed", sa.Text, nullable=False),
    sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),  # keyed hash: no dupes
    sa.Column("state", sa.String(16), nullable=False),
    sa.Column("request_key", sa.String(255), index=True),
    sa.Column("added_at", UtcDateTime, nullable=False),
    sa.Column("delivered_at", UtcDateTime),
    sa.Index("ix_gift_card_codes_pool", "item_slug", "state"),
)


# Teams users laurel has seen (sending, mentioned, or installing the app), with what a
# proactive message needs: their member id, the tenant's service URL, and the personal
# chat with the bot once it exists.
teams_users = sa.Table(
    "teams_users",
    metadata,
    sa.Column("tenant_id", sa.String(64), primary_key=True),
    sa.Column("aad_object_id", sa.String(64), primary_key=True),
    sa.Column("member_id", sa.String(255), nullable=False),
    sa.Column("person_id", Id, sa.ForeignKey("people.id"), nullable=False, index=True),
    sa.Column("service_url", sa.String(500), nullable=False),
    sa.Column("bot_id", sa.String(255), nullable=False),
    sa.Column("conversation_id", sa.String(500)),  # the personal chat, when known
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

# Messages that could not be delivered yet, kept until they can be (adapters/persistence/
# outbox.py). To a person (person_id) or to a channel (target, person_id NULL). A row with
# due_at is retried then, with backoff, by every replica's redelivery loop; without it, it
# waits for the person's next contact (Teams) or was given up (gave_up_at). delivered_at
# is set when a replica claims the row, before it sends.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("person_id", Id, sa.ForeignKey("people.id")),
    sa.Column("target", sa.JSON),  # the channel's address on the platform
    sa.Column("body", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("delivered_at", UtcDateTime),
    sa.Column("due_at", UtcDateTime),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("gave_up_at", UtcDateTime),
    sa.Index("ix_outbox_pending", "platform", "person_id", "delivered_at"),
    sa.Index("ix_outbox_due", "platform", "due_at"),
)


# SCIM (adapters/scim): the people an identity provider provisioned, with its own name for
# them (`userName`) and the last representation it sent, restricted to what laurel keeps.
# A person without a row here is not visible over SCIM (a SCIM DELETE removes the row and
# deactivates the person, who stays in laurel with their history).
scim_users = sa.Table(
    "scim_users",
    metadata,
    sa.Column("person_id", Id, sa.ForeignKey("people.id"), primary_key=True),
    sa.Column("user_name", sa.String(320), nullable=False),
    sa.Column("user_name_key", sa.String(320), nullable=False, unique=True),  # compared form
    sa.Column("document", sa.JSON, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("updated_at", UtcDateTime, nullable=False),
)

# Groups of people as the directory (SCIM today) describes them; later features use them
# as approver groups.
directory_groups = sa.Table(
    "directory_groups",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("display_name", sa.String(255), nullable=False),
    sa.Column("external_id", sa.String(255)),
)

directory_group_members = sa.Table(
    "directory_group_members",
    metadata,
    sa.Column("group_id", Id, sa.ForeignKey("directory_groups.id"), primary_key=True),
    sa.Column("person_id", Id, sa.ForeignKey("people.id"), primary_key=True, index=True),
)


# Tokens of the read API (/api/v1): only the SHA-256 of the secret is kept, with the
# scopes it grants (comma-separated). A revoked token keeps its row, and its name.
api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False, unique=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("scopes", sa.Text, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
    sa.Column("last_used_at", UtcDateTime),
    sa.Column("revoked_at", UtcDateTime),
)


# The audit log (core/audit.py): append-only, each row chained to the one before by its
# hash. `actor_id` has no foreign key on purpose: an audit row never blocks erasing a person.
audit_log = sa.Table(
    "audit_log",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("at", UtcDateTime, nullable=False),
    sa.Column("actor_id", Id),
    sa.Column("action", sa.String(64), nullable=False),
    sa.Column("subject", sa.String(255), nullable=False),
    sa.Column("platform", sa.String(16), nullable=False, server_default=""),
    sa.Column("before_json", sa.Text),
    sa.Column("after_json", sa.Text),
    sa.Column("prev_hash", sa.String(64), nullable=False),
    sa.Column("hash", sa.String(64), nullable=False, unique=True),
    sa.Index("ix_audit_log_at", "at"),
)


# Admin changes between their preview and their proposer's Confirm (core/admin.py).
admin_changes = sa.Table(
    "admin_changes",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("proposer_id", Id, sa.ForeignKey("people.id"), nullable=False),
    sa.Column("change", sa.Text, nullable=False),
    sa.Column("platform", sa.String(16), nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)


# Files offered in Teams with a file consent card, until the person accepts or declines
# (adapters/teams/files.py). In the database, not in memory: the click may reach another
# replica. `content` is sealed with LAUREL_SECRET_KEYS when set (`sealed`): exports hold
# personal data.
pending_files = sa.Table(
    "pending_files",
    metadata,
    sa.Column("id", Id, primary_key=True, autoincrement=True),
    sa.Column("token", sa.String(64), nullable=False, unique=True),
    sa.Column("person_id", Id, sa.ForeignKey("people.id"), nullable=False),
    sa.Column("name", sa.String(255), nullable=False),
    sa.Column("mime", sa.String(128), nullable=False),
    sa.Column("content", sa.LargeBinary, nullable=False),
    sa.Column("sealed", sa.Boolean, nullable=False),
    sa.Column("created_at", UtcDateTime, nullable=False),
)
