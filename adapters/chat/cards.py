"""Platform-neutral replies: a card is a title and sections of message lines.

Each platform draws a card in its own idiom (rich panel, Block Kit, Adaptive Card);
the wording stays in the core's catalogue.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.decisions import Decision, Outcome
from core.errors import DomainError, ShippingNeeded
from core.messages import MsgId, Names, Text, points, text
from core.people import Person
from core.periods import Window
from core.recognition import Recognition
from core.rewards import (
    Redemption,
    RedemptionResult,
    RedemptionStatus,
    RedemptionsView,
    ShopView,
)
from core.views import (
    BalanceView,
    DigestView,
    HistoryView,
    KudosResult,
    LeaderboardView,
    Ranked,
    ValuesView,
)

from .images import Chart


class Tone(StrEnum):
    OK = "ok"
    INFO = "info"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Section:
    lines: list[Text]
    heading: Text | None = None


@dataclass(frozen=True, slots=True)
class ShippingForm:
    """What a platform offers instead of typing `redeem ITEM to ADDRESS`: a Slack modal,
    or inputs on a Teams card, that come back as the same redeem request."""

    slug: str
    item: str
    variants: tuple[str, ...]
    variant: str | None
    quantity: int


@dataclass(frozen=True, slots=True)
class Offer:
    """A Redeem button under the shop: the same request as typing `redeem SLUG`."""

    slug: str
    label: Text


MAX_OFFERS = 5  # buttons under the shop: the items one can have now, cheapest first


@dataclass(frozen=True, slots=True)
class Card:
    sections: list[Section]
    title: Text | None = None
    tone: Tone = Tone.INFO
    badge: str = ""  # an emoji that goes with the title
    language: str | None = None  # render in this language, not the reader's stored one
    progress: float | None = None  # 0..1 of the way to the next tier, for a progress bar
    form: ShippingForm | None = None  # inputs the reader can fill in to go on
    image: Chart | None = None  # a chart that reads better than the lines (stats, insights)
    decision: Decision | None = None  # its buttons go under the card (an admin preview)
    offers: tuple[Offer, ...] = ()  # Redeem buttons (the shop)


# What a decision button says, and what the decided message says (in every platform).
OUTCOME_LABEL = {
    Outcome.APPROVE: MsgId.OUTCOME_APPROVE,
    Outcome.DECLINE: MsgId.OUTCOME_DECLINE,
    Outcome.CONFIRM: MsgId.OUTCOME_CONFIRM,
    Outcome.CANCEL: MsgId.OUTCOME_CANCEL,
}
OUTCOME_DONE = {
    Outcome.APPROVE: MsgId.DECIDED_APPROVE,
    Outcome.DECLINE: MsgId.DECIDED_DECLINE,
    Outcome.CONFIRM: MsgId.DECIDED_CONFIRM,
    Outcome.CANCEL: MsgId.DECIDED_CANCEL,
}


def always(card: Card) -> Callable[[Person], Card]:
    """The same card for whoever reads it (notifiers take a card per reader)."""
    return lambda _: card


def lines_card(*lines: Text, tone: Tone = Tone.INFO, title: Text | None = None) -> Card:
    return Card([Section(list(lines))], title=title, tone=tone)


def error_card(error: DomainError) -> Card:
    return lines_card(error.text(), tone=Tone.ERROR)


def names(people: tuple[Person, ...] | list[Person]) -> Names:
    return Names(tuple(p.display_name for p in people))


def kudos_card(result: KudosResult) -> Card:
    r = result.recognition
    key = MsgId.KUDOS_GIVEN_EACH if len(result.receivers) > 1 else MsgId.KUDOS_GIVEN
    lines = [text(key, points=points(r.amount), names=names(result.receivers))]
    if r.values:
        lines.append(text(MsgId.KUDOS_GIVEN_VALUES, values=Names(tuple(f"#{v}" for v in r.values))))
    lines.append(
        text(
            MsgId.KUDOS_ALLOWANCE_LEFT,
            points=points(result.allowance.left),
            date=result.allowance.refreshes_on,
        )
    )
    return lines_card(*lines, tone=Tone.OK)


def received_text(giver: Person, recognition: Recognition) -> Text:
    return text(
        MsgId.KUDOS_RECEIVED,
        giver=giver.display_name,
        points=points(recognition.amount),
        reason=recognition.reason,
    )


def balance_card(view: BalanceView) -> Card:
    a = view.allowance
    lines = [
        text(MsgId.BALANCE_EARNED, points=points(view.earned)),
        text(MsgId.BALANCE_ALLOWANCE, left=points(a.left), total=a.total, date=a.refreshes_on),
    ]
    if view.held:
        lines.insert(1, text(MsgId.BALANCE_HELD, points=points(view.held)))
    if view.tier:
        lines.append(
            text(
                MsgId.BALANCE_TIER,
                badge=view.tier.badge,
                tier=view.tier.name,
                points=points(view.lifetime),
            )
        )
    else:
        lines.append(text(MsgId.BALANCE_NO_TIER, points=points(view.lifetime)))
    if view.next_tier:
        lines.append(
            text(
                MsgId.BALANCE_NEXT_TIER,
                tier=view.next_tier.name,
                points=points(view.next_tier.threshold - view.lifetime),
            )
        )
    else:
        lines.append(text(MsgId.BALANCE_TOP_TIER))
    title = text(MsgId.BALANCE_TITLE, name=view.person.display_name)
    badge = view.tier.badge if view.tier else ""
    return Card([Section(lines)], title=title, badge=badge, progress=tier_progress(view))


def tier_progress(view: BalanceView) -> float | None:
    """How far from the current tier's threshold to the next one; None at the top."""
    if view.next_tier is None:
        return None
    start = view.tier.threshold if view.tier else 0
    span = view.next_tier.threshold - start
    return min(1.0, max(0.0, (view.lifetime - start) / span)) if span > 0 else 1.0


def history_card(view: HistoryView) -> Card:
    title = text(MsgId.HISTORY_TITLE, name=view.person.display_name)
    if not view.items:
        return lines_card(text(MsgId.HISTORY_EMPTY), title=title)
    return Card([Section([_history_line(view, r) for r in view.items])], title=title)


def _history_line(view: HistoryView, r: Recognition) -> Text:
    day = _local_date(r, view.person.tz)
    if r.giver_id == view.person.id:
        receivers = [view.people[i] for i in r.receiver_ids if i in view.people]
        line = text(
            MsgId.HISTORY_GIVEN,
            date=day,
            names=names(receivers),
            points=points(r.total),
            reason=r.reason,
        )
    else:
        giver = view.people.get(r.giver_id)
        line = text(
            MsgId.HISTORY_RECEIVED,
            date=day,
            giver=giver.display_name if giver else "?",
            points=points(r.amount),
            reason=r.reason,
        )
    if r.revoked_at is None:
        return line
    return Text(
        MsgId.HISTORY_REVOKED_LINE, {"line": line, "mark": text(MsgId.HISTORY_REVOKED_MARK)}
    )


def _local_date(r: Recognition, tz: str) -> date:
    return r.created_at.astimezone(ZoneInfo(tz)).date()


_WINDOW_NAMES = {
    Window.WEEK: MsgId.WINDOW_WEEK,
    Window.MONTH: MsgId.WINDOW_MONTH,
    Window.QUARTER: MsgId.WINDOW_QUARTER,
    Window.YEAR: MsgId.WINDOW_YEAR,
    Window.ALL: MsgId.WINDOW_ALL,
}


def leaderboard_card(view: LeaderboardView) -> Card:
    title = text(MsgId.LEADERBOARD_TITLE, window=text(_WINDOW_NAMES[view.window]))
    sections = []
    if view.value is not None:
        sections.append(Section([text(MsgId.LEADERBOARD_VALUE, value=f"#{view.value.slug}")]))
    for heading, ranked in (
        (MsgId.LEADERBOARD_RECEIVERS, view.receivers),
        (MsgId.LEADERBOARD_GIVERS, view.givers),
    ):
        lines = ranking_lines(ranked) or [text(MsgId.LEADERBOARD_EMPTY)]
        sections.append(Section(lines, heading=text(heading)))
    return Card(sections, title=title, badge="🏆")


def ranking_lines(ranked: list[Ranked]) -> list[Text]:
    return [
        text(
            MsgId.LEADERBOARD_LINE,
            rank=i,
            name=r.person.display_name,
            points=points(r.standing.points),
            kudos=Text(MsgId.KUDOS_COUNT, {}, r.standing.count),
        )
        for i, r in enumerate(ranked, start=1)
    ]


def values_card(view: ValuesView) -> Card:
    title = text(MsgId.VALUES_TITLE)
    if not view.values:
        return lines_card(text(MsgId.VALUES_EMPTY), title=title)
    lines = [text(MsgId.VALUE_LINE, slug=f"#{v.slug}", name=v.name) for v in view.values]
    if view.required:
        lines.append(text(MsgId.VALUES_REQUIRED_NOTE))
    return lines_card(*lines, title=title)


HELP_LINES = (
    MsgId.HELP_KUDOS,
    MsgId.HELP_BALANCE,
    MsgId.HELP_HISTORY,
    MsgId.HELP_LEADERBOARD,
    MsgId.HELP_VALUES,
    MsgId.HELP_LANG,
    MsgId.HELP_SHOP,
    MsgId.HELP_REDEEM,
    MsgId.HELP_REDEMPTIONS,
    MsgId.HELP_APPROVALS,
    MsgId.HELP_SETTINGS,
    MsgId.HELP_HELP,
)


def help_card(*extra: MsgId) -> Card:
    return lines_card(*(text(k) for k in (*HELP_LINES, *extra)), title=text(MsgId.HELP_TITLE))


def reminder_card(left: int, ends_on: date) -> Card:
    return lines_card(text(MsgId.REMINDER_ALLOWANCE, points=points(left), date=ends_on))


def celebration_card(person: Person, kind: str, years: int, amount: int) -> Card:
    if kind == "birthday":
        line = text(MsgId.CELEBRATION_BIRTHDAY, name=person.display_name)
    else:
        line = text(
            MsgId.CELEBRATION_ANNIVERSARY,
            name=person.display_name,
            years=Text(MsgId.YEARS, {}, years),
        )
    lines = [line] + ([text(MsgId.CELEBRATION_POINTS, points=points(amount))] if amount else [])
    return lines_card(*lines, tone=Tone.OK)


def digest_card(view: DigestView) -> Card:
    title = text(MsgId.DIGEST_TITLE, date=view.week_start)
    if not view.kudos:
        return lines_card(text(MsgId.DIGEST_QUIET), title=title)
    summary = [
        text(
            MsgId.DIGEST_KUDOS,
            kudos=Text(MsgId.KUDOS_COUNT, {}, view.kudos),
            points=points(view.points),
        )
    ]
    if view.top_values:
        tags = Names(tuple(f"#{value.slug}" for value, _ in view.top_values))
        summary.append(text(MsgId.DIGEST_TOP_VALUES, values=tags))
    sections = [Section(summary)]
    if view.top_receivers:
        heading = text(MsgId.DIGEST_TOP_RECEIVERS)
        sections.append(Section(ranking_lines(view.top_receivers), heading=heading))
    if view.new_tiers:
        lines = [
            text(MsgId.DIGEST_NEW_TIER_LINE, name=p.display_name, tier=t.name, badge=t.badge)
            for p, t in view.new_tiers
        ]
        sections.append(Section(lines, heading=text(MsgId.DIGEST_NEW_TIERS)))
    return Card(sections, title=title, badge="🌿")


def settings_card(muted: frozenset[str], kinds: frozenset[str]) -> Card:
    lines = [
        text(MsgId.SETTINGS_KIND_OFF if kind in muted else MsgId.SETTINGS_KIND_ON, kind=kind)
        for kind in sorted(kinds)
    ]
    howto = text(MsgId.SETTINGS_HOWTO, example="allowance", kinds=Names(tuple(sorted(kinds))))
    return Card([Section(lines), Section([howto])], title=text(MsgId.SETTINGS_TITLE))


_LOCKED = {
    None: MsgId.SHOP_LINE,
    "tier": MsgId.SHOP_LOCKED_TIER,
    "stock": MsgId.SHOP_LOCKED_STOCK,
    "window": MsgId.SHOP_LOCKED_WINDOW,
    "points": MsgId.SHOP_LOCKED_POINTS,
}
_STATUS = {
    RedemptionStatus.PENDING: MsgId.STATUS_PENDING,
    RedemptionStatus.APPROVED: MsgId.STATUS_APPROVED,
    RedemptionStatus.DECLINED: MsgId.STATUS_DECLINED,
    RedemptionStatus.CANCELLED: MsgId.STATUS_CANCELLED,
    RedemptionStatus.EXPIRED: MsgId.STATUS_EXPIRED,
}


def shop_card(view: ShopView) -> Card:
    title = text(MsgId.SHOP_TITLE, points=points(view.earned))
    if not view.lines:
        return lines_card(text(MsgId.SHOP_EMPTY), title=title)
    lines = []
    for line in view.lines:
        item = line.item
        lines.append(
            text(
                _LOCKED[line.locked],
                item=item.name,
                slug=item.slug,
                points=points(item.price),
                tier=item.min_tier or "",
                missing=points(item.price - view.earned),
            )
        )
        if item.variants and line.locked != "stock":
            offered = Names(tuple(v.name for v in item.variants if v.stock != 0))
            lines.append(text(MsgId.SHOP_VARIANTS, item=item.name, variants=offered))
    example = next((line.item.slug for line in view.lines if line.locked is None), "ITEM")
    howto = Section([text(MsgId.SHOP_HOWTO, example=example)])
    offers = tuple(
        Offer(line.item.slug, text(MsgId.SHOP_REDEEM_BUTTON, item=line.item.name))
        for line in view.lines
        if line.locked is None
    )[:MAX_OFFERS]
    return Card([Section(lines), howto], title=title, badge="🎁", offers=offers)


def item_label(name: str, r: Redemption) -> str:
    """The item as the request names it: with its variant, "Hoodie (M)"."""
    return f"{name} ({r.variant})" if r.variant else name


def shipping_card(needed: ShippingNeeded) -> Card:
    """The address is missing: say how to type it, and offer the form where there is one."""
    form = ShippingForm(
        slug=needed.slug,
        item=needed.item,
        variants=needed.variants,
        variant=needed.variant,
        quantity=needed.quantity,
    )
    lines = [needed.text()]
    if needed.variants:
        lines.append(text(MsgId.SHOP_VARIANTS, item=needed.item, variants=Names(needed.variants)))
    return Card([Section(lines)], form=form, badge="📦")


def redemption_card(result: RedemptionResult) -> Card:
    r = result.redemption
    params: dict[str, object] = {
        "id": r.id,
        "item": item_label(result.item.name, r),
        "quantity": r.quantity,
        "points": points(r.points),
        "approver": result.approver or "?",
    }
    done = r.status is RedemptionStatus.APPROVED
    return lines_card(
        Text(MsgId.REDEEM_DONE if done else MsgId.REDEEM_REQUESTED, params), tone=Tone.OK
    )


def redemptions_card(view: RedemptionsView) -> Card:
    title = text(MsgId.REDEMPTIONS_TITLE)
    if not view.redemptions:
        return lines_card(text(MsgId.REDEMPTIONS_EMPTY), title=title)
    lines = [
        text(
            MsgId.REDEMPTIONS_LINE,
            id=r.id,
            item=_item_name(view, r),
            quantity=r.quantity,
            points=points(r.points),
            status=text(_STATUS[r.status]),
        )
        for r in view.redemptions
    ]
    return lines_card(*lines, title=title)


def approvals_card(view: RedemptionsView) -> Card:
    title = text(MsgId.APPROVALS_TITLE)
    if not view.redemptions:
        return lines_card(text(MsgId.APPROVALS_EMPTY), title=title)
    return lines_card(*(approval_line(view, r) for r in view.redemptions), title=title)


def approval_line(view: RedemptionsView, r: Redemption) -> Text:
    return text(
        MsgId.APPROVALS_LINE,
        id=r.id,
        name=view.people.get(r.person_id, "?"),
        item=_item_name(view, r),
        quantity=r.quantity,
        points=points(r.points),
    )


def cancelled_card(r: Redemption) -> Card:
    return lines_card(text(MsgId.CANCEL_DONE, id=r.id, points=points(r.points)), tone=Tone.OK)


def _item_name(view: RedemptionsView, r: Redemption) -> str:
    item = view.items.get(r.item_slug)
    return item_label(item.name if item else r.item_slug, r)


def approval_request_card(requester: str, item: str, r: Redemption) -> Card:
    """What the approver reads above the Approve / Decline buttons."""
    line = text(
        MsgId.APPROVAL_REQUEST,
        name=requester,
        item=item_label(item, r),
        quantity=r.quantity,
        points=points(r.points),
    )
    return lines_card(line, title=text(MsgId.APPROVALS_TITLE))


def redemption_outcome_card(r: Redemption, item: str) -> Card:
    """What the requester hears once their request is decided."""
    if r.status is RedemptionStatus.APPROVED:
        return lines_card(text(MsgId.REDEMPTION_APPROVED, id=r.id, item=item), tone=Tone.OK)
    key = (
        MsgId.REDEMPTION_EXPIRED
        if r.status is RedemptionStatus.EXPIRED
        else MsgId.REDEMPTION_DECLINED
    )
    lines = [text(key, id=r.id, item=item_label(item, r), points=points(r.points))]
    if r.note:
        lines.append(text(MsgId.REDEMPTION_NOTE, note=r.note))
    return lines_card(*lines)


def codes_card(item: str, codes: list[str]) -> Card:
    """A gift card's codes, for the redeemer's eyes only (a DM, once)."""
    return lines_card(
        *(text(MsgId.REDEMPTION_CODE, item=item, code=c) for c in codes), tone=Tone.OK
    )


def low_pool_card(item: str, left: int) -> Card:
    return lines_card(text(MsgId.GIFT_CARDS_LOW, item=item, left=left))


def expiring_card(amount: int, on: date) -> Card:
    return lines_card(text(MsgId.POINTS_EXPIRING, points=points(amount), date=on))


def fulfil_card(r: Redemption, item: str, requester: str) -> Card:
    """What the owner of an experience is asked to arrange."""
    return lines_card(text(MsgId.FULFIL_EXPERIENCE, item=item, name=requester, id=r.id))


def ship_card(r: Redemption, item: str, requester: str, address: str) -> Card:
    """What the person who sends merchandise is asked to send, and where to."""
    line = text(
        MsgId.FULFIL_SHIP,
        quantity=r.quantity,
        item=item_label(item, r),
        name=requester,
        id=r.id,
        address=address,
    )
    return lines_card(line, tone=Tone.OK)
