"""The composition root: build everything once and hand it to the adapters and the CLI."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence import migrate
from adapters.persistence.engine import create_engine
from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.bus import MessageBus, default_handlers
from core.clock import Clock, SystemClock
from core.commands import EnsureAdmins
from core.decisions import Effects

from .settings import Settings


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    clock: Clock
    uow: SqlUnitOfWorkFactory
    bus: MessageBus

    async def close(self) -> None:
        await self.engine.dispose()


async def bootstrap(
    settings: Settings,
    *,
    clock: Clock | None = None,
    migrate_db: bool = True,
    engine: AsyncEngine | None = None,
    effects: Effects | None = None,
) -> App:
    engine = engine or create_engine(settings.database_url)
    if migrate_db:
        await migrate.upgrade(engine)
    clock = clock or SystemClock()
    uow = SqlUnitOfWorkFactory(engine)
    bus = MessageBus(uow_factory=uow, handlers=default_handlers(clock, effects))
    if settings.admins:  # LAUREL_ADMINS; people who join later get it at their first admin command
        await bus.handle(EnsureAdmins(emails=settings.admins))
    return App(settings=settings, engine=engine, clock=clock, uow=uow, bus=bus)
