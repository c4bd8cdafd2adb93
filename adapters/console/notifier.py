"""Console notifications: what a receiver would get as a DM, shown under the reply."""

from __future__ import annotations

from dataclasses import dataclass, field

from adapters.chat.cards import received_text
from core.events import Event, KudosGiven, TierReached
from core.messages import MsgId, Text, text
from core.people import Person
from core.ports import UnitOfWorkFactory


@dataclass
class ConsoleNotifier:
    """Collects notices after each commit; the session prints them after its reply."""

    uow: UnitOfWorkFactory
    pending: list[tuple[Person, Text]] = field(default_factory=list)

    async def __call__(self, event: Event) -> None:
        async with self.uow(readonly=True) as uow:
            if isinstance(event, KudosGiven):
                r = event.recognition
                people = await uow.people.get_many([r.giver_id, *r.receiver_ids])
                for person_id in r.receiver_ids:
                    self._add(people[person_id], received_text(people[r.giver_id], r))
            elif isinstance(event, TierReached):
                person = await uow.people.get(event.person_id)
                if person is not None:
                    self._add(
                        person,
                        text(
                            MsgId.TIER_REACHED,
                            name=person.display_name,
                            tier=event.tier,
                            badge=event.badge,
                        ),
                    )

    def _add(self, person: Person, message: Text) -> None:
        self.pending.append((person, message))

    def take(self) -> list[tuple[Person, Text]]:
        taken, self.pending = self.pending, []
        return taken
