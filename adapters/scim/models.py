"""The SCIM resources laurel serves: RFC 7643's User, enterprise User and Group, cut down.

Only the attributes laurel keeps are declared. The published schemas are generated from
these classes, so `/Schemas` says exactly what laurel stores and returns; whatever else an
identity provider sends (phone numbers, addresses, passwords) is dropped on arrival rather
than kept about people who never needed to share it with a recognition bot.
"""

from typing import Annotated, Any, Union

from pydantic import Field
from scim2_models import (
    URN,
    AnyExtension,
    CaseExact,
    ComplexAttribute,
    Email,
    Extension,
    Mutability,
    Name,
    Reference,
    Required,
    Resource,
    ScimPolicy,
    Uniqueness,
)

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"

# What laurel tolerates from identity providers: unknown attributes are ignored (not
# refused), a `remove` may name its values (Entra's group member removal), and a path
# filter that matches nothing creates the entry (Entra's `emails[type eq "work"].value`).
POLICY = ScimPolicy(
    unknown=ScimPolicy.Unknown.ignore,
    remove_value_as_filter=ScimPolicy.RemoveValue.apply,
    unmatched_path_filter=ScimPolicy.UnmatchedPathFilter.create,
)


class Manager(ComplexAttribute):
    value: Annotated[str | None, CaseExact.true] = None
    ref: Reference["User"] | None = Field(  # type: ignore[type-arg]
        None, serialization_alias="$ref", validation_alias="$ref"
    )


class EnterpriseUser(Extension):
    """Enterprise User"""

    __schema__ = URN(ENTERPRISE)

    employee_number: str | None = None
    department: str | None = None
    manager: Manager | None = None


class User(Resource[AnyExtension]):
    """User Account"""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:User")

    user_name: Annotated[str | None, Uniqueness.server, Required.true] = None
    name: Name | None = None
    display_name: str | None = None
    emails: list[Email] | None = None
    timezone: str | None = None
    active: bool | None = None


class GroupMember(ComplexAttribute):
    value: Annotated[str | None, Mutability.immutable, CaseExact.true] = None
    ref: Annotated[
        Reference[Union["User", "Group"]] | None,  # type: ignore[type-arg]
        Mutability.immutable,
    ] = Field(None, serialization_alias="$ref", validation_alias="$ref")
    type: Annotated[str | None, Mutability.immutable] = Field(None, examples=["User", "Group"])


class Group(Resource[Any]):
    """Group"""

    __schema__ = URN("urn:ietf:params:scim:schemas:core:2.0:Group")

    display_name: Annotated[str | None, Required.true] = None
    members: list[GroupMember] | None = None


UserResource = User[EnterpriseUser]
