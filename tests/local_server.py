"""A fake platform's life: an aiohttp server on a free port of 127.0.0.1, as a context
manager that fails the test when the fake itself broke."""

from __future__ import annotations

import abc
import asyncio
from collections.abc import Callable
from types import TracebackType
from typing import Self

from aiohttp import web


class LocalServer(abc.ABC):
    name = "fake"  # for the failure message

    def __init__(self) -> None:
        self.errors: list[BaseException] = []
        """Exceptions raised inside the fake itself; re-raised on exit so fake bugs surface."""
        self._changed: asyncio.Condition | None = None
        self._runner: web.AppRunner | None = None
        self._root = ""

    @abc.abstractmethod
    def routes(self, app: web.Application) -> None:
        """Add the fake platform's routes."""

    async def start(self) -> None:
        """Start listening on a free port of 127.0.0.1."""
        app = web.Application()
        self.routes(app)
        self._changed = asyncio.Condition()
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        host, port = self._runner.addresses[0][:2]
        self._root = f"http://{host}:{port}"

    async def close(self) -> None:
        """Stop the server."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
        if exc is None and self.errors:
            raise AssertionError(f"the {self.name} itself failed: {self.errors!r}")

    async def _wait(self, done: Callable[[], bool], timeout: float) -> bool:  # noqa: ASYNC109
        """Wait until `done()` holds (checked whenever a request arrived); False on time-out."""
        assert self._changed is not None, f"the {self.name} is not started"
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(done)
        except TimeoutError:
            return False
        return True

    async def _notify(self) -> None:
        """A request arrived: wake the waiters."""
        assert self._changed is not None
        async with self._changed:
            self._changed.notify_all()

    @property
    def root(self) -> str:
        assert self._root, f"the {self.name} is not started"
        return self._root
