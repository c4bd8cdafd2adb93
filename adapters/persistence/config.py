"""The organisation's configuration: policy (one JSON row), values, tiers, allowance rules.

Every command reads the configuration, and it rarely changes, so each process keeps the
last one it read, keyed by a version number that every write increments in the same
transaction. A read costs one small query while nothing changed, and a change made by
any replica is seen by the next command everywhere.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from core.periods import PeriodKind
from core.policy import (
    DEFAULT_REACTIONS,
    AllowanceRule,
    ChatSettings,
    CompanyValue,
    GivingPolicy,
    OrgConfig,
    RuleScope,
    Tier,
)

from .dialect import insert
from .tables import allowance_rules, company_values, config_version, settings, tiers

POLICY_KEY = "policy"
CHAT_KEY = "chat"


def policy_from_json(data: dict[str, Any]) -> GivingPolicy:
    known = {f.name for f in dataclasses.fields(GivingPolicy)}
    fields = {k: v for k, v in data.items() if k in known}
    if "period" in fields:
        fields["period"] = PeriodKind(fields["period"])
    return GivingPolicy(**fields)


def chat_from_json(data: dict[str, Any]) -> ChatSettings:
    reactions = data.get("reactions")
    return ChatSettings(
        recognition_channel=data.get("recognition_channel"),
        reactions={str(k): int(v) for k, v in reactions.items()}
        if reactions
        else DEFAULT_REACTIONS,
    )


def policy_to_json(policy: GivingPolicy) -> dict[str, Any]:
    data = dataclasses.asdict(policy)
    data["period"] = policy.period.value
    return data


_VERSION = sa.select(config_version.c.version)


@dataclasses.dataclass
class ConfigCache:
    version: int = -1
    config: OrgConfig | None = None


class SqlConfig:
    def __init__(self, conn: AsyncConnection, cache: ConfigCache) -> None:
        self._conn = conn
        self._cache = cache
        self._wrote = False  # this transaction's own, uncommitted changes are never cached

    async def load(self) -> OrgConfig:
        version = (await self._conn.execute(_VERSION)).scalar_one()
        cache = self._cache
        if cache.config is not None and cache.version == version and not self._wrote:
            return cache.config
        config = await self._read()
        if not self._wrote:
            self._cache.version, self._cache.config = version, config
        return config

    async def _read(self) -> OrgConfig:
        rows = await self._conn.execute(sa.select(settings.c.key, settings.c.value))
        stored: dict[str, Any] = {str(row[0]): row[1] for row in rows}
        values = await self._conn.execute(
            sa.select(company_values).order_by(company_values.c.position, company_values.c.slug)
        )
        tier_rows = await self._conn.execute(sa.select(tiers).order_by(tiers.c.threshold))
        rule_rows = await self._conn.execute(sa.select(allowance_rules))
        return OrgConfig(
            policy=policy_from_json(stored.get(POLICY_KEY) or {}),
            chat=chat_from_json(stored.get(CHAT_KEY) or {}),
            values=[CompanyValue(slug=v.slug, name=v.name, active=v.active) for v in values],
            tiers=[
                Tier(
                    name=t.name,
                    threshold=t.threshold,
                    badge=t.badge,
                    perks=t.perks,
                    allowance_bonus=t.allowance_bonus,
                )
                for t in tier_rows
            ],
            rules=[
                AllowanceRule(
                    scope=RuleScope(r.scope),
                    subject=r.subject,
                    amount=r.amount,
                    period=PeriodKind(r.period) if r.period else None,
                )
                for r in rule_rows
            ],
        )

    async def save_policy(self, policy: GivingPolicy) -> None:
        await self._upsert(settings, ["key"], {"key": POLICY_KEY, "value": policy_to_json(policy)})

    async def save_chat(self, chat: ChatSettings) -> None:
        value = {"recognition_channel": chat.recognition_channel, "reactions": chat.reactions}
        await self._upsert(settings, ["key"], {"key": CHAT_KEY, "value": value})

    async def put_value(self, value: CompanyValue) -> None:
        await self._changing()
        position = (
            await self._conn.execute(sa.select(sa.func.count()).select_from(company_values))
        ).scalar_one()
        row = {"slug": value.slug, "name": value.name, "active": value.active}
        stmt = insert(self._conn, company_values).values(**row, position=position)
        await self._conn.execute(stmt.on_conflict_do_update(index_elements=["slug"], set_=row))

    async def put_tier(self, tier: Tier) -> None:
        await self._upsert(
            tiers,
            ["name"],
            {
                "name": tier.name,
                "threshold": tier.threshold,
                "badge": tier.badge,
                "perks": tier.perks,
                "allowance_bonus": tier.allowance_bonus,
            },
        )

    async def remove_tier(self, name: str) -> None:
        await self._changing()
        await self._conn.execute(sa.delete(tiers).where(tiers.c.name == name))

    async def put_rule(self, rule: AllowanceRule) -> None:
        await self._upsert(
            allowance_rules,
            ["scope", "subject"],
            {
                "scope": rule.scope.value,
                "subject": rule.subject,
                "amount": rule.amount,
                "period": rule.period.value if rule.period else None,
            },
        )

    async def _upsert(self, table: sa.Table, keys: list[str], row: dict[str, Any]) -> None:
        await self._changing()
        stmt = insert(self._conn, table).values(**row)
        await self._conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=row))

    async def _changing(self) -> None:
        """Bump the version once per transaction, so other processes reload."""
        if not self._wrote:
            await self._conn.execute(
                sa.update(config_version).values(version=config_version.c.version + 1)
            )
            self._wrote = True
