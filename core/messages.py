"""User-facing message ids and the `Text` value that carries one to a renderer.

The wording lives in the gettext catalogues under core/locales/<lang>/LC_MESSAGES/laurel.po,
one per language; the ids below are their msgids. Adapters render a `Text` in the
reader's language (see adapters/i18n). Params that are `Text` render recursively, so
"{points}" can itself be a pluralised `Text(MsgId.POINTS, count=n)`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

LANGUAGES: tuple[str, ...] = ("en", "de", "fr", "it", "ar")
RTL_LANGUAGES: frozenset[str] = frozenset({"ar"})


class MsgId(StrEnum):
    # quantities (plural forms)
    POINTS = "points"
    KUDOS_COUNT = "kudos.count"
    CHARACTERS = "characters"
    # giving
    KUDOS_GIVEN = "kudos.given"
    KUDOS_GIVEN_EACH = "kudos.given_each"
    KUDOS_GIVEN_VALUES = "kudos.given.values"
    KUDOS_ALLOWANCE_LEFT = "kudos.allowance_left"
    KUDOS_RECEIVED = "kudos.received"
    KUDOS_REVOKED = "kudos.revoked"
    KUDOS_REVOKED_NOTICE = "kudos.revoked_notice"
    TIER_REACHED = "tier.reached"
    # balance
    BALANCE_TITLE = "balance.title"
    BALANCE_EARNED = "balance.earned"
    BALANCE_HELD = "balance.held"
    BALANCE_ALLOWANCE = "balance.allowance"
    BALANCE_TIER = "balance.tier"
    BALANCE_NO_TIER = "balance.no_tier"
    BALANCE_NEXT_TIER = "balance.next_tier"
    BALANCE_TOP_TIER = "balance.top_tier"
    # history
    HISTORY_TITLE = "history.title"
    HISTORY_EMPTY = "history.empty"
    HISTORY_RECEIVED = "history.received"
    HISTORY_GIVEN = "history.given"
    HISTORY_REVOKED_MARK = "history.revoked_mark"
    HISTORY_REVOKED_LINE = "history.revoked_line"
    # leaderboard
    LEADERBOARD_TITLE = "leaderboard.title"
    LEADERBOARD_RECEIVERS = "leaderboard.receivers"
    LEADERBOARD_GIVERS = "leaderboard.givers"
    LEADERBOARD_EMPTY = "leaderboard.empty"
    LEADERBOARD_LINE = "leaderboard.line"
    LEADERBOARD_VALUE = "leaderboard.value"
    WINDOW_WEEK = "window.week"
    WINDOW_MONTH = "window.month"
    WINDOW_QUARTER = "window.quarter"
    WINDOW_YEAR = "window.year"
    WINDOW_ALL = "window.all"
    # values and language
    VALUES_TITLE = "values.title"
    VALUES_EMPTY = "values.empty"
    VALUE_LINE = "values.line"
    VALUES_REQUIRED_NOTE = "values.required_note"
    LANG_CHANGED = "lang.changed"
    LANGUAGE_NAME = "language.name"
    # help
    HELP_TITLE = "help.title"
    HELP_KUDOS = "help.kudos"
    HELP_BALANCE = "help.balance"
    HELP_HISTORY = "help.history"
    HELP_LEADERBOARD = "help.leaderboard"
    HELP_VALUES = "help.values"
    HELP_LANG = "help.lang"
    HELP_HELP = "help.help"
    HELP_AS = "help.as"
    HELP_QUIT = "help.quit"
    # chat surfaces (Slack, Teams)
    ANNOUNCEMENT = "chat.announcement"
    GIVE_BUTTON = "chat.give_button"
    HOME_RECENT = "chat.home_recent"
    HOME_TOP = "chat.home_top"
    MODAL_TITLE = "chat.modal_title"
    MODAL_SUBMIT = "chat.modal_submit"
    MODAL_CLOSE = "chat.modal_close"
    MODAL_RECEIVERS = "chat.modal_receivers"
    MODAL_RECEIVERS_HINT = "chat.modal_receivers_hint"
    MODAL_AMOUNT = "chat.modal_amount"
    MODAL_REASON = "chat.modal_reason"
    MODAL_VALUES = "chat.modal_values"
    INTRO = "chat.intro"
    WELCOME = "chat.welcome"
    OUTCOME_APPROVE = "decision.approve"
    OUTCOME_DECLINE = "decision.decline"
    OUTCOME_CONFIRM = "decision.confirm"
    OUTCOME_CANCEL = "decision.cancel"
    DECIDED_APPROVE = "decision.approved_by"
    DECIDED_DECLINE = "decision.declined_by"
    DECIDED_CONFIRM = "decision.confirmed_by"
    DECIDED_CANCEL = "decision.cancelled_by"
    ALREADY_DECIDED = "decision.already"
    # scheduler: reminders, celebrations, digest; personal settings
    REMINDER_ALLOWANCE = "reminder.allowance"
    CELEBRATION_BIRTHDAY = "celebration.birthday"
    CELEBRATION_ANNIVERSARY = "celebration.anniversary"
    CELEBRATION_POINTS = "celebration.points"
    DIGEST_TITLE = "digest.title"
    DIGEST_KUDOS = "digest.kudos"
    DIGEST_TOP_VALUES = "digest.top_values"
    DIGEST_TOP_RECEIVERS = "digest.top_receivers"
    DIGEST_NEW_TIERS = "digest.new_tiers"
    DIGEST_NEW_TIER_LINE = "digest.new_tier_line"
    DIGEST_QUIET = "digest.quiet"
    SETTINGS_TITLE = "settings.title"
    SETTINGS_KIND_ON = "settings.kind_on"
    SETTINGS_KIND_OFF = "settings.kind_off"
    SETTINGS_HOWTO = "settings.howto"
    YEARS = "unit.years"
    HELP_SETTINGS = "help.settings"
    ERROR_UNKNOWN_REMINDER = "error.unknown_reminder"
    # rewards
    SHOP_TITLE = "shop.title"
    SHOP_LINE = "shop.line"
    SHOP_LOCKED_TIER = "shop.locked_tier"
    SHOP_LOCKED_STOCK = "shop.locked_stock"
    SHOP_LOCKED_WINDOW = "shop.locked_window"
    SHOP_LOCKED_POINTS = "shop.locked_points"
    SHOP_EMPTY = "shop.empty"
    SHOP_HOWTO = "shop.howto"
    REDEEM_REQUESTED = "redeem.requested"
    REDEEM_DONE = "redeem.done"
    REDEMPTIONS_TITLE = "redemptions.title"
    REDEMPTIONS_LINE = "redemptions.line"
    REDEMPTIONS_EMPTY = "redemptions.empty"
    STATUS_PENDING = "status.pending"
    STATUS_APPROVED = "status.approved"
    STATUS_DECLINED = "status.declined"
    STATUS_CANCELLED = "status.cancelled"
    STATUS_EXPIRED = "status.expired"
    APPROVALS_TITLE = "approvals.title"
    APPROVALS_LINE = "approvals.line"
    APPROVALS_EMPTY = "approvals.empty"
    CANCEL_DONE = "cancel.done"
    APPROVAL_REQUEST = "approval.request"
    REDEMPTION_APPROVED = "redemption.approved"
    REDEMPTION_DECLINED = "redemption.declined"
    REDEMPTION_NOTE = "redemption.note"
    REDEMPTION_EXPIRED = "redemption.expired"
    REDEMPTION_CODE = "redemption.code"
    GIFT_CARDS_LOW = "gift_cards.low"
    POINTS_EXPIRING = "points.expiring"
    FULFIL_EXPERIENCE = "fulfil.experience"
    DECLINE_NOTE = "decision.decline_note"
    HELP_SHOP = "help.shop"
    HELP_REDEEM = "help.redeem"
    HELP_REDEMPTIONS = "help.redemptions"
    HELP_APPROVALS = "help.approvals"
    # directory synchronisation
    DIRECTORY_BAD_EMAIL = "directory.bad_email"
    DIRECTORY_NO_NAME = "directory.no_name"
    DIRECTORY_BAD_TIMEZONE = "directory.bad_timezone"
    DIRECTORY_BAD_BIRTHDAY = "directory.bad_birthday"
    DIRECTORY_OWN_MANAGER = "directory.own_manager"
    DIRECTORY_UNKNOWN_MANAGER = "directory.unknown_manager"
    DIRECTORY_DUPLICATE = "directory.duplicate"
    DIRECTORY_BAD_FIELD = "directory.bad_field"
    DIRECTORY_TOO_MANY_LEAVERS = "directory.too_many_leavers"
    # console
    CONSOLE_WELCOME = "console.welcome"
    CONSOLE_ACTING_AS = "console.acting_as"
    CONSOLE_NOTIFICATION = "console.notification"
    DEMO_SEEDED = "demo.seeded"
    # errors
    ERROR_SELF_KUDOS = "error.self_kudos"
    ERROR_BOT_RECEIVER = "error.bot_receiver"
    ERROR_INACTIVE_PERSON = "error.inactive_person"
    ERROR_GIVER_INACTIVE = "error.giver_inactive"
    ERROR_AMOUNT_RANGE = "error.amount_range"
    ERROR_REASON_TOO_SHORT = "error.reason_too_short"
    ERROR_VALUES_REQUIRED = "error.values_required"
    ERROR_UNKNOWN_VALUE = "error.unknown_value"
    ERROR_DAILY_LIMIT = "error.daily_limit"
    ERROR_INSUFFICIENT_ALLOWANCE = "error.insufficient_allowance"
    ERROR_NO_RECEIVERS = "error.no_receivers"
    ERROR_UNKNOWN_PERSON = "error.unknown_person"
    ERROR_ALREADY_REVOKED = "error.already_revoked"
    ERROR_RECOGNITION_NOT_FOUND = "error.recognition_not_found"
    ERROR_UNKNOWN_COMMAND = "error.unknown_command"
    ERROR_UNKNOWN_LANGUAGE = "error.unknown_language"
    ERROR_NOT_IDENTIFIED = "error.not_identified"
    ERROR_BAD_AMOUNT = "error.bad_amount"
    ERROR_UNKNOWN_WINDOW = "error.unknown_window"
    ERROR_DECISION_NOT_FOUND = "error.decision_not_found"
    ERROR_UNKNOWN_ITEM = "error.unknown_item"
    ERROR_ITEM_UNAVAILABLE = "error.item_unavailable"
    ERROR_OUT_OF_STOCK = "error.out_of_stock"
    ERROR_TIER_TOO_LOW = "error.tier_too_low"
    ERROR_ITEM_LIMIT = "error.item_limit"
    ERROR_NOT_ENOUGH_POINTS = "error.not_enough_points"
    ERROR_BAD_QUANTITY = "error.bad_quantity"
    ERROR_NO_APPROVER = "error.no_approver"
    ERROR_SELF_APPROVAL = "error.self_approval"
    ERROR_NOT_THE_APPROVER = "error.not_the_approver"
    ERROR_UNKNOWN_REDEMPTION = "error.unknown_redemption"
    ERROR_REDEMPTION_CLOSED = "error.redemption_closed"
    ERROR_INTERNAL = "error.internal"
    ERROR_BUSY = "error.busy"


@dataclass(frozen=True, slots=True)
class Names:
    """A list of user-supplied names, joined the way the reader's language lists things."""

    items: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Text:
    key: MsgId
    params: Mapping[str, object] = field(default_factory=dict)
    count: int | None = None  # selects the plural form; also available as {count}


def text(key: MsgId, count: int | None = None, **params: object) -> Text:
    return Text(key, params, count)


def points(n: int) -> Text:
    return Text(MsgId.POINTS, {}, n)


PLURAL_MESSAGES: frozenset[MsgId] = frozenset(
    {MsgId.POINTS, MsgId.KUDOS_COUNT, MsgId.CHARACTERS, MsgId.YEARS}
)
