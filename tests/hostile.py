"""Hostile input for the torture, fuzz and security suites: strings shaped like SQL
injection, LIKE wildcards, escapes, NUL, right-to-left overrides, very long text; and
hypothesis strategies for lines of the chat and admin grammars built from real words.
"""

from __future__ import annotations

from hypothesis import strategies as st

from adapters.chat.grammar import VERBS as GRAMMAR_VERBS

# Each must be refused politely or stored and read back exactly as typed.
INJECTIONS: tuple[str, ...] = (
    "'; DROP TABLE people; --",
    "Robert'); DROP TABLE recognitions;--",
    '" OR 1=1 --',
    "1; DELETE FROM entries WHERE 1=1",
    "' UNION SELECT email FROM people --",
    "%",
    "100% _underscore_ and %wild%",
    "_",
    "\\",
    "back\\slash \\' \\\" \\x00",
    "nul\x00byte",
    "rtl \u202egnp.exe\u202c override",
    "\u2066isolate\u2069 \u200fmark\u200e",
    "emoji 🎉👩‍💻 and 𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "<script>alert(1)</script> &amp; <@U1> <!channel>",
    "${jndi:ldap://x} {{7*7}} %s %n {0}",
    "line\nbreak\r\nand\ttab",
    "x" * 5000,
)


def stored(value: str) -> str:
    """What a database keeps of `value`: PostgreSQL refuses NUL in text, so laurel may
    drop it; everything else must come back as typed."""
    return value.replace("\x00", "")


# -- chat grammar lines -------------------------------------------------------------------

VERBS = (
    *sorted(GRAMMAR_VERBS),  # every verb the grammar knows, new ones included
    "as",
    "quit",
    "exit",
    "mute",
    "unmute",
    "to",
    "to:",
    "week",
    "month",
    "quarter",
    "year",
    "all",
    "de",
    "ar",
    "xx",
    "KUDOS",
    "Balance",
)
ADMIN_VERBS = (
    "budget",
    "topup",
    "limits",
    "values",
    "tiers",
    "catalog",
    "roles",
    "settings",
    "export",
    "erase",
    "audit",
    "stats",
    "insights",
    "confirm",
    "cancel",
    "help",
    "show",
    "add",
    "edit",
    "retire",
    "rename",
    "required",
    "set",
    "remove",
    "grant",
    "revoke",
    "person",
    "everyone",
    "default",
    "daily",
    "cap",
    "reason",
    "stock",
    "none",
    "tier",
    "approval",
    "on",
    "off",
    "cost",
    "type",
    "name",
    "bonus",
    "gift_card",
    "merchandise",
    "hr_admin",
    "finance",
    "approver",
    "role:finance",
    "dept:Engineering",
    "dept:",
    "recognitions",
    "balances",
    "redemptions",
    "people",
    "2026-11-01",
    "2026-13-45",
    "reminders",
    "channel",
    "digest",
    "reaction",
    "locale",
)
WORDS = st.sampled_from(
    (
        "thanks",
        "for",
        "the",
        "release",
        "coffee",
        "mug",
        "lunch",
        "XL",
        "#ownership",
        "#teamwork",
        "#123",
        "#",
        "+",
        "+5",
        "+0",
        "+999999999",
        "+1000000000",
        "+²",
        "+٣",
        "+-1",
        "+1.5",
        "#42",
        "0",
        "3",
        "999",
        "999999999999",
        "-1",
        "²",
        "٣",
        '"',
        "'",
        "“Team lunch”",
        '"unclosed',
        "«»",
        ",",
        "@",
        "@@",
        "@ana",
        "@ben",
        "@cara",
        "@hana",
        "@nobody",
        "@ana@example.com",
        "@ana.",
        "<@U1>",
        "<@U2|ben>",
        "<!subteam^S1|team>",
        "<#C1|ownership>",
        "<at>Ana</at>",
        "<at:0>",
        "&lt;at:0&gt;",
        "\n",
        "\t",
        " ",
        "",
    )
)
JUNK = st.text(max_size=12) | st.sampled_from(INJECTIONS)


def words(verbs: tuple[str, ...]) -> st.SearchStrategy[str]:
    token = st.sampled_from(verbs) | WORDS | JUNK | st.integers(-10, 10**13).map(str)
    separator = st.sampled_from((" ", " ", " ", "  ", ", ", "\n", "\u00a0"))
    return st.lists(st.tuples(token, separator), max_size=10).map(
        lambda parts: "".join(t + s for t, s in parts)
    )


# Lines in the shape of each request, with odd values in the slots: most of them reach
# the handlers and the stores, not just the parser.
MENTION = st.sampled_from(("@ana", "@ben", "@cara", "@hana", "@nobody", "@ana@example.com"))
NUMBER = st.sampled_from(
    ("0", "1", "3", "5", "50", "100", "999", "999999999", "1000000000", "²", "٣", "-1", "x")
) | st.integers(0, 10**13).map(str)
NAME = (
    st.sampled_from(("coffee", "lunch", "mug", "Gold", "ownership", "teamwork", "Team lunch"))
    | st.text(min_size=1, max_size=20)
    | st.sampled_from(INJECTIONS)
).map(lambda name: f'"{name}"' if " " in name else name)
TEXT = st.text(max_size=80) | st.sampled_from(INJECTIONS)
DATE = st.sampled_from(("2026-11-01", "2026-01-31", "1970-01-01", "9999-12-31", "2026-02-30"))
EMAIL = st.sampled_from(("ana@example.com", "nobody@example.com", "'; DROP TABLE people; --"))


def line(*slots: st.SearchStrategy[str] | str) -> st.SearchStrategy[str]:
    parts = [st.just(s) if isinstance(s, str) else s for s in slots]
    return st.tuples(*parts).map(lambda words: " ".join(w for w in words if w))


def maybe(strategy: st.SearchStrategy[str] | str) -> st.SearchStrategy[str]:
    return st.just("") | (st.just(strategy) if isinstance(strategy, str) else strategy)


VALUE_TAGS = st.lists(st.sampled_from(("#ownership", "#teamwork", "#nope", "#42")), max_size=3)
CHAT_SHAPES = st.one_of(
    line("kudos", st.lists(MENTION, min_size=1, max_size=3).map(" ".join), "+", NUMBER, TEXT),
    line(MENTION, maybe(line("+", NUMBER).map(lambda a: a.replace(" ", ""))), TEXT).flatmap(
        lambda base: VALUE_TAGS.map(lambda tags: " ".join([base, *tags]))
    ),
    line(
        "redeem",
        NAME,
        maybe(st.sampled_from(("S", "XL", "blue"))),
        maybe(NUMBER),
        maybe(line("to", TEXT)),
    ),
    line("cancel", maybe("#"), NUMBER).map(lambda cancel: cancel.replace("# ", "#")),
    line("lang", st.sampled_from(("de", "ar", "fr", "it", "en", "xx", "")) | TEXT),
    line(
        "leaderboard",
        maybe(st.sampled_from(("week", "month", "quarter", "year", "all", "decade"))),
        maybe(st.sampled_from(("#ownership", "#nope")) | TEXT),
    ),
    line("settings", st.sampled_from(("mute", "unmute", "MUTE")), TEXT),
    st.sampled_from(VERBS),
)
TARGET = MENTION | st.sampled_from(
    ("everyone", "default", "dept:Engineering", "dept:Nope", "role:manager", "role:x", "dept:")
)
PERIOD = maybe(st.sampled_from(("week", "month", "quarter", "year", "decade")))
ADMIN_SHAPES = st.one_of(
    line("budget", TARGET, NUMBER, PERIOD),
    line("budget show", maybe(MENTION)),
    line("topup", TARGET, NUMBER, TEXT),
    line("limits", st.sampled_from(("daily", "cap", "default", "reason", "nope")), NUMBER),
    line("values", st.sampled_from(("add", "retire")), NAME),
    line("values rename", NAME, NAME),
    line("values required", st.sampled_from(("on", "off", "maybe"))),
    line("tiers set", NAME, NUMBER, maybe(st.sampled_from(("🏅", "x", "''"))), maybe("bonus 5")),
    line("tiers remove", NAME),
    line(
        "catalog add",
        NAME,
        NUMBER,
        maybe(st.sampled_from(("gift_card", "merchandise", "experience", "charity", "nope"))),
        maybe(line("stock", NUMBER)),
        maybe(line("tier", NAME)),
        maybe(line("approval", st.sampled_from(("on", "off")))),
    ),
    line("catalog edit", NAME, st.sampled_from(("name", "cost", "stock", "tier", "type")), NAME),
    line("catalog retire", NAME),
    line("roles", st.sampled_from(("grant", "revoke")), MENTION, NAME),
    line(
        "settings",
        st.sampled_from(
            ("reminders", "channel", "digest", "reaction", "celebrations", "locale", "nope")
        ),
        TEXT,
    ),
    line("export", st.sampled_from(("recognitions", "balances", "redemptions", "people"))).flatmap(
        lambda head: line(head, maybe(DATE), maybe(DATE))
    ),
    line("export person", EMAIL),
    line("erase person", EMAIL),
    line("audit", maybe(DATE)),
    line("stats", maybe(st.sampled_from(("week", "month", "quarter", "year"))), maybe(TARGET)),
    st.sampled_from(("insights", "help", "confirm", "cancel", "")),
)
CHAT_LINES = st.one_of(
    CHAT_SHAPES, CHAT_SHAPES, words(VERBS), st.text(max_size=300), st.sampled_from(INJECTIONS)
)
ADMIN_LINES = st.one_of(
    ADMIN_SHAPES,
    ADMIN_SHAPES,
    words(ADMIN_VERBS),
    st.text(max_size=300),
    st.sampled_from(INJECTIONS),
)
