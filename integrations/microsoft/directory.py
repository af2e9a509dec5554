"""The tenant's directory through Graph: who the tenant is, its users, its security groups and a
group's members (the provider-side scope an admin may pick at connect, B2/B4).

Application access policies are not applied to directory calls, so these work for the whole
tenant whatever policy restricts mailbox access.
"""

# Reference: https://learn.microsoft.com/en-us/graph/api/organization-get
# Reference: https://learn.microsoft.com/en-us/graph/api/group-list
# Reference: https://learn.microsoft.com/en-us/graph/api/group-list-members
# Reference: https://learn.microsoft.com/en-us/graph/api/resources/directoryrole

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from integrations.exceptions import ProviderError
from integrations.microsoft.client import GraphClient

USER_TYPE = "#microsoft.graph.user"
GROUP_FIELDS = "id,displayName,mail,description"
# The built-in roles that may grant tenant-wide admin consent to Microsoft Graph application
# permissions (what Cadence asks for), by their template id — the same in every tenant.
# Reference: https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/grant-admin-consent
# Reference: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference
CONSENTING_ROLES = {
    "62e90394-69f5-4237-9190-012177145e10": "Global Administrator",
    "e8611ab8-c189-46e8-94e1-60213ab1f814": "Privileged Role Administrator",
}


@dataclass(frozen=True)
class TenantInfo:
    id: str
    name: str
    domain: str  # the default verified domain (e.g. the company's own), else the first one
    domains: tuple[str, ...] = ()  # every verified domain, lower-cased


@dataclass(frozen=True)
class SecurityGroup:
    id: str
    name: str
    mail: str
    description: str = ""


def tenant_info(client: GraphClient) -> TenantInfo:
    body = client.organization(select="id,displayName,verifiedDomains")
    organizations = body.get("value") or []
    if not organizations:
        raise ProviderError("Microsoft Graph returned no organisation for this tenant.")
    org = organizations[0]
    domains = [d for d in org.get("verifiedDomains") or () if isinstance(d, dict) and d.get("name")]
    default = next((d for d in domains if d.get("isDefault")), None)
    custom = next((d for d in domains if not str(d["name"]).endswith(".onmicrosoft.com")), None)
    chosen = default or custom or (domains[0] if domains else {})
    return TenantInfo(
        id=str(org.get("id") or client.tenant_id),
        name=str(org.get("displayName") or ""),
        domain=str(chosen.get("name") or "").lower(),
        domains=tuple(sorted({str(d["name"]).strip().lower() for d in domains})),
    )


def user_addresses(client: GraphClient) -> list[str]:
    """Every user's mail address (or user principal name), lower-cased."""
    found = client.users(select="id,mail,userPrincipalName")
    return sorted({_address(user) for user in found} - {""})


def member_addresses(client: GraphClient) -> list[str]:
    """The addresses of the tenant's own users — both ``mail`` and ``userPrincipalName``,
    lower-cased — leaving out guests (``userType`` "Guest"), whose mail is another organisation's."""
    # Reference: https://learn.microsoft.com/en-us/graph/api/resources/user (userType)
    found = client.users(select="id,mail,userPrincipalName,userType")
    addresses: set[str] = set()
    for user in found:
        if str(user.get("userType") or "Member").lower() == "guest":
            continue
        for key in ("mail", "userPrincipalName"):
            address = str(user.get(key) or "").strip().lower()
            if address and "#ext#" not in address:
                addresses.add(address)
    return sorted(addresses)


def directory_roles(client: GraphClient, user_id: str) -> frozenset[str]:
    """The template ids of the directory roles ``user_id`` holds, directly or through a
    role-assignable group (active assignments only: an eligible PIM role not activated is not
    listed, and cannot grant consent either)."""
    # Reference: https://learn.microsoft.com/en-us/graph/api/user-list-transitivememberof
    roles = client.user_directory_roles(user_id)
    return frozenset(str(role.get("roleTemplateId") or "").lower() for role in roles) - {""}


def can_grant_admin_consent(client: GraphClient, user_id: str) -> bool:
    """Whether ``user_id`` holds a role that may grant tenant-wide consent to Cadence's app."""
    return bool(directory_roles(client, user_id) & set(CONSENTING_ROLES))


def me_addresses(client: GraphClient) -> tuple[str, str, str]:
    """(id, mail, userPrincipalName) of the signed-in user, lower-cased, as the directory holds
    them: unlike an ID token's optional ``email`` claim, these are the tenant's own."""
    # Reference: https://learn.microsoft.com/en-us/graph/api/user-get
    me = client.me(select="id,mail,userPrincipalName")
    return (
        str(me.get("id") or ""),
        str(me.get("mail") or "").strip().lower(),
        str(me.get("userPrincipalName") or "").strip().lower(),
    )


def security_groups(client: GraphClient) -> list[SecurityGroup]:
    groups = client.groups(filter="securityEnabled eq true", select=GROUP_FIELDS)
    return sorted((_group(g) for g in groups if g.get("id")), key=lambda g: g.name.lower())


def security_group(client: GraphClient, group_id: str) -> SecurityGroup:
    return _group(client.group(group_id, select=GROUP_FIELDS), group_id)


def group_members(client: GraphClient, group_id: str) -> frozenset[str]:
    """The group's user members' addresses, lower-cased, over every page. Graph lists direct
    members only: users of a nested group are not included."""
    members = client.group_members(group_id, select="id,mail,userPrincipalName")
    return frozenset(
        address
        for member in members
        if member.get("@odata.type", USER_TYPE) == USER_TYPE and (address := _address(member))
    )


def _group(g: dict[str, Any], group_id: str = "") -> SecurityGroup:
    group_id = str(g.get("id") or group_id)
    return SecurityGroup(
        id=group_id,
        name=str(g.get("displayName") or g.get("mail") or group_id),
        mail=str(g.get("mail") or "").lower(),
        description=str(g.get("description") or ""),
    )


def _address(user: dict[str, Any]) -> str:
    return str(user.get("mail") or user.get("userPrincipalName") or "").strip().lower()
