"""The Google Workspace directory (Admin SDK), read as the admin who connected: groups and
organisational units to pick the sync scope from (B2, seed "Grouping Google Users"), who is in
the chosen one (``scope_members``), and the Workspace's verified domains (``verified_domains``),
the only addresses Cadence ever acts for.

Reference: https://developers.google.com/workspace/admin/directory/v1/guides
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from integrations.google.client import GoogleClient

# Nested groups are expanded at most this deep when Google does not flatten them itself.
MAX_GROUP_DEPTH = 5


@dataclass(frozen=True)
class DirectoryGroup:
    email: str
    name: str
    members_count: int | None = None


@dataclass(frozen=True)
class OrgUnit:
    path: str
    name: str
    description: str = ""


def admin_user(client: GoogleClient, email: str) -> dict[str, Any]:
    """The directory entry of ``email`` (``customerId``, ``isAdmin``, ``orgUnitPath``, …)."""
    return client.directory_user(email)


def verified_domains(client: GoogleClient) -> list[str]:
    """The Workspace's own domains, lower-cased: every domain and domain alias Google lists as
    verified (an unverified one is not proven to be the customer's, so it never counts)."""
    found: set[str] = set()
    for domain in client.directory_domains_list().get("domains") or []:
        if domain.get("verified") and domain.get("domainName"):
            found.add(str(domain["domainName"]).strip().lower())
        for alias in domain.get("domainAliases") or []:
            if alias.get("verified") and alias.get("domainAliasName"):
                found.add(str(alias["domainAliasName"]).strip().lower())
    return sorted(found)


def groups(client: GoogleClient) -> list[DirectoryGroup]:
    found = [
        DirectoryGroup(
            email=str(g.get("email") or "").lower(),
            name=str(g.get("name") or g.get("email") or ""),
            members_count=_int(g.get("directMembersCount")),
        )
        for g in _pages(client.directory_groups_list, "groups")
        if g.get("email")
    ]
    return sorted(found, key=lambda g: g.name.lower())


def org_units(client: GoogleClient) -> list[OrgUnit]:
    units = client.directory_orgunits_list().get("organizationUnits") or []
    found = [
        OrgUnit(
            path=str(u["orgUnitPath"]),
            name=str(u.get("name") or u["orgUnitPath"]),
            description=str(u.get("description") or ""),
        )
        for u in units
        if u.get("orgUnitPath") and u["orgUnitPath"] != "/"
    ]
    return sorted(found, key=lambda u: u.path.lower())


def scope_members(client: GoogleClient, *, kind: str, key: str) -> frozenset[str] | None:
    """Who is in a sync scope the admin chose: a group's or an org unit's people; None for the
    whole domain (``kind`` "")."""
    if kind == "group":
        return group_members(client, key)
    if kind == "org_unit":
        return org_unit_members(client, key)
    return None


def group_members(client: GoogleClient, group_key: str) -> frozenset[str]:
    """Lower-cased addresses of the people in a group, nested groups included."""
    return frozenset(_group_members(client, group_key.lower(), seen=set(), depth=0))


def _group_members(client: GoogleClient, group_key: str, *, seen: set[str], depth: int) -> set[str]:
    seen.add(group_key)
    people: set[str] = set()
    for member in _pages(
        lambda page_token="": client.directory_members_list(group_key=group_key, page_token=page_token),
        "members",
    ):
        address = str(member.get("email") or "").lower()
        if not address or member.get("status", "ACTIVE") not in ("ACTIVE", ""):
            continue
        if member.get("type") == "GROUP":
            # ``includeDerivedMembership`` already lists a nested group's people; expanding it
            # ourselves as well is harmless and covers directories that do not.
            if address not in seen and depth < MAX_GROUP_DEPTH:
                people |= _group_members(client, address, seen=seen, depth=depth + 1)
        elif member.get("type") in ("USER", None, ""):
            people.add(address)
    return people


def org_unit_members(client: GoogleClient, path: str) -> frozenset[str]:
    """Lower-cased primary addresses of the active users in an org unit and the units below it."""
    query = f"orgUnitPath='{path}'"
    return frozenset(
        str(u["primaryEmail"]).lower()
        for u in _pages(
            lambda page_token="": client.directory_users_list(query=query, page_token=page_token), "users"
        )
        if u.get("primaryEmail") and not u.get("suspended")
    )


def _pages(call: Any, key: str) -> Iterator[dict[str, Any]]:
    page_token = ""
    while True:
        page = call(page_token=page_token)
        yield from page.get(key) or []
        page_token = str(page.get("nextPageToken") or "")
        if not page_token:
            return


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
