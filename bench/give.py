"""GiveKudos through the bus and the real store: latency one at a time, throughput at 32."""

from __future__ import annotations

import asyncio
import time

from rich.progress import Progress

from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.bus import MessageBus, default_handlers
from core.clock import SystemClock
from core.commands import ConfigureOrganisation, GiveKudos, RegisterPerson
from core.people import NewPerson
from core.policy import GivingPolicy

from .common import engines, fresh_engine, median, ms, percentile

SEQUENTIAL = 300
CONCURRENT_CLIENTS = 32
CONCURRENT_GIFTS = 1000


async def _organisation(bus: MessageBus, people: int) -> list[int]:
    await bus.handle(ConfigureOrganisation(policy=GivingPolicy(allowance=1_000_000)))
    ids = []
    for i in range(people):
        person = await bus.handle(
            RegisterPerson(person=NewPerson(email=f"p{i}@example.com", display_name=f"P {i}"))
        )
        ids.append(person.id)
    return ids


def _gift(giver: int, receiver: int, n: int) -> GiveKudos:
    return GiveKudos(
        giver_id=giver,
        receiver_ids=(receiver,),
        amount=1,
        reason="benchmark gift, thank you",
        idempotency_key=f"bench-{n}",
    )


async def run_engine(kind: str, progress: Progress) -> dict[str, str]:
    async with fresh_engine(kind) as engine:
        bus = MessageBus(
            uow_factory=SqlUnitOfWorkFactory(engine), handlers=default_handlers(SystemClock())
        )
        ids = await _organisation(bus, CONCURRENT_CLIENTS * 2)
        task = progress.add_task(f"give on {kind}", total=SEQUENTIAL + CONCURRENT_GIFTS)
        latencies = []
        for n in range(SEQUENTIAL):
            start = time.perf_counter()
            await bus.handle(_gift(ids[0], ids[1], n))
            latencies.append(time.perf_counter() - start)
            progress.advance(task)

        queue = iter(range(SEQUENTIAL, SEQUENTIAL + CONCURRENT_GIFTS))

        async def client(c: int) -> None:
            for n in queue:
                await bus.handle(_gift(ids[2 * c], ids[2 * c + 1], n))
                progress.advance(task)

        start = time.perf_counter()
        await asyncio.gather(*(client(c) for c in range(CONCURRENT_CLIENTS)))
        elapsed = time.perf_counter() - start
    return {
        "engine": kind,
        "p50 one at a time": ms(median(latencies)),
        "p99 one at a time": ms(percentile(latencies, 99)),
        f"gifts/s at {CONCURRENT_CLIENTS} clients": f"{CONCURRENT_GIFTS / elapsed:.0f}",
    }


async def run(progress: Progress) -> list[dict[str, str]]:
    return [await run_engine(kind, progress) for kind in engines()]
