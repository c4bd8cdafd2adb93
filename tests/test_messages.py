"""The message catalogues (core/locales/*/LC_MESSAGES/laurel.po) and rendering them.

English is the reference: every other language translates exactly its ids, with the same
placeholders, and the number of plural forms its gettext plural rule asks for.
"""

from __future__ import annotations

import copy
import gettext
import re
from collections.abc import Iterable
from datetime import UTC, date, datetime
from functools import cache
from string import Formatter

import pytest
from babel.messages.catalog import Catalog
from babel.messages.plurals import get_plural
from babel.messages.pofile import read_po
from babel.numbers import format_decimal

from adapters.i18n import Renderer
from adapters.i18n.renderer import FSI, LOCALES_DIR, PDI
from core.messages import LANGUAGES, PLURAL_MESSAGES, MsgId, Names, Text, points

# gettext plural forms per language (https://www.gnu.org/software/gettext/manual/html_node/Plural-forms.html)
PLURAL_FORMS = {"en": 2, "de": 2, "fr": 2, "it": 2, "ar": 6}
IDS = [m.value for m in MsgId]


@cache
def catalogue(language: str) -> Catalog:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "laurel.po").open("rb") as po:
        return read_po(po, locale=language)


def forms(catalog: Catalog, msgid: str) -> tuple[str, ...]:
    """The translated strings of one message: one, or one per plural form."""
    message = catalog.get(msgid)
    if message is None:
        return ()
    if isinstance(message.string, str) or message.string is None:
        return (message.string or "",)
    return tuple(s or "" for s in message.string)


def untranslated(catalog: Catalog, ids: Iterable[str]) -> list[str]:
    """Ids the runtime could not translate: absent, empty (in any form), or fuzzy.

    Fuzzy entries count as missing because compiling the catalogue leaves them out.
    """
    missing = []
    for msgid in ids:
        message = catalog.get(msgid)
        if message is None or message.fuzzy or not all(s.strip() for s in forms(catalog, msgid)):
            missing.append(msgid)
    return missing


def placeholders(pattern: str) -> set[str]:
    """The {name} fields of a str.format pattern (a malformed pattern raises ValueError)."""
    names = set()
    for _, name, spec, conversion in Formatter().parse(pattern):
        if name is None:
            continue
        assert name.isidentifier(), f"positional or complex field {{{name}}} in {pattern!r}"
        assert not spec and not conversion, f"format spec in {pattern!r}"
        names.add(name)
    return names


def english_placeholders(msgid: str) -> set[str]:
    return set().union(*(placeholders(s) for s in forms(catalogue("en"), msgid)))


def sample_text(key: MsgId, count: int = 3) -> tuple[Text, dict[str, str]]:
    """A Text with a sample value for each placeholder the English message uses."""
    params = {name: f"sample-{name}" for name in english_placeholders(key.value)}
    if key in PLURAL_MESSAGES:
        params.pop("count", None)
        return Text(key, params, count), params
    return Text(key, params), params


# --------------------------------------------------------------------------- catalogues


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_message_id_is_translated(language: str) -> None:
    assert untranslated(catalogue(language), IDS) == []


def test_the_translation_check_notices_what_is_missing() -> None:
    """Proof that the check above can fail: it reports absent, empty and fuzzy entries."""
    broken = copy.deepcopy(catalogue("de"))
    del broken[MsgId.KUDOS_GIVEN.value]
    broken[MsgId.HELP_TITLE.value].string = " "
    broken[MsgId.POINTS.value].string = ("{count} Punkt", "")
    broken[MsgId.HELP_HELP.value].flags.add("fuzzy")
    assert untranslated(broken, [*IDS, "no.such.id"]) == [
        MsgId.POINTS.value,
        MsgId.KUDOS_GIVEN.value,
        MsgId.HELP_TITLE.value,
        MsgId.HELP_HELP.value,
        "no.such.id",
    ]


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_extra_ids(language: str) -> None:
    found = {m.id[0] if m.pluralizable else m.id for m in catalogue(language) if m.id}
    assert found - set(IDS) == set()
    assert len(found) == len(IDS)


@pytest.mark.parametrize("language", LANGUAGES)
def test_placeholders_match_english(language: str) -> None:
    catalog = catalogue(language)
    wrong = {}
    for msgid in IDS:
        english = english_placeholders(msgid)
        for pattern in forms(catalog, msgid):
            names = placeholders(pattern)
            # a plural form may spell its number out instead of using {count}
            if names - {"count"} != english - {"count"} or not names <= english:
                wrong[msgid] = (sorted(names), sorted(english))
    assert wrong == {}


@pytest.mark.parametrize("language", LANGUAGES)
def test_plural_messages_have_the_languages_number_of_forms(language: str) -> None:
    catalog = catalogue(language)
    assert catalog.num_plurals == PLURAL_FORMS[language]
    for msgid in IDS:
        message = catalog.get(msgid)
        assert message is not None, msgid
        assert message.pluralizable == (MsgId(msgid) in PLURAL_MESSAGES), msgid
        if message.pluralizable:
            assert len(forms(catalog, msgid)) == catalog.num_plurals, msgid


def test_arabic_has_six_plural_forms_chosen_as_cldr_says() -> None:
    catalog = catalogue("ar")
    assert catalog.num_plurals == 6
    ours, cldr = gettext.c2py(catalog.plural_expr), gettext.c2py(get_plural("ar").plural_expr)
    assert [ours(n) for n in range(1200)] == [cldr(n) for n in range(1200)]
    assert {ours(n) for n in (0, 1, 2, 3, 11, 100)} == set(range(6))


@pytest.mark.parametrize(
    ("count", "form"),
    [(0, 0), (1, 1), (2, 2), (3, 3), (10, 3), (11, 4), (99, 4), (100, 5), (102, 5), (1000, 5)],
)
def test_arabic_renders_the_plural_form_for_the_number(count: int, form: int) -> None:
    expected = forms(catalogue("ar"), MsgId.POINTS.value)[form]
    rendered = Renderer("ar")(points(count))
    assert rendered == expected.format(count=format_decimal(count, locale="ar"))


# --------------------------------------------------------------------------- rendering


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", list(MsgId), ids=lambda k: k.value)
def test_every_message_renders_in_every_language(language: str, key: MsgId) -> None:
    message, params = sample_text(key)
    rendered = Renderer(language)(message)
    assert rendered.strip() and rendered != key.value  # not gettext's fallback to the id
    assert not re.search(r"\{\w*\}", rendered), rendered
    for value in params.values():
        assert value in rendered


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("key", sorted(PLURAL_MESSAGES), ids=lambda k: k.value)
def test_plural_messages_render_for_any_count(language: str, key: MsgId) -> None:
    render = Renderer(language)
    for count in (0, 1, 2, 3, 5, 11, 21, 100, 101, 1000, 1_000_000):
        assert format_decimal(count, locale=language) in render(Text(key, {}, count))


def test_english_is_the_fallback_language() -> None:
    assert Renderer("xx").language == "en"
    assert Renderer("xx")(points(2)) == "2 points"


def test_nested_texts_render_in_the_same_language() -> None:
    text = Text(MsgId.ERROR_REASON_TOO_SHORT, {"min": Text(MsgId.CHARACTERS, {}, 10)})
    assert Renderer("en")(text) == "Please say why, in at least 10 characters."
    assert "10 Zeichen" in Renderer("de")(text)


def test_arabic_is_right_to_left_and_isolates_interpolated_values() -> None:
    render = Renderer("ar")
    assert render.rtl
    rendered = render(
        Text(
            MsgId.KUDOS_RECEIVED,
            {"giver": "Ana", "points": points(10), "reason": "shipped the release #ownership"},
        )
    )
    assert f"{FSI}Ana{PDI}" in rendered
    assert f"{FSI}shipped the release #ownership{PDI}" in rendered
    listed = render(Text(MsgId.KUDOS_GIVEN, {"points": points(2), "names": Names(("Ana", "Ben"))}))
    assert f"{FSI}Ana{PDI}" in listed and f"{FSI}Ben{PDI}" in listed
    dated = render(
        Text(MsgId.KUDOS_ALLOWANCE_LEFT, {"points": points(5), "date": date(2026, 12, 1)})
    )
    assert re.search(f"{FSI}[^{PDI}]*2026[^{PDI}]*{PDI}", dated)
    for out in (rendered, listed, dated):
        assert out.count(FSI) == out.count(PDI)


@pytest.mark.parametrize("language", ["en", "de", "fr", "it"])
def test_left_to_right_languages_add_no_isolates(language: str) -> None:
    render = Renderer(language)
    assert not render.rtl
    rendered = render(
        Text(
            MsgId.KUDOS_RECEIVED,
            {"giver": "Ana", "points": points(10), "reason": "shipped the release"},
        )
    )
    assert FSI not in rendered and PDI not in rendered


def test_german_numbers_dates_and_lists_come_from_babel() -> None:
    render = Renderer("de")
    assert render(points(1000)) == "1.000 Punkte"
    assert render(points(1)) == "1 Punkt"
    left = render(
        Text(MsgId.KUDOS_ALLOWANCE_LEFT, {"points": points(1234567), "date": date(2026, 12, 1)})
    )
    assert "1.234.567 Punkte" in left and "01.12.2026" in left
    given = render(
        Text(MsgId.KUDOS_GIVEN, {"points": points(2), "names": Names(("Ana", "Ben", "Carl"))})
    )
    assert "Ana, Ben und Carl" in given


def test_english_formats_differ_from_german() -> None:
    render = Renderer("en")
    assert render(points(1000)) == "1,000 points"
    left = render(
        Text(MsgId.KUDOS_ALLOWANCE_LEFT, {"points": points(5), "date": date(2026, 12, 1)})
    )
    assert left == "You have 5 points left to give until Dec 1, 2026."


def test_datetimes_render_in_the_readers_time_zone() -> None:
    moment = datetime(2026, 11, 16, 12, 0, tzinfo=UTC)
    line = Text(
        MsgId.HISTORY_RECEIVED,
        {"date": moment, "giver": "Ana", "points": points(1), "reason": "great work"},
    )
    assert Renderer("de", tz="Europe/Berlin")(line).startswith("16.11.26, 13:00")
    assert Renderer("de", tz="Asia/Tokyo")(line).startswith("16.11.26, 21:00")
