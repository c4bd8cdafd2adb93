"""People and their chat identities: one person, many platform accounts, one balance."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum


class Role(StrEnum):
    EMPLOYEE = "employee"
    MANAGER = "manager"
    HR_ADMIN = "hr_admin"
    FINANCE = "finance"
    APPROVER = "approver"


# The kinds of reminder a person can mute (`settings mute KIND` in chat).
REMINDER_KINDS = frozenset({"allowance", "approvals", "expiry", "celebrations"})


@dataclass(frozen=True, slots=True, kw_only=True)
class Identity:
    """A chat account: Slack user in a workspace, Teams user in a tenant, or the console."""

    platform: str
    workspace: str
    user_id: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Person:
    id: int
    email: str
    display_name: str
    handle: str  # the short name people type after "@" in the console
    tz: str = "UTC"
    locale: str | None = None  # the person's own choice; None follows the organisation
    department: str | None = None
    manager_id: int | None = None
    hire_date: date | None = None
    birthday: str | None = None  # "MM-DD": day and month only, kept only with consent
    roles: frozenset[Role] = field(default_factory=lambda: frozenset({Role.EMPLOYEE}))
    active: bool = True
    is_bot: bool = False
    external_id: str | None = None  # the directory source's id for them
    employee_number: str | None = None
    source: str | None = None  # the directory source that manages them; None: chat or seed
    muted: frozenset[str] = frozenset()  # reminder kinds they asked not to get


@dataclass(frozen=True, slots=True, kw_only=True)
class PeoplePage:
    total: int
    people: list[Person]


@dataclass(frozen=True, slots=True, kw_only=True)
class NewPerson:
    """What a directory source knows about someone before laurel gives them an id."""

    email: str
    display_name: str
    handle: str | None = None
    tz: str = "UTC"
    locale: str | None = None
    department: str | None = None
    manager_email: str | None = None
    hire_date: date | None = None
    birthday: str | None = None
    roles: frozenset[Role] = field(default_factory=lambda: frozenset({Role.EMPLOYEE}))
    active: bool = True
    is_bot: bool = False
    external_id: str | None = None
    employee_number: str | None = None
    source: str | None = None
