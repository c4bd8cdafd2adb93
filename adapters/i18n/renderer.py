"""Turn a core `Text` into a string in one language.

The catalogues are the .po files under core/locales, read with Babel and compiled in
memory, so gettext's plural rules (six forms in Arabic) and Babel's CLDR data for
numbers, dates and lists come from well-kept libraries, not from us. For right-to-left
languages every interpolated value is wrapped in Unicode first-strong isolates, so a
Latin name or "#ownership" inside Arabic text keeps its own direction.
"""

from __future__ import annotations

import io
from datetime import date, datetime
from functools import cache
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime, get_timezone
from babel.lists import format_list
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import Translations

import core
from core.messages import LANGUAGES, PLURAL_MESSAGES, RTL_LANGUAGES, Names, Text
from core.people import Person

LOCALES_DIR = Path(core.__file__).parent / "locales"
FSI, PDI = "\u2068", "\u2069"  # first-strong isolate … pop directional isolate


@cache
def translations(language: str) -> Translations:
    with (LOCALES_DIR / language / "LC_MESSAGES" / "laurel.po").open("rb") as po:
        catalog = read_po(po, locale=language)
    compiled = io.BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return Translations(compiled)


def supported(language: str | None) -> str:
    return language if language in LANGUAGES else "en"


class Renderer:
    def __init__(self, language: str, tz: str = "UTC") -> None:
        self.language = supported(language)
        self.tz = tz
        self.locale = Locale.parse(self.language)
        self.rtl = self.language in RTL_LANGUAGES
        self._t = translations(self.language)

    @classmethod
    def for_reader(
        cls, person: Person | None, default_language: str, language: str | None = None
    ) -> Renderer:
        """In the language asked for, else the person's own choice, else the organisation's;
        dates in the person's time zone."""
        chosen = language or (person.locale if person else None) or default_language
        return cls(chosen, person.tz if person else "UTC")

    def __call__(self, text: Text) -> str:
        if text.key in PLURAL_MESSAGES:
            count = text.count or 0
            pattern = self._t.ngettext(text.key.value, text.key.value, count)
        else:
            pattern = self._t.gettext(text.key.value)
        values = {name: self._value(value) for name, value in text.params.items()}
        if text.count is not None:
            values.setdefault("count", self._number(text.count))
        return pattern.format(**values)

    def _value(self, value: object) -> str:
        if isinstance(value, Text):
            return self(value)
        if isinstance(value, bool):
            return str(value)
        if isinstance(value, int | float):
            return self._number(value)
        if isinstance(value, datetime):
            return self._isolate(
                format_datetime(value, "short", tzinfo=get_timezone(self.tz), locale=self.locale)
            )
        if isinstance(value, date):
            return self._isolate(format_date(value, "medium", locale=self.locale))
        if isinstance(value, Names):
            return format_list([self._isolate(item) for item in value.items], locale=self.locale)
        return self._isolate(str(value))

    def _number(self, value: int | float) -> str:
        return format_decimal(value, locale=self.locale)

    def _isolate(self, value: str) -> str:
        return f"{FSI}{value}{PDI}" if self.rtl else value
