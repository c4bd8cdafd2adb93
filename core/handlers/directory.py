"""The directory: taking in people from the HR system, and people leaving.

Every source (SCIM, CSV, HRMS pull) goes through `_apply`, so the rules are the same: a
person is found by the source's id, then by e-mail, or added; a record with a problem
changes nothing and is reported; a manager must be known (in the same batch or already).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from .. import ledger
from ..clock import Clock
from ..commands import DeactivatePerson, ListPeople, SyncDirectory, UpsertDirectoryPerson
from ..directory import (
    DirectoryRecord,
    LeaverPoints,
    RowProblem,
    SyncReport,
    normal_email,
    record_problem,
)
from ..errors import InvalidDirectoryRecord, UnknownPerson
from ..events import PersonDeactivated
from ..ledger import AccountKind, AccountRef, TransferKind, transfer
from ..messages import MsgId, text
from ..org import is_above
from ..people import NewPerson, PeoplePage, Person
from ..ports import UnitOfWork
from .people import free_handle
from .rewards import reroute_from

MAX_LEAVERS_SHARE = 1 / 3  # of a source's active people, in one complete sync
MAX_LEAVERS_ANYWAY = 5  # a small organisation may lose a few people at once


@dataclass
class _Outcome:
    person: Person
    change: str  # "created", "updated", "reactivated", "deactivated" or "unchanged"


async def sync_directory(cmd: SyncDirectory, uow: UnitOfWork, *, clock: Clock) -> SyncReport:
    report = SyncReport(dry_run=cmd.dry_run)
    valid = await _valid_records(uow, cmd.records, report)
    seen: set[int] = set()
    pending_managers: list[tuple[Person, str | None]] = []
    for done, record in enumerate(valid, start=1):
        if cmd.progress is not None:
            cmd.progress(done, len(valid))
        try:
            outcome = await _apply(uow, record, cmd.source, clock.now(), write=not cmd.dry_run)
        except InvalidDirectoryRecord as error:  # nothing of this record was written
            report.problems.append(RowProblem(record.row, record.email, error.problem))
            continue
        seen.add(outcome.person.id)
        _count(report, outcome, normal_email(record.email))
        pending_managers.append((outcome.person, record.manager_email))
    linked = await _link_managers(uow, pending_managers, clock.now(), write=not cmd.dry_run)
    for person in linked:
        if person.email not in report.created and person.email not in report.updated:
            report.unchanged -= 1  # only the manager changed: that is an update too
            report.updated.append(person.email)
    if cmd.complete and valid:  # an empty or unreadable pull says nothing about leavers
        listed = {normal_email(r.email) for r in cmd.records} | cmd.unreadable
        await _deactivate_missing(uow, cmd, seen, listed, report, clock.now())
    return report


async def _deactivate_missing(
    uow: UnitOfWork,
    cmd: SyncDirectory,
    seen: set[int],
    listed: set[str] | frozenset[str],
    report: SyncReport,
    now: datetime,
) -> None:
    """The source's active people it no longer lists have left. Someone whose row had a
    problem is still listed: one bad cell must not make a leaver. A pull that would take
    away more than a third of the source's people at once (a half-written file, a partial
    answer) deactivates nobody and says so."""
    active, missing = 0, []
    for person_id in await uow.people.ids_from_source(cmd.source):
        person = await uow.people.get(person_id)
        if person is None or not person.active:
            continue
        active += 1
        if person_id not in seen and person.email not in listed:
            missing.append(person)
    if len(missing) > max(MAX_LEAVERS_ANYWAY, active * MAX_LEAVERS_SHARE):
        warning = text(MsgId.DIRECTORY_TOO_MANY_LEAVERS, count=len(missing), total=active)
        report.problems.append(RowProblem(0, "", warning))
        return
    for person in missing:
        report.deactivated.append(person.email)
        if not cmd.dry_run:
            await _deactivate(uow, person, now)


async def _valid_records(
    uow: UnitOfWork, records: tuple[DirectoryRecord, ...], report: SyncReport
) -> list[DirectoryRecord]:
    """Records without problems, in order; a problem is reported with the record's row."""
    emails = [normal_email(r.email) for r in records]
    counted: dict[str, int] = {}
    for email in emails:
        counted[email] = counted.get(email, 0) + 1
    candidates = []
    for record, email in zip(records, emails, strict=True):
        problem = record_problem(record)
        if problem is None and counted[email] > 1:
            problem = text(MsgId.DIRECTORY_DUPLICATE, email=record.email)
        if problem is None:
            candidates.append(record)
        else:
            report.problems.append(RowProblem(record.row, record.email, problem))
    known = {normal_email(r.email) for r in candidates}
    valid = []
    for record in candidates:
        manager = normal_email(record.manager_email or "")
        if manager and manager not in known and await uow.people.by_email(manager) is None:
            problem = text(MsgId.DIRECTORY_UNKNOWN_MANAGER, email=record.manager_email)
            report.problems.append(RowProblem(record.row, record.email, problem))
        else:
            valid.append(record)
    return valid


def _count(report: SyncReport, outcome: _Outcome, email: str) -> None:
    if outcome.change == "unchanged":
        report.unchanged += 1
        return
    {
        "created": report.created,
        "updated": report.updated,
        "reactivated": report.reactivated,
        "deactivated": report.deactivated,
    }[outcome.change].append(email)


async def _find(uow: UnitOfWork, record: DirectoryRecord, source: str) -> Person | None:
    if record.external_id:
        found = await uow.people.by_external_id(source, record.external_id)
        if found is not None:
            return found
    return await uow.people.by_email(normal_email(record.email))


async def _apply(
    uow: UnitOfWork,
    record: DirectoryRecord,
    source: str,
    now: datetime,
    *,
    write: bool,
    person: Person | None = None,
) -> _Outcome:
    """Create or update one person from a valid record (its manager is linked after)."""
    person = person or await _find(uow, record, source)
    if person is None:
        new = NewPerson(
            email=normal_email(record.email),
            display_name=record.display_name.strip(),
            tz=record.tz or "UTC",
            department=record.department,
            hire_date=record.hire_date,
            birthday=record.birthday,
            active=record.active,
            external_id=record.external_id,
            employee_number=record.employee_number,
            source=source,
        )
        if not write:
            would_be = Person(id=0, email=new.email, display_name=new.display_name, handle="")
            return _Outcome(would_be, "created")  # a dry run: nobody is added
        handle = await free_handle(uow, new.email.split("@", 1)[0])
        return _Outcome(await uow.people.add(new, handle=handle, manager_id=None), "created")
    other = await uow.people.by_email(normal_email(record.email))
    if other is not None and other.id != person.id:
        raise InvalidDirectoryRecord(text(MsgId.DIRECTORY_DUPLICATE, email=record.email))
    synced = replace(
        person,
        email=normal_email(record.email),
        display_name=record.display_name.strip(),
        tz=record.tz or person.tz,
        department=record.department,
        hire_date=record.hire_date,
        birthday=record.birthday,
        active=record.active,
        external_id=record.external_id or person.external_id,
        employee_number=record.employee_number,
        source=person.source or source,  # a person managed by another source stays its own
    )
    if synced == person:
        return _Outcome(person, "unchanged")
    change = "updated"
    if person.active != synced.active:
        change = "reactivated" if synced.active else "deactivated"
    if write:
        await uow.people.update(synced)
        if change == "deactivated":
            await _leave(uow, synced, now)
    return _Outcome(synced, change)


async def _link_managers(
    uow: UnitOfWork,
    pending: list[tuple[Person, str | None]],
    now: datetime,
    *,
    write: bool = True,
) -> list[Person]:
    """Set each person's manager as the directory says (none: no manager); returns who
    got (or, without `write`, would get) a new manager."""
    changed = []
    for person, manager_email in pending:
        manager = await uow.people.by_email(normal_email(manager_email)) if manager_email else None
        current = await uow.people.get(person.id)
        wanted = manager.id if manager else None
        if current is None or current.manager_id == wanted:
            continue
        if wanted is not None and await is_above(uow, person.id, wanted):
            continue  # a cycle (A manages B manages A) is refused: the old manager stays
        if write:
            moved = replace(current, manager_id=wanted)
            await uow.people.update(moved)
            await reroute_from(uow, moved, now)  # their pending requests: to the new manager
        changed.append(current)
    return changed


async def upsert_directory_person(
    cmd: UpsertDirectoryPerson, uow: UnitOfWork, *, clock: Clock
) -> Person:
    problem = record_problem(cmd.record)
    if problem is not None:
        raise InvalidDirectoryRecord(problem)
    person = None
    if cmd.person_id is not None:
        person = await uow.people.get(cmd.person_id)
        if person is None:
            raise UnknownPerson(str(cmd.person_id))
    manager_email = cmd.record.manager_email
    if manager_email and await uow.people.by_email(normal_email(manager_email)) is None:
        raise InvalidDirectoryRecord(text(MsgId.DIRECTORY_UNKNOWN_MANAGER, email=manager_email))
    outcome = await _apply(uow, cmd.record, cmd.source, clock.now(), write=True, person=person)
    await _link_managers(uow, [(outcome.person, manager_email)], clock.now())
    found = await uow.people.get(outcome.person.id)
    assert found is not None
    return found


async def deactivate_person(cmd: DeactivatePerson, uow: UnitOfWork, *, clock: Clock) -> Person:
    person = await uow.people.get(cmd.person_id)
    if person is None:
        raise UnknownPerson(str(cmd.person_id))
    if person.active:
        person = await _deactivate(uow, person, clock.now())
    return person


async def _deactivate(uow: UnitOfWork, person: Person, now: datetime) -> Person:
    left = replace(person, active=False)
    await uow.people.update(left)
    await _leave(uow, left, now)
    return left


async def _leave(uow: UnitOfWork, person: Person, now: datetime) -> None:
    """A leaver's earned points are kept or expired, as the organisation chose; what waits
    for their decision goes to their manager."""
    await reroute_from(uow, person, now)
    config = await uow.config.load()
    if config.policy.leaver_points == LeaverPoints.EXPIRE:
        earned = AccountRef(AccountKind.EARNED, person.id)
        amount = await uow.ledger.balance(earned)
        if amount:
            key = f"leaver-expiry:{person.id}:{now.isoformat()}"
            await uow.ledger.post(
                transfer(key, TransferKind.EXPIRY, (earned, ledger.EXPIRED, amount)), at=now
            )
    uow.emit(PersonDeactivated(person_id=person.id))


async def list_people(cmd: ListPeople, uow: UnitOfWork, *, clock: Clock) -> PeoplePage:
    return await uow.people.page(
        offset=cmd.offset, limit=cmd.limit, email=cmd.email, external_id=cmd.external_id
    )
