"""Data protection: erasure leaves every total balanced and no trace of the person's
identifiers in any table; exports as CSV and as one person's JSON; retention of reasons.

Erasure runs on the fakes and both engines; the table scans and the exports need SQL.
"""

from __future__ import annotations

import copy
import csv
import io
import json
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from adapters import exports
from adapters.persistence.gift_cards import GiftCardVault
from adapters.persistence.tables import (
    decisions,
    directory_group_members,
    directory_groups,
    gift_card_codes,
    metadata,
    outbox,
    people,
    processed_events,
    redemptions,
    scim_users,
    teams_users,
)
from adapters.persistence.uow import SqlUnitOfWorkFactory
from adapters.scheduler.jobs import standard_jobs
from adapters.secrets import SecretBox
from core.commands import (
    Decide,
    ErasePerson,
    GiveKudos,
    LinkIdentity,
    PurgeOldReasons,
    PutCatalogItem,
    RecordExport,
    Redeem,
    RegisterPerson,
    SetLocale,
    SetMuted,
)
from core.decisions import Outcome
from core.errors import NotAnAdmin, UnknownPerson
from core.people import Identity, NewPerson, Person, Role
from core.privacy import pseudonym, retention_cutoff, scrub_key
from core.rewards import CatalogItem, ItemKind

from .audit import snapshot
from .fakes import FakeGiftCards, FakeUnitOfWorkFactory
from .harness import Harness

KEY = Fernet.generate_key().decode()
BOX = SecretBox([KEY])
CODE = "GC-QUIN-0001"
ADDRESS = "12 Quintrell Lane, 4000 Basel"
REASON = "Quintrell-reason-4242: the launch plan was superb"
NOTE = "note-by-quintrell-7731"
SLACK_ID = "UQUIN12345"
TEAMS_AAD = "aad-quin-0001"
TEAMS_MEMBER = "29:quin-member-0001"
TEAMS_CHAT = "a:quin-personal-chat-0001"
REACTION_KEY = f"slack:reaction:T1:C1:1700000000.000100:{SLACK_ID}:star"
COFFEE = CatalogItem(slug="coffee", name="Coffee card", kind=ItemKind.GIFT_CARD, price=10)
MUG = CatalogItem(slug="mug", name="Mug", kind=ItemKind.MERCHANDISE, price=10)


@dataclass
class Seeded:
    ana: Person  # the person to erase
    bob: Person
    carl: Person  # reports to Ana
    admin: Person
    sealed: list[str]  # her sealed code and address, as stored before the erasure


def is_sql(world: Harness) -> bool:
    return isinstance(world.uow, SqlUnitOfWorkFactory)


async def register(world: Harness, new: NewPerson) -> Person:
    person: Person = await world.bus.handle(RegisterPerson(person=new))
    return person


async def seed(world: Harness) -> Seeded:
    """Ana gave and received kudos (one by Slack reaction), redeemed a gift card and a mug
    (its address sealed), declined Carl's request with a note, and has Slack and Teams
    accounts; Bob and Carl are colleagues whose data must survive."""
    admin = await world.person("hera", roles=frozenset({Role.EMPLOYEE, Role.HR_ADMIN}))
    bob = await world.person("bob", roles=frozenset({Role.EMPLOYEE, Role.MANAGER}))
    ana = await register(
        world,
        NewPerson(
            email="anastasia.quintrell@example.com",
            display_name="Anastasia Quintrell",
            handle="aquintrell",
            department="Design",
            manager_email=bob.email,
            hire_date=date(2019, 3, 4),
            birthday="07-19",
            roles=frozenset({Role.EMPLOYEE, Role.MANAGER}),
            external_id="EMP-QUIN-77",
            employee_number="E-QUIN-0077",
            source="csv",
        ),
    )
    carl = await world.person("carl", manager=ana)
    await world.bus.handle(SetLocale(person_id=ana.id, locale="de"))
    await world.bus.handle(SetMuted(person_id=ana.id, kind="allowance", muted=True))
    await world.bus.handle(
        LinkIdentity(
            person_id=ana.id, identity=Identity(platform="slack", workspace="T1", user_id=SLACK_ID)
        )
    )
    teams = Identity(platform="teams", workspace="tenant-1", user_id=TEAMS_AAD)
    await world.bus.handle(LinkIdentity(person_id=ana.id, identity=teams))
    await world.give(ana, bob, amount=5, reason=REASON)
    await world.bus.handle(
        GiveKudos(
            giver_id=ana.id,
            receiver_ids=(bob.id,),
            amount=1,
            reason="https://example.slack.com/archives/C1/p1700000000000100",
            source="reaction",
            idempotency_key=REACTION_KEY,
            context={"platform": "slack", "team": "T1", "channel": "C1"},
        )
    )
    await world.give(bob, ana, amount=60, reason="thanks for the demo, it was great")
    await world.give(bob, carl, amount=40, reason="carl fixed the build twice")
    await world.give(carl, bob, amount=3, reason="bob unblocked the release")
    await world.bus.handle(PutCatalogItem(item=COFFEE))
    await world.bus.handle(PutCatalogItem(item=MUG))
    await add_codes(world, [CODE, "GC-OTHER-0002"])
    coffee = await redeem_approved(world, ana, bob, "coffee")
    mug = await redeem_approved(world, ana, bob, "mug")
    sealed = [await sealed_code(world, coffee), await set_shipping(world, mug, BOX.seal(ADDRESS))]
    declined = (await world.bus.handle(Redeem(person_id=carl.id, item="mug"))).redemption
    await world.bus.handle(
        Decide(key=declined.decision_key, outcome=Outcome.DECLINE, person_id=ana.id, note=NOTE)
    )
    kept = (await world.bus.handle(Redeem(person_id=carl.id, item="mug"))).redemption
    await world.bus.handle(
        Decide(key=kept.decision_key, outcome=Outcome.DECLINE, person_id=admin.id, note="not now")
    )
    if is_sql(world):
        await platform_rows(world, ana)
    return Seeded(ana=ana, bob=bob, carl=carl, admin=admin, sealed=[s for s in sealed if s])


async def add_codes(world: Harness, codes: list[str]) -> None:
    if isinstance(world.uow, SqlUnitOfWorkFactory):
        await GiftCardVault(world.uow.engine, BOX).add("coffee", codes)
        return
    assert isinstance(world.uow, FakeUnitOfWorkFactory)
    async with world.uow() as uow:
        assert isinstance(uow.gift_cards, FakeGiftCards)
        uow.gift_cards.add("coffee", len(codes))  # the fakes keep slots, not codes
        await uow.commit()


async def redeem_approved(world: Harness, person: Person, approver: Person, item: str) -> str:
    """Redeem and approve; returns the request's key."""
    r = (await world.bus.handle(Redeem(person_id=person.id, item=item))).redemption
    await world.bus.handle(
        Decide(key=r.decision_key, outcome=Outcome.APPROVE, person_id=approver.id)
    )
    return str(r.key)


async def sealed_code(world: Harness, request_key: str) -> str:
    """The sealed code issued to the request ("" on the fakes: they keep no code values)."""
    if not isinstance(world.uow, SqlUnitOfWorkFactory):
        return ""
    async with world.uow.engine.connect() as conn:
        query = sa.select(gift_card_codes.c.sealed).where(
            gift_card_codes.c.request_key == request_key
        )
        return str((await conn.execute(query)).scalar_one())


async def set_shipping(world: Harness, redemption_key: str, sealed: str) -> str:
    """The address as the merchandise path stores it (sealed), written directly."""
    if isinstance(world.uow, SqlUnitOfWorkFactory):
        async with world.uow.engine.begin() as conn:
            await conn.execute(
                sa.update(redemptions)
                .where(redemptions.c.key == redemption_key)
                .values(shipping_sealed=sealed)
            )
        return sealed
    assert isinstance(world.uow, FakeUnitOfWorkFactory)
    state = world.uow.store.state
    found = next(r for r in state.redemptions.values() if r.key == redemption_key)
    state.redemptions[found.id] = replace(found, shipping=sealed)
    return sealed


async def platform_rows(world: Harness, ana: Person) -> None:
    """What the Teams, SCIM and Slack adapters keep about her, written as they write it."""
    assert isinstance(world.uow, SqlUnitOfWorkFactory)
    now = world.clock.now()
    async with world.uow.engine.begin() as conn:
        await conn.execute(
            sa.insert(teams_users).values(
                tenant_id="tenant-1",
                aad_object_id=TEAMS_AAD,
                member_id=TEAMS_MEMBER,
                person_id=ana.id,
                service_url="https://smba.example/emea/",
                bot_id="28:bot",
                conversation_id=TEAMS_CHAT,
                updated_at=now,
            )
        )
        body = {"text": f"Hi {ana.display_name}, you have 3 points"}
        await conn.execute(
            sa.insert(outbox).values(platform="teams", person_id=ana.id, body=body, created_at=now)
        )
        # A channel announcement waiting out a Slack outage: it names her, but belongs to
        # no one (person_id is empty).
        shout = {"text": f"{ana.display_name} was recognised by Ben"}
        await conn.execute(
            sa.insert(outbox).values(
                platform="slack",
                body=shout,
                target={"team": "T1", "channel": "C1"},
                attempts=1,
                due_at=now,
                created_at=now,
            )
        )
        await conn.execute(
            sa.insert(scim_users).values(
                person_id=ana.id,
                user_name=ana.email,
                user_name_key=ana.email,
                document={"userName": ana.email, "name": {"formatted": ana.display_name}},
                created_at=now,
                updated_at=now,
            )
        )
        group = await conn.execute(
            sa.insert(directory_groups)
            .values(display_name="Design")
            .returning(directory_groups.c.id)
        )
        await conn.execute(
            sa.insert(directory_group_members).values(group_id=group.scalar_one(), person_id=ana.id)
        )
        await conn.execute(
            sa.insert(processed_events).values(
                source="slack", event_id=f"home:{SLACK_ID}", received_at=now
            )
        )


def traces(seeded: Seeded) -> list[str]:
    """Everything that identifies Ana or that she wrote, as stored before the erasure."""
    ana = seeded.ana
    return [
        ana.display_name,
        ana.email,
        ana.handle,
        "Quintrell",
        SLACK_ID,
        TEAMS_AAD,
        TEAMS_MEMBER,
        TEAMS_CHAT,
        REASON,
        NOTE,
        "EMP-QUIN-77",
        "E-QUIN-0077",
        CODE,
        ADDRESS,
        *seeded.sealed,
    ]


async def every_text(world: Harness) -> list[tuple[str, str]]:
    """(where, text) for every string and JSON cell of every table; the fakes' whole state."""
    if not isinstance(world.uow, SqlUnitOfWorkFactory):
        assert isinstance(world.uow, FakeUnitOfWorkFactory)
        return [("state", repr(world.uow.store.state))]
    found = []
    async with world.uow.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in (await conn.execute(sa.select(table))).mappings():
                for column, value in row.items():
                    if isinstance(value, str):
                        found.append((f"{table.name}.{column}", value))
                    elif isinstance(value, dict | list):
                        text = json.dumps(value, ensure_ascii=False)
                        found.append((f"{table.name}.{column}", text))
    return found


async def contents(world: Harness) -> object:
    """Everything stored, comparable: every text cell, or a copy of the fakes' state (whose
    repr may order a set differently after a rollback)."""
    if isinstance(world.uow, FakeUnitOfWorkFactory):
        return copy.deepcopy(world.uow.store.state)
    return await every_text(world)


def hits(texts: list[tuple[str, str]], wanted: list[str]) -> list[tuple[str, str]]:
    return [(where, w) for where, text in texts for w in wanted if w.casefold() in text.casefold()]


async def erase(world: Harness, person: Person, actor: Person) -> Any:
    return await world.bus.handle(
        ErasePerson(person_id=person.id, actor_id=actor.id, platform="console")
    )


# --------------------------------------------------------------------------- erasure


async def test_erasure_leaves_totals_balanced_and_no_trace_of_the_person(world: Harness) -> None:
    seeded = await seed(world)
    before = await snapshot(world.uow)
    assert hits(await every_text(world), traces(seeded))  # the scan does find her before

    report = await erase(world, seeded.ana, seeded.admin)

    after = await snapshot(world.uow)
    after.check()
    assert after.balances == before.balances
    assert hits(await every_text(world), traces(seeded)) == []
    assert report.reasons == 2 and report.notes == 1
    assert report.codes == 1 and report.addresses == 1
    assert report.platform_ids == (4 if is_sql(world) else 2)


async def test_the_erased_person_is_a_placeholder_and_keeps_their_history(world: Harness) -> None:
    seeded = await seed(world)
    await erase(world, seeded.ana, seeded.admin)
    names = pseudonym(seeded.ana.id)
    async with world.uow(readonly=True) as uow:
        ana = await uow.people.get(seeded.ana.id)
        history = await uow.recognitions.history(seeded.ana.id, limit=10)
        assert await uow.people.by_email(seeded.ana.email) is None
        assert await uow.people.identities(seeded.ana.id, "slack") == []
        assert await uow.people.identities(seeded.ana.id, "teams") == []
    assert ana is not None
    assert (ana.display_name, ana.email, ana.handle) == (names.name, names.email, names.handle)
    assert not ana.active and ana.roles == frozenset({Role.EMPLOYEE})
    assert (ana.birthday, ana.hire_date, ana.department, ana.manager_id) == (None, None, None, None)
    assert (ana.external_id, ana.employee_number, ana.locale, ana.muted) == (
        None,
        None,
        None,
        frozenset(),
    )
    given = [r for r in history if r.giver_id == ana.id]
    received = [r for r in history if r.giver_id != ana.id]
    assert [r.reason for r in given] == ["", ""] and all(not r.context for r in given)
    assert [r.reason for r in received] == ["thanks for the demo, it was great"]
    assert sum(r.amount for r in given) == 6  # amounts untouched


async def test_other_peoples_data_is_intact(world: Harness) -> None:
    seeded = await seed(world)
    async with world.uow(readonly=True) as uow:
        bob_before = await uow.people.get(seeded.bob.id)
        carl_before = await uow.recognitions.history(seeded.carl.id, limit=10)
    await erase(world, seeded.ana, seeded.admin)
    async with world.uow(readonly=True) as uow:
        assert await uow.people.get(seeded.bob.id) == bob_before
        carl_after = await uow.recognitions.history(seeded.carl.id, limit=10)
        kept = await uow.redemptions.of_person(seeded.carl.id, limit=10)
        admins_note = await uow.decisions.get(kept[0].decision_key)
    assert carl_after == carl_before
    assert [r.note for r in kept] == ["not now", ""]  # Ana's note went, the admin's stayed
    assert admins_note is not None and admins_note.note == "not now"


async def test_a_non_admin_is_refused_and_nothing_changes(world: Harness) -> None:
    seeded = await seed(world)
    texts, ledger = await contents(world), await snapshot(world.uow)
    async with world.uow(readonly=True) as uow:
        logged = await uow.audit.since(None, limit=100)
    for actor in (seeded.bob, seeded.ana):
        with pytest.raises(NotAnAdmin):
            await erase(world, seeded.ana, actor)
        with pytest.raises(NotAnAdmin):
            await world.bus.handle(RecordExport(actor_id=actor.id, kind="people", subject="people"))
    assert await contents(world) == texts
    assert await snapshot(world.uow) == ledger
    async with world.uow(readonly=True) as uow:
        assert await uow.audit.since(None, limit=100) == logged


async def test_erasure_is_audited_by_id_only(world: Harness) -> None:
    seeded = await seed(world)
    await erase(world, seeded.ana, seeded.admin)
    async with world.uow(readonly=True) as uow:
        newest = (await uow.audit.since(None, limit=1))[0].entry
    assert (newest.action, newest.subject, newest.actor_id) == (
        "person.erase",
        f"person:{seeded.ana.id}",
        seeded.admin.id,
    )
    assert newest.platform == "console"
    logged = json.dumps([newest.before, newest.after])
    assert hits([("audit", logged)], traces(seeded)) == []


async def test_an_unknown_person_cannot_be_erased(fake: Harness) -> None:
    admin = await fake.person("hera", roles=frozenset({Role.HR_ADMIN}))
    with pytest.raises(UnknownPerson):
        await fake.bus.handle(ErasePerson(person_id=999, actor_id=admin.id))


async def test_erasing_twice_changes_nothing_more(fake: Harness) -> None:
    seeded = await seed(fake)
    await erase(fake, seeded.ana, seeded.admin)
    state = repr(fake.uow.store.state.people)  # type: ignore[attr-defined]
    again = await erase(fake, seeded.ana, seeded.admin)
    assert repr(fake.uow.store.state.people) == state  # type: ignore[attr-defined]
    assert (again.codes, again.addresses, again.notes, again.platform_ids) == (0, 0, 0, 0)


async def test_a_taken_placeholder_is_not_reused(fake: Harness) -> None:
    admin = await fake.person("hera", roles=frozenset({Role.HR_ADMIN}))
    ana = await fake.person("ana")
    squatter = pseudonym(ana.id)
    await register(fake, NewPerson(email=squatter.email, display_name="X", handle=squatter.handle))
    await erase(fake, ana, admin)
    async with fake.uow(readonly=True) as uow:
        erased = await uow.people.get(ana.id)
    assert erased is not None and erased.handle == pseudonym(ana.id, 2).handle


async def test_the_operator_may_erase_without_a_person(fake: Harness) -> None:
    ana = await fake.person("ana")
    await fake.bus.handle(ErasePerson(person_id=ana.id, actor_id=None, platform="cli"))
    async with fake.uow(readonly=True) as uow:
        logged = (await uow.audit.since(None, limit=1))[0].entry
    assert (logged.actor_id, logged.platform) == (None, "cli")


async def test_erasure_destroys_her_codes_and_keeps_others(sql_uow: SqlUnitOfWorkFactory) -> None:
    world = Harness(sql_uow)
    seeded = await seed(world)
    await erase(world, seeded.ana, seeded.admin)
    async with sql_uow.engine.connect() as conn:
        rows = (await conn.execute(sa.select(gift_card_codes).order_by("id"))).mappings().all()
        gone = (await conn.execute(sa.select(sa.func.count()).select_from(teams_users))).scalar()
        queued = (await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar()
    assert [(r["state"], r["sealed"] == "") for r in rows] == [
        ("issued", True),
        ("available", False),
    ]
    assert BOX.open(rows[1]["sealed"]) == "GC-OTHER-0002"
    assert (gone, queued) == (0, 0)
    vault = GiftCardVault(sql_uow.engine, BOX)
    assert await vault.open_issued(rows[0]["request_key"]) == []  # nothing left to open
    assert await vault.add("coffee", [CODE]) == 0  # the fingerprint still refuses it


def test_scrubbing_replaces_whole_key_parts_only() -> None:
    ids = frozenset({"U1", "ann"})
    assert scrub_key("slack:reaction:T1:C1:1.2:U1:star", ids, "erased-3") == (
        "slack:reaction:T1:C1:1.2:erased-3:star"
    )
    assert scrub_key("kudos:banana:U12", ids, "x") == "kudos:banana:U12"


# --------------------------------------------------------------------------- retention


async def test_reasons_older_than_the_retention_are_blanked(world: Harness) -> None:
    ana, bob = await world.person("ana"), await world.person("bob")
    world.at(datetime(2023, 5, 2, 9, tzinfo=UTC))
    await world.give(ana, bob, reason="the old reason, long ago")
    world.at(datetime(2026, 11, 16, 9, tzinfo=UTC))
    await world.give(bob, ana, reason="the recent reason, this month")
    assert await world.bus.handle(PurgeOldReasons()) == 0  # 0 years: kept forever
    await world.policy(reason_retention_years=2)
    assert await world.bus.handle(PurgeOldReasons()) == 1
    assert await world.bus.handle(PurgeOldReasons()) == 0  # again: nothing more
    async with world.uow(readonly=True) as uow:
        reasons = sorted(r.reason for r in await uow.recognitions.history(ana.id, limit=10))
        logged = [r.entry for r in await uow.audit.since(None, limit=10)]
    assert reasons == ["", "the recent reason, this month"]
    assert [(e.action, e.actor_id, e.after) for e in logged] == [
        ("reasons.purge", None, {"before": "2024-11-16T09:00:00+00:00", "count": 1})
    ]


def test_the_retention_cutoff_is_the_same_day_years_before() -> None:
    assert retention_cutoff(datetime(2028, 2, 29, tzinfo=UTC), 1) == datetime(
        2027, 2, 28, tzinfo=UTC
    )
    assert retention_cutoff(datetime(2026, 11, 16, tzinfo=UTC), 3) == datetime(
        2023, 11, 16, tzinfo=UTC
    )


async def test_the_scheduler_runs_retention_daily(fake: Harness) -> None:
    job = next(j for j in standard_jobs(fake.bus) if j.name == "retention")
    assert job.every == timedelta(days=1)
    ana, bob = await fake.person("ana"), await fake.person("bob")
    fake.at(datetime(2020, 1, 1, tzinfo=UTC))
    await fake.give(ana, bob, reason="an old enough reason")
    fake.at(datetime(2026, 1, 1, tzinfo=UTC))
    await fake.policy(reason_retention_years=5)
    assert await job.run() == 1


# --------------------------------------------------------------------------- exports


async def test_record_export_logs_the_kind_subject_and_range(world: Harness) -> None:
    admin = await world.person("hera", roles=frozenset({Role.HR_ADMIN}))
    await world.bus.handle(
        RecordExport(
            actor_id=admin.id,
            kind="recognitions",
            subject="recognitions",
            since=date(2026, 1, 1),
            until=date(2026, 2, 1),
            platform="slack",
        )
    )
    async with world.uow(readonly=True) as uow:
        logged = (await uow.audit.since(None, limit=1))[0].entry
    assert (logged.action, logged.subject, logged.actor_id, logged.platform) == (
        "export.recognitions",
        "recognitions",
        admin.id,
        "slack",
    )
    assert logged.after == {"from": "2026-01-01", "to": "2026-02-01"}


def read_csv(content: bytes) -> list[dict[str, str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # the BOM, for spreadsheets
    return list(csv.DictReader(io.StringIO(content.decode("utf-8-sig"))))


async def collect(engine: Any, kind: str, **bounds: datetime) -> list[dict[str, str]]:
    found = [row async for row in exports.rows(engine, kind, **bounds)]
    return read_csv(exports.to_csv(found, exports.COLUMNS[kind]))


async def test_recognitions_export_in_a_date_range(sql_uow: SqlUnitOfWorkFactory) -> None:
    world = Harness(sql_uow)
    ana, bob, carl = [await world.person(h) for h in ("ana", "bob", "carl")]
    for day, reason in ((1, "january first gift"), (15, "mid month gift"), (31, "last day gift")):
        world.at(datetime(2026, 1, day, 12, tzinfo=UTC))
        await world.give(ana, bob, carl, amount=2, reason=reason)
    rows = await collect(
        sql_uow.engine,
        "recognitions",
        since=datetime(2026, 1, 10, tzinfo=UTC),
        until=datetime(2026, 1, 31, tzinfo=UTC),
    )
    assert list(rows[0]) == list(exports.COLUMNS["recognitions"])
    assert [(r["reason"], r["receiver_email"], r["points"]) for r in rows] == [
        ("mid month gift", "bob@example.com", "2"),
        ("mid month gift", "carl@example.com", "2"),
    ]
    assert rows[0]["giver_name"] == "Ana" and rows[0]["given_at"].startswith("2026-01-15T12:00")
    everything = await collect(sql_uow.engine, "recognitions")
    assert len(everything) == 6


async def test_exports_are_formula_safe(sql_uow: SqlUnitOfWorkFactory) -> None:
    world = Harness(sql_uow)
    evil = await register(
        world,
        NewPerson(email="evil@example.com", display_name='=HYPERLINK("http://x")', handle="evil"),
    )
    bob = await world.person("bob")
    await world.give(evil, bob, reason="+SUM(A1:A9) is what I mean")
    await world.give(bob, evil, reason="-1 and @home and more")
    rows = await collect(sql_uow.engine, "recognitions")
    cells = [c for row in rows for c in row.values()]
    assert '\'=HYPERLINK("http://x")' in cells
    assert "'+SUM(A1:A9) is what I mean" in cells and "'-1 and @home and more" in cells
    assert all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in cells)
    people_rows = await collect(sql_uow.engine, "people")
    assert people_rows[0]["name"] == '\'=HYPERLINK("http://x")'
    assert exports.inert("\rcmd") == "'\rcmd" and exports.inert("\tx") == "'\tx"
    assert exports.inert(-5) == -5


async def test_balances_now_and_as_of_a_day(sql_uow: SqlUnitOfWorkFactory) -> None:
    world = Harness(sql_uow)
    ana, bob = await world.person("ana"), await world.person("bob")
    world.at(datetime(2026, 11, 2, tzinfo=UTC))
    await world.give(ana, bob, amount=10)
    world.at(datetime(2026, 11, 20, tzinfo=UTC))
    await world.give(ana, bob, amount=5)
    now = {r["email"]: r for r in await collect(sql_uow.engine, "balances")}
    then = {
        r["email"]: r
        for r in await collect(sql_uow.engine, "balances", until=datetime(2026, 11, 10, tzinfo=UTC))
    }
    assert (now["bob@example.com"]["earned"], now["ana@example.com"]["allowance"]) == ("15", "85")
    assert (then["bob@example.com"]["earned"], then["ana@example.com"]["allowance"]) == ("10", "90")
    assert now["bob@example.com"]["active"] == "yes"
    with pytest.raises(exports.BadRange):
        await collect(sql_uow.engine, "balances", since=datetime(2026, 1, 1, tzinfo=UTC))


async def test_redemptions_and_people_exports(sql_uow: SqlUnitOfWorkFactory) -> None:
    world = Harness(sql_uow)
    seeded = await seed(world)
    rows = await collect(sql_uow.engine, "redemptions")
    assert list(rows[0]) == list(exports.COLUMNS["redemptions"])
    assert [(r["email"], r["item"], r["status"]) for r in rows] == [
        (seeded.ana.email, "coffee", "approved"),
        (seeded.ana.email, "mug", "approved"),
        (seeded.carl.email, "mug", "declined"),
        (seeded.carl.email, "mug", "declined"),
    ]
    flat = repr(rows)
    assert CODE not in flat and ADDRESS not in flat and all(s not in flat for s in seeded.sealed)
    directory = {r["email"]: r for r in await collect(sql_uow.engine, "people")}
    ana = directory[seeded.ana.email]
    assert (ana["manager_email"], ana["roles"], ana["hire_date"]) == (
        seeded.bob.email,
        "employee;manager",
        "2019-03-04",
    )
    assert "07-19" not in repr(directory)  # birthdays stay out of the directory export


async def test_person_export_has_her_data_and_nobody_elses_private_data(
    sql_uow: SqlUnitOfWorkFactory,
) -> None:
    world = Harness(sql_uow)
    seeded = await seed(world)
    data = await exports.person_export(sql_uow.engine, seeded.ana.id)
    json.dumps(data)  # JSON-able as it is
    assert data["profile"]["email"] == seeded.ana.email
    assert data["settings"] == {"locale": "de", "tz": "UTC", "muted": ["allowance"]}
    assert {i["user_id"] for i in data["identities"]} == {SLACK_ID, TEAMS_AAD}
    assert data["teams_accounts"][0]["conversation_id"] == TEAMS_CHAT
    assert data["recognitions_given"][0]["reason"] == REASON
    assert data["recognitions_given"][0]["receivers"] == ["Bob"]
    assert [(g["giver"], g["amount"]) for g in data["recognitions_received"]] == [("Bob", 60)]
    assert data["balances"] == {"allowance": 94, "earned": 40, "held": 0}
    assert [r["gift_card_codes_issued"] for r in data["redemptions"]] == [1, 0]
    assert [r["shipping_address"] for r in data["redemptions"]] == [None, exports.SEALED]
    assert [d["note"] for d in data["decisions"]] == [NOTE]
    assert data["scim"]["user_name"] == seeded.ana.email
    assert data["directory_groups"] == ["Design"]
    assert data["queued_messages"] == {"total": 1, "undelivered": 1}
    assert data["stats"] == {"lifetime_received": 60, "lifetime_given": 6}
    flat = json.dumps(data, ensure_ascii=False)
    for private in (seeded.bob.email, seeded.carl.email, seeded.admin.email, REACTION_KEY, CODE):
        assert private not in flat
    opened = await exports.person_export(sql_uow.engine, seeded.ana.id, BOX)
    assert [r["shipping_address"] for r in opened["redemptions"]] == [None, ADDRESS]
    summary = exports.erasure_summary(data)
    assert (
        summary["kudos reasons they wrote"] == 2 and summary["gift-card codes issued to them"] == 1
    )


async def test_erasure_summary_matches_what_erasure_does(sql_uow: SqlUnitOfWorkFactory) -> None:
    world = Harness(sql_uow)
    seeded = await seed(world)
    summary = exports.erasure_summary(await exports.person_export(sql_uow.engine, seeded.ana.id))
    report = await erase(world, seeded.ana, seeded.admin)
    assert summary == {
        "chat identities": 3,
        "kudos reasons they wrote": report.reasons,
        "decision notes they wrote": report.notes,
        "gift-card codes issued to them": report.codes,
        "shipping addresses": report.addresses,
        "queued messages": 1,
        "provisioning records": 2,
    }
    assert report.records == 3


async def test_decisions_record_only_her_notes(sql_uow: SqlUnitOfWorkFactory) -> None:
    world = Harness(sql_uow)
    seeded = await seed(world)
    await erase(world, seeded.ana, seeded.admin)
    async with sql_uow.engine.connect() as conn:
        notes = dict(
            (await conn.execute(sa.select(decisions.c.decided_by, decisions.c.note))).all()
        )
        row = (await conn.execute(sa.select(people).where(people.c.id == seeded.ana.id))).one()
    assert notes[seeded.ana.id] == "" and notes[seeded.admin.id] == "not now"
    assert row.birthday is None and row.hire_date is None and row.active is False


# --------------------------------------------------------------------------- CLI


def laurel(*args: str, cwd: Path, url: str) -> Any:
    from .test_cli import run

    return run(*args, cwd=cwd, DATABASE_URL=url, LAUREL_SECRET_KEYS=KEY)


async def test_cli_export_and_erase(tmp_path: Path) -> None:
    from adapters.persistence import migrate
    from adapters.persistence.engine import create_engine

    url = f"sqlite+aiosqlite:///{tmp_path}/cli.db"
    engine = create_engine(url)
    await migrate.upgrade(engine)
    seeded = await seed(Harness(SqlUnitOfWorkFactory(engine)))
    await engine.dispose()

    out = tmp_path / "recognitions.csv"
    done = laurel(
        "export", "recognitions", "--from", "2026-01-01", "--out", str(out), cwd=tmp_path, url=url
    )
    assert done.returncode == 0, done.stderr
    assert "rows of recognitions written" in done.stderr
    assert len(read_csv(out.read_bytes())) == 5
    refused = laurel("export", "people", "--from", "2026-01-01", cwd=tmp_path, url=url)
    assert refused.returncode == 2 and "people takes no dates" in refused.stderr
    person = laurel("export", "person", seeded.ana.email, cwd=tmp_path, url=url)
    assert json.loads(person.stdout)["redemptions"][1]["shipping_address"] == ADDRESS

    preview = laurel("erase", "person", seeded.ana.email, cwd=tmp_path, url=url)
    assert preview.returncode == 1
    assert "kudos reasons they wrote" in preview.stdout and "Nothing was erased" in preview.stdout
    erased = laurel("erase", "person", seeded.ana.email, "--yes", cwd=tmp_path, url=url)
    assert erased.returncode == 0, erased.stderr
    assert "former colleague" in erased.stdout
    gone = laurel("erase", "person", seeded.ana.email, "--yes", cwd=tmp_path, url=url)
    assert gone.returncode == 1 and "no person with the e-mail" in gone.stderr

    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            from adapters.persistence.tables import audit_log

            actions = list((await conn.execute(sa.select(audit_log.c.action))).scalars())
    finally:
        await engine.dispose()
    assert actions[-3:] == ["export.recognitions", "export.person", "person.erase"]
