"""The reporting chain: who is above whom, as the directory says."""

from __future__ import annotations

from .ports import UnitOfWork


async def is_above(uow: UnitOfWork, manager_id: int, person_id: int) -> bool:
    """Whether `manager_id` is somewhere above `person_id` (a cycle ends the walk)."""
    seen: set[int] = set()
    current = await uow.people.get(person_id)
    while current is not None and current.manager_id is not None and current.id not in seen:
        if current.manager_id == manager_id:
            return True
        seen.add(current.id)
        current = await uow.people.get(current.manager_id)
    return False
