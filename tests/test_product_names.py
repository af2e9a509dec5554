"""Product names on every page (issue 12): the packages are Cadence's own ("Revenue intelligence",
"Sales engagement") and the product is Cadence; another vendor's product names ("Copilot",
"Engage") never reach what a person reads, including tooltips and labels.

Every portal and workspace page (the URL patterns of the copilot, engage and integrations
namespaces, enumerated from the resolver as in tests/copilot/test_tenancy_urls.py) is opened by
an administrator, once with every package and once with none (the lock marks and pages)."""

from __future__ import annotations

import html
import re

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from tests.copilot.test_tenancy_urls import ALL_ROUTES, OBJECT_FACTORIES
from tests.security.test_get_changes_nothing import GET_BY_PROTOCOL, PLAIN_KWARGS

FORBIDDEN = re.compile(r"\b(Copilot|Engage)\b")  # capitalised: the names, not code or URLs
HIDDEN = re.compile(r"<(script|style)\b.*?</\1>", re.S | re.I)
READ_ATTRIBUTES = re.compile(r'\b(?:title|aria-label|placeholder|alt|value)="([^"]*)"')
TAG = re.compile(r"<[^>]+>")
ROUTES = [
    r
    for r in ALL_ROUTES
    if r.name.split(":")[0] in ("copilot", "engage", "integrations") and r.name not in GET_BY_PROTOCOL
]


def visible_text(page: str) -> str:
    """What a person reads on ``page``: its text, and the attributes shown as tooltips/labels."""
    page = HIDDEN.sub(" ", page)
    attributes = " ".join(READ_ATTRIBUTES.findall(page))
    return html.unescape(f"{TAG.sub(' ', page)} {attributes}")


def test_visible_text_reads_text_and_tooltips_but_not_urls_or_code():
    page = '<a href="/engage/contacts" class="copilot" title="Needs the Engage package">Contacts</a><script>Copilot()</script>'
    assert FORBIDDEN.findall(visible_text(page)) == ["Engage"]


@pytest.mark.parametrize("packages", [True, False], ids=["all packages", "no packages"])
def test_no_page_names_another_vendors_product(packages, client, owner, acme, sandbox):
    acme.package_copilot = acme.package_engage = packages
    acme.save(update_fields=["package_copilot", "package_engage"])
    client.force_login(owner)
    client.raise_request_exception = False
    read = 0
    found = {}
    objects: dict[str, int] = {}  # one object per kind, shared by the routes that name it
    for route in ROUTES:
        kwargs = {}
        for k in route.kwargs:
            if k in OBJECT_FACTORIES and k not in objects:
                try:
                    with transaction.atomic():
                        objects[k] = OBJECT_FACTORIES[k](acme).pk
                except IntegrityError:  # a second connection of one provider: reuse the first
                    objects[k] = objects.get("connection_id") or 0
            kwargs[k] = objects[k] if k in OBJECT_FACTORIES else PLAIN_KWARGS[k]
        url = reverse(route.name, kwargs=kwargs)
        response = client.get(url)
        if response.status_code not in (200, 403) or "html" not in response.get("Content-Type", ""):
            continue
        read += 1
        names = set(FORBIDDEN.findall(visible_text(response.content.decode())))
        if names:
            found[url] = sorted(names)
    assert read >= 40  # the walk really read the pages (a locked one answers 403 with its lock page)
    assert not found, f"pages naming another vendor's product: {found}"
