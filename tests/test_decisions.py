"""Decisions behind buttons are taken exactly once, with their effect, on every backend."""

from __future__ import annotations

import asyncio

import pytest

from core.commands import Decide, OpenDecision
from core.decisions import Decision, DecisionResult, Outcome
from core.errors import DecisionNotFound, OutcomeNotOffered
from core.events import DecisionMade
from core.ports import UnitOfWork, UnitOfWorkFactory

from .harness import Harness


class Recorder:
    """An effect that writes through the unit of work it is given, and can be made to fail."""

    def __init__(self) -> None:
        self.applied: list[str] = []
        self.fail = False

    async def __call__(self, uow: UnitOfWork, decision: Decision) -> None:
        if self.fail:
            raise RuntimeError("effect failed")
        await uow.people.set_locale(int(decision.subject), "de")
        self.applied.append(decision.key)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def decisions(any_uow: UnitOfWorkFactory, recorder: Recorder) -> Harness:
    return Harness(any_uow, effects={"test": recorder})


async def test_first_click_decides_later_ones_learn_who(
    decisions: Harness, recorder: Recorder
) -> None:
    maria, omar = await decisions.person("maria"), await decisions.person("omar")
    await decisions.bus.handle(OpenDecision(key="d1", kind="test", subject=str(omar.id)))
    first: DecisionResult = await decisions.bus.handle(
        Decide(key="d1", outcome=Outcome.APPROVE, person_id=maria.id)
    )
    later: DecisionResult = await decisions.bus.handle(
        Decide(key="d1", outcome=Outcome.DECLINE, person_id=omar.id)
    )
    assert first.first and not later.first
    assert later.decision.outcome is Outcome.APPROVE and later.decision.decided_by == maria.id
    assert recorder.applied == ["d1"]
    assert len(decisions.notifier.of(DecisionMade)) == 1
    async with decisions.uow(readonly=True) as uow:
        assert (await uow.people.get(omar.id)).locale == "de"  # type: ignore[union-attr]


async def test_concurrent_clicks_decide_once(decisions: Harness, recorder: Recorder) -> None:
    people = [await decisions.person(f"p{i}") for i in range(10)]
    await decisions.bus.handle(OpenDecision(key="d2", kind="test", subject=str(people[0].id)))
    results = await asyncio.gather(
        *(
            decisions.bus.handle(Decide(key="d2", outcome=Outcome.APPROVE, person_id=p.id))
            for p in people
        )
    )
    assert sum(r.first for r in results) == 1
    assert recorder.applied == ["d2"]
    assert len({r.decision.decided_by for r in results}) == 1


async def test_a_failing_effect_leaves_the_decision_open(
    decisions: Harness, recorder: Recorder
) -> None:
    maria = await decisions.person("maria")
    await decisions.bus.handle(OpenDecision(key="d3", kind="test", subject=str(maria.id)))
    recorder.fail = True
    with pytest.raises(RuntimeError):
        await decisions.bus.handle(Decide(key="d3", outcome=Outcome.APPROVE, person_id=maria.id))
    recorder.fail = False
    again: DecisionResult = await decisions.bus.handle(
        Decide(key="d3", outcome=Outcome.APPROVE, person_id=maria.id)
    )
    assert again.first and recorder.applied == ["d3"]


async def test_unknown_decisions_and_outcomes_are_refused(decisions: Harness) -> None:
    maria = await decisions.person("maria")
    with pytest.raises(DecisionNotFound):
        await decisions.bus.handle(Decide(key="nope", outcome=Outcome.APPROVE, person_id=maria.id))
    await decisions.bus.handle(
        OpenDecision(
            key="d4", kind="test", subject=str(maria.id), options=(Outcome.CONFIRM, Outcome.CANCEL)
        )
    )
    with pytest.raises(OutcomeNotOffered):
        await decisions.bus.handle(Decide(key="d4", outcome=Outcome.APPROVE, person_id=maria.id))
