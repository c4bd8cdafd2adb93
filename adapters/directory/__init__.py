"""The people directory as it comes in from the HR system, other than by SCIM.

Each source turns what it reads into core `DirectoryRecord`s and the problems it found
while reading, as one `Parsed`; the core command `SyncDirectory` takes it from there, so
every source follows the same rules for creating, updating and deactivating people.

* `csv_source`: a CSV file (`laurel directory import`, `LAUREL_HRMS_CSV`).
* `hrms`: the interface of an HRMS API client (`LAUREL_HRMS_URL` + `LAUREL_HRMS_TOKEN`);
  `bamboohr` implements it, `http_pull` is the retrying GET the clients share.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.directory import DirectoryRecord, RowProblem, normal_email


@dataclass(frozen=True, slots=True, kw_only=True)
class Parsed:
    """What a source said: the records it could read, and why it left the others out."""

    records: list[DirectoryRecord] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)

    def unreadable(self) -> frozenset[str]:
        """E-mails of the rows left out: the source still lists these people."""
        return frozenset(normal_email(p.email) for p in self.problems if p.email)


__all__ = ["Parsed"]
