"""Parse an admin line (CONTRACT.md "Admin grammar") into a typed request.

`admin` (Teams, console) or `/kudos-admin` (Slack) comes before it; the caller strips it.
Words are split like a shell does, so a name of several words is quoted: `catalog add
"Team lunch" 200`. A line in the wrong shape raises `AdminUsage` with the right shape.
Mentions stay raw, for the platform to resolve, like in the chat grammar.
"""

from __future__ import annotations

import re
import shlex
from dataclasses import dataclass
from datetime import date

from core.errors import AdminUsage

from .grammar import UnknownCommand

_QUOTES = str.maketrans({"“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "‘": "'", "’": "'"})
_PERIODS = ("week", "month", "quarter", "year")
_KINDS = ("gift_card", "merchandise", "experience", "charity", "cash_out", "custom")
_EXPORTS = ("recognitions", "balances", "redemptions", "people")
_WINDOWS = ("week", "month", "quarter")


class AdminRequest:
    """Base of everything an admin line can ask for."""


@dataclass(frozen=True)
class TargetRef:
    """Whom an allowance is for: a mention, `dept:NAME`, `role:NAME` or `everyone`."""

    kind: str  # person, department, role, everyone
    value: str = ""  # the raw mention, the department or the role


@dataclass(frozen=True)
class AdminHelp(AdminRequest):
    pass


@dataclass(frozen=True)
class Confirm(AdminRequest):
    """Typed `confirm` / `cancel` (the console, where there are no buttons)."""

    yes: bool


@dataclass(frozen=True)
class BudgetSet(AdminRequest):
    target: TargetRef
    amount: int
    period: str | None


@dataclass(frozen=True)
class BudgetShow(AdminRequest):
    target: TargetRef | None


@dataclass(frozen=True)
class TopUpRequest(AdminRequest):
    target: TargetRef
    amount: int
    reason: str


@dataclass(frozen=True)
class LimitSet(AdminRequest):
    name: str
    value: int


@dataclass(frozen=True)
class ValuesChange(AdminRequest):
    verb: str  # add, retire, rename, required
    name: str = ""
    new_name: str = ""
    on: bool = False


@dataclass(frozen=True)
class TierSet(AdminRequest):
    name: str
    threshold: int
    badge: str
    bonus: int | None


@dataclass(frozen=True)
class TierRemove(AdminRequest):
    name: str


@dataclass(frozen=True)
class CatalogPut(AdminRequest):
    name: str
    new: bool
    rename: str | None = None
    cost: int | None = None
    kind: str | None = None
    stock: int | None = None
    unlimited: bool = False
    tier: str | None = None
    approval: bool | None = None


@dataclass(frozen=True)
class CatalogRetire(AdminRequest):
    name: str


@dataclass(frozen=True)
class CatalogCodes(AdminRequest):
    """Gift-card codes for an item, from a file shared in chat with the line."""

    name: str


@dataclass(frozen=True)
class RoleChange(AdminRequest):
    mention: str
    role: str
    grant: bool


@dataclass(frozen=True)
class SettingSet(AdminRequest):
    key: str
    value: str


@dataclass(frozen=True)
class ExportRequest(AdminRequest):
    kind: str
    since: date | None
    until: date | None


@dataclass(frozen=True)
class PersonExport(AdminRequest):
    email: str


@dataclass(frozen=True)
class PersonErase(AdminRequest):
    email: str


@dataclass(frozen=True)
class AuditRequest(AdminRequest):
    since: date | None


@dataclass(frozen=True)
class StatsRequest(AdminRequest):
    window: str
    department: str | None


@dataclass(frozen=True)
class InsightsRequest(AdminRequest):
    pass


USAGE = {
    "budget": (
        "budget @person|dept:NAME|role:NAME|everyone N [week|month|quarter|year]"
        " · budget show [@person]"
    ),
    "topup": "topup @person|dept:NAME N reason",
    "limits": "limits daily|cap|default|reason N",
    "values": (
        "values add NAME · values retire NAME · values rename OLD NEW · values required on|off"
    ),
    "tiers": "tiers set NAME THRESHOLD [BADGE] [bonus N] · tiers remove NAME",
    "catalog": (
        "catalog add NAME COST [TYPE] [stock N] [tier NAME] [approval on|off]"
        " · catalog edit NAME [name NEW] [cost N] [type TYPE] [stock N|none] [tier NAME|none]"
        " [approval on|off] · catalog retire NAME · catalog codes NAME (with a CSV file)"
    ),
    "roles": "roles grant @person hr_admin|finance|approver · roles revoke @person ROLE",
    "settings": "settings KEY VALUE",
    "export": "export recognitions|balances|redemptions|people [FROM] [TO] · export person EMAIL",
    "erase": "erase person EMAIL",
    "audit": "audit [SINCE]",
    "stats": "stats [week|month|quarter] [dept:NAME]",
    "insights": "insights",
}


def parse_admin(line: str, mention: re.Pattern[str]) -> AdminRequest:
    """Raises `AdminUsage` (the verb is known, its shape is not) or `UnknownCommand`."""
    try:
        words = shlex.split(line.translate(_QUOTES))
    except ValueError:
        raise AdminUsage('close the quotes: "Team lunch"') from None
    if not words or words[0].casefold() == "help":
        return AdminHelp()
    verb, rest = words[0].casefold(), words[1:]
    if verb in ("confirm", "cancel") and not rest:
        return Confirm(verb == "confirm")
    parser = _PARSERS.get(verb)
    if parser is None:
        raise UnknownCommand(line.strip())
    try:
        return parser(rest, mention)
    except (ValueError, IndexError):
        raise AdminUsage(USAGE[verb]) from None


def _budget(words: list[str], mention: re.Pattern[str]) -> AdminRequest:
    if words and words[0].casefold() == "show":
        return BudgetShow(_target(words[1], mention) if len(words) == 2 else None)
    target, amount = _target(words[0], mention), _count(words[1])
    period = words[2].casefold() if len(words) == 3 else None
    if len(words) > 3 or (period is not None and period not in _PERIODS):
        raise ValueError(words)
    return BudgetSet(target, amount, period)


def _topup(words: list[str], mention: re.Pattern[str]) -> AdminRequest:
    target, amount, reason = _target(words[0], mention), _count(words[1]), " ".join(words[2:])
    if target.kind not in ("person", "department") or not reason or not amount:
        raise ValueError(words)
    return TopUpRequest(target, amount, reason)


def _limits(words: list[str], _: re.Pattern[str]) -> AdminRequest:
    name, value = words[0].casefold(), _count(words[1])
    if name not in ("daily", "cap", "default", "reason") or len(words) != 2:
        raise ValueError(words)
    return LimitSet(name, value)


def _values(words: list[str], _: re.Pattern[str]) -> AdminRequest:
    verb = words[0].casefold()
    if verb in ("add", "retire") and len(words) == 2:
        return ValuesChange(verb, name=words[1])
    if verb == "rename" and len(words) == 3:
        return ValuesChange(verb, name=words[1], new_name=words[2])
    if verb == "required" and len(words) == 2:
        return ValuesChange(verb, on=_on(words[1]))
    raise ValueError(words)


def _tiers(words: list[str], _: re.Pattern[str]) -> AdminRequest:
    verb = words[0].casefold()
    if verb == "remove" and len(words) == 2:
        return TierRemove(words[1])
    if verb != "set" or len(words) < 3:
        raise ValueError(words)
    name, threshold, extra = words[1], _count(words[2]), words[3:]
    bonus = None
    if len(extra) >= 2 and extra[-2].casefold() == "bonus":
        bonus, extra = _count(extra[-1]), extra[:-2]
    if len(extra) > 1:
        raise ValueError(words)
    return TierSet(name, threshold, extra[0] if extra else "", bonus)


def _catalog(words: list[str], _: re.Pattern[str]) -> AdminRequest:
    verb = words[0].casefold()
    if verb == "retire" and len(words) == 2:
        return CatalogRetire(words[1])
    if verb == "codes" and len(words) == 2:
        return CatalogCodes(words[1])
    if verb == "add":
        name, cost, options = words[1], _count(words[2]), words[3:]
        kind = None
        if options and options[0].casefold() in _KINDS:
            kind, options = options[0].casefold(), options[1:]
        return _item_options(CatalogPut(name, new=True, cost=cost, kind=kind or "custom"), options)
    if verb == "edit" and len(words) >= 3:
        return _item_options(CatalogPut(words[1], new=False), words[2:])
    raise ValueError(words)


def _item_options(request: CatalogPut, options: list[str]) -> CatalogPut:
    """`stock N|none`, `tier NAME|none`, `approval on|off`, `cost N`, `type T`, `name NEW`."""
    if len(options) % 2:
        raise ValueError(options)
    found = dict(request.__dict__)
    for key, value in zip(options[::2], options[1::2], strict=True):
        match key.casefold():
            case "stock" if value.casefold() == "none":
                found["unlimited"] = True
            case "stock":
                found["stock"] = _count(value)
            case "tier":
                found["tier"] = "" if value.casefold() == "none" else value
            case "approval":
                found["approval"] = _on(value)
            case "cost":
                found["cost"] = _count(value)
            case "type" if value.casefold() in _KINDS:
                found["kind"] = value.casefold()
            case "name":
                found["rename"] = value
            case _:
                raise ValueError(key)
    return CatalogPut(**found)


def _roles(words: list[str], mention: re.Pattern[str]) -> AdminRequest:
    verb = words[0].casefold()
    if verb not in ("grant", "revoke") or len(words) != 3 or not mention.fullmatch(words[1]):
        raise ValueError(words)
    return RoleChange(words[1], words[2].casefold().removeprefix("role:"), verb == "grant")


def _settings(words: list[str], _: re.Pattern[str]) -> AdminRequest:
    if len(words) < 2:
        raise ValueError(words)
    return SettingSet(words[0].casefold(), " ".join(words[1:]))


def _export(words: list[str], _: re.Pattern[str]) -> AdminRequest:
    kind = words[0].casefold()
    if kind == "person" and len(words) == 2:
        return PersonExport(words[1])
    if kind not in _EXPORTS or len(words) > 3:
        raise ValueError(words)
    dates = [_day(w) for w in words[1:]]
    return ExportRequest(kind, *[*dates, None, None][:2])


def _erase(words: list[str], _: re.Pattern[str]) -> AdminRequest:
    if len(words) != 2 or words[0].casefold() != "person":
        raise ValueError(words)
    return PersonErase(words[1])


def _audit(words: list[str], _: re.Pattern[str]) -> AdminRequest:
    if len(words) > 1:
        raise ValueError(words)
    return AuditRequest(_day(words[0]) if words else None)


def _stats(words: list[str], _: re.Pattern[str]) -> AdminRequest:
    window, department = "month", None
    for word in words:
        if word.casefold().startswith("dept:"):
            department = word[5:]
        elif word.casefold() in _WINDOWS:
            window = word.casefold()
        else:
            raise ValueError(word)
    return StatsRequest(window, department)


def _insights(words: list[str], _: re.Pattern[str]) -> AdminRequest:
    if words:
        raise ValueError(words)
    return InsightsRequest()


def _target(word: str, mention: re.Pattern[str]) -> TargetRef:
    lowered = word.casefold()
    if lowered.startswith("dept:") and len(word) > 5:
        return TargetRef("department", word[5:])
    if lowered.startswith("role:") and len(word) > 5:
        return TargetRef("role", lowered[5:])
    if lowered in ("everyone", "default"):
        return TargetRef("everyone")
    if mention.fullmatch(word):
        return TargetRef("person", word)
    raise ValueError(word)


def _day(raw: str) -> date:
    """A date an admin means: the years at either end of `date` overflowed later, when a
    day was added or it moved to UTC (found by the fuzzer: `export balances 9999-12-31`)."""
    day = date.fromisoformat(raw)
    if not 1900 <= day.year <= 9000:
        raise ValueError(raw)
    return day


def _count(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 9:
        raise ValueError(raw)
    return int(raw)


def _on(raw: str) -> bool:
    lowered = raw.casefold()
    if lowered not in ("on", "off", "yes", "no"):
        raise ValueError(raw)
    return lowered in ("on", "yes")


_PARSERS = {
    "budget": _budget,
    "topup": _topup,
    "limits": _limits,
    "values": _values,
    "tiers": _tiers,
    "catalog": _catalog,
    "roles": _roles,
    "settings": _settings,
    "export": _export,
    "erase": _erase,
    "audit": _audit,
    "stats": _stats,
    "insights": _insights,
}
