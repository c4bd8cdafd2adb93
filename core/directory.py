"""The people directory as the HR system describes it, and the rules for taking it in.

SCIM, CSV files and HRMS APIs all become `DirectoryRecord`s. The directory is the source
of truth for who works here, their e-mail, manager, department, dates, time zone and
whether they are active; chat platforms only add accounts to the people it describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from .messages import MsgId, Text, text
from .periods import known_zone

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_BIRTHDAY = re.compile(r"(\d{2})-(\d{2})")


class LeaverPoints(StrEnum):
    """What happens to a leaver's earned points."""

    KEEP = "keep"  # kept (for export and a possible return)
    EXPIRE = "expire"  # moved to the expiry account


@dataclass(frozen=True, slots=True, kw_only=True)
class DirectoryRecord:
    """One person as a directory source describes them. `row` says where (a CSV line)."""

    email: str
    display_name: str
    external_id: str | None = None  # the source's own id (SCIM externalId, HRMS employee id)
    employee_number: str | None = None
    manager_email: str | None = None
    department: str | None = None
    hire_date: date | None = None
    birthday: str | None = None  # "MM-DD", only when the person consented to share it
    tz: str | None = None
    active: bool = True
    row: int = 0


@dataclass(frozen=True, slots=True)
class RowProblem:
    """Why one record was left out; it changed nothing."""

    row: int
    email: str
    problem: Text


@dataclass(slots=True, kw_only=True)
class SyncReport:
    """What a sync changed (or, in a dry run, would change), by e-mail."""

    created: list[str] = field(default_factory=list)  # e-mails
    updated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    unchanged: int = 0
    problems: list[RowProblem] = field(default_factory=list)
    dry_run: bool = False


def normal_email(value: str) -> str:
    return value.strip().casefold()


def record_problem(record: DirectoryRecord) -> Text | None:
    """What is wrong with a record on its own (its manager is checked against the others)."""
    if not _EMAIL.fullmatch(normal_email(record.email)):
        return text(MsgId.DIRECTORY_BAD_EMAIL, email=record.email)
    if not record.display_name.strip():
        return text(MsgId.DIRECTORY_NO_NAME)
    if record.tz and known_zone(record.tz) is None:
        return text(MsgId.DIRECTORY_BAD_TIMEZONE, tz=record.tz)
    if record.birthday and not _valid_birthday(record.birthday):
        return text(MsgId.DIRECTORY_BAD_BIRTHDAY, birthday=record.birthday)
    if record.manager_email and normal_email(record.manager_email) == normal_email(record.email):
        return text(MsgId.DIRECTORY_OWN_MANAGER)
    return None


def _valid_birthday(value: str) -> bool:
    found = _BIRTHDAY.fullmatch(value)
    if not found:
        return False
    try:
        date(2000, int(found.group(1)), int(found.group(2)))  # a leap year: 02-29 is fine
    except ValueError:
        return False
    return True
