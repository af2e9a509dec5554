"""Entra ID data the sandbox keeps: tenants, app registrations, users, groups, tenant-wide admin
consents, application access policies, and the tokens and codes it issued.

Graph routes call ``lookup_access_token`` to authenticate ``Authorization: Bearer`` headers against
the tokens the identity routes handed out.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass, field

from integrations.sandbox.state import SandboxState

STORE_KEY = "microsoft.directory"
ACCESS_TOKEN_LIFETIME = dt.timedelta(seconds=3599)
AUTH_CODE_LIFETIME = dt.timedelta(minutes=10)
# Entra's refresh tokens live 90 days (24 h for single-page apps); inactivity expires them too.
REFRESH_TOKEN_LIFETIME = dt.timedelta(days=90)
# Resources whose "<resource>/.default" scope the sandbox can issue tokens for.
GRAPH_RESOURCE = "https://graph.microsoft.com"
KNOWN_RESOURCES = frozenset({GRAPH_RESOURCE, "00000003-0000-0000-c000-000000000000"})
# Authorities that name no single tenant (the user's tenant is known once they sign in).
MULTI_TENANT_AUTHORITIES = frozenset({"common", "organizations"})
ACCESS_RIGHTS = frozenset({"RestrictAccess", "DenyAccess"})
# Built-in directory roles by template id (the same in every tenant): (displayName, description).
# Reference: https://learn.microsoft.com/en-us/entra/identity/role-based-access-control/permissions-reference
GLOBAL_ADMINISTRATOR = "62e90394-69f5-4237-9190-012177145e10"
PRIVILEGED_ROLE_ADMINISTRATOR = "e8611ab8-c189-46e8-94e1-60213ab1f814"
DIRECTORY_ROLES: dict[str, tuple[str, str]] = {
    GLOBAL_ADMINISTRATOR: (
        "Global Administrator",
        "Can manage all aspects of Microsoft Entra ID and Microsoft services that use Microsoft Entra identities.",
    ),
    PRIVILEGED_ROLE_ADMINISTRATOR: (
        "Privileged Role Administrator",
        "Can manage role assignments in Microsoft Entra ID, and all aspects of Privileged Identity Management.",
    ),
    "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3": (
        "Application Administrator",
        "Can create and manage all aspects of app registrations and enterprise apps.",
    ),
    "fe930be7-5e62-47db-91af-98c3a49a38b1": (
        "User Administrator",
        "Can manage all aspects of users and groups, including resetting passwords for limited admins.",
    ),
}
# Who may grant tenant-wide admin consent to application permissions for Microsoft Graph.
# Reference: https://learn.microsoft.com/en-us/entra/identity/enterprise-apps/grant-admin-consent
CONSENTING_ROLES = frozenset({GLOBAL_ADMINISTRATOR, PRIVILEGED_ROLE_ADMINISTRATOR})


@dataclass(frozen=True)
class Tenant:
    id: str
    domain: str  # the initial <name>.onmicrosoft.com domain
    display_name: str
    domains: tuple[str, ...] = ()  # further verified domains, e.g. "demo.example"

    @property
    def all_domains(self) -> tuple[str, ...]:
        return (self.domain, *self.domains)


@dataclass(frozen=True)
class AppRegistration:
    client_id: str
    tenant_id: str  # home tenant; the app is multi-tenant, so others may consent to it
    display_name: str
    secrets: tuple[str, ...]
    roles: tuple[str, ...]  # application permissions (admin consent grants them tenant-wide)
    service_principal_id: str
    redirect_uris: tuple[str, ...] = ()
    local_redirects: bool = False  # any http(s) URI on localhost/127.0.0.1/testserver (demo app)
    multi_tenant: bool = True


@dataclass
class User:
    id: str
    tenant_id: str
    user_principal_name: str
    mail: str
    display_name: str
    given_name: str = ""
    surname: str = ""
    job_title: str | None = None
    department: str | None = None
    office_location: str | None = None
    mobile_phone: str | None = None
    business_phones: tuple[str, ...] = ()
    account_enabled: bool = True
    is_admin: bool = False  # holds the Global Administrator role
    roles: tuple[str, ...] = ()  # further directory roles held, by template id (DIRECTORY_ROLES)
    has_mailbox: bool = True
    created: str = "2024-01-15T09:00:00Z"
    # What the ID token's optional ``email`` claim says, when not ``mail``: Entra may fill it from
    # an address nobody verified (a guest's, an unmanaged domain's), so it proves nothing.
    email_claim: str | None = None

    @property
    def role_template_ids(self) -> tuple[str, ...]:
        held = ((GLOBAL_ADMINISTRATOR,) if self.is_admin else ()) + self.roles
        return tuple(dict.fromkeys(held))

    @property
    def can_grant_admin_consent(self) -> bool:
        return bool(CONSENTING_ROLES & set(self.role_template_ids))


@dataclass
class Group:
    id: str
    tenant_id: str
    display_name: str
    description: str | None = None
    mail: str | None = None
    mail_enabled: bool = False
    security_enabled: bool = True
    group_types: tuple[str, ...] = ()
    members: list[str] = field(default_factory=list)  # user and group ids, direct only
    created: str = "2024-01-15T09:00:00Z"


@dataclass(frozen=True)
class AccessPolicy:
    tenant_id: str
    client_id: str
    group_id: str
    access_right: str  # "RestrictAccess" | "DenyAccess"


@dataclass(frozen=True)
class IssuedToken:
    tenant_id: str
    client_id: str
    resource: str
    roles: tuple[str, ...]  # application permissions (app-only tokens)
    expires_at: dt.datetime
    user_id: str | None = None  # delegated tokens act as this user
    scopes: tuple[str, ...] = ()  # delegated permissions, short names ("Mail.Read")

    @property
    def app_only(self) -> bool:
        return self.user_id is None


@dataclass
class AuthCode:
    client_id: str
    tenant_id: str
    user_id: str
    redirect_uri: str
    scopes: tuple[str, ...]  # as requested, in the requested form
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: dt.datetime
    used: bool = False


@dataclass
class RefreshGrant:
    client_id: str
    tenant_id: str
    user_id: str
    scopes: tuple[str, ...]
    issued_at: dt.datetime
    expires_at: dt.datetime
    revoked: bool = False


@dataclass
class Directory:
    tenants: dict[str, Tenant] = field(default_factory=dict)
    apps: dict[str, AppRegistration] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    consents: set[tuple[str, str]] = field(default_factory=set)  # (tenant_id, client_id)
    policies: list[AccessPolicy] = field(default_factory=list)
    access_tokens: dict[str, IssuedToken] = field(default_factory=dict)
    refresh_tokens: dict[str, RefreshGrant] = field(default_factory=dict)
    codes: dict[str, AuthCode] = field(default_factory=dict)
    signing_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    _upn_index: dict[str, str] = field(default_factory=dict)

    # --- tenants and apps -------------------------------------------------------------------
    def find_tenant(self, id_or_domain: str) -> Tenant | None:
        """Entra accepts the tenant GUID or any of its verified domains in the authority."""
        wanted = id_or_domain.lower()
        for tenant in self.tenants.values():
            if wanted == tenant.id.lower() or wanted in (d.lower() for d in tenant.all_domains):
                return tenant
        return None

    def tenant_of_domain(self, domain: str) -> Tenant | None:
        wanted = domain.lower()
        for tenant in self.tenants.values():
            if wanted in (d.lower() for d in tenant.all_domains):
                return tenant
        return None

    def find_app(self, tenant: Tenant, client_id: str) -> AppRegistration | None:
        """The app if it has a service principal in ``tenant``: its home tenant, or one whose
        admin consented to it (a multi-tenant app)."""
        app = self.apps.get(client_id)
        if app is None:
            return None
        if app.tenant_id == tenant.id:
            return app
        if app.multi_tenant and (tenant.id, client_id) in self.consents:
            return app
        return None

    def has_consent(self, tenant_id: str, client_id: str) -> bool:
        return (tenant_id, client_id) in self.consents

    # --- users and groups -------------------------------------------------------------------
    def add_user(self, user: User) -> None:
        previous = self.users.get(user.id)
        if previous is not None:
            for name in (previous.user_principal_name, previous.mail):
                self._upn_index.pop(name.lower(), None)
        self.users[user.id] = user
        if user.mail:
            self._upn_index.setdefault(user.mail.lower(), user.id)
        self._upn_index[user.user_principal_name.lower()] = user.id

    def remove_user(self, user: User) -> None:
        """The user leaves the tenant (deleted): out of the directory and every group."""
        self.users.pop(user.id, None)
        for name in (user.user_principal_name, user.mail):
            if name and self._upn_index.get(name.lower()) == user.id:
                del self._upn_index[name.lower()]
        for group in self.groups.values():
            if user.id in group.members:
                group.members.remove(user.id)

    def find_user(self, key: str, tenant_id: str | None = None) -> User | None:
        """By object id, userPrincipalName or primary SMTP address (case-insensitive), optionally
        within one tenant."""
        user = self.users.get(key) or self.users.get(self._upn_index.get(key.lower(), ""))
        if user is None:
            lowered = key.lower()
            user = next((u for u in self.users.values() if u.id.lower() == lowered), None)
        if user is None or (tenant_id is not None and user.tenant_id != tenant_id):
            return None
        return user

    def users_of(self, tenant_id: str) -> list[User]:
        return [u for u in self.users.values() if u.tenant_id == tenant_id]

    def find_group(self, key: str, tenant_id: str | None = None) -> Group | None:
        """By object id, or (seeds and tests) display name or mail."""
        group = self.groups.get(key)
        if group is None:
            lowered = key.lower()
            group = next(
                (
                    g
                    for g in self.groups.values()
                    if lowered in (g.id.lower(), g.display_name.lower(), (g.mail or "").lower())
                ),
                None,
            )
        if group is None or (tenant_id is not None and group.tenant_id != tenant_id):
            return None
        return group

    def transitive_user_ids(self, group: Group) -> set[str]:
        found: set[str] = set()
        seen: set[str] = set()
        pending = [group.id]
        while pending:
            current = self.groups.get(pending.pop())
            if current is None or current.id in seen:
                continue
            seen.add(current.id)
            for member in current.members:
                if member in self.users:
                    found.add(member)
                elif member in self.groups:
                    pending.append(member)
        return found


def directory(state: SandboxState) -> Directory:
    return state.store(STORE_KEY, Directory)


def find_access_token(state: SandboxState, token: str) -> IssuedToken | None:
    """The token's grant if this sandbox issued it, expired or not."""
    with state.lock:
        return directory(state).access_tokens.get(token)


def lookup_access_token(state: SandboxState, token: str) -> IssuedToken | None:
    """The token's grant if this sandbox issued it and it has not expired."""
    issued = find_access_token(state, token)
    if issued is None or issued.expires_at <= dt.datetime.now(dt.UTC):
        return None
    return issued
