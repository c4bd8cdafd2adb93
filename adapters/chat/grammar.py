"""Parse one line of the chat grammar (CONTRACT.md) into a typed request.

Platforms differ only in how a mention looks (`@ana`, `<@U123|ana>`, `<at>Ana</at>`),
so the caller passes the mention pattern; the parser keeps each mention's raw text
for the platform adapter to resolve to a person.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.errors import DomainError
from core.messages import MsgId
from core.periods import Window

CONSOLE_MENTION = re.compile(r"@[\w.+-]+(?:@[\w-]+(?:\.[\w-]+)+)?")
_AMOUNT = re.compile(r"\+(\S+)")
# A value tag is a hashtag that is not just a number: "#ownership" is a value, "#123" an issue.
_TAG = r"#((?!\d+(?![\w-]))[\w-]+)"
_VALUE = re.compile(_TAG)
_TRAILING_VALUES = re.compile(rf"(?:\s*{_TAG})+\s*$")
_SETTING = re.compile(r"(mute|unmute)\s+(\S+)", re.IGNORECASE)
# `redeem ITEM [VARIANT] [QTY] [to ADDRESS]`: a variant is a word that is neither a
# quantity nor "to"; the address is everything after "to" (it may span lines).
_REDEEM = re.compile(
    r"(\S+)(?:\s+(?!to(?:\s|:|$))(?!\d+(?:\s|$))(\S+))?(?:\s+(\d{1,3}))?"
    r"(?:\s+to:?(?:\s+(.*))?)?",
    re.IGNORECASE | re.DOTALL,
)
_CANCEL = re.compile(r"#?(\d{1,12})")


class ChatRequest:
    """Base of everything a line of text can ask for."""


@dataclass(frozen=True)
class Give(ChatRequest):
    mentions: tuple[str, ...]
    amount: int | None
    reason: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Balance(ChatRequest):
    pass


@dataclass(frozen=True)
class History(ChatRequest):
    pass


@dataclass(frozen=True)
class Leaderboard(ChatRequest):
    window: Window
    value: str | None


@dataclass(frozen=True)
class Values(ChatRequest):
    pass


@dataclass(frozen=True)
class Lang(ChatRequest):
    code: str


@dataclass(frozen=True)
class Help(ChatRequest):
    pass


@dataclass(frozen=True)
class Shop(ChatRequest):
    pass


@dataclass(frozen=True)
class RedeemItem(ChatRequest):
    item: str
    quantity: int = 1
    variant: str | None = None
    address: str | None = None  # plain text as typed: sealed before it goes further


@dataclass(frozen=True)
class Redemptions(ChatRequest):
    pass


@dataclass(frozen=True)
class Cancel(ChatRequest):
    redemption_id: int


@dataclass(frozen=True)
class Approvals(ChatRequest):
    pass


@dataclass(frozen=True)
class Settings(ChatRequest):
    """`settings` shows one's reminders; `settings mute KIND` / `settings unmute KIND`."""

    mute: bool | None = None
    kind: str | None = None


@dataclass(frozen=True)
class ActAs(ChatRequest):  # console only
    email: str


@dataclass(frozen=True)
class Quit(ChatRequest):  # console only
    pass


class UnknownCommand(DomainError):
    key = MsgId.ERROR_UNKNOWN_COMMAND

    def __init__(self, line: str) -> None:
        super().__init__(line)
        self.line = line

    def params(self) -> dict[str, object]:
        return {"text": self.line if len(self.line) <= 60 else self.line[:57] + "…"}


class BadAmount(DomainError):
    key = MsgId.ERROR_BAD_AMOUNT

    def __init__(self, amount: str) -> None:
        super().__init__(amount)
        self.amount = amount

    def params(self) -> dict[str, object]:
        return {"amount": f"+{self.amount}"}


class UnknownWindow(DomainError):
    key = MsgId.ERROR_UNKNOWN_WINDOW

    def __init__(self, window: str) -> None:
        super().__init__(window)
        self.window = window

    def params(self) -> dict[str, object]:
        return {"window": self.window}


_SIMPLE: dict[str, ChatRequest] = {
    "balance": Balance(),
    "history": History(),
    "values": Values(),
    "help": Help(),
    "settings": Settings(),
    "shop": Shop(),
    "redemptions": Redemptions(),
    "approvals": Approvals(),
    "quit": Quit(),
    "exit": Quit(),
}


# The verbs of the shared grammar; in chat, a line that starts with none of them gives kudos.
VERBS = frozenset(
    {
        "kudos",
        "balance",
        "history",
        "leaderboard",
        "values",
        "lang",
        "help",
        "settings",
        "shop",
        "redeem",
        "redemptions",
        "cancel",
        "approvals",
    }
)


def parse_chat(line: str, mention: re.Pattern[str]) -> ChatRequest:
    """A line typed to the bot: `kudos` may be left out, and an empty line asks for help."""
    stripped = line.strip() or "help"
    verb = stripped.split(maxsplit=1)[0].casefold()
    return parse(stripped if verb in VERBS else f"kudos {stripped}", mention)


def parse(line: str, mention: re.Pattern[str] = CONSOLE_MENTION) -> ChatRequest:
    """Raises a `DomainError` (with a message for the person) when the line makes no sense."""
    stripped = line.strip()
    verb, _, rest = stripped.partition(" ")
    verb = verb.casefold()
    rest = rest.strip()
    if verb in _SIMPLE and not rest:
        return _SIMPLE[verb]
    if verb == "kudos":
        return parse_give(rest, mention)
    if verb == "leaderboard":
        return _leaderboard(rest)
    if verb == "lang" and rest and " " not in rest:
        return Lang(rest)
    if verb == "settings" and (found := _SETTING.fullmatch(rest)):
        return Settings(mute=found.group(1).casefold() == "mute", kind=found.group(2).casefold())
    if verb == "redeem" and (found := _REDEEM.fullmatch(rest)):
        item, variant, quantity, address = found.groups()
        return RedeemItem(item, int(quantity or 1), variant, address)
    if verb == "cancel" and (found := _CANCEL.fullmatch(rest)):
        return Cancel(int(found.group(1)))
    if verb == "as" and rest and " " not in rest:
        return ActAs(rest)
    raise UnknownCommand(stripped)


def parse_give(text: str, mention: re.Pattern[str] = CONSOLE_MENTION) -> Give:
    """`@a [@b …] [+N] reason [#value …]`: the mentions before the reason receive."""
    mentions: list[str] = []
    rest = text.strip()
    amount: int | None = None
    while True:
        found = mention.match(rest)
        if found:
            mentions.append(found.group(0))
        else:
            found = _AMOUNT.match(rest)
            if not found or amount is not None:
                break
            amount = _amount(found.group(1))
        rest = rest[found.end() :].lstrip(" ,")
    if amount is None and (later := re.search(r"(?:^|\s)\+(\S+)", rest)):
        amount = _amount(later.group(1))
        rest = (rest[: later.start()] + rest[later.end() :]).strip()
    values = tuple(dict.fromkeys(_VALUE.findall(rest)))
    reason = _TRAILING_VALUES.sub("", rest).strip()
    return Give(tuple(dict.fromkeys(mentions)), amount, reason, values)


def _amount(raw: str) -> int:
    # isdecimal, not isdigit: "²" is a digit that int() refuses (it escaped as ValueError)
    if not raw.isdecimal() or len(raw) > 9:
        raise BadAmount(raw)
    return int(raw)


def _leaderboard(rest: str) -> Leaderboard:
    window, value = Window.MONTH, None
    for word in rest.split():
        if word.startswith("#") and value is None:
            value = word[1:]
            continue
        try:
            window = Window(word.casefold())
        except ValueError:
            raise UnknownWindow(word) from None
    return Leaderboard(window, value)
