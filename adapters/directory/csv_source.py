"""Reading the people directory from a CSV file exported by the HR system.

The first non-blank line is the header. Column names are case-insensitive (spaces and
hyphens count as underscores, so "First Name" is `first_name`); unknown columns are
ignored, so an export can carry more than laurel reads. Cells are separated by `,`, `;`
or a tab, whichever the header uses most. The file is UTF-8, with or without a BOM
(Excel's "CSV UTF-8" writes one).

| column | meaning |
|---|---|
| `email` | required; how laurel recognises the person |
| `name` | required, or `first_name` and `last_name` instead |
| `manager_email` | the manager's e-mail (in the file or already known) |
| `department` | free text |
| `hire_date` | `YYYY-MM-DD` |
| `birthday` | `MM-DD` or `YYYY-MM-DD`; only day and month are kept |
| `birthday_consent` | `yes`/`true`/`1`: the person agreed; otherwise `birthday` is not read |
| `timezone` | an IANA zone such as `Europe/Berlin` |
| `employee_id` | the HR system's id for the person |
| `employee_number` | the payroll number |
| `active` | `yes`/`no`/`true`/`false`/`1`/`0`; empty: active |

Problems carry the file's line number (the header is line 1 when it opens the file). A
row with a problem is left out whole; the other rows still count. Checks that need no
parsing (a valid e-mail, a known time zone, a known manager) are the core's, in
`SyncDirectory`, so every source is held to the same rules.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Protocol, TypeVar

from core.directory import DirectoryRecord, RowProblem
from core.messages import MsgId, text

from . import Parsed

T = TypeVar("T")

DELIMITERS = (",", ";", "\t")  # on a tie (or none at all) the first wins
TRUE = frozenset({"yes", "true", "1"})
FALSE = frozenset({"no", "false", "0"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_BIRTHDAY = re.compile(r"(?:(\d{4})-)?(\d{2})-(\d{2})")


SOURCE = "csv"  # the directory source of CSV files, imported by hand or on schedule


class CsvUnreadable(Exception):
    """The file cannot be read at all (missing, a folder, not UTF-8): nothing was taken in."""


def read_csv(path: Path) -> Parsed:
    """The records of a directory CSV file, and the problems of the rows left out."""
    content = _text_of(path)
    reader = csv.reader(io.StringIO(content, newline=""), delimiter=_delimiter(content))
    try:
        rows = list(_numbered_rows(reader))
    except csv.Error as error:
        raise CsvUnreadable(f"{path}: line {reader.line_num}: {error}") from None
    if not rows:
        return Parsed(problems=[_header_problem(1, [])])
    (header_line, header), *body = rows
    columns = _columns(header)
    if "email" not in columns or not (
        "name" in columns or {"first_name", "last_name"} <= columns.keys()
    ):
        return Parsed(problems=[_header_problem(header_line, header)])
    parsed = Parsed()
    for line, cells in body:
        row = _Row(line, {name: cells[i] for name, i in columns.items() if i < len(cells)})
        record = row.record()
        parsed.problems.extend(row.problems)
        if record is not None:
            parsed.records.append(record)
    return parsed


def _text_of(path: Path) -> str:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise CsvUnreadable(f"{path}: no such file") from None
    except IsADirectoryError:
        raise CsvUnreadable(f"{path}: is a folder, not a CSV file") from None
    except OSError as error:
        raise CsvUnreadable(f"{path}: {error.strerror or error}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise CsvUnreadable(
            f"{path}: line {line} is not UTF-8; export the file as CSV UTF-8"
        ) from None


def _delimiter(content: str) -> str:
    """The separator the header uses most (HR exports in many locales use `;`)."""
    header = next((line for line in content.splitlines() if line.strip()), "")
    return max(DELIMITERS, key=header.count)


class _LineReader(Protocol):
    line_num: int

    def __iter__(self) -> Iterator[list[str]]: ...


def _numbered_rows(reader: _LineReader) -> Iterator[tuple[int, list[str]]]:
    """Non-blank rows with the line each starts on (a quoted cell may span lines)."""
    start = 1
    for cells in reader:
        if any(cell.strip() for cell in cells):
            yield start, cells
        start = reader.line_num + 1


def _columns(header: list[str]) -> dict[str, int]:
    """Column name -> position; the first of two equal names wins."""
    columns: dict[str, int] = {}
    for position, raw in enumerate(header):
        name = re.sub(r"[\s-]+", "_", raw.strip().casefold())
        columns.setdefault(name, position)
    return columns


def _header_problem(line: int, header: list[str]) -> RowProblem:
    shown = ", ".join(cell.strip() for cell in header)
    return RowProblem(line, "", text(MsgId.DIRECTORY_BAD_FIELD, field="header", value=shown))


@dataclass
class _Row:
    """One data row being read; each cell that does not parse adds a problem."""

    line: int
    cells: dict[str, str]
    problems: list[RowProblem] = field(default_factory=list)

    @property
    def email(self) -> str:
        return self.get("email") or ""

    def get(self, column: str) -> str | None:
        value = self.cells.get(column, "").strip()
        return value or None

    def parse(self, column: str, parser: Callable[[str], T]) -> T | None:
        raw = self.get(column)
        if raw is None:
            return None
        try:
            return parser(raw)
        except ValueError:
            problem = text(MsgId.DIRECTORY_BAD_FIELD, field=column, value=raw)
            self.problems.append(RowProblem(self.line, self.email, problem))
            return None

    def record(self) -> DirectoryRecord | None:
        name = self.get("name") or " ".join(
            part for part in (self.get("first_name"), self.get("last_name")) if part
        )
        if not name:
            self.problems.append(RowProblem(self.line, self.email, text(MsgId.DIRECTORY_NO_NAME)))
        hire_date = self.parse("hire_date", _iso_date)
        active = self.parse("active", _boolean)
        birthday = self.parse("birthday", _day_and_month) if self._consented() else None
        if self.problems:
            return None
        return DirectoryRecord(
            email=self.email,
            display_name=name,
            external_id=self.get("employee_id"),
            employee_number=self.get("employee_number"),
            manager_email=self.get("manager_email"),
            department=self.get("department"),
            hire_date=hire_date,
            birthday=birthday,
            tz=self.get("timezone"),
            active=True if active is None else active,
            row=self.line,
        )

    def _consented(self) -> bool:
        """Only an explicit yes lets the birthday in; it is not even parsed otherwise."""
        return self.parse("birthday_consent", _boolean) is True


def _boolean(raw: str) -> bool:
    value = raw.casefold()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise ValueError(raw)


def _iso_date(raw: str) -> date:
    if not _ISO_DATE.fullmatch(raw):
        raise ValueError(raw)
    return date.fromisoformat(raw)


def _day_and_month(raw: str) -> str:
    """`MM-DD` from `MM-DD` or `YYYY-MM-DD`; the year is never kept."""
    found = _BIRTHDAY.fullmatch(raw)
    if not found:
        raise ValueError(raw)
    year, month, day = found.groups()
    date(int(year or 2000), int(month), int(day))  # 2000: a leap year, so 02-29 is fine
    return f"{month}-{day}"
