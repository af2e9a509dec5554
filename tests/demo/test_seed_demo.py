"""The demo seed (``manage.py seed_demo``): Demo Co's users, then ~300 contacts a newcomer can
work with (the provider sandbox's customer people among them), and the sample CSV for trying the
import."""

from __future__ import annotations

import csv
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db.models import Count, F

from copilot.models import Organization
from demo.engage import engage_demo_seed
from demo.seed import DEMO_ORG, demo_seed
from engage.models import Account, Contact
from integrations.sandbox.demo_world import build_world

SAMPLE_CSV = Path(settings.BASE_DIR) / "static" / "demo" / "sample-contacts.csv"


@pytest.fixture
def demo_org(db) -> Organization:
    org = demo_seed()
    engage_demo_seed(org)
    return org


def test_the_seed_fills_the_workspace(demo_org):
    contacts = Contact.objects.for_org(demo_org)
    assert contacts.count() == 300
    assert Account.objects.for_org(demo_org).count() == 40
    # Every account has people, and contacts' emails are at their company's domain.
    assert not Account.objects.for_org(demo_org).filter(contacts__isnull=True).exists()
    for contact in contacts.select_related("account"):
        assert contact.email.endswith("@" + contact.account.domain)
        assert contact.email == contact.email.lower() and contact.email.isascii()
    assert contacts.values("email").distinct().count() == 300
    assert contacts.exclude(first_name__regex=r"^[A-Za-z]+$").exists(), "some accented names"


def test_the_sandbox_worlds_people_are_contacts_of_the_seller_who_mails_them(demo_org):
    """The provider sandbox's mailboxes talk to these people: each is a contact (same email, name,
    title, company; the account named like the company with its domain), owned by the seller whose
    mailbox holds their threads — so a synced demo fills their contact pages."""
    world = build_world()
    people = [p for p in world.people if p.company]
    assert len(people) > 30
    contacts = {c.email: c for c in Contact.objects.for_org(demo_org).select_related("account", "owner")}
    for person in people:
        contact = contacts[person.email]
        assert (contact.first_name, contact.last_name, contact.title) == (
            person.first_name,
            person.last_name,
            person.title,
        )
        assert contact.company == contact.account.name == person.company
        assert contact.account.domain == person.domain
        assert not contact.email_opt_out
        threads = [t for t in world.threads if any(person.email == m.sender[0] for m in t.messages)]
        if threads and person.email != "counsel@quillstone.example":
            assert contact.owner.email == threads[0].mailbox_owners[0]
    # Free-mail people of the world (no company) are not contacts.
    assert not {p.email for p in world.people if not p.company} & set(contacts)


def test_both_sellers_and_the_admin_own_contacts(demo_org):
    owners = dict(Contact.objects.for_org(demo_org).values_list("owner__email").annotate(n=Count("id")))
    assert owners["seller1@demo.example"] > 100 and owners["seller2@demo.example"] > 100
    assert 0 < owners["admin@demo.example"] < 40
    assert None not in owners


def test_statuses_sources_opt_outs_and_dates_are_spread(demo_org):
    contacts = Contact.objects.for_org(demo_org)
    used = set(contacts.values_list("status__name", flat=True))
    assert {"New", "Open", "Contacted", "Qualified", "Closed"} <= used
    # Every contact's status belongs to the demo organisation.
    assert not contacts.exclude(status__organization=F("organization")).exists()
    assert set(contacts.values_list("source", flat=True)) == {"manual", "import"}
    assert 1 <= contacts.filter(email_opt_out=True).count() <= 20
    oldest = contacts.order_by("created_at").first().created_at
    newest = contacts.order_by("-created_at").first().created_at
    assert (newest - oldest).days >= 60
    assert not contacts.filter(updated_at__lt=F("created_at")).exists()


def test_the_seed_is_idempotent_and_deterministic(demo_org):
    first = list(
        Contact.objects.for_org(demo_org).order_by("id").values_list("email", "title", "status__name")
    )
    assert engage_demo_seed(demo_org) == 0
    assert Contact.objects.for_org(demo_org).count() == 300

    Contact.objects.for_org(demo_org).delete()
    Account.objects.for_org(demo_org).delete()
    assert engage_demo_seed(demo_org) == 300
    again = list(
        Contact.objects.for_org(demo_org).order_by("id").values_list("email", "title", "status__name")
    )
    assert again == first


def test_the_command_seeds_users_then_contacts_and_says_so(db):
    out = StringIO()
    call_command("seed_demo", stdout=out)
    org = Organization.objects.get(name=DEMO_ORG)
    assert Contact.objects.for_org(org).count() == 300
    text = out.getvalue()
    assert "seller1@demo.example" in text and "Added 300 demo contacts across 40 accounts." in text

    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert "already has 300 contacts" in out.getvalue()
    assert Contact.objects.for_org(org).count() == 300


def test_the_sample_csv_has_good_bad_and_duplicate_rows(demo_org):
    with SAMPLE_CSV.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == [
        "First Name",
        "Last Name",
        "Email",
        "Title",
        "Company",
        "Phone",
        "Mobile",
        "Lead Status",
        "Email Opt Out",
        "City",
        "Country",
    ]
    assert len(rows) == 25
    missing = [r for r in rows if not r["Email"]]
    invalid = [r for r in rows if r["Email"] and "@" in r["Email"] and not r["Email"].split("@")[1]]
    bad_opt_out = [r for r in rows if r["Email Opt Out"] not in ("true", "false")]
    assert (len(missing), len(invalid), len(bad_opt_out)) == (1, 1, 1)
    existing = set(Contact.objects.for_org(demo_org).values_list("email", flat=True))
    duplicates = [r for r in rows if r["Email"].lower() in existing]
    assert len(duplicates) == 2
    statuses = {r["Lead Status"] for r in rows}
    assert statuses <= {"New", "Open", "Contacted", "Qualified", "Prospecting"}


def test_the_sample_csv_is_served_as_a_static_file(client):
    response = client.get("/static/demo/sample-contacts.csv")
    assert response.status_code == 200
    body = b"".join(response.streaming_content) if response.streaming else response.content
    assert body.startswith(b"First Name,Last Name,Email")
