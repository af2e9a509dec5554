"""Shared fixtures of the mailbox sync tests: Demo Co (the sandbox's demo domain), its Google and
Microsoft admin-managed connections as the connect flows leave them, and an ingestion handler
that records what the engine delivers (a real handler registered like copilot's, not a fake of a
provider)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import pytest
from django.utils import timezone

from integrations import governance, services
from integrations.models import Connection
from integrations.records import KINDS, Deletion, MailboxContext, Record
from integrations.sandbox.microsoft import control as ms_control
from integrations.sandbox.microsoft.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID
from integrations.sync.registry import register_handler as register_ingest_handler
from integrations.sync.registry import unregister_handler as unregister_ingest_handler
from tests.factories import AdminFactory, OrganizationFactory, UserFactory

DOMAIN = "demo.example"
ADMIN = f"admin@{DOMAIN}"
SELLER1 = f"seller1@{DOMAIN}"
SELLER2 = f"seller2@{DOMAIN}"


@dataclass
class Demo:
    org: object
    admin: object
    seller1: object
    seller2: object


@pytest.fixture
def demo(db) -> Demo:
    org = OrganizationFactory(name="Demo Co")
    return Demo(
        org=org,
        admin=AdminFactory(organization=org, email=ADMIN, first_name="Ada", last_name="Admin"),
        seller1=UserFactory(organization=org, email=SELLER1, first_name="Sam", last_name="Seller"),
        seller2=UserFactory(organization=org, email=SELLER2, first_name="Sofia", last_name="Reyes"),
    )


def make_google_connection(demo: Demo, **details: object) -> Connection:
    """An admin-managed Google connection through domain-wide delegation, both apps installed."""
    connection = Connection.objects.create(
        organization=demo.org,
        provider="google",
        scope=Connection.Scope.ORGANIZATION,
        connected_by=demo.admin,
        external_org_id="C0demo",
        external_username=ADMIN,
        details={
            "mode": "dwd",
            "domain": DOMAIN,
            "customer_id": "C0demo",
            "admin_email": ADMIN,
            "verified_domains": [DOMAIN],  # read from the Directory's domains list at connect
            "domains_checked_at": timezone.now().isoformat(),  # then re-read hourly by the fan-out
            **details,
        },
    )
    governance.apps_install(connection=connection, actor=demo.admin)
    return connection


@pytest.fixture
def google(demo: Demo) -> Connection:
    return make_google_connection(demo)


@dataclass
class Recorder:
    """What the ingestion handlers received, per kind: (context, record) pairs in order."""

    batches: list[tuple[MailboxContext, list[Record]]] = field(default_factory=list)

    def __call__(self, context: MailboxContext, records: Sequence[Record]) -> None:
        self.batches.append((context, list(records)))

    def records(self, kind: str | None = None, mailbox: str | None = None) -> list[Record]:
        return [
            record
            for context, records in self.batches
            if (kind is None or context.kind == kind) and (mailbox is None or context.mailbox == mailbox)
            for record in records
        ]

    def ids(self, kind: str | None = None, mailbox: str | None = None) -> list[str]:
        return [r.external_id for r in self.records(kind, mailbox) if not isinstance(r, Deletion)]

    def contexts(self) -> list[MailboxContext]:
        return [context for context, _ in self.batches]


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    recorder = Recorder()
    for kind in KINDS:
        register_ingest_handler(kind, recorder)
    yield recorder
    for kind in KINDS:
        unregister_ingest_handler(kind, recorder)


def sandbox_google_connection(sandbox, demo: Demo, *, user=None, **details: object) -> Connection:
    """A Google connection as the connect flows leave it, holding tokens the sandbox issued:
    admin-managed (domain-wide delegation) by default, ``user``'s own with ``user``."""
    import datetime as dt

    from django.utils import timezone

    from integrations import services
    from integrations.google.provider import ADMIN_SCOPES, USER_SCOPES
    from integrations.sandbox.google import control as google_control
    from integrations.sandbox.google.oauth import normalise_scopes

    email = user.email if user is not None else ADMIN
    scopes = normalise_scopes(" ".join(USER_SCOPES if user is not None else ADMIN_SCOPES))
    tokens = google_control.issue_tokens(sandbox.state, email, scopes=scopes)
    now = timezone.now()
    mode = (
        {"mode": "oauth", "email": email}
        if user is not None
        else {
            "mode": "dwd",
            "admin_email": ADMIN,
            "verified_domains": [DOMAIN],
            "domains_checked_at": now.isoformat(),
        }
    )
    connection = services.connection_save_from_oauth(
        organization=demo.org,
        actor=user or demo.admin,
        provider="google",
        scope=Connection.Scope.USER if user is not None else Connection.Scope.ORGANIZATION,
        credentials={
            "access_token": tokens.access_token,
            "refresh_token": tokens.refresh_token,
            "issued_at": now.isoformat(),
            "expires_at": (now + dt.timedelta(seconds=3599)).isoformat(),
            "scopes": sorted(scopes),
        },
        external_org_id="",
        external_user_id="",
        external_username=email,
        instance_url="",
        details={"domain": DOMAIN, **mode, **details},
    )
    governance.apps_install(connection=connection, actor=user or demo.admin)
    return connection


def microsoft_connection(sandbox, settings, demo: Demo) -> Connection:
    """Demo Co's admin-managed Microsoft 365 connection, as after the admin consent."""
    settings.MICROSOFT_LOGIN_URL = sandbox.url
    settings.MICROSOFT_GRAPH_URL = f"{sandbox.url}/graph"
    settings.MICROSOFT_CLIENT_ID = DEMO_CLIENT_ID
    settings.MICROSOFT_CLIENT_SECRET = DEMO_CLIENT_SECRET
    ms_control.grant_admin_consent(sandbox.control)
    connection = services.connection_save_from_oauth(
        organization=demo.org,
        actor=demo.admin,
        provider="microsoft",
        scope=Connection.Scope.ORGANIZATION,
        credentials={"tenant_id": DEMO_TENANT_ID},
        external_org_id=DEMO_TENANT_ID,
        external_user_id="",
        external_username="demo.example",
        instance_url="",
        details={
            "mode": "app",
            "tenant_id": DEMO_TENANT_ID,
            "tenant_domain": "demo.example",
            "verified_domains": ["demo.example"],
            "tenant_members": [u.email for u in (demo.admin, demo.seller1, demo.seller2)],
            "domains_checked_at": timezone.now().isoformat(),
        },
    )
    governance.apps_install(connection=connection, actor=demo.admin)
    return connection
