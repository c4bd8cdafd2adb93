"""Who is who in Slack: Slack users <-> laurel people, through users.info and e-mail.

A Slack user is linked to the person with the same e-mail (so Slack and Teams share one
balance), or added. Profiles are cached per process and refreshed after an hour, so the
name and time zone follow Slack's without a Web API call on every request.

Only Slack's own "no such user" makes a mention unknown. A lookup Slack did not answer
(5xx or rate limits after the client's retries, a dropped connection) is
`DirectoryUnavailable`: the person is told to try again, nothing is changed.
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from dataclasses import dataclass

import aiohttp
from slack_sdk.errors import SlackApiError

from core.bus import MessageBus
from core.commands import SyncChatProfile
from core.errors import DirectoryUnavailable, DomainError, UnknownPerson
from core.people import Identity, Person
from core.ports import UnitOfWorkFactory
from core.privacy import is_erased

from .clients import NotInstalled, SlackClients

log = logging.getLogger("laurel.slack")
PLATFORM = "slack"
PLATFORM_NAME = "Slack"  # as people know it, in the message that Slack did not answer
STALE_AFTER = 3600.0
USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
GROUP = re.compile(r"<!subteam\^(S[A-Z0-9]+)(?:\|[^>]*)?>")
MENTION = re.compile(rf"{USER.pattern}|{GROUP.pattern}")
# Slack's errors that mean the user or group does not exist, or is not visible to laurel.
NOT_FOUND = frozenset({"user_not_found", "users_not_found", "user_not_visible", "no_such_subteam"})
# What a lookup may fail with: Slack's refusal, or no answer at all (aiohttp's errors and
# timeouts, once the client's retries are spent).
LOOKUP_FAILED = (SlackApiError, NotInstalled, aiohttp.ClientError, TimeoutError, OSError)


@dataclass
class Profile:
    person: Person
    avatar: str | None
    fetched: float


class SlackDirectory:
    def __init__(self, *, clients: SlackClients, bus: MessageBus, uow: UnitOfWorkFactory) -> None:
        self._clients = clients
        self._bus = bus
        self._uow = uow
        self._profiles: dict[tuple[str, str], Profile] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}  # one users.info per user at a time

    async def person(self, team: str, user_id: str) -> Person:
        """The person as stored now: their language may have changed since the profile sync,
        here or on another replica, so only the Slack profile is cached, not the person."""
        profile = await self.profile(team, user_id)
        async with self._uow(readonly=True) as uow:
            current = await uow.people.get(profile.person.id)
        if current is not None and is_erased(current):  # erased since: who are they now?
            self._profiles.pop((team, user_id), None)
            return (await self.profile(team, user_id)).person
        return current or profile.person

    async def profile(self, team: str, user_id: str) -> Profile:
        """Slack's profile of the user, cached: `UnknownPerson` if Slack has no such user,
        `DirectoryUnavailable` if Slack could not say."""
        try:
            return await self._profile(team, user_id)
        except LOOKUP_FAILED as error:
            raise _lookup_failed(error, f"<@{user_id}>") from error

    async def _profile(self, team: str, user_id: str) -> Profile:
        """`profile`, with Slack's and the network's errors as they are."""
        cached = self._profiles.get((team, user_id))
        if cached and time.monotonic() - cached.fetched < STALE_AFTER:
            return cached
        async with self._locks.setdefault((team, user_id), asyncio.Lock()):
            cached = self._profiles.get((team, user_id))  # fetched while we waited?
            if cached and time.monotonic() - cached.fetched < STALE_AFTER:
                return cached
            return await self._fetch(team, user_id)

    async def _fetch(self, team: str, user_id: str) -> Profile:
        client = await self._clients.for_team(team)
        user = (await client.users_info(user=user_id))["user"]
        profile = user.get("profile", {})
        person = await self._bus.handle(
            SyncChatProfile(
                identity=Identity(
                    platform=PLATFORM, workspace=user.get("team_id") or team, user_id=user_id
                ),
                email=profile.get("email"),
                display_name=profile.get("real_name") or user.get("real_name") or user["name"],
                tz=user.get("tz"),
                is_bot=bool(user.get("is_bot")) or user_id == "USLACKBOT",
                active=not user.get("deleted", False),
            )
        )
        fresh = Profile(person=person, avatar=profile.get("image_72"), fetched=time.monotonic())
        self._profiles[(team, user_id)] = fresh
        return fresh

    async def resolve(self, team: str, mention: str) -> list[Person]:
        """A `<@U…>` mention is one person; a `<!subteam^S…>` user group is its members."""
        user = USER.fullmatch(mention)
        if user:
            return [await self.person(team, user.group(1))]
        group = GROUP.fullmatch(mention)
        if group is None:
            raise UnknownPerson(mention)
        try:
            client = await self._clients.for_team(team)
            members = (await client.usergroups_users_list(usergroup=group.group(1)))["users"]
        except LOOKUP_FAILED as error:
            raise _lookup_failed(error, mention) from error
        return [await self.person(team, member) for member in members]

    async def user_id(
        self, person: Person, known: list[Identity] | None = None
    ) -> tuple[str, str] | None:
        """(team, user id) of the person in Slack: known, or found by e-mail and linked.

        `known` is the person's Slack identities when the caller has already read them.
        """
        if known is None:
            async with self._uow(readonly=True) as uow:
                known = await uow.people.identities(person.id, PLATFORM)
        if known:
            return known[0].workspace, known[0].user_id
        if person.email.endswith(".invalid"):
            return None
        for team in await self._clients.teams():  # one workspace, or each installed one
            try:
                client = await self._clients.for_team(team)
                user = (await client.users_lookupByEmail(email=person.email))["user"]
            except (SlackApiError, NotInstalled) as error:
                if _slack_error(error) not in NOT_FOUND:  # not found here: the next workspace
                    log.warning("users.lookupByEmail of person %s: %s", person.id, _reason(error))
                continue
            found_team = user.get("team_id") or team
            # Slack's errors as they are, for the notifier, which logs them and moves on.
            linked = await self._profile(found_team, user["id"])
            if linked.person.id == person.id:  # the e-mail may have moved to someone else
                return found_team, user["id"]
        return None

    def avatar(self, team: str, user_id: str) -> str | None:
        cached = self._profiles.get((team, user_id))
        return cached.avatar if cached else None


def _lookup_failed(error: Exception, reference: str) -> DomainError:
    """What a failed lookup of `reference` (a mention) tells the person who asked."""
    if isinstance(error, NotInstalled) or _slack_error(error) in NOT_FOUND:
        return UnknownPerson(reference)
    log.warning("Slack did not answer the lookup of %s: %s", reference, _reason(error))
    return DirectoryUnavailable(PLATFORM_NAME)


def _slack_error(error: Exception) -> str | None:
    """Slack's error code ("user_not_found", "ratelimited" …), if Slack answered at all."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error") or "") or None
    return None


def _reason(error: Exception) -> str:
    """For the log: the HTTP status and Slack's error code, or the network error."""
    if isinstance(error, SlackApiError):
        return f"HTTP {error.response.status_code} {_slack_error(error) or 'without an error code'}"
    return repr(error)
