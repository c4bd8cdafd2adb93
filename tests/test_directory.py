"""Directory synchronisation rules (core), on the fakes and on both engines."""

from __future__ import annotations

from datetime import date

import pytest

from core.commands import (
    DeactivatePerson,
    GiveKudos,
    ListPeople,
    SyncDirectory,
    UpsertDirectoryPerson,
)
from core.directory import DirectoryRecord
from core.errors import InactivePerson, InvalidDirectoryRecord
from core.events import PersonDeactivated
from core.ledger import AccountKind, AccountRef
from core.messages import MsgId

from .harness import Harness


def rec(email: str, name: str, row: int = 0, **fields: object) -> DirectoryRecord:
    return DirectoryRecord(email=email, display_name=name, row=row, **fields)  # type: ignore[arg-type]


ORG = (
    rec("maria@example.com", "Maria Rossi", 2, department="Engineering", tz="Europe/Rome"),
    rec(
        "ana@example.com",
        "Ana Lima",
        3,
        manager_email="maria@example.com",
        department="Engineering",
    ),
    rec(
        "ben@example.com",
        "Ben Weber",
        4,
        manager_email="ana@example.com",
        hire_date=date(2020, 3, 1),
    ),
)


async def sync(world: Harness, *records: DirectoryRecord, **options: object) -> object:
    return await world.bus.handle(SyncDirectory(records=records, source="csv", **options))  # type: ignore[arg-type]


async def test_sync_creates_links_managers_and_is_idempotent(world: Harness) -> None:
    report = await sync(world, *ORG)
    assert report.created == ["maria@example.com", "ana@example.com", "ben@example.com"]
    async with world.uow(readonly=True) as uow:
        maria = await uow.people.by_email("maria@example.com")
        ana = await uow.people.by_email("ana@example.com")
        ben = await uow.people.by_email("ben@example.com")
    assert maria and ana and ben
    assert ana.manager_id == maria.id and ben.manager_id == ana.id
    assert maria.tz == "Europe/Rome" and ben.hire_date == date(2020, 3, 1)
    again = await sync(world, *ORG)
    assert (again.created, again.updated, again.unchanged) == ([], [], 3)


async def test_changes_update_and_a_new_manager_is_taken(world: Harness) -> None:
    await sync(world, *ORG)
    moved = rec(
        "ben@example.com", "Ben Weber", 4, manager_email="maria@example.com", department="Sales"
    )
    report = await sync(world, ORG[0], ORG[1], moved)
    assert report.updated == ["ben@example.com"]
    async with world.uow(readonly=True) as uow:
        ben = await uow.people.by_email("ben@example.com")
        maria = await uow.people.by_email("maria@example.com")
    assert ben and maria and ben.department == "Sales" and ben.manager_id == maria.id


async def test_bad_rows_are_reported_with_their_row_and_change_nothing(world: Harness) -> None:
    report = await sync(
        world,
        ORG[0],
        rec("not-an-email", "Nobody", 3),
        rec("zoe@example.com", "Zoe", 4, tz="Mars/Olympus"),
        rec("yan@example.com", "Yan", 5, birthday="02-30"),
        rec("xi@example.com", "Xi", 6, manager_email="ghost@example.com"),
        rec("wu@example.com", "", 7),
        rec("maria@example.com", "Maria Again", 8),
    )
    rows = {p.row: p.problem.key for p in report.problems}
    assert rows == {
        2: MsgId.DIRECTORY_DUPLICATE,
        8: MsgId.DIRECTORY_DUPLICATE,
        3: MsgId.DIRECTORY_BAD_EMAIL,
        4: MsgId.DIRECTORY_BAD_TIMEZONE,
        5: MsgId.DIRECTORY_BAD_BIRTHDAY,
        6: MsgId.DIRECTORY_UNKNOWN_MANAGER,
        7: MsgId.DIRECTORY_NO_NAME,
    }
    async with world.uow(readonly=True) as uow:
        assert await uow.people.count() == 0


async def test_dry_run_reports_and_changes_nothing(world: Harness) -> None:
    report = await sync(world, *ORG, dry_run=True)
    assert report.dry_run and len(report.created) == 3
    async with world.uow(readonly=True) as uow:
        assert await uow.people.count() == 0


async def test_a_complete_sync_deactivates_who_is_missing(world: Harness) -> None:
    await sync(world, *ORG, complete=True)
    chat_only = await world.person("omar")  # came from chat: not the directory's to remove
    report = await sync(world, ORG[0], ORG[1], complete=True)
    assert report.deactivated == ["ben@example.com"]
    async with world.uow(readonly=True) as uow:
        ben = await uow.people.by_email("ben@example.com")
        omar = await uow.people.get(chat_only.id)
    assert ben and not ben.active and omar and omar.active
    assert any(isinstance(e, PersonDeactivated) for e in world.notifier.events)
    back = await sync(world, *ORG, complete=True)
    assert back.reactivated == ["ben@example.com"]


async def test_a_leaver_receives_nothing_and_their_points_follow_the_policy(world: Harness) -> None:
    await world.policy(leaver_points="expire", min_reason_length=1)
    await sync(world, *ORG)
    async with world.uow(readonly=True) as uow:
        ana = await uow.people.by_email("ana@example.com")
        ben = await uow.people.by_email("ben@example.com")
    assert ana and ben
    await world.bus.handle(GiveKudos(giver_id=ana.id, receiver_ids=(ben.id,), amount=7, reason="x"))
    await world.bus.handle(DeactivatePerson(person_id=ben.id))
    async with world.uow(readonly=True) as uow:
        assert await uow.ledger.balance(AccountRef(AccountKind.EARNED, ben.id)) == 0
        assert await uow.ledger.balance(AccountRef(AccountKind.EXPIRED)) == 7
    with pytest.raises(InactivePerson):
        await world.bus.handle(
            GiveKudos(giver_id=ana.id, receiver_ids=(ben.id,), amount=1, reason="x")
        )


async def test_upsert_by_id_refuses_bad_records_and_lists(world: Harness) -> None:
    await sync(world, *ORG)
    page = await world.bus.handle(ListPeople(offset=0, limit=2))
    assert page.total == 3 and len(page.people) == 2
    found = await world.bus.handle(ListPeople(email="ANA@example.com"))
    ana = found.people[0]
    renamed = await world.bus.handle(
        UpsertDirectoryPerson(
            record=rec("ana.lima@example.com", "Ana Lima-Silva", external_id="e-7"),
            source="scim",
            person_id=ana.id,
        )
    )
    assert renamed.id == ana.id and renamed.email == "ana.lima@example.com"
    assert renamed.manager_id is None  # the record names no manager
    with pytest.raises(InvalidDirectoryRecord):
        await world.bus.handle(
            UpsertDirectoryPerson(
                record=rec("ben@example.com", "Clash"), source="scim", person_id=ana.id
            )
        )
    with pytest.raises(InvalidDirectoryRecord):
        await world.bus.handle(
            UpsertDirectoryPerson(
                record=rec("x@example.com", "X", manager_email="x@example.com"), source="scim"
            )
        )
    by_external = await world.bus.handle(ListPeople(external_id="e-7"))
    assert [p.id for p in by_external.people] == [ana.id]


async def test_a_manager_cycle_is_refused(world: Harness) -> None:
    await sync(world, *ORG)
    report = await sync(
        world,
        rec(
            "maria@example.com",
            "Maria Rossi",
            2,
            manager_email="ben@example.com",
            department="Engineering",
            tz="Europe/Rome",
        ),
        ORG[1],
        ORG[2],
    )
    async with world.uow(readonly=True) as uow:
        maria = await uow.people.by_email("maria@example.com")
    assert maria and maria.manager_id is None
    assert report.problems == []


async def test_an_empty_or_unreadable_pull_makes_no_leavers(world: Harness) -> None:
    await sync(world, *ORG, complete=True)
    nothing = await sync(world, complete=True)
    assert nothing.deactivated == []
    unreadable = await sync(
        world, ORG[0], ORG[1], complete=True, unreadable=frozenset({"ben@example.com"})
    )
    assert unreadable.deactivated == []


async def test_a_person_of_another_source_stays_its_own(world: Harness) -> None:
    await world.bus.handle(SyncDirectory(records=(ORG[0],), source="scim"))
    await sync(world, ORG[0])  # the CSV names Maria too
    report = await world.bus.handle(SyncDirectory(records=(ORG[1],), source="csv", complete=True))
    assert report.deactivated == []  # Maria is SCIM's, not the CSV's to remove


async def test_chat_activity_never_brings_back_a_directory_leaver(world: Harness) -> None:
    from core.commands import SyncChatProfile
    from core.people import Identity

    await sync(world, *ORG)
    await sync(world, rec("ben@example.com", "Ben Weber", 4, active=False))
    await world.bus.handle(
        SyncChatProfile(
            identity=Identity(platform="teams", workspace="t", user_id="aad-ben"),
            email="ben@example.com",
            display_name="Ben Weber",
            active=True,
        )
    )
    async with world.uow(readonly=True) as uow:
        ben = await uow.people.by_email("ben@example.com")
    assert ben is not None and not ben.active


async def test_a_pull_missing_too_many_people_deactivates_nobody(world: Harness) -> None:
    staff = [rec(f"p{i}@example.com", f"P {i}", i + 2) for i in range(12)]
    await sync(world, *staff, complete=True)
    report = await sync(world, *staff[:4], complete=True)  # 8 of 12 missing: a broken file
    assert report.deactivated == []
    assert [p.problem.key for p in report.problems] == [MsgId.DIRECTORY_TOO_MANY_LEAVERS]
    fine = await sync(world, *staff[:10], complete=True)  # 2 of 12: people leaving
    assert sorted(fine.deactivated) == ["p10@example.com", "p11@example.com"]
