"""Microsoft Graph permissions the sandbox knows: their consent-screen wording, how a ``scope``
parameter splits into Graph permissions and OpenID Connect scopes, and which permissions each kind
of Graph route needs."""

# Reference: https://learn.microsoft.com/en-us/graph/permissions-reference
# Reference: https://learn.microsoft.com/en-us/entra/identity-platform/scopes-oidc

from __future__ import annotations

from dataclasses import dataclass

GRAPH_PREFIXES = ("https://graph.microsoft.com/", "00000003-0000-0000-c000-000000000000/")

# name: (delegated wording, application wording)
PERMISSIONS: dict[str, tuple[str, str]] = {
    "User.Read": ("Sign you in and read your profile", "Read all users' full profiles"),
    "User.ReadBasic.All": ("Read all users' basic profiles", "Read all users' basic profiles"),
    "User.Read.All": ("Read all users' full profiles", "Read all users' full profiles"),
    "Group.Read.All": ("Read all groups", "Read all groups"),
    "GroupMember.Read.All": ("Read group memberships", "Read all group memberships"),
    "Directory.Read.All": ("Read directory data", "Read directory data"),
    "Organization.Read.All": ("Read organization information", "Read organization information"),
    "Mail.ReadBasic": ("Read user basic mail", "Read basic mail in all mailboxes"),
    "Mail.ReadBasic.All": ("Read basic mail in all mailboxes", "Read basic mail in all mailboxes"),
    "Mail.Read": ("Read your mail", "Read mail in all mailboxes"),
    "Mail.ReadWrite": ("Read and write access to your mail", "Read and write mail in all mailboxes"),
    "Mail.Send": ("Send mail as you", "Send mail as any user"),
    "MailboxSettings.Read": ("Read your mailbox settings", "Read all user mailbox settings"),
    "MailboxSettings.ReadWrite": ("Read and write your mailbox settings", "Read and write all user mailbox settings"),
    "Calendars.ReadBasic": ("Read basic details of your calendars", "Read basic details of calendars in all mailboxes"),
    "Calendars.Read": ("Read your calendars", "Read calendars in all mailboxes"),
    "Calendars.ReadWrite": ("Have full access to your calendars", "Read and write calendars in all mailboxes"),
    "Contacts.Read": ("Read your contacts", "Read contacts in all mailboxes"),
    "Contacts.ReadWrite": ("Have full access to your contacts", "Read and write contacts in all mailboxes"),
}  # fmt: skip
OIDC_WORDING = {
    "openid": "Sign you in",
    "profile": "View your basic profile",
    "email": "View your email address",
    "offline_access": "Maintain access to data you have given it access to",
}
_BY_LOWER = {name.lower(): name for name in PERMISSIONS}

# What a route needs: any one of these permissions (delegated "scp" or application "roles").
NEEDS: dict[str, frozenset[str]] = {
    "me": frozenset({"User.Read", "User.ReadBasic.All", "User.Read.All", "Directory.Read.All"}),
    "users": frozenset({"User.ReadBasic.All", "User.Read.All", "Directory.Read.All"}),
    "organization": frozenset({"User.Read", "Organization.Read.All", "Directory.Read.All"}),
    "groups": frozenset({"Group.Read.All", "GroupMember.Read.All", "Directory.Read.All"}),
    # A user's memberOf / transitiveMemberOf (groups and directory roles); own ones need "me".
    "memberships": frozenset(
        {"User.Read.All", "Group.Read.All", "GroupMember.Read.All", "Directory.Read.All"}
    ),
    "mail.read": frozenset({"Mail.ReadBasic", "Mail.ReadBasic.All", "Mail.Read", "Mail.ReadWrite"}),
    "mail.write": frozenset({"Mail.ReadWrite"}),
    "mail.send": frozenset({"Mail.Send"}),
    "calendar.read": frozenset({"Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite"}),
    "calendar.write": frozenset({"Calendars.ReadWrite"}),
    "contacts.read": frozenset({"Contacts.Read", "Contacts.ReadWrite"}),
    "settings.read": frozenset({"MailboxSettings.Read", "MailboxSettings.ReadWrite"}),
    "settings.write": frozenset({"MailboxSettings.ReadWrite"}),
}


@dataclass(frozen=True)
class RequestedScopes:
    graph: tuple[str, ...]  # canonical short names ("Mail.Read")
    oidc: frozenset[str]
    unknown: tuple[str, ...]
    default: bool  # ".default": whatever permissions the app registration lists


def parse_scopes(value: str) -> RequestedScopes:
    graph: list[str] = []
    oidc: set[str] = set()
    unknown: list[str] = []
    default = False
    for raw in value.split():
        if raw.lower() in OIDC_WORDING:
            oidc.add(raw.lower())
            continue
        name = raw
        for prefix in GRAPH_PREFIXES:
            if raw.lower().startswith(prefix):
                name = raw[len(prefix) :]
                break
        if name == ".default":
            default = True
            continue
        canonical = _BY_LOWER.get(name.lower())
        if canonical is None:
            unknown.append(raw)
        elif canonical not in graph:
            graph.append(canonical)
    return RequestedScopes(tuple(graph), frozenset(oidc), tuple(unknown), default)


def delegated_wording(name: str) -> str:
    return PERMISSIONS.get(name, (name, name))[0] if name not in OIDC_WORDING else OIDC_WORDING[name]


def application_wording(name: str) -> str:
    return PERMISSIONS.get(name, (name, name))[1]
