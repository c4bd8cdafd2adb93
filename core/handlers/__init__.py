"""Command handlers: plain `async def handle(cmd, uow, *, clock)` functions."""
