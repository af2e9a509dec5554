"""The Google emulator's state: Workspace customers with their users, groups and org units, OAuth
clients and service accounts, issued codes and tokens, and each user's mailbox, calendars and
contacts (those live in ``mailbox``, ``calendars`` and ``contacts``).

One ``GoogleStore`` per sandbox state. The demo world is rendered into it on first use (see
``demo.google_store``), so tests that never call Google do not pay for it.
"""

from __future__ import annotations

import secrets
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from cryptography.hazmat.primitives import serialization

from integrations.sandbox.google.calendars import CalendarBook
from integrations.sandbox.google.clock import Clock
from integrations.sandbox.google.contacts import ContactBook
from integrations.sandbox.google.mailbox import Mailbox
from integrations.sandbox.google.quota import GmailQuota

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey

STORE_KEY = "google"

DEMO_CLIENT_ID = "cadence-sandbox-google-client"
DEMO_CLIENT_SECRET = "cadence-sandbox-google-secret"
DEMO_CLIENT_NAME = "Cadence (sandbox)"

ACCESS_TOKEN_LIFETIME = 3599
AUTH_CODE_LIFETIME = 600


@dataclass
class Customer:
    id: str
    domain: str
    name: str
    # Admin console › Security › API controls › Domain-wide delegation: numeric client id → scopes.
    dwd: dict[str, frozenset[str]] = field(default_factory=dict)
    # Admin console › Account › Domains: alias name → whether Google verified it (the primary
    # domain itself is always verified).
    domain_aliases: dict[str, bool] = field(default_factory=dict)


@dataclass
class User:
    id: str
    email: str
    given_name: str
    family_name: str
    customer_id: str
    org_unit_path: str = "/"
    is_admin: bool = False
    suspended: bool = False
    created: float = 0.0

    @property
    def full_name(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()

    @property
    def domain(self) -> str:
        return self.email.rpartition("@")[2]


@dataclass
class Member:
    email: str
    role: str = "MEMBER"  # OWNER | MANAGER | MEMBER
    type: str = "USER"  # USER | GROUP | CUSTOMER | EXTERNAL


@dataclass
class Group:
    id: str
    email: str
    name: str
    customer_id: str
    description: str = ""
    members: list[Member] = field(default_factory=list)


@dataclass
class OrgUnit:
    id: str
    customer_id: str
    path: str
    name: str
    description: str = ""

    @property
    def parent_path(self) -> str:
        parent = self.path.rsplit("/", 1)[0]
        return parent or "/"


@dataclass
class ServiceAccount:
    client_email: str
    client_id: str  # the numeric "unique id" admins authorise for DWD
    keys: dict[str, RSAPublicKey]  # private_key_id → public key

    def __getstate__(self) -> dict[str, Any]:
        # cryptography's key objects do not pickle (the state file): kept as PEM there.
        pem = {
            key_id: key.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            for key_id, key in self.keys.items()
        }
        return {**self.__dict__, "keys": pem}

    def __setstate__(self, state: dict[str, Any]) -> None:
        keys = {key_id: serialization.load_pem_public_key(pem) for key_id, pem in state["keys"].items()}
        self.__dict__.update({**state, "keys": keys})


@dataclass
class OAuthClient:
    client_id: str
    secret: str
    name: str


@dataclass
class AuthCode:
    client_id: str
    redirect_uri: str
    email: str
    scopes: frozenset[str]
    expires_at: float
    offline: bool
    code_challenge: str | None = None
    code_challenge_method: str = "plain"
    nonce: str | None = None
    used: bool = False


@dataclass
class RefreshGrant:
    client_id: str
    email: str
    scopes: frozenset[str]
    revoked: bool = False


@dataclass
class AccessGrant:
    client_id: str
    email: str | None  # None: a service account's own token (no DWD subject)
    scopes: frozenset[str]
    expires_at: float
    refresh_token: str | None = None
    service_account: str | None = None
    revoked: bool = False


class GoogleStore:
    def __init__(self) -> None:
        self.clock = Clock()
        self.customers: dict[str, Customer] = {}
        self.users: dict[str, User] = {}  # lower-case email → user
        self.groups: dict[str, Group] = {}  # id → group
        self.org_units: dict[tuple[str, str], OrgUnit] = {}  # (customer id, path) → unit
        self.service_accounts: dict[str, ServiceAccount] = {}  # client_email → account
        self.clients: dict[str, OAuthClient] = {
            DEMO_CLIENT_ID: OAuthClient(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_CLIENT_NAME)
        }
        self.codes: dict[str, AuthCode] = {}
        self.refresh_tokens: dict[str, RefreshGrant] = {}
        self.access_tokens: dict[str, AccessGrant] = {}
        self.granted: dict[tuple[str, str], set[str]] = {}  # (client, email) → scopes ever granted
        self.mailboxes: dict[str, Mailbox] = {}
        self.calendars: dict[str, CalendarBook] = {}
        self.contacts: dict[str, ContactBook] = {}
        self.quota = GmailQuota()
        self.calls: Counter[tuple[str, str]] = Counter()  # (user email or "", method id) → count
        self.demo_rendered = False
        # Numeric client ids of Cadence's own service accounts: the demo domain authorises them.
        self.cadence_service_accounts: list[str] = []
        self._last_number = 0

    # ---- ids -----------------------------------------------------------------------------
    def next_number(self) -> int:
        self._last_number += 1
        return self._last_number

    def new_numeric_id(self) -> str:
        return f"1{self.next_number():020d}"

    # ---- directory -----------------------------------------------------------------------
    def add_customer(self, *, domain: str, name: str, customer_id: str | None = None) -> Customer:
        domain = domain.lower()
        existing = self.customer_for_domain(domain)
        if existing is not None:
            existing.name = name or existing.name
            return existing
        customer = Customer(id=customer_id or f"C0{self.next_number():07x}", domain=domain, name=name)
        self.customers[customer.id] = customer
        self.add_org_unit(customer, "/", name=name)
        return customer

    def customer_for_domain(self, domain: str) -> Customer | None:
        domain = domain.lower()
        return next((c for c in self.customers.values() if c.domain == domain), None)

    def add_org_unit(
        self, customer: Customer, path: str, *, name: str = "", description: str = ""
    ) -> OrgUnit:
        path = "/" + path.strip("/") if path.strip("/") else "/"
        key = (customer.id, path)
        if key not in self.org_units:
            if path != "/":
                self.add_org_unit(customer, path.rsplit("/", 1)[0] or "/")
            unit_name = name or (path.rsplit("/", 1)[1] if path != "/" else customer.name)
            self.org_units[key] = OrgUnit(
                id=f"id:03ph8a2z{self.next_number():06x}",
                customer_id=customer.id,
                path=path,
                name=unit_name,
                description=description,
            )
        return self.org_units[key]

    def add_user(
        self,
        *,
        email: str,
        given_name: str,
        family_name: str,
        org_unit_path: str = "/",
        is_admin: bool = False,
    ) -> User:
        email = email.lower()
        domain = email.rpartition("@")[2]
        customer = self.customer_for_domain(domain) or self.add_customer(domain=domain, name=domain)
        unit = self.add_org_unit(customer, org_unit_path)
        user = self.users.get(email)
        if user is None:
            user = User(
                id=self.new_numeric_id(),
                email=email,
                given_name=given_name,
                family_name=family_name,
                customer_id=customer.id,
                created=self.clock.now(),
            )
            self.users[email] = user
        user.given_name, user.family_name = given_name, family_name
        user.org_unit_path, user.is_admin = unit.path, is_admin
        return user

    def user(self, email: str | None) -> User | None:
        return self.users.get((email or "").lower())

    def user_by_key(self, key: str) -> User | None:
        """A user by primary email or numeric id (the Directory API's userKey)."""
        return self.user(key) or next((u for u in self.users.values() if u.id == key), None)

    def customer_users(self, customer_id: str) -> list[User]:
        return [u for u in self.users.values() if u.customer_id == customer_id]

    def add_group(
        self, *, email: str, name: str, members: Iterable[str | Member] = (), description: str = ""
    ) -> Group:
        email = email.lower()
        domain = email.rpartition("@")[2]
        customer = self.customer_for_domain(domain) or self.add_customer(domain=domain, name=domain)
        group = self.group_by_key(email)
        if group is None:
            group = Group(id=f"0{self.next_number():014x}", email=email, name=name, customer_id=customer.id)
            self.groups[group.id] = group
        group.name, group.description = name, description
        for member in members:
            self.add_member(group, member)
        return group

    def add_member(self, group: Group, member: str | Member) -> None:
        if isinstance(member, str):
            email = member.lower()
            kind = "GROUP" if self.group_by_key(email) else "USER" if self.user(email) else "EXTERNAL"
            member = Member(email=email, type=kind)
        if all(m.email != member.email for m in group.members):
            group.members.append(member)

    def group_by_key(self, key: str) -> Group | None:
        key = key.lower()
        return self.groups.get(key) or next((g for g in self.groups.values() if g.email == key), None)

    # ---- OAuth ---------------------------------------------------------------------------
    def issue_access_token(
        self,
        *,
        client_id: str,
        email: str | None,
        scopes: Iterable[str],
        refresh_token: str | None = None,
        service_account: str | None = None,
    ) -> str:
        token = "ya29.sbx-" + secrets.token_urlsafe(40)
        self.access_tokens[token] = AccessGrant(
            client_id=client_id,
            email=email,
            scopes=frozenset(scopes),
            expires_at=self.clock.now() + ACCESS_TOKEN_LIFETIME,
            refresh_token=refresh_token,
            service_account=service_account,
        )
        return token

    def issue_refresh_token(self, *, client_id: str, email: str, scopes: Iterable[str]) -> str:
        token = "1//sbx-" + secrets.token_urlsafe(48)
        self.refresh_tokens[token] = RefreshGrant(client_id=client_id, email=email, scopes=frozenset(scopes))
        return token

    def access_grant(self, token: str) -> AccessGrant | None:
        grant = self.access_tokens.get(token)
        if grant is None or grant.revoked or grant.expires_at <= self.clock.now():
            return None
        if grant.refresh_token and self.refresh_tokens[grant.refresh_token].revoked:
            return None
        return grant

    def revoke(self, token: str) -> bool:
        """Revoking either token of a grant revokes the whole grant (as at Google)."""
        refresh = self.refresh_tokens.get(token)
        access = self.access_tokens.get(token)
        if access is not None and access.refresh_token:
            refresh = self.refresh_tokens[access.refresh_token]
            token = access.refresh_token
        if refresh is not None:
            if refresh.revoked:
                return False
            refresh.revoked = True
            for grant in self.access_tokens.values():
                if grant.refresh_token == token:
                    grant.revoked = True
            return True
        if access is not None and not access.revoked and access.expires_at > self.clock.now():
            access.revoked = True
            return True
        return False

    # ---- per-user data -------------------------------------------------------------------
    def mailbox(self, email: str) -> Mailbox:
        email = email.lower()
        box = self.mailboxes.get(email)
        if box is None:
            box = self.mailboxes[email] = Mailbox(email, clock=self.clock)
        return box

    def calendar_book(self, email: str) -> CalendarBook:
        email = email.lower()
        book = self.calendars.get(email)
        if book is None:
            user = self.user(email)
            book = self.calendars[email] = CalendarBook(
                email, owner_name=user.full_name if user else email, clock=self.clock
            )
        return book

    def contact_book(self, email: str) -> ContactBook:
        email = email.lower()
        book = self.contacts.get(email)
        if book is None:
            book = self.contacts[email] = ContactBook(email, clock=self.clock)
        return book

    def describe(self) -> dict[str, Any]:
        return {
            "customers": [c.domain for c in self.customers.values()],
            "users": len(self.users),
            "messages": sum(len(b.messages) for b in self.mailboxes.values()),
        }
