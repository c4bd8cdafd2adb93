"""Multi-workspace install: OAuth into laurel's database, tokens sealed, per-team clients."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestClient, TestServer
from cryptography.fernet import Fernet

from adapters.persistence.tables import slack_installations
from adapters.secrets import SecretBox, SecretsUnavailable
from bot import web
from bot.bootstrap import bootstrap
from bot.settings import Settings

from .conftest import migrated_engine
from .slack_fake import FakeSlackApi
from .slack_harness import SECRET
from .slack_requests import signed, slash_command

KEY = Fernet.generate_key().decode()


def access(args: dict[str, object]) -> dict[str, object]:
    assert args.get("code") == "the-code"
    return {
        "ok": True,
        "access_token": "xoxb-team-two",
        "token_type": "bot",
        "scope": "commands,chat:write",
        "bot_user_id": "UBOT2",
        "app_id": "A1",
        "team": {"id": "T2", "name": "Two"},
        "enterprise": None,
        "is_enterprise_install": False,
        "authed_user": {"id": "U1"},
    }


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
async def test_install_then_use_the_workspace_token(kind: str, tmp_path: Path) -> None:
    async with FakeSlackApi(team_id="T2") as api, migrated_engine(kind, tmp_path) as engine:
        api.handle("oauth.v2.access", access)
        api.add_user("U1", email="ana@example.com", real_name="Ana Lima", team_id="T2")
        api.add_user("U2", email="ben@example.com", real_name="Ben Weber", team_id="T2")
        settings = Settings(
            DATABASE_URL="sqlite+aiosqlite:///unused.db",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_CLIENT_ID="1.2",
            SLACK_CLIENT_SECRET="client-secret",
            LAUREL_SECRET_KEYS=KEY,
            SLACK_API_URL=api.url,
        )
        app = await bootstrap(settings, engine=engine, migrate_db=False)
        web_app = web.build(app)
        async with TestClient(TestServer(web_app)) as http:
            install = await http.get("/slack/install")
            assert install.status == 200
            assert "oauth/v2/authorize" in await install.text()
            state = install.cookies["slack-app-oauth-state"].value
            cookie = {"Cookie": f"slack-app-oauth-state={state}"}  # Secure: a browser on https
            done = await http.get(
                f"/slack/oauth_redirect?code=the-code&state={state}", headers=cookie
            )
            assert done.status == 200, await done.text()

            async with engine.connect() as conn:
                sealed = (await conn.execute(sa.select(slack_installations.c.sealed))).scalar_one()
            assert "xoxb-team-two" not in sealed
            assert "xoxb-team-two" in SecretBox([KEY]).open(sealed)

            request = signed(
                slash_command(
                    "<@U2|ben> +5 thanks for the onboarding",
                    team_id="T2",
                    response_url=api.response_url("r1"),
                ),
                SECRET,
            )
            response = await http.post(
                "/slack/events", data=request.body.encode(), headers=request.headers
            )
            assert response.status == 200
            reply = (await api.wait_for_response("r1"))[0]
            assert "You gave 5 points to Ben Weber." in reply["text"]
            await web_app[web.SLACK].notifier.drain()
            lookups = api.calls_to("users.info")
            assert lookups and all(c.token == "xoxb-team-two" for c in lookups)

            replay = await http.get(
                f"/slack/oauth_redirect?code=the-code&state={state}", headers=cookie
            )
            assert replay.status != 200  # a state is good for one install only


def test_secret_keys_rotate() -> None:
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    sealed = SecretBox([old]).seal("xoxb-secret")
    both = SecretBox([new, old])
    assert both.open(sealed) == "xoxb-secret"
    rotated = both.rotate(sealed)
    assert SecretBox([new]).open(rotated) == "xoxb-secret"
    with pytest.raises(SecretsUnavailable):
        SecretBox([new]).open(sealed)
    with pytest.raises(SecretsUnavailable):
        SecretBox.from_setting("")
    with pytest.raises(SecretsUnavailable):
        SecretBox.from_setting("not-a-fernet-key")


def test_oauth_without_secret_keys_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bot.settings import ConfigurationError, load_settings

    monkeypatch.setenv("SLACK_CLIENT_ID", "1.2")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "s")
    monkeypatch.delenv("LAUREL_SECRET_KEYS", raising=False)
    with pytest.raises(ConfigurationError, match="LAUREL_SECRET_KEYS"):
        load_settings()
