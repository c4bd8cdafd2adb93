"""Security of /api/messages: with MicrosoftAppId set, only activities carrying a valid
Bot Framework token have any effect; a tenant allow-list refuses other tenants; the
insecure development switch cannot be combined with real credentials.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from botframework.connector.auth import ChannelValidation

from adapters.persistence.tables import people, teams_users
from bot.settings import ConfigurationError, load_settings

from . import teams_activities as act
from .teams_harness import TeamsWorld, teams_world
from .teams_tokens import Authority, bot_framework_authority, new_key

APP_ID = "6f1c2a4e-1b2c-4d5e-8f90-123456789abc"
ANA = act.user("29:ana", "aad-ana", "Ana Lima")


@pytest.fixture(params=["sqlite", "pg"])
async def secured(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[tuple[TeamsWorld, Authority]]:
    """laurel as configured for the public cloud, except that the SDK fetches the Bot
    Framework's signing keys from a local stand-in (the one class attribute it offers)."""
    with bot_framework_authority() as authority:
        monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", authority.metadata_url)
        async with teams_world(
            request.param,
            tmp_path,
            MicrosoftAppId=APP_ID,
            MicrosoftAppPassword="not-used-offline",
            LAUREL_TEAMS_TENANTS="tenant-1, tenant-2",
        ) as built:
            yield built, authority


async def rows(world: TeamsWorld, table: sa.Table) -> int:
    async with world.app.engine.connect() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one())


def uninstall(world: TeamsWorld, tenant: str = "tenant-1") -> dict[str, Any]:
    """An activity laurel accepts without answering: proves acceptance with no outbound call
    (an outbound call would need a token from Microsoft's login service)."""
    return act.installation_update(world.connector.url, sender=ANA, action="remove", tenant=tenant)


async def test_missing_forged_and_stale_tokens_get_401_and_do_nothing(
    secured: tuple[TeamsWorld, Authority],
) -> None:
    world, authority = secured
    message = act.message(world.connector.url, sender=ANA, text="balance")
    url = world.connector.url
    bad_headers = [
        {},
        {"Authorization": "Bearer not-a-jwt"},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {
            "Authorization": "Bearer "
            + authority.token(audience=APP_ID, service_url=url, key=new_key())
        },
        {
            "Authorization": "Bearer "
            + authority.token(audience=APP_ID, service_url=url, expires_in=-3600)
        },
        {"Authorization": "Bearer " + authority.token(audience="someone-else", service_url=url)},
        {
            "Authorization": "Bearer "
            + authority.token(audience=APP_ID, service_url="https://evil.example/")
        },
        {
            "Authorization": "Bearer "
            + authority.token(audience=APP_ID, service_url=url, issuer="https://evil.example")
        },
    ]
    for headers in bad_headers:
        response = await world.post(message, **headers)
        assert response.status == 401, headers
    assert world.connector.calls == []
    assert await rows(world, people) == 0
    assert await rows(world, teams_users) == 0


async def test_a_valid_token_is_accepted(secured: tuple[TeamsWorld, Authority]) -> None:
    world, authority = secured
    token = authority.token(audience=APP_ID, service_url=world.connector.url)
    response = await world.post(uninstall(world), Authorization=f"Bearer {token}")
    assert response.status == 200


async def test_other_tenants_are_refused(secured: tuple[TeamsWorld, Authority]) -> None:
    world, authority = secured
    token = authority.token(audience=APP_ID, service_url=world.connector.url)
    message = act.message(world.connector.url, sender=ANA, text="balance", tenant="tenant-9")
    response = await world.post(message, Authorization=f"Bearer {token}")
    assert response.status == 403
    assert world.connector.calls == []
    assert await rows(world, people) == 0


def test_insecure_mode_with_an_app_id_refuses_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    monkeypatch.setenv("MicrosoftAppPassword", "secret")
    monkeypatch.setenv("LAUREL_TEAMS_INSECURE_DEV", "1")
    with pytest.raises(ConfigurationError, match="LAUREL_TEAMS_INSECURE_DEV"):
        load_settings()


def test_an_app_id_needs_its_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MicrosoftAppId", APP_ID)
    with pytest.raises(ConfigurationError, match="MicrosoftAppPassword"):
        load_settings()
