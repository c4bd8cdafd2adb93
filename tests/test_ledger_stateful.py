"""A hypothesis state machine drives random gives, reversals, holds and period changes.

After every step the whole ledger is read back and checked: each transfer sums to zero,
cached balances equal the sum of their entries, nothing but issuance is negative, points
are conserved, a hold resolves at most once, and no idempotency key applies twice.
Replaying a key must leave every balance as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections import Counter
from collections.abc import Coroutine
from typing import Any, ClassVar, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)

from adapters.persistence import migrate
from adapters.persistence.engine import create_engine
from adapters.persistence.uow import SqlUnitOfWorkFactory
from core import holds
from core.commands import RefreshAllowances
from core.errors import DomainError, InsufficientFunds, ResolvedHold
from core.ledger import AccountKind
from core.ports import UnitOfWorkFactory

from .audit import snapshot
from .conftest import PG_URL, drop_pg_schema, pg_schema_engine
from .fakes import FakeUnitOfWorkFactory
from .harness import Harness

T = TypeVar("T")
PEOPLE = 4
STEPS: dict[str, int] = {}  # backend -> steps run, for the closing report
SEEN: Counter[str] = Counter()  # what the steps did, to see that every path is exercised


def event(what: str) -> None:
    SEEN[what] += 1


class LedgerMachine(RuleBasedStateMachine):
    backend: ClassVar[str] = "fake"
    gifts = Bundle("gifts")
    placed = Bundle("holds")

    def __init__(self) -> None:
        super().__init__()
        self.runner = asyncio.Runner()
        self.schema: str | None = None
        self.world = Harness(self.run(self._uow()))
        self.people = self.run(self._people())
        self.resolved: set[int] = set()
        self.gifts_given = 0  # holds only make sense once someone has earned points

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        STEPS[self.backend] = STEPS.get(self.backend, 0) + 1
        return self.runner.run(work)

    async def _uow(self) -> UnitOfWorkFactory:
        if self.backend == "fake":
            return FakeUnitOfWorkFactory()
        if self.backend == "sqlite":
            engine = create_engine(f"sqlite+aiosqlite:///{tempfile.mkdtemp()}/ledger.db")
        else:
            engine, self.schema = await pg_schema_engine()
        await migrate.upgrade(engine)
        return SqlUnitOfWorkFactory(engine)

    async def _people(self) -> list[Any]:
        await self.world.policy(allowance=50, daily_limit=40, per_gift_cap=30)
        return [await self.world.person(f"p{i}") for i in range(PEOPLE)]

    def teardown(self) -> None:
        uow = self.world.uow
        if isinstance(uow, SqlUnitOfWorkFactory):
            self.runner.run(uow.engine.dispose())
        if self.schema:
            self.runner.run(drop_pg_schema(self.schema))
        self.runner.close()

    @initialize()
    def start(self) -> None:
        self.check()

    @rule(
        target=gifts,
        giver=st.integers(0, PEOPLE - 1),
        others=st.sets(st.integers(1, PEOPLE - 1), min_size=1, max_size=3),
        amount=st.integers(1, 20),
        key=st.integers(0, 40),
    )
    def give(self, giver: int, others: set[int], amount: int, key: int) -> Any:
        receivers = sorted((giver + offset) % PEOPLE for offset in others)
        try:
            result = self.run(
                self.world.give(
                    self.people[giver],
                    *(self.people[r] for r in receivers),
                    amount=amount,
                    key=f"gift-{key}",
                )
            )
        except DomainError as refused:
            event(f"give refused: {type(refused).__name__}")
            return multiple()
        event("gift replayed" if result.replayed else "gift")
        self.gifts_given += 1
        return result.recognition.key

    @rule(giver=st.integers(0, PEOPLE - 1), amount=st.sampled_from([-1, 0, 31, 10]))
    def give_against_the_rules(self, giver: int, amount: int) -> None:
        """Self-kudos or an amount out of range: refused, and nothing changes."""
        before = self.run(snapshot(self.world.uow)).balances
        receiver = self.people[giver if amount == 10 else (giver + 1) % PEOPLE]
        with pytest.raises(DomainError):
            self.run(self.world.give(self.people[giver], receiver, amount=amount))
        assert self.run(snapshot(self.world.uow)).balances == before

    @rule(key=gifts)
    def replay_changes_nothing(self, key: str) -> None:
        before = self.run(snapshot(self.world.uow)).balances
        recognition_giver = self.people[0]
        with contextlib.suppress(DomainError):
            self.run(self.world.give(recognition_giver, self.people[1], amount=1, key=key))
        assert self.run(snapshot(self.world.uow)).balances == before

    @rule(key=gifts)
    def revoke(self, key: str) -> None:
        with contextlib.suppress(DomainError):
            self.run(self.world.revoke(key))

    @precondition(lambda self: self.gifts_given > 0)
    @rule(
        target=placed,
        person=st.integers(0, PEOPLE - 1),
        share=st.integers(1, 120),
        key=st.integers(0, 20),
    )
    def hold(self, person: int, share: int, key: int) -> Any:
        """Hold a share of what the person earned (over 100 %: more than they have)."""
        person_id = self.people[person].id
        earned = self.run(self.world.account(AccountKind.EARNED, person_id))
        amount = max(1, earned * share // 100)
        try:
            return self.run(self._hold(person_id, amount, f"h{key}"))
        except InsufficientFunds:
            event("hold refused")
            return multiple()

    async def _hold(self, person_id: int, amount: int, key: str) -> int:
        async with self.world.uow() as uow:
            hold = await holds.place_hold(
                uow, key=key, person_id=person_id, amount=amount, at=self.world.clock.now()
            )
            await uow.commit()
        return hold.id

    @rule(hold_id=placed, post=st.booleans())
    def resolve(self, hold_id: int, post: bool) -> None:
        try:
            self.run(self._resolve(hold_id, post))
        except ResolvedHold:
            assert hold_id in self.resolved, "an open hold refused to resolve"
            event("second resolution refused")
            return
        event("hold resolved")
        assert hold_id not in self.resolved, "a hold resolved twice"
        self.resolved.add(hold_id)

    async def _resolve(self, hold_id: int, post: bool) -> None:
        async with self.world.uow() as uow:
            await holds.resolve_hold(uow, hold_id, post=post, at=self.world.clock.now())
            await uow.commit()

    @rule(days=st.integers(1, 40))
    def time_passes(self, days: int) -> None:
        self.world.clock.advance(days=days)

    @rule()
    def refresh(self) -> None:
        self.run(self.world.bus.handle(RefreshAllowances()))

    @invariant()
    def check(self) -> None:
        self.run(snapshot(self.world.uow)).check()


BUDGETS = {"fake": (60, 50), "sqlite": (20, 40), "pg": (15, 40)}  # examples, steps each


@pytest.mark.parametrize("backend", ["fake", "sqlite", "pg"])
def test_ledger_invariants_hold_under_random_operations(backend: str) -> None:
    if backend == "pg" and not PG_URL:
        pytest.skip("LAUREL_TEST_PG_URL is not set")
    examples, steps = BUDGETS[backend]
    machine = type(f"LedgerMachine_{backend}", (LedgerMachine,), {"backend": backend})
    run_state_machine_as_test(
        machine,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )
    print(backend, STEPS[backend], "steps", dict(SEEN))
    SEEN.clear()
