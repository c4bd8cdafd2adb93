"""The audit log: one append-only entry per admin change, approval decision, role change,
export and erasure, each chained to the one before by a hash.

An entry says who (`actor_id`), what (`action`), on what (`subject`), the state before and
after, when and from which platform. Entries carry ids ("person:42", "dept:Engineering"),
never names, e-mail addresses or free text (a decline note, a kudos message): erasing a
person under the GDPR removes them from the people table and never needs to edit the
chain, which would break it.

Each stored record carries the hash of the record before it (`GENESIS` for the first)
and its own hash over that and its entry, so that editing, deleting or reordering any row
is found by walking the chain in id order (`ChainCheck`, `verify`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS = "0" * 64

EDITED = "edited"
DELETED_OR_REORDERED = "deleted or reordered"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    actor_id: int | None  # None: the system (scheduler, SCIM, CLI without a person)
    action: str  # "budget.set", "role.grant", "redemption.approve", "person.erase", ...
    subject: str  # what it acted on, by id: "dept:Engineering", "person:42", "redemption:7"
    at: datetime  # aware; kept in UTC
    before: Mapping[str, object] | None = None  # JSON-able values only
    after: Mapping[str, object] | None = None
    platform: str = ""  # "slack", "teams", "console", "cli", "api", "scheduler"

    def __post_init__(self) -> None:
        # Normalised once here, so that the hash of an entry read back from storage (JSON
        # with string keys, lists for tuples) equals the hash computed when it was written.
        if self.at.tzinfo is None:
            raise ValueError("an audit entry's time must be aware")
        object.__setattr__(self, "at", self.at.astimezone(UTC))
        object.__setattr__(self, "before", _json_roundtrip(self.before))
        object.__setattr__(self, "after", _json_roundtrip(self.after))


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditRecord:
    """A stored entry."""

    id: int
    entry: AuditEntry
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditVerdict:
    ok: bool
    checked: int  # records walked, the bad one included
    bad_id: int | None = None  # the first record that does not fit the chain
    reason: str | None = None  # EDITED or DELETED_OR_REORDERED
    previous_id: int | None = None  # the last good record before the bad one
    head: str = GENESIS  # the hash of the last good record


def state_json(state: Mapping[str, object] | None) -> str | None:
    """How `before` and `after` are stored: canonical JSON, or None."""
    return None if state is None else _canonical(state)


def chain_hash(prev_hash: str, entry: AuditEntry) -> str:
    """sha256 (hex) of the previous hash followed by the entry as canonical JSON."""
    fields = {
        "actor_id": entry.actor_id,
        "action": entry.action,
        "subject": entry.subject,
        "at": entry.at.astimezone(UTC).isoformat(timespec="microseconds"),
        "before": entry.before,
        "after": entry.after,
        "platform": entry.platform,
    }
    return hashlib.sha256((prev_hash + _canonical(fields)).encode("utf-8")).hexdigest()


class ChainCheck:
    """Walks records in id order, as many batches as it takes; stops at the first bad one."""

    def __init__(self) -> None:
        self.checked = 0
        self._head = GENESIS
        self._last_id: int | None = None
        self._failure: tuple[int, str] | None = None

    @property
    def broken(self) -> bool:
        return self._failure is not None

    def add(self, record: AuditRecord) -> bool:
        """Check the next record; False (and nothing more is checked) once one is bad."""
        if self._failure is not None:
            return False
        self.checked += 1
        if record.prev_hash != self._head:
            self._failure = (record.id, DELETED_OR_REORDERED)
        elif chain_hash(record.prev_hash, record.entry) != record.hash:
            self._failure = (record.id, EDITED)
        else:
            self._head, self._last_id = record.hash, record.id
        return self._failure is None

    def unreadable(self, record_id: int) -> None:
        """A row that storage cannot even read back as an entry was edited by hand."""
        if self._failure is None:
            self.checked += 1
            self._failure = (record_id, EDITED)

    def verdict(self) -> AuditVerdict:
        if self._failure is None:
            return AuditVerdict(ok=True, checked=self.checked, head=self._head)
        bad_id, reason = self._failure
        return AuditVerdict(
            ok=False,
            checked=self.checked,
            bad_id=bad_id,
            reason=reason,
            previous_id=self._last_id,
            head=self._head,
        )


def verify(records: Iterable[AuditRecord]) -> AuditVerdict:
    """The verdict on records given in id order."""
    check = ChainCheck()
    for record in records:
        if not check.add(record):
            break
    return check.verdict()


def _canonical(value: object) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _json_roundtrip(state: Mapping[str, object] | None) -> Mapping[str, object] | None:
    """The state as JSON gives it back; a value JSON cannot hold is refused here (TypeError)."""
    if state is None:
        return None
    loaded: dict[str, object] = json.loads(json.dumps(dict(state), allow_nan=False))
    return loaded
