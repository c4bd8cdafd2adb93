"""`admin settings KEY VALUE`: the programme's settings an HR admin may change in chat.

Each key names one field of the policy (or of the chat settings) and how its value is
typed. The preview shows before → after; applying saves it and says what changed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from ..errors import BadSetting, UnknownSetting
from ..messages import MsgId, text
from ..periods import known_zone
from ..policy import ChatSettings, OrgConfig, policy_with
from ..ports import UnitOfWork

_TRUE, _FALSE = {"on", "yes", "true", "1"}, {"off", "no", "false", "0"}
_CHANNEL = re.compile(r"<#([CG][A-Z0-9]+)(?:\|[^>]*)?>|#?([CG][A-Z0-9]{2,})")
_EMOJI = re.compile(r":?([a-z0-9_+'-]{1,100}):?")


@dataclass(frozen=True, slots=True)
class Setting:
    field: str  # on GivingPolicy, or "chat.*" for ChatSettings
    parse: Callable[[str], object]
    expected: MsgId  # what a valid value looks like, for the refusal


def _number(raw: str) -> int:
    if not raw.isdigit() or len(raw) > 9:
        raise ValueError(raw)
    return int(raw)


def _flag(raw: str) -> bool:
    lowered = raw.casefold()
    if lowered not in _TRUE | _FALSE:
        raise ValueError(raw)
    return lowered in _TRUE


def _currency(raw: str) -> str:
    if not re.fullmatch(r"[A-Za-z]{3}", raw):
        raise ValueError(raw)
    return raw.upper()


def _zone(raw: str) -> str:
    if not known_zone(raw):
        raise ValueError(raw)
    return raw


def _leavers(raw: str) -> str:
    if raw.casefold() not in {"keep", "expire"}:
        raise ValueError(raw)
    return raw.casefold()


def _channel(raw: str) -> str | None:
    if raw.casefold() == "none":
        return None
    found = _CHANNEL.fullmatch(raw.strip())
    if found is None:
        raise ValueError(raw)
    return found.group(1) or found.group(2)


def _reaction(raw: str) -> tuple[str, int]:
    """`star 2` (or `:star: 2`): that emoji gives 2 points; 0 stops it giving any."""
    name, _, amount = raw.strip().partition(" ")
    found = _EMOJI.fullmatch(name.casefold())
    if found is None:
        raise ValueError(raw)
    return found.group(1), _number(amount.strip())


_NUMBER, _ON_OFF = MsgId.ADMIN_EXPECT_NUMBER, MsgId.ADMIN_EXPECT_ON_OFF
SETTINGS: dict[str, Setting] = {
    "channel": Setting("chat.recognition_channel", _channel, MsgId.ADMIN_EXPECT_CHANNEL),
    "reaction": Setting("chat.reactions", _reaction, MsgId.ADMIN_EXPECT_REACTION),
    "rollover": Setting("rollover", _flag, _ON_OFF),
    "manager-bonus": Setting("manager_bonus_per_report", _number, _NUMBER),
    "reminders": Setting("reminder_days", _number, _NUMBER),
    "celebrations": Setting("celebrations", _flag, _ON_OFF),
    "birthday-points": Setting("birthday_points", _number, _NUMBER),
    "anniversary-points": Setting("anniversary_points", _number, _NUMBER),
    "digest": Setting("digest", _flag, _ON_OFF),
    "approval-remind": Setting("approval_remind_days", _number, _NUMBER),
    "approval-escalate": Setting("approval_escalate_days", _number, _NUMBER),
    "approval-expire": Setting("approval_expire_days", _number, _NUMBER),
    "finance-approval": Setting("finance_approval_points", _number, _NUMBER),
    "low-water": Setting("gift_card_low_water", _number, _NUMBER),
    "expiry": Setting("points_expire_months", _number, _NUMBER),
    "expiry-warning": Setting("expiry_warning_days", _number, _NUMBER),
    "point-value": Setting("point_value_cents", _number, _NUMBER),
    "currency": Setting("currency", _currency, MsgId.ADMIN_EXPECT_CURRENCY),
    "timezone": Setting("timezone", _zone, MsgId.ADMIN_EXPECT_ZONE),
    "leavers": Setting("leaver_points", _leavers, MsgId.ADMIN_EXPECT_LEAVERS),
    "retention": Setting("reason_retention_years", _number, _NUMBER),
}


def _setting(key: str, raw: str) -> tuple[Setting, object]:
    setting = SETTINGS.get(key.casefold())
    if setting is None:
        raise UnknownSetting(key, tuple(SETTINGS))
    try:
        return setting, setting.parse(raw.strip())
    except ValueError:
        raise BadSetting(key, raw, setting.expected) from None


def _current(config: OrgConfig, setting: Setting, value: object) -> object:
    if setting.field == "chat.recognition_channel":
        return config.chat.recognition_channel
    if setting.field == "chat.reactions":
        emoji = value[0] if isinstance(value, tuple) else ""
        return config.chat.reactions.get(str(emoji), 0)
    return getattr(config.policy, setting.field)


def _after(setting: Setting, value: object) -> object:
    return value[1] if setting.field == "chat.reactions" and isinstance(value, tuple) else value


def _shown(value: object) -> object:
    if isinstance(value, bool):
        return text(MsgId.ADMIN_ON if value else MsgId.ADMIN_OFF)
    if value is None or value == "":
        return text(MsgId.ADMIN_NONE)
    return value


def describe_setting(config: OrgConfig, key: str, raw: str) -> tuple[object, object]:
    """(before, after) as the preview shows them; raises for an unknown key or bad value."""
    setting, value = _setting(key, raw)
    return _shown(_current(config, setting, value)), _shown(_after(setting, value))


async def apply_setting(
    uow: UnitOfWork, config: OrgConfig, key: str, raw: str
) -> tuple[dict[str, object], dict[str, object]]:
    setting, value = _setting(key, raw)
    before = {key: _plain(_current(config, setting, value))}
    if setting.field == "chat.recognition_channel":
        await uow.config.save_chat(replace(config.chat, recognition_channel=_text_or_none(value)))
    elif setting.field == "chat.reactions" and isinstance(value, tuple):
        await uow.config.save_chat(_with_reaction(config.chat, value[0], value[1]))
    else:
        await uow.config.save_policy(policy_with(config.policy, setting.field, value))
    return before, {key: _plain(_after(setting, value))}


def _with_reaction(chat: ChatSettings, emoji: str, amount: int) -> ChatSettings:
    reactions = {k: v for k, v in chat.reactions.items() if k != emoji}
    if amount:
        reactions[emoji] = amount
    return replace(chat, reactions=reactions)


def _text_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


def _plain(value: object) -> object:
    return value if isinstance(value, (int, str, bool)) or value is None else str(value)
