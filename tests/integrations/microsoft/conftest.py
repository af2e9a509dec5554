"""Microsoft 365 tests run against the provider sandbox's Entra ID and Graph emulator over HTTPS.

Demo tenant (integrations/sandbox/demo_world.py): admin@demo.example (Global Administrator),
seller1@ and seller2@demo.example, in the security group "Cadence sellers".
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from django.utils import timezone
from lxml import html as lxml_html

from integrations import services
from integrations.microsoft import auth
from integrations.microsoft.fetch import delta
from integrations.models import Connection
from integrations.sandbox.microsoft.demo import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_TENANT_ID
from integrations.sandbox.microsoft.directory import directory

ADMIN = "admin@demo.example"
SELLER1 = "seller1@demo.example"
SELLER2 = "seller2@demo.example"


@pytest.fixture(autouse=True)
def _fresh_microsoft_caches() -> Iterator[None]:
    """msal apps (and their cached tokens) and the $batch memory live per process: no test
    inherits another's."""
    auth.reset_caches()
    delta.reset_batch_support()
    yield
    auth.reset_caches()
    delta.reset_batch_support()


@pytest.fixture
def ms(sandbox: Any, settings: Any) -> Any:
    """The sandbox, with Cadence's Microsoft settings pointing at it."""
    settings.MICROSOFT_LOGIN_URL = sandbox.url
    settings.MICROSOFT_GRAPH_URL = f"{sandbox.url}/graph"
    settings.MICROSOFT_CLIENT_ID = DEMO_CLIENT_ID
    settings.MICROSOFT_CLIENT_SECRET = DEMO_CLIENT_SECRET
    settings.GRAPH_MAILBOX_CONCURRENCY = 4
    return sandbox


@pytest.fixture
def app_connection(ms: Any, acme: Any, owner: Any) -> Connection:
    """Acme's admin-managed connection to the demo tenant (as after admin consent)."""
    ms.control.seed("microsoft", {"consents": [{"tenant_id": DEMO_TENANT_ID}]})
    tenant = directory(ms.state).tenants[DEMO_TENANT_ID]
    members = {
        address.lower()
        for user in directory(ms.state).users_of(DEMO_TENANT_ID)
        for address in (user.mail, user.user_principal_name)
        if address
    }
    return services.connection_save_from_oauth(
        organization=acme,
        actor=owner,
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
            # What connect reads from Graph (``integrations.microsoft.checks``).
            "verified_domains": sorted(d.lower() for d in tenant.all_domains),
            "tenant_members": sorted(members),
            "domains_checked_at": timezone.now().isoformat(),  # then re-read hourly by the fan-out
        },
    )


@dataclass
class ConsentForm:
    action: str
    fields: dict[str, str]
    users: list[str]  # radio values (user principal names)
    text: str


def consent_form(sandbox: Any, url: str) -> tuple[requests.Session, requests.Response, ConsentForm]:
    http = requests.Session()
    page = http.get(url, verify=sandbox.ca_path, timeout=10, allow_redirects=False)
    if page.status_code != 200 or "<form" not in page.text:
        return http, page, ConsentForm("", {}, [], page.text)
    tree = lxml_html.fromstring(page.text)
    form = tree.forms[0]
    fields = {i.name: i.value or "" for i in form.inputs if i.name and i.type == "hidden"}
    users = [i.get("value") for i in form.inputs if i.name == "user" and i.type == "radio"]
    return http, page, ConsentForm(form.action or urlsplit(url).path, fields, users, tree.text_content())


def answer_consent(sandbox: Any, url: str, *, user: str = ADMIN, accept: bool = True) -> str:
    """Answer the sandbox's consent page as a browser would; returns the redirect back to Cadence."""
    http, page, form = consent_form(sandbox, url)
    assert page.status_code == 200, page.text
    assert user in form.users, f"{user} is not offered: {form.users}"
    answer = http.post(
        urljoin(url, form.action),
        data={**form.fields, "user": user, "decision": "accept" if accept else "cancel"},
        verify=sandbox.ca_path,
        timeout=10,
        allow_redirects=False,
    )
    assert answer.status_code == 302, answer.text
    return answer.headers["Location"]


def follow_back(client: Any, location: str) -> Any:
    """Call Cadence's callback the way the browser would after Microsoft's redirect."""
    parts = urlsplit(location)
    return client.get(parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()})


def start_admin_connect(client: Any, app: str = "email") -> str:
    """POST Connect as an admin; the sandbox sign-in URL it redirects to."""
    from django.urls import reverse

    response = client.post(reverse("integrations:microsoft_connect"), {"app": app})
    assert response.status_code == 302, response
    return response["Location"]


def admin_sign_in(sandbox: Any, client: Any, *, app: str = "email", user: str = ADMIN) -> str:
    """The first leg: Connect, sign in on the sandbox as ``user``; the admin consent URL Cadence
    sends the admin to next."""
    back = follow_back(client, answer_consent(sandbox, start_admin_connect(client, app), user=user))
    assert back.status_code == 302, back
    assert "/v2.0/adminconsent" in back["Location"], back["Location"]
    return back["Location"]


def admin_connect(sandbox: Any, client: Any, *, app: str = "email", accept: bool = True) -> Any:
    """Both legs (sign-in, then admin consent) as Demo Co's Global Administrator."""
    consent_url = admin_sign_in(sandbox, client, app=app)
    return follow_back(client, answer_consent(sandbox, consent_url, user=ADMIN, accept=accept))


# --- Sync helpers --------------------------------------------------------------------------------
def mailbox(address: str, user_id: int = 1) -> Any:
    from integrations.sync.source import MailboxRef

    return MailboxRef(user_id=user_id, address=address)


def since_days(days: int = 90) -> Any:
    import datetime as dt

    from django.utils import timezone

    return timezone.now() - dt.timedelta(days=days)


def sync(connection: Connection, address: str, kind: str, cursor: str = "", since: Any = None) -> list[Any]:
    """Every page of one fetch round, as the engine would consume them."""
    from integrations.microsoft.fetch.source import MICROSOFT_ADAPTER

    return list(
        MICROSOFT_ADAPTER.fetch(
            connection=connection,
            mailbox=mailbox(address),
            kind=kind,  # type: ignore[arg-type]
            cursor=cursor,
            since=since or since_days(),
        )
    )


def records_of(pages: list[Any]) -> list[Any]:
    return [record for page in pages for record in page.records]


def graph_requests(sandbox: Any) -> list[dict[str, Any]]:
    return sandbox.control.requests("/graph/v1.0/")
