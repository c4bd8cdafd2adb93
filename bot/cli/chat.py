"""`laurel chat`: the console adapter, on the embedded database."""

from __future__ import annotations

import sys

import click
from rich.console import Console

from adapters.chat.admin import ChatAdmin
from adapters.console import demo
from adapters.console.notifier import ConsoleNotifier
from adapters.console.session import ConsoleSession, stdin_lines
from adapters.secrets import SecretBox
from core.events import KudosGiven, TierReached
from core.messages import MsgId, text

from ..bootstrap import bootstrap
from ..settings import Settings
from .common import configured, run


@click.command()
@click.option("--as", "as_email", metavar="EMAIL", help="Act as this person.")
@click.option(
    "--demo", "demo_mode", is_flag=True, help="Seed a demo organisation when the database is empty."
)
def chat(as_email: str | None, demo_mode: bool) -> None:
    """Chat with laurel in the terminal (typed, or lines piped on stdin)."""
    settings = configured()
    console = Console(highlight=False)
    run(lambda: _chat(settings, console, as_email, demo_mode))


async def _chat(
    settings: Settings, console: Console, as_email: str | None, demo_mode: bool
) -> None:
    app = await bootstrap(settings)
    try:
        notifier = ConsoleNotifier(app.uow)
        box = SecretBox.from_setting(settings.secret_keys) if settings.secret_keys else None
        session = ConsoleSession(
            bus=app.bus,
            uow=app.uow,
            notifier=notifier,
            console=console,
            default_language=settings.locale,
            seal=box.seal if box else None,
            admin=ChatAdmin(app.bus, app.engine, box, pictures=False, admins=settings.admins),
        )
        if demo_mode and await demo.seed_demo(app.bus, app.uow):
            render = session.renderer(None)
            console.print(
                render(
                    text(MsgId.DEMO_SEEDED, people=len(demo.PEOPLE), departments=demo.DEPARTMENTS)
                )
            )
        app.bus.subscribe(KudosGiven, notifier)  # after seeding: its gifts are not news
        app.bus.subscribe(TierReached, notifier)
        email = as_email or (demo.email(demo.PEOPLE[1][0]) if demo_mode else None)
        if email:
            await session.act_as(email)
        interactive = sys.stdin.isatty()
        if interactive and session.actor is not None:
            welcome = text(MsgId.CONSOLE_WELCOME, name=session.actor.display_name)
            console.print(session.renderer(session.actor)(welcome))
        await session.run(stdin_lines(interactive))
    finally:
        await app.close()
