"""The API's GET endpoints; each answer is read in one read-only transaction."""

from __future__ import annotations

from aiohttp import web

from adapters.persistence.api_reads import ApiUnitOfWork, BalanceRow
from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.clock import Clock
from core.handlers.allowance import current_allowance
from core.rewards import RedemptionStatus
from core.views import AllowanceState

from . import render
from .paging import page_request, page_response, parse_id, respond, window
from .problems import Problem, bad_request

STATUSES = tuple(status.value for status in RedemptionStatus)


class Resources:
    def __init__(self, uow: SqlUnitOfWorkFactory, clock: Clock) -> None:
        self._uow = uow
        self._clock = clock

    def _read(self) -> ApiUnitOfWork:
        return ApiUnitOfWork(self._uow)

    async def people(self, request: web.Request) -> web.Response:
        page = page_request(request)
        async with self._read() as uow:
            found = await uow.reads.people(after=page.after, limit=page.fetch)
        return page_response(request, page, found, key=lambda p: p.id, render=render.person)

    async def person(self, request: web.Request) -> web.Response:
        raw = request.match_info["id"]
        found = None
        if (person_id := parse_id(raw)) is not None:
            async with self._read() as uow:
                found = await uow.people.get(person_id)
        if found is None:
            raise Problem(404, f"no person with id {raw}")
        return respond(render.person(found))

    async def recognitions(self, request: web.Request) -> web.Response:
        page, span = page_request(request), window(request)
        async with self._read() as uow:
            found = await uow.reads.recognitions(after=page.after, limit=page.fetch, window=span)
        return page_response(request, page, found, key=lambda r: r.id, render=render.recognition)

    async def balances(self, request: web.Request) -> web.Response:
        page = page_request(request)
        async with self._read() as uow:
            rows = await uow.reads.balances(after=page.after, limit=page.fetch)
            allowances = await self._allowances(uow, rows[: page.limit])
        return page_response(
            request,
            page,
            rows,
            key=lambda b: b.person_id,
            render=lambda b: render.balance(b, allowances.get(b.person_id)),
        )

    async def _allowances(
        self, uow: ApiUnitOfWork, rows: list[BalanceRow]
    ) -> dict[int, AllowanceState]:
        """What active people may still give this period, by the rule `balance` shows."""
        config, now = await uow.config.load(), self._clock.now()
        people = await uow.people.get_many([row.person_id for row in rows])
        return {
            person.id: await current_allowance(uow, person, config, now)
            for person in people.values()
            if person.active
        }

    async def redemptions(self, request: web.Request) -> web.Response:
        page, span = page_request(request), window(request)
        status = request.query.get("status")
        if status is not None and status not in STATUSES:
            raise bad_request(f"status: one of {', '.join(STATUSES)}, not {status!r}")
        async with self._read() as uow:
            found = await uow.reads.redemptions(
                after=page.after, limit=page.fetch, window=span, status=status
            )
        return page_response(request, page, found, key=lambda r: r.id, render=render.redemption)

    async def summary(self, request: web.Request) -> web.Response:
        span = window(request)
        async with self._read() as uow:
            totals = await uow.reads.summary(span)
        return respond(render.summary(totals, span, self._clock.now()))
