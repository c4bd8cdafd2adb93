"""/kudos when Slack cannot say who a mentioned person is.

Only Slack's "no such user" makes the person unknown. Slack failing to answer (5xx or 429
after the client's retries, `ratelimited`, a dropped connection) is not news about the
person: the giver is asked to try again, nothing is changed, and the failure is logged.
Every case goes through the real route: a signed /kudos against the fake Slack Web API.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from slack_sdk.http_retry.builtin_interval_calculators import BackoffRetryIntervalCalculator
from sqlalchemy import func, select

from adapters.persistence.tables import recognitions, transfers
from adapters.slack.pacing import MAX_WAITS

from .slack_harness import SlackWorld, slack_world
from .slack_requests import slash_command

UNANSWERED = (
    "Slack did not answer when I looked up who is who."
    " Nothing was changed; please try again in a moment."
)


@pytest.fixture(params=["sqlite", "pg"])
async def world(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[SlackWorld]:
    # The client's retries stay, their back-off (seconds between attempts) goes.
    monkeypatch.setattr(BackoffRetryIntervalCalculator, "calculate_sleep_duration", lambda *_: 0.0)
    async with slack_world(request.param, tmp_path) as built:
        built.api.add_user("U1", email="ana@example.com", real_name="Ana Lima")
        built.api.add_user("U2", email="ben@example.com", real_name="Ben Weber")
        built.api.usergroups["S1"] = ["U2"]
        await kudos(built, "balance", "warm")  # Ana's own profile is known before the faults
        yield built


async def kudos(world: SlackWorld, words: str, name: str) -> str:
    """What /kudos `words` from Ana answers."""
    await world.post(
        slash_command(words, trigger_id=name, response_url=world.api.response_url(name))
    )
    [answer] = await world.api.wait_for_response(name)
    assert answer["response_type"] == "ephemeral"
    return str(answer["text"])


async def changes(world: SlackWorld) -> tuple[int, int]:
    """(recognitions, ledger transfers) stored so far."""
    async with world.app.engine.connect() as conn:
        counted = [
            (await conn.execute(select(func.count()).select_from(table))).scalar_one()
            for table in (recognitions, transfers)
        ]
    return counted[0], counted[1]


def closed_port() -> int:
    """A port on which nothing listens: connecting to it is refused."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("status", "times", "error"),
    [
        (500, 5, None),  # the first answer and each of the 4 retries
        (503, 5, None),
        (429, MAX_WAITS + 1, None),  # still limited after every wait Slack asked for
        (200, 1, "ratelimited"),  # not retried
        (200, 1, "fatal_error"),
    ],
    ids=["500", "503", "429", "ratelimited", "fatal_error"],
)
async def test_slack_failing_to_answer_is_not_an_unknown_person(
    world: SlackWorld,
    caplog: pytest.LogCaptureFixture,
    status: int,
    times: int,
    error: str | None,
) -> None:
    before = await changes(world)
    world.api.fail("users.info", status=status, times=times, retry_after=0, error=error)
    with caplog.at_level(logging.WARNING, logger="laurel.slack"):
        answer = await kudos(world, "<@U2|ben> +5 thanks for the careful review", "r1")
    assert answer == UNANSWERED
    assert await changes(world) == before
    assert "Slack did not answer the lookup of <@U2>" in caplog.text
    assert f"HTTP {status}" in caplog.text
    assert "xoxb-test" not in caplog.text  # the token never reaches the log
    # Slack answers again: the same words give.
    assert "You gave 5 points to Ben Weber" in await kudos(
        world, "<@U2|ben> +5 thanks for the careful review", "r2"
    )


async def test_a_dropped_connection_is_not_an_unknown_person(
    world: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    before = await changes(world)
    client = await world.slack.ctx.clients.for_team("T1")
    api_url, client.base_url = client.base_url, f"http://127.0.0.1:{closed_port()}/api/"
    with caplog.at_level(logging.WARNING, logger="laurel.slack"):
        answer = await kudos(world, "<@U2|ben> +5 thanks for the careful review", "r1")
    assert answer == UNANSWERED
    assert await changes(world) == before
    assert "Slack did not answer the lookup of <@U2>" in caplog.text
    client.base_url = api_url


async def test_a_user_group_slack_did_not_list_is_not_unknown(world: SlackWorld) -> None:
    before = await changes(world)
    world.api.fail("usergroups.users.list", status=500, times=5)
    answer = await kudos(world, "<!subteam^S1|@reviewers> +5 thanks for the reviews", "r1")
    assert answer == UNANSWERED
    assert await changes(world) == before


async def test_only_a_user_slack_does_not_know_is_unknown(
    world: SlackWorld, caplog: pytest.LogCaptureFixture
) -> None:
    before = await changes(world)
    with caplog.at_level(logging.WARNING, logger="laurel.slack"):
        answer = await kudos(world, "<@U7|nobody> +5 thanks for the careful review", "r1")
    assert answer == "I don't know anyone called <@U7>."
    assert [c for c in world.api.calls_to("users.info") if c.args.get("user") == "U7"]
    assert await changes(world) == before
    assert "did not answer" not in caplog.text  # nothing went wrong: nothing to log
    group = await kudos(world, "<!subteam^S9|@nobody> +5 thanks for the reviews", "r2")
    assert group == "I don't know anyone called <!subteam^S9|@nobody>."
