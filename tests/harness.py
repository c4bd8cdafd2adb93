"""A small driver for tests: one bus on one backend, with a fake clock and notifier."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from core.bus import MessageBus, default_handlers
from core.commands import (
    ConfigureOrganisation,
    GetBalance,
    GiveKudos,
    RegisterPerson,
    RevokeKudos,
)
from core.decisions import Effects
from core.events import Event
from core.ledger import AccountKind, AccountRef
from core.people import NewPerson, Person, Role
from core.policy import CompanyValue, GivingPolicy
from core.ports import UnitOfWorkFactory
from core.views import BalanceView, KudosResult, RevokeResult

from .fakes import FakeClock, FakeNotifier


class Harness:
    def __init__(
        self, uow: UnitOfWorkFactory, clock: FakeClock | None = None, effects: Effects | None = None
    ) -> None:
        self.uow = uow
        self.clock = clock or FakeClock()
        self.notifier = FakeNotifier()
        self.bus = MessageBus(uow_factory=uow, handlers=default_handlers(self.clock, effects))
        for kind in Event.__subclasses__():
            self.bus.subscribe(kind, self.notifier)

    async def policy(self, **changes: object) -> GivingPolicy:
        policy = replace(GivingPolicy(), **changes)  # type: ignore[arg-type]
        await self.bus.handle(ConfigureOrganisation(policy=policy))
        return policy

    async def values(self, *slugs: str) -> None:
        await self.bus.handle(
            ConfigureOrganisation(values=tuple(CompanyValue(slug=s, name=s.title()) for s in slugs))
        )

    async def person(
        self,
        handle: str,
        *,
        tz: str = "UTC",
        manager: Person | None = None,
        roles: frozenset[Role] = frozenset({Role.EMPLOYEE}),
        department: str | None = None,
        active: bool = True,
        is_bot: bool = False,
    ) -> Person:
        person: Person = await self.bus.handle(
            RegisterPerson(
                person=NewPerson(
                    email=f"{handle}@example.com",
                    display_name=handle.title(),
                    handle=handle,
                    tz=tz,
                    manager_email=manager.email if manager else None,
                    roles=roles,
                    department=department,
                    active=active,
                    is_bot=is_bot,
                )
            )
        )
        return person

    async def give(
        self,
        giver: Person,
        *receivers: Person,
        amount: int | None = 5,
        reason: str = "thanks for the help",
        values: tuple[str, ...] = (),
        key: str | None = None,
    ) -> KudosResult:
        result: KudosResult = await self.bus.handle(
            GiveKudos(
                giver_id=giver.id,
                receiver_ids=tuple(r.id for r in receivers),
                amount=amount,
                reason=reason,
                values=values,
                idempotency_key=key,
            )
        )
        return result

    async def revoke(self, key: str) -> RevokeResult:
        result: RevokeResult = await self.bus.handle(RevokeKudos(recognition_key=key))
        return result

    async def balance(self, person: Person) -> BalanceView:
        view: BalanceView = await self.bus.handle(GetBalance(person_id=person.id))
        return view

    async def account(self, kind: AccountKind, owner: int = 0) -> int:
        async with self.uow(readonly=True) as uow:
            return await uow.ledger.balance(AccountRef(kind, owner))

    def at(self, when: datetime) -> None:
        self.clock.set(when)
