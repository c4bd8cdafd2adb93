"""Who is who in Teams: Teams users <-> laurel people, through the connector's member lookup.

A Teams user is linked by AAD object id, or to the person with the same e-mail (so Slack
and Teams share one balance), or added. Profiles are cached per process for an hour; every
activity also records how to reach its sender later (members.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from botbuilder.core import TurnContext
from botbuilder.core.teams import TeamsInfo
from botbuilder.schema import Activity
from botbuilder.schema.teams import TeamsChannelAccount
from msrest.exceptions import ClientRequestError, HttpOperationError

from core.bus import MessageBus
from core.commands import SyncChatProfile
from core.errors import UnknownPerson
from core.people import Identity, Person
from core.ports import UnitOfWorkFactory
from core.privacy import is_erased

from .members import MemberStore, TeamsMember
from .mentions import Mentioned

PLATFORM = "teams"
STALE_AFTER = 3600.0
log = logging.getLogger("laurel.teams")


def tenant_of(activity: Activity) -> str:
    tenant = (activity.channel_data or {}).get("tenant", {}).get("id")
    return str(tenant or getattr(activity.conversation, "tenant_id", None) or "")


def is_personal(activity: Activity) -> bool:
    return (activity.conversation.conversation_type or "personal") == "personal"


def conversation_context(activity: Activity, reply_to: str) -> dict[str, str]:
    """Where a gift was given, kept with it so that the announcement can answer there."""
    return {
        "platform": PLATFORM,
        "tenant": tenant_of(activity),
        "conversation": activity.conversation.id,
        "conversation_type": activity.conversation.conversation_type or "personal",
        "service_url": activity.service_url,
        "activity": reply_to,
    }


def client_timezone(activity: Activity) -> str | None:
    for entity in activity.entities or []:
        if (entity.type or "").casefold() == "clientinfo":
            zone = entity.additional_properties.get("timezone")
            return str(zone) if zone else None
    return None


@dataclass
class Profile:
    person: Person
    aad_object_id: str
    fetched: float


class TeamsDirectory:
    def __init__(self, *, bus: MessageBus, uow: UnitOfWorkFactory, members: MemberStore) -> None:
        self._bus = bus
        self._uow = uow
        self.members = members
        self._profiles: dict[tuple[str, str], Profile] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}

    async def sender(self, turn: TurnContext) -> Person:
        """The person behind the activity, stored as they are now; their personal chat (if
        this is one) is remembered for proactive messages."""
        activity = turn.activity
        account = activity.from_property
        said = Mentioned(account.id, account.name or "", account.aad_object_id)
        profile = await self._fresh(turn, said, client_timezone(activity), sender=True)
        await self._remember(turn, profile, said.member_id, sender=True)
        async with self._uow(readonly=True) as uow:
            current = await uow.people.get(profile.person.id)
        return current or profile.person

    async def mentioned(self, turn: TurnContext, account: Mentioned) -> Person:
        """Looked up where the mention was made; Teams may not describe someone outside
        that conversation, so a member laurel has met before is known from its records."""
        try:
            profile = await self._fresh(turn, account, None, sender=False)
        except UnknownPerson:
            known = await self.members.person_of(tenant_of(turn.activity), account.member_id)
            async with self._uow(readonly=True) as uow:
                person = await uow.people.get(known) if known is not None else None
            if person is None:
                raise
            return person
        await self._remember(turn, profile, account.member_id, sender=False)
        return profile.person

    async def _fresh(
        self, turn: TurnContext, account: Mentioned, tz: str | None, *, sender: bool
    ) -> Profile:
        """The cached profile, unless its person was erased since (here or on another
        replica): then the account is looked up again and becomes a new person."""
        profile = await self._profile(turn, account, tz, sender=sender)
        async with self._uow(readonly=True) as uow:
            current = await uow.people.get(profile.person.id)
        if current is None or not is_erased(current):
            return profile
        self._profiles.pop((tenant_of(turn.activity), account.member_id), None)
        return await self._profile(turn, account, tz, sender=sender)

    async def _profile(
        self, turn: TurnContext, account: Mentioned, tz: str | None, *, sender: bool
    ) -> Profile:
        key = (tenant_of(turn.activity), account.member_id)
        cached = self._profiles.get(key)
        if cached and time.monotonic() - cached.fetched < STALE_AFTER:
            return cached
        async with self._locks.setdefault(key, asyncio.Lock()):
            cached = self._profiles.get(key)
            if cached and time.monotonic() - cached.fetched < STALE_AFTER:
                return cached
            member = await self._lookup(turn, account, sender=sender)
            fresh = await self._sync(turn, member, tz)
            self._profiles[key] = fresh
            return fresh

    async def _lookup(
        self, turn: TurnContext, account: Mentioned, *, sender: bool
    ) -> TeamsChannelAccount:
        """The member as Teams describes them (with e-mail); the sender of an activity is
        known even where the lookup is not available (the Bot Framework Emulator)."""
        try:
            return await TeamsInfo.get_member(turn, account.member_id)
        except (HttpOperationError, ClientRequestError, OSError, TimeoutError) as error:
            if not sender:
                log.info("Teams member %s not found: %s", account.member_id, error)
                raise UnknownPerson(account.name or account.member_id) from None
            log.info("Teams member lookup failed for the sender; using the activity: %s", error)
            return TeamsChannelAccount(
                id=account.member_id, name=account.name, aad_object_id=account.aad_object_id
            )

    async def _sync(
        self, turn: TurnContext, member: TeamsChannelAccount, tz: str | None
    ) -> Profile:
        tenant = tenant_of(turn.activity) or (member.tenant_id or "")
        aad = member.aad_object_id or member.id
        person = await self._bus.handle(
            SyncChatProfile(
                identity=Identity(platform=PLATFORM, workspace=tenant, user_id=aad),
                email=_email(member),
                display_name=member.name or member.given_name or aad,
                tz=tz,
                is_bot=False,
                active=True,
            )
        )
        return Profile(person=person, aad_object_id=aad, fetched=time.monotonic())

    async def _remember(
        self, turn: TurnContext, profile: Profile, member_id: str, *, sender: bool
    ) -> None:
        activity = turn.activity
        personal = sender and is_personal(activity)
        await self.members.remember(
            TeamsMember(
                tenant_id=tenant_of(activity),
                aad_object_id=profile.aad_object_id,
                member_id=member_id,
                person_id=profile.person.id,
                service_url=activity.service_url,
                bot_id=activity.recipient.id,
                conversation_id=activity.conversation.id if personal else None,
            )
        )


def _email(member: TeamsChannelAccount) -> str | None:
    """The e-mail, or the sign-in name when it is one (a guest's `#EXT#` name is not)."""
    if member.email:
        return str(member.email)
    upn = member.user_principal_name or ""
    return upn if "@" in upn and "#EXT#" not in upn else None
