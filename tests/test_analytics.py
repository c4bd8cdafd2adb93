"""Analytics and fairness insights, checked against a seeded organisation whose answers
were worked out by hand, on the fakes, SQLite and PostgreSQL; who may see what; the cards
in every language; and the charts.

The organisation (ids in this order), as of Wednesday 2026-11-18 12:00 UTC:

    Support      hana (HR admin), ivy and jo (report to hana)
    Engineering  eve (reports to hana), ana and ben (report to eve), cai (reports to ben)
    Sales        sam, dan and dee (report to sam), leo (reported to sam; left in October)

Every gift is at 12:00 UTC unless said otherwise:

    Sep 30       hana -> eve 15
    Oct 1, 8, 15 dan -> dee 5, dee -> sam 5, sam -> dan 5       (a closed triad)
    Oct 20       hana -> leo 20; leo leaves on Oct 21, keeping his points
    Nov 2, 3, 4  ana -> ben 10, ben -> ana 10                    (a closed pair)
                 values: Nov 2 both #teamwork, Nov 4 ana's #ownership
    Nov 9        eve -> cai 20 #teamwork
    Nov 10       ivy -> jo and dee, 10 each, #teamwork #ownership
    Nov 11       cai -> jo 30, revoked the same day
    Nov 16       jo -> ana 5 #teamwork
    Nov 17       eve -> ivy 10 #ownership

Redemptions: ana's mug (10) asked Nov 5 09:00, approved by eve at 15:00 (6 h); ben's
donation (5) Nov 6, approved automatically; dee's mug asked Nov 11 08:00, approved by sam
at 10:00 (2 h); jo's mug asked Nov 12 10:00, declined by hana Nov 13 16:00 (30 h); cai's
mug asked Nov 17 13:00, still pending.
"""

from __future__ import annotations

import asyncio
import io
import random
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image

from adapters.charts import MAX_BYTES, departments_chart, network_chart, render, trend_chart
from adapters.chat.analytics_cards import insights_card, stats_card
from adapters.chat.cards import Card
from adapters.i18n import Renderer
from core.analytics import (
    Concentration,
    DepartmentRow,
    Flow,
    InsightsView,
    LeadTimes,
    QuietPerson,
    RedemptionFigures,
    ScopeKind,
    StatsView,
    ValueCount,
    WeekPoint,
)
from core.commands import (
    DeactivatePerson,
    Decide,
    GetInsights,
    GetStats,
    PutCatalogItem,
    Redeem,
)
from core.decisions import Outcome
from core.errors import DepartmentNotYours, NoApprover, NotEnoughPoints, UnknownDepartment
from core.messages import LANGUAGES, Text
from core.people import Person, Role
from core.periods import PeriodKind
from core.rewards import CatalogItem, ItemKind

from .fakes import FakeUnitOfWorkFactory
from .harness import Harness

NOW = datetime(2026, 11, 18, 12, tzinfo=UTC)
MUG = CatalogItem(slug="mug", name="Mug", kind=ItemKind.MERCHANDISE, price=10)
DONATION = CatalogItem(
    slug="donation", name="Donation", kind=ItemKind.CHARITY, price=5, approval_needed=False
)
ENG, SALES, SUPPORT = "Engineering", "Sales", "Support"


def at(month: int, day: int, hour: int = 12) -> datetime:
    return datetime(2026, month, day, hour, tzinfo=UTC)


@dataclass
class Org:
    world: Harness
    people: dict[str, Person]

    def __getitem__(self, handle: str) -> Person:
        return self.people[handle]

    async def stats(
        self, viewer: str, window: PeriodKind = PeriodKind.MONTH, department: str | None = None
    ) -> StatsView:
        query = GetStats(viewer_id=self[viewer].id, window=window, department=department)
        view: StatsView = await self.world.bus.handle(query)
        return view

    async def insights(self, viewer: str) -> InsightsView:
        view: InsightsView = await self.world.bus.handle(GetInsights(viewer_id=self[viewer].id))
        return view


async def _people(world: Harness) -> dict[str, Person]:
    found: dict[str, Person] = {}

    async def add(handle: str, department: str, manager: str | None = None) -> None:
        boss = found[manager] if manager else None
        found[handle] = await world.person(handle, department=department, manager=boss)

    found["hana"] = await world.person(
        "hana", department=SUPPORT, roles=frozenset({Role.EMPLOYEE, Role.HR_ADMIN})
    )
    await add("ivy", SUPPORT, "hana")
    await add("jo", SUPPORT, "hana")
    await add("eve", ENG, "hana")
    await add("ana", ENG, "eve")
    await add("ben", ENG, "eve")
    await add("cai", ENG, "ben")
    await add("sam", SALES)
    await add("dan", SALES, "sam")
    await add("dee", SALES, "sam")
    await add("leo", SALES, "sam")
    return found


async def seed(world: Harness) -> Org:
    world.at(at(9, 1))
    await world.policy(min_reason_length=1)
    await world.values("teamwork", "ownership")
    for item in (MUG, DONATION):
        await world.bus.handle(PutCatalogItem(item=item))
    org = Org(world, await _people(world))

    async def give(
        when: datetime, giver: str, *to: str, amount: int, values: tuple[str, ...] = ()
    ) -> None:
        world.at(when)
        await world.give(org[giver], *(org[r] for r in to), amount=amount, values=values)

    async def redeem(when: datetime, who: str, item: str) -> int:
        world.at(when)
        result = await world.bus.handle(Redeem(person_id=org[who].id, item=item))
        return int(result.redemption.id)

    async def decide(when: datetime, redemption_id: int, who: str, outcome: Outcome) -> None:
        world.at(when)
        key = f"redemption:{redemption_id}"
        await world.bus.handle(Decide(key=key, outcome=outcome, person_id=org[who].id))

    await give(at(9, 30), "hana", "eve", amount=15)
    for day in (1, 8, 15):
        for giver, receiver in (("dan", "dee"), ("dee", "sam"), ("sam", "dan")):
            await give(at(10, day), giver, receiver, amount=5)
    await give(at(10, 20), "hana", "leo", amount=20)
    world.at(at(10, 21))
    await world.bus.handle(DeactivatePerson(person_id=org["leo"].id))
    for day, ana_values, ben_values in (
        (2, ("teamwork",), ("teamwork",)),
        (3, (), ()),
        (4, ("ownership",), ()),
    ):
        await give(at(11, day), "ana", "ben", amount=10, values=ana_values)
        await give(at(11, day), "ben", "ana", amount=10, values=ben_values)
    mug = await redeem(at(11, 5, 9), "ana", "mug")
    await decide(at(11, 5, 15), mug, "eve", Outcome.APPROVE)
    await redeem(at(11, 6), "ben", "donation")
    await give(at(11, 9), "eve", "cai", amount=20, values=("teamwork",))
    await give(at(11, 10), "ivy", "jo", "dee", amount=10, values=("teamwork", "ownership"))
    mug = await redeem(at(11, 11, 8), "dee", "mug")
    await decide(at(11, 11, 10), mug, "sam", Outcome.APPROVE)
    world.at(at(11, 11))
    await world.give(org["cai"], org["jo"], amount=30, key="oops")
    world.at(at(11, 11, 18))
    await world.revoke("oops")
    mug = await redeem(at(11, 12, 10), "jo", "mug")
    await decide(at(11, 13, 16), mug, "hana", Outcome.DECLINE)
    await give(at(11, 16), "jo", "ana", amount=5, values=("teamwork",))
    await give(at(11, 17), "eve", "ivy", amount=10, values=("ownership",))
    await redeem(at(11, 17, 13), "cai", "mug")
    world.at(NOW)
    return org


@pytest.fixture
async def org(world: Harness) -> Org:
    return await seed(world)


def weeks(*points: tuple[int, int]) -> list[WeekPoint]:
    """The last twelve weeks, the oldest (Monday Aug 31) first."""
    first = date(2026, 8, 31)
    return [
        WeekPoint(start=first + timedelta(weeks=i), kudos=k, points=p)
        for i, (k, p) in enumerate(points)
    ]


QUIET = (0, 0)


# --------------------------------------------------------------------------- stats


async def test_an_hr_admin_sees_the_months_figures_for_everyone(org: Org) -> None:
    view = await org.stats("hana")
    assert view.scope.kind is ScopeKind.EVERYONE
    assert (view.period.start, view.period.end) == (date(2026, 11, 1), date(2026, 12, 1))
    assert view.departments == [
        DepartmentRow(department=ENG, people=4, givers=3, receivers=3, kudos=8, points=85),
        DepartmentRow(department=SUPPORT, people=3, givers=2, receivers=2, kudos=2, points=20),
        DepartmentRow(department=SALES, people=3, givers=0, receivers=1, kudos=1, points=10),
    ]
    assert (view.people_in_scope, view.givers, view.receivers) == (10, 5, 6)
    assert (view.kudos, view.points) == (11, 115)  # the revoked gift does not count
    assert (view.participation_give, view.participation_receive) == (0.5, 0.6)
    assert view.top_values == [ValueCount("teamwork", 6), ValueCount("ownership", 4)]
    # Leo left with 20 points the organisation still owes; cai's pending mug is held.
    assert view.redemptions == RedemptionFigures(
        holders=9, redeemers=3, points_redeemed=25, liability=170
    )
    assert view.redemptions.rate == pytest.approx(1 / 3)
    # 2 h, 6 h and 30 h; ben's automatic approval waited for nobody.
    assert view.lead_times == LeadTimes(decided=3, median_hours=6.0, p90_hours=30.0)
    assert view.trend == weeks(
        QUIET,
        QUIET,
        QUIET,
        QUIET,
        (4, 30),
        (3, 15),
        (3, 15),
        QUIET,
        QUIET,
        (6, 60),
        (3, 40),
        (2, 15),
    )


async def test_the_window_is_the_current_week_or_quarter(org: Org) -> None:
    week = await org.stats("hana", PeriodKind.WEEK)
    assert (week.period.start, week.period.end) == (date(2026, 11, 16), date(2026, 11, 23))
    assert [(d.department, d.givers, d.receivers, d.points) for d in week.departments] == [
        (SUPPORT, 1, 1, 10),
        (ENG, 1, 1, 5),
        (SALES, 0, 0, 0),
    ]
    assert week.lead_times == LeadTimes(decided=0, median_hours=None, p90_hours=None)
    assert week.redemptions == RedemptionFigures(
        holders=9, redeemers=0, points_redeemed=0, liability=170
    )
    quarter = await org.stats("hana", PeriodKind.QUARTER)
    assert quarter.period.start == date(2026, 10, 1)
    # October's triad (9 kudos) joins November; Leo's gift left with him (Hana still gave
    # it), September 30 is out.
    assert (quarter.kudos, quarter.points, quarter.givers) == (20, 160, 9)


async def test_a_manager_sees_their_reports_direct_and_indirect(org: Org) -> None:
    view = await org.stats("eve")
    assert view.scope.kind is ScopeKind.REPORTS
    assert view.departments == [
        DepartmentRow(department=ENG, people=3, givers=2, receivers=3, kudos=8, points=85)
    ]
    assert view.top_values == [ValueCount("teamwork", 4), ValueCount("ownership", 1)]
    assert view.redemptions == RedemptionFigures(
        holders=3, redeemers=2, points_redeemed=15, liability=70
    )
    assert view.lead_times == LeadTimes(decided=1, median_hours=6.0, p90_hours=6.0)
    assert sum(w.kudos for w in view.trend) == 8


async def test_anyone_else_sees_only_themselves(org: Org) -> None:
    view = await org.stats("jo")
    assert view.scope.kind is ScopeKind.SELF
    assert view.departments == [
        DepartmentRow(department=SUPPORT, people=1, givers=1, receivers=1, kudos=1, points=10)
    ]
    assert view.redemptions == RedemptionFigures(
        holders=1, redeemers=0, points_redeemed=0, liability=10
    )
    assert view.lead_times == LeadTimes(decided=1, median_hours=30.0, p90_hours=30.0)
    mine = await org.insights("jo")
    assert mine.people_in_scope == 1 and mine.rings == []


async def test_a_department_narrows_only_within_what_the_viewer_may_see(org: Org) -> None:
    sales = await org.stats("hana", department="sales")  # any case
    assert sales.scope.department == SALES
    assert [(d.department, d.people) for d in sales.departments] == [(SALES, 3)]
    assert sales.redemptions.liability == 65  # 15 each, and Leo's 20
    with pytest.raises(UnknownDepartment):
        await org.stats("hana", department="Marketing")
    assert (await org.stats("eve", department="ENGINEERING")).scope.department == ENG
    with pytest.raises(DepartmentNotYours) as refused:
        await org.stats("eve", department="Sales")
    assert refused.value.department == "Sales"
    assert (await org.stats("jo", department="support")).people_in_scope == 1
    with pytest.raises(DepartmentNotYours):
        await org.stats("jo", department=ENG)


# --------------------------------------------------------------------------- insights


async def test_an_hr_admin_sees_who_is_overlooked_rings_and_spread(org: Org) -> None:
    view = await org.insights("hana")
    p = org.people
    assert view.as_of == date(2026, 11, 18) and view.people_in_scope == 10
    thirty = view.not_recognised_30
    assert (thirty.days, thirty.total) == (30, 4)
    assert thirty.people == [
        QuietPerson(person_id=p["hana"].id, name="Hana", manager=None, last_recognised=None),
        QuietPerson(person_id=p["eve"].id, name="Eve", manager="Hana", last_recognised=at(9, 30)),
        QuietPerson(person_id=p["sam"].id, name="Sam", manager=None, last_recognised=at(10, 15)),
        QuietPerson(person_id=p["dan"].id, name="Dan", manager="Sam", last_recognised=at(10, 15)),
    ]
    sixty = view.not_recognised_60
    assert (sixty.total, [q.name for q in sixty.people]) == (1, ["Hana"])
    assert [[(m.name, m.given, m.to_group) for m in r.members] for r in view.rings] == [
        [("Ana", 30, 30), ("Ben", 30, 30)],
        [("Sam", 15, 15), ("Dan", 15, 15), ("Dee", 15, 15)],
    ]
    assert [(r.points, r.share) for r in view.rings] == [(60, 1.0), (45, 1.0)]
    # The top 10 % of ten people is Ana, with 35 of the 175 points received.
    assert view.concentration == Concentration(people=1, top_points=35, all_points=175)
    assert view.flows == [
        Flow(source=SALES, target=SALES, kudos=9, points=45),
        Flow(source=ENG, target=ENG, kudos=7, points=80),
        Flow(source=SUPPORT, target=ENG, kudos=2, points=20),
        Flow(source=ENG, target=SUPPORT, kudos=1, points=10),
        Flow(source=SUPPORT, target=SALES, kudos=1, points=10),
        Flow(source=SUPPORT, target=SUPPORT, kudos=1, points=10),
    ]
    assert (view.cross_team_kudos, view.kudos) == (4, 21)


async def test_a_manager_gets_the_insights_of_their_reports(org: Org) -> None:
    view = await org.insights("eve")
    assert view.people_in_scope == 3
    assert (view.not_recognised_30.total, view.not_recognised_60.total) == (0, 0)
    assert [[m.name for m in r.members] for r in view.rings] == [["Ana", "Ben"]]
    assert view.concentration == Concentration(people=1, top_points=35, all_points=85)
    assert view.flows == [
        Flow(source=ENG, target=ENG, kudos=7, points=80),
        Flow(source=SUPPORT, target=ENG, kudos=1, points=5),
    ]


async def test_a_one_off_thank_you_returned_is_not_a_ring(world: Harness) -> None:
    await world.policy(min_reason_length=1)
    admin = await world.person("admin", roles=frozenset({Role.HR_ADMIN}))
    a, b = await world.person("a"), await world.person("b")
    await world.give(a, b, amount=10)
    await world.give(b, a, amount=10)
    view: InsightsView = await world.bus.handle(GetInsights(viewer_id=admin.id))
    assert view.rings == []


async def test_a_triad_around_a_ringed_pair_shows_the_pair(world: Harness) -> None:
    """Cai gives everything to Ana and Ben, who give everything to each other: the pair is
    the ring; Cai only feeds it."""
    await world.policy(min_reason_length=1)
    admin = await world.person("admin", roles=frozenset({Role.HR_ADMIN}))
    ana, ben, cai = [await world.person(h) for h in ("ana", "ben", "cai")]
    for _ in range(3):
        await world.give(ana, ben, amount=5)
        await world.give(ben, ana, amount=5)
        await world.give(cai, ana, ben, amount=2)
    view: InsightsView = await world.bus.handle(GetInsights(viewer_id=admin.id))
    assert [[m.name for m in r.members] for r in view.rings] == [["Ana", "Ben"]]


# --------------------------------------------------------------------------- time zones


async def test_periods_and_days_are_the_viewers_own(world: Harness) -> None:
    """Sunday Nov 15, 12:00 UTC is already Monday in Auckland: this week there, last week
    in London."""
    await world.policy(min_reason_length=1)
    kiri = await world.person("kiri", tz="Pacific/Auckland", roles=frozenset({Role.HR_ADMIN}))
    lee = await world.person("lee", tz="Europe/London", roles=frozenset({Role.HR_ADMIN}))
    a, b = await world.person("a"), await world.person("b")
    world.at(at(11, 15))
    await world.give(a, b, amount=7)
    world.at(NOW)
    for viewer, expected in ((kiri, 1), (lee, 0)):
        view: StatsView = await world.bus.handle(
            GetStats(viewer_id=viewer.id, window=PeriodKind.WEEK)
        )
        assert view.period.start == date(2026, 11, 16)
        assert (view.kudos, view.trend[-1].kudos, view.trend[-2].kudos) == (
            expected,
            expected,
            1 - expected,
        )


# --------------------------------------------------------------------------- agreement


async def test_sql_gives_the_fakes_answers_on_random_gifts(sql_uow: object) -> None:
    """Many random gifts among twelve people: every figure, for every kind of viewer, is
    the same on the fakes (the definitions, person by person) and on the database."""
    fake = Harness(FakeUnitOfWorkFactory())
    real = Harness(sql_uow)  # type: ignore[arg-type]
    answers = []
    for world in (fake, real):
        people = await _random_org(world, random.Random(7))
        answers.append(
            [
                await world.bus.handle(query)
                for p in people
                for query in (
                    GetStats(viewer_id=p.id, window=PeriodKind.QUARTER),
                    GetInsights(viewer_id=p.id),
                )
            ]
        )
    assert answers[0] == answers[1]


async def _random_org(world: Harness, rng: random.Random) -> list[Person]:
    """Twelve people in a random hierarchy; a quarter of random gifts, mostly to each one's
    favourite (a planted pair and triad among them), with values, a few revoked, random
    redemptions decided after random hours, and one person who leaves."""
    world.at(at(8, 2))
    await world.policy(min_reason_length=1, allowance=1000)
    await world.values("teamwork", "ownership", "craft")
    await world.bus.handle(PutCatalogItem(item=MUG))
    people = [await world.person("boss", roles=frozenset({Role.HR_ADMIN}), department="Ops")]
    for i in range(11):
        manager = people[rng.randrange(len(people))]
        people.append(
            await world.person(f"p{i}", manager=manager, department=rng.choice(["A", "B", None]))
        )
    favourite = {p.id: rng.choice([q for q in people if q != p]) for p in people}
    planted = [(1, 2), (2, 1), (3, 4), (4, 5), (5, 3)]  # a pair and a triad
    favourite.update({people[a].id: people[b] for a, b in planted})
    for day in range(105):
        world.at(at(8, 2) + timedelta(days=day, hours=rng.randrange(-6, 6)))
        for n in range(rng.randrange(4)):
            await _random_gift(world, rng, people, favourite, key=f"gift-{day}-{n}")
        if rng.random() < 0.2:
            await _random_redemption(world, rng, rng.choice(people))
        if day == 60:
            await world.bus.handle(DeactivatePerson(person_id=people[11].id))
            people = people[:11]  # who left gives and receives nothing more
    world.at(NOW)
    return people


async def _random_gift(
    world: Harness,
    rng: random.Random,
    people: list[Person],
    favourite: dict[int, Person],
    key: str,
) -> None:
    giver = rng.choice(people)
    to = favourite[giver.id]
    if rng.random() < 0.3 or not to.active or to not in people:
        to = rng.choice([p for p in people if p != giver])
    values = tuple(rng.sample(["teamwork", "ownership", "craft"], rng.randrange(3)))
    await world.give(giver, to, amount=rng.randrange(1, 9), values=values, key=key)
    if rng.random() < 0.05:
        await world.revoke(key)


async def _random_redemption(world: Harness, rng: random.Random, who: Person) -> None:
    try:
        result = await world.bus.handle(Redeem(person_id=who.id, item="mug"))
    except (NotEnoughPoints, NoApprover):  # too poor; the admin has nobody to ask
        return
    redemption = result.redemption
    if redemption.approver_id is None or rng.random() < 0.2:
        return  # left pending
    world.clock.advance(hours=rng.randrange(1, 6), minutes=rng.randrange(60))
    outcome = rng.choice([Outcome.APPROVE, Outcome.APPROVE, Outcome.DECLINE])
    await world.bus.handle(
        Decide(key=redemption.decision_key, outcome=outcome, person_id=redemption.approver_id)
    )


# --------------------------------------------------------------------------- cards, charts


def _texts(card: Card) -> list[Text]:
    found = [card.title] if card.title else []
    for section in card.sections:
        found += [section.heading] if section.heading else []
        found += section.lines
    if card.image is not None:
        found += [card.image.title, card.image.alt]
    return found


@pytest.fixture
async def views() -> tuple[StatsView, StatsView, InsightsView, InsightsView]:
    org = await seed(Harness(FakeUnitOfWorkFactory()))
    return (
        await org.stats("hana"),
        await org.stats("jo", PeriodKind.WEEK),
        await org.insights("hana"),
        await org.insights("jo"),
    )


@pytest.mark.parametrize("language", LANGUAGES)
async def test_the_cards_render_in_every_language(
    language: str, views: tuple[StatsView, StatsView, InsightsView, InsightsView]
) -> None:
    admin, mine, insights, quiet = views
    chart = trend_chart(admin)
    cards = [
        stats_card(admin),
        stats_card(admin, chart),
        stats_card(mine),
        insights_card(insights, network_chart(insights)),
        insights_card(quiet),
    ]
    render = Renderer(language)
    for card in cards:
        for line in _texts(card):
            out = render(line)
            assert out.strip() and not re.search(r"\{\w*\}", out), (line.key, out)
    assert stats_card(admin, chart).image is chart
    english = Renderer("en")
    assert english(cards[0].title) == "Recognition figures: everyone"  # type: ignore[arg-type]
    lines = [english(t) for t in _texts(cards[0])]
    assert "5 of 10 people gave recognition (50%)." in lines
    assert "Engineering (4 people): 8 recognitions, 85 points" in lines
    assert "Approval lead time: 6 h median, 30 h at the 90th percentile (3 decided)." in lines
    said = [english(t) for t in _texts(cards[3])]
    assert "4 people not recognised in the last 30 days." in said
    assert "Hana (manager: —): never recognised" in said
    assert (
        "Ana and Ben: each gave at least 100% of their points to the others "
        "(60 points between them)." in said
    )
    assert "19% of recognitions crossed departments (4 of 21 recognitions)." in said


async def test_charts_are_small_pngs_drawn_off_the_event_loop(
    views: tuple[StatsView, StatsView, InsightsView, InsightsView],
) -> None:
    admin, _, insights, quiet = views
    charts = [
        await render(trend_chart, admin),
        await render(departments_chart, admin),
        await render(network_chart, insights),
        await render(network_chart, quiet),  # one person: no arrows, still a picture
    ]
    for chart in charts:
        assert chart.png.startswith(b"\x89PNG\r\n\x1a\n")
        assert len(chart.png) < MAX_BYTES, len(chart.png)
        with Image.open(io.BytesIO(chart.png)) as image:
            image.verify()
        with Image.open(io.BytesIO(chart.png)) as image:
            assert image.size == (640, 320)
        assert chart.data_uri().startswith("data:image/png;base64,iVBOR")


async def test_charts_drawn_concurrently_come_out_the_same(
    views: tuple[StatsView, StatsView, InsightsView, InsightsView],
) -> None:
    admin, _, insights, _ = views
    drawn = await asyncio.gather(*(render(trend_chart, admin) for _ in range(4)))
    assert len({c.png for c in drawn}) == 1  # the same picture each time: no shared state
    assert (await render(network_chart, insights)).png
