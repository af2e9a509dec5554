from __future__ import annotations

from django.urls import reverse

from copilot.models import OrgGroup
from tests.factories import OrgGroupFactory, UserFactory


def test_an_admin_creates_a_group_with_members(owner_client, acme, teammate):
    response = owner_client.post(
        reverse("copilot:group_create"), {"name": "EMEA", "description": "Europe", "members": [teammate.pk]}
    )
    assert response.status_code == 302
    group = OrgGroup.objects.get(organization=acme, name="EMEA")
    assert list(group.members.all()) == [teammate]
    assert "EMEA" in owner_client.get(reverse("copilot:groups")).content.decode()


def test_group_names_are_unique_per_organisation_ignoring_case(owner_client, acme, globex):
    OrgGroupFactory(organization=acme, name="EMEA")
    OrgGroupFactory(organization=globex, name="Sales")
    response = owner_client.post(reverse("copilot:group_create"), {"name": "emea"})
    assert "already exists" in response.content.decode()
    assert owner_client.post(reverse("copilot:group_create"), {"name": "Sales"}).status_code == 302


def test_members_must_belong_to_the_organisation(owner_client, outsider):
    response = owner_client.post(reverse("copilot:group_create"), {"name": "X", "members": [outsider.pk]})
    assert response.status_code == 200
    assert not OrgGroup.objects.filter(name="X").exists()


def test_editing_and_deleting_a_group_keeps_its_members(owner_client, acme):
    group = OrgGroupFactory(organization=acme, name="Old")
    member = UserFactory(organization=acme)
    group.members.add(member)
    owner_client.post(reverse("copilot:group_edit", args=[group.pk]), {"name": "New", "members": []})
    group.refresh_from_db()
    assert group.name == "New" and not group.members.exists()
    page = owner_client.get(reverse("copilot:group_delete", args=[group.pk])).content.decode()
    assert "not deleted" in page
    owner_client.post(reverse("copilot:group_delete", args=[group.pk]))
    assert not OrgGroup.objects.filter(pk=group.pk).exists()
    member.refresh_from_db()


def test_empty_state_invites_creating_the_first_group(owner_client):
    assert "No groups yet" in owner_client.get(reverse("copilot:groups")).content.decode()
