"""Erasure, exports' audit trail, and retention of kudos reasons (core/privacy.py)."""

from __future__ import annotations

from ..audit import AuditEntry
from ..clock import Clock
from ..commands import DeactivatePerson, ErasePerson, PurgeOldReasons, RecordExport
from ..errors import NotAnAdmin, UnknownPerson
from ..people import Role
from ..ports import UnitOfWork
from ..privacy import (
    ERASE_ACTION,
    EXPORT_KINDS,
    PURGE_ACTION,
    ErasureReport,
    Pseudonym,
    pseudonym,
    retention_cutoff,
)
from . import rewards
from .directory import deactivate_person


async def erase_person(cmd: ErasePerson, uow: UnitOfWork, *, clock: Clock) -> ErasureReport:
    """Pseudonymise the person and destroy what identifies them or what they wrote, in one
    transaction. Amounts, accounts and entries are untouched, so every total balances."""
    await _authorise(uow, cmd.actor_id)
    person = await uow.people.get(cmd.person_id)
    if person is None:
        raise UnknownPerson(str(cmd.person_id))
    if person.active:  # the leaver path first: their requests refunded, approvals rerouted
        await deactivate_person(DeactivatePerson(person_id=person.id), uow, clock=clock)
    names = await _free_pseudonym(uow, person.id)
    ids = await uow.people.forget_identities(person.id)
    await uow.people.pseudonymise(
        person.id, name=names.name, email=names.email, handle=names.handle
    )
    report = ErasureReport(
        person_id=person.id,
        platform_ids=len(ids),
        reasons=await uow.recognitions.erase_reasons_by(person.id),
        notes=await _erase_notes(uow, person.id),
        codes=await uow.gift_cards.destroy_codes_of(person.id),
        addresses=await uow.redemptions.erase_shipping(person.id),
        records=await uow.platform_records.forget(person.id),
    )
    if ids:
        await uow.platform_records.scrub_ids(ids, names.handle)
    await uow.audit.append(
        AuditEntry(
            actor_id=cmd.actor_id,
            action=ERASE_ACTION,
            subject=f"person:{person.id}",
            at=clock.now(),
            after=report.counts(),  # counts only: never a name, an e-mail or a text
            platform=cmd.platform,
        )
    )
    return report


async def record_export(cmd: RecordExport, uow: UnitOfWork, *, clock: Clock) -> None:
    if cmd.kind not in EXPORT_KINDS:
        raise ValueError(f"unknown export {cmd.kind!r}")
    await _authorise(uow, cmd.actor_id)
    span = {
        "from": cmd.since.isoformat() if cmd.since else None,
        "to": cmd.until.isoformat() if cmd.until else None,
    }
    await uow.audit.append(
        AuditEntry(
            actor_id=cmd.actor_id,
            action=f"export.{cmd.kind}",
            subject=cmd.subject,
            at=clock.now(),
            after=span,
            platform=cmd.platform,
        )
    )


async def purge_old_reasons(cmd: PurgeOldReasons, uow: UnitOfWork, *, clock: Clock) -> int:
    """Blank what retention no longer allows. Running it again changes nothing (blank
    reasons stay blank), so the daily job needs no claim. Returns how many were blanked."""
    years = (await uow.config.load()).policy.reason_retention_years
    if years <= 0:
        return 0
    now = clock.now()
    cutoff = retention_cutoff(now, years)
    purged = await uow.recognitions.erase_reasons_before(cutoff)
    if purged:
        await uow.audit.append(
            AuditEntry(
                actor_id=None,
                action=PURGE_ACTION,
                subject="recognitions",
                at=now,
                after={"before": cutoff.isoformat(), "count": purged},
                platform="scheduler",
            )
        )
    return purged


async def _erase_notes(uow: UnitOfWork, person_id: int) -> int:
    """Their decision notes, and the copy a declined request keeps of its note."""
    decided = await uow.decisions.erase_notes_by(person_id)
    for decision in decided:
        if decision.kind == rewards.KIND:
            await uow.redemptions.erase_note(int(decision.subject))
    return len(decided)


async def _authorise(uow: UnitOfWork, actor_id: int | None) -> None:
    """A person must be an active HR admin; None is the operator at the command line, who
    holds the database already."""
    if actor_id is None:
        return
    actor = await uow.people.get(actor_id)
    if actor is None or not actor.active or Role.HR_ADMIN not in actor.roles:
        raise NotAnAdmin()


async def _free_pseudonym(uow: UnitOfWork, person_id: int) -> Pseudonym:
    """The person's placeholders, unless someone else already has that e-mail or handle."""
    attempt = 1
    while True:
        names = pseudonym(person_id, attempt)
        by_email = await uow.people.by_email(names.email)
        by_handle = await uow.people.by_handle(names.handle)
        if all(p is None or p.id == person_id for p in (by_email, by_handle)):
            return names
        attempt += 1
