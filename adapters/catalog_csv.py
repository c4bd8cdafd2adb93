"""The rewards catalog from a CSV file (`laurel catalog import`), one item per row.

Until the admin commands of chat exist, this is how an operator fills the shop. Rows
with a problem are reported with their line number and change nothing.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from core.policy import value_slug
from core.rewards import CatalogItem, ItemKind, Variant

COLUMNS = (
    "slug",
    "name",
    "kind",
    "price",
    "approval_needed",
    "stock",
    "min_tier",
    "per_person_limit",
    "available_from",
    "available_until",
    "owner_email",
    "active",
    "variants",
    "ships",
)
_TRUE, _FALSE = {"yes", "true", "1", "y"}, {"no", "false", "0", "n"}


@dataclass
class CatalogFile:
    items: list[CatalogItem] = field(default_factory=list)
    problems: list[tuple[int, str]] = field(default_factory=list)  # (line, what is wrong)


class Unreadable(Exception):
    """The file as a whole cannot be read (missing, not UTF-8, no name or price column)."""


def read_codes(content: bytes) -> list[str]:
    """Gift-card codes from a file (`laurel catalog codes`, or one shared in chat): one a
    line, or the first column of a CSV; a `code` header row is skipped. Blank ones are
    left out; duplicates stay (the vault skips them). Raises `Unreadable` unless UTF-8."""
    try:
        rows = csv.reader(io.StringIO(content.decode("utf-8-sig")))
        plain = [row[0].strip() for row in rows if row and row[0].strip()]
    except (UnicodeDecodeError, csv.Error) as error:
        raise Unreadable(f"not a UTF-8 text file: {error}") from None
    if plain and plain[0].casefold() == "code":
        plain = plain[1:]
    return plain


def read_catalog(path: Path) -> CatalogFile:
    try:
        content = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise Unreadable(f"{path}: {error}") from None
    rows = csv.DictReader(io.StringIO(content))
    header = {(h or "").strip().casefold() for h in rows.fieldnames or []}
    if not {"name", "price", "kind"} <= header:
        raise Unreadable(f"{path}: the header needs at least name, kind and price columns")
    found = CatalogFile()
    for row in rows:
        line = rows.line_num
        cells = {(k or "").strip().casefold(): (v or "").strip() for k, v in row.items()}
        try:
            found.items.append(_item(cells))
        except ValueError as error:
            found.problems.append((line, str(error)))
    return found


def _item(cells: dict[str, str]) -> CatalogItem:
    name = cells.get("name", "")
    if not name:
        raise ValueError("name is empty")
    try:
        kind = ItemKind(cells.get("kind", "").casefold())
    except ValueError:
        kinds = ", ".join(k.value for k in ItemKind)
        raise ValueError(f"kind “{cells.get('kind')}” is not one of {kinds}") from None
    return CatalogItem(
        slug=value_slug(cells.get("slug") or name),
        name=name,
        kind=kind,
        price=_number(cells, "price", required=True) or 0,
        approval_needed=_flag(cells, "approval_needed", default=True),
        stock=_number(cells, "stock"),
        min_tier=cells.get("min_tier") or None,
        per_person_limit=_number(cells, "per_person_limit"),
        available_from=_date(cells, "available_from"),
        available_until=_date(cells, "available_until"),
        owner_email=cells.get("owner_email") or None,
        active=_flag(cells, "active", default=True),
        variants=_variants(cells.get("variants", "")),
        # merchandise is posted unless the file says otherwise (e.g. handed out at the office)
        ships=_flag(cells, "ships", default=kind is ItemKind.MERCHANDISE),
    )


def _variants(raw: str) -> tuple[Variant, ...]:
    """`S|M|L`, or with each one's own stock: `S:5|M:10|L:0`."""
    found: list[Variant] = []
    for part in filter(None, (p.strip() for p in raw.split("|"))):
        name, _, stock = (x.strip() for x in part.partition(":"))
        if not name or len(name) > 64 or " " in name:
            raise ValueError(f"variant “{part}” needs a name of one word (up to 64 characters)")
        if stock and not stock.isdigit():
            raise ValueError(f"variant {name}: stock “{stock}” is not a whole number")
        if any(v.name.casefold() == name.casefold() for v in found):
            raise ValueError(f"variant {name} is listed twice")
        found.append(Variant(name, int(stock) if stock else None))
    return tuple(found)


def _number(cells: dict[str, str], column: str, *, required: bool = False) -> int | None:
    raw = cells.get(column, "")
    if not raw:
        if required:
            raise ValueError(f"{column} is empty")
        return None
    if not raw.isdigit():
        raise ValueError(f"{column} “{raw}” is not a whole number")
    return int(raw)


def _flag(cells: dict[str, str], column: str, *, default: bool) -> bool:
    raw = cells.get(column, "").casefold()
    if not raw:
        return default
    if raw in _TRUE or raw in _FALSE:
        return raw in _TRUE
    raise ValueError(f"{column} “{raw}” is not yes or no")


def _date(cells: dict[str, str], column: str) -> date | None:
    raw = cells.get(column, "")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValueError(f"{column} “{raw}” is not a date (YYYY-MM-DD)") from None
