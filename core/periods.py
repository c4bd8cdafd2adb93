"""Calendar periods (week, month, quarter, year) computed in a given time zone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class PeriodKind(StrEnum):
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


class Window(StrEnum):
    """A leaderboard window: the current calendar period, or all time."""

    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"
    ALL = "all"


@dataclass(frozen=True, slots=True)
class Period:
    kind: PeriodKind
    start: date
    end: date  # exclusive

    @property
    def key(self) -> str:
        # ISO start dates sort chronologically across kinds, which lets the
        # allowance refresh compare keys with a plain "<" in SQL.
        return self.start.isoformat()

    def end_instant(self, tz: str) -> datetime:
        """The moment the period ends, at local midnight in `tz`."""
        return local_midnight(self.end, tz)


def known_zone(name: str | None) -> str | None:
    """The IANA time zone name if this machine knows it, else None."""
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def local_day(instant: datetime, tz: str) -> date:
    return instant.astimezone(ZoneInfo(tz)).date()


def period_containing(day: date, kind: PeriodKind) -> Period:
    if kind is PeriodKind.WEEK:
        start = day - timedelta(days=day.weekday())  # ISO weeks start on Monday
        return Period(kind, start, start + timedelta(days=7))
    if kind is PeriodKind.MONTH:
        start = day.replace(day=1)
        return Period(kind, start, _add_months(start, 1))
    if kind is PeriodKind.QUARTER:
        start = date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
        return Period(kind, start, _add_months(start, 3))
    start = date(day.year, 1, 1)
    return Period(kind, start, date(day.year + 1, 1, 1))


def bucket_key(window: Window, day: date) -> str:
    """The storage key of the leaderboard bucket that holds `day`."""
    if window is Window.ALL:
        return "all"
    return f"{window.value}:{period_containing(day, PeriodKind(window.value)).key}"


def all_bucket_keys(day: date) -> list[str]:
    return [bucket_key(window, day) for window in Window]


def _add_months(first_of_month: date, months: int) -> date:
    index = first_of_month.month - 1 + months
    return date(first_of_month.year + index // 12, index % 12 + 1, 1)


def months_before(day: date, months: int) -> date:
    """The same day `months` earlier (the month's last day when it is shorter)."""
    index = day.year * 12 + day.month - 1 - months
    year, month = divmod(index, 12)
    first = date(year, month + 1, 1)
    last = (_add_months(first, 1) - timedelta(days=1)).day
    return first.replace(day=min(day.day, last))


def local_midnight(day: date, tz: str) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(tz))


MORNING = 9  # laurel writes to people from 9:00 local time…
EVENING = 18  # …until 18:00; nothing at night


def daytime(instant: datetime, tz: str, start: int = MORNING) -> bool:
    """Whether it is a sensible hour to write to someone in `tz` (from `start`)."""
    return start <= instant.astimezone(ZoneInfo(tz)).hour < EVENING
