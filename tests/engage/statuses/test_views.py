"""Admin Portal › Contact Status (F3) over HTTP: who may open it, what the page shows, and that
bad input is kept and explained."""

from __future__ import annotations

import pytest
from django.urls import reverse

from engage.models import Contact, ContactStatus
from engage.services.statuses import statuses_set_crm_source
from tests.factories import ContactFactory, ContactStatusFactory

LIST = reverse("engage:statuses")


def status(org, name: str) -> ContactStatus:
    return ContactStatus.objects.get(organization=org, name=name)


def page_of(response) -> str:
    return response.content.decode()


def row_of(html: str, status: ContactStatus) -> str:
    return html.split(f'id="status-{status.pk}"')[1].split("</tr>")[0]


def test_an_admin_sees_the_list_with_counts_and_the_default_badge(owner_client, acme, globex):
    ContactFactory.create_batch(2, organization=acme, status=status(acme, "Contacted"))
    ContactFactory(organization=globex, status=status(globex, "Contacted"))  # not counted
    response = owner_client.get(LIST)
    assert response.status_code == 200
    html = page_of(response)
    assert "Contact Status" in html and 'aria-current="page">Contact Status' in html
    row = row_of(html, status(acme, "Contacted"))
    assert "2 contacts" in row and "#0891b2" in row
    new_row = row_of(html, status(acme, "New"))
    assert ">Default<" in new_row
    assert "Type a new status…" in html
    assert "Edited here by administrators" in html


def test_contributors_are_refused(client, teammate):
    client.force_login(teammate)
    assert client.get(LIST).status_code == 403
    assert client.post(reverse("engage:status_create"), {"name": "X", "color": "#000000"}).status_code == 403
    assert not ContactStatus.objects.filter(name="X").exists()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    assert client.get(LIST).status_code == 302


def test_the_list_page_query_count_does_not_grow(owner_client, acme, django_assert_max_num_queries):
    owner_client.get(LIST)  # warm up: session, settings row
    with django_assert_max_num_queries(8) as few:
        owner_client.get(LIST)
    for _ in range(12):
        extra = ContactStatusFactory(organization=acme)
        ContactFactory.create_batch(2, organization=acme, status=extra)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = owner_client.get(LIST)
    assert page_of(response).count('class="status-row"') == 20


def test_adding_a_status(owner_client, acme):
    response = owner_client.post(reverse("engage:status_create"), {"name": "Negotiating", "color": "#ff8800"})
    assert response.status_code == 302
    assert status(acme, "Negotiating").color == "#ff8800"
    html = page_of(owner_client.get(LIST))
    assert "Added the status Negotiating." in html


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "contacted", "color": "#ff8800"}, "There is already a status called “contacted”."),
        ({"name": "", "color": "#ff8800"}, "Give the status a name."),
        ({"name": "x" * 81, "color": "#ff8800"}, "80 characters or fewer"),
        ({"name": "Negotiating", "color": "orange"}, "#rrggbb"),
    ],
)
def test_a_bad_new_status_is_explained_and_the_input_kept(owner_client, acme, data, message):
    before = ContactStatus.objects.filter(organization=acme).count()
    response = owner_client.post(reverse("engage:status_create"), data)
    assert response.status_code == 200
    html = page_of(response)
    assert message in html
    assert f'value="{data["name"]}"' in html
    assert ContactStatus.objects.filter(organization=acme).count() == before


def test_with_htmx_only_the_list_comes_back(owner_client, acme):
    response = owner_client.post(
        reverse("engage:status_create"), {"name": "Negotiating", "color": "#ff8800"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = page_of(response)
    assert html.lstrip().startswith('<section id="statuses"')
    assert "<html" not in html and "Added the status Negotiating." in html


def test_renaming_and_recolouring(owner_client, acme):
    opened = status(acme, "Open")
    response = owner_client.post(
        reverse("engage:status_update", args=[opened.pk]), {"name": "Working", "color": "#00aa00"}
    )
    assert response.status_code == 302
    opened.refresh_from_db()
    assert (opened.name, opened.color) == ("Working", "#00aa00")
    assert "Renamed Open to Working." in page_of(owner_client.get(LIST))


def test_a_bad_rename_keeps_the_typed_name_on_its_row(owner_client, acme):
    opened = status(acme, "Open")
    response = owner_client.post(
        reverse("engage:status_update", args=[opened.pk]), {"name": "Closed ", "color": "#00aa00"}
    )
    html = page_of(response)
    row = row_of(html, opened)
    assert "There is already a status called “Closed”." in row
    assert 'value="Closed "' in row and 'aria-label="Name of Open"' in row
    opened.refresh_from_db()
    assert opened.name == "Open"


def test_moving_up_and_down(owner_client, acme):
    opened = status(acme, "Open")
    before = opened.position
    owner_client.post(reverse("engage:status_move", args=[opened.pk]), {"direction": "up"})
    opened.refresh_from_db()
    assert opened.position == before - 1
    owner_client.post(reverse("engage:status_move", args=[opened.pk]), {"direction": "down"})
    opened.refresh_from_db()
    assert opened.position == before
    response = owner_client.post(reverse("engage:status_move", args=[opened.pk]), {"direction": "left"})
    assert response.status_code == 302
    opened.refresh_from_db()
    assert opened.position == before


def test_write_urls_refuse_get(owner_client, acme):
    opened = status(acme, "Open")
    assert owner_client.get(reverse("engage:status_move", args=[opened.pk])).status_code == 405


def test_making_a_status_the_default(owner_client, acme):
    owner_client.post(reverse("engage:status_default", args=[status(acme, "Open").pk]))
    assert ContactStatus.objects.get(organization=acme, is_default=True).name == "Open"


def test_the_delete_page_asks_where_contacts_go_with_the_default_preselected(owner_client, acme):
    contacted = status(acme, "Contacted")
    ContactFactory.create_batch(3, organization=acme, status=contacted)
    html = page_of(owner_client.get(reverse("engage:status_delete", args=[contacted.pk])))
    assert "3 contacts use this status" in html
    assert f'<option value="{status(acme, "New").pk}" selected>New (default)</option>' in html
    assert f'<option value="{contacted.pk}"' not in html


def test_deleting_moves_the_contacts(owner_client, acme):
    contacted, opened = status(acme, "Contacted"), status(acme, "Open")
    ContactFactory.create_batch(3, organization=acme, status=contacted)
    response = owner_client.post(reverse("engage:status_delete", args=[contacted.pk]), {"move_to": opened.pk})
    assert response.status_code == 302
    assert not ContactStatus.objects.filter(pk=contacted.pk).exists()
    assert Contact.objects.filter(status=opened).count() == 3
    assert "Deleted the status Contacted. 3 contacts moved to Open." in page_of(owner_client.get(LIST))


def test_deleting_into_another_organisations_status_is_refused(owner_client, acme, globex):
    contacted = status(acme, "Contacted")
    ContactFactory(organization=acme, status=contacted)
    response = owner_client.post(
        reverse("engage:status_delete", args=[contacted.pk]), {"move_to": status(globex, "Open").pk}
    )
    assert response.status_code == 200
    assert "Choose another status of your organisation." in page_of(response)
    assert ContactStatus.objects.filter(pk=contacted.pk).exists()


def test_an_unused_status_is_deleted_without_a_question(owner_client, acme):
    closed = status(acme, "Closed")
    html = page_of(owner_client.get(reverse("engage:status_delete", args=[closed.pk])))
    assert "No contacts use this status." in html and "<select" not in html
    owner_client.post(reverse("engage:status_delete", args=[closed.pk]))
    assert not ContactStatus.objects.filter(pk=closed.pk).exists()


def test_the_default_status_cannot_be_deleted(owner_client, acme):
    new = status(acme, "New")
    html = page_of(owner_client.get(reverse("engage:status_delete", args=[new.pk])))
    assert "Make another status the default first" in html and "Delete status" not in html
    owner_client.post(reverse("engage:status_delete", args=[new.pk]), {"move_to": status(acme, "Open").pk})
    assert ContactStatus.objects.filter(pk=new.pk).exists()


def test_the_last_status_cannot_be_deleted(owner_client, acme):
    ContactStatus.objects.filter(organization=acme).exclude(name="Open").delete()
    opened = status(acme, "Open")
    html = page_of(owner_client.get(reverse("engage:status_delete", args=[opened.pk])))
    assert "only status left" in html
    owner_client.post(reverse("engage:status_delete", args=[opened.pk]))
    assert ContactStatus.objects.filter(pk=opened.pk).exists()


def test_while_the_crm_owns_the_list_the_page_is_read_only(owner_client, acme, owner):
    statuses_set_crm_source(organization=acme, enabled=True, actor=owner)
    html = page_of(owner_client.get(LIST))
    assert "Statuses come from your CRM&#x27;s Lead Status picklist; change them there" in html
    assert "Lead Status picklist, read-only here" in html
    assert (
        "Type a new status…" not in html
        and "Move up" not in html
        and "<form" not in html.split('id="statuses"')[1].split("</section>")[0]
    )


def test_while_the_crm_owns_the_list_every_write_is_refused(owner_client, acme, owner):
    statuses_set_crm_source(organization=acme, enabled=True, actor=owner)
    opened, contacted = status(acme, "Open"), status(acme, "Contacted")
    before = list(
        ContactStatus.objects.filter(organization=acme).values_list("pk", "name", "color", "position")
    )
    posts = [
        (reverse("engage:status_create"), {"name": "X", "color": "#000000"}),
        (reverse("engage:status_update", args=[opened.pk]), {"name": "X", "color": "#000000"}),
        (reverse("engage:status_move", args=[opened.pk]), {"direction": "up"}),
        (reverse("engage:status_default", args=[opened.pk]), {}),
        (reverse("engage:status_delete", args=[contacted.pk]), {"move_to": opened.pk}),
    ]
    for url, data in posts:
        response = owner_client.post(url, data)
        assert response.status_code == 302 and response.url == LIST
        assert owner_client.post(url, data, HTTP_HX_REQUEST="true").status_code == 403
    assert owner_client.get(reverse("engage:status_delete", args=[contacted.pk])).status_code == 302
    after = list(
        ContactStatus.objects.filter(organization=acme).values_list("pk", "name", "color", "position")
    )
    assert after == before
    assert ContactStatus.objects.get(organization=acme, is_default=True).name == "New"
    assert "change them there" in page_of(owner_client.get(LIST))
