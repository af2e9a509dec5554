"""``make run``'s Demo Co comes connected: Google Workspace (mail and calendar, domain-wide
delegation) and Salesforce, through the provider sandbox, without a click.

Nothing here stores a connection by hand. ``demo_connect`` walks the same flows an admin walks in
the browser — Cadence's connect view, the sandbox's consent page (answered as admin@demo.example),
Cadence's callback, Google's scope page — with Django's test client standing in for the browser
and ``requests`` for the trip to the sandbox. So the Workspace domain and the Salesforce org are
bound to Demo Co by what the (emulated) provider verified, exactly as for a customer, and the
first syncs start the way they always do.

It runs once per database, from ``run_sandbox --connect-demo`` (the Procfile's sandbox line) as
soon as the sandbox answers: a provider Demo Co has ever had a connection for is left alone, so
an admin who disconnects to try the consent flow is not reconnected behind their back, and a
restart (the sandbox keeps its state under var/) finds the connections still working.

Once Google Workspace is connected it makes Demo Co's two ready Salesflows (``demo/salesflows.py``).
After Salesforce connects it applies the suggested Lead Status mapping (what an admin would
accept on the mapping page) and asks Salesforce about each demo contact from the sandbox's demo
world (the New Contact lookup, as background tasks), so those contacts come linked to their
Salesforce Contacts, which the sandbox seeds for Demo Co (``{"demo_world": true}``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import requests
from django.conf import settings
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse

from copilot.models import Organization, Role, User
from demo.salesflows import demo_salesflows
from demo.seed import DEMO_ORG
from engage.enqueue import enqueue_on_commit
from engage.models import Contact
from engage.services.crm.configuration import crm_statuses_follow_mapping
from integrations.models import Connection
from integrations.sandbox import demo_world
from integrations.sandbox.control import SandboxControl

logger = logging.getLogger(__name__)

ADMIN_EMAIL = "admin@demo.example"
SALES_GROUP = f"group:{demo_world.SALES_GROUP_EMAIL}"
TIMEOUT_SECONDS = 30


class DemoConnectError(RuntimeError):
    """A step of the walk did not go as a person would see it go; the message says which."""


@dataclass
class DemoConnectReport:
    connected: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    lookups: int = 0
    salesflows: list[tuple[str, int]] = field(default_factory=list)  # (name, contacts enrolled)


def demo_connect(
    *, sandbox_url: str, ca_path: str, web_host: str, say: Callable[[str], None]
) -> DemoConnectReport:
    """Connect Demo Co's Google Workspace and Salesforce through the sandbox at ``sandbox_url``
    (whose CA is ``ca_path``) unless it has had them before. ``web_host`` is the ``host:port`` the
    browser uses, so the redirect URIs are those of the running site. ``say`` reports progress."""
    report = DemoConnectReport()
    organization = Organization.objects.filter(name=DEMO_ORG).first()
    admin = User.objects.filter(email=ADMIN_EMAIL, organization=organization, role=Role.ADMINISTRATOR).first()
    if organization is None or admin is None:
        say("Demo Co is not seeded (manage.py seed_demo); nothing to connect.")
        return report
    walk: _Walk | None = None  # signed in only when there is something to connect
    for provider in ("google", "salesforce"):
        if Connection.objects.filter(organization=organization, provider=provider).exists():
            report.skipped.append(provider)
            continue
        walk = walk or _Walk(admin=admin, sandbox_url=sandbox_url, ca_path=ca_path, web_host=web_host)
        say(f"Connecting Demo Co's {provider.title()} through the sandbox…")
        getattr(walk, provider)()
        report.connected.append(provider)
        say(f"Demo Co's {provider.title()} is connected.")
    if "salesforce" in report.connected:
        crm_statuses_follow_mapping(organization=organization, actor=admin)
        report.lookups = _look_up_world_contacts(organization, admin)
        say(f"Asked Salesforce about {report.lookups} demo contacts (linked in the background).")
    if "google" in report.connected:
        # Enrolling needs the sender's mailbox: the demo's Salesflows come once Google is connected.
        try:
            report.salesflows = demo_salesflows(organization)
        except ValidationError as exc:  # the connections stand; only the ready Salesflows are missing
            say(f"Demo Co's Salesflows were not made: {' '.join(exc.messages)}")
        for name, enrolled in report.salesflows:
            say(f"Salesflow “{name}”: {enrolled} contacts enrolled.")
    return report


def _look_up_world_contacts(organization: Organization, admin: User) -> int:
    """The New Contact lookup (F2) for each demo contact the sandbox's Salesforce knows."""
    emails = [p.email for p in demo_world.build_world().people if p.company]
    ids = list(
        Contact.objects.for_org(organization).filter(email__in=emails, crm_id="").values_list("pk", flat=True)
    )
    for contact_id in ids:
        enqueue_on_commit("crm_contact_lookup", contact_id, actor_id=admin.pk)
    return len(ids)


class _Walk:
    """The browser: Django's test client on Cadence's side, ``requests`` on the sandbox's."""

    def __init__(self, *, admin: User, sandbox_url: str, ca_path: str, web_host: str) -> None:
        self.sandbox_url = sandbox_url.rstrip("/")
        self.ca_path = ca_path
        self.cadence = Client(HTTP_HOST=web_host)
        self.cadence.force_login(admin, backend=settings.AUTHENTICATION_BACKENDS[0])
        SandboxControl(self.sandbox_url, ca_path).health()  # fails early, and plainly, when it is not up

    def google(self) -> None:
        authorize = self._post(reverse("integrations:google_connect"), {"app": "email"})
        back = self._consent(
            authorize, choose=lambda name, value, label: name == "email" and value == ADMIN_EMAIL
        )
        scope = self._get(back)
        if urlsplit(scope).path != reverse("integrations:google_scope"):
            raise DemoConnectError(
                f"Google's callback went to {scope}, not the scope page: {self._messages()}"
            )
        self._post(scope, {"scope": SALES_GROUP})

    def salesforce(self) -> None:
        SandboxControl(self.sandbox_url, self.ca_path).seed("salesforce", {"demo_world": True})
        authorize = self._post(reverse("integrations:salesforce_connect"), {"scope": "organization"})
        back = self._consent(authorize, choose=lambda name, value, label: f"<{ADMIN_EMAIL}>" in label)
        details = self._get(back)
        if "/salesforce/" not in urlsplit(details).path or "callback" in details:
            raise DemoConnectError(f"Salesforce's callback went to {details}: {self._messages()}")

    # --- the two sides -----------------------------------------------------------------------

    def _post(self, path: str, data: dict[str, str]) -> str:
        response = self.cadence.post(path, data)
        if response.status_code != 302:
            raise DemoConnectError(f"POST {path} answered {response.status_code}: {self._messages()}")
        return response["Location"]

    def _get(self, url: str) -> str:
        target = urlsplit(url)
        response = self.cadence.get(f"{target.path}?{target.query}")
        if response.status_code != 302:
            raise DemoConnectError(f"GET {target.path} answered {response.status_code}")
        return response["Location"]

    def _consent(self, authorize_url: str, *, choose: Callable[[str, str, str], bool]) -> str:
        """Open the sandbox's consent page, pick the user ``choose`` accepts, press Allow;
        returns where the sandbox sends the browser back to."""
        if not authorize_url.startswith(self.sandbox_url):
            raise DemoConnectError(f"Cadence sent the browser to {authorize_url}, not to the sandbox")
        with requests.Session() as browser:
            page = browser.get(authorize_url, verify=self.ca_path, timeout=TIMEOUT_SECONDS)
            if page.status_code != 200:
                raise DemoConnectError(
                    f"The sandbox's consent page answered {page.status_code}: {page.text[:300]}"
                )
            form = _ConsentForm()
            form.feed(page.text)
            picked = [(name, value) for name, value, label in form.radios if choose(name, value, label)]
            if not picked:
                raise DemoConnectError(f"{ADMIN_EMAIL} is not offered on the sandbox's consent page")
            data = {**form.hidden, picked[0][0]: picked[0][1], "decision": "allow"}
            answer = browser.post(
                urljoin(authorize_url, form.action),
                data=data,
                verify=self.ca_path,
                timeout=TIMEOUT_SECONDS,
                allow_redirects=False,
            )
        if answer.status_code != 302:
            raise DemoConnectError(
                f"The sandbox refused the consent ({answer.status_code}): {answer.text[:300]}"
            )
        return answer.headers["Location"]

    def _messages(self) -> str:
        """What the person would read in the page's messages (the last response's session)."""
        from django.contrib.messages.storage.session import SessionStorage

        stored = self.cadence.session.get(SessionStorage.session_key)
        return str(stored) if stored else "(no message)"


class _ConsentForm(HTMLParser):
    """The consent page's one form: its action, hidden fields and radio choices (with labels)."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.hidden: dict[str, str] = {}
        self.radios: list[tuple[str, str, str]] = []  # name, value, label text
        self._label: list[str] | None = None
        self._radio: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        elif tag == "label":
            self._label, self._radio = [], None
        elif tag == "input" and a.get("type") == "hidden":
            self.hidden[a["name"]] = a.get("value", "")
        elif tag == "input" and a.get("type") == "radio":
            self._radio = (a["name"], a.get("value", ""))

    def handle_data(self, data: str) -> None:
        if self._label is not None:
            self._label.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "label" and self._label is not None:
            if self._radio is not None:
                self.radios.append((*self._radio, " ".join("".join(self._label).split())))
            self._label, self._radio = None, None
