from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from copilot.models import AuditEvent, Role, User
from copilot.services.users import user_delete
from copilot.signals import user_deleting
from tests.factories import AdminFactory, OrgGroupFactory, UserFactory

HTMX = {"HTTP_HX_REQUEST": "true"}


def test_the_list_shows_only_my_organisations_users(owner_client, teammate, outsider):
    page = owner_client.get(reverse("copilot:users")).content.decode()
    assert teammate.email in page
    assert outsider.email not in page


def test_it_warns_when_user_name_and_email_differ_or_are_not_mailboxes(owner_client, acme):
    UserFactory(organization=acme, email="a@acme.example", mailbox_username="alias@acme.example")
    UserFactory(organization=acme, email="b@acme.example", mailbox_username="bee")
    UserFactory(organization=acme, email="c@acme.example", mailbox_username="C@acme.example")
    page = owner_client.get(reverse("copilot:users")).content.decode()
    assert page.count("differs from the email address") == 1
    assert page.count("not a valid mailbox address") == 1


def test_search_and_filters_narrow_the_list(owner_client, acme, teammate):
    group = OrgGroupFactory(organization=acme, name="EMEA")
    member = UserFactory(organization=acme, first_name="Zelda", email="zelda@acme.example")
    member.org_groups.add(group)
    page = owner_client.get(reverse("copilot:users"), {"q": "zeld"}).content.decode()
    assert "zelda@acme.example" in page and teammate.email not in page
    page = owner_client.get(reverse("copilot:users"), {"group": group.pk}).content.decode()
    assert "zelda@acme.example" in page and teammate.email not in page
    page = owner_client.get(reverse("copilot:users"), {"role": Role.ADMINISTRATOR}).content.decode()
    assert "owner@acme.example" in page and teammate.email not in page
    page = owner_client.get(reverse("copilot:users"), {"q": "nobody-matches"}).content.decode()
    assert "No users match" in page


def test_the_list_costs_the_same_queries_for_5_or_60_users(owner_client, acme):
    groups = [OrgGroupFactory(organization=acme) for _ in range(3)]

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert owner_client.get(reverse("copilot:users")).status_code == 200
        return len(ctx.captured_queries)

    for u in UserFactory.create_batch(4, organization=acme):
        u.org_groups.set(groups)
    few = count()
    for u in UserFactory.create_batch(55, organization=acme):
        u.org_groups.set(groups)
    assert count() == few


def test_an_admin_changes_a_role_inline(owner_client, teammate):
    response = owner_client.post(
        reverse("copilot:user_role", args=[teammate.pk]), {"role": Role.ADMINISTRATOR}, **HTMX
    )
    assert response.status_code == 200
    assert f'id="user-{teammate.pk}"' in response.content.decode()  # the row, for htmx to swap
    teammate.refresh_from_db()
    assert teammate.role == Role.ADMINISTRATOR
    assert AuditEvent.objects.filter(action="user.role_changed", target=teammate.email).exists()


def test_the_last_administrator_cannot_be_demoted(owner_client, owner):
    response = owner_client.post(
        reverse("copilot:user_role", args=[owner.pk]), {"role": Role.CONTRIBUTOR}, **HTMX
    )
    assert "at least one Administrator" in response.content.decode()
    owner.refresh_from_db()
    assert owner.role == Role.ADMINISTRATOR


def test_an_admin_allows_starting_salesflows_on_behalf(owner_client, teammate):
    owner_client.post(reverse("copilot:user_on_behalf", args=[teammate.pk]), {"allowed": "on"}, **HTMX)
    teammate.refresh_from_db()
    assert teammate.can_start_salesflow_on_behalf
    owner_client.post(reverse("copilot:user_on_behalf", args=[teammate.pk]), {"allowed": "off"}, **HTMX)
    teammate.refresh_from_db()
    assert not teammate.can_start_salesflow_on_behalf


def test_an_admin_edits_names_user_name_and_groups(owner_client, acme, teammate):
    group = OrgGroupFactory(organization=acme)
    owner_client.post(
        reverse("copilot:user_edit", args=[teammate.pk]),
        {
            "first_name": "Tim",
            "last_name": "Mate",
            "mailbox_username": "tim@acme.example",
            "org_groups": [group.pk],
        },
    )
    teammate.refresh_from_db()
    assert (teammate.first_name, teammate.mailbox_username) == ("Tim", "tim@acme.example")
    assert list(teammate.org_groups.all()) == [group]


def test_deleting_asks_first_and_tells_what_happens(owner_client, teammate):
    page = owner_client.get(reverse("copilot:user_delete", args=[teammate.pk])).content.decode()
    assert "disconnect all of their integrations" in page
    assert User.objects.filter(pk=teammate.pk).exists()


def test_deleting_a_user_runs_the_disconnect_hook_then_removes_them(owner_client, owner, teammate):
    seen = []

    def receiver(sender, user, actor, **kwargs):
        seen.append((user.email, actor.email))

    user_deleting.connect(receiver)
    try:
        response = owner_client.post(reverse("copilot:user_delete", args=[teammate.pk]))
    finally:
        user_deleting.disconnect(receiver)
    assert response.status_code == 302
    assert seen == [(teammate.email, owner.email)]
    assert not User.objects.filter(pk=teammate.pk).exists()
    assert AuditEvent.objects.filter(action="user.deleted", target=teammate.email).exists()


def test_a_failing_disconnect_keeps_the_user(owner, teammate):
    def receiver(sender, user, **kwargs):
        raise RuntimeError("provider refused the revocation")

    user_deleting.connect(receiver)
    try:
        with pytest.raises(RuntimeError):
            user_delete(user=teammate, actor=owner)
    finally:
        user_deleting.disconnect(receiver)
    assert User.objects.filter(pk=teammate.pk).exists()


def test_you_cannot_delete_yourself_or_the_last_admin(owner, acme):
    with pytest.raises(ValidationError, match="your own account"):
        user_delete(user=owner, actor=owner)
    other_admin = AdminFactory(organization=acme)
    user_delete(user=owner, actor=other_admin)  # another admin remains: allowed
    assert not User.objects.filter(pk=owner.pk).exists()


def test_contributors_cannot_open_the_admin_portal(client, teammate):
    client.force_login(teammate)
    assert client.get(reverse("copilot:users")).status_code == 403
    assert client.get(reverse("copilot:groups")).status_code == 403
    assert b"Admin Portal" not in client.get(reverse("engage:home")).content


def test_signed_out_visitors_are_sent_to_sign_in(client, db):
    response = client.get(reverse("copilot:users"))
    assert response.status_code == 302 and reverse("account_login") in response.url


def test_an_admin_who_demotes_themself_leaves_the_portal(owner_client, owner, acme):
    AdminFactory(organization=acme)
    response = owner_client.post(
        reverse("copilot:user_role", args=[owner.pk]), {"role": Role.CONTRIBUTOR}, **HTMX
    )
    assert response.headers["HX-Redirect"] == reverse("engage:home")
    owner.refresh_from_db()
    assert owner.role == Role.CONTRIBUTOR
    assert owner_client.get(reverse("copilot:users")).status_code == 403
