"""The giving rules of the core, one at a time, on the in-memory fakes.

Every refusal is checked twice: the specific typed error, and that nothing changed
(balances, allowance, recognitions, stats, daily giving, events sent to subscribers).
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime

import pytest

from core import ledger
from core.bus import MessageBus, default_handlers
from core.commands import (
    ConfigureOrganisation,
    GetHistory,
    GetLeaderboard,
    GiveKudos,
    RevokeKudos,
)
from core.errors import (
    AlreadyRevoked,
    AmountOutOfRange,
    BotReceiver,
    DailyLimitReached,
    GiverInactive,
    InactivePerson,
    InsufficientAllowance,
    InsufficientFunds,
    NoReceivers,
    ReasonTooShort,
    RecognitionNotFound,
    ResolvedHold,
    SelfKudos,
    UnknownPerson,
    UnknownValue,
    ValuesRequired,
)
from core.events import Event, KudosGiven, KudosRevoked, TierReached
from core.holds import place_hold, resolve_hold
from core.ledger import AccountKind, Hold, HoldStatus
from core.people import Person, Role
from core.periods import PeriodKind, Window
from core.policy import AllowanceRule, CompanyValue, RuleScope, Tier
from core.views import HistoryView, LeaderboardView, Ranked

from .fakes import FakeNotifier, FakeUnitOfWorkFactory, State
from .harness import Harness

# --------------------------------------------------------------------------- helpers


def _state(h: Harness) -> State:
    assert isinstance(h.uow, FakeUnitOfWorkFactory)
    return h.uow.store.state


@contextmanager
def nothing_changes(h: Harness) -> Iterator[None]:
    """The whole store (ledger, recognitions, stats, config …) and the sent events stay as is."""
    before, sent = copy.deepcopy(_state(h)), list(h.notifier.events)
    yield
    after = _state(h)
    assert after.accounts == before.accounts
    assert after.transfers == before.transfers
    assert after.recognitions == before.recognitions
    assert after.totals == before.totals
    assert after.daily == before.daily
    assert after.holds == before.holds
    assert after == before
    assert h.notifier.events == sent


async def people(h: Harness, *handles: str) -> list[Person]:
    return [await h.person(handle) for handle in handles]


async def earned(h: Harness, person: Person) -> int:
    return await h.account(AccountKind.EARNED, person.id)


async def allowance_left(h: Harness, person: Person) -> int:
    return (await h.balance(person)).allowance.left


async def put_rules(h: Harness, *rules: AllowanceRule) -> None:
    async with h.uow() as uow:
        for rule in rules:
            await uow.config.put_rule(rule)
        await uow.commit()


async def hold(h: Harness, person: Person, amount: int, key: str) -> Hold:
    async with h.uow() as uow:
        placed = await place_hold(
            uow, key=key, person_id=person.id, amount=amount, at=h.clock.now()
        )
        await uow.commit()
    return placed


async def resolve(h: Harness, placed: Hold, *, post: bool) -> Hold:
    async with h.uow() as uow:
        done = await resolve_hold(uow, placed.id, post=post, at=h.clock.now())
        await uow.commit()
    return done


async def spend(h: Harness, person: Person, amount: int, key: str) -> None:
    """Redeem `amount` of the person's earned points (hold, then post)."""
    await resolve(h, await hold(h, person, amount, key), post=True)


async def leaderboard(
    h: Harness, window: Window = Window.MONTH, value: str | None = None, limit: int = 10
) -> LeaderboardView:
    view: LeaderboardView = await h.bus.handle(
        GetLeaderboard(window=window, value=value, limit=limit)
    )
    return view


def standings(ranked: list[Ranked]) -> list[tuple[str, int, int]]:
    return [(r.person.handle, r.standing.points, r.standing.count) for r in ranked]


def tiers_reached(h: Harness) -> list[TierReached]:
    return [e for e in h.notifier.events if isinstance(e, TierReached)]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


# --------------------------------------------------------------------------- who may give to whom


async def test_no_self_kudos(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    with nothing_changes(fake), pytest.raises(SelfKudos):
        await fake.give(ana, ben, ana)


async def test_no_kudos_to_bots(fake: Harness) -> None:
    ana = await fake.person("ana")
    bot = await fake.person("deploybot", is_bot=True)
    with nothing_changes(fake), pytest.raises(BotReceiver) as refused:
        await fake.give(ana, bot)
    assert refused.value.name == "Deploybot"


async def test_inactive_receiver_is_refused_and_nobody_gets_points(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    gone = await fake.person("gone", active=False)
    with nothing_changes(fake), pytest.raises(InactivePerson) as refused:
        await fake.give(ana, ben, gone)
    assert refused.value.name == "Gone"


async def test_inactive_giver_is_refused(fake: Harness) -> None:
    ben = await fake.person("ben")
    gone = await fake.person("gone", active=False)
    with nothing_changes(fake), pytest.raises(GiverInactive):
        await fake.give(gone, ben)


async def test_unknown_receiver_id_is_refused(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    with nothing_changes(fake), pytest.raises(UnknownPerson) as refused:
        await fake.bus.handle(
            GiveKudos(
                giver_id=ana.id, receiver_ids=(ben.id, 999), amount=5, reason="thanks for the help"
            )
        )
    assert refused.value.reference == "999"


async def test_unknown_giver_id_is_refused(fake: Harness) -> None:
    ben = await fake.person("ben")
    with nothing_changes(fake), pytest.raises(UnknownPerson):
        await fake.bus.handle(
            GiveKudos(giver_id=999, receiver_ids=(ben.id,), amount=5, reason="thanks for the help")
        )


async def test_kudos_need_a_receiver(fake: Harness) -> None:
    ana = await fake.person("ana")
    with nothing_changes(fake), pytest.raises(NoReceivers):
        await fake.give(ana)


async def test_the_same_receiver_named_twice_counts_once(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    result = await fake.give(ana, ben, ben, amount=10)
    assert result.recognition.receiver_ids == (ben.id,)
    assert result.recognition.total == 10
    assert await earned(fake, ben) == 10
    assert await allowance_left(fake, ana) == 90


# --------------------------------------------------------------------------- amount


@pytest.mark.parametrize("amount", [0, -5, 101])
async def test_amount_outside_one_to_cap_is_refused(fake: Harness, amount: int) -> None:
    ana, ben = await people(fake, "ana", "ben")
    with nothing_changes(fake), pytest.raises(AmountOutOfRange) as refused:
        await fake.give(ana, ben, amount=amount)
    assert (refused.value.amount, refused.value.cap) == (amount, 100)


async def test_amount_equal_to_the_cap_is_allowed(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=100)
    assert await earned(fake, ben) == 100


async def test_a_lower_per_gift_cap_is_enforced(fake: Harness) -> None:
    await fake.policy(per_gift_cap=20)
    ana, ben = await people(fake, "ana", "ben")
    with nothing_changes(fake), pytest.raises(AmountOutOfRange):
        await fake.give(ana, ben, amount=21)
    await fake.give(ana, ben, amount=20)
    assert await earned(fake, ben) == 20


async def test_no_amount_gives_the_default_of_5(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    result = await fake.give(ana, ben, amount=None)
    assert result.recognition.amount == 5
    assert await earned(fake, ben) == 5


async def test_no_amount_gives_the_policy_default(fake: Harness) -> None:
    await fake.policy(default_amount=7)
    ana, ben, carl = await people(fake, "ana", "ben", "carl")
    result = await fake.give(ana, ben, carl, amount=None)
    assert result.recognition.amount == 7
    assert result.allowance.left == 100 - 14


# --------------------------------------------------------------------------- reason


async def test_reason_shorter_than_minimum_is_refused(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    with nothing_changes(fake), pytest.raises(ReasonTooShort) as refused:
        await fake.give(ana, ben, reason="thanks")
    assert refused.value.minimum == 10


async def test_reason_whitespace_is_collapsed_before_counting(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    with nothing_changes(fake), pytest.raises(ReasonTooShort):
        await fake.give(ana, ben, reason="  great     job \n ")  # 9 characters once collapsed
    result = await fake.give(ana, ben, reason="  great \t job!  ")  # exactly 10
    assert result.recognition.reason == "great job!"


async def test_minimum_reason_length_is_policy(fake: Harness) -> None:
    await fake.policy(min_reason_length=3)
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, reason="ty!")
    with pytest.raises(ReasonTooShort):
        await fake.give(ana, ben, reason="ty")


# --------------------------------------------------------------------------- values


async def test_unknown_value_is_refused(fake: Harness) -> None:
    await fake.values("ownership", "teamwork")
    ana, ben = await people(fake, "ana", "ben")
    with nothing_changes(fake), pytest.raises(UnknownValue) as refused:
        await fake.give(ana, ben, values=("#ownership", "#speed"))
    assert refused.value.value == "speed"
    assert set(refused.value.available) == {"ownership", "teamwork"}


async def test_values_required_mode_refuses_kudos_without_a_value(fake: Harness) -> None:
    await fake.policy(values_required=True)
    await fake.values("ownership")
    ana, ben = await people(fake, "ana", "ben")
    with nothing_changes(fake), pytest.raises(ValuesRequired) as refused:
        await fake.give(ana, ben)
    assert refused.value.available == ("ownership",)
    result = await fake.give(ana, ben, values=("ownership",))
    assert result.recognition.values == ("ownership",)


async def test_values_are_optional_by_default(fake: Harness) -> None:
    await fake.values("ownership")
    ana, ben = await people(fake, "ana", "ben")
    assert (await fake.give(ana, ben)).recognition.values == ()


@pytest.mark.parametrize(
    "spelling", ["#Customer-First", "customer first", "CUSTOMER_first", "#customer-first"]
)
async def test_value_spellings_slug_to_the_same_value(fake: Harness, spelling: str) -> None:
    await fake.values("customer-first")
    ana, ben = await people(fake, "ana", "ben")
    result = await fake.give(ana, ben, values=(spelling,))
    assert result.recognition.values == ("customer-first",)


async def test_two_spellings_of_one_value_count_once(fake: Harness) -> None:
    await fake.values("customer-first")
    ana, ben = await people(fake, "ana", "ben")
    result = await fake.give(ana, ben, values=("#Customer-First", "customer first"))
    assert result.recognition.values == ("customer-first",)


async def test_retired_value_is_refused(fake: Harness) -> None:
    await fake.values("ownership")
    await fake.bus.handle(
        ConfigureOrganisation(values=(CompanyValue(slug="legacy", name="Legacy", active=False),))
    )
    ana, ben = await people(fake, "ana", "ben")
    with nothing_changes(fake), pytest.raises(UnknownValue) as refused:
        await fake.give(ana, ben, values=("#legacy",))
    assert refused.value.available == ("ownership",)


# --------------------------------------------------------------------------- daily limit


async def test_daily_limit_refuses_what_goes_over_and_says_what_is_left(fake: Harness) -> None:
    await fake.policy(daily_limit=20)
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=15)
    with nothing_changes(fake), pytest.raises(DailyLimitReached) as refused:
        await fake.give(ana, ben, amount=10)
    assert (refused.value.limit, refused.value.left) == (20, 5)
    await fake.give(ana, ben, amount=5)
    assert await earned(fake, ben) == 20


async def test_daily_limit_counts_the_total_for_all_receivers(fake: Harness) -> None:
    await fake.policy(daily_limit=20)
    ana, ben, carl = await people(fake, "ana", "ben", "carl")
    with nothing_changes(fake), pytest.raises(DailyLimitReached) as refused:
        await fake.give(ana, ben, carl, amount=15)
    assert refused.value.left == 20


async def test_daily_limit_renews_at_the_givers_local_midnight(fake: Harness) -> None:
    await fake.policy(daily_limit=10)
    ana = await fake.person("ana", tz="America/Los_Angeles")
    ben = await fake.person("ben")
    fake.at(utc(2026, 11, 16, 7, 0))  # 15 Nov, 23:00 in Los Angeles
    await fake.give(ana, ben, amount=10)
    fake.at(utc(2026, 11, 16, 7, 59))  # still 15 Nov there
    with nothing_changes(fake), pytest.raises(DailyLimitReached):
        await fake.give(ana, ben, amount=1)
    fake.at(utc(2026, 11, 16, 8, 30))  # 16 Nov, 00:30 there; the same UTC day
    await fake.give(ana, ben, amount=10)
    assert await earned(fake, ben) == 20


async def test_daily_limit_zero_means_no_limit(fake: Harness) -> None:
    await fake.policy(daily_limit=0, allowance=1000)
    ana, ben = await people(fake, "ana", "ben")
    for _ in range(5):
        await fake.give(ana, ben, amount=100)
    assert await earned(fake, ben) == 500


# --------------------------------------------------------------------------- allowance covers all


async def test_allowance_must_cover_the_whole_gift(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=70)
    with nothing_changes(fake), pytest.raises(InsufficientAllowance) as refused:
        await fake.give(ana, ben, amount=40)
    assert (refused.value.left, refused.value.needed) == (30, 40)


async def test_multi_receiver_gift_is_all_or_nothing(fake: Harness) -> None:
    ana, ben, carl, dora = await people(fake, "ana", "ben", "carl", "dora")
    with nothing_changes(fake), pytest.raises(InsufficientAllowance) as refused:
        await fake.give(ana, ben, carl, dora, amount=40)  # 120 of 100
    assert (refused.value.left, refused.value.needed) == (100, 120)
    for person in (ben, carl, dora):
        assert await earned(fake, person) == 0
    assert await allowance_left(fake, ana) == 100
    result = await fake.give(ana, ben, carl, dora, amount=33)  # 99 of 100
    assert result.allowance.left == 1
    assert [await earned(fake, p) for p in (ben, carl, dora)] == [33, 33, 33]


# --------------------------------------------------------------------------- idempotency


async def test_same_idempotency_key_returns_the_first_result_and_changes_nothing(
    fake: Harness,
) -> None:
    ana, ben, carl = await people(fake, "ana", "ben", "carl")
    first = await fake.give(ana, ben, amount=10, key="slack:Ev123")
    with nothing_changes(fake):
        again = await fake.give(ana, carl, amount=50, key="slack:Ev123")
    assert again.replayed and not first.replayed
    assert again.recognition == first.recognition
    assert again.receivers == (ben,)
    assert again.allowance.left == 90
    assert await earned(fake, carl) == 0


async def test_a_refused_request_does_not_use_up_its_key(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    with pytest.raises(ReasonTooShort):
        await fake.give(ana, ben, reason="thx", key="k1")
    result = await fake.give(ana, ben, key="k1")
    assert not result.replayed
    assert await earned(fake, ben) == 5


async def test_without_a_key_every_request_is_new(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    one, two = await fake.give(ana, ben), await fake.give(ana, ben)
    assert one.recognition.key != two.recognition.key
    assert await earned(fake, ben) == 10


# --------------------------------------------------------------------------- revoking


async def test_revoke_reverses_points_allowance_and_leaderboard(fake: Harness) -> None:
    ana, ben, carl = await people(fake, "ana", "ben", "carl")
    await fake.give(ana, ben, carl, amount=10, key="k1")
    await fake.give(ana, ben, amount=3, key="k2")
    result = await fake.revoke("k1")
    assert result.refunded_to_allowance == 20
    assert result.recognition.revoked_at == fake.clock.now()
    assert await earned(fake, ben) == 3
    assert await earned(fake, carl) == 0
    assert await allowance_left(fake, ana) == 97
    assert (await fake.balance(ben)).lifetime == 3
    board = await leaderboard(fake)
    assert standings(board.receivers) == [("ben", 3, 1)]
    assert standings(board.givers) == [("ana", 3, 1)]


async def test_revoke_happens_exactly_once(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=10, key="k1")
    await fake.revoke("k1")
    with nothing_changes(fake), pytest.raises(AlreadyRevoked):
        await fake.revoke("k1")
    assert await allowance_left(fake, ana) == 100
    assert await earned(fake, ben) == 0


async def test_revoking_an_unknown_recognition_is_refused(fake: Harness) -> None:
    await fake.person("ana")
    with nothing_changes(fake), pytest.raises(RecognitionNotFound):
        await fake.revoke("no-such-key")


async def test_revoke_gives_back_the_daily_limit(fake: Harness) -> None:
    await fake.policy(daily_limit=10)
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=10, key="k1")
    await fake.revoke("k1")
    await fake.give(ana, ben, amount=10, key="k2")
    assert await earned(fake, ben) == 10


async def test_revoke_emits_kudos_revoked_after_commit(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, key="k1")
    await fake.bus.handle(RevokeKudos(recognition_key="k1", reason="posted by mistake"))
    (revoked,) = fake.notifier.of(KudosRevoked)
    assert isinstance(revoked, KudosRevoked)
    assert (revoked.reason, revoked.recognition.key) == ("posted by mistake", "k1")
    assert revoked.recognition.revoked_at == fake.clock.now()


async def test_revoking_a_gift_of_a_past_period_returns_points_to_the_organisation(
    fake: Harness,
) -> None:
    ana, ben = await people(fake, "ana", "ben")
    fake.at(utc(2026, 11, 20, 12))
    await fake.give(ana, ben, amount=10, key="november")
    fake.at(utc(2026, 12, 2, 12))
    await fake.give(ana, ben, amount=5, key="december")  # opens December's allowance
    issuance = await fake.account(AccountKind.ISSUANCE)
    result = await fake.revoke("november")
    assert result.refunded_to_allowance == 0
    assert await allowance_left(fake, ana) == 95
    assert await earned(fake, ben) == 5
    assert await fake.account(AccountKind.ISSUANCE) == issuance + 10


@pytest.mark.parametrize("rollover", [False, True])
async def test_revoking_a_past_periods_gift_before_the_giver_gives_again(
    fake: Harness, rollover: bool
) -> None:
    """The giver's current period is the calendar's, not the last one the ledger opened.

    November's gift revoked in December goes to the organisation even when the giver has
    not yet opened December's allowance (by giving) in the ledger.
    """
    await fake.policy(rollover=rollover)
    ana, ben = await people(fake, "ana", "ben")
    fake.at(utc(2026, 11, 20, 12))
    await fake.give(ana, ben, amount=10, key="november")  # November: 90 left
    fake.at(utc(2026, 12, 2, 12))
    expected_left = 190 if rollover else 100
    assert await allowance_left(fake, ana) == expected_left
    issuance = await fake.account(AccountKind.ISSUANCE)
    result = await fake.revoke("november")
    assert await earned(fake, ben) == 0
    assert result.refunded_to_allowance == 0
    assert await fake.account(AccountKind.ISSUANCE) == issuance + 10
    assert await allowance_left(fake, ana) == expected_left  # November's gift does not come back


async def test_revoke_takes_only_what_the_receiver_still_has(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=10, key="k1")
    await spend(fake, ben, 7, key="mug")
    assert await earned(fake, ben) == 3
    await fake.revoke("k1")
    assert await earned(fake, ben) == 0
    assert await fake.account(AccountKind.HELD, ben.id) == 0
    assert await fake.account(AccountKind.REDEEMED) == 7  # the mug stays bought
    assert await allowance_left(fake, ana) == 100  # the organisation writes off the 7
    assert all(
        a.balance >= 0 for ref, a in _state(fake).accounts.items() if not ref.may_go_negative
    )


async def test_revoke_of_a_spent_past_gift_never_goes_negative(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    fake.at(utc(2026, 11, 20, 12))
    await fake.give(ana, ben, amount=10, key="november")
    await spend(fake, ben, 10, key="mug")
    fake.at(utc(2026, 12, 2, 12))
    await fake.give(ana, ben, amount=5, key="december")
    await spend(fake, ben, 2, key="pen")
    await fake.revoke("november")
    assert await earned(fake, ben) == 0
    assert await allowance_left(fake, ana) == 95
    assert all(
        a.balance >= 0 for ref, a in _state(fake).accounts.items() if not ref.may_go_negative
    )


# --------------------------------------------------------------------------- allowance


@pytest.mark.parametrize(
    ("rules", "expected"),
    [
        ([], 100),
        ([("role", "manager", 200)], 200),
        ([("role", "manager", 200), ("role", "approver", 150)], 200),  # the largest role rule
        ([("role", "manager", 200), ("department", "ENGINEERING", 150)], 150),
        (
            [("role", "manager", 200), ("department", "engineering", 150), ("person", "me", 120)],
            120,
        ),
        ([("department", "sales", 150), ("person", "someone-else", 120)], 100),
    ],
)
async def test_most_specific_allowance_rule_wins(
    fake: Harness, rules: list[tuple[str, str, int]], expected: int
) -> None:
    """Person beats department beats role; rules for others do not apply."""
    ana = await fake.person(
        "ana",
        department="Engineering",
        roles=frozenset({Role.EMPLOYEE, Role.MANAGER, Role.APPROVER}),
    )
    ben = await fake.person("ben")
    subjects = {"me": str(ana.id), "someone-else": str(ben.id)}
    await put_rules(
        fake,
        *(
            AllowanceRule(
                scope=RuleScope(scope), amount=amount, subject=subjects.get(subject, subject)
            )
            for scope, subject, amount in rules
        ),
    )
    view = await fake.balance(ana)
    assert (view.allowance.total, view.allowance.left) == (expected, expected)
    result = await fake.give(ana, ben, amount=10)
    assert result.allowance.left == expected - 10


async def test_an_allowance_rule_may_set_its_own_period(fake: Harness) -> None:
    ana = await fake.person("ana", department="Sales")
    await put_rules(
        fake,
        AllowanceRule(
            scope=RuleScope.DEPARTMENT, subject="Sales", amount=30, period=PeriodKind.WEEK
        ),
    )
    state = (await fake.balance(ana)).allowance
    assert (state.total, state.period.kind, state.refreshes_on) == (
        30,
        PeriodKind.WEEK,
        date(2026, 11, 23),
    )


async def test_manager_bonus_per_active_direct_report(fake: Harness) -> None:
    await fake.policy(manager_bonus_per_report=10)
    boss = await fake.person("boss")
    for handle in ("r1", "r2"):
        await fake.person(handle, manager=boss)
    await fake.person("left", manager=boss, active=False)
    assert (await fake.balance(boss)).allowance.total == 120
    other = await fake.person("other")
    assert (await fake.balance(other)).allowance.total == 100
    result = await fake.give(boss, other, amount=100)
    assert result.allowance.left == 20


async def test_manager_bonus_adds_to_a_rule(fake: Harness) -> None:
    await fake.policy(manager_bonus_per_report=5)
    boss = await fake.person("boss", roles=frozenset({Role.MANAGER}))
    await fake.person("r1", manager=boss)
    await put_rules(fake, AllowanceRule(scope=RuleScope.ROLE, subject="manager", amount=200))
    assert (await fake.balance(boss)).allowance.total == 205


async def test_unused_allowance_lapses_at_the_next_period(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=10)  # 16 Nov: 90 left
    issuance = await fake.account(AccountKind.ISSUANCE)
    fake.at(utc(2026, 12, 1, 0, 0))
    assert (await fake.balance(ana)).allowance.left == 100
    result = await fake.give(ana, ben, amount=5)
    assert result.allowance.left == 95
    assert result.allowance.period.start == date(2026, 12, 1)
    # 90 lapsed back, 100 granted afresh
    assert await fake.account(AccountKind.ISSUANCE) == issuance + 90 - 100


async def test_rollover_keeps_unused_allowance(fake: Harness) -> None:
    await fake.policy(rollover=True)
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=10)
    fake.at(utc(2026, 12, 1, 0, 0))
    assert (await fake.balance(ana)).allowance.left == 190
    result = await fake.give(ana, ben, amount=5)
    assert result.allowance.left == 185


async def test_weekly_allowance_renews_on_monday(fake: Harness) -> None:
    await fake.policy(period=PeriodKind.WEEK, allowance=30)
    ana, ben = await people(fake, "ana", "ben")
    result = await fake.give(ana, ben, amount=10)  # Monday 16 Nov
    assert result.allowance.period.start == date(2026, 11, 16)
    assert result.allowance.refreshes_on == date(2026, 11, 23)
    fake.at(utc(2026, 11, 22, 23, 59))
    assert await allowance_left(fake, ana) == 20
    fake.at(utc(2026, 11, 23, 0, 0))
    assert await allowance_left(fake, ana) == 30
    assert (await fake.give(ana, ben, amount=30)).allowance.left == 0


async def test_quarterly_allowance_renews_each_quarter(fake: Harness) -> None:
    await fake.policy(period=PeriodKind.QUARTER, allowance=300)
    ana, ben = await people(fake, "ana", "ben")
    result = await fake.give(ana, ben, amount=100)
    assert result.allowance.period.start == date(2026, 10, 1)
    assert result.allowance.refreshes_on == date(2027, 1, 1)
    fake.at(utc(2026, 12, 31, 23, 0))
    assert (await fake.give(ana, ben, amount=100)).allowance.left == 100
    fake.at(utc(2027, 1, 1, 0, 0))
    assert (await fake.give(ana, ben, amount=100)).allowance.left == 200


async def test_allowance_period_follows_the_givers_time_zone(fake: Harness) -> None:
    ana = await fake.person("ana", tz="Pacific/Auckland")
    ben = await fake.person("ben")
    fake.at(utc(2026, 11, 30, 10, 0))  # 30 Nov, 23:00 in Auckland
    assert (await fake.give(ana, ben, amount=10)).allowance.left == 90
    fake.at(utc(2026, 11, 30, 11, 30))  # 1 Dec there, still November in UTC
    result = await fake.give(ana, ben, amount=10)
    assert result.allowance.period.start == date(2026, 12, 1)
    assert result.allowance.left == 90


# --------------------------------------------------------------------------- tiers


async def test_crossing_a_tier_threshold_emits_tier_reached_once(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=30)
    assert tiers_reached(fake) == []
    await fake.give(ana, ben, amount=30, key="crossing")
    await fake.give(ana, ben, amount=30, key="crossing")  # a replay announces nothing
    await fake.give(ana, ben, amount=30)
    assert tiers_reached(fake) == [
        TierReached(person_id=ben.id, tier="Bronze", badge="🥉", lifetime=60)
    ]
    view = await fake.balance(ben)
    assert (view.lifetime, view.tier and view.tier.name) == (90, "Bronze")
    assert view.next_tier is not None and view.next_tier.name == "Silver"


async def test_staying_within_a_tier_emits_nothing(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=60)
    before = list(tiers_reached(fake))
    await fake.give(ana, ben, amount=30)
    assert tiers_reached(fake) == before


async def test_every_receiver_who_crosses_gets_their_own_event(fake: Harness) -> None:
    ana, ben, carl = await people(fake, "ana", "ben", "carl")
    await fake.give(ana, carl, amount=10)
    await fake.give(ana, ben, carl, amount=40)  # ben: 40, carl: 50
    assert [(e.person_id, e.tier) for e in tiers_reached(fake)] == [(carl.id, "Bronze")]


async def test_jumping_several_tiers_announces_the_highest(fake: Harness) -> None:
    await fake.policy(per_gift_cap=1000, allowance=1000)
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=300)
    assert [e.tier for e in tiers_reached(fake)] == ["Silver"]


async def test_tiers_are_data(fake: Harness) -> None:
    await fake.bus.handle(
        ConfigureOrganisation(tiers=(Tier(name="Rising Star", threshold=20, badge="🌟"),))
    )
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=25)
    assert tiers_reached(fake) == [
        TierReached(person_id=ben.id, tier="Rising Star", badge="🌟", lifetime=25)
    ]
    view = await fake.balance(ben)
    assert view.tier is not None and view.tier.name == "Rising Star"
    assert view.next_tier is not None and view.next_tier.name == "Bronze"


# --------------------------------------------------------------------------- leaderboard, history


async def test_leaderboard_windows_count_the_current_calendar_period(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    for when, amount in [
        (utc(2025, 6, 10, 12), 1),  # all time only
        (utc(2026, 1, 10, 12), 2),  # this year
        (utc(2026, 10, 5, 12), 4),  # this quarter
        (utc(2026, 11, 2, 12), 8),  # this month
        (utc(2026, 11, 16, 12), 16),  # this week (Monday)
    ]:
        fake.at(when)
        await fake.give(ana, ben, amount=amount)
    fake.at(utc(2026, 11, 18, 12))
    expected = {
        Window.WEEK: (16, 1),
        Window.MONTH: (24, 2),
        Window.QUARTER: (28, 3),
        Window.YEAR: (30, 4),
        Window.ALL: (31, 5),
    }
    for window, (total, count) in expected.items():
        board = await leaderboard(fake, window)
        assert standings(board.receivers) == [("ben", total, count)], window
        assert standings(board.givers) == [("ana", total, count)], window
    assert (await leaderboard(fake, Window.ALL)).period is None
    quarter = (await leaderboard(fake, Window.QUARTER)).period
    assert quarter is not None and (quarter.start, quarter.end) == (
        date(2026, 10, 1),
        date(2027, 1, 1),
    )


async def test_leaderboard_ranks_receivers_and_givers_by_points(fake: Harness) -> None:
    ana, ben, carl, dora = await people(fake, "ana", "ben", "carl", "dora")
    await fake.give(ana, ben, amount=10)
    await fake.give(ana, carl, amount=20)
    await fake.give(ana, dora, amount=5)
    await fake.give(ben, carl, amount=5)
    await fake.give(dora, carl, ben, amount=1)
    board = await leaderboard(fake)
    assert standings(board.receivers) == [("carl", 26, 3), ("ben", 11, 2), ("dora", 5, 1)]
    assert standings(board.givers) == [("ana", 35, 3), ("ben", 5, 1), ("dora", 2, 1)]
    top = await leaderboard(fake, limit=2)
    assert [r.person.handle for r in top.receivers] == ["carl", "ben"]


async def test_leaderboard_by_value(fake: Harness) -> None:
    await fake.values("teamwork", "ownership")
    ana, ben, carl = await people(fake, "ana", "ben", "carl")
    await fake.give(ana, ben, amount=10, values=("#teamwork",))
    await fake.give(ana, carl, amount=20)
    await fake.give(ben, carl, amount=5, values=("teamwork", "ownership"))
    board = await leaderboard(fake, value="#TeamWork")
    assert board.value is not None and board.value.slug == "teamwork"
    assert standings(board.receivers) == [("ben", 10, 1), ("carl", 5, 1)]
    assert standings(board.givers) == [("ana", 10, 1), ("ben", 5, 1)]
    board = await leaderboard(fake, Window.ALL, value="ownership")
    assert standings(board.receivers) == [("carl", 5, 1)]


async def test_leaderboard_of_an_unknown_value_is_refused(fake: Harness) -> None:
    await fake.values("teamwork")
    with pytest.raises(UnknownValue):
        await leaderboard(fake, value="speed")


async def test_leaderboard_of_a_retired_value_keeps_its_history(fake: Harness) -> None:
    await fake.values("legacy")
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=10, values=("legacy",))
    await fake.bus.handle(
        ConfigureOrganisation(values=(CompanyValue(slug="legacy", name="Legacy", active=False),))
    )
    board = await leaderboard(fake, value="legacy")
    assert standings(board.receivers) == [("ben", 10, 1)]


async def test_history_shows_given_and_received_newest_first(fake: Harness) -> None:
    ana, ben, carl = await people(fake, "ana", "ben", "carl")
    for key, giver, receiver in [
        ("1", ana, ben),
        ("2", ben, ana),
        ("3", carl, ben),
        ("4", ana, carl),
    ]:
        await fake.give(giver, receiver, key=key)
        fake.clock.advance(minutes=5)

    async def history(person: Person, limit: int = 10) -> list[str]:
        view: HistoryView = await fake.bus.handle(GetHistory(person_id=person.id, limit=limit))
        assert {i for r in view.items for i in (r.giver_id, *r.receiver_ids)} <= set(view.people)
        return [r.key for r in view.items]

    assert await history(ana) == ["4", "2", "1"]
    assert await history(ben) == ["3", "2", "1"]
    assert await history(ana, limit=2) == ["4", "2"]


# --------------------------------------------------------------------------- holds


async def test_hold_then_post_spends_the_points(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=20)
    placed = await hold(fake, ben, 15, key="r1")
    assert placed.status is HoldStatus.PENDING
    assert (await earned(fake, ben), await fake.account(AccountKind.HELD, ben.id)) == (5, 15)
    posted = await resolve(fake, placed, post=True)
    assert posted.status is HoldStatus.POSTED and posted.resolved_at == fake.clock.now()
    assert await fake.account(AccountKind.HELD, ben.id) == 0
    assert await fake.account(AccountKind.REDEEMED) == 15
    assert await earned(fake, ben) == 5


async def test_hold_then_void_refunds_exactly(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=20)
    voided = await resolve(fake, await hold(fake, ben, 15, key="r1"), post=False)
    assert voided.status is HoldStatus.VOIDED
    assert await earned(fake, ben) == 20
    assert await fake.account(AccountKind.HELD, ben.id) == 0
    assert await fake.account(AccountKind.REDEEMED) == 0


@pytest.mark.parametrize(
    ("first", "second"), [(True, True), (True, False), (False, True), (False, False)]
)
async def test_a_hold_resolves_only_once(fake: Harness, first: bool, second: bool) -> None:
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=20)
    placed = await hold(fake, ben, 15, key="r1")
    await resolve(fake, placed, post=first)
    with nothing_changes(fake), pytest.raises(ResolvedHold):
        await resolve(fake, placed, post=second)


async def test_a_hold_larger_than_the_earned_balance_is_refused(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=20)
    with nothing_changes(fake), pytest.raises(InsufficientFunds) as refused:
        await hold(fake, ben, 21, key="r1")
    assert refused.value.account == ledger.earned(ben.id)


async def test_replaying_a_hold_key_returns_the_first_hold(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=20)
    first = await hold(fake, ben, 15, key="r1")
    with nothing_changes(fake):
        again = await hold(fake, ben, 3, key="r1")
    assert again == first
    assert await earned(fake, ben) == 5


# --------------------------------------------------------------------------- events after commit


async def test_a_refused_command_dispatches_nothing(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    await fake.give(ana, ben, amount=60)
    assert len(fake.notifier.of(KudosGiven)) == 1
    sent = list(fake.notifier.events)
    with pytest.raises(InsufficientAllowance):
        await fake.give(ana, ben, amount=60)
    assert fake.notifier.events == sent


async def test_subscribers_see_the_committed_state(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    seen: list[int] = []

    async def reader(event: Event) -> None:  # would deadlock on the store lock before commit
        async with fake.uow(readonly=True) as uow:
            seen.append(await uow.ledger.balance(ledger.earned(ben.id)))

    fake.bus.subscribe(KudosGiven, reader)
    await asyncio.wait_for(fake.give(ana, ben, amount=10), timeout=2)
    assert seen == [10]


async def test_a_failing_subscriber_does_not_undo_the_command(fake: Harness) -> None:
    ana, ben = await people(fake, "ana", "ben")
    recorder = FakeNotifier()

    async def boom(event: Event) -> None:
        raise RuntimeError("chat platform down")

    bus = MessageBus(
        uow_factory=fake.uow,
        handlers=default_handlers(fake.clock),
        subscribers={KudosGiven: [boom, recorder]},
    )
    result = await bus.handle(
        GiveKudos(
            giver_id=ana.id,
            receiver_ids=(ben.id,),
            amount=10,
            reason="thanks for the help",
            idempotency_key="k1",
        )
    )
    assert not result.replayed
    assert await earned(fake, ben) == 10
    assert len(recorder.of(KudosGiven)) == 1  # later subscribers still hear about it
    assert (await fake.give(ana, ben, amount=10, key="k1")).replayed
