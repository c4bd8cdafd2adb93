"""The chat grammar (CONTRACT.md "Chat grammar"): one line of text -> one typed request."""

from __future__ import annotations

import re

import pytest

from adapters.chat.grammar import (
    ActAs,
    BadAmount,
    Balance,
    Give,
    Help,
    History,
    Lang,
    Leaderboard,
    Quit,
    RedeemItem,
    UnknownCommand,
    UnknownWindow,
    Values,
    parse,
    parse_give,
)
from core.errors import DomainError
from core.periods import Window

SLACK_MENTION = re.compile(r"<@(U[A-Z0-9]+)(?:\|[^>]*)?>")


# --------------------------------------------------------------------------- kudos


def test_kudos_with_mentions_amount_reason_and_values() -> None:
    assert parse("kudos @ana @ben +10 shipped the release #ownership") == Give(
        mentions=("@ana", "@ben"), amount=10, reason="shipped the release", values=("ownership",)
    )


def test_several_trailing_values_leave_the_reason() -> None:
    request = parse("kudos @ana +5 fixed the flaky build #ownership #team-work")
    assert request == Give(("@ana",), 5, "fixed the flaky build", ("ownership", "team-work"))


def test_the_same_value_twice_counts_once() -> None:
    request = parse("kudos @ana +5 fixed the flaky build #ownership #ownership")
    assert isinstance(request, Give) and request.values == ("ownership",)


@pytest.mark.parametrize(
    "line",
    [
        "kudos @ana +10 great release",
        "kudos +10 @ana great release",
        "kudos @ana great +10 release",
        "kudos @ana great release +10",
    ],
)
def test_the_amount_may_stand_anywhere(line: str) -> None:
    assert parse(line) == Give(("@ana",), 10, "great release", ())


def test_the_amount_may_follow_the_values() -> None:
    assert parse("kudos @ana great release #ownership +10") == Give(
        ("@ana",), 10, "great release", ("ownership",)
    )


def test_the_amount_may_stand_between_mentions() -> None:
    assert parse("kudos @ana +3 @ben thanks for the help") == Give(
        ("@ana", "@ben"), 3, "thanks for the help", ()
    )


def test_no_amount_leaves_it_to_the_organisation_default() -> None:
    assert parse("kudos @ana thanks for the review") == Give(
        ("@ana",), None, "thanks for the review", ()
    )


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        ("kudos @ana +1k thanks", "1k"),
        ("kudos @ana thanks +ten", "ten"),
        ("kudos @ana +1.5 thanks", "1.5"),
        ("kudos @ana +-5 thanks", "-5"),
        ("kudos @ana +9999999999 thanks", "9999999999"),
    ],
)
def test_a_bad_amount_is_refused(line: str, raw: str) -> None:
    with pytest.raises(BadAmount) as refused:
        parse(line)
    assert refused.value.amount == raw
    assert refused.value.params() == {"amount": f"+{raw}"}


def test_a_mention_named_twice_is_kept_once() -> None:
    request = parse("kudos @ana @ben @ana, @ben +2 pairing all week")
    assert isinstance(request, Give)
    assert request.mentions == ("@ana", "@ben")
    assert request.reason == "pairing all week"


def test_mentions_after_the_reason_are_part_of_the_reason() -> None:
    request = parse("kudos @ana thanks for helping @ben")
    assert request == Give(("@ana",), None, "thanks for helping @ben", ())


def test_email_mentions() -> None:
    request = parse("kudos @ana@example.com @ben.ng@corp.example.org +5 thanks for the review")
    assert request == Give(
        ("@ana@example.com", "@ben.ng@corp.example.org"), 5, "thanks for the review", ()
    )


def test_kudos_without_anyone_parses_to_no_mentions() -> None:
    """Refusing it (NoReceivers) is the core's job, not the parser's."""
    assert parse("kudos +5 thanks") == Give((), 5, "thanks", ())


def test_slack_style_mentions() -> None:
    line = "kudos <@U123ABC|ana> <@U456DEF> +10 great launch #ownership"
    assert parse(line, SLACK_MENTION) == Give(
        ("<@U123ABC|ana>", "<@U456DEF>"), 10, "great launch", ("ownership",)
    )


def test_slack_slash_command_text_without_the_verb() -> None:
    assert parse_give("<@U123ABC|ana> +5 thanks for the review", SLACK_MENTION) == Give(
        ("<@U123ABC|ana>",), 5, "thanks for the review", ()
    )


def test_a_console_mention_is_not_a_slack_mention() -> None:
    request = parse_give("@ana +5 thanks", SLACK_MENTION)
    assert request.mentions == ()


# --------------------------------------------------------------------------- simple verbs


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("balance", Balance()),
        ("history", History()),
        ("values", Values()),
        ("help", Help()),
        ("quit", Quit()),
        ("exit", Quit()),
        ("lang de", Lang("de")),
        ("as ana@example.com", ActAs("ana@example.com")),
    ],
)
def test_simple_verbs(line: str, expected: object) -> None:
    assert parse(line) == expected


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("BALANCE", Balance()),
        ("  Help  ", Help()),
        ("History", History()),
        ("KUDOS @ana +5 thanks a lot", Give(("@ana",), 5, "thanks a lot", ())),
        ("Leaderboard WEEK", Leaderboard(Window.WEEK, None)),
        ("LANG fr", Lang("fr")),
    ],
)
def test_verbs_are_case_insensitive(line: str, expected: object) -> None:
    assert parse(line) == expected


# --------------------------------------------------------------------------- leaderboard


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("leaderboard", Leaderboard(Window.MONTH, None)),
        ("leaderboard week", Leaderboard(Window.WEEK, None)),
        ("leaderboard month", Leaderboard(Window.MONTH, None)),
        ("leaderboard year", Leaderboard(Window.YEAR, None)),
        ("leaderboard all", Leaderboard(Window.ALL, None)),
        ("leaderboard quarter #teamwork", Leaderboard(Window.QUARTER, "teamwork")),
        ("leaderboard #teamwork quarter", Leaderboard(Window.QUARTER, "teamwork")),
        ("leaderboard #teamwork", Leaderboard(Window.MONTH, "teamwork")),
    ],
)
def test_leaderboard_window_and_value(line: str, expected: Leaderboard) -> None:
    assert parse(line) == expected


def test_an_unknown_window_is_refused() -> None:
    with pytest.raises(UnknownWindow) as refused:
        parse("leaderboard fortnight")
    assert refused.value.params() == {"window": "fortnight"}


# --------------------------------------------------------------------------- unknown


@pytest.mark.parametrize(
    "line",
    [
        "",
        "dance",
        "balance please",  # simple verbs take nothing after them
        "lang",
        "lang de fr",
        "as",
        "kudo @ana +5 thanks",
    ],
)
def test_an_unknown_command_is_refused(line: str) -> None:
    with pytest.raises(UnknownCommand) as refused:
        parse(line)
    assert refused.value.line == line.strip()


def test_a_long_unknown_command_is_shortened_in_the_message() -> None:
    line = "please " * 20
    with pytest.raises(UnknownCommand) as refused:
        parse(line)
    shown = refused.value.params()["text"]
    assert isinstance(shown, str) and len(shown) == 58 and shown.endswith("…")


def test_grammar_errors_are_domain_errors_with_a_message() -> None:
    """Adapters render every refusal the same way, so each one carries its message id."""
    for error in (UnknownCommand("x"), BadAmount("x"), UnknownWindow("x")):
        assert isinstance(error, DomainError)
        assert error.text().key is error.key


def test_the_rewards_verbs() -> None:
    from adapters.chat.grammar import Approvals, Cancel, Redemptions, Shop

    assert parse("shop") == Shop()
    assert parse("redeem mug") == RedeemItem("mug", 1)
    assert parse("redeem mug 3") == RedeemItem("mug", 3)
    assert parse("redemptions") == Redemptions()
    assert parse("cancel #12") == Cancel(12) and parse("cancel 12") == Cancel(12)
    assert parse("approvals") == Approvals()
    for bad in ("redeem", "redeem mug 3 lots", "cancel twelve", "shop now"):
        with pytest.raises(UnknownCommand):
            parse(bad)


def test_redeem_takes_a_variant_a_quantity_and_an_address():
    assert parse("redeem hoodie M") == RedeemItem("hoodie", 1, "M")
    assert parse("redeem hoodie xl 2") == RedeemItem("hoodie", 2, "xl")
    assert parse("redeem hoodie 2XL") == RedeemItem("hoodie", 1, "2XL")
    typed = "redeem hoodie M 2 to Ana Lima\nRua Augusta 10, 1100-053 Lisboa"
    assert parse(typed) == RedeemItem("hoodie", 2, "M", "Ana Lima\nRua Augusta 10, 1100-053 Lisboa")
    assert parse("redeem mug to: 5 Rue X, Paris") == RedeemItem("mug", 1, None, "5 Rue X, Paris")
    assert parse("redeem hoodie L to") == RedeemItem("hoodie", 1, "L", None)
