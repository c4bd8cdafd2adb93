"""BambooHR's employee directory as directory records.

`GET {LAUREL_HRMS_URL}/v1/employees/directory`, where the URL is the company's API base
(`https://api.bamboohr.com/api/gateway.php/acme`), with HTTP Basic auth: the API key
(`LAUREL_HRMS_TOKEN`) as user and "x" as password, as BambooHR asks.

Fields read from each entry of `employees` (everything else is ignored):

| field | becomes |
|---|---|
| `id` | the person's external id for the source "bamboohr" |
| `workEmail` | e-mail |
| `displayName`, else `firstName` + `lastName` | name |
| `supervisorEmail`, else `supervisorId` (an `id`), else `supervisor` (a `displayName`) | manager |
| `department` | department |
| `employeeNumber` | employee number |
| `hireDate` (`YYYY-MM-DD`; BambooHR's empty `0000-00-00` counts as none) | hire date |
| `timezone`, else `location` when it is an IANA zone name | time zone |
| `status` (`Active` / `Inactive`; missing: active) | active |

A manager named by id or name must be in the same list (BambooHR's directory gives the
supervisor's display name). Birthdays are never read from the API: it says nothing about
consent. Problems carry the entry's position in the list (1 = first) as their row.
"""

from __future__ import annotations

from datetime import date
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from core.directory import DirectoryRecord, RowProblem
from core.messages import MsgId, Text, text

from . import Parsed
from .http_pull import HrmsUnavailable, RetryPolicy, basic_auth, get_json

DIRECTORY_PATH = "/v1/employees/directory"
NO_DATE = "0000-00-00"


class BambooHrClient:
    """Pulls the whole directory in one request (BambooHR lists everyone it shows)."""

    name = "bamboohr"

    def __init__(self, *, url: str, token: str, policy: RetryPolicy | None = None) -> None:
        self.url = url.rstrip("/") + DIRECTORY_PATH
        self._authorization = basic_auth(token, "x")
        self._policy = policy or RetryPolicy()

    def __repr__(self) -> str:  # never the token
        return f"BambooHrClient({self.url!r})"

    async def fetch(self) -> Parsed:
        payload = await get_json(
            self.url,
            headers={"Accept": "application/json", "Authorization": self._authorization},
            policy=self._policy,
        )
        return read_directory(payload)


def read_directory(payload: Any) -> Parsed:
    """The records of a directory answer; an answer without an `employees` list is refused."""
    employees = payload.get("employees") if isinstance(payload, dict) else None
    if not isinstance(employees, list):
        raise HrmsUnavailable("the BambooHR answer has no `employees` list")
    entries = [e for e in employees if isinstance(e, dict)]
    managers = _Managers(entries)
    parsed = Parsed()
    for row, entry in enumerate(employees, start=1):
        if not isinstance(entry, dict):
            problem = text(MsgId.DIRECTORY_BAD_FIELD, field="employees", value=str(entry)[:80])
            parsed.problems.append(RowProblem(row, "", problem))
            continue
        record, problems = _record(row, entry, managers)
        parsed.problems.extend(problems)
        if record is not None:
            parsed.records.append(record)
    return parsed


def _field(entry: dict[str, Any], key: str) -> str | None:
    value = entry.get(key)
    if value is None:
        return None
    return str(value).strip() or None


class _Managers:
    """Finds a manager's e-mail by BambooHR id or by display name within the same pull."""

    def __init__(self, entries: list[dict[str, Any]]) -> None:
        self._by_id = {_field(e, "id"): _field(e, "workEmail") for e in entries}
        self._by_name: dict[str, list[str | None]] = {}
        for entry in entries:
            name = _field(entry, "displayName")
            if name:
                self._by_name.setdefault(name.casefold(), []).append(_field(entry, "workEmail"))

    def email_of(self, entry: dict[str, Any]) -> str | None:
        """The manager's e-mail; ValueError names the field that points nowhere."""
        if email := _field(entry, "supervisorEmail"):
            return email
        if supervisor_id := _field(entry, "supervisorId"):
            return self._known(self._by_id.get(supervisor_id), "supervisorId", supervisor_id)
        if name := _field(entry, "supervisor"):
            found = self._by_name.get(name.casefold(), [])
            return self._known(found[0] if len(found) == 1 else None, "supervisor", name)
        return None

    @staticmethod
    def _known(email: str | None, key: str, value: str) -> str:
        if not email:
            raise _BadField(key, value)
        return email


class _BadField(ValueError):
    def __init__(self, key: str, value: str) -> None:
        super().__init__(key)
        self.problem: Text = text(MsgId.DIRECTORY_BAD_FIELD, field=key, value=value)


def _record(
    row: int, entry: dict[str, Any], managers: _Managers
) -> tuple[DirectoryRecord | None, list[RowProblem]]:
    email = _field(entry, "workEmail") or ""
    name = _field(entry, "displayName") or " ".join(
        part for part in (_field(entry, "firstName"), _field(entry, "lastName")) if part
    )
    problems: list[RowProblem] = []
    if not name:
        problems.append(RowProblem(row, email, text(MsgId.DIRECTORY_NO_NAME)))
    values: dict[str, Any] = {}
    for key, read in (
        ("manager_email", managers.email_of),
        ("hire_date", _hire_date),
        ("active", _active),
    ):
        try:
            values[key] = read(entry)
        except _BadField as error:
            problems.append(RowProblem(row, email, error.problem))
    if problems:
        return None, problems
    record = DirectoryRecord(
        email=email,
        display_name=name,
        external_id=_field(entry, "id"),
        employee_number=_field(entry, "employeeNumber"),
        department=_field(entry, "department"),
        tz=_timezone(entry),
        row=row,
        **values,
    )
    return record, []


def _hire_date(entry: dict[str, Any]) -> date | None:
    raw = _field(entry, "hireDate")
    if raw is None or raw == NO_DATE:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _BadField("hireDate", raw) from None


def _active(entry: dict[str, Any]) -> bool:
    raw = _field(entry, "status")
    if raw is None:
        return True
    if raw.casefold() in ("active", "inactive"):
        return raw.casefold() == "active"
    raise _BadField("status", raw)


def _timezone(entry: dict[str, Any]) -> str | None:
    """`timezone` as given (the core checks it); `location` only when it names a zone."""
    if tz := _field(entry, "timezone"):
        return tz
    location = _field(entry, "location")
    return location if location in _zones() else None


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())
