"""Data protection: erasing a person (GDPR art. 17) and keeping what people wrote no longer
than the organisation chose.

Erasure pseudonymises rather than deletes: the person's row, accounts and recognitions
stay, under placeholders, so that every ledger total still balances and other people's
history still adds up; what identifies them or what they wrote is gone for good.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from .people import Person

ERASE_ACTION = "person.erase"
ERASED_DOMAIN = "erased.invalid"  # .invalid never resolves (RFC 2606)
PURGE_ACTION = "reasons.purge"
# What an export may cover; "person" is everything about one person (GDPR art. 15 and 20).
EXPORT_KINDS: tuple[str, ...] = ("recognitions", "balances", "redemptions", "people", "person")


@dataclass(frozen=True, slots=True, kw_only=True)
class Pseudonym:
    """What an erased person is called from then on: unique, undeliverable, meaningless."""

    name: str
    email: str
    handle: str


def pseudonym(person_id: int, attempt: int = 1) -> Pseudonym:
    """The placeholders for a person; a later `attempt` only if someone already has them."""
    tag = str(person_id) if attempt == 1 else f"{person_id}-{attempt}"
    return Pseudonym(
        name=f"Former colleague #{person_id}",
        email=f"erased-{tag}@{ERASED_DOMAIN}",
        handle=f"erased-{tag}",
    )


def is_erased(person: Person) -> bool:
    """Erased people keep their row under a pseudonym: chat adapters that cached who a
    platform account was must look again (on any replica), not reuse the old row."""
    return person.email.endswith(f"@{ERASED_DOMAIN}")


@dataclass(frozen=True, slots=True, kw_only=True)
class ErasureReport:
    """What one erasure removed, in counts (an audit entry holds no more than this)."""

    person_id: int
    platform_ids: int  # chat and platform accounts forgotten
    reasons: int  # recognitions they gave whose reason was blanked
    notes: int  # decision notes they wrote
    codes: int  # gift-card codes issued to them, destroyed
    addresses: int  # sealed shipping addresses dropped
    records: int  # queued messages and provisioning records deleted

    def counts(self) -> dict[str, int]:
        return {
            "platform_ids": self.platform_ids,
            "reasons": self.reasons,
            "notes": self.notes,
            "codes": self.codes,
            "addresses": self.addresses,
            "records": self.records,
        }


def retention_cutoff(now: datetime, years: int) -> datetime:
    """The same moment `years` earlier (29 February falls back to the 28th): reasons
    written before it are past retention."""
    try:
        return now.replace(year=now.year - years)
    except ValueError:
        return now.replace(year=now.year - years, day=28)


def scrub_key(key: str, ids: frozenset[str], replacement: str) -> str:
    """An idempotency key with every colon-separated part that is one of `ids` replaced:
    whole parts only, so that a short id never mangles another part that contains it."""
    return ":".join(replacement if part in ids else part for part in key.split(":"))
