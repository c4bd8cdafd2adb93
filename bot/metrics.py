"""The Prometheus metrics of one laurel process (docs/operations.md "Monitoring").

Each process (`laurel serve`, `laurel scheduler`) has its own registry and counts what
happens in it; Prometheus scrapes every process and sums by label. The adapters know
nothing of Prometheus: the notifiers and the scheduler are handed plain callbacks
(`notification_failed`, `scheduler_run`), and the counts of the core's events come from
subscribing to the bus.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import sqlalchemy as sa
from aiohttp import web
from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    GCCollector,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)
from sqlalchemy.ext.asyncio import AsyncEngine

from core.bus import MessageBus
from core.events import (
    Event,
    KudosGiven,
    RedemptionApproved,
    RedemptionDeclined,
    RedemptionPlaced,
)

log = logging.getLogger("laurel.metrics")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

REDEMPTION_STATES = ("requested", "approved", "declined", "cancelled", "expired")
PLATFORMS = ("slack", "teams")
FAILURE_REASONS = ("error", "unreachable", "gave_up")
RUN_OUTCOMES = ("ok", "failed", "skipped")
# What generate_latest writes: the text format every Prometheus reads (newer clients name
# a 1.0.0 version in their default header, which Prometheus 2 does not know).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


class Metrics:
    def __init__(self) -> None:
        disable_created_metrics()  # type: ignore[no-untyped-call]  # no *_created series
        self.registry = CollectorRegistry()
        # process_* (CPU, memory, open files, start time), python_info and python_gc_*:
        # prometheus_client's default collectors, in this registry rather than the global one.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.requests = Counter(
            "laurel_http_requests", "HTTP requests", ["route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "laurel_http_request_seconds", "HTTP request latency", ["route"], registry=self.registry
        )
        self.kudos = Counter(
            "laurel_kudos_given", "Recognitions given", ["source"], registry=self.registry
        )
        self.redemptions = Counter(
            "laurel_redemptions",
            "Redemptions entering a state: requested, approved, declined, cancelled, expired",
            ["state"],
            registry=self.registry,
        )
        self.notifications_failed = Counter(
            "laurel_notifications_failed",
            "Messages to a person or channel that were not delivered when due "
            "(reason: error = the platform refused or stayed unreachable after retries; "
            "unreachable = no account on the platform yet; in Teams it waits in the outbox; "
            "gave_up = an error retried from the outbox for a day, then dropped)",
            ["platform", "reason"],
            registry=self.registry,
        )
        # `job_name`, not `job`: Prometheus sets `job` on every target itself, and would
        # rename ours to `exported_job`.
        self.scheduler_runs = Counter(
            "laurel_scheduler_runs",
            "Scheduler job runs by outcome (ok, failed, skipped: another scheduler held it)",
            ["job_name", "outcome"],
            registry=self.registry,
        )
        self.scheduler_success = Gauge(
            "laurel_scheduler_last_success_timestamp",
            "Unix time of the job's last successful run in this process",
            ["job_name"],
            registry=self.registry,
        )
        # Zero from the start, so that rate() and increase() see the first event too.
        for state in REDEMPTION_STATES:
            self.redemptions.labels(state)
        for platform in PLATFORMS:
            for reason in FAILURE_REASONS:
                self.notifications_failed.labels(platform, reason)

    def subscribe(self, bus: MessageBus) -> None:
        """Count the core's events that this process dispatches (after their commit)."""
        for kind in (KudosGiven, RedemptionPlaced, RedemptionApproved, RedemptionDeclined):
            bus.subscribe(kind, self.count)

    async def count(self, event: Event) -> None:
        if isinstance(event, KudosGiven):
            self.kudos.labels(event.recognition.source).inc()
        elif isinstance(event, RedemptionPlaced):
            self.redemptions.labels("requested").inc()
        elif isinstance(event, RedemptionApproved | RedemptionDeclined):
            # RedemptionDeclined carries declined, cancelled or expired in its status.
            self.redemptions.labels(event.redemption.status.value).inc()

    def notification_failed(self, platform: str, reason: str) -> None:
        self.notifications_failed.labels(platform, reason).inc()

    def scheduler_jobs(self, names: list[str]) -> None:
        """The jobs this process runs: their counters start at zero."""
        for name in names:
            for outcome in RUN_OUTCOMES:
                self.scheduler_runs.labels(name, outcome)

    def scheduler_run(self, job: str, outcome: str) -> None:
        self.scheduler_runs.labels(job, outcome).inc()
        if outcome == "ok":
            self.scheduler_success.labels(job).set(time.time())

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    async def route(self, _: web.Request) -> web.Response:
        """GET /metrics."""
        return web.Response(body=self.exposition(), headers={"Content-Type": CONTENT_TYPE})

    @web.middleware
    async def middleware(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = resource.canonical if resource else "?"
        start = time.perf_counter()
        status = 500  # an exception that escapes becomes aiohttp's 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as error:  # raised responses (404, 405, 401 …) count too
            status = error.status
            raise
        except asyncio.CancelledError:  # the client went away before the answer
            status = 499
            raise
        finally:
            self.latency.labels(route).observe(time.perf_counter() - start)
            self.requests.labels(route, str(status)).inc()


def healthz(engine: AsyncEngine) -> Handler:
    """GET /healthz: 200 while the database answers, 503 otherwise."""

    async def answer(_: web.Request) -> web.StreamResponse:
        try:
            async with engine.connect() as conn:
                await conn.execute(sa.text("SELECT 1"))
        except Exception as error:  # any failure to answer means "not healthy"
            log.warning("health check failed: %s", error)
            return web.json_response({"status": "unavailable"}, status=503)
        return web.json_response({"status": "ok"})

    return answer


@asynccontextmanager
async def listener(
    metrics: Metrics, engine: AsyncEngine, host: str, port: int
) -> AsyncIterator[None]:
    """`laurel scheduler --metrics-port`: /metrics and /healthz of a process without a web
    server of its own."""
    app = web.Application(middlewares=[metrics.middleware])
    app.router.add_get("/metrics", metrics.route)
    app.router.add_get("/healthz", healthz(engine))
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
        yield
    finally:
        await runner.cleanup()
