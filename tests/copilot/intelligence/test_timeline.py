"""The team timeline (B8) on company, person and Engage contact pages: merged, newest first, paged
by keyset, filtered by kind and teammate, private meetings kept private (D4), and a query count
that does not grow with the number of activities."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import timezone

from copilot.intelligence import selectors
from copilot.models import ActivityParticipant
from tests.copilot.intelligence.factories import (
    ActivityFactory,
    CompanyFactory,
    PersonFactory,
    activity_with_links,
    many_activities,
)
from tests.factories import ContactFactory, UserFactory

NOW = dt.datetime(2025, 3, 4, 15, 0, tzinfo=dt.UTC)


@pytest.fixture
def initech(acme):
    return CompanyFactory(organization=acme, name="Initech", domain="initech.example")


@pytest.fixture
def peter(acme, initech):
    return PersonFactory(
        organization=acme,
        company=initech,
        name="Peter Gibbons",
        first_name="Peter",
        last_name="Gibbons",
        email="peter@initech.example",
        title="Engineer",
        phones=["+1 (415) 555-0142"],
        address_book_folders=["Customers", "Texas"],
        in_address_book=True,
    )


@pytest.fixture
def seller_client(client, teammate):
    client.force_login(teammate)
    return client


def _at(minutes: int) -> dt.datetime:
    return NOW - dt.timedelta(minutes=minutes)


def _page(**kwargs):
    return selectors.timeline(**kwargs)


# --- The selector -------------------------------------------------------------------------------
def test_emails_and_meetings_of_the_whole_team_are_merged_newest_first(acme, owner, teammate, peter):
    email = activity_with_links(
        organization=acme, occurred_at=_at(30), people=[peter], users=[teammate], subject="Pricing"
    )
    meeting = activity_with_links(
        organization=acme,
        kind="meeting",
        occurred_at=_at(10),
        people=[peter],
        users=[owner],
        subject="Kick-off",
        join_url="https://meet.google.com/abc-defg-hij",
        join_provider="google_meet",
    )
    older = activity_with_links(
        organization=acme, occurred_at=_at(90), people=[peter], users=[owner, teammate], subject="Intro"
    )

    for kwargs in ({"company": peter.company}, {"person": peter}, {"email": "Peter@Initech.example"}):
        page = _page(organization=acme, viewer=teammate, **kwargs)
        assert [i.id for i in page.items] == [meeting.pk, email.pk, older.pk]
        assert page.next_cursor is None and page.is_first

    item = _page(organization=acme, viewer=teammate, person=peter).items[0]
    assert item.subject == "Kick-off" and item.host.email == owner.email
    assert item.join_label == "Google Meet" and item.join_url.startswith("https://meet.google.com/")
    assert [p.email for p in item.participants] == ["peter@initech.example"]
    assert [u.pk for u in item.teammates] == [owner.pk]
    intro = _page(organization=acme, viewer=teammate, person=peter).items[2]
    assert {u.pk for u in intro.teammates} == {owner.pk, teammate.pk}
    assert intro.sender.email == owner.email


def test_keyset_pages_cover_everything_once_even_with_equal_times(acme, teammate, peter):
    # Five at the very same instant: the activity id breaks the tie.
    same = [
        activity_with_links(organization=acme, occurred_at=_at(5), people=[peter], users=[teammate])
        for _ in range(5)
    ]
    rest = many_activities(organization=acme, count=20, person=peter, user=teammate, start=_at(10))
    expected = [a.pk for a in sorted(same, key=lambda a: -a.pk)] + [a.pk for a in rest]

    for subject in ({"company": peter.company}, {"person": peter}, {"email": peter.email}):
        seen, cursor, pages = [], None, 0
        while True:
            page = _page(organization=acme, viewer=teammate, before=cursor, limit=3, **subject)
            seen += [i.id for i in page.items]
            pages += 1
            cursor = page.next_cursor
            if cursor is None:
                break
        assert seen == expected
        assert pages == 9


def test_an_address_nobody_filed_as_a_person_still_has_its_timeline(acme, teammate):
    activity = ActivityFactory(organization=acme, occurred_at=_at(1), subject="Hello from free mail")
    ActivityParticipant.objects.create(
        organization=acme, activity=activity, email="sam@freemail.example", role="from"
    )
    page = _page(organization=acme, viewer=teammate, email="sam@freemail.example")
    assert [i.subject for i in page.items] == ["Hello from free mail"]
    assert _page(organization=acme, viewer=teammate, email="  ").items == []


def test_kind_and_teammate_filters(acme, owner, teammate, peter):
    mine = activity_with_links(
        organization=acme, occurred_at=_at(1), people=[peter], users=[teammate], subject="Mine"
    )
    theirs = activity_with_links(
        organization=acme, kind="meeting", occurred_at=_at(2), people=[peter], users=[owner], subject="Theirs"
    )
    call = activity_with_links(
        organization=acme, kind="call", occurred_at=_at(3), people=[peter], users=[owner], subject="Rang"
    )
    for subject in ({"company": peter.company}, {"person": peter}, {"email": peter.email}):

        def ids(subject=subject, **kw):
            return [i.id for i in _page(organization=acme, viewer=owner, **subject, **kw).items]

        assert ids(kinds=["meeting"]) == [theirs.pk]
        assert ids(kinds=["call"]) == [call.pk]
        assert ids(kinds=["email", "meeting"]) == [mine.pk, theirs.pk]
        assert ids(teammate=teammate) == [mine.pk]
        assert ids(teammate=owner.pk) == [theirs.pk, call.pk]
        assert ids(teammate=owner.pk, kinds=["email"]) == []
        assert ids(kinds=["nonsense"]) == [mine.pk, theirs.pk, call.pk]


def test_a_stale_or_edited_cursor_starts_from_the_newest(acme, teammate, peter):
    activity_with_links(organization=acme, occurred_at=_at(1), people=[peter], users=[teammate])
    for cursor in ("%%%", "bm9wZQ", selectors.encode_cursor(NOW, 1)[:-3], "WyJ4IiwxXQ"):
        page = _page(organization=acme, viewer=teammate, person=peter, before=cursor)
        assert len(page.items) == 1


def test_another_organisations_activities_never_show(acme, globex, teammate, outsider, peter):
    theirs = PersonFactory(organization=globex, email=peter.email)
    activity_with_links(organization=globex, people=[theirs], users=[outsider], subject="Globex secret")
    assert _page(organization=acme, viewer=teammate, email=peter.email).items == []
    assert _page(organization=acme, viewer=teammate, person=peter).items == []


@pytest.fixture
def private_meeting(acme, owner, teammate, peter):
    """Owner's private meeting with Peter; ``teammate`` is neither invited nor holds it."""
    return activity_with_links(
        organization=acme,
        kind="meeting",
        occurred_at=_at(60),
        people=[peter],
        users=[owner],
        subject="Acquisition talks",
        snippet="Agenda: the confidential numbers",
        location="Room 4",
        join_url="https://example.zoom.us/j/123456789",
        join_provider="zoom",
        is_private=True,
    )


def test_a_private_meeting_shows_only_time_and_host_to_a_teammate_not_invited(
    acme, owner, teammate, peter, private_meeting
):
    item = _page(organization=acme, viewer=teammate, person=peter).items[0]
    assert item.restricted and item.subject == "Private meeting"
    assert item.occurred_at == private_meeting.occurred_at and item.ends_at == private_meeting.ends_at
    assert item.host.email == owner.email
    assert (item.snippet, item.join_url, item.location, item.participants, item.teammates) == (
        "",
        "",
        "",
        (),
        (),
    )


def test_a_private_meeting_is_whole_for_its_organiser_attendees_and_calendar_holders(
    acme, owner, teammate, peter, private_meeting
):
    assert not _page(organization=acme, viewer=owner, person=peter).items[0].restricted  # organiser
    attendee = UserFactory(organization=acme, email="ann@acme.example")
    ActivityParticipant.objects.create(
        organization=acme, activity=private_meeting, email="ANN@acme.example", role="attendee"
    )
    item = _page(organization=acme, viewer=attendee, person=peter).items[0]
    assert not item.restricted and item.subject == "Acquisition talks" and item.join_label == "Zoom"
    holder = UserFactory(organization=acme, email="delegate@acme.example")
    private_meeting.sources.create(
        organization=acme, user=holder, provider="google", kind="calendar", external_id="x"
    )
    assert not _page(organization=acme, viewer=holder, person=peter).items[0].restricted


def test_only_web_links_become_join_buttons(acme, teammate, peter):
    activity_with_links(
        organization=acme,
        kind="meeting",
        people=[peter],
        users=[teammate],
        join_url="javascript:alert(1)",
        join_provider="zoom",
    )
    item = _page(organization=acme, viewer=teammate, person=peter).items[0]
    assert item.join_url == "" and item.join_label == ""


@pytest.mark.parametrize("count", [10, 1_000])
def test_the_selector_costs_the_same_queries_for_10_or_1000_activities(
    acme, teammate, peter, count, django_assert_max_num_queries
):
    many_activities(organization=acme, count=count, person=peter, user=teammate)
    for subject in ({"company": peter.company}, {"person": peter}):
        with django_assert_max_num_queries(4):
            page = _page(organization=acme, viewer=teammate, **subject)
        assert len(page.items) == min(count, selectors.PAGE_SIZE)
    with django_assert_max_num_queries(5):
        page = _page(
            organization=acme, viewer=teammate, email=peter.email, teammate=teammate, kinds=["email"]
        )
    assert page.items


# --- Pages --------------------------------------------------------------------------------------
def test_the_workspace_links_to_companies(seller_client):
    text = seller_client.get(reverse("engage:home"), follow=True).text
    assert reverse("copilot:companies") in text and ">Companies</a>" in text


def test_companies_are_listed_and_searched(seller_client, acme, globex, initech, peter):
    CompanyFactory(organization=acme, name="Umbrella", domain="umbrella.example")
    CompanyFactory(organization=globex, name="Hidden", domain="hidden.example")
    url = reverse("copilot:companies")
    text = seller_client.get(url).text
    assert "Initech" in text and "Umbrella" in text and "Hidden" not in text
    text = seller_client.get(url, {"q": "initech.ex"}).text
    assert "Initech" in text and "Umbrella" not in text
    assert reverse("copilot:company_detail", kwargs={"company_id": initech.pk}) in text
    text = seller_client.get(url, {"tab": "people", "q": "gibbons"}).text
    assert "Peter Gibbons" in text and reverse("copilot:person", args=[peter.pk]) in text
    assert "No companies match" in seller_client.get(url, {"q": "zzz"}).text


def test_a_company_page_shows_its_facts_people_and_timeline(seller_client, acme, teammate, initech, peter):
    activity_with_links(
        organization=acme, occurred_at=_at(5), people=[peter], users=[teammate], subject="Renewal terms"
    )
    response = seller_client.get(reverse("copilot:company_detail", kwargs={"company_id": initech.pk}))
    assert response.status_code == 200
    text = response.text
    assert "initech.example" in text and "Peter Gibbons" in text
    assert "Renewal terms" in text and 'id="timeline-box"' in text
    assert "Mailbox: Tom Mate" in text


def test_empty_timelines_say_when_to_expect_activity(seller_client, acme, initech):
    text = seller_client.get(reverse("copilot:company_detail", kwargs={"company_id": initech.pk})).text
    assert "No emails or meetings with Initech yet. Connected mailboxes sync every 5 minutes." in text


def test_a_person_page_has_click_to_call_phones_folders_and_an_email_button(seller_client, peter):
    url = reverse("copilot:person", args=[peter.pk])
    text = seller_client.get(url).text
    # Only a valid number is a tel: link, written in the international format (issue 12).
    assert '<a href="tel:+1-415-555-0142">+1 415-555-0142</a>' in text
    assert "Customers" in text and "Texas" in text
    assert f"{reverse('engage:compose')}?to=peter%40initech.example&amp;next=" in text
    assert "No emails or meetings with Peter Gibbons yet." in text


def test_times_are_shown_in_the_viewers_zone(seller_client, acme, teammate, peter):
    teammate.time_zone = "America/New_York"
    teammate.save(update_fields=["time_zone"])
    activity_with_links(
        organization=acme,
        kind="meeting",
        occurred_at=NOW,
        people=[peter],
        users=[teammate],
        ends_at=NOW + dt.timedelta(minutes=45),
    )
    text = seller_client.get(reverse("copilot:person", args=[peter.pk])).text
    assert "Times in America/New_York." in text
    assert ">Mar 4, 2025, 10:00 AM</time> – <time" in text and ">10:45 AM</time>" in text
    assert "No join link" in text


def test_the_kind_filter_works_without_javascript(seller_client, acme, teammate, peter):
    activity_with_links(
        organization=acme, occurred_at=_at(1), people=[peter], users=[teammate], subject="Mail A"
    )
    activity_with_links(
        organization=acme,
        kind="meeting",
        occurred_at=_at(2),
        people=[peter],
        users=[teammate],
        subject="Meet B",
    )
    url = reverse("copilot:person", args=[peter.pk])
    text = seller_client.get(url, {"kind": "meeting"}).text
    assert "Meet B" in text and "Mail A" not in text
    assert f'href="{url}?kind=email"' in text
    text = seller_client.get(url, {"kind": "call"}).text
    assert "No calls with Peter Gibbons match these filters." in text


def test_older_pages_load_through_htmx_and_keep_the_filters(seller_client, acme, teammate, owner, peter):
    many_activities(organization=acme, count=30, person=peter, user=teammate, kinds=["meeting"], start=_at(0))
    many_activities(organization=acme, count=5, person=peter, user=owner, kinds=["meeting"], start=_at(100))
    company_url = reverse("copilot:company_detail", kwargs={"company_id": peter.company_id})
    first = seller_client.get(company_url, {"kind": "meeting", "teammate": teammate.pk}).text
    assert first.count('<li class="timeline-item ') == 25
    assert "Older</a>" in first and "kind=meeting" in first

    page = selectors.timeline(
        organization=acme, viewer=teammate, company=peter.company, kinds=["meeting"], teammate=teammate
    )
    response = seller_client.get(
        reverse("copilot:timeline"),
        {"company": peter.company_id, "kind": "meeting", "teammate": teammate.pk, "before": page.next_cursor},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{company_url}?kind=meeting",
    )
    assert response.status_code == 200
    text = response.text
    assert text.count('<li class="timeline-item ') == 5  # only the teammate's 30; the owner's 5 filtered out
    assert "<html" not in text and 'id="timeline-box"' not in text
    assert 'hx-swap-oob="true"' in text and "No older activity." in text
    assert "HX-Push-Url" not in response.headers


def test_a_filter_change_swaps_the_partial_and_pushes_the_page_url(seller_client, acme, teammate, peter):
    activity_with_links(
        organization=acme, occurred_at=_at(1), people=[peter], users=[teammate], subject="Mail A"
    )
    person_url = reverse("copilot:person", args=[peter.pk])
    response = seller_client.get(
        reverse("copilot:timeline"),
        {"person": peter.pk, "kind": "email", "teammate": teammate.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL=f"http://testserver{person_url}",
    )
    assert 'id="timeline-box"' in response.text and "Mail A" in response.text
    assert "<html" not in response.text
    assert response.headers["HX-Push-Url"] == f"{person_url}?kind=email&teammate={teammate.pk}"
    # A foreign page in HX-Current-URL is not trusted: the person's own page is used.
    response = seller_client.get(
        reverse("copilot:timeline"),
        {"person": peter.pk},
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="https://evil.example/phish",
    )
    assert response.headers["HX-Push-Url"] == person_url


def test_the_private_meeting_is_hidden_on_the_page_of_a_teammate_not_invited(
    seller_client, client, owner, peter, private_meeting
):
    url = reverse("copilot:person", args=[peter.pk])
    text = seller_client.get(url).text
    assert "Private meeting" in text and "Host: Olive Owner" in text
    for secret in ("Acquisition talks", "confidential", "Room 4", "zoom.us", "Join"):
        assert secret not in text
    client.force_login(owner)
    text = client.get(url).text
    assert "Acquisition talks" in text and "Join (Zoom)" in text and "Room 4" in text


def test_timelines_of_another_organisation_are_404(seller_client, globex):
    company = CompanyFactory(organization=globex)
    person = PersonFactory(organization=globex)
    assert (
        seller_client.get(reverse("copilot:company_detail", kwargs={"company_id": company.pk})).status_code
        == 404
    )
    assert seller_client.get(reverse("copilot:person", args=[person.pk])).status_code == 404
    timeline = reverse("copilot:timeline")
    assert seller_client.get(timeline, {"company": company.pk}).status_code == 404
    assert seller_client.get(timeline, {"person": person.pk}).status_code == 404
    assert seller_client.get(timeline, {"person": "x"}).status_code == 404
    assert seller_client.get(timeline).status_code == 404


def test_signed_out_visitors_are_sent_to_sign_in(client, initech):
    response = client.get(reverse("copilot:company_detail", kwargs={"company_id": initech.pk}))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_the_pages_cost_the_same_queries_for_10_or_1000_activities(
    seller_client, acme, teammate, peter, django_assert_max_num_queries
):
    urls = [
        reverse("copilot:company_detail", kwargs={"company_id": peter.company_id}),
        reverse("copilot:person", args=[peter.pk]),
        f"{reverse('copilot:timeline')}?person={peter.pk}&kind=email",
        f"{reverse('copilot:timeline')}?email={peter.email}&teammate={teammate.pk}",
    ]
    counts = {}
    for count in (10, 990):
        many_activities(organization=acme, count=count, person=peter, user=teammate, start=_at(count))
        for url in urls:
            # 12 since the workspace navigation counts the seller's Salesflow actions
            with django_assert_max_num_queries(12) as queries:
                response = seller_client.get(url)
            assert response.status_code == 200 and "Bulk" in response.text
            counts.setdefault(url, set()).add(len(queries.captured_queries))
    assert all(len(found) == 1 for found in counts.values()), counts


# --- The Engage contact page --------------------------------------------------------------------
def test_the_contact_page_shows_the_timeline_of_the_contacts_address(seller_client, acme, teammate, peter):
    contact = ContactFactory(organization=acme, first_name="Peter", last_name="Gibbons", email=peter.email)
    activity_with_links(
        organization=acme, occurred_at=timezone.now(), people=[peter], users=[teammate], subject="Quote"
    )
    url = reverse("engage:contact_detail", args=[contact.pk])
    text = seller_client.get(url).text
    assert "Quote" in text and 'id="timeline-box"' in text
    assert f"{reverse('engage:compose')}?to=peter%40initech.example" in text
    # The filters point back at the contact page; the partial knows whose timeline it is.
    assert f'href="{url}?kind=meeting"' in text
    # The contact is a person the team knows: the partial asks for that person's timeline at
    # every address (was the contact's one address: "email=peter%40initech.example").
    assert f"person={peter.pk}&amp;addresses=all" in text


def test_a_contact_without_activity_or_address_says_so(seller_client, acme):
    contact = ContactFactory(organization=acme, first_name="Nia", last_name="N", email="nia@new.example")
    text = seller_client.get(reverse("engage:contact_detail", args=[contact.pk])).text
    assert "No emails or meetings with Nia N yet. Connected mailboxes sync every 5 minutes." in text
    contact = ContactFactory(organization=acme, first_name="Nobody", email="")
    response = seller_client.get(reverse("engage:contact_detail", args=[contact.pk]))
    assert response.status_code == 200 and "has no email address" in response.text


def test_the_contact_page_timeline_costs_the_same_queries_for_10_or_1000(
    seller_client, acme, teammate, peter, django_assert_max_num_queries
):
    contact = ContactFactory(organization=acme, email=peter.email)
    url = reverse("engage:contact_detail", args=[contact.pk])
    many_activities(organization=acme, count=10, person=peter, user=teammate)
    # 21 since the workspace navigation counts the seller's Salesflow actions
    with django_assert_max_num_queries(21) as small:
        seller_client.get(url)
    many_activities(organization=acme, count=990, person=peter, user=teammate, start=_at(2_000))
    with django_assert_max_num_queries(21) as large:
        seller_client.get(url)
    assert len(small.captured_queries) == len(large.captured_queries)
