"""SCIM 2.0 (RFC 7643/7644) at /scim/v2: Okta and Microsoft Entra ID provision laurel's people.

`app.build` makes the sub-application that bot/web.py mounts when LAUREL_SCIM_TOKEN is set.
Users become `DirectoryRecord`s taken in by the core (`UpsertDirectoryPerson`,
`DeactivatePerson`); groups live in this adapter's own tables (`store`).
"""
