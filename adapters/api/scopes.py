"""The scopes a read-API token may hold: one per kind of data, each granted explicitly."""

from __future__ import annotations

from enum import StrEnum


class Scope(StrEnum):
    PEOPLE = "people:read"
    RECOGNITIONS = "recognitions:read"
    BALANCES = "balances:read"
    REDEMPTIONS = "redemptions:read"
    ANALYTICS = "analytics:read"


# No wildcard: a token for a payroll export must not read recognitions' reasons too.
SCOPES: tuple[str, ...] = tuple(scope.value for scope in Scope)
