"""Cards for HR admins: the preview of a change, the audit log, allowances and help."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from core.handlers.admin import Preview, per_period
from core.handlers.admin_queries import AllowancesView, AuditView
from core.messages import MsgId, Text, points, text
from core.periods import PeriodKind
from core.policy import AllowanceRule, RuleScope

from .admin_grammar import USAGE
from .cards import Card, Section, lines_card


def help_card() -> Card:
    lines = [text(MsgId.VERBATIM, text=usage) for usage in USAGE.values()]
    note = Section([text(MsgId.ADMIN_HELP_NOTE)])
    return Card([Section(lines), note], title=text(MsgId.ADMIN_HELP_TITLE), badge="🛠")


def preview_card(preview: Preview) -> Card:
    """The change, before → after, with Confirm / Cancel under it."""
    hint = Section([text(MsgId.ADMIN_PREVIEW_HINT)])
    return Card(
        [Section(preview.lines), hint],
        title=text(MsgId.ADMIN_PREVIEW_TITLE),
        decision=preview.decision,
    )


def audit_card(view: AuditView, tz: str) -> Card:
    title = text(MsgId.ADMIN_AUDIT_TITLE)
    if not view.records:
        return lines_card(text(MsgId.ADMIN_AUDIT_EMPTY), title=title)
    zone = ZoneInfo(tz)
    lines = []
    for record in view.records:
        entry = record.entry
        who: object = text(MsgId.ADMIN_SYSTEM)
        if entry.actor_id is not None:
            who = view.people.get(entry.actor_id, f"#{entry.actor_id}")
        when = entry.at.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        lines.append(
            text(
                MsgId.ADMIN_AUDIT_LINE,
                when=when,
                who=who,
                action=entry.action,
                subject=entry.subject,
                platform=entry.platform or "—",
            )
        )
    return lines_card(*lines, title=title)


def allowances_card(view: AllowancesView) -> Card:
    policy = view.policy
    lines = [_rule_line(text(MsgId.ADMIN_TARGET_EVERYONE), policy.allowance, policy.period)]
    for rule in view.rules:
        lines.append(_rule_line(_target(rule, view), rule.amount, rule.period or policy.period))
    sections = [Section(lines)]
    if view.person is not None:
        person = view.person
        amount = per_period(person.due.amount, person.due.period)
        line = text(
            MsgId.ADMIN_BUDGET_PERSON,
            name=person.name,
            amount=amount,
            left=points(person.state.left),
        )
        sections.append(Section([line]))
    return Card(sections, title=text(MsgId.ADMIN_BUDGETS_TITLE))


def _rule_line(target: object, amount: int, period: PeriodKind) -> Text:
    return text(MsgId.ADMIN_BUDGET_RULE, target=target, amount=per_period(amount, period))


def _target(rule: AllowanceRule, view: AllowancesView) -> object:
    if rule.scope is RuleScope.PERSON:
        return view.people.get(int(rule.subject), f"#{rule.subject}")
    if rule.scope is RuleScope.DEPARTMENT:
        return text(MsgId.ADMIN_TARGET_DEPARTMENT, name=rule.subject)
    return text(MsgId.ADMIN_TARGET_ROLE, name=rule.subject)
