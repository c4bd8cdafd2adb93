"""Which platform tells a person something, when they use more than one.

A person who uses both Slack and Teams gets each message once: on the platform where
the thing happened if they use it there, otherwise on the first platform (in PLATFORMS
order) they use. Someone who uses none yet is tried on the first platform this
deployment runs: Slack finds people by e-mail; Teams keeps the message until they
first write.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass

from core.people import Identity
from core.ports import UnitOfWork

PLATFORMS = ("slack", "teams")


@dataclass(frozen=True)
class Routing:
    enabled: tuple[str, ...] = PLATFORMS  # the platforms this deployment runs, in order

    def home(self, used: Collection[str], source: str) -> str | None:
        reachable = [p for p in self.enabled if p in used]
        if source in reachable:
            return source
        return reachable[0] if reachable else next(iter(self.enabled), None)

    def delivers(self, platform: str, used: Collection[str], source: str = "") -> bool:
        """Whether `platform` should tell this person."""
        return self.home(used, source) == platform


async def platforms_used(uow: UnitOfWork, person_id: int) -> set[str]:
    return platforms_in((await uow.people.identities_of([person_id])).get(person_id, ()))


def platforms_in(identities: Iterable[Identity]) -> set[str]:
    """Where someone with these identities uses laurel."""
    return {i.platform for i in identities if i.platform in PLATFORMS}
