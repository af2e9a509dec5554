"""One customer, one page (issue 12.1): a contact is the person the team mails (at every address
the team's address books file for them) and an account is the company it deals with — whichever
way the contact or account came in, and whenever the mail arrived. Joined when read, by address
and domain, within the organisation only."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse

from copilot.intelligence import selectors as intelligence
from copilot.models import Person
from engage import selectors
from engage.models import Account, Contact
from engage.services.contacts import contact_create
from engage.services.crm.sync_handler import EngageCrmHandler
from integrations.records import CrmRecord
from integrations.sync.registry import deliver
from tests.copilot.intelligence.factories import (
    CompanyFactory,
    PersonFactory,
    activity_with_links,
    many_activities,
)
from tests.copilot.intelligence.record_helpers import T0, context, message
from tests.copilot.intelligence.record_helpers import contact as book_contact
from tests.engage.imports.conftest import import_file  # noqa: F401 - the import wizard's fixture
from tests.factories import AccountFactory, ContactFactory

MEI = "mei.nguyen@kestrel.example"
MEI_WORK = "mei.work@kestrel.example"
RAJ = "raj.patel@kestrel.example"


@pytest.fixture
def seller(client, teammate):
    client.force_login(teammate)
    return client


def sync_kestrel(owner, teammate) -> None:
    """What the mailboxes sync: the owner's address book files both of Mei's addresses as one
    contact; the teammate mails her second address; Mei writes to the owner from her first; the
    owner mails Raj, who is at Kestrel too."""
    deliver(
        context(owner, kind="contacts"),
        [book_contact("people/c1", MEI, MEI_WORK, display_name="Mei Nguyen", company="Kestrel Robotics")],
    )
    deliver(
        context(teammate),
        [message(1, sender=teammate.email, to=(MEI_WORK,), subject="Pricing sent to her work address")],
    )
    deliver(
        context(owner),
        [
            message(2, sender=(MEI, "Mei Nguyen"), to=(owner.email,), subject="Intro from Mei"),
            message(3, sender=owner.email, to=(RAJ,), subject="Only for Raj"),
        ],
    )


def _new_contact(acme, teammate, email: str, first: str, company: str = "Kestrel Robotics") -> Contact:
    return contact_create(
        organization=acme,
        actor=teammate,
        data={"first_name": first, "last_name": "", "email": email, "company": company},
        owner=teammate,
    )


# --- The contact page ---------------------------------------------------------------------------
def test_a_contact_added_before_the_sync_shows_the_teams_mail_with_every_address_of_her(
    seller, acme, owner, teammate
):
    mei = _new_contact(acme, teammate, MEI, "Mei")
    url = reverse("engage:contact_detail", args=[mei.pk])
    assert "No emails or meetings with Mei yet." in seller.get(url).text

    sync_kestrel(owner, teammate)  # ingestion makes her person later: no link to keep up to date

    text = seller.get(url).text
    assert "Pricing sent to her work address" in text  # the teammate's mail to her second address
    assert "Intro from Mei" in text
    assert "Only for Raj" not in text
    assert MEI_WORK in text and 'id="contact-addresses"' in text
    person = Person.objects.get(organization=acme, email=MEI)
    assert reverse("copilot:person", args=[person.pk]) in text
    assert reverse("copilot:company_detail", args=[person.company_id]) in text
    # "Older" and the filters ask for the same person at every address.
    assert f"person={person.pk}&amp;addresses=all" in text


def test_the_person_timeline_at_every_address_pages_by_keyset_each_activity_once(acme, owner, teammate):
    sync_kestrel(owner, teammate)
    first = Person.objects.get(organization=acme, email=MEI)
    second = Person.objects.get(organization=acme, email=MEI_WORK)
    many_activities(organization=acme, count=7, person=first, user=teammate, start=T0 + dt.timedelta(days=3))
    many_activities(organization=acme, count=7, person=second, user=owner, start=T0 + dt.timedelta(days=2))
    both = activity_with_links(
        organization=acme, occurred_at=T0 + dt.timedelta(days=4), people=[first, second], users=[owner]
    )
    seen, cursor = [], None
    while True:
        page = intelligence.timeline(
            organization=acme, viewer=teammate, person=first, all_addresses=True, before=cursor, limit=4
        )
        seen += [item.id for item in page.items]
        if not (cursor := page.next_cursor):
            break
    assert seen[0] == both.pk and len(seen) == len(set(seen)) == 1 + 7 + 7 + 2
    assert intelligence.person_addresses(person=second) == [MEI_WORK, MEI]
    # Without all_addresses the person's page keeps its one address.
    only_first = intelligence.timeline(organization=acme, viewer=teammate, person=first, limit=100)
    assert len(only_first.items) == 1 + 7 + 1


def test_the_contact_page_partial_pages_through_every_address(seller, acme, owner, teammate):
    sync_kestrel(owner, teammate)
    mei = ContactFactory(organization=acme, first_name="Mei", email=MEI)
    second = Person.objects.get(organization=acme, email=MEI_WORK)
    many_activities(organization=acme, count=30, person=second, user=owner, start=T0 - dt.timedelta(days=1))
    text = seller.get(reverse("engage:contact_detail", args=[mei.pk])).text
    assert "Bulk 0" in text and "Bulk 29" not in text
    first = Person.objects.get(organization=acme, email=MEI)
    older = seller.get(
        reverse("copilot:timeline"),
        {"person": first.pk, "addresses": "all", "before": _cursor(text)},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{reverse('engage:contact_detail', args=[mei.pk])}",
    ).text
    assert "Bulk 29" in older


def _cursor(text: str) -> str:
    marker = "before="
    start = text.index(marker) + len(marker)
    return text[start : text.index('"', start)].split("&")[0]


# --- The account page ---------------------------------------------------------------------------
def test_the_account_page_shows_the_companys_timeline_people_contacts_and_owners(
    seller, acme, owner, teammate
):
    mei = _new_contact(acme, teammate, MEI, "Mei")
    account = mei.account
    assert account.domain == "kestrel.example"  # New Contact made the account with her domain
    sync_kestrel(owner, teammate)

    text = seller.get(reverse("engage:account_detail", args=[account.pk])).text
    for subject in ("Pricing sent to her work address", "Intro from Mei", "Only for Raj"):
        assert subject in text
    company = selectors.account_company(account=account)
    assert reverse("copilot:company_detail", args=[company.pk]) in text
    # Her people (one per address) are marked as the contact; Raj, whom nobody added, is not.
    people = text[text.index('id="account-people"') : text.index("</ul>", text.index('id="account-people"'))]
    assert "Mei Nguyen" in people and MEI_WORK in people and "raj.patel" in people
    assert people.count("also-contact") == 2
    assert reverse("engage:contact_detail", args=[mei.pk]) in people
    assert 'id="account-contacts"' in text and "Tom Mate" in text and "(1 contact)" in text

    # And back: the company page links to the account, the person page to the contact.
    company_page = seller.get(reverse("copilot:company_detail", args=[company.pk])).text
    assert reverse("engage:account_detail", args=[account.pk]) in company_page
    person = Person.objects.get(organization=acme, email=MEI_WORK)
    person_page = seller.get(reverse("copilot:person", args=[person.pk])).text
    assert reverse("engage:contact_detail", args=[mei.pk]) in person_page  # her second address


def test_an_account_without_synced_mail_says_what_will_appear(seller, acme):
    account = AccountFactory(organization=acme, name="Quiet Co", domain="quiet.example")
    text = seller.get(reverse("engage:account_detail", args=[account.pk])).text
    assert "No emails or meetings with anyone at quiet.example yet." in text
    assert "Nobody at quiet.example yet" in text
    bare = AccountFactory(organization=acme, name="No Domain Co", domain="")
    text = seller.get(reverse("engage:account_detail", args=[bare.pk])).text
    assert "No Domain Co has no domain" in text


# --- Every way in -------------------------------------------------------------------------------
def test_contacts_and_accounts_from_a_csv_import_join_their_people_and_company(
    seller,
    acme,
    owner,
    teammate,
    import_file,  # noqa: F811
):
    sync_kestrel(owner, teammate)
    done = import_file(
        "First Name,Last Name,Email,Company\nRaj,Patel,Raj.Patel@Kestrel.example,Kestrel Robotics\n"
        "Ann,Lee,ann@elsewhere.example,Elsewhere\n"
    )
    assert done.created_count == 2
    raj = Contact.objects.get(organization=acme, email=RAJ)
    assert raj.account.domain == ""  # an import without a website: the contacts decide
    assert "Only for Raj" in seller.get(reverse("engage:contact_detail", args=[raj.pk])).text
    company = selectors.account_company(account=raj.account)
    assert company is not None and company.domain == "kestrel.example"
    account_page = seller.get(reverse("engage:account_detail", args=[raj.account_id])).text
    assert "Intro from Mei" in account_page  # the company's timeline, not only Raj's


def test_contacts_and_accounts_from_the_crm_join_their_people_and_company(seller, acme, owner, teammate):
    sync_kestrel(owner, teammate)
    record = CrmRecord(
        "Contact",
        "0035D0000000001AAA",
        dt.datetime.now(dt.UTC).replace(microsecond=0),
        {
            "attributes": {"type": "Contact"},
            "Id": "0035D0000000001AAA",
            "FirstName": "Mei",
            "LastName": "Nguyen",
            "Email": "Mei.Work@Kestrel.example",
            "HasOptedOutOfEmail": False,
            "AccountId": "0015D0000000001AAA",
            "Account": {"attributes": {"type": "Account"}, "Name": "Kestrel Robotics"},
        },
    )
    assert EngageCrmHandler().apply(acme, "Contact", [record]).created == 1
    mei = Contact.objects.get(organization=acme, crm_id="0035D0000000001AAA")
    text = seller.get(reverse("engage:contact_detail", args=[mei.pk])).text
    # Her CRM address is the second one: the page still shows everything the team had with her.
    assert "Pricing sent to her work address" in text and "Intro from Mei" in text
    account = Account.objects.get(organization=acme, crm_id="0015D0000000001AAA")
    assert "Only for Raj" in seller.get(reverse("engage:account_detail", args=[account.pk])).text


# --- Query counts -------------------------------------------------------------------------------
def test_the_contact_and_account_pages_cost_the_same_queries_as_activities_and_contacts_grow(
    seller, acme, owner, teammate, django_assert_max_num_queries
):
    sync_kestrel(owner, teammate)
    mei = _new_contact(acme, teammate, MEI, "Mei")
    person = Person.objects.get(organization=acme, email=MEI_WORK)
    urls = [
        reverse("engage:contact_detail", args=[mei.pk]),
        reverse("engage:account_detail", args=[mei.account_id]),
        reverse("copilot:company_detail", args=[person.company_id]),
        reverse("copilot:person", args=[person.pk]),
    ]
    counts: dict[str, set[int]] = {}
    for size in (5, 60):
        many_activities(organization=acme, count=size * 10, person=person, user=teammate, start=T0)
        for i in range(size):
            # Named to sort after Mei: her two addresses stay on the people list's first page (a
            # page without anyone in an address book skips the query for their other addresses).
            other = PersonFactory(
                organization=acme,
                company=person.company,
                name=f"Zed {size}-{i}",
                email=f"p{size}-{i}@kestrel.example",
            )
            ContactFactory(organization=acme, email=other.email, account=mei.account)
        for url in urls:
            with django_assert_max_num_queries(30) as queries:
                assert seller.get(url).status_code == 200
            counts.setdefault(url, set()).add(len(queries.captured_queries))
    assert all(len(found) == 1 for found in counts.values()), counts


# --- Tenancy ------------------------------------------------------------------------------------
def test_another_organisations_company_and_person_with_the_same_domain_never_join(
    seller, acme, globex, owner, teammate
):
    theirs = CompanyFactory(organization=globex, name="Kestrel (Globex)", domain="kestrel.example")
    their_mei = PersonFactory(organization=globex, company=theirs, email=MEI, name="Mei at Globex")
    activity_with_links(organization=globex, people=[their_mei], subject="Globex secret")
    globex_account = AccountFactory(organization=globex, name="Kestrel at Globex", domain="kestrel.example")

    mei = _new_contact(acme, teammate, MEI, "Mei")
    contact_page = seller.get(reverse("engage:contact_detail", args=[mei.pk])).text
    account_page = seller.get(reverse("engage:account_detail", args=[mei.account_id])).text
    for text in (contact_page, account_page):
        assert "Globex secret" not in text and "Mei at Globex" not in text
        assert reverse("copilot:company_detail", args=[theirs.pk]) not in text
    assert selectors.account_company(account=mei.account) is None
    assert selectors.company_account(organization=globex, company=theirs) == globex_account
    assert selectors.person_contact(organization=globex, person=their_mei) is None


# --- The demo -----------------------------------------------------------------------------------
def test_demo_contacts_at_the_sandboxs_companies_are_the_people_its_mailboxes_talk_to(db):
    """Why a demo contact's page was empty beside a full company page: ~80 made-up contacts sat at
    the sandbox world's companies, whose mailboxes never mail them. Now only the one made-up
    contact every account gets at first (the sample CSV's duplicate rows are two of them) is."""
    from demo.engage import engage_demo_seed
    from demo.seed import demo_seed
    from integrations.sandbox.demo_world import COMPANIES, build_world

    org = demo_seed()
    engage_demo_seed(org)
    world = {p.email for p in build_world().people}
    domains = {domain for _name, domain in COMPANIES}
    there = Contact.objects.for_org(org).filter(account__domain__in=domains)
    made_up = [c.email for c in there if c.email not in world]
    assert len(made_up) <= len(domains)
    assert there.count() - len(made_up) == len([p for p in world if p.split("@")[1] in domains])


def test_the_accounts_and_companies_lists_lead_to_each_other(seller, acme):
    accounts = seller.get(reverse("engage:accounts"), {"q": "kestrel"}).text
    assert f'href="{reverse("copilot:companies")}?q=kestrel"' in accounts
    companies = seller.get(reverse("copilot:companies"), {"q": "kestrel"}).text
    assert f'href="{reverse("engage:accounts")}?q=kestrel"' in companies
    people = seller.get(reverse("copilot:companies"), {"tab": "people"}).text
    assert f'href="{reverse("engage:contacts")}"' in people
    acme.package_copilot = False
    acme.save(update_fields=["package_copilot"])
    assert reverse("copilot:companies") not in seller.get(reverse("engage:accounts")).text.split("<main")[1]
