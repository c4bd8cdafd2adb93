"""SCIM errors (RFC 7644 3.12): what every failure becomes on the wire."""

from __future__ import annotations

from scim2_models import Error


class ScimError(Exception):
    """A request laurel refuses: the HTTP status, the scimType (if one fits) and why."""

    def __init__(self, status: int, scim_type: str | None, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.scim_type = scim_type
        self.detail = detail

    def to_error(self) -> Error:
        return Error(status=self.status, scim_type=self.scim_type, detail=self.detail)


def not_found(kind: str, reference: str) -> ScimError:
    return ScimError(404, None, f"{kind} {reference} not found")
