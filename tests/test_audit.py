"""The audit log: append-only, hash-chained, one row per decision; tampering is found.

On the fakes and both engines; concurrency and the CLI on the real engines."""

from __future__ import annotations

import asyncio
import hashlib
import json
import subprocess
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.persistence import audit as sql_audit
from adapters.persistence.audit import verify_chain
from adapters.persistence.engine import create_engine
from adapters.persistence.uow import SqlUnitOfWorkFactory
from core.audit import (
    DELETED_OR_REORDERED,
    EDITED,
    GENESIS,
    AuditEntry,
    AuditRecord,
    AuditVerdict,
    chain_hash,
    verify,
)
from core.commands import Decide, Redeem
from core.decisions import Outcome
from core.errors import NotTheApprover
from core.people import Role
from core.ports import UnitOfWorkFactory

from .fakes import FakeUnitOfWorkFactory
from .harness import Harness
from .test_cli import run as laurel
from .test_rewards import team

T0 = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)


def entry(n: int) -> AuditEntry:
    return AuditEntry(
        actor_id=7,
        action="budget.set",
        subject=f"dept:Team {n}",
        at=T0 + timedelta(minutes=n),
        before={"amount": n},
        after={"amount": n + 1},
        platform="slack",
    )


async def append(uow: UnitOfWorkFactory, *entries: AuditEntry) -> list[AuditRecord]:
    """Each entry in a unit of work of its own, committed."""
    stored = []
    for e in entries:
        async with uow() as u:
            stored.append(await u.audit.append(e))
            await u.commit()
    return stored


async def everything(uow: UnitOfWorkFactory) -> list[AuditRecord]:
    async with uow(readonly=True) as u:
        return await u.audit.since(None, limit=10_000)


async def verdict_of(uow: UnitOfWorkFactory) -> AuditVerdict:
    if isinstance(uow, FakeUnitOfWorkFactory):
        return verify(uow.store.state.audit)
    assert isinstance(uow, SqlUnitOfWorkFactory)
    return await verify_chain(uow.engine)


async def edit_after(uow: UnitOfWorkFactory, record_id: int, after_json: str) -> None:
    """What someone with write access to the database would do."""
    if isinstance(uow, FakeUnitOfWorkFactory):
        rows = uow.store.state.audit
        i = next(i for i, r in enumerate(rows) if r.id == record_id)
        rows[i] = replace(rows[i], entry=replace(rows[i].entry, after=json.loads(after_json)))
        return
    assert isinstance(uow, SqlUnitOfWorkFactory)
    async with uow.engine.begin() as conn:
        await conn.execute(
            sa.text("UPDATE audit_log SET after_json = :j WHERE id = :i"),
            {"j": after_json, "i": record_id},
        )


async def delete(uow: UnitOfWorkFactory, record_id: int) -> None:
    if isinstance(uow, FakeUnitOfWorkFactory):
        uow.store.state.audit = [r for r in uow.store.state.audit if r.id != record_id]
        return
    assert isinstance(uow, SqlUnitOfWorkFactory)
    async with uow.engine.begin() as conn:
        await conn.execute(sa.text("DELETE FROM audit_log WHERE id = :i"), {"i": record_id})


def test_the_hash_is_sha256_over_the_previous_hash_and_canonical_json() -> None:
    """Pinned, so that the chain can be checked by other tools than laurel."""
    e = AuditEntry(
        actor_id=None,
        action="role.grant",
        subject="person:42",
        at=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        after={"role": "hr_admin", "b": [1, 2]},
        platform="cli",
    )
    canonical = (
        '{"action":"role.grant","actor_id":null,"after":{"b":[1,2],"role":"hr_admin"},'
        '"at":"2026-01-02T03:04:05.000000+00:00","before":null,"platform":"cli",'
        '"subject":"person:42"}'
    )
    assert chain_hash(GENESIS, e) == hashlib.sha256((GENESIS + canonical).encode()).hexdigest()
    assert chain_hash("1" * 64, e) != chain_hash(GENESIS, e)


def test_an_entry_is_json_and_utc_or_refused() -> None:
    berlin = datetime(2026, 1, 2, 4, 4, 5, tzinfo=ZoneInfo("Europe/Berlin"))
    e = AuditEntry(actor_id=1, action="a", subject="s", at=berlin, after={"ids": (1, 2)})
    assert e.at.tzinfo is UTC and e.after == {"ids": [1, 2]}  # as it reads back from storage
    with pytest.raises(ValueError):
        AuditEntry(actor_id=1, action="a", subject="s", at=datetime(2026, 1, 2))
    with pytest.raises(TypeError):
        AuditEntry(actor_id=1, action="a", subject="s", at=T0, before={"when": T0})


async def test_appends_chain_and_read_back_newest_first(any_uow: UnitOfWorkFactory) -> None:
    stored = await append(any_uow, entry(1), entry(2), entry(3))
    assert [r.prev_hash for r in stored] == [GENESIS, stored[0].hash, stored[1].hash]
    assert all(r.hash == chain_hash(r.prev_hash, r.entry) for r in stored)
    async with any_uow(readonly=True) as uow:
        newest = await uow.audit.since(None, limit=2)
        recent = await uow.audit.since(T0 + timedelta(minutes=2), limit=10)
    assert newest == stored[:0:-1]  # the same ids, entries and hashes, newest first
    assert [r.id for r in recent] == [stored[2].id, stored[1].id]
    assert (await verdict_of(any_uow)) == AuditVerdict(ok=True, checked=3, head=stored[2].hash)


async def test_a_rolled_back_unit_of_work_leaves_no_row(any_uow: UnitOfWorkFactory) -> None:
    await append(any_uow, entry(1))
    async with any_uow() as uow:
        await uow.audit.append(entry(2))
        await uow.rollback()
    with pytest.raises(RuntimeError):
        async with any_uow() as uow:
            await uow.audit.append(entry(3))
            raise RuntimeError("the change failed")
    [only] = await everything(any_uow)
    assert only.entry == entry(1)
    [after] = await append(any_uow, entry(4))  # and the chain goes on from the last row kept
    assert after.prev_hash == only.hash
    assert (await verdict_of(any_uow)).ok


async def test_an_edited_row_is_found(any_uow: UnitOfWorkFactory) -> None:
    stored = await append(any_uow, entry(1), entry(2), entry(3))
    await edit_after(any_uow, stored[1].id, '{"amount":999}')
    verdict = await verdict_of(any_uow)
    assert (verdict.ok, verdict.bad_id, verdict.reason) == (False, stored[1].id, EDITED)
    assert verdict.checked == 2


async def test_a_deleted_row_is_found(any_uow: UnitOfWorkFactory) -> None:
    stored = await append(any_uow, *(entry(n) for n in range(1, 5)))
    await delete(any_uow, stored[1].id)
    verdict = await verdict_of(any_uow)
    assert (verdict.ok, verdict.bad_id, verdict.reason) == (
        False,
        stored[2].id,
        DELETED_OR_REORDERED,
    )
    assert verdict.previous_id == stored[0].id


async def test_a_row_no_longer_readable_counts_as_edited(sql_engine: AsyncEngine) -> None:
    uow = SqlUnitOfWorkFactory(sql_engine)
    stored = await append(uow, entry(1), entry(2))
    await edit_after(uow, stored[1].id, "not json")
    verdict = await verify_chain(sql_engine)
    assert (verdict.bad_id, verdict.reason) == (stored[1].id, EDITED)
    await edit_after(uow, stored[1].id, '{ "amount": 3 }')  # same content, not as written
    assert (await verify_chain(sql_engine)).bad_id == stored[1].id


async def test_twenty_concurrent_appends_make_one_chain(sql_engine: AsyncEngine) -> None:
    uow = SqlUnitOfWorkFactory(sql_engine)

    async def one(n: int) -> None:
        async with uow() as u:
            await u.audit.append(entry(n))
            await asyncio.sleep(0)  # let the others run while this transaction is open
            await u.commit()

    await asyncio.gather(*(one(n) for n in range(20)))
    stored = await everything(uow)
    assert len(stored) == 20
    assert len({r.prev_hash for r in stored}) == 20  # no fork: nobody shares a parent
    assert await verify_chain(sql_engine) == AuditVerdict(ok=True, checked=20, head=stored[0].hash)


async def test_verification_streams_in_batches(
    sql_engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sql_audit, "BATCH", 3)
    uow = SqlUnitOfWorkFactory(sql_engine)
    stored = await append(uow, *(entry(n) for n in range(10)))
    seen: list[tuple[int, int]] = []
    assert (await verify_chain(sql_engine, lambda done, total: seen.append((done, total)))).ok
    assert seen == [(3, 10), (6, 10), (9, 10), (10, 10)]
    await delete(uow, stored[7].id)  # found across a batch boundary
    assert (await verify_chain(sql_engine)).bad_id == stored[8].id


def _decision(actor: int, action: str, redemption_id: int, status: str, points: int) -> tuple:
    after = {"status": status, "points": points}
    return (actor, action, f"redemption:{redemption_id}", {"status": "pending"}, after)


async def test_each_approval_decision_is_audited(world: Harness) -> None:
    maria, ana, _ = await team(world)
    await world.policy(min_reason_length=1, finance_approval_points=50)
    fin = await world.person("fin", roles=frozenset({Role.FINANCE}))
    small = (await world.bus.handle(Redeem(person_id=ana.id, item="mug"))).redemption
    big = (await world.bus.handle(Redeem(person_id=ana.id, item="mug", quantity=2))).redemption
    decide = world.bus.handle
    await decide(Decide(key=small.decision_key, outcome=Outcome.DECLINE, person_id=maria.id))
    with pytest.raises(NotTheApprover):  # refused: no audit row either
        await decide(Decide(key=big.decision_key, outcome=Outcome.APPROVE, person_id=fin.id))
    await decide(Decide(key=big.decision_key, outcome=Outcome.APPROVE, person_id=maria.id))
    await decide(Decide(key=big.finance_key, outcome=Outcome.APPROVE, person_id=fin.id))
    rows = await everything(world.uow)
    assert [
        (e.actor_id, e.action, e.subject, e.before, e.after) for e in (r.entry for r in rows)
    ] == [
        _decision(fin.id, "redemption.finance_approve", big.id, "approved", 60),
        _decision(maria.id, "redemption.approve", big.id, "pending", 60),  # finance decides next
        _decision(maria.id, "redemption.decline", small.id, "declined", 30),
    ]
    assert rows[0].entry.at == world.clock.now()
    assert (await verdict_of(world.uow)).ok


async def test_laurel_audit_verify_and_show(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path}/audit.db"

    async def cli(*args: str) -> subprocess.CompletedProcess[str]:
        # COLUMNS: wide enough that rich does not wrap the table in a pipe
        return await asyncio.to_thread(laurel, *args, cwd=tmp_path, DATABASE_URL=url, COLUMNS="200")

    assert (await cli("db", "upgrade")).returncode == 0
    empty = await cli("audit", "verify")
    assert (empty.returncode, empty.stdout.strip()) == (0, "Audit log intact: 0 entries")
    engine = create_engine(url)
    try:
        uow = SqlUnitOfWorkFactory(engine)
        stored = await append(uow, entry(1), entry(2), entry(3))
        intact = await cli("audit", "verify")
        assert intact.returncode == 0, intact.stderr
        assert intact.stdout.splitlines() == [
            "Audit log intact: 3 entries",
            f"Newest hash: {stored[2].hash}",
        ]
        shown = await cli("audit", "show", "--since", "2026-11-16", "--limit", "2")
        assert shown.returncode == 0, shown.stderr
        assert "dept:Team 3" in shown.stdout and "dept:Team 1" not in shown.stdout
        assert '{"amount": 3} -> {"amount": 4}' in shown.stdout
        await edit_after(uow, stored[1].id, '{"amount":999}')
    finally:
        await engine.dispose()
    broken = await cli("audit", "verify")
    assert broken.returncode == 1
    assert broken.stderr.strip().splitlines() == [
        f"Error: Audit log broken at row {stored[1].id}: edited "
        "(its content no longer matches its hash)"
    ]
