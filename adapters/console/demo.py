"""A small demo organisation for `laurel chat --demo`: three departments, managers, values."""

from __future__ import annotations

from core.bus import MessageBus
from core.commands import ConfigureOrganisation, GiveKudos, PutCatalogItem, RegisterPerson
from core.people import NewPerson, Role
from core.policy import CompanyValue
from core.ports import UnitOfWorkFactory
from core.rewards import CatalogItem, ItemKind, Variant

VALUES = (
    ("ownership", "Ownership"),
    ("teamwork", "Teamwork"),
    ("customer-first", "Customer first"),
    ("craft", "Craft"),
    ("courage", "Courage"),
)

MANAGER = frozenset({Role.EMPLOYEE, Role.MANAGER})
# (handle, name, department, manager handle, time zone, language, roles)
PEOPLE: tuple[tuple[str, str, str, str | None, str, str | None, frozenset[Role]], ...] = (
    (
        "maria",
        "Maria Rossi",
        "People",
        None,
        "Europe/Rome",
        "it",
        frozenset({Role.EMPLOYEE, Role.MANAGER, Role.HR_ADMIN}),
    ),
    ("ana", "Ana Lima", "Engineering", "maria", "Europe/Lisbon", None, MANAGER),
    ("ben", "Ben Weber", "Engineering", "ana", "Europe/Berlin", "de", frozenset({Role.EMPLOYEE})),
    (
        "chloe",
        "Chloé Martin",
        "Engineering",
        "ana",
        "Europe/Paris",
        "fr",
        frozenset({Role.EMPLOYEE}),
    ),
    ("dev", "Dev Patel", "Engineering", "ana", "Asia/Kolkata", None, frozenset({Role.EMPLOYEE})),
    (
        "emma",
        "Emma Clarke",
        "Engineering",
        "ana",
        "Pacific/Auckland",
        None,
        frozenset({Role.EMPLOYEE}),
    ),
    ("omar", "Omar Haddad", "Sales", "maria", "Asia/Dubai", "ar", MANAGER),
    (
        "fatima",
        "Fatima Zahra",
        "Sales",
        "omar",
        "Africa/Casablanca",
        "ar",
        frozenset({Role.EMPLOYEE}),
    ),
    ("giulia", "Giulia Bianchi", "Sales", "omar", "Europe/Rome", "it", frozenset({Role.EMPLOYEE})),
    ("hugo", "Hugo Dubois", "Sales", "omar", "Europe/Paris", "fr", frozenset({Role.EMPLOYEE})),
    ("ines", "Inès Moreau", "People", "maria", "Europe/Paris", "fr", MANAGER),
    (
        "jonas",
        "Jonas Fischer",
        "People",
        "ines",
        "Europe/Berlin",
        "de",
        frozenset({Role.EMPLOYEE, Role.HR_ADMIN}),
    ),
    (
        "kim",
        "Kim Nguyen",
        "People",
        "ines",
        "America/Los_Angeles",
        None,
        frozenset({Role.EMPLOYEE, Role.FINANCE}),
    ),
    (
        "leo",
        "Leo Schmidt",
        "Engineering",
        "ana",
        "America/New_York",
        None,
        frozenset({Role.EMPLOYEE}),
    ),
)

# (giver, receivers, amount, reason) — so leaderboards and history are not empty
GIFTS = (
    ("ana", ("ben",), 10, "shipped the release on time #ownership"),
    ("ben", ("chloe", "dev"), 5, "great pairing on the flaky tests #teamwork"),
    ("omar", ("fatima",), 15, "closed the Lisbon deal #customer-first"),
    ("ines", ("kim",), 10, "payroll export without a single error #craft"),
    ("chloe", ("ben",), 5, "the clearest code review I have read #craft"),
    ("fatima", ("giulia", "hugo"), 5, "covered my clients during the fair #teamwork"),
    ("maria", ("ana",), 20, "hard call on the roadmap, well explained #courage"),
)


def email(handle: str) -> str:
    return f"{handle}@example.com"


CATALOG = (
    CatalogItem(slug="coffee", name="Coffee on the company", kind=ItemKind.CUSTOM, price=10),
    CatalogItem(slug="mug", name="laurel mug", kind=ItemKind.MERCHANDISE, price=25, stock=20),
    CatalogItem(
        slug="hoodie",
        name="laurel hoodie",
        kind=ItemKind.MERCHANDISE,
        price=60,
        variants=(Variant("S", 5), Variant("M", 8), Variant("L", 0)),
        ships=True,  # asks for a shipping address (sealed: needs LAUREL_SECRET_KEYS)
    ),
    CatalogItem(
        slug="trees",
        name="Plant ten trees",
        kind=ItemKind.CHARITY,
        price=15,
        approval_needed=False,
    ),
    CatalogItem(slug="day-off", name="An extra day off", kind=ItemKind.EXPERIENCE, price=300),
    CatalogItem(
        slug="ceo-lunch",
        name="Lunch with the CEO",
        kind=ItemKind.EXPERIENCE,
        price=150,
        min_tier="Silver",
        stock=2,
    ),
)


async def seed_demo(bus: MessageBus, uow: UnitOfWorkFactory) -> bool:
    """Seed once: an empty database gets the demo organisation; any other is left alone."""
    async with uow(readonly=True) as unit:
        if await unit.people.count():
            return False
    await bus.handle(
        ConfigureOrganisation(
            values=tuple(CompanyValue(slug=slug, name=name) for slug, name in VALUES),
        )
    )
    for item in CATALOG:
        await bus.handle(PutCatalogItem(item=item))
    ids: dict[str, int] = {}
    for handle, name, department, manager, tz, language, roles in PEOPLE:
        person = await bus.handle(
            RegisterPerson(
                person=NewPerson(
                    email=email(handle),
                    display_name=name,
                    handle=handle,
                    tz=tz,
                    locale=language,
                    department=department,
                    manager_email=email(manager) if manager else None,
                    roles=roles,
                )
            )
        )
        ids[handle] = person.id
    for n, (giver, receivers, amount, reason) in enumerate(GIFTS):
        words = reason.split(" #")
        await bus.handle(
            GiveKudos(
                giver_id=ids[giver],
                receiver_ids=tuple(ids[r] for r in receivers),
                amount=amount,
                reason=words[0],
                values=tuple(words[1:]),
                source="demo",
                idempotency_key=f"demo:{n}",
            )
        )
    return True


DEPARTMENTS = len({p[2] for p in PEOPLE})
