"""The Django admin for support staff (A7)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from copilot.models import AuditEvent
from tests.factories import InvitationFactory, OrgGroupFactory
from tests.support_login_helpers import sign_in_to_support, support_user


@pytest.fixture
def support(db):
    return support_user()


@pytest.fixture
def support_client(client, support):
    return sign_in_to_support(client, support)


@pytest.mark.parametrize(
    "name",
    [
        "admin:copilot_organization_changelist",
        "admin:copilot_user_changelist",
        "admin:copilot_invitation_changelist",
        "admin:copilot_orggroup_changelist",
        "admin:copilot_auditevent_changelist",
        "admin:django_celery_beat_periodictask_changelist",
    ],
)
def test_support_staff_browse_and_search(support_client, owner, teammate, name):
    InvitationFactory(organization=owner.organization)
    OrgGroupFactory(organization=owner.organization)
    assert support_client.get(reverse(name)).status_code == 200
    assert support_client.get(reverse(name), {"q": "acme"}).status_code == 200


def test_searching_users_finds_them_by_organisation(support_client, teammate, outsider):
    page = support_client.get(reverse("admin:copilot_user_changelist"), {"q": "Acme"}).content.decode()
    assert teammate.email in page and outsider.email not in page


def test_customer_owned_user_fields_are_read_only(support_client, teammate):
    url = reverse("admin:copilot_user_change", args=[teammate.pk])
    support_client.post(
        url, {"email": "hacked@evil.example", "role": "admin", "first_name": "X", "is_active": ""}
    )
    teammate.refresh_from_db()
    assert teammate.email == "teammate@acme.example" and teammate.role == "contributor"
    assert not teammate.is_active  # access is support's to change


def test_packages_are_editable_by_support(support_client, acme):
    url = reverse("admin:copilot_organization_change", args=[acme.pk])
    response = support_client.post(
        url, {"is_active": "on", "package_engage": "on", "users-TOTAL_FORMS": "0", "users-INITIAL_FORMS": "0"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    acme.refresh_from_db()
    assert not acme.package_copilot and acme.package_engage
    assert acme.package_lock_reason("copilot").startswith("Needs the Revenue intelligence package")


def test_invitations_and_audit_cannot_be_edited_and_hide_the_token(support_client, owner):
    invitation = InvitationFactory(organization=owner.organization)
    AuditEvent.objects.create(organization=owner.organization, action="x")
    page = support_client.get(
        reverse("admin:copilot_invitation_change", args=[invitation.pk])
    ).content.decode()
    assert invitation.token_hash not in page
    assert 'name="_save"' not in page
    assert support_client.get(reverse("admin:copilot_invitation_add")).status_code == 403
    assert support_client.get(reverse("admin:copilot_auditevent_add")).status_code == 403


def test_customers_cannot_open_the_support_admin(client, owner):
    client.force_login(owner)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 302 and "login" in response.url
