"""Fuzzing the chat grammar and the admin commands with hypothesis: no exception escapes,
and every input gets a message.

Two levels. The parsers alone (`parse_chat` with each platform's mention pattern, the
console's `parse`, Slack's `parse_command`, `parse_admin`): a line is a request of a kind
the platforms serve, or a `DomainError` whose text renders in every language. Then the
whole answer path, `ChatCommands.answer` and `ChatAdmin.answer` on a small organisation
(the fakes, SQLite and PostgreSQL): every line ends as a card with at least one rendered
line, which Slack's Block Kit and a Teams Adaptive Card can both carry. Admin previews
are confirmed now and then, so odd names and values reach the stores too; the ledger
must still balance at the end.

Quick versions (a few hundred lines each) run in the normal suite; the 10,000-line
versions are the slow tier (LAUREL_SLOW=1).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.chat import cards
from adapters.chat.admin import ChatAdmin
from adapters.chat.admin_grammar import AdminRequest, Confirm, PersonErase, parse_admin
from adapters.chat.cards import Card
from adapters.chat.commands import ChatCommands
from adapters.chat.grammar import (
    CONSOLE_MENTION,
    ActAs,
    Approvals,
    Balance,
    Cancel,
    Give,
    Help,
    History,
    Lang,
    Leaderboard,
    Quit,
    RedeemItem,
    Redemptions,
    Settings,
    Shop,
    Values,
    parse,
    parse_chat,
)
from adapters.i18n import Renderer
from adapters.persistence.uow import SqlUnitOfWorkFactory
from adapters.slack import blocks
from adapters.slack.directory import MENTION as SLACK_MENTION
from adapters.slack.giving import parse_command
from adapters.teams import cards as teams_cards
from adapters.teams.mentions import TOKEN as TEAMS_MENTION
from core.admin import PutItem
from core.commands import Decide, ProposeChange
from core.decisions import Outcome
from core.errors import DomainError, TierThresholdTaken, UnknownPerson
from core.messages import LANGUAGES, MsgId, text
from core.people import Person, Role
from core.ports import UnitOfWorkFactory

from .audit import snapshot
from .conftest import SLOW, migrated_engine
from .fakes import FakeUnitOfWorkFactory
from .harness import Harness
from .hostile import ADMIN_LINES, CHAT_LINES

T = TypeVar("T")
SHARED = (
    Give,
    Balance,
    History,
    Leaderboard,
    Values,
    Lang,
    Help,
    Shop,
    RedeemItem,
    Redemptions,
    Cancel,
    Approvals,
    Settings,
)
MENTIONS = {"console": CONSOLE_MENTION, "slack": SLACK_MENTION, "teams": TEAMS_MENTION}


def budget(quick: int, slow: int = 10_000) -> pytest.MarkDecorator:
    """How many inputs: `quick` in the normal suite, `slow` in the slow tier."""
    return pytest.mark.parametrize(
        "examples",
        [
            pytest.param(quick, id=f"{quick}"),
            pytest.param(slow, id=f"{slow}", marks=pytest.mark.slow),
        ],
    )


def fuzz(examples: int, lines: st.SearchStrategy[str], check: Callable[[str], None]) -> int:
    """Run `check` on `examples` generated lines (hypothesis shrinks a failure); the count."""
    seen = itertools.count()

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        database=None,
        derandomize=not SLOW,  # the same lines in every CI run; the slow tier explores
    )
    @given(line=lines)
    def run(line: str) -> None:
        next(seen)
        check(line)

    run()
    count = next(seen)
    assert count >= examples, f"only {count} of {examples} inputs were tried"
    return count


def says_something(card: Card, language: str = "en") -> None:
    """The card renders to at least one non-empty line, in Block Kit within Slack's limits
    and as a Teams message."""
    render = Renderer(language)
    lines = [render(line) for section in card.sections for line in section.lines]
    if card.title is not None:
        lines.append(render(card.title))
    assert any(line.strip() for line in lines), card
    body = blocks.card_blocks(card, render)
    assert 0 < len(body) <= 50
    for block in body:
        text = block.get("text", {}).get("text", "")
        assert len(text) <= (150 if block["type"] == "header" else blocks.MAX_TEXT)
    assert blocks.card_text(card, render).strip()
    message = teams_cards.card_message(card, render)
    assert message["attachments"] and message["summary"].strip()


def refused(error: DomainError) -> None:
    for language in LANGUAGES:
        assert Renderer(language)(error.text()).strip()


# -- the parsers --------------------------------------------------------------------------


@budget(500)
def test_the_chat_grammar_answers_every_line_with_a_request_or_a_refusal(examples: int) -> None:
    def check(line: str) -> None:
        for platform, mention in MENTIONS.items():
            try:
                request = parse_chat(line, mention)
            except DomainError as error:
                refused(error)
                continue
            assert isinstance(request, SHARED), (platform, request)
        try:
            assert isinstance(parse_command(line), SHARED)  # Slack's /kudos, escapes and all
        except DomainError as error:
            refused(error)
        try:  # the console's own grammar also knows `as EMAIL` and `quit`
            assert isinstance(parse(line), (*SHARED, ActAs, Quit))
        except DomainError as error:
            refused(error)

    fuzz(examples, CHAT_LINES, check)


@budget(500)
def test_the_admin_grammar_answers_every_line_with_a_request_or_its_usage(examples: int) -> None:
    def check(line: str) -> None:
        for mention in MENTIONS.values():
            try:
                assert isinstance(parse_admin(line, mention), AdminRequest)
            except DomainError as error:
                refused(error)

    fuzz(examples, ADMIN_LINES, check)


@pytest.mark.parametrize(
    "line",
    ["kudos @ana +²", "+¹ @ana thanks", "@ana thanks +³", "kudos @ana +٣ thanks for the help"],
)
def test_a_superscript_digit_is_a_bad_amount_not_a_crash(line: str) -> None:
    """Found by the fuzzer: "²".isdigit() holds but int("²") raises ValueError."""
    try:
        request = parse_chat(line, CONSOLE_MENTION)
    except DomainError as error:
        assert type(error).__name__ == "BadAmount"
    else:
        assert isinstance(request, Give) and request.amount == 3  # "٣" is a decimal digit


# -- the whole answer path ----------------------------------------------------------------


@dataclass
class Org:
    world: Harness
    people: dict[str, Person]
    keys: itertools.count[int]

    async def resolve(self, mention: str) -> list[Person]:
        name = mention.removeprefix("@").split("@")[0]
        if name not in self.people:
            raise UnknownPerson(mention)
        return [self.people[name]]

    def actor(self, line: str) -> Person:
        """Someone different from line to line (the admin, an employee, a manager)."""
        return list(self.people.values())[len(line) % len(self.people)]


async def organisation(uow: UnitOfWorkFactory) -> Org:
    world = Harness(uow)
    await world.policy(allowance=100_000, per_gift_cap=1_000, min_reason_length=3)
    await world.values("ownership", "teamwork")
    hana = await world.person(
        "hana", roles=frozenset({Role.EMPLOYEE, Role.HR_ADMIN}), department="People"
    )
    cara = await world.person("cara", department="Engineering")
    ana = await world.person("ana", manager=cara, department="Engineering")
    ben = await world.person("ben", manager=cara, department="Engineering")
    for item in (
        PutItem(slug="coffee", name="Coffee", price=10, kind="custom", new=True),
        PutItem(slug="lunch", name="Team lunch", price=50, kind="experience", new=True, stock=3),
        PutItem(slug="mug", name="Mug", price=20, kind="merchandise", new=True),
    ):
        preview = await world.bus.handle(
            ProposeChange(actor_id=hana.id, change=item, platform="test")
        )
        await world.bus.handle(
            Decide(key=preview.decision.key, outcome=Outcome.CONFIRM, person_id=hana.id)
        )
    await world.give(hana, ana, ben, amount=100, reason="a start for the shop")
    people = {p.handle or "": p for p in (hana, cara, ana, ben)}
    return Org(world, people, itertools.count())


def chat_check(org: Org, run: Callable[[Coroutine[Any, Any, T]], T]) -> Callable[[str], None]:
    chat = ChatCommands(org.world.bus, seal=lambda address: f"sealed:{len(address)}")

    async def answer(line: str) -> Card:
        try:
            request = parse_chat(line, CONSOLE_MENTION)
        except DomainError as error:
            return cards.error_card(error)
        return await chat.answer(
            org.actor(line),
            request,
            org.resolve,
            source="console",
            idempotency_key=f"fuzz:{next(org.keys)}",
        )

    def check(line: str) -> None:
        says_something(run(answer(line)), LANGUAGES[len(line) % len(LANGUAGES)])

    return check


def admin_check(
    org: Org, admin: ChatAdmin, run: Callable[[Coroutine[Any, Any, T]], T]
) -> Callable[[str], None]:
    async def answer(line: str) -> list[Card]:
        try:
            request = parse_admin(line, CONSOLE_MENTION)
        except DomainError as error:
            return [cards.error_card(error)]
        if isinstance(request, Confirm):
            return [cards.lines_card(text(MsgId.ADMIN_NOTHING_PENDING))]
        actor = org.people["hana" if len(line) % 4 else "ana"]
        answered = await admin.answer(actor, request, org.resolve, platform="console")
        shown = [answered.card]
        if answered.later is not None:
            shown.append((await answered.later()).card)
        decision = answered.card.decision
        if (
            decision is not None
            and not isinstance(request, PersonErase)  # the organisation must stay
            and next(org.keys) % 3 == 0  # apply a third of them
        ):
            with contextlib.suppress(DomainError):
                await org.world.bus.handle(
                    Decide(key=decision.key, outcome=Outcome.CONFIRM, person_id=actor.id)
                )
        return shown

    def check(line: str) -> None:
        for card in run(answer(line)):
            says_something(card)

    return check


class Loop:
    """One event loop for a whole hypothesis run (the stores live across examples)."""

    def __init__(self) -> None:
        self.runner = asyncio.Runner()

    def __call__(self, work: Coroutine[Any, Any, T]) -> T:
        return self.runner.run(work)

    def close(self) -> None:
        self.runner.close()


@budget(300)
def test_every_chat_line_gets_a_card_on_the_fakes(examples: int) -> None:
    """A fresh organisation every 500 lines: the fakes copy their whole state for each
    unit of work, which grows slow with thousands of gifts."""
    run = Loop()
    orgs: list[tuple[Org, Callable[[str], None]]] = []
    lines = itertools.count()

    def check(line: str) -> None:
        if next(lines) % 500 == 0:
            if orgs:
                run(snapshot(orgs[-1][0].world.uow)).check()
            org = run(organisation(FakeUnitOfWorkFactory()))
            orgs.append((org, chat_check(org, run)))
        orgs[-1][1](line)

    try:
        fuzz(examples, CHAT_LINES, check)
        run(snapshot(orgs[-1][0].world.uow)).check()
    finally:
        run.close()


def on_engine(kind: str, tmp_path: Path, test: Callable[[Org, Any, Loop], None]) -> None:
    """Run `test(org, engine, loop)` on a fresh migrated database of `kind`."""
    run = Loop()
    manager = migrated_engine(kind, tmp_path)
    try:
        engine = run(manager.__aenter__())
        try:
            org = run(organisation(SqlUnitOfWorkFactory(engine)))
            test(org, engine, run)
            run(snapshot(org.world.uow)).check()
        finally:
            run(manager.__aexit__(None, None, None))
    finally:
        run.close()


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
@budget(60)
def test_every_chat_line_gets_a_card_on_sql(kind: str, examples: int, tmp_path: Path) -> None:
    """The stores themselves see odd input here: huge ids, NUL, wildcards."""
    on_engine(kind, tmp_path, lambda org, _, run: fuzz(examples, CHAT_LINES, chat_check(org, run)))


@pytest.mark.parametrize("kind", ["sqlite", "pg"])
@budget(60)
def test_every_admin_line_gets_a_card(kind: str, examples: int, tmp_path: Path) -> None:
    def test(org: Org, engine: Any, run: Loop) -> None:
        admin = ChatAdmin(org.world.bus, engine, pictures=False)
        fuzz(examples, ADMIN_LINES, admin_check(org, admin, run))

    on_engine(kind, tmp_path, test)


@pytest.mark.parametrize("line", ["export balances 9999-12-31", "audit 0001-01-01"])
def test_a_date_at_the_end_of_the_calendar_is_a_usage_error(line: str) -> None:
    """Found by the fuzzer: `export balances 9999-12-31` overflowed adding a day."""
    with pytest.raises(DomainError) as refused:
        parse_admin(line, CONSOLE_MENTION)
    assert type(refused.value).__name__ == "AdminUsage"


async def test_two_tiers_cannot_start_at_the_same_points(world: Harness) -> None:
    """Found by the fuzzer: on Confirm the store's unique key raised IntegrityError (an
    apology in chat); now the preview refuses it, and so does a Confirm that comes later."""
    hana = await world.person("hana", roles=frozenset({Role.EMPLOYEE, Role.HR_ADMIN}))
    admin = ChatAdmin(world.bus, None, pictures=False)  # type: ignore[arg-type]

    async def tiers(line: str) -> Card:
        request = parse_admin(line, CONSOLE_MENTION)
        return (await admin.answer(hana, request, _nobody, platform="test")).card

    first = await tiers("tiers set Ruby 1234")
    second = await tiers("tiers set Opal 1234")  # proposed before Ruby applies
    assert first.decision is not None and second.decision is not None
    await world.bus.handle(
        Decide(key=first.decision.key, outcome=Outcome.CONFIRM, person_id=hana.id)
    )
    with pytest.raises(TierThresholdTaken):
        await world.bus.handle(
            Decide(key=second.decision.key, outcome=Outcome.CONFIRM, person_id=hana.id)
        )
    refused = await tiers("tiers set Jade 1234")
    assert refused.decision is None and refused.tone is cards.Tone.ERROR
    assert "Ruby already starts at 1,234 points" in Renderer("en")(refused.sections[0].lines[0])
    async with world.uow(readonly=True) as uow:
        names = {t.name for t in (await uow.config.load()).tiers}
    assert "Ruby" in names and not names & {"Opal", "Jade"}


async def _nobody(mention: str) -> list[Person]:
    raise UnknownPerson(mention)
