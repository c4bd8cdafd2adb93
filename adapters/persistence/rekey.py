"""Every secret laurel stores, re-sealed with the first key of LAUREL_SECRET_KEYS.

A new key put first in LAUREL_SECRET_KEYS seals what is stored from then on; what was
sealed before still needs the old keys. `rekey` re-seals it all with the first key (and
recomputes the gift-card fingerprints with it), so that the old keys can then be removed.
It goes through each table in batches, one short transaction per batch, and changes a
row only if nobody changed it meanwhile: laurel may keep running. Running it again
changes nothing more. With `apply=False` it only counts (`laurel doctor`, `--dry-run`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.secrets import SecretBox

from .tables import gift_card_codes, pending_files, redemptions, slack_installations

BATCH = 500
Progress = Callable[[str, int, int], None]  # (what, done, total)


@dataclass
class Tally:
    """What one kind of secret looked like (and, unless a dry run, what was done)."""

    what: str
    total: int = 0
    current: int = 0  # sealed with the first key already
    resealed: int = 0  # sealed with an older key (or not at all): re-sealed with the first
    unopenable: int = 0  # no configured key opens it: left as it is


@dataclass(frozen=True)
class _Kind:
    what: str
    table: sa.Table
    column: str
    where: sa.ColumnElement[bool] | None = None

    @property
    def keys(self) -> list[sa.Column[Any]]:
        return list(self.table.primary_key.columns)


KINDS = (
    _Kind("gift-card codes", gift_card_codes, "sealed", gift_card_codes.c.sealed != ""),
    _Kind(
        "shipping addresses",
        redemptions,
        "shipping_sealed",
        redemptions.c.shipping_sealed.is_not(None),
    ),
    _Kind("Slack installations", slack_installations, "sealed"),
    _Kind("pending files", pending_files, "content"),
)


async def rekey(
    engine: AsyncEngine,
    box: SecretBox,
    *,
    apply: bool = True,
    progress: Progress | None = None,
    batch: int = BATCH,
) -> list[Tally]:
    return [await _kind(engine, box, kind, apply, progress, batch) for kind in KINDS]


async def _kind(
    engine: AsyncEngine,
    box: SecretBox,
    kind: _Kind,
    apply: bool,
    progress: Progress | None,
    batch: int,
) -> Tally:
    tally = Tally(kind.what)
    keys = kind.keys
    count = sa.select(sa.func.count()).select_from(kind.table)
    if kind.where is not None:
        count = count.where(kind.where)
    async with engine.connect() as conn:
        total = int((await conn.execute(count)).scalar_one())
    if progress:
        progress(kind.what, 0, total)
    last: tuple[Any, ...] | None = None
    while True:
        query = sa.select(kind.table).order_by(*keys).limit(batch)
        if kind.where is not None:
            query = query.where(kind.where)
        if last is not None:
            query = query.where(sa.tuple_(*keys) > sa.tuple_(*last))
        async with engine.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        if not rows:
            return tally
        changes = [_change(box, kind, row, tally) for row in rows]
        if apply and any(changes):
            async with engine.begin() as conn:
                for row, values in zip(rows, changes, strict=True):
                    if values:
                        await conn.execute(_unchanged_since(kind, row).values(**values))
        last = tuple(rows[-1][key.name] for key in keys)
        if progress:
            progress(kind.what, tally.total, total)


def _change(box: SecretBox, kind: _Kind, row: Any, tally: Tally) -> dict[str, Any]:
    """The values that re-seal this row with the first key ({} when it needs none)."""
    tally.total += 1
    sealed = row[kind.column]
    if kind.table is pending_files and not row["sealed"]:  # kept before keys were set
        tally.resealed += 1
        return {"content": box.seal_bytes(bytes(sealed)), "sealed": True}
    if isinstance(sealed, memoryview):
        sealed = bytes(sealed)
    index = box.key_of(sealed)
    if index is None:
        tally.unopenable += 1
        return {}
    values: dict[str, Any] = {}
    if index != 0:
        rotated = box.rotate_bytes(sealed) if isinstance(sealed, bytes) else box.rotate(sealed)
        values[kind.column] = rotated
    if kind.table is gift_card_codes:
        # The fingerprint that refuses a code added twice must be the first key's too, or
        # the code would go unrecognised once the old key is removed.
        fingerprint = box.fingerprint(box.open(sealed))
        if row["fingerprint"] != fingerprint:
            values["fingerprint"] = fingerprint
    if values:
        tally.resealed += 1
    else:
        tally.current += 1
    return values


def _unchanged_since(kind: _Kind, row: Any) -> sa.Update:
    """The row, only as it was read: a concurrent change (an erasure, a reinstall) wins."""
    table = kind.table
    conditions = [key == row[key.name] for key in kind.keys]
    conditions.append(table.c[kind.column] == row[kind.column])
    return sa.update(table).where(*conditions)
