"""One message per person and event, on the platform they use."""

from __future__ import annotations

from adapters.chat.routing import Routing, platforms_in, platforms_used
from core.commands import LinkIdentity
from core.people import Identity

from .harness import Harness


def test_where_it_happened_if_they_use_it_there_else_the_first_they_use() -> None:
    both = Routing(("slack", "teams"))
    assert both.home({"slack", "teams"}, "teams") == "teams"
    assert both.home({"slack", "teams"}, "console") == "slack"
    assert both.home({"teams"}, "slack") == "teams"


def test_someone_on_no_platform_yet_is_tried_on_the_first_one_running() -> None:
    assert Routing(("slack", "teams")).home(set(), "") == "slack"
    assert Routing(("teams",)).home(set(), "") == "teams"  # Teams keeps it for first contact
    assert Routing(("teams",)).home({"slack"}, "slack") == "teams"  # Slack is not running
    assert Routing(()).home({"slack"}, "") is None
    assert not Routing(("slack",)).delivers("teams", {"teams"})


async def test_identities_of_reads_every_platform_of_several_people(world: Harness) -> None:
    """The notifiers read who uses which platform for a whole delivery in one query; the
    SQL and the fakes answer the same."""
    ana, ben, cy = [await world.person(h) for h in ("ana", "ben", "cy")]
    slack = Identity(platform="slack", workspace="T1", user_id="U1")
    teams = Identity(platform="teams", workspace="tenant", user_id="aad-1")
    console = Identity(platform="console", workspace="", user_id="ben")
    for person, identity in ((ana, slack), (ana, teams), (ben, console)):
        await world.bus.handle(LinkIdentity(person_id=person.id, identity=identity))
    async with world.uow(readonly=True) as uow:
        found = await uow.people.identities_of([ana.id, ben.id, cy.id])
        assert await platforms_used(uow, ana.id) == {"slack", "teams"}
    assert {k: sorted(v, key=lambda i: i.platform) for k, v in found.items()} == {
        ana.id: [slack, teams],
        ben.id: [console],
    }
    assert platforms_in(found[ben.id]) == set()  # the console is not a chat platform
