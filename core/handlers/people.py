"""People: registering them, linking chat identities, their language; organisation setup."""

from __future__ import annotations

from dataclasses import replace

from ..clock import Clock
from ..commands import (
    ConfigureOrganisation,
    LinkIdentity,
    RegisterPerson,
    SetLocale,
    SyncChatProfile,
)
from ..errors import UnknownLanguage, UnknownPerson
from ..messages import LANGUAGES
from ..people import Identity, NewPerson, Person
from ..periods import known_zone
from ..ports import UnitOfWork


async def register_person(cmd: RegisterPerson, uow: UnitOfWork, *, clock: Clock) -> Person:
    """Add someone from a directory source; an e-mail already known returns that person."""
    new = cmd.person
    email = new.email.strip().casefold()
    existing = await uow.people.by_email(email)
    if existing is not None:
        return existing
    manager_id = None
    if new.manager_email:
        manager = await uow.people.by_email(new.manager_email.strip().casefold())
        if manager is None:
            raise UnknownPerson(new.manager_email)
        manager_id = manager.id
    handle = await free_handle(uow, new.handle or email.split("@", 1)[0])
    return await uow.people.add(replace(new, email=email), handle=handle, manager_id=manager_id)


async def free_handle(uow: UnitOfWork, wanted: str) -> str:
    base = wanted.casefold()
    handle, n = base, 1
    while await uow.people.by_handle(handle) is not None:
        n += 1
        handle = f"{base}{n}"
    return handle


async def sync_chat_profile(cmd: SyncChatProfile, uow: UnitOfWork, *, clock: Clock) -> Person:
    """Find the person behind a chat account (by the account, then by e-mail) or add them.

    One person, many accounts: a Slack user and a Teams user with the same e-mail share
    one balance. The chat platform's name, time zone and bot flag are kept up to date.
    """
    person = await uow.people.by_identity(cmd.identity)
    if person is None and cmd.email:
        person = await uow.people.by_email(cmd.email)
    if person is None:
        email = (cmd.email or _placeholder_email(cmd.identity)).strip().casefold()
        handle = await free_handle(uow, email.split("@", 1)[0])
        new = NewPerson(
            email=email,
            display_name=cmd.display_name,
            tz=known_zone(cmd.tz) or "UTC",
            is_bot=cmd.is_bot,
            active=cmd.active,
        )
        person = await uow.people.add(new, handle=handle, manager_id=None)
    await uow.people.link_identity(person.id, cmd.identity)
    # The directory decides who works here: a chat account may show that someone left
    # (a deleted Slack user), never bring back someone the directory deactivated.
    active = cmd.active and person.active if person.source else cmd.active
    synced = replace(
        person,
        display_name=cmd.display_name or person.display_name,
        tz=known_zone(cmd.tz) or person.tz,
        is_bot=cmd.is_bot,
        active=active,
    )
    if synced != person:
        await uow.people.update(synced)
    return synced


def _placeholder_email(identity: Identity) -> str:
    """Bots and guests without an e-mail still need a unique, undeliverable one."""
    return f"{identity.platform}-{identity.workspace}-{identity.user_id}@users.invalid"


async def link_identity(cmd: LinkIdentity, uow: UnitOfWork, *, clock: Clock) -> None:
    if await uow.people.get(cmd.person_id) is None:
        raise UnknownPerson(str(cmd.person_id))
    await uow.people.link_identity(cmd.person_id, cmd.identity)


async def set_locale(cmd: SetLocale, uow: UnitOfWork, *, clock: Clock) -> str:
    code = cmd.locale.strip().casefold()
    if code not in LANGUAGES:
        raise UnknownLanguage(cmd.locale, LANGUAGES)
    await uow.people.set_locale(cmd.person_id, code)
    return code


async def configure_organisation(
    cmd: ConfigureOrganisation, uow: UnitOfWork, *, clock: Clock
) -> None:
    if cmd.policy is not None:
        await uow.config.save_policy(cmd.policy)
    for value in cmd.values:
        await uow.config.put_value(value)
    for tier in cmd.tiers:
        await uow.config.put_tier(tier)
