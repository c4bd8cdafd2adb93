"""A person as a SCIM User, and a SCIM User as the `DirectoryRecord` the core takes in.

laurel's e-mail is the primary (else the work, else the first) address in `emails`, or the
`userName` when it is an e-mail address and `emails` is empty: Entra's default userName is
the userPrincipalName, which is not always the mailbox. The identity provider's own
representation is kept (`store.StoredUser.document`) and returned as it was sent while
laurel agrees with it; when another source (CSV, HRMS) changed the person since, laurel's
value is shown instead, so a GET never hides what laurel really holds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from scim2_models import Context, Email, Meta

from core.directory import DirectoryRecord, normal_email
from core.people import Person
from core.periods import known_zone

from .errors import ScimError
from .models import EnterpriseUser, Manager, UserResource
from .store import StoredUser

_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class Wanted:
    """What a request asks laurel to hold about one user, before the core takes it in."""

    user: UserResource
    email: str
    manager_id: int | None


def wanted(user: UserResource) -> Wanted:
    """Check what laurel needs of a User (an e-mail, a manager id that is a number)."""
    email = laurel_email(user)
    if email is None:
        raise ScimError(
            400,
            "invalidValue",
            "laurel needs an e-mail address: in emails (primary or work), or as userName",
        )
    return Wanted(user=user, email=email, manager_id=_manager_id(user))


def user_name(user: UserResource) -> str:
    if not user.user_name or not user.user_name.strip():
        raise ScimError(400, "invalidValue", "userName is required")
    return user.user_name


def record(want: Wanted, *, manager_email: str | None, current: Person | None) -> DirectoryRecord:
    """The record for the core. SCIM says nothing of hire dates and birthdays: the ones
    laurel has (from a CSV or an HRMS) are kept."""
    user = want.user
    extension = user[EnterpriseUser]
    return DirectoryRecord(
        email=want.email,
        display_name=laurel_name(user, want.email),
        external_id=user.external_id,
        employee_number=extension.employee_number if extension else None,
        manager_email=manager_email,
        department=extension.department if extension else None,
        hire_date=current.hire_date if current else None,
        birthday=current.birthday if current else None,
        tz=known_zone(user.timezone),
        active=_active(user),
    )


def laurel_email(user: UserResource) -> str | None:
    emails = [e for e in user.emails or [] if e.value]
    chosen = (
        next((e for e in emails if e.primary), None)
        or next((e for e in emails if e.type == Email.Type.work), None)
        or (emails[0] if emails else None)
    )
    if chosen is not None and chosen.value:
        return normal_email(str(chosen.value))
    if user.user_name and _EMAIL.fullmatch(user.user_name.strip()):
        return normal_email(user.user_name)
    return None


def laurel_name(user: UserResource, email: str) -> str:
    """displayName, else name.formatted, else given and family name, else the mailbox."""
    name = user.name
    parts = [name.given_name, name.family_name] if name else []
    for candidate in (
        user.display_name,
        name.formatted if name else None,
        " ".join(p.strip() for p in parts if p and p.strip()),
    ):
        if candidate and candidate.strip():
            return candidate.strip()
    return email.split("@", 1)[0]


def document(user: UserResource) -> dict[str, Any]:
    """What is kept of a request: what laurel does not hold itself (userName, name parts,
    e-mail types, the time zone as sent), and what it sent for what laurel does hold."""
    kept = user.model_copy(deep=True)
    kept.id = None
    kept.meta = None
    kept[EnterpriseUser] = None  # department, employee number and manager are laurel's
    return kept.model_dump(scim_ctx=Context.DEFAULT)


def to_scim(person: Person, stored: StoredUser, *, base_url: str) -> UserResource:
    """The User as laurel holds it now: the stored representation, corrected where laurel's
    data changed since, with laurel's id, manager link and meta."""
    user = UserResource.model_validate(stored.document, scim_ctx=Context.DEFAULT)
    user.id = str(person.id)
    email = laurel_email(user)
    if email != person.email:
        user.emails = [Email(value=person.email, type=Email.Type.work, primary=True)]
        email = person.email
    if laurel_name(user, email) != person.display_name:
        user.display_name = person.display_name
    if _active(user) != person.active:
        user.active = person.active
    user[EnterpriseUser] = _enterprise(person, base_url)
    user.meta = Meta(
        resource_type="User",
        created=stored.created_at,
        last_modified=stored.updated_at,
        location=f"{base_url}/Users/{person.id}",
    )
    return user


def _enterprise(person: Person, base_url: str) -> EnterpriseUser | None:
    manager = None
    if person.manager_id is not None:
        manager = Manager(value=str(person.manager_id), ref=f"{base_url}/Users/{person.manager_id}")
    if manager is None and person.department is None and person.employee_number is None:
        return None
    return EnterpriseUser(
        employee_number=person.employee_number, department=person.department, manager=manager
    )


def _manager_id(user: UserResource) -> int | None:
    extension = user[EnterpriseUser]
    manager = extension.manager if extension else None
    if manager is None or not (manager.value or manager.ref):
        return None
    reference = manager.value or str(manager.ref).rstrip("/").rsplit("/", 1)[-1]
    if not reference.isdigit():
        raise ScimError(400, "invalidValue", f"manager {reference!r} is not a laurel user id")
    return int(reference)


def _active(user: UserResource) -> bool:
    return True if user.active is None else user.active
