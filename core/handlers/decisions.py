"""Opening a decision, and deciding it exactly once."""

from __future__ import annotations

from ..clock import Clock
from ..commands import Decide, OpenDecision
from ..decisions import Decision, DecisionResult, Effects
from ..errors import DecisionNotFound, OutcomeNotOffered
from ..events import DecisionMade
from ..ports import UnitOfWork


async def open_decision(cmd: OpenDecision, uow: UnitOfWork, *, clock: Clock) -> Decision:
    """Opening the same key twice returns the decision opened first."""
    decision = Decision(key=cmd.key, kind=cmd.kind, subject=cmd.subject, options=cmd.options)
    await uow.decisions.add(decision)
    found = await uow.decisions.get(cmd.key)
    assert found is not None
    return found


async def decide(cmd: Decide, uow: UnitOfWork, *, clock: Clock, effects: Effects) -> DecisionResult:
    decision = await uow.decisions.get(cmd.key)
    if decision is None:
        raise DecisionNotFound()
    if cmd.outcome not in decision.options:
        raise OutcomeNotOffered()
    now = clock.now()
    if not await uow.decisions.claim(cmd.key, cmd.outcome, cmd.person_id, now, cmd.note):
        earlier = await uow.decisions.get(cmd.key)
        assert earlier is not None
        return DecisionResult(decision=earlier, first=False)
    decided = await uow.decisions.get(cmd.key)
    assert decided is not None
    effect = effects.get(decided.kind)
    if effect is not None:
        await effect(uow, decided)  # same unit of work: the effect and the claim commit together
    uow.emit(
        DecisionMade(
            key=decided.key,
            kind=decided.kind,
            subject=decided.subject,
            outcome=cmd.outcome.value,
            person_id=cmd.person_id,
        )
    )
    return DecisionResult(decision=decided, first=True)
