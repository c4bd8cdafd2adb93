"""The Prometheus metrics: each moves when its event happens, and /metrics is valid
exposition (docs/operations.md "Monitoring")."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.scheduler.jobs import Job
from bot import web
from bot.metrics import Metrics
from bot.scheduling import build_scheduler
from core.commands import (
    CancelRedemption,
    ChaseApprovals,
    Decide,
    GiveKudos,
    Redeem,
    SyncDirectory,
)
from core.decisions import Outcome
from core.directory import DirectoryRecord
from core.rewards import Redemption

from . import teams_activities as act
from .fakes import FakeClock
from .slack_harness import SlackWorld, slack_world
from .slack_requests import slash_command
from .teams_harness import teams_world
from .test_rewards_chat import give_ana, organisation
from .test_serve import free_port, serve

LAUREL = str(Path(sys.executable).with_name("laurel"))
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Every sample by (name, sorted labels); the parser refuses invalid exposition."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


async def scrape(world: SlackWorld) -> Samples:
    response = await world.http.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return parse(await response.text())


@pytest.fixture(params=["sqlite", "pg"])
async def slack(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[SlackWorld]:
    clock = FakeClock()
    clock.set(clock.now().replace(hour=10))
    async with slack_world(request.param, tmp_path, clock=clock) as built:
        built.api.add_user("U1", email="ana@example.com", real_name="Ana Lima")
        built.api.add_user("U2", email="maria@example.com", real_name="Maria Rossi")
        await organisation(built.app.bus)
        await give_ana(built.app.uow, built.app.bus, 100)
        await built.settle()
        yield built


async def test_metrics_are_valid_exposition_with_every_family(slack: SlackWorld) -> None:
    await slack.http.get("/healthz")
    samples = await scrape(slack)
    names = {name for name, _ in samples}
    assert {
        "laurel_http_requests_total",
        "laurel_http_request_seconds_bucket",
        "laurel_kudos_given_total",
        "laurel_redemptions_total",
        "laurel_notifications_failed_total",
        "process_cpu_seconds_total",
        "process_resident_memory_bytes",
        "python_info",
        "python_gc_collections_total",
    } <= names
    assert value(samples, "laurel_http_requests_total", route="/healthz", status="200") == 1
    # Zero from the start, so that rate() sees the first one.
    for state in ("requested", "approved", "declined", "cancelled", "expired"):
        assert ("laurel_redemptions_total", (("state", state),)) in samples
    for platform in ("slack", "teams"):
        for reason in ("error", "unreachable"):
            labels = (("platform", platform), ("reason", reason))
            assert ("laurel_notifications_failed_total", labels) in samples


async def test_requests_are_counted_by_route_and_status_even_when_refused(
    slack: SlackWorld,
) -> None:
    assert (await slack.http.get("/nowhere")).status == 404
    assert (await slack.http.post("/healthz")).status == 405
    forged = await slack.http.post("/slack/events", data=b"x", headers={"X-Slack-Signature": "0"})
    assert forged.status == 401
    samples = await scrape(slack)
    assert value(samples, "laurel_http_requests_total", route="?", status="404") == 1
    assert value(samples, "laurel_http_requests_total", route="/slack/events", status="401") == 1
    assert value(samples, "laurel_http_request_seconds_count", route="/slack/events") == 1


async def test_kudos_given_in_slack_are_counted_by_source(slack: SlackWorld) -> None:
    before = value(await scrape(slack), "laurel_kudos_given_total", source="slack")
    url = slack.api.response_url("r1")
    await slack.post(
        slash_command("<@U2|maria> +5 thanks for the review", user_id="U1", response_url=url)
    )
    await slack.api.wait_for_response("r1")
    await slack.settle()
    samples = await scrape(slack)
    assert value(samples, "laurel_kudos_given_total", source="slack") == before + 1
    assert value(samples, "laurel_kudos_given_total", source="console") == 1  # give_ana


async def ids(world: SlackWorld) -> tuple[int, int]:
    async with world.app.uow(readonly=True) as uow:
        ana = await uow.people.by_email("ana@example.com")
        maria = await uow.people.by_email("maria@example.com")
    assert ana and maria
    return ana.id, maria.id


async def test_redemptions_are_counted_by_the_state_they_enter(slack: SlackWorld) -> None:
    bus = slack.app.bus
    ana, maria = await ids(slack)

    async def redeem() -> Redemption:
        return (await bus.handle(Redeem(person_id=ana, item="mug"))).redemption

    first = await redeem()
    await bus.handle(Decide(key=first.decision_key, outcome=Outcome.APPROVE, person_id=maria))
    second = await redeem()
    await bus.handle(Decide(key=second.decision_key, outcome=Outcome.DECLINE, person_id=maria))
    third = await redeem()
    await bus.handle(CancelRedemption(person_id=ana, redemption_id=third.id))
    await redeem()
    await bus.handle(ChaseApprovals())  # a reminder later: not a new request
    clock = slack.app.clock
    assert isinstance(clock, FakeClock)
    clock.advance(days=11)  # nobody decided: refunded
    await bus.handle(ChaseApprovals())
    await slack.settle()
    samples = await scrape(slack)
    assert {
        state: value(samples, "laurel_redemptions_total", state=state)
        for state in ("requested", "approved", "declined", "cancelled", "expired")
    } == {"requested": 4, "approved": 1, "declined": 1, "cancelled": 1, "expired": 1}


async def test_slack_messages_that_fail_are_counted(slack: SlackWorld) -> None:
    slack.api.fail("chat.postMessage", status=200, error="channel_not_found")  # Maria's DM
    url = slack.api.response_url("r1")
    await slack.post(
        slash_command("<@U2|maria> +5 thanks for the review", user_id="U1", response_url=url)
    )
    await slack.api.wait_for_response("r1")
    await slack.settle()
    samples = await scrape(slack)
    failed = "laurel_notifications_failed_total"
    assert value(samples, failed, platform="slack", reason="error") == 1
    assert value(samples, failed, platform="slack", reason="unreachable") == 0
    # Chloé is in the directory but not in Slack: her DM has nowhere to go.
    await slack.app.bus.handle(
        SyncDirectory(
            source="csv",
            records=(DirectoryRecord(email="chloe@example.com", display_name="Chloé Martin"),),
        )
    )
    ana, _ = await ids(slack)
    async with slack.app.uow(readonly=True) as uow:
        chloe = await uow.people.by_email("chloe@example.com")
    assert chloe is not None
    await slack.app.bus.handle(
        GiveKudos(giver_id=ana, receiver_ids=(chloe.id,), amount=5, reason="welcome aboard!")
    )
    await slack.settle()
    samples = await scrape(slack)
    assert value(samples, failed, platform="slack", reason="unreachable") == 1
    assert value(samples, failed, platform="slack", reason="error") == 1


async def test_a_teams_message_that_cannot_be_delivered_is_counted(tmp_path: Path) -> None:
    async with teams_world("sqlite", tmp_path) as world:
        c = world.connector
        ana = act.user("29:ana", "aad-ana", "Ana Lima")
        ben = act.user("29:ben", "aad-ben", "Ben Weber")
        c.add_member("29:ana", aad="aad-ana", name="Ana Lima", email="ana@example.com")
        c.add_member("29:ben", aad="aad-ben", name="Ben Weber", email="ben@example.com")
        c.refuse_create = True  # the app is not installed for Ben yet: it waits in the outbox
        gift = act.message(
            c.url, sender=ana, text=f"kudos {act.mention(ben)} +7 nice pairing", mentions=[ben]
        )
        assert (await world.post(gift)).status == 200
        await world.settle()
        c.refuse_create = False
        await world.post(act.message(c.url, sender=ben, text="help"))  # Ben's chat is known
        c.fail("send", 503, times=20, retry_after=0)  # and Teams is down for a while
        again = act.message(
            c.url, sender=ana, text=f"kudos {act.mention(ben)} +3 and the docs", mentions=[ben]
        )
        assert (await world.post(again)).status == 200
        await world.settle()
        samples = parse(await (await world.http.get("/metrics")).text())
    failed = "laurel_notifications_failed_total"
    assert value(samples, failed, platform="teams", reason="unreachable") == 1
    assert value(samples, failed, platform="teams", reason="error") >= 1
    assert value(samples, "laurel_kudos_given_total", source="teams") == 2


async def test_scheduler_runs_are_counted_by_job_and_outcome(slack: SlackWorld) -> None:
    metrics = slack.http.app[web.METRICS]
    scheduler = build_scheduler(slack.app, metrics)
    allowance = next(job for job in scheduler.jobs if job.name == "allowance")
    assert await scheduler.run(allowance)

    async def broken() -> object:
        raise RuntimeError("the HR system is down")

    assert not await scheduler.run(Job("directory", timedelta(hours=6), broken))
    samples = await scrape(slack)
    runs = "laurel_scheduler_runs_total"
    assert value(samples, runs, job_name="allowance", outcome="ok") == 1
    assert value(samples, runs, job_name="directory", outcome="failed") == 1
    assert ("laurel_scheduler_runs_total", (("job_name", "digest"), ("outcome", "ok"))) in samples
    stamp = value(samples, "laurel_scheduler_last_success_timestamp", job_name="allowance")
    assert stamp > 1.7e9
    assert ("laurel_scheduler_last_success_timestamp", (("job_name", "directory"),)) not in samples


async def test_a_run_another_scheduler_holds_is_counted_as_skipped(tmp_path: Path) -> None:
    async with slack_world("pg", tmp_path) as world:
        metrics = Metrics()
        scheduler = build_scheduler(world.app, metrics)
        allowance = next(job for job in scheduler.jobs if job.name == "allowance")
        engine: AsyncEngine = world.app.engine
        async with engine.connect() as other:  # another scheduler is running it
            key = zlib.crc32(b"laurel:allowance")
            await other.execute(sa.text("SELECT pg_advisory_lock(:k)"), {"k": key})
            assert not await scheduler.run(allowance)
            await other.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
            await other.commit()
        samples = parse(metrics.exposition().decode())
    runs = "laurel_scheduler_runs_total"
    assert value(samples, runs, job_name="allowance", outcome="skipped") == 1
    assert value(samples, runs, job_name="allowance", outcome="ok") == 0


async def eventually_scraped(url: str, check: str, timeout: float = 20.0) -> Samples:  # noqa: ASYNC109
    async with aiohttp.ClientSession() as http:
        for _ in range(int(timeout / 0.1)):
            try:
                async with http.get(url) as response:
                    text = await response.text()
                    if check in text:
                        return parse(text)
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{check} never appeared at {url}")


async def test_laurel_serve_counts_its_own_scheduler_runs(tmp_path: Path) -> None:
    async with serve(tmp_path) as base:
        samples = await eventually_scraped(
            f"{base}/metrics", 'laurel_scheduler_runs_total{job_name="allowance",outcome="ok"} 1.0'
        )
    assert value(samples, "laurel_scheduler_last_success_timestamp", job_name="allowance") > 0


async def test_laurel_scheduler_serves_metrics_on_its_own_port(tmp_path: Path) -> None:
    port = free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DATABASE"))}
    environment.update(HOST="127.0.0.1", DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/s.db")
    process = await asyncio.create_subprocess_exec(
        LAUREL,
        "scheduler",
        "--metrics-port",
        str(port),
        cwd=tmp_path,
        env=environment,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        samples = await eventually_scraped(
            f"{base}/metrics", 'laurel_scheduler_runs_total{job_name="allowance",outcome="ok"} 1.0'
        )
        assert (
            value(samples, "laurel_scheduler_runs_total", job_name="reminders", outcome="failed")
            == 0
        )
        assert "process_cpu_seconds_total" in {name for name, _ in samples}
        async with aiohttp.ClientSession() as http, http.get(f"{base}/healthz") as health:
            assert health.status == 200
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 30)
    out = (await process.stdout.read()).decode()  # type: ignore[union-attr]
    assert process.returncode == 0, (await process.stderr.read()).decode()  # type: ignore[union-attr]
    assert f"metrics on http://127.0.0.1:{port}/metrics" in out
