"""What HR admins read: the audit log and the allowances in force. Adapters first send
`CheckAdmin` (a refusal is audited); these queries refuse again on their own, unaudited,
so that no path reaches them without the role."""

from __future__ import annotations

from dataclasses import dataclass

from ..audit import AuditRecord
from ..clock import Clock
from ..commands import CheckAdmin, GetAllowances, GetAudit
from ..errors import NotAnAdmin, UnknownPerson
from ..people import Role
from ..policy import Allowance, AllowanceRule, GivingPolicy
from ..ports import UnitOfWork
from ..views import AllowanceState
from .admin import Refused, authorise
from .allowance import current_allowance, entitlement


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditView:
    records: list[AuditRecord]
    people: dict[int, str]  # actor id -> display name


@dataclass(frozen=True, slots=True, kw_only=True)
class PersonAllowance:
    name: str
    due: Allowance
    state: AllowanceState


@dataclass(frozen=True, slots=True, kw_only=True)
class AllowancesView:
    policy: GivingPolicy
    rules: list[AllowanceRule]
    people: dict[int, str]  # person rules' subjects -> display name
    person: PersonAllowance | None = None


async def check_admin(cmd: CheckAdmin, uow: UnitOfWork, *, clock: Clock) -> Refused | None:
    actor = await authorise(uow, cmd.actor_id, cmd.action, cmd.platform, clock.now())
    return Refused(action=cmd.action) if actor is None else None


async def require_admin(uow: UnitOfWork, actor_id: int) -> None:
    actor = await uow.people.get(actor_id)
    if actor is None or not actor.active or Role.HR_ADMIN not in actor.roles:
        raise NotAnAdmin()


async def get_audit(cmd: GetAudit, uow: UnitOfWork, *, clock: Clock) -> AuditView:
    await require_admin(uow, cmd.actor_id)
    records = await uow.audit.since(cmd.since, limit=cmd.limit)
    actors = sorted({r.entry.actor_id for r in records if r.entry.actor_id is not None})
    found = await uow.people.get_many(actors)
    return AuditView(records=records, people={i: p.display_name for i, p in found.items()})


async def get_allowances(cmd: GetAllowances, uow: UnitOfWork, *, clock: Clock) -> AllowancesView:
    await require_admin(uow, cmd.actor_id)
    config = await uow.config.load()
    ids = [int(r.subject) for r in config.rules if r.scope.value == "person"]
    names = {i: p.display_name for i, p in (await uow.people.get_many(ids)).items()}
    person = None
    if cmd.person_id is not None:
        found = await uow.people.get(cmd.person_id)
        if found is None:
            raise UnknownPerson(str(cmd.person_id))
        due = await entitlement(uow, found, config)
        state = await current_allowance(uow, found, config, clock.now())
        person = PersonAllowance(name=found.display_name, due=due, state=state)
    return AllowancesView(policy=config.policy, rules=config.rules, people=names, person=person)
