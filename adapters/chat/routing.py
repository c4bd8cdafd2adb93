"""Which platform tells a person something, when they use more than one.

A person who uses both Slack and Teams gets each message once: on the platform where
the thing happened if they use it, otherwise on the first of PLATFORMS they use.
"""

from __future__ import annotations

from collections.abc import Collection

from core.ports import UnitOfWork

PLATFORMS = ("slack", "teams")


def home_platform(used: Collection[str], source: str) -> str | None:
    """None when the person uses no chat platform laurel knows of yet."""
    if source in used:
        return source
    return next((p for p in PLATFORMS if p in used), None)


def delivers(platform: str, used: Collection[str], source: str) -> bool:
    """Whether `platform` should tell this person. A platform may also try people who use
    no platform yet (Slack finds them by e-mail)."""
    home = home_platform(used, source)
    return home == platform or (home is None and platform == PLATFORMS[0])


async def platforms_used(uow: UnitOfWork, person_id: int) -> set[str]:
    return {p for p in PLATFORMS if await uow.people.identities(person_id, p)}
